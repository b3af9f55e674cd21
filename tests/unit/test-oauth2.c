/* SPDX-License-Identifier: MIT */
/* OAuth2 client pieces without a server: token answers and error mapping, PKCE (RFC 7636
 * appendix B), base64url, RS256 JWTs checked with the public key, authorization URLs,
 * redirect and paste parsing, the loopback listener over a real socket, the http://
 * policy, and grants and device polling through a scripted transport and a fake clock. */
#include "mh-secret.h"
#include "oauth2.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOW 1700000000

/* Scripted transport: answers in order, records the last URL and form. */
struct script {
	const char *const *bodies; /* "STATUS BODY" */
	size_t n, next;
	char *last_url;
	char *last_form;
	GPtrArray *forms;
};

static bool
script_send(const char *url, const char *form, struct mh_oauth2_http_response *resp_r, void *ctx,
            GError **error)
{
	struct script *s = ctx;
	const char *line, *body;

	g_free(s->last_url);
	s->last_url = g_strdup(url);
	g_free(s->last_form);
	s->last_form = g_strdup(form);
	if (s->forms != NULL)
		g_ptr_array_add(s->forms, g_strdup(form));
	if (s->next >= s->n) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER, "script exhausted");
		return false;
	}
	line = s->bodies[s->next++];
	resp_r->status = (long)g_ascii_strtoll(line, (char **)&body, 10);
	body++;
	resp_r->body = mh_secret_strdup(body);
	resp_r->len = strlen(body);
	return true;
}

static void
script_clear(struct script *s)
{
	g_free(s->last_url);
	g_free(s->last_form);
	if (s->forms != NULL)
		g_ptr_array_unref(s->forms);
}

static struct mh_oauth2_client
script_client(struct script *s)
{
	struct mh_oauth2_client c = {
		.token_url = "https://auth.example/token",
		.auth_url = "https://auth.example/authorize",
		.device_url = "https://auth.example/device",
		.revoke_url = "https://auth.example/revoke",
		.client_id = "cid",
		.scopes = "https://mail.google.com/ offline_access",
		.transport = script_send,
		.transport_ctx = s,
	};
	return c;
}

