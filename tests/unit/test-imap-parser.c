/* SPDX-License-Identifier: MIT */
/* Unit tests of the IMAP response parser: a table of server responses (Dovecot, Gmail,
 * Exchange styles) checked for their exact parsed structure when fed whole, at every
 * split point and one byte at a time, with and without a streaming sink; malformed
 * input; the caps; streaming a literal larger than max_literal; the argument readers. */
#include <string.h>

#include "imap-parser.h"
#include "test-imap-parser-cases.h"

/* What a sink saw during one response. */
struct capture {
	bool accept;        /* begin() returns this */
	GPtrArray *bodies;  /* GByteArray *: each streamed literal, in order */
	GString *begins;    /* "prev_atom:size " per begin() */
	unsigned nbegin;    /* begin() calls */
	unsigned chunks;    /* data() calls */
	unsigned ends;      /* end() calls */
	unsigned consumed;  /* bodies already printed by dump_arg() */
	bool in_literal;    /* between begin() and end() */
	size_t max_chunk;   /* largest data() chunk */
	const char *expect; /* if set, begin() asserts this prev_atom */
};

static bool
cap_begin(void *ctx, const struct mh_imap_response *resp, const char *prev_atom, uint64_t size)
{
	struct capture *cap = ctx;

	g_assert_nonnull(resp);
	g_assert_false(cap->in_literal);
	if (cap->expect != NULL)
		g_assert_cmpstr(prev_atom, ==, cap->expect);
	g_string_append_printf(cap->begins, "%s:%" G_GUINT64_FORMAT " ",
	                       prev_atom != NULL ? prev_atom : "-", size);
	cap->nbegin++;
	if (!cap->accept)
		return false;
	g_ptr_array_add(cap->bodies, g_byte_array_new());
	cap->in_literal = true;
	return true;
}

static void
cap_data(void *ctx, const unsigned char *data, size_t len)
{
	struct capture *cap = ctx;

	g_assert_true(cap->in_literal);
	g_assert_cmpuint(len, >, 0);
	g_byte_array_append(cap->bodies->pdata[cap->bodies->len - 1], data, (guint)len);
	cap->chunks++;
	cap->max_chunk = MAX(cap->max_chunk, len);
}

static void
cap_end(void *ctx)
{
	struct capture *cap = ctx;

	g_assert_true(cap->in_literal);
	cap->in_literal = false;
	cap->ends++;
}

static void
cap_init(struct capture *cap, bool accept)
{
	memset(cap, 0, sizeof(*cap));
	cap->accept = accept;
	cap->bodies = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
	cap->begins = g_string_new(NULL);
}

static void
cap_clear(struct capture *cap)
{
	g_ptr_array_unref(cap->bodies);
	g_string_free(cap->begins, TRUE);
}

static void
dump_bytes(GString *out, const char *s, size_t len)
{
	g_string_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "\\x%02x", c);
	}
	g_string_append_c(out, '"');
}

static void dump_list(GString *out, const GPtrArray *list, struct capture *cap);

/* Literals print as {n}"bytes" whether held or streamed, so one expected string
 * serves both ways of parsing. */
static void
dump_arg(GString *out, const struct mh_imap_arg *a, struct capture *cap)
{
	GByteArray *body;

	switch (a->type) {
	case MH_IMAP_ARG_ATOM:
		g_assert_cmpuint(strlen(a->str), ==, a->len);
		g_string_append_len(out, a->str, (gssize)a->len);
		break;
	case MH_IMAP_ARG_STRING:
		dump_bytes(out, a->str, a->len);
		break;
	case MH_IMAP_ARG_LITERAL:
		g_assert_true(cap == NULL || !cap->accept);
		g_assert_cmpint(a->str[a->len], ==, '\0');
		g_string_append_printf(out, "{%zu}", a->len);
		dump_bytes(out, a->str, a->len);
		break;
	case MH_IMAP_ARG_STREAMED:
		g_assert_nonnull(cap);
		g_assert_cmpuint(cap->consumed, <, cap->bodies->len);
		body = cap->bodies->pdata[cap->consumed++];
		g_assert_cmpuint(body->len, ==, a->size);
		g_assert_null(a->str);
		g_string_append_printf(out, "{%" G_GUINT64_FORMAT "}", a->size);
		dump_bytes(out, (const char *)body->data, body->len);
		break;
	case MH_IMAP_ARG_NIL:
		g_assert_null(a->str);
		g_string_append(out, "NIL");
		break;
	case MH_IMAP_ARG_LIST:
		g_assert_null(a->str);
		g_string_append_c(out, '(');
		dump_list(out, a->list, cap);
		g_string_append_c(out, ')');
		break;
	}
}

