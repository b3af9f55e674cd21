/* SPDX-License-Identifier: MIT */
/* Device authorization grant (RFC 8628): ask for a device and user code (§3.1-3.2), let
 * the caller show it, then poll the token endpoint (§3.4-3.5) at the interval, slowing
 * down by 5 seconds on slow_down, until approval, refusal or expiry. */
#include "oauth2-private.h"

#include "mh-log.h"
#include "mh-secret.h"

#include <string.h>

#define OAUTH2_DEVICE_GRANT         "urn:ietf:params:oauth:grant-type:device_code"
#define OAUTH2_DEVICE_INTERVAL      5
#define OAUTH2_DEVICE_EXPIRES       900
#define OAUTH2_DEVICE_SLOW_DOWN_ADD 5

void
mh_oauth2_device_code_free(struct mh_oauth2_device_code *dc)
{
	if (dc == NULL)
		return;
	mh_secret_free(dc->device_code);
	g_free(dc->user_code);
	g_free(dc->verification_uri);
	g_free(dc->verification_uri_complete);
	g_free(dc);
}

static unsigned
oauth2_device_uint(json_object *obj, const char *key, unsigned def, unsigned max)
{
	gint64 v;

	if (!oauth2_json_uint(obj, key, &v) || v == 0)
		return def;
	return (unsigned)MIN(v, (gint64)max);
}

static struct mh_oauth2_device_code *
oauth2_device_code_parse(const struct mh_oauth2_http_response *resp, GError **error)
{
	struct mh_oauth2_device_code *dc = NULL;
	const char *device_code, *user_code, *uri, *err;
	json_object *obj;

	obj = oauth2_json_parse(resp->body, resp->len, error);
	if (obj == NULL) {
		g_prefix_error(error, "device authorization endpoint (HTTP %ld): ", resp->status);
		return NULL;
	}
	err = oauth2_json_string(obj, "error");
	device_code = oauth2_json_string(obj, "device_code");
	user_code = oauth2_json_string(obj, "user_code");
	uri = oauth2_json_string(obj, "verification_uri");
	if (uri == NULL) /* Google's older spelling */
		uri = oauth2_json_string(obj, "verification_url");
	if (err != NULL) {
		g_autofree char *msg = mh_oauth2_error_message(
			err, oauth2_json_string(obj, "error_description"), NULL);

		g_set_error_literal(error, MH_AUTH_ERROR, mh_oauth2_error_code(err), msg);
	} else if (resp->status < 200 || resp->status > 299 || device_code == NULL ||
	           user_code == NULL || uri == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER,
		            "the device authorization endpoint answered HTTP %ld without a code",
		            resp->status);
	} else {
		dc = g_new0(struct mh_oauth2_device_code, 1);
		dc->device_code = mh_secret_strdup(device_code);
		dc->user_code = g_strdup(user_code);
		dc->verification_uri = g_strdup(uri);
		dc->verification_uri_complete =
			g_strdup(oauth2_json_string(obj, "verification_uri_complete"));
		dc->interval = oauth2_device_uint(obj, "interval", OAUTH2_DEVICE_INTERVAL, 300);
		dc->expires_in =
			oauth2_device_uint(obj, "expires_in", OAUTH2_DEVICE_EXPIRES, 86400);
	}
	json_object_put(obj);
	return dc;
}

struct mh_oauth2_device_code *
mh_oauth2_device_start(const struct mh_oauth2_client *c, GError **error)
{
	const char *keys[] = {"client_id", "scope"};
	const char *values[] = {c->client_id, c->scopes};
	struct mh_oauth2_http_response resp;
	struct mh_oauth2_device_code *dc;
	char *form;
	bool ok;

	if (c->device_url == NULL || c->client_id == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            c->device_url == NULL
		                    ? "this provider has no device authorization endpoint"
		                    : "no client id configured");
		return NULL;
	}
	form = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));
	ok = oauth2_send(c, c->device_url, form, &resp, error);
	mh_secret_free(form);
	if (!ok)
		return NULL;
	dc = oauth2_device_code_parse(&resp, error);
	mh_secret_free(resp.body);
	return dc;
}

