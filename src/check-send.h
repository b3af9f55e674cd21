/* SPDX-License-Identifier: MIT */
/* `mailhaul check --send-test`: can the mailbox send and receive? A test message from the
 * account to itself through its submission server, awaited in its INBOX over IMAP. */
#ifndef MH_CHECK_SEND_H
#define MH_CHECK_SEND_H

#include <glib.h>
#include <stdbool.h>

#include "cli.h"

/* The options of the send test, as given (strings owned by GOption). */
struct check_send_opts {
	gboolean enabled;       /* --send-test */
	int timeout;            /* --send-timeout seconds; 0 = 120 */
	gboolean keep;          /* --keep-test-message */
	char *smtp_host;        /* --smtp-host */
	int smtp_port;          /* --smtp-port */
	gboolean smtp_tls;      /* --smtp-tls: implicit TLS */
	gboolean smtp_starttls; /* --smtp-starttls */
	char *address;          /* --mail-address: the account's address, when the user is not */
};

/* Adds the options above to @group. */
void check_send_add_entries(GOptionGroup *group, struct check_send_opts *o);

/* Checks the options (before anything connects). */
bool check_send_check(const struct check_send_opts *o, GError **error);

/* Runs the test on @conn, logged in as @cred's user of @acct: selects INBOX, submits the
 * message, waits for it (MH_SMTP_ERROR_UNDELIVERED after the timeout), prints the delay,
 * and removes it unless kept. Submission errors are MH_SMTP_ERROR's. */
bool check_send_run(struct mh_imap_conn *conn, struct cli_account *acct,
                    const struct mh_imap_credentials *cred, const struct check_send_opts *o,
                    GError **error);

void check_send_clear(struct check_send_opts *o);

#endif