static void
dump_list(GString *out, const GPtrArray *list, struct capture *cap)
{
	g_assert_nonnull(list);
	for (guint i = 0; i < list->len; i++) {
		if (i > 0)
			g_string_append_c(out, ' ');
		dump_arg(out, list->pdata[i], cap);
	}
}

/* One line per response; also checks the invariants the header promises. */
static void
dump_response(GString *out, const struct mh_imap_response *r, struct capture *cap)
{
	g_assert_nonnull(r->args);
	g_assert_nonnull(r->code_args);
	g_assert_true((r->tag != NULL) == (r->kind == MH_IMAP_RESP_TAGGED));
	g_assert_true((r->name == NULL) == (r->kind == MH_IMAP_RESP_CONTINUATION));
	g_assert_true((r->text != NULL) ==
	              (r->status != MH_IMAP_STATUS_NONE || r->kind == MH_IMAP_RESP_CONTINUATION));
	g_assert_true(r->code != NULL || r->code_args->len == 0);
	if (out->len > 0)
		g_string_append_c(out, '\n');
	if (r->kind == MH_IMAP_RESP_TAGGED)
		g_string_append_printf(out, "tag=%s", r->tag);
	else
		g_string_append(out, r->kind == MH_IMAP_RESP_UNTAGGED ? "*" : "+");
	if (r->has_number)
		g_string_append_printf(out, " #%u", r->number);
	if (r->name != NULL)
		g_string_append_printf(out, " %s", r->name);
	if (r->status != MH_IMAP_STATUS_NONE)
		g_string_append_printf(out, " status=%s", mh_imap_status_name(r->status));
	if (r->code != NULL) {
		g_string_append_printf(out, " [%s%s", r->code, r->code_args->len > 0 ? " " : "");
		dump_list(out, r->code_args, cap);
		g_string_append_c(out, ']');
	}
	if (r->text != NULL) {
		g_string_append(out, " text=");
		dump_bytes(out, r->text, strlen(r->text));
	}
	if (r->args->len > 0)
		g_string_append_c(out, ' ');
	dump_list(out, r->args, cap);
}

struct run {
	struct mh_imap_parser *p;
	GString *out;
	struct capture *cap;
	size_t pending; /* bytes consumed since the last complete response */
	bool failed;
};

static void
run_error(struct run *run, GError *error)
{
	g_autoptr(GError) again = NULL;
	size_t used = 1;

	g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL);
	g_assert_null(strchr(error->message, '\n'));
	if (run->out->len > 0)
		g_string_append_c(run->out, '\n');
	g_string_append_printf(run->out, "ERROR: %s", error->message);
	/* The parser stays failed, with the same message. */
	g_assert_cmpint(
		mh_imap_parser_feed(run->p, (const unsigned char *)"* OK\r\n", 6, &used, &again),
		==, MH_PARSE_ERROR);
	g_assert_cmpuint(used, ==, 0);
	g_assert_error(again, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL);
	g_assert_cmpstr(again->message, ==, error->message);
	run->failed = true;
}

static void
run_chunk(struct run *run, const char *data, size_t len)
{
	while (len > 0 && !run->failed) {
		g_autoptr(GError) error = NULL;
		size_t used = G_MAXSIZE;
		enum mh_parse_result res;
		struct mh_imap_response *r;

		res = mh_imap_parser_feed(run->p, (const unsigned char *)data, len, &used, &error);
		if (res == MH_PARSE_ERROR) {
			run_error(run, error);
			return;
		}
		g_assert_no_error(error);
		g_assert_cmpuint(used, <=, len);
		if (res == MH_PARSE_MORE) {
			g_assert_cmpuint(used, ==, len);
			run->pending += used;
			return;
		}
		g_assert_cmpuint(used + run->pending, >, 0);
		r = mh_imap_parser_take(run->p);
		g_assert_nonnull(r);
		dump_response(run->out, r, run->cap);
		mh_imap_response_free(r);
		if (run->cap != NULL) {
			g_assert_false(run->cap->in_literal);
			g_assert_cmpuint(run->cap->consumed, ==, run->cap->bodies->len);
			g_ptr_array_set_size(run->cap->bodies, 0);
			run->cap->consumed = 0;
		}
		run->pending = 0;
		data += used;
		len -= used;
	}
}

/* Parses @in in chunks: cut at @split when @step is 0, else every @step bytes.
 * Returns the dump of every response, then "ERROR: ..." or "MORE" if incomplete. */
