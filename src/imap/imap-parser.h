/* SPDX-License-Identifier: MIT */
/* Incremental, pure parser for IMAP server responses (RFC 3501 section 7, RFC 9051,
 * RFC 7888 literals). No socket access: bytes go in with mh_imap_parser_feed(),
 * complete responses come out. Hard caps bound every buffer; a violation is an
 * MH_IMAP_ERROR_PROTOCOL error, never a crash. Large literals can be streamed to a
 * sink in chunks instead of being held in memory. */
#ifndef MH_IMAP_PARSER_H
#define MH_IMAP_PARSER_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap-error.h"

enum mh_imap_arg_type {
	MH_IMAP_ARG_ATOM,     /* includes flags (\Seen), numbers, BODY[...]<0> */
	MH_IMAP_ARG_STRING,   /* a quoted string, unescaped */
	MH_IMAP_ARG_LITERAL,  /* a literal held in memory */
	MH_IMAP_ARG_STREAMED, /* a literal delivered to the sink; only its size is kept */
	MH_IMAP_ARG_NIL,
	MH_IMAP_ARG_LIST,
};

struct mh_imap_arg {
	enum mh_imap_arg_type type;
	char *str;       /* owned; ATOM/STRING/LITERAL bytes, always NUL-terminated
	                    (a literal may also contain NUL: use len); NULL for
	                    NIL, LIST and STREAMED */
	size_t len;      /* bytes in str */
	uint64_t size;   /* STREAMED: the literal's size */
	GPtrArray *list; /* owned; LIST: struct mh_imap_arg *, freed with it */
};

enum mh_imap_resp_kind {
	MH_IMAP_RESP_UNTAGGED,     /* "* ..." */
	MH_IMAP_RESP_TAGGED,       /* "A001 ..." */
	MH_IMAP_RESP_CONTINUATION, /* "+ ..." or a bare "+" */
};

enum mh_imap_status {
	MH_IMAP_STATUS_NONE, /* not a status response (e.g. "* 3 EXISTS", "* LIST ...") */
	MH_IMAP_STATUS_OK,
	MH_IMAP_STATUS_NO,
	MH_IMAP_STATUS_BAD,
	MH_IMAP_STATUS_PREAUTH,
	MH_IMAP_STATUS_BYE,
};

struct mh_imap_response {
	enum mh_imap_resp_kind kind;
	char *tag;                  /* owned; TAGGED only, else NULL */
	enum mh_imap_status status; /* OK/NO/BAD/PREAUTH/BYE, tagged or untagged */
	bool has_number;            /* "* 23 EXISTS", "* 5 FETCH (...)" */
	uint32_t number;
	char *name;           /* owned; upper-cased keyword after tag/number:
	                         "OK", "EXISTS", "FETCH", "CAPABILITY", "LIST"...;
	                         NULL for continuations */
	char *code;           /* owned; status responses: upper-cased response code
	                         name from "[...]" ("APPENDUID", "ALERT"), else NULL */
	GPtrArray *code_args; /* owned; the code's arguments as args; never NULL
	                         (empty without a code or arguments) */
	char *text;           /* owned; status responses: the human-readable text after
	                         the code; continuations: everything after "+ " (may be
	                         base64); never NULL for those kinds (may be "") */
	GPtrArray *args;      /* owned; data responses: the arguments after name, e.g.
	                         the FETCH list, the LIST attributes/delimiter/name;
	                         never NULL (empty for status and continuations) */
};

/* Streams a literal in chunks instead of holding it. begin() is called once the
 * "{n}\r\n" header is parsed; returning true streams it: data() then receives all n
 * bytes in one or more chunks (none when n is 0) and end() follows. Returning false
 * keeps it in memory (subject to max_literal). @resp is the response parsed so far
 * (kind, number, name, the arguments before the literal); @prev_atom is the atom just
 * before the literal in the same list (such as "BODY[]" or "RFC822"), or NULL. All
 * pointers are borrowed for the call. The callbacks run inside mh_imap_parser_feed()
 * and must not call into the parser, except mh_imap_parser_set_sink(). */
