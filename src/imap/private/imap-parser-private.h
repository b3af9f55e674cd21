/* SPDX-License-Identifier: MIT */
/* Internals shared by imap-parser.c (the state machine) and imap-parser-args.c
 * (argument scanners, freeing, readers). Only those two files include this. */
#ifndef MH_IMAP_PARSER_PRIVATE_H
#define MH_IMAP_PARSER_PRIVATE_H

#include "imap-parser.h"

/* What one argument costs against max_response beyond its text (which is counted
 * with its line): the struct, the slot in its list and allocator overhead. A list
 * costs twice that for its GPtrArray. This keeps "()()()..." from turning a 64 KiB
 * line into megabytes of structs unaccounted for. */
#define IMAP_ARG_COST 64

/* A read position in one line segment (the bytes of a line between literals,
 * without its CRLF). Never NUL-terminated. */
struct imap_cursor {
	const unsigned char *p;   /* borrowed */
	const unsigned char *end; /* borrowed */
};

/* Where a token is scanned: response data (atoms may hold "[...]" with spaces, "]"
 * is an atom char) or a response code (where "]" ends atoms and the code). */
enum imap_scan_mode {
	IMAP_SCAN_DATA,
	IMAP_SCAN_CODE,
};

/* Returns a new zeroed argument of @type. */
struct mh_imap_arg *mh_imap_arg_new(enum mh_imap_arg_type type);

/* Frees @a and, if a list, everything in it; accepts NULL. */
void mh_imap_arg_free(struct mh_imap_arg *a);

/* Returns a new empty argument list (no free function: free with mh_imap_args_free). */
GPtrArray *mh_imap_args_new(void);

/* Frees @list and every argument in it, nested lists included, without recursion.
 * Accepts NULL. */
void mh_imap_args_free(GPtrArray *list);

/* Returns a new response with empty args and code_args. */
struct mh_imap_response *mh_imap_response_new(void);

/* Sets an MH_IMAP_ERROR_PROTOCOL error; returns false. */
bool mh_imap_fail(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Sets "unexpected character 'c' @where" (or "unexpected byte 0xNN"); returns false. */
bool mh_imap_fail_char(GError **error, const char *where, unsigned char c);

/* RFC 3501 ATOM-CHAR: CHAR except atom-specials. */
bool mh_imap_is_atom_char(unsigned char c);

/* A tag character: ASTRING-CHAR except "+". */
bool mh_imap_is_tag_char(unsigned char c);

/* A response or code name character: ATOM-CHAR except "[". */
bool mh_imap_is_name_char(unsigned char c);

/* Scans an atom (or NIL) at @c, which must not be at the end. Returns a new ATOM or
 * NIL argument and advances @c past it, or NULL with MH_IMAP_ERROR_PROTOCOL. */
struct mh_imap_arg *mh_imap_scan_atom(struct imap_cursor *c, enum imap_scan_mode mode,
                                      GError **error);

/* Scans a quoted string at @c (at its opening quote). Returns a new STRING argument,
 * unescaped, and advances @c past the closing quote, or NULL with
 * MH_IMAP_ERROR_PROTOCOL. */
struct mh_imap_arg *mh_imap_scan_quoted(struct imap_cursor *c, GError **error);

/* Scans a literal header "{n}", "{n+}" or "~{n}" at @c, which must end the segment.
 * Sets *size_r and advances @c to the end, or returns false with
 * MH_IMAP_ERROR_PROTOCOL. */
bool mh_imap_scan_literal_header(struct imap_cursor *c, uint64_t *size_r, GError **error);

#endif