static char *
parse_chunked(const char *in, size_t len, size_t split, size_t step,
              const struct mh_imap_parser_limits *limits, struct capture *cap)
{
	struct run run = {mh_imap_parser_new(limits), g_string_new(NULL), cap, 0, false};
	struct mh_imap_literal_sink sink = {cap_begin, cap_data, cap_end, cap};

	if (cap != NULL)
		mh_imap_parser_set_sink(run.p, &sink);
	for (size_t pos = 0; pos < len && !run.failed;) {
		size_t n = step > 0 ? MIN(step, len - pos) : (pos < split ? split : len - pos);

		run_chunk(&run, in + pos, n);
		pos += n;
	}
	if (!run.failed && run.pending > 0)
		g_string_append(run.out, run.out->len > 0 ? "\nMORE" : "MORE");
	mh_imap_parser_free(run.p);
	return g_string_free(run.out, FALSE);
}

static char *
parse_whole(const char *in, size_t len, const struct mh_imap_parser_limits *limits)
{
	return parse_chunked(in, len, len, 0, limits, NULL);
}

/* Feeds @in cut at every split point, then byte by byte, each way in @modes (bit 0:
 * no sink, bit 1: a sink streaming every literal, bit 2: one declining every literal),
 * and asserts the same dump every time. */
static void
check_splits(const char *in, size_t len, const struct mh_imap_parser_limits *limits, unsigned modes,
             const char *want)
{
	for (unsigned mode = 0; mode < 3; mode++) {
		for (size_t k = 0; k <= len + 1 && (modes & (1u << mode)) != 0; k++) {
			struct capture cap;
			g_autofree char *got = NULL;

			cap_init(&cap, mode == 1);
			got = parse_chunked(in, len, k <= len ? k : 0, k <= len ? 0 : 1, limits,
			                    mode > 0 ? &cap : NULL);
			g_assert_cmpstr(got, ==, want);
			g_assert_cmpuint(cap.ends + cap.in_literal, ==, mode == 1 ? cap.nbegin : 0);
			cap_clear(&cap);
		}
	}
}

static void
check_case(gconstpointer data)
{
	const struct parse_case *c = data;

	check_splits(c->in, c->len, NULL, 7, c->want);
}

/* Without a sink, or with one declining every literal (so caps on held literals
 * apply): with a streaming sink "literal-over-cap" would be no error. */
static void
check_bad_case(gconstpointer data)
{
	const struct parse_case *c = data;

	check_splits(c->in, c->len, NULL, 5, c->want);
}

static void
check_limited(const char *in, const struct mh_imap_parser_limits *limits, const char *want)
{
	check_splits(in, strlen(in), limits, 1, want);
}

/* A literal header cut inside "{12}\r\n" at each byte, CR and LF apart included. */
static void
test_literal_header_split(void)
{
	static const char in[] = "* 1 FETCH (BODY[] {12}\r\nhello\r\nworld)\r\n";
	const char *brace = strchr(in, '{');

	for (size_t k = (size_t)(brace - in); k <= (size_t)(brace - in) + 6; k++) {
		g_autofree char *got = parse_chunked(in, sizeof(in) - 1, k, 0, NULL, NULL);

		g_assert_cmpstr(got, ==, "* #1 FETCH (BODY[] {12}\"hello\\x0d\\x0aworld\")");
	}
}

static GString *
make_big_fetch(size_t size, GByteArray **body_r)
{
	GByteArray *body = g_byte_array_sized_new((guint)size);
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	GString *in = g_string_new(NULL);

	for (size_t i = 0; i < size; i++) {
		guint8 b = (guint8)g_rand_int_range(rand, 0, 256);

		if (i % 997 == 0)
			b = '\0';
		g_byte_array_append(body, &b, 1);
	}
	memcpy(body->data + 100, "\r\n)\r\nA1 OK\r\n", 12);
	g_string_append_printf(in, "* 12 FETCH (UID 4242 BODY[] {%zu}\r\n", size);
	g_string_append_len(in, (const char *)body->data, (gssize)body->len);
	g_string_append(in, " FLAGS (\\Seen))\r\nA1 OK done\r\n");
	*body_r = body;
	return in;
}

