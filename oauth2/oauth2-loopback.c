/* SPDX-License-Identifier: MIT */
/* The loopback redirect listener of RFC 8252 §7.3: a socket on 127.0.0.1 with a port the
 * kernel picks, a minimal HTTP/1.x reader for the browser's GET /?code=..&state=.., and a
 * short answer page. Plain sockets and poll(), one request at a time, with a deadline. */
#include "oauth2-private.h"

#include "mh-secret.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OAUTH2_REQUEST_MAX 8192 /* the request line and headers we read */

struct mh_oauth2_loopback {
	int fds[2]; /* 127.0.0.1, and ::1 on the same port for "localhost" (or -1) */
	guint16 port;
	char *redirect_uri; /* owned */
};

#define OAUTH2_PASTE_TICK_MS 200 /* how often a pasted line is looked for */

static const char oauth2_page_ok[] =
	"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>mailhaul</title></head>"
	"<body><p>Signed in. You can close this window and return to mailhaul.</p></body></html>";
static const char oauth2_page_fail[] =
	"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>mailhaul</title></head>"
	"<body><p>The sign-in did not succeed; mailhaul says why. You can close this "
	"window.</p></body></html>";

static int
oauth2_loopback_listen(int family, guint16 port, guint16 *port_r)
{
	struct sockaddr_storage ss = {0};
	socklen_t len =
		family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (family == AF_INET) {
		struct sockaddr_in *sa = (struct sockaddr_in *)&ss;

		sa->sin_family = AF_INET;
		sa->sin_port = htons(port);
		sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&ss;

		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(port);
		sa->sin6_addr = in6addr_loopback;
		if (fd >= 0)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	*port_r = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

struct mh_oauth2_loopback *
mh_oauth2_loopback_new(const char *redirect_host, GError **error)
{
	const char *host = redirect_host != NULL ? redirect_host : "127.0.0.1";
	struct mh_oauth2_loopback *l;
	guint16 port = 0, port6 = 0;
	int fd;

	if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "localhost") != 0) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "redirect host %s: only 127.0.0.1 and localhost are supported", host);
		return NULL;
	}
	fd = oauth2_loopback_listen(AF_INET, 0, &port);
	if (fd < 0) {
		g_set_error(error, MH_AUTH_ERROR, MH_AUTH_ERROR_USAGE,
		            "cannot listen on 127.0.0.1 for the sign-in redirect: %s",
		            g_strerror(errno));
		return NULL;
	}
	l = g_new0(struct mh_oauth2_loopback, 1);
	l->fds[0] = fd;
	/* Browsers may resolve localhost to ::1 first; best effort, same port. */
	l->fds[1] = strcmp(host, "localhost") == 0 ? oauth2_loopback_listen(AF_INET6, port, &port6)
	                                           : -1;
	l->port = port;
	l->redirect_uri = g_strdup_printf("http://%s:%u/", host, l->port);
	return l;
}

const char *
mh_oauth2_loopback_redirect_uri(const struct mh_oauth2_loopback *l)
{
	return l->redirect_uri;
}

guint16
mh_oauth2_loopback_port(const struct mh_oauth2_loopback *l)
{
	return l->port;
}

void
oauth2_loopback_close(struct mh_oauth2_loopback *l)
{
	for (size_t i = 0; i < G_N_ELEMENTS(l->fds); i++) {
		if (l->fds[i] >= 0)
			close(l->fds[i]);
		l->fds[i] = -1;
	}
}

void
mh_oauth2_loopback_free(struct mh_oauth2_loopback *l)
{
	if (l == NULL)
		return;
	oauth2_loopback_close(l);
	g_free(l->redirect_uri);
	g_free(l);
}

static gint64
oauth2_loopback_ms_left(gint64 deadline)
{
	gint64 left = (deadline - g_get_monotonic_time()) / 1000;

	return MAX(left, 0);
}

/* Waits for @fd to be readable; false at the deadline. */
static bool
oauth2_loopback_poll(int fd, gint64 deadline)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int rc;

	do {
		rc = poll(&p, 1, (int)MIN(oauth2_loopback_ms_left(deadline), 60000));
	} while ((rc < 0 && errno == EINTR) || (rc == 0 && oauth2_loopback_ms_left(deadline) > 0));
	return rc > 0;
}

/* Whether a connection waits on a listener: a browser's idle speculative connection must
 * not hold up the real request behind it. */
static bool
oauth2_loopback_pending(const struct mh_oauth2_loopback *l)
{
	for (size_t i = 0; i < G_N_ELEMENTS(l->fds); i++) {
		struct pollfd p = {.fd = l->fds[i], .events = POLLIN};

		if (l->fds[i] >= 0 && poll(&p, 1, 0) > 0)
			return true;
	}
	return false;
}

/* Reads up to the end of the headers into @buf (a secret: it holds the code). Returns the
 * bytes read, 0 when the client sent nothing usable in time, or nothing before another
 * connection came. */