static void
test_token_full(void)
{
	static const char body[] =
		"{\"access_token\":\"at1\",\"refresh_token\":\"rt1\","
		"\"expires_in\":3599,\"scope\":\"s1 s2\",\"token_type\":\"Bearer\"}";
	g_autoptr(mh_oauth2_token) t = mh_oauth2_token_new();
	g_autoptr(GError) error = NULL;

	g_assert_true(mh_oauth2_token_parse(body, strlen(body), 200, NOW, NULL, t, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(t->access_token, ==, "at1");
	g_assert_cmpstr(t->refresh_token, ==, "rt1");
	g_assert_cmpint(t->expires_at, ==, NOW + 3599);
	g_assert_cmpstr(t->scope, ==, "s1 s2");
	g_assert_cmpstr(t->token_type, ==, "Bearer");
}

static void
test_token_keeps_refresh(void)
{
	static const char body[] = "{\"access_token\":\"at2\",\"token_type\":\"bearer\"}";
	g_autoptr(mh_oauth2_token) t = mh_oauth2_token_new();

	t->access_token = mh_secret_strdup("old");
	t->refresh_token = mh_secret_strdup("rt-old");
	t->expires_at = 5;
	g_assert_true(mh_oauth2_token_parse(body, strlen(body), 200, NOW, NULL, t, NULL));
	g_assert_cmpstr(t->access_token, ==, "at2");
	g_assert_cmpstr(t->refresh_token, ==, "rt-old");
	g_assert_cmpint(t->expires_at, ==, 0); /* no expires_in: unknown */
	g_assert_null(t->scope);
}

static void
test_token_expires_string(void)
{
	static const char body[] = "{\"access_token\":\"a\",\"expires_in\":\"3600\"}";
	g_autoptr(mh_oauth2_token) t = mh_oauth2_token_new();

	static const char huge[] = "{\"access_token\":\"a\",\"expires_in\":99999999999999999999}";

	g_assert_true(mh_oauth2_token_parse(body, strlen(body), 200, NOW, NULL, t, NULL));
	g_assert_cmpint(t->expires_at, ==, NOW + 3600);
	/* Found by the fuzzer: now + expires_in overflowed. Out of range means unknown. */
	g_assert_true(mh_oauth2_token_parse(huge, strlen(huge), 200, NOW, NULL, t, NULL));
	g_assert_cmpint(t->expires_at, ==, 0);
}

static void
check_error(const char *body, long status, int code, const char *msg)
{
	g_autoptr(mh_oauth2_token) t = mh_oauth2_token_new();
	g_autoptr(GError) error = NULL;

	t->access_token = mh_secret_strdup("keep");
	g_assert_false(
		mh_oauth2_token_parse(body, strlen(body), status, NOW, "gmail:a@b.c", t, &error));
	g_assert_error(error, MH_AUTH_ERROR, code);
	if (msg != NULL)
		g_assert_cmpstr(error->message, ==, msg);
	g_assert_cmpstr(t->access_token, ==, "keep");
}

static void
test_token_errors(void)
{
	check_error("{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired "
	            "or revoked.\"}",
	            400, MH_AUTH_ERROR_DENIED,
	            "the sign-in has expired or was revoked: run `mailhaul login gmail:a@b.c` "
	            "again (invalid_grant: Token has been expired or revoked.)");
	check_error("{\"error\":\"access_denied\"}", 400, MH_AUTH_ERROR_DENIED, NULL);
	check_error("{\"error\":\"expired_token\"}", 400, MH_AUTH_ERROR_TOKEN_EXPIRED, NULL);
	check_error("{\"error\":\"invalid_scope\",\"error_description\":\"Invalid device flow "
	            "scope\"}",
	            400, MH_AUTH_ERROR_PROVIDER, NULL);
	check_error("{\"error\":\"invalid_client\"}", 401, MH_AUTH_ERROR_PROVIDER,
	            "the provider does not accept this client: check `client-id` and "
	            "`client-secret` (invalid_client)");
	check_error("{\"error\":\"unauthorized_client\",\"error_description\":\"Unauthorized "
	            "client or scope in request.\"}",
	            400, MH_AUTH_ERROR_PROVIDER, NULL);
	check_error("{\"error\":\"x\",\"error_description\":\"a\\nb\"}", 400,
	            MH_AUTH_ERROR_PROVIDER, "the token endpoint refused the request (x: a b)");
	check_error("<html>bad gateway</html>", 502, MH_AUTH_ERROR_PROVIDER,
	            "the token endpoint answered HTTP 502 without a JSON object");
	check_error("{\"access_token\":\"a\"}", 500, MH_AUTH_ERROR_PROVIDER, NULL);
	check_error("{\"token_type\":\"Bearer\"}", 200, MH_AUTH_ERROR_PROVIDER, NULL);
	check_error("{\"access_token\":\"a\",\"token_type\":\"mac\"}", 200, MH_AUTH_ERROR_PROVIDER,
	            NULL);
	check_error("{\"access_token\":\"a\\u0001b\"}", 200, MH_AUTH_ERROR_PROVIDER, NULL);
	check_error("[1,2]", 200, MH_AUTH_ERROR_PROVIDER, NULL);
	check_error("{\"access_token\":\"a\"} trailing", 200, MH_AUTH_ERROR_PROVIDER, NULL);
}

static void
test_error_messages(void)
{
	const char *codes[] = {"invalid_scope", "invalid_client", "unauthorized_client",
	                       "access_denied", "expired_token",  "invalid_request"};

	for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
		g_autofree char *m = mh_oauth2_error_message(codes[i], NULL, "m365:x");

		g_assert_nonnull(strstr(m, codes[i]));
		g_assert_null(strstr(m, "endpoint refused")); /* each has its own hint */
	}
	g_assert_cmpint(mh_oauth2_error_code("invalid_grant"), ==, MH_AUTH_ERROR_DENIED);
	g_assert_cmpint(mh_oauth2_error_code("server_error"), ==, MH_AUTH_ERROR_PROVIDER);
}

static void
test_pkce_rfc7636(void)
{
	g_autofree char *c =
		mh_oauth2_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
	char *v = mh_oauth2_pkce_verifier_new(NULL);
	char *v2 = mh_oauth2_pkce_verifier_new(NULL);

	/* RFC 7636 appendix B; the value is printed there as
	 * E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM. */
	g_assert_cmpstr(c, ==, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
	g_assert_cmpuint(strlen(v), ==, 43);
	g_assert_cmpuint(strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	                           "-._~"),
	                 ==, 43);
	g_assert_cmpstr(v, !=, v2);
	mh_secret_free(v);
	mh_secret_free(v2);
}

static void
test_base64url(void)
{
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
	static const guint8 bin[] = {0xfb, 0xff, 0xbf};

	for (size_t i = 0; i < G_N_ELEMENTS(in); i++) {
		g_autofree char *e = mh_oauth2_base64url_encode(in[i], strlen(in[i]));
		g_autofree guint8 *d = NULL;
		size_t len = 99;

		g_assert_cmpstr(e, ==, out[i]);
		d = mh_oauth2_base64url_decode(e, &len);
		g_assert_nonnull(d);
		g_assert_cmpmem(d, len, in[i], strlen(in[i]));
	}
	g_autofree char *e = mh_oauth2_base64url_encode(bin, sizeof(bin));
	g_assert_cmpstr(e, ==, "-_-_");
	size_t len;
	g_assert_null(mh_oauth2_base64url_decode("ab+/", &len));
	g_assert_null(mh_oauth2_base64url_decode("abcde", &len));
}

static char *
rsa_pem(EVP_PKEY **key_r)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	char *pem;

	g_assert_nonnull(key);
	g_assert_cmpint(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), ==, 1);
	len = BIO_get_mem_data(bio, &data);
	pem = g_strndup(data, (gsize)len);
	BIO_free(bio);
	*key_r = key;
	return pem;
}

