/* SPDX-License-Identifier: MIT */
/* Message content digests for `verify --content`: the bytes are hashed as they arrive and
 * spooled (memory, or an unlinked temporary file), then parsed with GMime (RFC 2045-2049)
 * and each leaf part's decoded content hashed while it is read back, so no part is held
 * in memory whole. Text bodies are hashed decoded to UTF-8, with CR LF, CR and LF alike,
 * trailing whitespace on lines and blank lines at the end dropped. */
#include "sync-content.h"

#include <gmime/gmime.h>
#include <string.h>
#include <unistd.h>

#define CONTENT_HEAD_MAX  (64 * 1024)
#define CONTENT_READ_SIZE (64 * 1024)
/* A whitespace run longer than this inside a text line is kept, not normalised (its
 * bytes would otherwise have to be held until the line's end). */
#define CONTENT_WS_MAX    (64 * 1024)

struct content_part {
	char *section;  /* owned; IMAP-style position, "1", "2.1" */
	char *type;     /* owned; "image/png", lower case */
	char *filename; /* owned; UTF-8, or NULL */
	bool attachment;
	bool text; /* compared normalised */
	uint64_t size;
	char sha256[65];
};

struct mh_content_digest {
	char sha256[65];
	uint64_t size;
	GPtrArray *parts; /* owned; struct content_part * */
	guint leaves;     /* leaf parts found, also beyond MH_CONTENT_MAX_PARTS */
	bool truncated;   /* parts or depth beyond the bounds were not described */
	bool parsed;      /* GMime found a message */
	GByteArray *head; /* owned */
	char *error;      /* owned; why the message could not be read, or NULL */
};

struct mh_content_reader {
	GChecksum *sum;
	uint64_t size;
	GByteArray *head; /* owned; until the header's end */
	bool head_done;
	GByteArray *mem;   /* owned; the message, when held in memory */
	GMimeStream *file; /* owned; the spool file, else */
	char *error;       /* owned; the spool failed */
};

static gpointer
content_init_once(gpointer unused)
{
	(void)unused;
	g_mime_init();
	return NULL;
}

static void
content_init(void)
{
	static GOnce once = G_ONCE_INIT;

	g_once(&once, content_init_once, NULL);
}

static void
content_part_free(struct content_part *p)
{
	g_free(p->section);
	g_free(p->type);
	g_free(p->filename);
	g_free(p);
}

/* --- reading --- */

/* An unlinked temporary file as a stream, or NULL with *error_r set. */
static GMimeStream *
content_spool_file(char **error_r)
{
	g_autoptr(GError) local = NULL;
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("mailhaul-verify-XXXXXX", &path, &local);

	if (fd < 0) {
		*error_r = g_strdup_printf("no temporary file for a large message: %s",
		                           local->message);
		return NULL;
	}
	unlink(path);
	return g_mime_stream_fs_new(fd);
}

struct mh_content_reader *
mh_content_reader_new(uint64_t size)
{
	struct mh_content_reader *r = g_new0(struct mh_content_reader, 1);

	content_init();
	r->sum = g_checksum_new(G_CHECKSUM_SHA256);
	r->head = g_byte_array_new();
	if (size > MH_CONTENT_MEMORY_MAX)
		r->file = content_spool_file(&r->error);
	else
		r->mem = g_byte_array_sized_new((guint)size);
	return r;
}

/* Keeps the start of the message until its empty line (or the cap). */
static void
content_keep_head(struct mh_content_reader *r, const guint8 *data, size_t len)
{
	size_t room = CONTENT_HEAD_MAX - r->head->len;
	size_t take = MIN(len, room);

	for (size_t i = 0; i < take; i++) {
		guint8 c = data[i];
		guint n = r->head->len;

		g_byte_array_append(r->head, &c, 1);
		if (c == '\n' &&
		    ((n >= 1 && r->head->data[n - 1] == '\n') ||
		     (n >= 2 && r->head->data[n - 1] == '\r' && r->head->data[n - 2] == '\n'))) {
			r->head_done = true;
			return;
		}
	}
	if (r->head->len >= CONTENT_HEAD_MAX)
		r->head_done = true;
}

