/* SPDX-License-Identifier: MIT */
/* imap-driver's output: one JSON object per line on stdout. An object is begun with
 * out_begin("op"), given fields with out_*() and printed by out_end(). */
#ifndef MH_IMAP_DRIVER_JSON_H
#define MH_IMAP_DRIVER_JSON_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

void json_string(GString *s, const char *str);
GString *out_begin(const char *op);
void out_key(GString *s, const char *key);
void out_str(GString *s, const char *key, const char *val);
void out_num(GString *s, const char *key, uint64_t val);
void out_bool(GString *s, const char *key, bool val);
/* An array of @n strings (n < 0: NULL-terminated). */
void out_strv(GString *s, const char *key, const char *const *v, gssize n);
/* Prints the object and frees @s. */
void out_end(GString *s);
/* The name of an MH_IMAP_ERROR code ("NO"), "OTHER" for another domain. */
const char *error_code_name(const GError *error);
/* domain, code, code_name and message of @error. */
void out_error_fields(GString *s, const GError *error);
/* Prints the "error" object for the operation @at and frees @error; also to stderr
 * unless it was tried. Returns @tried: whether the run goes on. */
bool report_error(const char *at, bool tried, GError *error);

#endif
