/* SPDX-License-Identifier: MIT */
/* Sockets and TLS for the IMAP client: name resolution (IPv4 and IPv6), connect with a
 * timeout, OpenSSL with chain and host name verification (RFC 6125 via
 * X509_VERIFY_PARAM), SNI, TLS 1.2 minimum, non-blocking reads and writes. */
#include "imap-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mh-log.h"

static bool
net_addr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

static int
net_connect_one(const struct addrinfo *ai, unsigned timeout_ms, int *errno_r)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	                ai->ai_protocol);
	struct pollfd pfd;
	int err = 0;
	socklen_t errlen = sizeof(err);
	int ret;

	if (fd < 0) {
		*errno_r = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*errno_r = errno;
		close(fd);
		return -1;
	}
	pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
	do
		ret = poll(&pfd, 1, (int)timeout_ms);
	while (ret < 0 && errno == EINTR);
	if (ret == 0) {
		*errno_r = ETIMEDOUT;
		close(fd);
		return -1;
	}
	if (ret < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 || err != 0) {
		*errno_r = ret < 0 ? errno : err;
		close(fd);
		return -1;
	}
	return fd;
}

bool
imap_net_connect(struct imap_net *net, const char *host, uint16_t port, unsigned timeout_ms,
                 GError **error)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
	struct addrinfo *res = NULL;
	char service[8];
	int last_errno = 0;
	int one = 1;
	int rc;

	g_snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_RESOLVE,
		            "cannot resolve host name %s: %s", host, gai_strerror(rc));
		return false;
	}
	net->fd = -1;
	for (const struct addrinfo *ai = res; ai != NULL && net->fd < 0; ai = ai->ai_next) {
		char addr[INET6_ADDRSTRLEN] = "?";

		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0,
		            NI_NUMERICHOST);
		mh_log_debug(MH_LOG_CAT_IMAP, "connecting to %s port %u", addr, port);
		net->fd = net_connect_one(ai, timeout_ms, &last_errno);
		if (net->fd >= 0) {
			net->loopback = net_addr_is_loopback(ai->ai_addr);
			g_strlcpy(net->peer, addr, sizeof(net->peer));
		}
	}
	freeaddrinfo(res);
	if (net->fd < 0) {
		g_set_error(error, MH_IMAP_ERROR,
		            last_errno == ETIMEDOUT ? MH_IMAP_ERROR_TIMEOUT : MH_IMAP_ERROR_CONNECT,
		            "cannot connect to %s port %u: %s", host, port,
		            last_errno == ETIMEDOUT ? "connection timed out"
		                                    : g_strerror(last_errno));
		return false;
	}
	setsockopt(net->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return true;
}

static bool
net_is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* The reason of the last OpenSSL error, never NULL. */
static const char *
net_ssl_reason(void)
{
	const char *why = ERR_reason_error_string(ERR_get_error());

	ERR_clear_error();
	return why != NULL ? why : "unknown error";
}

static bool
net_setup_ctx(struct imap_net *net, const char *cafile, bool insecure, GError **error)
{
	net->ctx = SSL_CTX_new(TLS_client_method());
	if (net->ctx == NULL) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS, "cannot set up TLS: %s",
		            net_ssl_reason());
		return false;
	}
	SSL_CTX_set_min_proto_version(net->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(net->ctx,
	                 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (insecure) {
		SSL_CTX_set_verify(net->ctx, SSL_VERIFY_NONE, NULL);
		return true;
	}
	SSL_CTX_set_verify(net->ctx, SSL_VERIFY_PEER, NULL);
	if (cafile != NULL) {
		if (!g_file_test(cafile, G_FILE_TEST_IS_REGULAR)) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
			            "cannot load CA certificates from %s: no such file", cafile);
			return false;
		}
		if (SSL_CTX_load_verify_locations(net->ctx, cafile, NULL) != 1) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
			            "cannot load CA certificates from %s: %s", cafile,
			            net_ssl_reason());
			return false;
		}
	} else if (SSL_CTX_set_default_verify_paths(net->ctx) != 1) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
		            "cannot load the system's trusted certificates");
		return false;
	}
	return true;
}

static bool
net_setup_ssl(struct imap_net *net, const char *host, bool insecure, GError **error)
{
	bool ip = net_is_ip_literal(host);

	net->ssl = SSL_new(net->ctx);
	if (net->ssl == NULL || SSL_set_fd(net->ssl, net->fd) != 1) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS, "cannot set up TLS");
		return false;
	}
	if (!ip)
		SSL_set_tlsext_host_name(net->ssl, host);
	if (insecure)
		return true;
	if (ip) {
		X509_VERIFY_PARAM *param = SSL_get0_param(net->ssl);

		X509_VERIFY_PARAM_set1_ip_asc(param, host);
	} else {
		SSL_set_hostflags(net->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(net->ssl, host);
	}
	return true;
}

