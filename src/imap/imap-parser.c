/* SPDX-License-Identifier: MIT */
/* Incremental IMAP response parser (RFC 3501 sections 7 and 9, RFC 9051, RFC 7888).
 * Input is cut into line segments (the text between literals, up to LF) that are
 * buffered only when they straddle feeds, then tokenized whole; literals are copied
 * into their argument or passed to the sink as they arrive. Every buffer is capped
 * by struct mh_imap_parser_limits. */
#include <inttypes.h>
#include <string.h>

#include "imap-parser-private.h"

#define IMAP_DEFAULT_MAX_LINE     (64 * 1024)
#define IMAP_DEFAULT_MAX_LITERAL  (1024 * 1024)
#define IMAP_DEFAULT_MAX_RESPONSE (16 * 1024 * 1024)
#define IMAP_DEFAULT_MAX_DEPTH    32
/* A line buffer grown beyond this is released after use rather than kept. */
#define IMAP_LINE_KEEP            (64 * 1024)

enum imap_parser_state {
	IMAP_PARSER_LINE,    /* reading a line segment */
	IMAP_PARSER_LITERAL, /* copying literal bytes into p->literal */
	IMAP_PARSER_STREAM,  /* passing literal bytes to p->stream */
	IMAP_PARSER_READY,   /* p->resp is complete, waiting for take */
	IMAP_PARSER_FAILED,  /* p->failure says why; nothing more is parsed */
};

/* What tokenizing a segment ended with. */
enum imap_tok {
	IMAP_TOK_ERROR,
	IMAP_TOK_NEXT,    /* a token was read, go on */
	IMAP_TOK_EOL,     /* end of the segment with all lists closed */
	IMAP_TOK_CLOSE,   /* the "]" closing a response code */
	IMAP_TOK_LITERAL, /* a literal header ended the segment; its bytes follow */
};

struct mh_imap_parser {
	struct mh_imap_parser_limits limits; /* defaults filled in */
	struct mh_imap_literal_sink sink;
	bool has_sink;
	enum imap_parser_state state;
	GByteArray *line;                   /* owned; a segment whose LF has not come yet */
	struct mh_imap_response *resp;      /* owned; being built, or ready */
	GPtrArray *stack;                   /* owned; borrowed lists being filled, [0] outermost */
	bool after_arg;                     /* last token was an argument: a separator must come */
	size_t resp_bytes;                  /* memory charged to resp against max_response */
	struct mh_imap_arg *literal;        /* borrowed (in resp): the LITERAL being filled */
	uint64_t lit_left;                  /* bytes of the current literal still to come */
	struct mh_imap_literal_sink stream; /* the sink streaming the current literal */
	GError *failure;                    /* owned; why the parser stopped */
};

static size_t
imap_span(struct imap_cursor *c, bool (*accept)(unsigned char))
{
	const unsigned char *s = c->p;

	while (c->p < c->end && accept(*c->p))
		c->p++;
	return (size_t)(c->p - s);
}

static char *
imap_dup(const unsigned char *s, const unsigned char *end)
{
	return g_strndup((const char *)s, (gsize)(end - s));
}

static bool
parser_charge(struct mh_imap_parser *p, uint64_t bytes, GError **error)
{
	if (bytes > p->limits.max_response - p->resp_bytes)
		return mh_imap_fail(error, "response larger than %zu bytes",
		                    p->limits.max_response);
	p->resp_bytes += (size_t)bytes;
	return true;
}

/* Adds @a to the innermost open list, charging it to the response. */
static bool
parser_append(struct mh_imap_parser *p, struct mh_imap_arg *a, GError **error)
{
	size_t cost = a->type == MH_IMAP_ARG_LIST ? 2 * IMAP_ARG_COST : IMAP_ARG_COST;

	if (!parser_charge(p, cost, error)) {
		mh_imap_arg_free(a);
		return false;
	}
	g_ptr_array_add(p->stack->pdata[p->stack->len - 1], a);
	return true;
}

