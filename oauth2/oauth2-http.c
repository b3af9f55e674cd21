/* SPDX-License-Identifier: MIT */
/* HTTP to OAuth2 endpoints with libcurl: form POSTs and GETs with timeouts, certificate
 * checks always on, http:// only to loopback hosts (RFC 8252 §8.3 spirit: tests), a capped
 * answer held in a secret buffer, and logs of method, URL without query and status. */
#include "oauth2-private.h"

#include "mh-log.h"
#include "mh-secret.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <string.h>

static bool
oauth2_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	g_autofree char *h = g_strdup(host);
	size_t len = strlen(h);

	if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
		h[len - 1] = '\0';
		memmove(h, h + 1, len - 1);
	}
	if (g_ascii_strcasecmp(h, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

bool
mh_oauth2_url_allowed(const char *url, GError **error)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (url == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE, "not a valid URL: %s",
		            url != NULL ? url : "(none)");
		goto out;
	}
	if (g_ascii_strcasecmp(scheme, "https") == 0)
		ok = true;
	else if (g_ascii_strcasecmp(scheme, "http") == 0 && oauth2_host_is_loopback(host))
		ok = true;
	else if (g_ascii_strcasecmp(scheme, "http") == 0)
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "refusing http:// to %s: OAuth2 endpoints need https:// (plain http "
		            "is allowed only on loopback addresses)",
		            host);
	else
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "unsupported URL scheme %s: OAuth2 endpoints need https://", scheme);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

static bool
oauth2_form_unreserved(guchar c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static size_t
oauth2_form_encoded_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += oauth2_form_unreserved((guchar)*s) ? 1 : 3;
	return n;
}

static char *
oauth2_form_encode_to(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		guchar c = (guchar)*s;

		if (oauth2_form_unreserved(c)) {
			*out++ = (char)c;
			continue;
		}
		*out++ = '%';
		*out++ = hex[c >> 4];
		*out++ = hex[c & 15];
	}
	return out;
}

char *
mh_oauth2_form_build(const char *const *keys, const char *const *values, size_t n)
{
	size_t len = 0, i;
	char *form, *p;

	/* Sized first, then filled: the form holds secrets and must never be reallocated. */
	for (i = 0; i < n; i++) {
		if (values[i] == NULL)
			continue;
		len += (len > 0 ? 1 : 0) + oauth2_form_encoded_len(keys[i]) + 1 +
		       oauth2_form_encoded_len(values[i]);
	}
	form = p = mh_secret_alloc(len);
	for (i = 0; i < n; i++) {
		if (values[i] == NULL)
			continue;
		if (p != form)
			*p++ = '&';
		p = oauth2_form_encode_to(p, keys[i]);
		*p++ = '=';
		p = oauth2_form_encode_to(p, values[i]);
	}
	g_assert((size_t)(p - form) == len);
	return form;
}

struct oauth2_body {
	char *buf; /* mh_secret of OAUTH2_BODY_MAX */
	size_t len;
	bool too_big;
};

static size_t
oauth2_http_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct oauth2_body *b = ctx;
	size_t n = size * nmemb;

	if (n > OAUTH2_BODY_MAX - b->len) {
		b->too_big = true;
		return 0;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return n;
}

static bool
oauth2_header_sensitive(const char *line, size_t len)
{
	static const char *const names[] = {
		"authorization:", "proxy-authorization:", "cookie:", "set-cookie:"};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		size_t n = strlen(names[i]);

		if (len >= n && g_ascii_strncasecmp(line, names[i], n) == 0)
			return true;
	}
	return false;
}