static bool
big_begin(void *ctx, const struct mh_imap_response *resp, const char *prev_atom, uint64_t size)
{
	const struct mh_imap_arg *list;

	g_assert_cmpint(resp->kind, ==, MH_IMAP_RESP_UNTAGGED);
	g_assert_true(resp->has_number);
	g_assert_cmpuint(resp->number, ==, 12);
	g_assert_cmpstr(resp->name, ==, "FETCH");
	g_assert_cmpuint(resp->args->len, ==, 1);
	list = resp->args->pdata[0];
	g_assert_cmpuint(list->list->len, ==, 3); /* UID 4242 BODY[] so far */
	return cap_begin(ctx, resp, prev_atom, size);
}

/* Feeds @len bytes in @step-sized chunks, taking each response into @resps. Returns
 * the last result: MH_PARSE_MORE when all was consumed, or MH_PARSE_ERROR. */
static enum mh_parse_result
feed_all(struct mh_imap_parser *p, const char *data, size_t len, size_t step, GPtrArray *resps,
         GError **error)
{
	for (size_t pos = 0; pos < len;) {
		size_t n = MIN(step, len - pos), used = 0;
		enum mh_parse_result res;

		res = mh_imap_parser_feed(p, (const unsigned char *)data + pos, n, &used, error);
		if (res == MH_PARSE_ERROR)
			return res;
		if (res == MH_PARSE_DONE)
			g_ptr_array_add(resps, mh_imap_parser_take(p));
		else
			g_assert_cmpuint(used, ==, n);
		pos += used;
	}
	return MH_PARSE_MORE;
}

static GPtrArray *
resps_new(void)
{
	return g_ptr_array_new_with_free_func((GDestroyNotify)mh_imap_response_free);
}

static void
check_big_fetch(const GPtrArray *resps, const GByteArray *body, enum mh_imap_arg_type type)
{
	const struct mh_imap_response *r = resps->pdata[0];
	const struct mh_imap_arg *list, *lit;

	g_assert_cmpuint(resps->len, ==, 2);
	g_assert_cmpuint(r->args->len, ==, 1);
	list = r->args->pdata[0];
	g_assert_cmpint(list->type, ==, MH_IMAP_ARG_LIST);
	g_assert_cmpuint(list->list->len, ==, 6);
	g_assert_true(mh_imap_arg_is_atom(list->list->pdata[2], "BODY[]"));
	lit = mh_imap_list_lookup(list->list, "BODY[]");
	g_assert_true(lit == list->list->pdata[3]);
	g_assert_cmpint(lit->type, ==, type);
	if (type == MH_IMAP_ARG_STREAMED) {
		g_assert_cmpuint(lit->size, ==, body->len);
		g_assert_null(lit->str);
	} else {
		g_assert_cmpmem(lit->str, lit->len, body->data, body->len);
	}
	g_assert_true(mh_imap_arg_is_atom(list->list->pdata[4], "FLAGS"));
	r = resps->pdata[1];
	g_assert_cmpstr(r->tag, ==, "A1");
	g_assert_cmpint(r->status, ==, MH_IMAP_STATUS_OK);
}

/* A 3 MiB body (more than max_literal, and with the small limits more than
 * max_response) arrives byte-identical through the sink, in chunks. */
static void
test_stream_big_literal(void)
{
	static const size_t steps[] = {1, 7, 4096, 65536, 100003, 1 << 20, 8 << 20};
	g_autoptr(GByteArray) body = NULL;
	g_autoptr(GString) in = make_big_fetch(3 * 1024 * 1024, &body);
	struct mh_imap_parser_limits small = {.max_response = 64 * 1024};

	for (size_t s = 0; s < G_N_ELEMENTS(steps); s++) {
		struct mh_imap_parser *p = mh_imap_parser_new(s % 2 ? &small : NULL);
		struct mh_imap_literal_sink sink = {big_begin, cap_data, cap_end, NULL};
		g_autoptr(GPtrArray) resps = resps_new();
		g_autoptr(GError) error = NULL;
		struct capture cap;

		cap_init(&cap, true);
		cap.expect = "BODY[]";
		sink.ctx = &cap;
		mh_imap_parser_set_sink(p, &sink);
		g_assert_cmpint(feed_all(p, in->str, in->len, steps[s], resps, &error), ==,
		                MH_PARSE_MORE);
		g_assert_no_error(error);
		check_big_fetch(resps, body, MH_IMAP_ARG_STREAMED);
		g_assert_cmpuint(cap.nbegin, ==, 1);
		g_assert_cmpuint(cap.ends, ==, 1);
		g_assert_cmpmem(((GByteArray *)cap.bodies->pdata[0])->data,
		                ((GByteArray *)cap.bodies->pdata[0])->len, body->data, body->len);
		g_assert_cmpuint(cap.max_chunk, <=, steps[s]);
		g_assert_cmpuint(cap.chunks, >=, body->len / MIN(steps[s], body->len));
		cap_clear(&cap);
		mh_imap_parser_free(p);
	}
}