void
mh_content_reader_feed(struct mh_content_reader *r, const void *data, size_t len)
{
	if (len == 0)
		return;
	g_checksum_update(r->sum, data, (gssize)len);
	r->size += len;
	if (!r->head_done)
		content_keep_head(r, data, len);
	if (r->error != NULL)
		return;
	if (r->mem != NULL && r->mem->len + len > G_MAXUINT / 2) {
		r->error = g_strdup("the message is too large to be held");
		g_clear_pointer(&r->mem, g_byte_array_unref);
	} else if (r->mem != NULL) {
		g_byte_array_append(r->mem, data, (guint)len);
	} else if (r->file != NULL && g_mime_stream_write(r->file, data, len) != (ssize_t)len) {
		r->error = g_strdup("writing a large message to a temporary file failed");
	}
}

void
mh_content_reader_free(struct mh_content_reader *r)
{
	if (r == NULL)
		return;
	g_checksum_free(r->sum);
	if (r->head != NULL)
		g_byte_array_unref(r->head);
	if (r->mem != NULL)
		g_byte_array_unref(r->mem);
	g_clear_object(&r->file);
	g_free(r->error);
	g_free(r);
}

/* --- text normalisation --- */

struct text_norm {
	GChecksum *sum;
	uint64_t size;
	guint64 newlines; /* held: written only when more text follows */
	GString *ws;      /* held: blanks since the last other byte of the line */
	bool after_cr;
	GString *out; /* bytes to hash */
};

static void
text_norm_emit(struct text_norm *t, const char *s, size_t len)
{
	g_string_append_len(t->out, s, (gssize)len);
	t->size += len;
	if (t->out->len >= CONTENT_READ_SIZE) {
		g_checksum_update(t->sum, (const guchar *)t->out->str, (gssize)t->out->len);
		g_string_truncate(t->out, 0);
	}
}

static void
text_norm_feed(struct text_norm *t, const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = data[i];
		bool cr = t->after_cr;

		t->after_cr = c == '\r';
		if (c == '\n' && cr)
			continue; /* the LF of a CR LF */
		if (c == '\r' || c == '\n') {
			g_string_truncate(t->ws, 0);
			t->newlines++;
		} else if ((c == ' ' || c == '\t') && t->ws->len < CONTENT_WS_MAX) {
			g_string_append_c(t->ws, c);
		} else {
			for (; t->newlines > 0; t->newlines--)
				text_norm_emit(t, "\n", 1);
			text_norm_emit(t, t->ws->str, t->ws->len);
			g_string_truncate(t->ws, 0);
			text_norm_emit(t, &c, 1);
		}
	}
}

/* --- parts --- */

static void
content_hex(GChecksum *sum, char out[65])
{
	g_strlcpy(out, g_checksum_get_string(sum), 65);
}

/* Reads the decoded (for text: normalised UTF-8) content of @part into @p. */
static void
content_hash_part(GMimePart *part, struct content_part *p)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	struct text_norm t = {.sum = sum, .ws = g_string_new(NULL), .out = g_string_new(NULL)};
	GMimeStream *raw = content != NULL ? g_mime_data_wrapper_get_stream(content) : NULL;
	GMimeStream *filtered = NULL;
	g_autofree char *buf = NULL;

	if (raw != NULL) {
		GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(content);
		const char *charset =
			g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");

		g_mime_stream_reset(raw);
		filtered = g_mime_stream_filter_new(raw);
		if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
		    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
		    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
			GMimeFilter *f = g_mime_filter_basic_new(enc, FALSE);

			g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
			g_object_unref(f);
		}
		if (p->text && charset != NULL && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
		    g_ascii_strcasecmp(charset, "us-ascii") != 0) {
			GMimeFilter *f = g_mime_filter_charset_new(charset, "UTF-8");

			/* An unknown charset: the bytes as they are. */
			if (f != NULL) {
				g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
				g_object_unref(f);
			}
		}
		buf = g_malloc(CONTENT_READ_SIZE);
	}
	for (;;) {
		ssize_t n =
			filtered != NULL ? g_mime_stream_read(filtered, buf, CONTENT_READ_SIZE) : 0;

		if (n <= 0)
			break;
		if (p->text) {
			text_norm_feed(&t, buf, (size_t)n);
		} else {
			g_checksum_update(sum, (const guchar *)buf, n);
			p->size += (uint64_t)n;
		}
	}
	if (p->text) {
		g_checksum_update(sum, (const guchar *)t.out->str, (gssize)t.out->len);
		p->size = t.size;
	}
	content_hex(sum, p->sha256);
	g_string_free(t.ws, true);
	g_string_free(t.out, true);
	g_clear_object(&filtered);
}

