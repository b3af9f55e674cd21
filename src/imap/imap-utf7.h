/* SPDX-License-Identifier: MIT */
/* Modified UTF-7 mailbox names (RFC 3501 section 5.1.3), both ways. */
#ifndef MH_IMAP_UTF7_H
#define MH_IMAP_UTF7_H

#include <glib.h>
#include <stdbool.h>

/* Encodes UTF-8 @utf8 as modified UTF-7. Returns a new string (caller g_free()s), or
 * NULL with MH_IMAP_ERROR_USAGE when @utf8 is not valid UTF-8. */
char *mh_imap_utf7_encode(const char *utf8, GError **error);

/* Decodes modified UTF-7 @utf7 to UTF-8. Returns a new string (caller g_free()s), or
 * NULL with MH_IMAP_ERROR_PROTOCOL on an invalid encoding: an unclosed '&' run,
 * base64 outside the modified alphabet, non-zero padding bits, an encoded printable
 * ASCII character, a raw non-ASCII byte, or an unpaired surrogate. */
char *mh_imap_utf7_decode(const char *utf7, GError **error);

/* Returns whether @s is valid modified UTF-7 (what a server sends without UTF8=ACCEPT). */
bool mh_imap_utf7_valid(const char *s);

#endif