static enum imap_tok
parser_open_list(struct mh_imap_parser *p, struct imap_cursor *c, GError **error)
{
	struct mh_imap_arg *a;

	if (p->stack->len - 1 >= p->limits.max_depth) {
		mh_imap_fail(error, "list nesting deeper than %u", p->limits.max_depth);
		return IMAP_TOK_ERROR;
	}
	a = mh_imap_arg_new(MH_IMAP_ARG_LIST);
	a->list = mh_imap_args_new();
	if (!parser_append(p, a, error))
		return IMAP_TOK_ERROR;
	g_ptr_array_add(p->stack, a->list);
	c->p++;
	p->after_arg = false;
	return IMAP_TOK_NEXT;
}

static enum imap_tok
parser_close_list(struct mh_imap_parser *p, struct imap_cursor *c, GError **error)
{
	if (p->stack->len <= 1) {
		mh_imap_fail(error, "unexpected ) outside a list");
		return IMAP_TOK_ERROR;
	}
	g_ptr_array_remove_index(p->stack, p->stack->len - 1);
	c->p++;
	p->after_arg = true;
	return IMAP_TOK_NEXT;
}

static enum imap_tok
parser_close_code(struct mh_imap_parser *p, struct imap_cursor *c, GError **error)
{
	if (p->stack->len > 1) {
		mh_imap_fail(error, "unterminated list in response code");
		return IMAP_TOK_ERROR;
	}
	c->p++;
	return IMAP_TOK_CLOSE;
}

static void
parser_literal_end(struct mh_imap_parser *p)
{
	if (p->state == IMAP_PARSER_STREAM)
		p->stream.end(p->stream.ctx);
	p->literal = NULL;
	p->state = IMAP_PARSER_LINE;
}

/* The "{n}" header is parsed: decide between the sink and memory. */
static bool
parser_literal_begin(struct mh_imap_parser *p, uint64_t size, GError **error)
{
	GPtrArray *list = p->stack->pdata[p->stack->len - 1];
	const struct mh_imap_arg *prev = list->len > 0 ? list->pdata[list->len - 1] : NULL;
	const char *prev_atom = prev != NULL && prev->type == MH_IMAP_ARG_ATOM ? prev->str : NULL;
	struct mh_imap_literal_sink sink = p->sink; /* begin() may replace p->sink */
	struct mh_imap_arg *a;

	if (!parser_charge(p, IMAP_ARG_COST, error))
		return false;
	if (p->has_sink && sink.begin(sink.ctx, p->resp, prev_atom, size)) {
		a = mh_imap_arg_new(MH_IMAP_ARG_STREAMED);
		a->size = size;
		p->stream = sink;
		p->state = IMAP_PARSER_STREAM;
	} else {
		if (size > p->limits.max_literal)
			return mh_imap_fail(
				error, "literal of %" PRIu64 " bytes exceeds the %zu-byte limit",
				size, p->limits.max_literal);
		if (!parser_charge(p, size, error))
			return false;
		a = mh_imap_arg_new(MH_IMAP_ARG_LITERAL);
		a->len = (size_t)size;
		a->str = g_malloc(a->len + 1);
		a->str[a->len] = '\0';
		p->literal = a;
		p->state = IMAP_PARSER_LITERAL;
	}
	g_ptr_array_add(list, a);
	p->lit_left = size;
	p->after_arg = true;
	if (size == 0)
		parser_literal_end(p);
	return true;
}

static bool
imap_at_literal(const struct imap_cursor *c)
{
	if (*c->p == '{')
		return true;
	return *c->p == '~' && c->p + 1 < c->end && c->p[1] == '{';
}