static void
content_add_leaf(struct mh_content_digest *d, GMimeObject *obj, const char *section)
{
	GMimePart *part = GMIME_PART(obj);
	struct content_part *p;
	g_autofree char *type = NULL;
	const char *name;

	d->leaves++;
	if (d->parts->len >= MH_CONTENT_MAX_PARTS) {
		d->truncated = true;
		return;
	}
	p = g_new0(struct content_part, 1);
	p->section = g_strdup(section);
	type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj));
	p->type = g_ascii_strdown(type != NULL ? type : "application/octet-stream", -1);
	name = g_mime_part_get_filename(part);
	if (name != NULL && *name != '\0') {
		p->filename = g_utf8_make_valid(name, -1);
		/* named in one-line reports */
		for (char *c = p->filename; *c != '\0'; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		}
	}
	p->attachment = p->filename != NULL || g_mime_part_is_attachment(part);
	p->text = !p->attachment && g_str_has_prefix(p->type, "text/");
	content_hash_part(part, p);
	g_ptr_array_add(d->parts, p);
}

static void content_walk(struct mh_content_digest *d, GMimeObject *obj, const char *section,
                         guint depth);

static void
content_walk_multipart(struct mh_content_digest *d, GMimeMultipart *mp, const char *section,
                       guint depth)
{
	int n = g_mime_multipart_get_count(mp);

	for (int i = 0; i < n; i++) {
		g_autofree char *child = *section != '\0' ? g_strdup_printf("%s.%d", section, i + 1)
		                                          : g_strdup_printf("%d", i + 1);

		content_walk(d, g_mime_multipart_get_part(mp, i), child, depth + 1);
	}
}

/* Describes @obj at @section ("" for the message's own body). */
static void
content_walk(struct mh_content_digest *d, GMimeObject *obj, const char *section, guint depth)
{
	if (obj == NULL)
		return;
	if (depth > MH_CONTENT_MAX_DEPTH) {
		d->truncated = true;
	} else if (GMIME_IS_MULTIPART(obj)) {
		content_walk_multipart(d, GMIME_MULTIPART(obj), section, depth);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		GMimeObject *body = inner != NULL ? g_mime_message_get_mime_part(inner) : NULL;

		g_autofree char *first =
			*section != '\0' ? g_strdup_printf("%s.1", section) : g_strdup("1");

		if (body != NULL && GMIME_IS_MULTIPART(body))
			content_walk(d, body, section, depth + 1);
		else if (body != NULL)
			content_walk(d, body, first, depth + 1);
	} else if (GMIME_IS_PART(obj)) {
		content_add_leaf(d, obj, *section != '\0' ? section : "1");
	}
}