static char *
b64url_text(const char *s, size_t len)
{
	g_autofree char *part = g_strndup(s, len);
	size_t n = 0;
	guint8 *d = mh_oauth2_base64url_decode(part, &n);
	char *text;

	g_assert_nonnull(d);
	text = g_strndup((char *)d, n);
	g_free(d);
	return text;
}

static void
check_jwt(const char *jwt, EVP_PKEY *key, const char *claims_expected)
{
	const char *dot1 = strchr(jwt, '.'), *dot2 = strrchr(jwt, '.');
	g_autofree char *header = NULL, *claims = NULL;
	g_autofree guint8 *sig = NULL;
	size_t sig_len = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	g_assert_nonnull(dot1);
	g_assert_true(dot2 > dot1);
	g_assert_null(strchr(jwt, '='));
	header = b64url_text(jwt, (size_t)(dot1 - jwt));
	claims = b64url_text(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	g_assert_cmpstr(header, ==, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
	g_assert_cmpstr(claims, ==, claims_expected);
	sig = mh_oauth2_base64url_decode(dot2 + 1, &sig_len);
	g_assert_cmpuint(sig_len, ==, 256);
	g_assert_cmpint(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), ==, 1);
	g_assert_cmpint(
		EVP_DigestVerify(md, sig, sig_len, (const guint8 *)jwt, (size_t)(dot2 - jwt)), ==,
		1);
	/* A changed claim no longer verifies. */
	g_assert_cmpint(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), ==, 1);
	g_assert_cmpint(
		EVP_DigestVerify(md, sig, sig_len, (const guint8 *)jwt, (size_t)(dot2 - jwt) - 1),
		!=, 1);
	EVP_MD_CTX_free(md);
}