/* Without a sink, or with one that declines, the same input breaks max_literal; with
 * caps raised it is held in memory, byte-identical. */
static void
test_stream_big_without_sink(void)
{
	g_autoptr(GByteArray) body = NULL;
	g_autoptr(GString) in = make_big_fetch(3 * 1024 * 1024, &body);
	struct mh_imap_parser_limits big = {.max_literal = 4 << 20, .max_response = 5 << 20};
	struct mh_imap_literal_sink sink = {cap_begin, cap_data, cap_end, NULL};

	for (int mode = 0; mode < 3; mode++) {
		struct mh_imap_parser *p = mh_imap_parser_new(mode == 2 ? &big : NULL);
		g_autoptr(GPtrArray) resps = resps_new();
		g_autoptr(GError) error = NULL;
		struct capture cap;

		cap_init(&cap, false);
		sink.ctx = &cap;
		if (mode > 0)
			mh_imap_parser_set_sink(p, &sink);
		if (mode < 2) {
			g_assert_cmpint(feed_all(p, in->str, in->len, 65536, resps, &error), ==,
			                MH_PARSE_ERROR);
			g_assert_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL);
			g_assert_cmpstr(error->message, ==,
			                "literal of 3145728 bytes exceeds the 1048576-byte limit");
		} else {
			g_assert_cmpint(feed_all(p, in->str, in->len, 65536, resps, &error), ==,
			                MH_PARSE_MORE);
			g_assert_no_error(error);
			check_big_fetch(resps, body, MH_IMAP_ARG_LITERAL);
		}
		g_assert_cmpstr(cap.begins->str, ==, mode > 0 ? "BODY[]:3145728 " : "");
		g_assert_cmpuint(cap.chunks, ==, 0);
		cap_clear(&cap);
		mh_imap_parser_free(p);
	}
}

static void
test_limit_line(void)
{
	struct mh_imap_parser_limits lim = {.max_line = 16};
	g_autoptr(GString) in = g_string_new("* SEARCH");
	g_autofree char *got = NULL;

	while (in->len < 70000)
		g_string_append(in, " 1");
	g_string_append(in, "\r\n");
	got = parse_whole(in->str, in->len, NULL);
	g_assert_cmpstr(got, ==, "ERROR: response line longer than 65536 bytes");
	g_clear_pointer(&got, g_free);
	/* Found before any LF arrives. */
	got = parse_whole(in->str, 65538, NULL);
	g_assert_cmpstr(got, ==, "ERROR: response line longer than 65536 bytes");
	check_limited("* SEARCH 1 2 3 4\r\n", &lim, "* SEARCH 1 2 3 4");
	check_limited("* SEARCH 1 2 3 4\n", &lim, "* SEARCH 1 2 3 4");
	check_limited("* SEARCH 1 2 3 4\r", &lim, "MORE");
	check_limited("* SEARCH 1 2 3 45\r\n", &lim, "ERROR: response line longer than 16 bytes");
	check_limited("* SEARCH 1 2 3 45\n", &lim, "ERROR: response line longer than 16 bytes");
	check_limited("* SEARCH 1 2 3 4 ", &lim, "MORE");
	check_limited("* SEARCH 1 2 3 4 5", &lim, "ERROR: response line longer than 16 bytes");
	/* The cap is per segment between literals, not per response. */
	check_limited("* 1 FETCH (A {1}\r\nx B {1}\r\ny)\r\n", &lim,
	              "* #1 FETCH (A {1}\"x\" B {1}\"y\")");
}

static char *
nested(const char *head, unsigned depth, const char *tail)
{
	GString *s = g_string_new(head);

	for (unsigned i = 0; i < depth; i++)
		g_string_append_c(s, '(');
	g_string_append_c(s, 'a');
	for (unsigned i = 0; i < depth; i++)
		g_string_append_c(s, ')');
	g_string_append(s, tail);
	return g_string_free(s, FALSE);
}

static void
test_limit_depth(void)
{
	struct mh_imap_parser_limits two = {.max_depth = 2};
	g_autofree char *ok = nested("* X ", 32, "\r\n");
	g_autofree char *deep = nested("* X ", 33, "\r\n");
	g_autofree char *want = nested("* X ", 32, "");

	check_limited(ok, NULL, want);
	check_limited(deep, NULL, "ERROR: list nesting deeper than 32");
	check_limited("* X ((a))\r\n", &two, "* X ((a))");
	check_limited("* X (((a)))\r\n", &two, "ERROR: list nesting deeper than 2");
	check_limited("* OK [X ((a))] t\r\n", &two, "* OK status=OK [X ((a))] text=\"t\"");
	check_limited("* OK [X (((a)))] t\r\n", &two, "ERROR: list nesting deeper than 2");
}

