/* SPDX-License-Identifier: MIT */
/* Modified UTF-7 mailbox names (RFC 3501 section 5.1.3), both ways. */
#ifndef MH_IMAP_UTF7_H
#define MH_IMAP_UTF7_H

#include <glib.h>
#include <stdbool.h>

/* Encodes UTF-8 @utf8 as modified UTF-7: 0x20-0x7e as themselves ('&' as "&-"), each
 * stretch of other characters as one '&' run (above U+FFFF as surrogate pairs).
 * Returns a new string (caller g_free()s), or NULL with MH_IMAP_ERROR_USAGE when
 * @utf8 is not valid UTF-8. */
char *mh_imap_utf7_encode(const char *utf8, GError **error);

/* Decodes modified UTF-7 @utf7 to UTF-8. Returns a new string (caller g_free()s), or
 * NULL with MH_IMAP_ERROR_PROTOCOL on an invalid encoding: an unclosed '&' run,
 * base64 outside the modified alphabet, a run ending inside a UTF-16 unit or with
 * non-zero padding bits, an encoded printable ASCII character or NUL, a raw byte
 * outside 0x20-0x7e, an unpaired surrogate, or a run directly after another run
 * ("&AOk-&AOk-": the encoder writes one run, "&AOkA6Q-"; Dovecot rejects it too).
 * Only the canonical spelling is accepted, so decode and encode are exact inverses.
 * The message is one line naming the problem and its byte offset. */
char *mh_imap_utf7_decode(const char *utf7, GError **error);

/* Returns whether @s is valid modified UTF-7 (what a server sends without UTF8=ACCEPT). */
bool mh_imap_utf7_valid(const char *s);

#endif