static void
net_set_verify_error(struct imap_net *net, const char *host, GError **error)
{
	long v = SSL_get_verify_result(net->ssl);
	const char *why = X509_verify_cert_error_string(v);

	switch (v) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
		            "the certificate of %s does not match the host name %s: connect "
		            "with a name the certificate lists, or --insecure to skip the check",
		            host, host);
		return;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
		            "the certificate of %s is not trusted (%s): pass its CA with "
		            "--cafile FILE, or --insecure to skip the check",
		            host, why);
		return;
	default:
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
		            "the certificate of %s is not valid (%s): pass its CA with --cafile "
		            "FILE, or --insecure to skip the check",
		            host, why);
	}
}

static bool
net_handshake_failed(struct imap_net *net, const char *host, int rc, GError **error)
{
	unsigned long e = ERR_peek_error();

	if (SSL_get_verify_result(net->ssl) != X509_V_OK) {
		net_set_verify_error(net, host, error);
	} else if (e != 0) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
		            "TLS handshake with %s failed: %s", host,
		            ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e)
		                                               : "unknown error");
	} else if (SSL_get_error(net->ssl, rc) == SSL_ERROR_SYSCALL) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS,
		            "TLS handshake with %s failed: the server closed the connection "
		            "(is this port really TLS? try --tls or --ssl)",
		            host);
	} else {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TLS, "TLS handshake with %s failed",
		            host);
	}
	ERR_clear_error();
	return false;
}

bool
imap_net_start_tls(struct imap_net *net, const char *host, bool insecure, const char *cafile,
                   unsigned timeout_ms, GError **error)
{
	if (!net_setup_ctx(net, cafile, insecure, error) ||
	    !net_setup_ssl(net, host, insecure, error))
		return false;
	for (;;) {
		int rc = SSL_connect(net->ssl);
		int want;
		int ready;

		if (rc == 1)
			break;
		want = SSL_get_error(net->ssl, rc);
		if (want != SSL_ERROR_WANT_READ && want != SSL_ERROR_WANT_WRITE)
			return net_handshake_failed(net, host, rc, error);
		ready = imap_net_poll(net, want == SSL_ERROR_WANT_WRITE, timeout_ms, error);
		if (ready < 0)
			return false;
		if (ready == 0) {
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_TIMEOUT,
			            "TLS handshake with %s timed out", host);
			return false;
		}
	}
	mh_log_debug(MH_LOG_CAT_IMAP, "TLS established with %s: %s, %s", host,
	             SSL_get_version(net->ssl), SSL_get_cipher_name(net->ssl));
	return true;
}

static gssize
net_raw_read(struct imap_net *net, void *buf, size_t len, GError **error)
{
	ssize_t n;

	net->read_wants_write = false;
	if (net->ssl != NULL) {
		size_t got = 0;
		int rc = SSL_read_ex(net->ssl, buf, len, &got);

		if (rc == 1)
			return (gssize)got;
		switch (SSL_get_error(net->ssl, rc)) {
		case SSL_ERROR_WANT_READ:
			return 0;
		case SSL_ERROR_WANT_WRITE:
			net->read_wants_write = true;
			return 0;
		case SSL_ERROR_ZERO_RETURN:
			break;
		default:
			ERR_clear_error();
			break;
		}
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED,
		            "the server closed the connection");
		return -1;
	}
	do
		n = read(net->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED, "%s",
	            n == 0 ? "the server closed the connection" : g_strerror(errno));
	return -1;
}

static gssize
net_raw_write(struct imap_net *net, const void *buf, size_t len, GError **error)
{
	ssize_t n;

	if (net->ssl != NULL) {
		size_t done = 0;
		int rc = SSL_write_ex(net->ssl, buf, len, &done);

		if (rc == 1)
			return (gssize)done;
		switch (SSL_get_error(net->ssl, rc)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return 0;
		default:
			ERR_clear_error();
			g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED,
			            "the connection broke while sending");
			return -1;
		}
	}
	do
		n = send(net->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED,
	            "the connection broke while sending: %s", g_strerror(errno));
	return -1;
}

/* --- COMPRESS=DEFLATE (RFC 4978) --- */

#define ZIN_SIZE (64 * 1024)

bool
imap_net_start_compress(struct imap_net *net, const void *pending, size_t len, GError **error)
{
	memset(&net->zin, 0, sizeof(net->zin));
	memset(&net->zout, 0, sizeof(net->zout));
	if (inflateInit2(&net->zin, -15) != Z_OK) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL, "cannot start inflate");
		return false;
	}
	if (deflateInit2(&net->zout, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
	                 Z_DEFAULT_STRATEGY) != Z_OK) {
		inflateEnd(&net->zin);
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL, "cannot start deflate");
		return false;
	}
	net->zin_buf = g_malloc(MAX(ZIN_SIZE, len));
	memcpy(net->zin_buf, pending, len);
	net->zin.next_in = net->zin_buf;
	net->zin.avail_in = (uInt)len;
	net->compress = true;
	return true;
}

