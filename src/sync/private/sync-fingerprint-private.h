/* SPDX-License-Identifier: MIT */
/* Value normalisations shared by the fingerprint's two files (sync-fingerprint.c scans and
 * hashes, sync-fingerprint-norm.c normalises). */
#ifndef MH_SYNC_FINGERPRINT_PRIVATE_H
#define MH_SYNC_FINGERPRINT_PRIVATE_H

#include <glib.h>
#include <stdbool.h>

#include "sync-fingerprint.h"

/* Writes @in (@len bytes) to @out with every well-formed RFC 2047 encoded word decoded to
 * its bytes (no charset conversion) and the whitespace between two adjacent encoded words
 * dropped. Malformed words stay as they are. */
void sync_fp_decode_words(const char *in, size_t len, GString *out);

/* In place: trims, collapses whitespace runs to one space, lower-cases ASCII letters,
 * turns every 8-bit byte into 'x' and every run of 'x' into one. */
void sync_fp_fold(GString *s);

/* In place: every 8-bit byte becomes 'X' (what Cyrus stores for it). */
void sync_fp_mask_8bit(GString *s);

/* The addr-specs of a folded address list, comma-separated, display names, comments and
 * group names dropped; the folded text itself when it holds no address. */
void sync_fp_addresses(const GString *value, GString *out);

/* A folded, lower-cased RFC 5322 date as decimal seconds since the epoch (UTC) into @out;
 * false (and @out untouched) when it does not parse. */
bool sync_fp_date(const GString *value, GString *out);

#endif
