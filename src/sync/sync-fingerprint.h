/* SPDX-License-Identifier: MIT */
/* Message identity without sync state: a SHA-256 fingerprint of a few header fields
 * (RFC 5322 section 3.6), normalised so that what servers rewrite when they store a
 * message (a trailing CRLF, 8-bit header bytes, folding, encoded words, the size) does
 * not change it. Messages are never modified. Design: docs/internals/identity.md. */
#ifndef MH_SYNC_FINGERPRINT_H
#define MH_SYNC_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The header fields to fetch, for BODY.PEEK[HEADER.FIELDS (...)]. */
#define MH_FINGERPRINT_FIELDS "MESSAGE-ID DATE FROM TO CC SUBJECT"

/* Length of a fingerprint: lowercase hex of a SHA-256 digest. */
#define MH_FINGERPRINT_HEX_LEN 64

/* Computes the identity fingerprint of a message from @headers (the raw header block
 * returned for BODY[HEADER.FIELDS (...)], or a whole header section: other fields are
 * ignored). @headers is (pointer, length), not NUL-terminated, may use CRLF or bare LF, may
 * contain 8-bit bytes and NULs, and may end with the empty line; parsing stops at the
 * first empty line. Any input is accepted (lines without a colon are skipped, a missing
 * final empty line or a very long field is fine); @headers may be NULL when @len is 0.
 *
 * Field names match case-insensitively; continuation lines are unfolded; a repeated field
 * counts by its first occurrence. Message-ID is normalised as by mh_fingerprint_message_id()
 * and then each of its 8-bit bytes becomes 'X'. Every other value has its
 * RFC 2047 encoded words decoded to bytes, its whitespace trimmed and collapsed, ASCII
 * lower-cased, and each run of 8-bit bytes and 'x' turned into one 'x' (Cyrus stores 8-bit
 * header bytes as 'X', a re-encoder may change the charset); From, To and Cc keep only
 * their addr-specs in order, and a Date that parses becomes seconds since the epoch (UTC).
 * The message size is not part of the identity: servers change it (Courier adds a final
 * CRLF, Exchange re-renders MIME); callers use it only to choose between equal identities.
 *
 * The digest input is "identity\0" "1\0" "2" followed, for each of mid, date, from, to,
 * cc and subject in this order, by "<name>\0<decimal byte length of value>\0<value>", an
 * absent field having the empty value. Lengths make the encoding injective whatever bytes
 * the values hold. Equal headers give equal fingerprints, so true duplicates stay
 * duplicates (callers count them as a multiset).
 *
 * Returns a new string of MH_FINGERPRINT_HEX_LEN lowercase hex digits (caller g_free()s). */
char *mh_fingerprint_compute(const char *headers, size_t len);

/* Returns the Message-ID of @headers (same input rules as mh_fingerprint_compute()),
 * normalised: unfolded, RFC 5322 comments removed (nested, with quoted-pairs; not inside
 * quoted strings), whitespace inside the angle brackets removed (kept, collapsed, inside
 * quoted strings), other whitespace trimmed and collapsed, case kept (the local part is
 * case-sensitive). Returns a new string (caller g_free()s), or NULL when the field is
 * absent, empty after normalisation, or holds a NUL byte (no usable C string; the
 * fingerprint still covers such a value in full). */
char *mh_fingerprint_message_id(const char *headers, size_t len);

#endif