static size_t
oauth2_loopback_read(const struct mh_oauth2_loopback *l, int fd, char *buf, gint64 deadline)
{
	size_t len = 0;

	while (len < OAUTH2_REQUEST_MAX) {
		gint64 step = MIN(deadline, g_get_monotonic_time() + G_USEC_PER_SEC / 4);
		ssize_t n;

		if (!oauth2_loopback_poll(fd, step)) {
			if (g_get_monotonic_time() >= deadline ||
			    (len == 0 && oauth2_loopback_pending(l)))
				return 0;
			continue;
		}
		n = read(fd, buf + len, OAUTH2_REQUEST_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			break;
	}
	return len;
}

static void
oauth2_loopback_answer(int fd, int status, const char *reason, const char *page)
{
	g_autofree char *head = g_strdup_printf("HTTP/1.1 %d %s\r\nContent-Type: text/html; "
	                                        "charset=utf-8\r\nContent-Length: %zu\r\n"
	                                        "Cache-Control: no-store\r\n"
	                                        "Connection: close\r\n\r\n",
	                                        status, reason, strlen(page));
	g_autofree char *all = g_strconcat(head, page, NULL);
	size_t off = 0, len = strlen(all);

	while (off < len) {
		ssize_t n = send(fd, all + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

/* Handles one connection: 1 = done (*code_r or *error set), 0 = not the redirect. */
static int
oauth2_loopback_handle(const struct mh_oauth2_loopback *l, int fd, const char *state,
                       const char *account, char **code_r, GError **error)
{
	char *buf = mh_secret_alloc(OAUTH2_REQUEST_MAX);
	size_t len = oauth2_loopback_read(l, fd, buf, g_get_monotonic_time() + 10 * G_USEC_PER_SEC);
	char *target, *end;
	int rc = 0;

	if (len == 0 || strncmp(buf, "GET ", 4) != 0)
		goto not_ours;
	target = buf + 4;
	end = strpbrk(target, " \r\n");
	if (end == NULL)
		goto not_ours;
	*end = '\0';
	if (target[0] != '/' || strchr(target, '?') == NULL ||
	    (strstr(target, "code=") == NULL && strstr(target, "error=") == NULL))
		goto not_ours;
	*code_r = mh_oauth2_redirect_parse(target, state, account, error);
	oauth2_loopback_answer(fd, *code_r != NULL ? 200 : 400,
	                       *code_r != NULL ? "OK" : "Bad Request",
	                       *code_r != NULL ? oauth2_page_ok : oauth2_page_fail);
	rc = 1;
	goto out;
not_ours:
	oauth2_loopback_answer(fd, 404, "Not Found", oauth2_page_fail);
out:
	mh_secret_free(buf);
	return rc;
}

/* Waits for a connection on a listener (returns its fd) or, when @paste is set, for a
 * pasted line (returns -2; looked for every tick); -1 at the deadline. */
static int
oauth2_loopback_next(struct mh_oauth2_loopback *l, GPollableInputStream *paste, gint64 deadline)
{
	struct pollfd p[2];
	nfds_t n = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(l->fds); i++)
		if (l->fds[i] >= 0)
			p[n++] = (struct pollfd){.fd = l->fds[i], .events = POLLIN};
	for (;;) {
		gint64 left = oauth2_loopback_ms_left(deadline);
		int rc;

		if (paste != NULL && g_pollable_input_stream_is_readable(paste))
			return -2;
		if (left <= 0)
			return -1;
		rc = poll(p, n, (int)MIN(left, paste != NULL ? OAUTH2_PASTE_TICK_MS : 60000));
		for (nfds_t i = 0; rc > 0 && i < n; i++)
			if (p[i].revents & POLLIN)
				return p[i].fd;
	}
}

char *
mh_oauth2_loopback_wait(struct mh_oauth2_loopback *l, const char *state, unsigned timeout_s,
                        GInputStream *paste_in, const char *account, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
	GPollableInputStream *paste =
		paste_in != NULL && G_IS_POLLABLE_INPUT_STREAM(paste_in) &&
				g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(paste_in))
			? G_POLLABLE_INPUT_STREAM(paste_in)
			: NULL;
	char *code = NULL;

	for (;;) {
		int lfd = oauth2_loopback_next(l, paste, deadline), fd, rc;

		if (lfd == -2)
			return mh_oauth2_paste_read(paste_in, state, account, error);
		if (lfd < 0) {
			g_set_error(
				error, MH_AUTH_ERROR, MH_AUTH_ERROR_DENIED,
				"no answer from the browser within %u s: run `mailhaul login %s` "
				"again (or use --flow paste)",
				timeout_s, account != NULL ? account : "ACCOUNT");
			return NULL;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		rc = oauth2_loopback_handle(l, fd, state, account, &code, error);
		close(fd);
		if (rc == 1)
			return code;
	}
}