/* One argument (or a list opening) at @c, after any separator checks. */
static enum imap_tok
parser_token(struct mh_imap_parser *p, struct imap_cursor *c, enum imap_scan_mode mode,
             GError **error)
{
	struct mh_imap_arg *a;
	uint64_t size;

	if (*c->p == '(')
		return parser_open_list(p, c, error);
	if (mode == IMAP_SCAN_DATA && imap_at_literal(c)) {
		if (!mh_imap_scan_literal_header(c, &size, error) ||
		    !parser_literal_begin(p, size, error))
			return IMAP_TOK_ERROR;
		return IMAP_TOK_LITERAL;
	}
	if (*c->p == '"')
		a = mh_imap_scan_quoted(c, error);
	else
		a = mh_imap_scan_atom(c, mode, error);
	if (a == NULL || !parser_append(p, a, error))
		return IMAP_TOK_ERROR;
	p->after_arg = true;
	return IMAP_TOK_NEXT;
}

/* Tokenizes arguments into p->stack until the segment ends, a literal header ends
 * it, or (in a code) the closing "]". Spaces separate arguments; a list may open
 * right after an argument ("(1 2)(3 4)" in THREAD and NAMESPACE). */
static enum imap_tok
parser_tokens(struct mh_imap_parser *p, struct imap_cursor *c, enum imap_scan_mode mode,
              GError **error)
{
	enum imap_tok tok = IMAP_TOK_NEXT;

	while (tok == IMAP_TOK_NEXT && c->p < c->end) {
		unsigned char ch = *c->p;

		if (ch == ' ') {
			c->p++;
			p->after_arg = false;
		} else if (ch == ']' && mode == IMAP_SCAN_CODE) {
			tok = parser_close_code(p, c, error);
		} else if (ch == ')') {
			tok = parser_close_list(p, c, error);
		} else if (p->after_arg && ch != '(') {
			mh_imap_fail_char(error, "where a space must separate arguments", ch);
			tok = IMAP_TOK_ERROR;
		} else {
			tok = parser_token(p, c, mode, error);
		}
	}
	if (tok != IMAP_TOK_NEXT)
		return tok;
	if (mode == IMAP_SCAN_CODE) {
		mh_imap_fail(error, "unterminated response code");
		return IMAP_TOK_ERROR;
	}
	if (p->stack->len > 1) {
		mh_imap_fail(error, "unterminated list at end of line");
		return IMAP_TOK_ERROR;
	}
	return IMAP_TOK_EOL;
}

/* "[NAME args]" after a status: the name upper-cased, the arguments tokenized with
 * "]" ending atoms. */
static bool
parser_resp_code(struct mh_imap_parser *p, struct imap_cursor *c, GError **error)
{
	const unsigned char *s = ++c->p;

	if (imap_span(c, mh_imap_is_name_char) == 0)
		return mh_imap_fail(error, "response code without a name");
	p->resp->code = g_ascii_strup((const char *)s, c->p - s);
	if (c->p < c->end && *c->p == ']') {
		c->p++;
		return true;
	}
	if (c->p == c->end)
		return mh_imap_fail(error, "unterminated response code");
	if (*c->p != ' ')
		return mh_imap_fail_char(error, "in response code name", *c->p);
	c->p++;
	g_ptr_array_set_size(p->stack, 0);
	g_ptr_array_add(p->stack, p->resp->code_args);
	p->after_arg = false;
	return parser_tokens(p, c, IMAP_SCAN_CODE, error) == IMAP_TOK_CLOSE;
}

/* resp-text after a status name: an optional code, then free text to the end of
 * the line, kept verbatim (it may hold unbalanced quotes and brackets). */
static bool
parser_resp_text(struct mh_imap_parser *p, struct imap_cursor *c, GError **error)
{
	if (c->p < c->end) {
		if (*c->p != ' ')
			return mh_imap_fail_char(error, "after status name", *c->p);
		c->p++;
	}
	if (c->p < c->end && *c->p == '[') {
		if (!parser_resp_code(p, c, error))
			return false;
		if (c->p < c->end && *c->p == ' ')
			c->p++;
	}
	p->resp->text = imap_dup(c->p, c->end);
	return true;
}

