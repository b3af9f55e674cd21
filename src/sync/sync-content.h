/* SPDX-License-Identifier: MIT */
/* What a message says, for `verify --content`: a SHA-256 of its bytes and a digest of its
 * MIME structure (RFC 2045-2049, parsed by GMime): per leaf part its position, type, file
 * name, decoded size and the SHA-256 of its decoded content (text bodies decoded to UTF-8
 * with line ends and trailing whitespace normalised). Two digests are compared by bytes
 * first, then by structure. Design: docs/internals/content.md. */
#ifndef MH_SYNC_CONTENT_H
#define MH_SYNC_CONTENT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many leaf parts are described per message (more are counted only), and
 * multiparts are followed this deep. */
#define MH_CONTENT_MAX_PARTS 1000
#define MH_CONTENT_MAX_DEPTH 100

/* Messages up to this size are held in memory while they arrive; larger ones go to an
 * unlinked temporary file. */
#define MH_CONTENT_MEMORY_MAX (1024 * 1024)

struct mh_content_reader;
struct mh_content_digest;

/* A reader for one message of about @size bytes (the size the server announced). Returns
 * a new reader: feed it, then finish it (or free it to abandon it). */
struct mh_content_reader *mh_content_reader_new(uint64_t size);

/* Hands @len bytes of the message to @r (copied). */
void mh_content_reader_feed(struct mh_content_reader *r, const void *data, size_t len);

/* Parses what was fed and describes it; frees @r. Never fails: a message that cannot be
 * spooled or parsed gets a digest that says so (and differs from any other). Time and
 * memory are linear in the message's size; the parts are bounded as said above. Returns
 * a new digest, caller frees. */
struct mh_content_digest *mh_content_reader_finish(struct mh_content_reader *r);

/* Abandons @r; NULL allowed. */
void mh_content_reader_free(struct mh_content_reader *r);

/* The digest of the @len bytes at @data (a reader fed once). Caller frees. */
struct mh_content_digest *mh_content_digest_of(const void *data, size_t len);

void mh_content_digest_free(struct mh_content_digest *d);

/* Lowercase hex SHA-256 of the message's bytes; borrowed from @d. */
const char *mh_content_digest_sha256(const struct mh_content_digest *d);

/* Bytes fed. */
uint64_t mh_content_digest_size(const struct mh_content_digest *d);

/* Leaf parts found (also those beyond MH_CONTENT_MAX_PARTS). */
guint mh_content_digest_parts(const struct mh_content_digest *d);

/* The start of the message up to its header's end (at most 64 KB), for naming it;
 * borrowed from @d. */
const char *mh_content_digest_head(const struct mh_content_digest *d, size_t *len_r);

/* A line per leaf part ("2 image/png name=a.png size=10 sha256=..."), for tests and the
 * debug log. Returns a new string, caller frees. */
char *mh_content_digest_describe(const struct mh_content_digest *d);

enum mh_content_verdict {
	MH_CONTENT_SAME_BYTES,     /* the same bytes */
	MH_CONTENT_SAME_STRUCTURE, /* other bytes, the same parts and contents */
	MH_CONTENT_DIFFERENT,      /* some part differs: see the differences */
};

/* Compares the source's digest @src with the destination's @dst. When they differ,
 * *diffs_r (when not NULL) is a new array of sentences (char *, owned by it) naming each
 * difference from the source's point of view, e.g. "attachment report.pdf: SHA-256
 * differs (same size 48213)" or "part 3 (image/png) missing on the destination"; else
 * NULL. */
enum mh_content_verdict mh_content_compare(const struct mh_content_digest *src,
                                           const struct mh_content_digest *dst,
                                           GPtrArray **diffs_r);

#endif
