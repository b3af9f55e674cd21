/* SPDX-License-Identifier: MIT */
/* Fuzzes the IMAP response parser with server bytes. Each input is parsed whole, in
 * chunk sizes drawn from a hash of the input, and one byte at a time, all with a sink
 * that streams some literals and declines others: the three dumps must be identical,
 * errors included, so a chunking bug aborts and not only a memory error. A fourth
 * pass without a sink exercises the held-literal caps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_run {
	struct mh_imap_parser *p;
	GString *out;      /* dump of everything parsed */
	GPtrArray *bodies; /* GByteArray *: streamed literals of the current response */
	unsigned nbegin;   /* begin() calls, for the accept decision */
	uint64_t seed;     /* from the input: limits, sink decisions, chunk sizes */
	bool in_literal;
	bool failed;
};

static void dump_list(GString *out, const GPtrArray *list, struct fuzz_run *run, guint *next);

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

/* Exercises the readers on every argument, checking what they promise. */
static void
probe_arg(const struct mh_imap_arg *a)
{
	const char *s = NULL;
	size_t len = 0;
	uint64_t v;

	if (mh_imap_arg_get_nstring(a, &s, &len) && s != NULL && (len != a->len || s != a->str))
		abort();
	if (mh_imap_arg_get_uint64(a, &v) && a->type != MH_IMAP_ARG_ATOM)
		abort();
	if (a->type == MH_IMAP_ARG_ATOM &&
	    (strlen(a->str) != a->len || !mh_imap_arg_is_atom(a, a->str)))
		abort();
	if (a->type == MH_IMAP_ARG_LIST)
		(void)mh_imap_list_lookup(a->list, "BODY[]");
}

/* Streamed and held literals dump alike, so only sink decisions, not chunking,
 * shape the output. @next indexes run->bodies. */
static void
dump_arg(GString *out, const struct mh_imap_arg *a, struct fuzz_run *run, guint *next)
{
	GByteArray *body;

	probe_arg(a);
	switch (a->type) {
	case MH_IMAP_ARG_ATOM:
		g_string_append_len(out, a->str, (gssize)a->len);
		break;
	case MH_IMAP_ARG_STRING:
		dump_bytes(out, a->str, a->len);
		break;
	case MH_IMAP_ARG_LITERAL:
		g_string_append_printf(out, "{%zu}", a->len);
		dump_bytes(out, a->str, a->len);
		break;
	case MH_IMAP_ARG_STREAMED:
		if (run == NULL) { /* a partial response, seen from begin() */
			g_string_append_printf(out, "{%" G_GUINT64_FORMAT "}", a->size);
			break;
		}
		if (*next >= run->bodies->len)
			abort();
		body = run->bodies->pdata[(*next)++];
		if (body->len != a->size)
			abort();
		g_string_append_printf(out, "{%u}", body->len);
		dump_bytes(out, (const char *)body->data, body->len);
		break;
	case MH_IMAP_ARG_NIL:
		g_string_append(out, "NIL");
		break;
	case MH_IMAP_ARG_LIST:
		g_string_append_c(out, '(');
		dump_list(out, a->list, run, next);
		g_string_append_c(out, ')');
		break;
	}
}

static void
dump_list(GString *out, const GPtrArray *list, struct fuzz_run *run, guint *next)
{
	if (list == NULL)
		abort();
	for (guint i = 0; i < list->len; i++) {
		if (i > 0)
			g_string_append_c(out, ' ');
		dump_arg(out, list->pdata[i], run, next);
	}
}

static void
dump_response(GString *out, const struct mh_imap_response *r, struct fuzz_run *run)
{
	guint next = 0;

	g_string_append_printf(out, "%d %s #%d:%u %s %s [%s ", (int)r->kind, r->tag ? r->tag : "-",
	                       (int)r->has_number, r->number, r->name ? r->name : "-",
	                       mh_imap_status_name(r->status), r->code ? r->code : "-");
	dump_list(out, r->code_args, run, &next);
	g_string_append(out, "] ");
	if (r->text != NULL)
		dump_bytes(out, r->text, strlen(r->text));
	g_string_append_c(out, ' ');
	dump_list(out, r->args, run, &next);
	g_string_append_c(out, '\n');
	if (run != NULL && next != run->bodies->len)
		abort();
}