static enum mh_imap_status
imap_status_from_name(const char *name)
{
	for (enum mh_imap_status s = MH_IMAP_STATUS_OK; s <= MH_IMAP_STATUS_BYE; s++) {
		if (strcmp(name, mh_imap_status_name(s)) == 0)
			return s;
	}
	return MH_IMAP_STATUS_NONE;
}

static bool
parser_number(struct mh_imap_response *r, struct imap_cursor *c, GError **error)
{
	uint64_t v = 0;

	for (; c->p < c->end && g_ascii_isdigit(*c->p); c->p++) {
		v = v * 10 + (uint64_t)(*c->p - '0');
		if (v > UINT32_MAX)
			return mh_imap_fail(error, "message number larger than %" PRIu32,
			                    UINT32_MAX);
	}
	if (c->p == c->end || *c->p != ' ')
		return mh_imap_fail(error, "missing space after message number");
	c->p++;
	r->has_number = true;
	r->number = (uint32_t)v;
	return true;
}

/* The keyword after tag or number. Returns 1 when the line was a whole status
 * response, 0 when data arguments follow, -1 on error. */
static int
parser_name(struct mh_imap_parser *p, struct imap_cursor *c, GError **error)
{
	struct mh_imap_response *r = p->resp;
	const unsigned char *s = c->p;

	if (imap_span(c, mh_imap_is_name_char) == 0) {
		mh_imap_fail(error, "missing response name");
		return -1;
	}
	r->name = g_ascii_strup((const char *)s, c->p - s);
	r->status = imap_status_from_name(r->name);
	if (r->status != MH_IMAP_STATUS_NONE) {
		if (r->has_number) {
			mh_imap_fail(error, "status response %s with a message number", r->name);
			return -1;
		}
		return parser_resp_text(p, c, error) ? 1 : -1;
	}
	if (r->kind == MH_IMAP_RESP_TAGGED) {
		mh_imap_fail(error, "tagged response without status");
		return -1;
	}
	if (c->p == c->end)
		return 0;
	if (*c->p != ' ') {
		mh_imap_fail_char(error, "after response name", *c->p);
		return -1;
	}
	c->p++;
	return 0;
}

static int
parser_continuation(struct mh_imap_response *r, struct imap_cursor *c)
{
	r->kind = MH_IMAP_RESP_CONTINUATION;
	c->p++;
	/* RFC 3501 wants "+ text", but some servers send a bare "+" when they have
	 * nothing to say to AUTHENTICATE or APPEND (curl accepts it too). */
	if (c->p < c->end && *c->p == ' ')
		c->p++;
	r->text = imap_dup(c->p, c->end);
	return 1;
}

/* The first segment of a response: "+ ...", "* ...", or "TAG ...". Returns as
 * parser_name() does. */
static int
parser_head(struct mh_imap_parser *p, struct imap_cursor *c, GError **error)
{
	struct mh_imap_response *r = p->resp;
	const unsigned char *s = c->p;

	if (c->p == c->end) {
		mh_imap_fail(error, "empty response line");
		return -1;
	}
	if (*c->p == '+')
		return parser_continuation(r, c);
	if (*c->p == '*') {
		r->kind = MH_IMAP_RESP_UNTAGGED;
		c->p++;
	} else if (imap_span(c, mh_imap_is_tag_char) > 0) {
		r->kind = MH_IMAP_RESP_TAGGED;
		r->tag = imap_dup(s, c->p);
	} else {
		mh_imap_fail_char(error, "at start of response", *c->p);
		return -1;
	}
	if (c->p == c->end || *c->p != ' ') {
		mh_imap_fail(error, "missing space after %s", r->tag != NULL ? "tag" : "*");
		return -1;
	}
	c->p++;
	if (r->kind == MH_IMAP_RESP_UNTAGGED && c->p < c->end && g_ascii_isdigit(*c->p) &&
	    !parser_number(r, c, error))
		return -1;
	return parser_name(p, c, error);
}

