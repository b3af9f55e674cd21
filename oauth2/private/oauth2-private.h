/* SPDX-License-Identifier: MIT */
/* Helpers shared by the oauth2-*.c files only. */
#ifndef MH_OAUTH2_PRIVATE_H
#define MH_OAUTH2_PRIVATE_H

#include "oauth2.h"

#include <json-c/json.h>

/* Largest HTTP answer or JSON document we read (curl dynbuf-style cap). */
#define OAUTH2_BODY_MAX (64 * 1024)

/* Sends @form (or a GET when NULL) to @url through c->transport or libcurl, after
 * mh_oauth2_url_allowed(). */
bool oauth2_send(const struct mh_oauth2_client *c, const char *url, const char *form,
                 struct mh_oauth2_http_response *resp_r, GError **error);

/* POSTs @form to the token endpoint @url and parses the token answer into @token. When
 * the server answers with an error body, *server_error_r (if not NULL) gets a new copy of
 * its "error" value (caller g_free()s). */
bool oauth2_token_request(const struct mh_oauth2_client *c, const char *url, const char *form,
                          const char *account, struct mh_oauth2_token *token, char **server_error_r,
                          GError **error);

/* Like mh_oauth2_token_parse(), also returning the server's "error" value. */
bool oauth2_token_parse_full(const char *body, size_t len, long status, gint64 now,
                             const char *account, struct mh_oauth2_token *token,
                             char **server_error_r, GError **error);

/* Parses @len bytes of JSON into an object; NULL with MH_AUTH_ERROR_PROVIDER. */
json_object *oauth2_json_parse(const char *body, size_t len, GError **error);

/* Returns the string member @key of @obj (borrowed), or NULL. */
const char *oauth2_json_string(json_object *obj, const char *key);

/* Reads a non-negative integer member (number or decimal string) into *value_r. */
bool oauth2_json_uint(json_object *obj, const char *key, gint64 *value_r);

/* Encodes @len bytes as base64url without padding into @out (room for
 * OAUTH2_B64URL_LEN(len) + 1 bytes); returns the length written. */
#define OAUTH2_B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))
size_t oauth2_b64url_encode_to(const guint8 *in, size_t len, char *out);

/* Closes the listening sockets; the redirect URI stays valid. */
void oauth2_loopback_close(struct mh_oauth2_loopback *l);

/* Returns the seconds of the wall clock (Unix time). */
gint64 oauth2_now(void);

#endif