/* Headers and curl's own notes only; bodies (CURLINFO_DATA_*, SSL data) never. */
static int
oauth2_http_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
	const char *dir = type == CURLINFO_HEADER_OUT  ? "> "
	                  : type == CURLINFO_HEADER_IN ? "< "
	                                               : "* ";
	const char *p = data, *end = data + size;

	(void)h;
	(void)ctx;
	if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (type == CURLINFO_HEADER_OUT && memchr(p, '?', len) != NULL)
			mh_log_debug(MH_LOG_CAT_HTTP, "%s%.*s?<query redacted>", dir,
			             (int)((const char *)memchr(p, '?', len) - p), p);
		else if (len > 0 && oauth2_header_sensitive(p, len))
			mh_log_debug(MH_LOG_CAT_HTTP, "%s%.*s <redacted>", dir,
			             (int)(strchr(p, ':') - p + 1), p);
		else if (len > 0)
			mh_log_debug(MH_LOG_CAT_HTTP, "%s%.*s", dir, (int)MIN(len, 512), p);
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

static char *
oauth2_url_for_log(const char *url)
{
	size_t n = strcspn(url, "?#");

	return g_strndup(url, n);
}

static void
oauth2_curl_init_once(void)
{
	static gsize done;

	if (g_once_init_enter(&done)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&done, 1);
	}
}

static void
oauth2_curl_setup(CURL *h, const char *url, const char *form, long timeout,
                  struct oauth2_body *body, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, MIN(timeout, 15L));
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mailhaul");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, oauth2_http_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	if (form != NULL) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
	}
	if (mh_log_enabled(MH_LOG_CAT_HTTP)) {
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, oauth2_http_debug);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	}
}

bool
mh_oauth2_http_send(const char *url, const char *form, struct mh_oauth2_http_response *resp_r,
                    void *ctx, GError **error)
{
	const unsigned *timeout_s = ctx;
	long timeout = timeout_s != NULL && *timeout_s > 0 ? (long)*timeout_s : 30L;
	g_autofree char *log_url = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct oauth2_body body = {0};
	struct curl_slist *headers = NULL;
	CURLcode rc;
	CURL *h;

	if (!mh_oauth2_url_allowed(url, error))
		return false;
	oauth2_curl_init_once();
	log_url = oauth2_url_for_log(url);
	h = curl_easy_init();
	body.buf = mh_secret_alloc(OAUTH2_BODY_MAX);
	headers = curl_slist_append(headers, "Accept: application/json");
	oauth2_curl_setup(h, url, form, timeout, &body, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		mh_log_debug(MH_LOG_CAT_HTTP, "%s %s failed: %s", form ? "POST" : "GET", log_url,
		             curl_easy_strerror(rc));
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER, "%s %s: %s",
		            form ? "POST" : "GET", log_url,
		            body.too_big        ? "the answer is too large"
		            : errbuf[0] != '\0' ? errbuf
		                                : curl_easy_strerror(rc));
		mh_secret_free(body.buf);
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp_r->status);
		mh_log_debug(MH_LOG_CAT_HTTP, "%s %s -> %ld", form ? "POST" : "GET", log_url,
		             resp_r->status);
		resp_r->body = body.buf;
		resp_r->len = body.len;
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return rc == CURLE_OK;
}

bool
oauth2_send(const struct mh_oauth2_client *c, const char *url, const char *form,
            struct mh_oauth2_http_response *resp_r, GError **error)
{
	memset(resp_r, 0, sizeof(*resp_r));
	if (!mh_oauth2_url_allowed(url, error))
		return false;
	if (c->transport != NULL)
		return c->transport(url, form, resp_r, c->transport_ctx, error);
	return mh_oauth2_http_send(url, form, resp_r, (void *)&c->timeout_s, error);
}

bool
oauth2_token_request(const struct mh_oauth2_client *c, const char *url, const char *form,
                     const char *account, struct mh_oauth2_token *token, char **server_error_r,
                     GError **error)
{
	struct mh_oauth2_http_response resp;
	bool ok;

	if (url == NULL) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "no token endpoint configured");
		return false;
	}
	if (!oauth2_send(c, url, form, &resp, error))
		return false;
	ok = oauth2_token_parse_full(resp.body, resp.len, resp.status, oauth2_now(), account, token,
	                             server_error_r, error);
	mh_secret_free(resp.body);
	return ok;
}