static char *
literals(unsigned n, size_t size)
{
	GString *s = g_string_new("* 1 FETCH (");

	for (unsigned i = 0; i < n; i++) {
		g_string_append_printf(s, "%sA {%zu}\r\n", i > 0 ? " " : "", size);
		for (size_t j = 0; j < size; j++)
			g_string_append_c(s, (char)('a' + i));
	}
	g_string_append(s, ")\r\n");
	return g_string_free(s, FALSE);
}

static char *
literals_dump(unsigned n, size_t size)
{
	GString *s = g_string_new("* #1 FETCH (");

	for (unsigned i = 0; i < n; i++) {
		g_string_append_printf(s, "%sA {%zu}\"", i > 0 ? " " : "", size);
		for (size_t j = 0; j < size; j++)
			g_string_append_c(s, (char)('a' + i));
		g_string_append_c(s, '"');
	}
	g_string_append_c(s, ')');
	return g_string_free(s, FALSE);
}

/* max_response counts line text, held literals and a per-argument cost; streamed
 * literals count only the latter. */
static void
test_limit_response(void)
{
	struct mh_imap_parser_limits lim = {.max_response = 1024};
	g_autofree char *two = literals(2, 100), *four = literals(4, 100);
	g_autofree char *two_dump = literals_dump(2, 100), *four_dump = literals_dump(4, 100);
	g_autoptr(GString) many = g_string_new("* SEARCH");
	struct capture cap;
	char *got;

	check_limited(two, &lim, two_dump);
	check_limited(four, NULL, four_dump);
	check_limited(four, &lim, "ERROR: response larger than 1024 bytes");
	cap_init(&cap, true);
	got = parse_chunked(four, strlen(four), 0, 0, &lim, &cap);
	g_assert_cmpstr(got, ==, four_dump);
	g_assert_cmpuint(cap.nbegin, ==, 4);
	g_free(got);
	cap_clear(&cap);
	while (many->len < 200)
		g_string_append(many, " 1");
	g_string_append(many, "\r\n");
	check_limited(many->str, &lim, "ERROR: response larger than 1024 bytes");
}

static void
test_limit_literal(void)
{
	struct mh_imap_parser_limits lim = {.max_literal = 10};

	check_limited("* 1 FETCH (A {10}\r\n0123456789)\r\n", &lim,
	              "* #1 FETCH (A {10}\"0123456789\")");
	check_limited("* 1 FETCH (A {11}\r\n0123456789x)\r\n", &lim,
	              "ERROR: literal of 11 bytes exceeds the 10-byte limit");
}

/* prev_atom is the atom just before the literal in the same list, else NULL. */
static void
test_sink_prev_atom(void)
{
	static const struct {
		const char *in;
		const char *begins;
	} cases[] = {
		{"* LIST () \"/\" {5}\r\nINBOX\r\n", "-:5 "},
		{"* 1 FETCH ({2}\r\nab)\r\n", "-:2 "},
		{"* 1 FETCH (BODY[] {1}\r\na RFC822 {0}\r\n)\r\n", "BODY[]:1 RFC822:0 "},
		{"* 1 FETCH (BODY[] (X) {1}\r\na)\r\n", "-:1 "},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct capture cap;
		g_autofree char *got = NULL;

		cap_init(&cap, true);
		got = parse_chunked(cases[i].in, strlen(cases[i].in), 0, 0, NULL, &cap);
		g_assert_null(strstr(got, "ERROR"));
		g_assert_cmpstr(cap.begins->str, ==, cases[i].begins);
		cap_clear(&cap);
	}
}