struct mh_content_digest *
mh_content_reader_finish(struct mh_content_reader *r)
{
	struct mh_content_digest *d = g_new0(struct mh_content_digest, 1);
	GMimeStream *stream = NULL;
	GMimeParser *parser;
	GMimeMessage *msg;

	d->parts = g_ptr_array_new_with_free_func((GDestroyNotify)content_part_free);
	content_hex(r->sum, d->sha256);
	d->size = r->size;
	d->head = g_steal_pointer(&r->head);
	d->error = g_steal_pointer(&r->error);
	if (d->error == NULL && r->mem != NULL)
		stream = g_mime_stream_mem_new_with_byte_array(g_steal_pointer(&r->mem));
	else if (d->error == NULL && r->file != NULL)
		stream = g_steal_pointer(&r->file);
	mh_content_reader_free(r);
	if (stream == NULL)
		return d;
	g_mime_stream_seek(stream, 0, GMIME_STREAM_SEEK_SET);
	parser = g_mime_parser_new_with_stream(stream);
	/* Parts refer to the spool instead of copies of their bytes. */
	g_mime_parser_set_persist_stream(parser, TRUE);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (msg != NULL) {
		d->parsed = true;
		content_walk(d, g_mime_message_get_mime_part(msg), "", 0);
		g_object_unref(msg);
	}
	g_object_unref(parser);
	g_object_unref(stream);
	return d;
}

struct mh_content_digest *
mh_content_digest_of(const void *data, size_t len)
{
	struct mh_content_reader *r = mh_content_reader_new(len);

	mh_content_reader_feed(r, data, len);
	return mh_content_reader_finish(r);
}

void
mh_content_digest_free(struct mh_content_digest *d)
{
	if (d == NULL)
		return;
	g_ptr_array_unref(d->parts);
	if (d->head != NULL)
		g_byte_array_unref(d->head);
	g_free(d->error);
	g_free(d);
}

const char *
mh_content_digest_sha256(const struct mh_content_digest *d)
{
	return d->sha256;
}

uint64_t
mh_content_digest_size(const struct mh_content_digest *d)
{
	return d->size;
}

guint
mh_content_digest_parts(const struct mh_content_digest *d)
{
	return d->leaves;
}

const char *
mh_content_digest_head(const struct mh_content_digest *d, size_t *len_r)
{
	*len_r = d->head != NULL ? d->head->len : 0;
	return d->head != NULL ? (const char *)d->head->data : "";
}

char *
mh_content_digest_describe(const struct mh_content_digest *d)
{
	GString *s = g_string_new(NULL);

	if (d->error != NULL)
		g_string_append_printf(s, "error %s\n", d->error);
	for (guint i = 0; i < d->parts->len; i++) {
		const struct content_part *p = d->parts->pdata[i];

		g_string_append_printf(s, "%s %s%s%s%s size=%" G_GUINT64_FORMAT " sha256=%s\n",
		                       p->section, p->type, p->attachment ? " attachment" : "",
		                       p->filename != NULL ? " name=" : "",
		                       p->filename != NULL ? p->filename : "", p->size, p->sha256);
	}
	if (d->truncated)
		g_string_append_printf(s, "truncated at %u of %u parts\n", d->parts->len,
		                       d->leaves);
	return g_string_free(s, false);
}

/* --- comparing --- */

/* @name with each byte beyond ASCII as 'X': what Cyrus stores for a raw 8-bit header. */
static char *
content_name_fold(const char *name)
{
	char *s = g_strdup(name);

	for (char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			*p = 'X';
	}
	return s;
}

static bool
content_same_name(const char *a, const char *b)
{
	g_autofree char *fa = NULL;
	g_autofree char *fb = NULL;

	if (strcmp(a, b) == 0)
		return true;
	fa = content_name_fold(a);
	fb = content_name_fold(b);
	return strcmp(fa, fb) == 0;
}

/* The destination part answering for @p: an unused one with the same file name, or, for
 * a part without one, the next unused one of the same type without a file name. */
static int
content_find(const struct content_part *p, const GPtrArray *dst, const bool *used)
{
	for (guint pass = 0; pass < 2; pass++) {
		for (guint i = 0; i < dst->len; i++) {
			const struct content_part *q = dst->pdata[i];

			if (used[i] || (p->filename == NULL) != (q->filename == NULL))
				continue;
			if (p->filename != NULL &&
			    (pass == 0 ? strcmp(p->filename, q->filename) == 0
			               : content_same_name(p->filename, q->filename)))
				return (int)i;
			if (p->filename == NULL && pass == 0 && strcmp(p->type, q->type) == 0)
				return (int)i;
		}
	}
	return -1;
}