struct mh_imap_literal_sink {
	bool (*begin)(void *ctx, const struct mh_imap_response *resp, const char *prev_atom,
	              uint64_t size);
	void (*data)(void *ctx, const unsigned char *data, size_t len);
	void (*end)(void *ctx);
	void *ctx;
};

struct mh_imap_parser_limits {
	size_t max_line;     /* bytes of one line between literals; 0 = 64 KiB */
	size_t max_literal;  /* bytes of one literal kept in memory; 0 = 1 MiB */
	size_t max_response; /* bytes of one whole response in memory; 0 = 16 MiB */
	unsigned max_depth;  /* nesting of parenthesised lists; 0 = 32 */
};

enum mh_parse_result {
	MH_PARSE_MORE,  /* all input consumed, no complete response yet */
	MH_PARSE_DONE,  /* a complete response is ready: mh_imap_parser_take() */
	MH_PARSE_ERROR, /* protocol error; the parser is unusable from now on */
};

/* Returns a new parser; @limits may be NULL for the defaults. max_response counts the
 * line text, in-memory literals and a small fixed cost per argument; streamed
 * literals count only that per-argument cost. */
struct mh_imap_parser *mh_imap_parser_new(const struct mh_imap_parser_limits *limits);

/* Frees @p and any partial response; accepts NULL. If a literal is being streamed,
 * the sink's end() is not called. */
void mh_imap_parser_free(struct mh_imap_parser *p);

/* Installs (or with NULL removes) the literal sink; @sink is copied. */
void mh_imap_parser_set_sink(struct mh_imap_parser *p, const struct mh_imap_literal_sink *sink);

/* Inside a sink's begin(): the arguments parsed so far in the list that holds the literal
 * (for a FETCH body: "UID", "7", ..., "BODY[]"), so the sink can tell which message the
 * body belongs to. Borrowed; meaningless outside begin(). */
const GPtrArray *mh_imap_parser_literal_siblings(const struct mh_imap_parser *p);

/* Feeds @len bytes. Sets *consumed_r to the bytes used; on MH_PARSE_DONE that may be
 * fewer than @len, and the rest must be fed again after mh_imap_parser_take().
 * Feeding while a response is ready and not taken is a caller bug. Lines end with
 * CRLF or, leniently, a bare LF; a CR elsewhere in a line is an error. Once
 * MH_PARSE_ERROR is returned, every later call returns it again with the same error.
 * Sink callbacks run inside this call. */
enum mh_parse_result mh_imap_parser_feed(struct mh_imap_parser *p, const unsigned char *data,
                                         size_t len, size_t *consumed_r, GError **error);

/* Returns the completed response; caller frees with mh_imap_response_free(). */
struct mh_imap_response *mh_imap_parser_take(struct mh_imap_parser *p);

void mh_imap_response_free(struct mh_imap_response *r);

/* g_autoptr() needs a plain type name; code still writes struct mh_imap_response. */
typedef struct mh_imap_response mh_imap_response;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_imap_response, mh_imap_response_free)

/* Helpers for reading arguments; all return false/NULL when the type does not fit. */

/* ATOM, STRING or LITERAL as text (borrowed), NIL as NULL with true. */
bool mh_imap_arg_get_nstring(const struct mh_imap_arg *a, const char **str_r, size_t *len_r);

/* An ATOM that is a decimal number fitting in 64 bits. */
bool mh_imap_arg_get_uint64(const struct mh_imap_arg *a, uint64_t *value_r);

/* An ATOM equal to @atom, ignoring ASCII case. */
bool mh_imap_arg_is_atom(const struct mh_imap_arg *a, const char *atom);

/* In a FETCH list ("UID 5 FLAGS (...) ..."), the value after the key @name (ignoring
 * case), or NULL. */
const struct mh_imap_arg *mh_imap_list_lookup(const GPtrArray *list, const char *name);

/* Name of a response kind/status for debugging ("OK", "NO"...). */
const char *mh_imap_status_name(enum mh_imap_status status);

#endif