/* Writes what deflate produced and is still waiting; false on a broken connection. */
static bool
net_zflush(struct imap_net *net, GError **error)
{
	while (net->zout_pos < net->zout_len) {
		gssize n = net_raw_write(net, net->zout_buf + net->zout_pos,
		                         net->zout_len - net->zout_pos, error);

		if (n < 0)
			return false;
		if (n == 0)
			return true;
		net->zout_pos += (size_t)n;
	}
	net->zout_pos = net->zout_len = 0;
	return true;
}

bool
imap_net_has_output(const struct imap_net *net)
{
	return net->compress && net->zout_pos < net->zout_len;
}

static gssize
net_z_write(struct imap_net *net, const void *buf, size_t len, GError **error)
{
	size_t need;

	if (!net_zflush(net, error))
		return -1;
	if (net->zout_pos < net->zout_len || len == 0)
		return 0;
	need = deflateBound(&net->zout, len) + 64;
	if (need > net->zout_cap) {
		g_free(net->zout_buf);
		net->zout_buf = g_malloc(need);
		net->zout_cap = need;
	}
	net->zout.next_in = (Bytef *)buf;
	net->zout.avail_in = (uInt)len;
	net->zout.next_out = net->zout_buf;
	net->zout.avail_out = (uInt)net->zout_cap;
	if (deflate(&net->zout, Z_SYNC_FLUSH) != Z_OK || net->zout.avail_in != 0) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL, "deflate failed");
		return -1;
	}
	net->zout_len = net->zout_cap - net->zout.avail_out;
	net->zout_pos = 0;
	return net_zflush(net, error) ? (gssize)len : -1;
}

static gssize
net_z_read(struct imap_net *net, void *buf, size_t len, GError **error)
{
	for (;;) {
		size_t produced;
		uInt before;
		int rc;

		if (net->zin.avail_in == 0 && !net->zin_full) {
			gssize n = net_raw_read(net, net->zin_buf, ZIN_SIZE, error);

			if (n <= 0)
				return n;
			net->zin.next_in = net->zin_buf;
			net->zin.avail_in = (uInt)n;
		}
		before = net->zin.avail_in;
		net->zin.next_out = buf;
		net->zin.avail_out = (uInt)len;
		rc = inflate(&net->zin, Z_SYNC_FLUSH);
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			g_set_error(
				error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
				"protocol error: the compressed stream from the server is corrupt");
			return -1;
		}
		produced = len - net->zin.avail_out;
		net->zin_full = net->zin.avail_out == 0;
		if (produced > 0)
			return (gssize)produced;
		if (net->zin.avail_in == before && net->zin.avail_in > 0) {
			g_set_error(
				error, MH_IMAP_ERROR, MH_IMAP_ERROR_PROTOCOL,
				"protocol error: the compressed stream from the server stalled");
			return -1;
		}
	}
}

gssize
imap_net_read(struct imap_net *net, void *buf, size_t len, GError **error)
{
	return net->compress ? net_z_read(net, buf, len, error)
	                     : net_raw_read(net, buf, len, error);
}

gssize
imap_net_write(struct imap_net *net, const void *buf, size_t len, GError **error)
{
	return net->compress ? net_z_write(net, buf, len, error)
	                     : net_raw_write(net, buf, len, error);
}

bool
imap_net_pending(const struct imap_net *net)
{
	if (net->compress && (net->zin.avail_in > 0 || net->zin_full))
		return true;
	return net->ssl != NULL && SSL_pending(net->ssl) > 0;
}

int
imap_net_poll(struct imap_net *net, bool want_write, unsigned timeout_ms, GError **error)
{
	struct pollfd pfd = {.fd = net->fd, .events = POLLIN};
	int rc;

	if (want_write || net->read_wants_write)
		pfd.events |= POLLOUT;
	do
		rc = poll(&pfd, 1, (int)timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0) {
		g_set_error(error, MH_IMAP_ERROR, MH_IMAP_ERROR_DISCONNECTED, "poll: %s",
		            g_strerror(errno));
		return -1;
	}
	if (rc == 0)
		return 0;
	if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
		return POLLIN; /* let the read report what happened */
	return pfd.revents & (POLLIN | POLLOUT);
}

const char *
imap_net_tls_version(const struct imap_net *net)
{
	return net->ssl != NULL ? SSL_get_version(net->ssl) : NULL;
}

void
imap_net_close(struct imap_net *net)
{
	if (net->compress) {
		inflateEnd(&net->zin);
		deflateEnd(&net->zout);
		g_clear_pointer(&net->zin_buf, g_free);
		g_clear_pointer(&net->zout_buf, g_free);
		net->zout_cap = net->zout_len = net->zout_pos = 0;
		net->compress = false;
		net->zin_full = false;
	}
	if (net->ssl != NULL) {
		SSL_free(net->ssl);
		net->ssl = NULL;
	}
	if (net->ctx != NULL) {
		SSL_CTX_free(net->ctx);
		net->ctx = NULL;
	}
	if (net->fd >= 0) {
		close(net->fd);
		net->fd = -1;
	}
}
