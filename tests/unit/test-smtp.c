/* SPDX-License-Identifier: MIT */
/* The pure parts of mail submission: how the wire log shows client lines (AUTH payloads
 * and message data never), and the one-line reply text kept for error lines. */
#include <glib.h>
#include <string.h>

#include "smtp.h"

static void
expect_shown(const char *line, const char *shown)
{
	g_autofree char *got = mh_smtp_redact_line(line, strlen(line));

	g_assert_cmpstr(got, ==, shown);
}

static void
test_redact_line(void)
{
	expect_shown("EHLO client.example", "EHLO client.example");
	expect_shown("STARTTLS", "STARTTLS");
	expect_shown("MAIL FROM:<a@example.com>", "MAIL FROM:<a@example.com>");
	expect_shown("rcpt TO:<a@example.com>", "rcpt TO:<a@example.com>");
	expect_shown("QUIT", "QUIT");
	expect_shown("AUTH CRAM-MD5", "AUTH CRAM-MD5");
	/* XOAUTH2's initial response holds the token in base64. */
	expect_shown("AUTH XOAUTH2 dXNlcj1hAWF1dGg9QmVhcmVyIHNlY3JldAEB",
	             "AUTH XOAUTH2 <redacted 36 bytes>");
	expect_shown("AUTH PLAIN AGEAcHc=", "AUTH PLAIN <redacted 8 bytes>");
	/* A SASL response or a line of the message: never shown. */
	expect_shown("AGFsaWNlAHNlY3JldA==", "<redacted 20 bytes>");
	expect_shown("MAILBOX secret", "<redacted 14 bytes>");
	expect_shown("DATAsecret", "<redacted 10 bytes>");
	expect_shown("", "<redacted 0 bytes>");
}

static void
test_reply_text(void)
{
	static const char multi[] = "250-smtp.example\r\n250-AUTH PLAIN\r\n250 CHUNKING\r\n";
	static const char auth[] = "535 5.7.8 Error: authentication failed: bad\r\n";
	g_autofree char *a = mh_smtp_reply_text(multi, strlen(multi));
	g_autofree char *b = mh_smtp_reply_text(auth, strlen(auth));
	g_autofree char *c = mh_smtp_reply_text("hello\r\n", 7);
	g_autofree char *d = mh_smtp_reply_text("221", 3);

	g_assert_cmpstr(a, ==, "250 smtp.example AUTH PLAIN CHUNKING");
	g_assert_cmpstr(b, ==, "535 5.7.8 Error: authentication failed: bad");
	g_assert_null(c);
	g_assert_cmpstr(d, ==, "221");
}

static void
test_default_ports(void)
{
	struct mh_smtp_settings set = {.host = "smtp.example", .tls = MH_SMTP_TLS_IMPLICIT};

	g_assert_cmpuint(mh_smtp_port(&set), ==, 465);
	set.tls = MH_SMTP_TLS_STARTTLS;
	g_assert_cmpuint(mh_smtp_port(&set), ==, 587);
	set.port = 2525;
	g_assert_cmpuint(mh_smtp_port(&set), ==, 2525);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/smtp/redact-line", test_redact_line);
	g_test_add_func("/smtp/reply-text", test_reply_text);
	g_test_add_func("/smtp/default-ports", test_default_ports);
	return g_test_run();
}
