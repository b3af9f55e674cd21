/* SPDX-License-Identifier: MIT */
/* Buffers for secrets (passwords, tokens, SASL payloads): allocated once at their
 * final size, wiped with explicit_bzero when freed. Never build a secret in a
 * growing buffer: a realloc leaves copies behind. */
#ifndef MH_SECRET_H
#define MH_SECRET_H

#include <stddef.h>

/* Returns @len zeroed bytes plus one NUL byte after them; free with mh_secret_free(). */
void *mh_secret_alloc(size_t len);

/* Returns a secret copy of the NUL-terminated @s; free with mh_secret_free(). */
char *mh_secret_strdup(const char *s);

/* Returns a secret copy of @len bytes of @s, NUL-terminated; free with mh_secret_free(). */
char *mh_secret_strndup(const char *s, size_t len);

/* Returns the usable length of a buffer from mh_secret_alloc(). */
size_t mh_secret_len(const void *p);

/* Wipes and frees a buffer from mh_secret_alloc(); NULL is allowed. */
void mh_secret_free(void *p);

/* Wipes @len bytes at @p in a way the compiler cannot drop. */
void mh_secret_wipe(void *p, size_t len);

#endif
