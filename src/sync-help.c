/* SPDX-License-Identifier: MIT */
/* The help of `mailhaul sync` and `mailhaul verify`: every option group with its heading,
 * both usage lines, worked examples and every exit code. */
#include "sync-help.h"

#include <stdio.h>
#include <string.h>

/* The end of `mailhaul help sync`: worked examples and every exit code. */
static const char sync_epilogue[] =
	"Examples:\n"
	"  Copy a mailbox between two servers; run the same command again later and only\n"
	"  what changed is done:\n"
	"    mailhaul sync --host1 imap.old.example --user1 alice --passfile1 old.pass \\\n"
	"                  --host2 imap.new.example --user2 alice@example.com --passfile2 new.pass\n"
	"  From Gmail to Microsoft 365 with the sign-ins `mailhaul login` stored, Spam too:\n"
	"    mailhaul sync gmail:alice@example.com m365:alice@contoso.com --include-spam\n"
	"  An imapsync command line: first see what it would do, then run it without --dry:\n"
	"    mailhaul --host1 imap.old.example --user1 bob --passfile1 bob.pass \\\n"
	"             --host2 imap.new.example --user2 bob --passfile2 bob.pass \\\n"
	"             --exclude '^Junk$' --maxage 365 --dry\n"
	"\n"
	"Exit codes:\n"
	"  0    every source message is on the destination, and no other\n"
	"  1    differences remain: messages missing or duplicated (listed in the table)\n"
	"  10   cannot connect, or a server stayed unreachable or kept throttling\n"
	"  12   TLS: certificate not trusted, host name mismatch, no STARTTLS\n"
	"  16   authentication refused, no usable mechanism, a sign-in missing or expired\n"
	"  64   usage: a bad option or value, or both sides are the same mailbox\n"
	"  66   a file given cannot be read (--passfile1/2)\n"
	"  69   the command is not available in this version\n"
	"  70   internal error (a bug in mailhaul: please report it)\n"
	"  73   an output file (--log, --report, --state) cannot be written\n"
	"  75   another run is using the account pair or the destination (see --wait-lock)\n"
	"  76   protocol error: the server sent a malformed or oversized response\n"
	"  111  some messages failed (listed in the output, the log and the report)\n"
	"  112  stopped by --errorsmax after that many failures (run again to go on)\n"
	"  113  the destination is over quota\n"
	"  114  the destination refused an APPEND\n"
	"  118  stopped by --exitwhenover (run again to go on)\n"
	"  130  interrupted (Ctrl-C, SIGTERM): run the same command again to finish\n"
	"\n"
	"imapsync's other options and what mailhaul does with each: docs/imapsync.md.";

/* The end of `mailhaul help verify`. */
static const char sync_verify_epilogue[] =
	"Example:\n"
	"    mailhaul verify --content --sample 5% gmail:alice@example.com \\\n"
	"                    m365:alice@contoso.com\n"
	"\n"
	"Exit codes:\n"
	"  0    every source message is on the destination, and no other\n"
	"  1    messages are missing, duplicated or (with --content) differ\n"
	"  10   cannot connect\n"
	"  12   TLS: certificate not trusted, host name mismatch, no STARTTLS\n"
	"  16   authentication refused, no usable mechanism, a sign-in missing or expired\n"
	"  64   usage: a bad option or value\n"
	"  66   a file given cannot be read (--passfile1/2)\n"
	"  70   internal error (a bug in mailhaul: please report it)\n"
	"  73   an output file (--log, --report) cannot be written\n"
	"  76   protocol error: the server sent a malformed or oversized response\n"
	"  130  interrupted (Ctrl-C, SIGTERM)";

const char *
mh_sync_help_epilogue(bool verify)
{
	return verify ? sync_verify_epilogue : sync_epilogue;
}

void
mh_sync_help_print(GOptionContext *ctx, bool verify)
{
	g_autofree char *text = NULL;
	const char *first;

	g_option_context_set_help_enabled(ctx, false);
	text = g_option_context_get_help(ctx, false, NULL);
	/* A second usage line: the accounts given as options, as imapsync has them. */
	first = strstr(text, "SOURCE DEST\n");
	if (first != NULL) {
		first += strlen("SOURCE DEST\n");
		fwrite(text, 1, (size_t)(first - text), stdout);
		printf("  mailhaul %s [OPTION…] --host1 HOST --user1 USER --host2 HOST --user2 USER\n",
		       verify ? "verify" : "sync");
		fputs(first, stdout);
	} else
		fputs(text, stdout);
}