/* One complete segment, without its line ending. */
static enum mh_parse_result
parser_segment(struct mh_imap_parser *p, const unsigned char *seg, size_t len, GError **error)
{
	struct imap_cursor c = {seg, seg + len};
	enum imap_tok tok;

	if (memchr(seg, '\r', len) != NULL) {
		mh_imap_fail(error, "CR without LF in response line");
		return MH_PARSE_ERROR;
	}
	if (memchr(seg, '\0', len) != NULL) {
		mh_imap_fail(error, "NUL byte in response line");
		return MH_PARSE_ERROR;
	}
	if (p->resp == NULL) {
		int head;

		p->resp = mh_imap_response_new();
		p->resp_bytes = 0;
		if (!parser_charge(p, len + 2, error))
			return MH_PARSE_ERROR;
		head = parser_head(p, &c, error);
		if (head != 0)
			return head > 0 ? MH_PARSE_DONE : MH_PARSE_ERROR;
		g_ptr_array_set_size(p->stack, 0);
		g_ptr_array_add(p->stack, p->resp->args);
		p->after_arg = false;
	} else if (!parser_charge(p, len + 2, error)) {
		return MH_PARSE_ERROR;
	}
	tok = parser_tokens(p, &c, IMAP_SCAN_DATA, error);
	if (tok == IMAP_TOK_EOL)
		return MH_PARSE_DONE;
	return tok == IMAP_TOK_LITERAL ? MH_PARSE_MORE : MH_PARSE_ERROR;
}

static enum mh_parse_result
parser_line_too_long(struct mh_imap_parser *p, GError **error)
{
	mh_imap_fail(error, "response line longer than %zu bytes", p->limits.max_line);
	return MH_PARSE_ERROR;
}

/* Reads up to the next LF. A bare LF ends a line as CRLF does (lenient); a CR
 * anywhere else is an error, found once the segment is complete. */
static enum mh_parse_result
parser_feed_line(struct mh_imap_parser *p, const unsigned char *data, size_t len, size_t *used_r,
                 GError **error)
{
	const unsigned char *lf = memchr(data, '\n', len);
	size_t room = p->limits.max_line + 1 - p->line->len; /* content plus its CR */
	const unsigned char *seg = data;
	enum mh_parse_result res;
	size_t n;

	n = lf != NULL ? (size_t)(lf - data) : len;
	*used_r = lf != NULL ? n + 1 : n;
	if (n > room)
		return parser_line_too_long(p, error);
	if (lf == NULL || p->line->len > 0) {
		g_byte_array_append(p->line, data, (guint)n);
		if (lf == NULL)
			return MH_PARSE_MORE;
		seg = p->line->data;
		n = p->line->len;
	}
	if (n > 0 && seg[n - 1] == '\r')
		n--;
	if (n > p->limits.max_line)
		return parser_line_too_long(p, error);
	res = parser_segment(p, seg, n, error);
	if (p->line->len > IMAP_LINE_KEEP) {
		g_byte_array_unref(p->line);
		p->line = g_byte_array_new();
	} else {
		g_byte_array_set_size(p->line, 0);
	}
	return res;
}

static size_t
parser_feed_literal(struct mh_imap_parser *p, const unsigned char *data, size_t len)
{
	size_t n = len < p->lit_left ? len : (size_t)p->lit_left;

	if (p->state == IMAP_PARSER_STREAM)
		p->stream.data(p->stream.ctx, data, n);
	else
		memcpy(p->literal->str + (p->literal->len - p->lit_left), data, n);
	p->lit_left -= n;
	if (p->lit_left == 0)
		parser_literal_end(p);
	return n;
}