static gint64
oauth2_device_clock(void *ctx)
{
	(void)ctx;
	return g_get_monotonic_time() / G_USEC_PER_SEC;
}

static void
oauth2_device_sleep(unsigned seconds, void *ctx)
{
	(void)ctx;
	g_usleep((gulong)seconds * G_USEC_PER_SEC);
}

/* One poll: 1 = token granted, 0 = keep polling (*interval updated), -1 = failed. */
static int
oauth2_device_poll_once(const struct mh_oauth2_client *c, const char *form, const char *account,
                        struct mh_oauth2_token *token, unsigned *interval, GError **error)
{
	g_autofree char *server_error = NULL;
	GError *local = NULL;

	if (oauth2_token_request(c, c->token_url, form, account, token, &server_error, &local))
		return 1;
	if (g_strcmp0(server_error, "authorization_pending") == 0) {
		g_error_free(local);
		return 0;
	}
	if (g_strcmp0(server_error, "slow_down") == 0) {
		g_error_free(local);
		*interval += OAUTH2_DEVICE_SLOW_DOWN_ADD;
		mh_log_debug(MH_LOG_CAT_AUTH, "device flow: slow_down, polling every %u s",
		             *interval);
		return 0;
	}
	g_propagate_error(error, local);
	return -1;
}

struct mh_oauth2_token *
mh_oauth2_device_poll(const struct mh_oauth2_client *c, const struct mh_oauth2_device_code *dc,
                      const struct mh_oauth2_device_opts *opts, GError **error)
{
	static const struct mh_oauth2_device_opts defaults = {0};
	const char *keys[] = {"grant_type", "device_code", "client_id", "client_secret"};
	const char *values[] = {OAUTH2_DEVICE_GRANT, dc->device_code, c->client_id,
	                        c->client_secret};
	struct mh_oauth2_token *token = mh_oauth2_token_new();
	mh_oauth2_clock_cb *clock;
	mh_oauth2_sleep_cb *sleep_fn;
	unsigned interval = dc->interval > 0 ? dc->interval : OAUTH2_DEVICE_INTERVAL;
	gint64 deadline;
	char *form;
	int rc = 0;

	if (opts == NULL)
		opts = &defaults;
	clock = opts->clock != NULL ? opts->clock : oauth2_device_clock;
	sleep_fn = opts->sleep != NULL ? opts->sleep : oauth2_device_sleep;
	deadline = clock(opts->clock_ctx) + (dc->expires_in > 0 ? dc->expires_in : 900);
	form = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));
	while (rc == 0) {
		if (clock(opts->clock_ctx) + interval > deadline) {
			g_autofree char *msg =
				mh_oauth2_error_message("expired_token", NULL, opts->account);

			g_set_error_literal(error, MH_AUTH_ERROR, MH_AUTH_ERROR_TOKEN_EXPIRED, msg);
			rc = -1;
			break;
		}
		sleep_fn(interval, opts->clock_ctx);
		rc = oauth2_device_poll_once(c, form, opts->account, token, &interval, error);
	}
	mh_secret_free(form);
	if (rc < 0)
		g_clear_pointer(&token, mh_oauth2_token_free);
	return token;
}

struct mh_oauth2_token *
mh_oauth2_device_login(const struct mh_oauth2_client *c, const struct mh_oauth2_device_opts *opts,
                       GError **error)
{
	g_autoptr(mh_oauth2_device_code) dc = mh_oauth2_device_start(c, error);

	if (dc == NULL)
		return NULL;
	if (opts != NULL && opts->show != NULL)
		opts->show(dc, opts->show_ctx);
	return mh_oauth2_device_poll(c, dc, opts, error);
}