static bool
sink_begin(void *ctx, const struct mh_imap_response *resp, const char *prev_atom, uint64_t size)
{
	struct fuzz_run *run = ctx;
	bool accept = ((run->seed >> 8) + run->nbegin++ + size) % 3 != 0;

	if (run->in_literal)
		abort();
	/* The partial response is part of the output: it must not depend on chunking. */
	g_string_append_printf(run->out,
	                       "begin %s %" G_GUINT64_FORMAT " %d: ", prev_atom ? prev_atom : "-",
	                       size, (int)accept);
	dump_response(run->out, resp, NULL);
	if (accept) {
		g_ptr_array_add(run->bodies, g_byte_array_new());
		run->in_literal = true;
	}
	return accept;
}

static void
sink_data(void *ctx, const unsigned char *data, size_t len)
{
	struct fuzz_run *run = ctx;

	if (!run->in_literal || len == 0)
		abort();
	g_byte_array_append(run->bodies->pdata[run->bodies->len - 1], data, (guint)len);
}

static void
sink_end(void *ctx)
{
	struct fuzz_run *run = ctx;

	if (!run->in_literal)
		abort();
	run->in_literal = false;
}

static void
run_error(struct fuzz_run *run, GError *error)
{
	GError *again = NULL;
	size_t used = 1;

	if (error == NULL || !g_error_matches(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL))
		abort();
	g_string_append_printf(run->out, "ERROR %s\n", error->message);
	if (mh_imap_parser_feed(run->p, (const unsigned char *)"+\r\n", 3, &used, &again) !=
	            MH_PARSE_ERROR ||
	    used != 0 || again == NULL || strcmp(again->message, error->message) != 0)
		abort();
	g_error_free(again);
	run->failed = true;
}

static void
run_chunk(struct fuzz_run *run, const uint8_t *data, size_t len)
{
	while (len > 0 && !run->failed) {
		GError *error = NULL;
		size_t used = SIZE_MAX;
		enum mh_parse_result res = mh_imap_parser_feed(run->p, data, len, &used, &error);
		struct mh_imap_response *r;

		if (res == MH_PARSE_ERROR) {
			run_error(run, error);
			g_error_free(error);
			return;
		}
		if (error != NULL || used > len || (res == MH_PARSE_MORE && used != len))
			abort();
		if (res == MH_PARSE_MORE)
			return;
		r = mh_imap_parser_take(run->p);
		if (r == NULL || run->in_literal)
			abort();
		dump_response(run->out, r, run);
		mh_imap_response_free(r);
		g_ptr_array_set_size(run->bodies, 0);
		data += used;
		len -= used;
	}
}

static uint64_t
next_rand(uint64_t *state)
{
	/* xorshift64: cheap and deterministic for a given input */
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* Parses @data fed whole (@mode 0), in hashed chunk sizes (1) or byte by byte (2).
 * Returns the dump; caller frees. */
static char *
parse(const uint8_t *data, size_t size, uint64_t seed, int mode, bool with_sink)
{
	struct fuzz_run run = {.out = g_string_new(NULL), .seed = seed};
	struct mh_imap_literal_sink sink = {sink_begin, sink_data, sink_end, &run};
	struct mh_imap_parser_limits small = {64, 48, 1024, 4};
	uint64_t rnd = seed | 1;

	run.p = mh_imap_parser_new(seed & 1 ? &small : NULL);
	run.bodies = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
	if (with_sink)
		mh_imap_parser_set_sink(run.p, &sink);
	for (size_t pos = 0; pos < size && !run.failed;) {
		size_t n = size - pos;

		size_t r = (size_t)next_rand(&rnd);

		if (mode == 2)
			n = 1;
		else if (mode == 1)
			n = MIN(n, 1 + r % ((seed & 2) != 0 ? 17 : 300));
		run_chunk(&run, data + pos, n);
		pos += n;
	}
	mh_imap_parser_free(run.p);
	g_ptr_array_unref(run.bodies);
	return g_string_free(run.out, FALSE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = 1469598103934665603ull; /* FNV-1a */
	char *whole;

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211ull;
	whole = parse(data, size, seed, 0, true);
	for (int mode = 1; mode <= 2; mode++) {
		char *other = parse(data, size, seed, mode, true);

		if (strcmp(whole, other) != 0) {
			fprintf(stderr, "whole:\n%s\nchunking %d:\n%s\n", whole, mode, other);
			abort();
		}
		g_free(other);
	}
	g_free(parse(data, size, seed, 1, false));
	g_free(whole);
	return 0;
}
