/* SPDX-License-Identifier: MIT */
/* What XOAUTH2 and OAUTHBEARER share: the step machine around the initial response and
 * the server's error report, a JSON challenge (RFC 7628 section 3.2.2; Google's and
 * Microsoft's XOAUTH2 pages), answered so that the server can finish with a tagged NO
 * (section 3.2.3), and turned into a one-line message for the user. */
#include "sasl-private.h"

#include <json-c/json.h>
#include <string.h>

#define SASL_OAUTH_REPORT_MAX 8192 /* bytes of error report we parse; more is not JSON to us */
#define SASL_OAUTH_FIELD_MAX  120  /* characters of a server string we put in a message */

enum sasl_oauth_step {
	SASL_OAUTH_INIT = 0, /* nothing sent; an empty challenge may ask for the response */
	SASL_OAUTH_SENT,     /* initial response sent: a tagged result or an error report follows */
	SASL_OAUTH_REPORTED, /* error report received, answer not yet sent */
	SASL_OAUTH_ANSWERED, /* answer sent: only the tagged NO may follow */
};

bool
mh_sasl_oauth_check_value(const char *what, const char *value, GError **error)
{
	if (strpbrk(value, "\001\r\n") == NULL)
		return true;
	g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
	            "the %s contains a control character (0x01, CR or LF) that XOAUTH2 and "
	            "OAUTHBEARER cannot carry",
	            what);
	return false;
}

static char *
sasl_oauth_member(struct json_object *root, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(root, key, &v))
		return NULL;
	if (json_object_is_type(v, json_type_string))
		return g_strndup(json_object_get_string(v), json_object_get_string_len(v));
	if (json_object_is_type(v, json_type_int))
		return g_strdup_printf("%" G_GINT64_FORMAT, (gint64)json_object_get_int64(v));
	return NULL;
}

static bool
sasl_oauth_only_space(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!g_ascii_isspace(p[i]))
			return false;
	}
	return true;
}

/* An empty or oversized report, one with a NUL, with trailing bytes, or not an object
 * gives a report with json false: the exchange still completes. */
static struct mh_sasl_oauth_error *
sasl_oauth_report_parse(const unsigned char *data, size_t len)
{
	struct mh_sasl_oauth_error *r = g_new0(struct mh_sasl_oauth_error, 1);
	struct json_tokener *tok;
	struct json_object *root;
	size_t end;

	if (len == 0 || len > SASL_OAUTH_REPORT_MAX || memchr(data, '\0', len) != NULL)
		return r;
	tok = json_tokener_new();
	root = json_tokener_parse_ex(tok, (const char *)data, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (root != NULL && json_tokener_get_error(tok) == json_tokener_success && end <= len &&
	    sasl_oauth_only_space(data + end, len - end) &&
	    json_object_is_type(root, json_type_object)) {
		r->json = true;
		r->status = sasl_oauth_member(root, "status");
		r->schemes = sasl_oauth_member(root, "schemes");
		r->scope = sasl_oauth_member(root, "scope");
	}
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}

void
mh_sasl_oauth_error_free(struct mh_sasl_oauth_error *report)
{
	if (report == NULL)
		return;
	g_free(report->status);
	g_free(report->schemes);
	g_free(report->scope);
	g_free(report);
}

bool
mh_sasl_oauth_input(struct mh_sasl_client *c, const unsigned char *data, size_t len, GError **error)
{
	switch (c->step) {
	case SASL_OAUTH_INIT:
		if (len > 0)
			return mh_sasl_protocol_error(
				c, error,
				"server sent a non-empty challenge before the initial response");
		/* An empty challenge: the server does not do SASL-IR and asks for the response. */
		return true;
	case SASL_OAUTH_SENT:
		c->report = sasl_oauth_report_parse(data, len);
		c->step = SASL_OAUTH_REPORTED;
		return true;
	case SASL_OAUTH_REPORTED:
		return mh_sasl_protocol_error(c, error,
		                              "challenge received before the last reply was sent");
	default:
		return mh_sasl_protocol_error(c, error, "server sent a second error report");
	}
}

bool
mh_sasl_oauth_output(struct mh_sasl_client *c, void (*build_initial)(struct mh_sasl_client *c),
                     const char *answer, size_t answer_len, GError **error)
{
	switch (c->step) {
	case SASL_OAUTH_INIT:
		build_initial(c);
		c->step = SASL_OAUTH_SENT;
		return true;
	case SASL_OAUTH_REPORTED:
		memcpy(mh_sasl_client_set_output(c, answer_len), answer, answer_len);
		c->step = SASL_OAUTH_ANSWERED;
		return true;
	case SASL_OAUTH_SENT:
		return mh_sasl_protocol_error(c, error, "the initial response was already sent");
	default:
		return mh_sasl_protocol_error(c, error, "the error report was already answered");
	}
}

/* Server text for a one-line message: valid UTF-8, no control or line-separator
 * characters, at most SASL_OAUTH_FIELD_MAX characters. */
static char *
sasl_oauth_clean(const char *s)
{
	g_autofree char *valid = g_utf8_make_valid(s, -1);
	GString *out = g_string_new(NULL);
	unsigned n = 0;

	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar ch = g_utf8_get_char(p);

		if (n++ == SASL_OAUTH_FIELD_MAX) {
			g_string_append(out, "...");
			break;
		}
		if (g_unichar_iscntrl(ch) || ch == 0x2028 || ch == 0x2029)
			g_string_append_c(out, '?');
		else
			g_string_append_unichar(out, ch);
	}
	return g_string_free(out, FALSE);
}

static char *
sasl_oauth_message(const struct mh_sasl_oauth_error *r)
{
	g_autofree char *status = r->status != NULL ? sasl_oauth_clean(r->status) : NULL;
	g_autofree char *scope = r->scope != NULL ? sasl_oauth_clean(r->scope) : NULL;
	const char *what = "the server rejected the access token";

	if (!r->json)
		return g_strdup_printf("%s (its error report is not valid JSON)", what);
	if (status != NULL && g_ascii_strcasecmp(status, "insufficient_scope") == 0)
		what = "the access token does not grant the scope the server requires";
	if (status != NULL && scope != NULL)
		return g_strdup_printf("%s (status %s, scope %s)", what, status, scope);
	if (status != NULL)
		return g_strdup_printf("%s (status %s)", what, status);
	if (scope != NULL)
		return g_strdup_printf("%s (scope %s)", what, scope);
	return g_strdup(what);
}

bool
mh_sasl_client_error(const struct mh_sasl_client *c, char **status_r, char **message_r)
{
	const struct mh_sasl_oauth_error *r;

	g_return_val_if_fail(c != NULL, false);

	r = c->report;
	if (status_r != NULL)
		*status_r = r != NULL && r->status != NULL ? sasl_oauth_clean(r->status) : NULL;
	if (message_r != NULL)
		*message_r = r != NULL ? sasl_oauth_message(r) : NULL;
	return r != NULL;
}

bool
mh_sasl_client_token_expired(const struct mh_sasl_client *c)
{
	const char *status;

	g_return_val_if_fail(c != NULL, false);

	if (c->report == NULL || c->report->status == NULL)
		return false;
	status = c->report->status;
	return strcmp(status, "401") == 0 || g_ascii_strcasecmp(status, "invalid_token") == 0;
}