/* A sink removed mid-literal still receives the rest of that literal and end(). */
static void
test_sink_removed_mid_literal(void)
{
	static const char in1[] = "* 1 FETCH (BODY[] {6}\r\nabc";
	static const char in2[] = "def)\r\n* 2 FETCH (BODY[] {2}\r\nxy)\r\n";
	struct mh_imap_parser *p = mh_imap_parser_new(NULL);
	struct capture cap;
	struct mh_imap_literal_sink sink = {cap_begin, cap_data, cap_end, &cap};
	g_autoptr(GPtrArray) resps = resps_new();
	g_autoptr(GError) error = NULL;
	const struct mh_imap_arg *list;

	cap_init(&cap, true);
	mh_imap_parser_set_sink(p, &sink);
	g_assert_cmpint(feed_all(p, in1, sizeof(in1) - 1, 100, resps, &error), ==, MH_PARSE_MORE);
	mh_imap_parser_set_sink(p, NULL);
	g_assert_cmpint(feed_all(p, in2, sizeof(in2) - 1, 100, resps, &error), ==, MH_PARSE_MORE);
	g_assert_no_error(error);
	g_assert_cmpuint(resps->len, ==, 2);
	g_assert_cmpuint(cap.ends, ==, 1);
	g_assert_cmpmem(((GByteArray *)cap.bodies->pdata[0])->data,
	                ((GByteArray *)cap.bodies->pdata[0])->len, "abcdef", 6);
	list = ((struct mh_imap_response *)resps->pdata[1])->args->pdata[0];
	g_assert_cmpint(((struct mh_imap_arg *)list->list->pdata[1])->type, ==,
	                MH_IMAP_ARG_LITERAL);
	cap_clear(&cap);
	mh_imap_parser_free(p);
}

/* Parses one complete response from @in. */
static struct mh_imap_response *
parse_one(const char *in, size_t len)
{
	struct mh_imap_parser *p = mh_imap_parser_new(NULL);
	g_autoptr(GError) error = NULL;
	struct mh_imap_response *r;
	size_t used = 0;

	g_assert_cmpint(mh_imap_parser_feed(p, (const unsigned char *)in, len, &used, &error), ==,
	                MH_PARSE_DONE);
	g_assert_no_error(error);
	g_assert_cmpuint(used, ==, len);
	r = mh_imap_parser_take(p);
	mh_imap_parser_free(p);
	return r;
}

static const struct mh_imap_arg *
nth(const struct mh_imap_response *r, guint i)
{
	g_assert_cmpuint(i, <, r->args->len);
	return r->args->pdata[i];
}

static void
test_get_uint64(void)
{
	static const char in[] =
		"* X 0 18446744073709551615 18446744073709551616 12a \"5\" NIL 007 -1 (1)\r\n";
	g_autoptr(mh_imap_response) r = parse_one(in, sizeof(in) - 1);
	uint64_t v = 42;

	g_assert_true(mh_imap_arg_get_uint64(nth(r, 0), &v));
	g_assert_cmpuint(v, ==, 0);
	g_assert_true(mh_imap_arg_get_uint64(nth(r, 1), &v));
	g_assert_cmpuint(v, ==, G_MAXUINT64);
	v = 42;
	for (guint i = 2; i <= 8; i++) {
		if (i == 6)
			continue;
		g_assert_false(mh_imap_arg_get_uint64(nth(r, i), &v));
	}
	g_assert_false(mh_imap_arg_get_uint64(NULL, &v));
	g_assert_cmpuint(v, ==, 42);
	g_assert_true(mh_imap_arg_get_uint64(nth(r, 6), &v));
	g_assert_cmpuint(v, ==, 7);
}

static void
test_get_nstring(void)
{
	static const char in[] = "* X atom \"quo ted\" {3}\r\na\0b NIL (l)\r\n";
	g_autoptr(mh_imap_response) r = parse_one(in, sizeof(in) - 1);
	const char *s = "unset";
	size_t len = 99;

	g_assert_true(mh_imap_arg_get_nstring(nth(r, 0), &s, &len));
	g_assert_cmpstr(s, ==, "atom");
	g_assert_cmpuint(len, ==, 4);
	g_assert_true(mh_imap_arg_get_nstring(nth(r, 1), &s, NULL));
	g_assert_cmpstr(s, ==, "quo ted");
	g_assert_true(mh_imap_arg_get_nstring(nth(r, 2), &s, &len));
	g_assert_cmpmem(s, len, "a\0b", 3);
	g_assert_true(mh_imap_arg_get_nstring(nth(r, 3), &s, &len));
	g_assert_null(s);
	g_assert_cmpuint(len, ==, 0);
	s = "unset";
	g_assert_false(mh_imap_arg_get_nstring(nth(r, 4), &s, &len));
	g_assert_false(mh_imap_arg_get_nstring(NULL, &s, &len));
	g_assert_cmpstr(s, ==, "unset");
}