static void
test_jwt_rs256(void)
{
	EVP_PKEY *key = NULL;
	g_autofree char *pem = rsa_pem(&key);
	g_autoptr(GError) error = NULL;
	char *jwt;

	jwt = mh_oauth2_jwt_build(pem, "sa@p.iam.gserviceaccount.com", "alice@example.com",
	                          "https://mail.google.com/", "https://oauth2.googleapis.com/token",
	                          NOW, 7200, &error);
	g_assert_no_error(error);
	check_jwt(jwt, key,
	          "{\"iss\":\"sa@p.iam.gserviceaccount.com\",\"sub\":\"alice@example.com\","
	          "\"scope\":\"https://mail.google.com/\",\"aud\":\"https://oauth2.googleapis.com/"
	          "token\",\"iat\":1700000000,\"exp\":1700003600}");
	mh_secret_free(jwt);
	g_assert_null(mh_oauth2_jwt_build("not a key", "i", NULL, NULL, "a", NOW, 60, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
	EVP_PKEY_free(key);
}

static void
test_jwt_bearer_grant(void)
{
	const char *answers[] = {"200 {\"access_token\":\"sa-at\",\"expires_in\":3600}"};
	struct script s = {.bodies = answers, .n = 1};
	EVP_PKEY *key = NULL;
	g_autofree char *pem = rsa_pem(&key);
	g_autofree char *esc = g_strescape(pem, NULL);
	g_autofree char *json = g_strdup_printf(
		"{\"type\":\"service_account\",\"client_email\":\"sa@p.iam\",\"private_key\":\"%s\","
		"\"token_uri\":\"https://oauth2.example/token\"}",
		esc);
	g_autoptr(mh_oauth2_sa_key) k = mh_oauth2_sa_key_parse(json, strlen(json), NULL);
	struct mh_oauth2_client c = script_client(&s);
	g_autoptr(mh_oauth2_token) t = NULL;
	g_autoptr(GError) error = NULL;
	const char *prefix = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
			     "&assertion=";

	g_assert_nonnull(k);
	g_assert_cmpstr(k->client_email, ==, "sa@p.iam");
	g_assert_cmpstr(k->token_uri, ==, "https://oauth2.example/token");
	c.token_url = NULL; /* falls back to the key's token_uri, also the aud */
	c.scopes = "https://mail.google.com/";
	t = mh_oauth2_jwt_bearer(&c, k, "bob@example.com", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(t->access_token, ==, "sa-at");
	g_assert_cmpstr(s.last_url, ==, "https://oauth2.example/token");
	g_assert_true(g_str_has_prefix(s.last_form, prefix));
	g_assert_nonnull(strstr(s.last_form + strlen(prefix), "."));
	g_assert_null(mh_oauth2_sa_key_parse("{\"client_email\":\"x\"}", 20, &error) != NULL
	                      ? (void *)1
	                      : NULL);
	EVP_PKEY_free(key);
	script_clear(&s);
}

static void
test_authcode_url(void)
{
	struct mh_oauth2_client c = {.auth_url = "https://auth.example/authorize",
	                             .client_id = "cid 1",
	                             .scopes = "https://mail.google.com/ offline_access"};
	g_autofree char *url =
		mh_oauth2_authcode_url(&c, "http://127.0.0.1:4321/", "st",
	                               "E9Melhoa2OwvFA6ZFOsPbn-Htt2Zd5FCeRrFtHzdJaY", NULL);
	g_autoptr(GError) error = NULL;

	g_assert_cmpstr(url, ==,
	                "https://auth.example/authorize?response_type=code&client_id=cid%201"
	                "&redirect_uri=http%3A%2F%2F127.0.0.1%3A4321%2F"
	                "&scope=https%3A%2F%2Fmail.google.com%2F%20offline_access&state=st"
	                "&code_challenge=E9Melhoa2OwvFA6ZFOsPbn-Htt2Zd5FCeRrFtHzdJaY"
	                "&code_challenge_method=S256");
	c.auth_url = NULL;
	g_assert_null(mh_oauth2_authcode_url(&c, "x", "s", "c", &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
}

static void
test_redirect_parse(void)
{
	g_autoptr(GError) error = NULL;
	char *code;

	code = mh_oauth2_redirect_parse("http://127.0.0.1:5/?state=s1&code=4%2F0Ab-x&scope=a+b",
	                                "s1", NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(code, ==, "4/0Ab-x");
	mh_secret_free(code);
	code = mh_oauth2_redirect_parse("4/0Ab-x", "s1", NULL, &error);
	g_assert_cmpstr(code, ==, "4/0Ab-x");
	mh_secret_free(code);
	g_assert_null(mh_oauth2_redirect_parse("http://127.0.0.1:5/?code=c&state=s2", "s1", NULL,
	                                       &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL);
	g_clear_error(&error);
	g_assert_null(mh_oauth2_redirect_parse("/?code=c", "s1", NULL, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL);
	g_clear_error(&error);
	g_assert_null(
		mh_oauth2_redirect_parse("/?error=access_denied&state=s1", "s1", "a:b", &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED);
	g_clear_error(&error);
	g_assert_null(mh_oauth2_redirect_parse("not a code", "s1", NULL, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
}

static void
test_paste_read(void)
{
	static const char input[] = "  http://127.0.0.1:9/?code=pc&state=zz \nrest";
	g_autoptr(GInputStream) in =
		g_memory_input_stream_new_from_data(input, strlen(input), NULL);
	g_autoptr(GError) error = NULL;
	char *code = mh_oauth2_paste_read(in, "zz", NULL, &error);
	char rest[8] = "";

	g_assert_no_error(error);
	g_assert_cmpstr(code, ==, "pc");
	mh_secret_free(code);
	g_assert_cmpint(g_input_stream_read(in, rest, 4, NULL, NULL), ==, 4);
	g_assert_cmpstr(rest, ==, "rest");
}

static int
connect_send(guint16 port, const char *request)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_assert_cmpint(write(fd, request, strlen(request)), ==, (gssize)strlen(request));
	return fd;
}

static char *
read_all(int fd)
{
	GString *s = g_string_new(NULL);
	char buf[512];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(s, buf, n);
	close(fd);
	return g_string_free(s, FALSE);
}

static void
test_loopback_code(void)
{
	g_autoptr(mh_oauth2_loopback) l = mh_oauth2_loopback_new(NULL, NULL);
	g_autofree char *uri = NULL, *answer1 = NULL, *answer2 = NULL;
	g_autoptr(GError) error = NULL;
	int fd0, fd1, fd2;
	gint64 start = g_get_monotonic_time();
	char *code;

	g_assert_nonnull(l);
	uri = g_strdup_printf("http://127.0.0.1:%u/", mh_oauth2_loopback_port(l));
	g_assert_cmpstr(mh_oauth2_loopback_redirect_uri(l), ==, uri);
	/* Queued in the backlog before we accept: an idle speculative connection, a favicon
	 * fetch, then the redirect. The idle one must not hold up the others. */
	fd0 = connect_send(mh_oauth2_loopback_port(l), "");
	fd1 = connect_send(mh_oauth2_loopback_port(l),
	                   "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n");
	fd2 = connect_send(mh_oauth2_loopback_port(l),
	                   "GET /?code=abc&state=xyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	code = mh_oauth2_loopback_wait(l, "xyz", 5, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(code, ==, "abc");
	g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);
	mh_secret_free(code);
	close(fd0);
	answer1 = read_all(fd1);
	answer2 = read_all(fd2);
	g_assert_true(g_str_has_prefix(answer1, "HTTP/1.1 404 "));
	g_assert_true(g_str_has_prefix(answer2, "HTTP/1.1 200 OK\r\n"));
	g_assert_nonnull(strstr(answer2, "You can close this window"));
}

static void
test_loopback_wrong_state(void)
{
	g_autoptr(mh_oauth2_loopback) l = mh_oauth2_loopback_new("localhost", NULL);
	g_autoptr(GError) error = NULL;
	g_autofree char *answer = NULL;
	int fd;

	g_assert_true(g_str_has_prefix(mh_oauth2_loopback_redirect_uri(l), "http://localhost:"));
	fd = connect_send(mh_oauth2_loopback_port(l), "GET /?code=abc&state=evil HTTP/1.1\r\n\r\n");
	g_assert_null(mh_oauth2_loopback_wait(l, "xyz", 5, NULL, NULL, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL);
	answer = read_all(fd);
	g_assert_true(g_str_has_prefix(answer, "HTTP/1.1 400 "));
}

static void
test_loopback_timeout(void)
{
	g_autoptr(mh_oauth2_loopback) l = mh_oauth2_loopback_new(NULL, NULL);
	g_autoptr(GError) error = NULL;

	g_assert_null(mh_oauth2_loopback_wait(l, "xyz", 1, NULL, "gmail:a", &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED);
	g_assert_nonnull(strstr(error->message, "within 1 s"));
	g_assert_null(mh_oauth2_loopback_new("example.com", NULL));
}

static void
test_loopback_paste(void)
{
	g_autoptr(mh_oauth2_loopback) l = mh_oauth2_loopback_new(NULL, NULL);
	g_autoptr(GInputStream) in = g_memory_input_stream_new_from_data("4/pasted\n", -1, NULL);
	g_autoptr(GError) error = NULL;
	char *code;

	/* The browser never comes (SSH); the user pastes the code on the terminal. */
	code = mh_oauth2_loopback_wait(l, "xyz", 5, in, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(code, ==, "4/pasted");
	mh_secret_free(code);
}

static void
test_loopback_localhost_v6(void)
{
	g_autoptr(mh_oauth2_loopback) l = mh_oauth2_loopback_new("localhost", NULL);
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	static const char req[] = "GET /?state=s&code=v6 HTTP/1.1\r\n\r\n";
	g_autoptr(GError) error = NULL;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	char *code;

	sa.sin6_port = htons(mh_oauth2_loopback_port(l));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (fd >= 0)
			close(fd);
		g_test_skip("no IPv6 loopback here");
		return;
	}
	g_assert_cmpint(write(fd, req, strlen(req)), ==, (gssize)strlen(req));
	code = mh_oauth2_loopback_wait(l, "s", 5, NULL, NULL, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(code, ==, "v6");
	mh_secret_free(code);
	g_free(read_all(fd));
}

static void
test_http_policy(void)
{
	const char *ok[] = {"https://oauth2.googleapis.com/token", "http://127.0.0.1:8080/token",
	                    "http://127.1.2.3/t", "http://localhost:3000/token",
	                    "http://[::1]:9/t"};
	const char *bad[] = {"http://example.com/token", "http://127.0.0.1.nip.io/t",
	                     "http://10.0.0.1/t", "ftp://127.0.0.1/t", "not a url"};
	struct mh_oauth2_client c = {.token_url = "http://auth.example/token", .client_id = "c"};
	g_autoptr(mh_oauth2_token) t = mh_oauth2_token_new();
	g_autoptr(GError) error = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(ok); i++)
		g_assert_true(mh_oauth2_url_allowed(ok[i], NULL));
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_false(mh_oauth2_url_allowed(bad[i], &error));
		g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
		g_clear_error(&error);
	}
	g_assert_false(mh_oauth2_url_allowed("http://example.com/token", &error));
	g_assert_cmpstr(error->message, ==,
	                "refusing http:// to example.com: OAuth2 endpoints need https:// (plain "
	                "http is allowed only on loopback addresses)");
	g_clear_error(&error);
	/* The real transport refuses before connecting: no network needed. */
	t->refresh_token = mh_secret_strdup("rt");
	g_assert_false(mh_oauth2_refresh(&c, t, NULL, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
}

static void
test_form_build(void)
{
	const char *keys[] = {"a", "skip", "b c", "d"};
	const char *values[] = {"x&y=z", NULL, "~._-", "\xc3\xa9/"};
	char *form = mh_oauth2_form_build(keys, values, G_N_ELEMENTS(keys));

	g_assert_cmpstr(form, ==, "a=x%26y%3Dz&b%20c=~._-&d=%C3%A9%2F");
	mh_secret_free(form);
}

static void
test_refresh_grant(void)
{
	const char *answers[] = {
		"200 {\"access_token\":\"at-new\",\"expires_in\":60}",
		"200 {\"access_token\":\"at-3\",\"refresh_token\":\"rt-rotated\"}",
		"400 {\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired or "
		"revoked.\"}",
	};
	struct script s = {.bodies = answers, .n = 3};
	struct mh_oauth2_client c = script_client(&s);
	g_autoptr(mh_oauth2_token) t = mh_oauth2_token_new();
	g_autoptr(GError) error = NULL;

	c.client_secret = "sec";
	t->access_token = mh_secret_strdup("at-old");
	t->refresh_token = mh_secret_strdup("rt/1");
	g_assert_true(mh_oauth2_refresh(&c, t, "gmail:a", &error));
	g_assert_cmpstr(s.last_url, ==, "https://auth.example/token");
	g_assert_cmpstr(
		s.last_form, ==,
		"grant_type=refresh_token&refresh_token=rt%2F1&client_id=cid&client_secret=sec");
	g_assert_cmpstr(t->access_token, ==, "at-new");
	g_assert_cmpstr(t->refresh_token, ==, "rt/1");
	g_assert_true(mh_oauth2_refresh(&c, t, "gmail:a", &error));
	g_assert_cmpstr(t->refresh_token, ==, "rt-rotated");
	g_assert_false(mh_oauth2_refresh(&c, t, "gmail:a", &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED);
	g_assert_nonnull(strstr(error->message, "`mailhaul login gmail:a`"));
	g_assert_cmpstr(t->access_token, ==, "at-3");
	script_clear(&s);
}

static void
test_client_credentials_and_revoke(void)
{
	const char *answers[] = {"200 {\"access_token\":\"app\",\"token_type\":\"Bearer\"}", "200 ",
	                         "503 {\"error\":\"temporarily_unavailable\"}"};
	struct script s = {.bodies = answers, .n = 3};
	struct mh_oauth2_client c = script_client(&s);
	g_autoptr(mh_oauth2_token) t = NULL;
	g_autoptr(GError) error = NULL;

	c.scopes = "https://outlook.office365.com/.default";
	g_assert_null(mh_oauth2_client_credentials(&c, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
	g_clear_error(&error);
	c.client_secret = "s3";
	t = mh_oauth2_client_credentials(&c, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(t->access_token, ==, "app");
	g_assert_cmpstr(s.last_form, ==,
	                "grant_type=client_credentials&client_id=cid&client_secret=s3"
	                "&scope=https%3A%2F%2Foutlook.office365.com%2F.default");
	g_assert_true(mh_oauth2_revoke(&c, "rt", "refresh_token", &error));
	g_assert_cmpstr(s.last_url, ==, "https://auth.example/revoke");
	g_assert_cmpstr(s.last_form, ==,
	                "token=rt&token_type_hint=refresh_token&client_id=cid&client_secret=s3");
	g_assert_false(mh_oauth2_revoke(&c, "rt", NULL, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER);
	g_clear_error(&error);
	c.revoke_url = NULL;
	g_assert_false(mh_oauth2_revoke(&c, "rt", NULL, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE);
	script_clear(&s);
}

static void
test_authcode_exchange(void)
{
	const char *answers[] = {"200 {\"access_token\":\"ac\",\"refresh_token\":\"rr\"}"};
	struct script s = {.bodies = answers, .n = 1};
	struct mh_oauth2_client c = script_client(&s);
	g_autoptr(mh_oauth2_token) t = NULL;

	c.client_secret = "GOCSPX-x";
	t = mh_oauth2_authcode_exchange(&c, "4/0A", "http://127.0.0.1:5555/",
	                                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", NULL, NULL);
	g_assert_nonnull(t);
	g_assert_cmpstr(s.last_form, ==,
	                "grant_type=authorization_code&code=4%2F0A"
	                "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5555%2F&client_id=cid"
	                "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	                "&client_secret=GOCSPX-x");
	script_clear(&s);
}

static void
capture_url(const char *url, void *ctx)
{
	*(char **)ctx = g_strdup(url);
}

static void
test_authcode_login_paste(void)
{
	const char *answers[] = {"200 {\"access_token\":\"pasted\"}"};
	struct script s = {.bodies = answers, .n = 1};
	struct mh_oauth2_client c = script_client(&s);
	g_autofree char *url = NULL, *state = NULL, *line = NULL, *redirect = NULL;
	g_autoptr(GInputStream) in = NULL;
	g_autoptr(mh_oauth2_token) t = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(GUri) uri = NULL;
	g_autoptr(GHashTable) q = NULL;

	/* The state is random: the stream is filled by a first run that only prints the URL. */
	in = g_memory_input_stream_new();
	struct mh_oauth2_authcode_opts o = {.mode = MH_OAUTH2_AUTHCODE_PASTE,
	                                    .show_url = capture_url,
	                                    .show_ctx = &url,
	                                    .paste_in = in};
	g_assert_null(mh_oauth2_authcode_login(&c, &o, &error));
	g_clear_error(&error);
	uri = g_uri_parse(url, G_URI_FLAGS_ENCODED_QUERY, NULL);
	q = g_uri_parse_params(g_uri_get_query(uri), -1, "&", G_URI_PARAMS_NONE, NULL);
	g_assert_cmpstr(g_hash_table_lookup(q, "code_challenge_method"), ==, "S256");
	redirect = g_strdup(g_hash_table_lookup(q, "redirect_uri"));
	g_assert_true(g_str_has_prefix(redirect, "http://127.0.0.1:"));
	state = g_strdup(g_hash_table_lookup(q, "state"));
	g_assert_cmpuint(strlen(state), ==, 22);
	/* A fresh run gets a fresh state, so a stale paste is refused. */
	line = g_strdup_printf("%s?code=cc&state=%s\n", redirect, state);
	g_memory_input_stream_add_data(G_MEMORY_INPUT_STREAM(in), g_strdup(line), -1, g_free);
	g_clear_pointer(&url, g_free);
	g_assert_null(mh_oauth2_authcode_login(&c, &o, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROTOCOL);
	g_clear_error(&error);
	/* A bare code has no state to check and is exchanged. */
	g_memory_input_stream_add_data(G_MEMORY_INPUT_STREAM(in), "cc\n", -1, NULL);
	g_clear_pointer(&url, g_free);
	t = mh_oauth2_authcode_login(&c, &o, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(t->access_token, ==, "pasted");
	g_assert_true(g_str_has_prefix(s.last_form,
	                               "grant_type=authorization_code&code=cc&redirect_"
	                               "uri=http%3A%2F%2F127.0.0.1%3A"));
	g_assert_nonnull(strstr(s.last_form, "&code_verifier="));
	script_clear(&s);
}

/* A clock that only moves when the flow sleeps. */
struct fake_clock {
	gint64 now;
	GString *sleeps;
};

static gint64
fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

static void
fake_sleep(unsigned seconds, void *ctx)
{
	struct fake_clock *fc = ctx;

	fc->now += seconds;
	g_string_append_printf(fc->sleeps, "%u,", seconds);
}

static void
show_code(const struct mh_oauth2_device_code *dc, void *ctx)
{
	*(char **)ctx = g_strdup_printf("%s %s", dc->verification_uri, dc->user_code);
}

static void
test_device_flow(void)
{
	const char *answers[] = {
		"200 {\"device_code\":\"dev-1\",\"user_code\":\"ABCD-EFGH\",\"verification_url\":"
		"\"https://www.google.com/device\",\"expires_in\":1800}",
		"400 {\"error\":\"authorization_pending\"}",
		"400 {\"error\":\"slow_down\"}",
		"400 {\"error\":\"authorization_pending\"}",
		"200 {\"access_token\":\"dev-at\",\"refresh_token\":\"dev-rt\",\"expires_in\":3600}",
	};
	struct script s = {.bodies = answers, .n = G_N_ELEMENTS(answers)};
	struct mh_oauth2_client c = script_client(&s);
	struct fake_clock fc = {.now = 1000, .sleeps = g_string_new(NULL)};
	g_autofree char *shown = NULL;
	struct mh_oauth2_device_opts o = {.show = show_code,
	                                  .show_ctx = &shown,
	                                  .clock = fake_now,
	                                  .sleep = fake_sleep,
	                                  .clock_ctx = &fc};
	g_autoptr(mh_oauth2_token) t = NULL;
	g_autoptr(GError) error = NULL;

	t = mh_oauth2_device_login(&c, &o, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(shown, ==, "https://www.google.com/device ABCD-EFGH");
	g_assert_cmpstr(t->access_token, ==, "dev-at");
	g_assert_cmpstr(fc.sleeps->str, ==, "5,5,10,10,");
	g_assert_cmpstr(s.last_form, ==,
	                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
	                "&device_code=dev-1&client_id=cid");
	g_string_free(fc.sleeps, TRUE);
	script_clear(&s);
}

static void
check_device_poll(const char *const *answers, size_t n, unsigned expires_in, int code,
                  const char *sleeps)
{
	struct script s = {.bodies = answers, .n = n};
	struct mh_oauth2_client c = script_client(&s);
	struct fake_clock fc = {.now = 0, .sleeps = g_string_new(NULL)};
	struct mh_oauth2_device_code dc = {
		.device_code = "d", .interval = 3, .expires_in = expires_in};
	struct mh_oauth2_device_opts o = {.clock = fake_now, .sleep = fake_sleep, .clock_ctx = &fc};
	g_autoptr(GError) error = NULL;

	g_assert_null(mh_oauth2_device_poll(&c, &dc, &o, &error));
	g_assert_error(error, MH_AUTH_ERROR, code);
	g_assert_cmpstr(fc.sleeps->str, ==, sleeps);
	g_string_free(fc.sleeps, TRUE);
	script_clear(&s);
}

static void
test_device_poll_ends(void)
{
	const char *pending[] = {"400 {\"error\":\"authorization_pending\"}",
	                         "400 {\"error\":\"authorization_pending\"}",
	                         "400 {\"error\":\"authorization_pending\"}"};
	const char *denied[] = {"400 {\"error\":\"authorization_pending\"}",
	                        "400 {\"error\":\"access_denied\"}"};
	const char *expired[] = {"400 {\"error\":\"expired_token\"}"};
	const char *broken[] = {"500 <html>"};

	check_device_poll(pending, 3, 10, MH_AUTH_ERROR_TOKEN_EXPIRED, "3,3,3,");
	check_device_poll(denied, 2, 900, MH_AUTH_ERROR_DENIED, "3,3,");
	check_device_poll(expired, 1, 900, MH_AUTH_ERROR_TOKEN_EXPIRED, "3,");
	check_device_poll(broken, 1, 900, MH_AUTH_ERROR_PROVIDER, "3,");
}

static void
test_device_start_errors(void)
{
	const char *answers[] = {
		"400 {\"error\":\"invalid_scope\",\"error_description\":\"Invalid "
		"device flow scope: https://mail.google.com/\"}",
		"200 {\"device_code\":\"d\",\"user_code\":\"u\",\"verification_uri\":"
		"\"https://microsoft.com/devicelogin\",\"interval\":7}"};
	struct script s = {.bodies = answers, .n = 2};
	struct mh_oauth2_client c = script_client(&s);
	g_autoptr(mh_oauth2_device_code) dc = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_null(mh_oauth2_device_start(&c, &error));
	g_assert_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_PROVIDER);
	g_assert_nonnull(strstr(error->message, "browser flow"));
	g_assert_cmpstr(s.last_form, ==,
	                "client_id=cid&scope=https%3A%2F%2Fmail.google.com%2F%20offline_access");
	dc = mh_oauth2_device_start(&c, NULL);
	g_assert_nonnull(dc);
	g_assert_cmpuint(dc->interval, ==, 7);
	g_assert_cmpuint(dc->expires_in, ==, 900);
	g_assert_null(dc->verification_uri_complete);
	script_clear(&s);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/oauth2/token/full", test_token_full);
	g_test_add_func("/oauth2/token/keeps-refresh-token", test_token_keeps_refresh);
	g_test_add_func("/oauth2/token/expires-in-string", test_token_expires_string);
	g_test_add_func("/oauth2/token/errors", test_token_errors);
	g_test_add_func("/oauth2/token/error-messages", test_error_messages);
	g_test_add_func("/oauth2/pkce/rfc7636-appendix-b", test_pkce_rfc7636);
	g_test_add_func("/oauth2/base64url", test_base64url);
	g_test_add_func("/oauth2/jwt/rs256-verifies", test_jwt_rs256);
	g_test_add_func("/oauth2/jwt/bearer-grant", test_jwt_bearer_grant);
	g_test_add_func("/oauth2/authcode/url", test_authcode_url);
	g_test_add_func("/oauth2/authcode/redirect-parse", test_redirect_parse);
	g_test_add_func("/oauth2/authcode/paste-read", test_paste_read);
	g_test_add_func("/oauth2/authcode/exchange-form", test_authcode_exchange);
	g_test_add_func("/oauth2/authcode/login-paste", test_authcode_login_paste);
	g_test_add_func("/oauth2/loopback/code", test_loopback_code);
	g_test_add_func("/oauth2/loopback/wrong-state", test_loopback_wrong_state);
	g_test_add_func("/oauth2/loopback/timeout", test_loopback_timeout);
	g_test_add_func("/oauth2/loopback/paste-instead", test_loopback_paste);
	g_test_add_func("/oauth2/loopback/localhost-ipv6", test_loopback_localhost_v6);
	g_test_add_func("/oauth2/http/loopback-only-plain-http", test_http_policy);
	g_test_add_func("/oauth2/http/form-build", test_form_build);
	g_test_add_func("/oauth2/grants/refresh", test_refresh_grant);
	g_test_add_func("/oauth2/grants/client-credentials-revoke",
	                test_client_credentials_and_revoke);
	g_test_add_func("/oauth2/device/flow", test_device_flow);
	g_test_add_func("/oauth2/device/poll-ends", test_device_poll_ends);
	g_test_add_func("/oauth2/device/start-errors", test_device_start_errors);
	return g_test_run();
}