/* "attachment NAME" or "part 3 (image/png)": a new string. */
static char *
content_part_name(const struct content_part *p)
{
	if (p->filename != NULL)
		return g_strdup_printf("attachment %s", p->filename);
	return g_strdup_printf("part %s (%s)", p->section, p->type);
}

static void
content_compare_part(const struct content_part *p, const struct content_part *q, GPtrArray *diffs)
{
	g_autofree char *name = content_part_name(p);
	const char *what = p->text ? "text" : "SHA-256";

	if (p->size == q->size && strcmp(p->sha256, q->sha256) == 0)
		return;
	if (p->size == q->size)
		g_ptr_array_add(
			diffs, g_strdup_printf("%s: %s differs (same size %" G_GUINT64_FORMAT "%s)",
		                               name, what, p->size, p->text ? ", normalised" : ""));
	else
		g_ptr_array_add(diffs, g_strdup_printf("%s: %s differs (%" G_GUINT64_FORMAT
		                                       " bytes on the source, %" G_GUINT64_FORMAT
		                                       " on the destination%s)",
		                                       name, p->text ? "text" : "size", p->size,
		                                       q->size, p->text ? ", normalised" : ""));
}

static void
content_compare_parts(const struct mh_content_digest *src, const struct mh_content_digest *dst,
                      GPtrArray *diffs)
{
	g_autofree bool *used = g_new0(bool, dst->parts->len + 1);

	if (src->leaves != dst->leaves)
		g_ptr_array_add(diffs,
		                g_strdup_printf("%u parts on the source, %u on the destination",
		                                src->leaves, dst->leaves));
	for (guint i = 0; i < src->parts->len; i++) {
		const struct content_part *p = src->parts->pdata[i];
		int j = content_find(p, dst->parts, used);
		g_autofree char *name = NULL;

		if (j >= 0) {
			used[j] = true;
			content_compare_part(p, dst->parts->pdata[j], diffs);
			continue;
		}
		name = content_part_name(p);
		g_ptr_array_add(diffs, g_strdup_printf("%s missing on the destination", name));
	}
	for (guint j = 0; j < dst->parts->len; j++) {
		g_autofree char *name = NULL;

		if (used[j])
			continue;
		name = content_part_name(dst->parts->pdata[j]);
		g_ptr_array_add(diffs, g_strdup_printf("%s only on the destination", name));
	}
}

enum mh_content_verdict
mh_content_compare(const struct mh_content_digest *src, const struct mh_content_digest *dst,
                   GPtrArray **diffs_r)
{
	g_autoptr(GPtrArray) diffs = g_ptr_array_new_with_free_func(g_free);

	if (diffs_r != NULL)
		*diffs_r = NULL;
	if (src->error != NULL || dst->error != NULL) {
		if (src->error != NULL)
			g_ptr_array_add(diffs, g_strdup_printf("the source's copy could not be "
			                                       "read: %s",
			                                       src->error));
		if (dst->error != NULL)
			g_ptr_array_add(diffs,
			                g_strdup_printf("the destination's copy could not be "
			                                "read: %s",
			                                dst->error));
	} else if (src->size == dst->size && strcmp(src->sha256, dst->sha256) == 0) {
		return MH_CONTENT_SAME_BYTES;
	} else if (!src->parsed || !dst->parsed) {
		g_ptr_array_add(diffs, g_strdup_printf("other bytes, and no MIME message on the %s "
		                                       "to compare by structure",
		                                       !src->parsed ? "source" : "destination"));
	} else {
		content_compare_parts(src, dst, diffs);
	}
	if (diffs->len == 0)
		return MH_CONTENT_SAME_STRUCTURE;
	if (diffs_r != NULL)
		*diffs_r = g_steal_pointer(&diffs);
	return MH_CONTENT_DIFFERENT;
}