static void
test_is_atom(void)
{
	static const char in[] = "* X Uid \\Seen \"UID\" NIL\r\n";
	g_autoptr(mh_imap_response) r = parse_one(in, sizeof(in) - 1);

	g_assert_true(mh_imap_arg_is_atom(nth(r, 0), "UID"));
	g_assert_true(mh_imap_arg_is_atom(nth(r, 0), "uid"));
	g_assert_false(mh_imap_arg_is_atom(nth(r, 0), "UI"));
	g_assert_false(mh_imap_arg_is_atom(nth(r, 0), "UIDX"));
	g_assert_true(mh_imap_arg_is_atom(nth(r, 1), "\\SEEN"));
	g_assert_false(mh_imap_arg_is_atom(nth(r, 2), "UID"));
	g_assert_false(mh_imap_arg_is_atom(nth(r, 3), "NIL"));
	g_assert_false(mh_imap_arg_is_atom(NULL, "UID"));
}

static void
test_list_lookup(void)
{
	static const char in[] =
		"* 1 FETCH (UID 5 FLAGS (UID) X-GM-LABELS UID RFC822.SIZE 44 ODD)\r\n";
	g_autoptr(mh_imap_response) r = parse_one(in, sizeof(in) - 1);
	const GPtrArray *l = nth(r, 0)->list;
	const struct mh_imap_arg *a;

	g_assert_true(mh_imap_arg_is_atom(mh_imap_list_lookup(l, "uid"), "5"));
	a = mh_imap_list_lookup(l, "FLAGS");
	g_assert_nonnull(a);
	g_assert_cmpint(a->type, ==, MH_IMAP_ARG_LIST);
	g_assert_true(a == l->pdata[3]);
	g_assert_true(mh_imap_list_lookup(l, "X-GM-LABELS") == l->pdata[5]);
	g_assert_true(mh_imap_arg_is_atom(mh_imap_list_lookup(l, "rfc822.size"), "44"));
	g_assert_null(mh_imap_list_lookup(l, "5"));   /* a value, not a key */
	g_assert_null(mh_imap_list_lookup(l, "ODD")); /* a key without value */
	g_assert_null(mh_imap_list_lookup(l, "MISSING"));
	g_assert_null(mh_imap_list_lookup(NULL, "UID"));
}

static void
test_status_name(void)
{
	g_assert_cmpstr(mh_imap_status_name(MH_IMAP_STATUS_NONE), ==, "NONE");
	g_assert_cmpstr(mh_imap_status_name(MH_IMAP_STATUS_OK), ==, "OK");
	g_assert_cmpstr(mh_imap_status_name(MH_IMAP_STATUS_NO), ==, "NO");
	g_assert_cmpstr(mh_imap_status_name(MH_IMAP_STATUS_BAD), ==, "BAD");
	g_assert_cmpstr(mh_imap_status_name(MH_IMAP_STATUS_PREAUTH), ==, "PREAUTH");
	g_assert_cmpstr(mh_imap_status_name(MH_IMAP_STATUS_BYE), ==, "BYE");
	g_assert_cmpstr(mh_imap_status_name((enum mh_imap_status)99), ==, "UNKNOWN");
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/imap/parser/parse/%s", parse_cases[i].name);

		g_test_add_data_func(path, &parse_cases[i], check_case);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		g_autofree char *path =
			g_strdup_printf("/imap/parser/malformed/%s", bad_cases[i].name);

		g_test_add_data_func(path, &bad_cases[i], check_bad_case);
	}
	g_test_add_func("/imap/parser/literal-header-split", test_literal_header_split);
	g_test_add_func("/imap/parser/stream/big-literal", test_stream_big_literal);
	g_test_add_func("/imap/parser/stream/big-literal-without-sink",
	                test_stream_big_without_sink);
	g_test_add_func("/imap/parser/stream/prev-atom", test_sink_prev_atom);
	g_test_add_func("/imap/parser/stream/sink-removed-mid-literal",
	                test_sink_removed_mid_literal);
	g_test_add_func("/imap/parser/limits/line", test_limit_line);
	g_test_add_func("/imap/parser/limits/depth", test_limit_depth);
	g_test_add_func("/imap/parser/limits/response", test_limit_response);
	g_test_add_func("/imap/parser/limits/literal", test_limit_literal);
	g_test_add_func("/imap/parser/args/get-uint64", test_get_uint64);
	g_test_add_func("/imap/parser/args/get-nstring", test_get_nstring);
	g_test_add_func("/imap/parser/args/is-atom", test_is_atom);
	g_test_add_func("/imap/parser/args/list-lookup", test_list_lookup);
	g_test_add_func("/imap/parser/status-name", test_status_name);
	return g_test_run();
}