struct mh_imap_parser *
mh_imap_parser_new(const struct mh_imap_parser_limits *limits)
{
	struct mh_imap_parser *p = g_new0(struct mh_imap_parser, 1);

	if (limits != NULL)
		p->limits = *limits;
	if (p->limits.max_line == 0)
		p->limits.max_line = IMAP_DEFAULT_MAX_LINE;
	if (p->limits.max_literal == 0)
		p->limits.max_literal = IMAP_DEFAULT_MAX_LITERAL;
	if (p->limits.max_response == 0)
		p->limits.max_response = IMAP_DEFAULT_MAX_RESPONSE;
	if (p->limits.max_depth == 0)
		p->limits.max_depth = IMAP_DEFAULT_MAX_DEPTH;
	/* Keep "content plus CR" computable without overflow. */
	p->limits.max_line = MIN(p->limits.max_line, (size_t)G_MAXUINT - 2);
	p->line = g_byte_array_new();
	p->stack = g_ptr_array_new();
	p->state = IMAP_PARSER_LINE;
	return p;
}

void
mh_imap_parser_free(struct mh_imap_parser *p)
{
	if (p == NULL)
		return;
	g_byte_array_unref(p->line);
	g_ptr_array_unref(p->stack);
	mh_imap_response_free(p->resp);
	g_clear_error(&p->failure);
	g_free(p);
}

const GPtrArray *
mh_imap_parser_literal_siblings(const struct mh_imap_parser *p)
{
	g_return_val_if_fail(p != NULL, NULL);
	return p->stack != NULL && p->stack->len > 0 ? p->stack->pdata[p->stack->len - 1] : NULL;
}

void
mh_imap_parser_set_sink(struct mh_imap_parser *p, const struct mh_imap_literal_sink *sink)
{
	g_return_if_fail(p != NULL);
	if (sink == NULL) {
		memset(&p->sink, 0, sizeof(p->sink));
		p->has_sink = false;
		return;
	}
	g_return_if_fail(sink->begin != NULL && sink->data != NULL && sink->end != NULL);
	p->sink = *sink;
	p->has_sink = true;
}

static void
parser_set_failed(struct mh_imap_parser *p, GError *failure, GError **error)
{
	p->state = IMAP_PARSER_FAILED;
	p->failure = failure;
	p->literal = NULL;
	g_clear_pointer(&p->resp, mh_imap_response_free);
	g_propagate_error(error, g_error_copy(failure));
}

enum mh_parse_result
mh_imap_parser_feed(struct mh_imap_parser *p, const unsigned char *data, size_t len,
                    size_t *consumed_r, GError **error)
{
	enum mh_parse_result res = MH_PARSE_MORE;
	GError *local = NULL;
	size_t pos = 0;

	*consumed_r = 0;
	g_return_val_if_fail(p != NULL, MH_PARSE_ERROR);
	g_return_val_if_fail(p->state != IMAP_PARSER_READY, MH_PARSE_ERROR);
	if (p->state == IMAP_PARSER_FAILED) {
		g_propagate_error(error, g_error_copy(p->failure));
		return MH_PARSE_ERROR;
	}
	while (pos < len && res == MH_PARSE_MORE) {
		size_t n;

		if (p->state == IMAP_PARSER_LINE)
			res = parser_feed_line(p, data + pos, len - pos, &n, &local);
		else
			n = parser_feed_literal(p, data + pos, len - pos);
		pos += n;
	}
	*consumed_r = pos;
	if (res == MH_PARSE_DONE)
		p->state = IMAP_PARSER_READY;
	else if (res == MH_PARSE_ERROR)
		parser_set_failed(p, local, error);
	return res;
}

struct mh_imap_response *
mh_imap_parser_take(struct mh_imap_parser *p)
{
	struct mh_imap_response *r;

	g_return_val_if_fail(p != NULL && p->state == IMAP_PARSER_READY, NULL);
	r = g_steal_pointer(&p->resp);
	g_ptr_array_set_size(p->stack, 0);
	p->state = IMAP_PARSER_LINE;
	return r;
}
