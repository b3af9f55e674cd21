/* SPDX-License-Identifier: MIT */
/* The built-in provider profiles. Endpoints, scopes and limits: docs/providers.md (from
 * Google "OAuth 2.0 for Desktop apps", Microsoft "Authenticate an IMAP, POP or SMTP
 * connection using OAuth"). */
#include "provider.h"

#include <glib.h>

static const struct mh_provider provider_generic = {
	.name = "generic",
	.description = "any IMAP4rev1 server, following the standards",
	.tls = MH_PROVIDER_TLS_IMPLICIT,
	.smtp_tls = MH_PROVIDER_TLS_STARTTLS,
	.flow = MH_PROVIDER_FLOW_NONE,
};

static const struct mh_provider provider_gmail = {
	.name = "gmail",
	.description = "Gmail and Google Workspace (OAuth2: browser sign-in with PKCE)",
	.imap_host = "imap.gmail.com",
	.imap_port = 993,
	.tls = MH_PROVIDER_TLS_IMPLICIT,
	/* Google "Send email from a printer, scanner, or app" and Thunderbird's ISPDB
         * (googlemail.com.xml): smtp.gmail.com 465 with TLS, or 587 with STARTTLS */
	.smtp_host = "smtp.gmail.com",
	.smtp_port = 465,
	.smtp_tls = MH_PROVIDER_TLS_IMPLICIT,
	.auth_url = "https://accounts.google.com/o/oauth2/v2/auth",
	.token_url = "https://oauth2.googleapis.com/token",
	.revoke_url = "https://oauth2.googleapis.com/revoke",
	.scopes = "https://mail.google.com/",
	.flow = MH_PROVIDER_FLOW_BROWSER,
	.client_secret_needed = true,
	.max_connections = 4,
	.max_connections_hard = 15,
	.max_message_size = 35651584,
	.client_help =
		"Gmail needs an OAuth client of your own: in the Google Cloud console create a "
		"project, enable the Gmail API and create an OAuth client of type \"Desktop "
		"app\".\n"
		"Then run `mailhaul provider import-google client_secret.json` with the JSON "
		"file the console offers, or put client-id and client-secret in a "
		"[provider gmail] section of the config file.",
	/* docs/providers.md, "Google refresh tokens" */
	.refresh_refused_help =
		"Google ends the refresh tokens of an app in Testing 7 days after consent, and "
		"any refresh token after a password change or when the access is removed; "
		"publish the app (In production), or make it Internal in Google Workspace",
	/* docs/providers.md "Folders are labels": X-GM-LABELS, silent de-duplication */
	.labels = true,
	.dst_labels = true,
	.dst_dedups = true,
	/* docs/providers.md "Limits and throttling" (Gmail) */
	.upload_per_day = 500000000,
	.download_per_day = 2500000000,
	.min_rate = 1024,
};

static const struct mh_provider provider_m365 = {
	.name = "m365",
	.description = "Microsoft 365 and Outlook.com (OAuth2: device code sign-in)",
	.imap_host = "outlook.office365.com",
	.imap_port = 993,
	.tls = MH_PROVIDER_TLS_IMPLICIT,
	/* Microsoft "How to set up a multifunction device or application to send email using
         * Microsoft 365" (SMTP AUTH client submission): smtp.office365.com 587 STARTTLS */
	.smtp_host = "smtp.office365.com",
	.smtp_port = 587,
	.smtp_tls = MH_PROVIDER_TLS_STARTTLS,
	.auth_url = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
	.token_url = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
	.device_url = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
	.scopes = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
	.tenant = "common",
	.flow = MH_PROVIDER_FLOW_DEVICE,
	.max_connections = 4,
	.max_connections_hard = 20,
	.max_message_size = 36700160,
	.client_help = "Microsoft 365 needs an app registration of your own: in Microsoft Entra "
		       "admin center register an application, add the delegated permission "
		       "IMAP.AccessAsUser.All (Office 365 Exchange Online) and allow public client "
		       "flows.\n"
		       "Then put its Application (client) ID as client-id (and your tenant as "
		       "tenant) in a [provider m365] section of the config file.",
	/* docs/providers.md "Folders" (Microsoft 365): what Exchange serves for an item it
         * cannot convert to MIME */
	.placeholder_subject =
		"Retrieval using the IMAP4 protocol failed for the following message",
	/* docs/providers.md "Folders" and "Flags and message fix-ups": case-insensitive
         * names, MAPI re-rendering, \Flagged and
         * $MDNSent on APPEND */
	.dst_case_insensitive = true,
	.dst_rerenders = true,
	.flagged_after_append = true,
	.drop_keywords = "$MDNSent",
	.fixups = MH_PROVIDER_FIXUP_RECEIPTS | MH_PROVIDER_FIXUP_WRAP | MH_PROVIDER_FIXUP_MDNSENT |
                  MH_PROVIDER_FIXUP_FLAGGED,
	.max_line = 10000,
	/* docs/providers.md "Limits and throttling" (Microsoft 365): imapsync --office2 paces
         * 4 messages/s; EXO drops a session after
         * 10 errors */
	.pace = 4.0,
	.errors_per_session = 10,
};

static const struct mh_provider *const providers[] = {&provider_generic, &provider_gmail,
                                                      &provider_m365, NULL};

const struct mh_provider *
mh_provider_find(const char *name)
{
	for (size_t i = 0; providers[i] != NULL; i++) {
		if (g_ascii_strcasecmp(providers[i]->name, name) == 0)
			return providers[i];
	}
	return NULL;
}

const struct mh_provider *
mh_provider_generic(void)
{
	return &provider_generic;
}

const struct mh_provider *const *
mh_provider_all(void)
{
	return providers;
}

static const char *const flow_names[] = {
	[MH_PROVIDER_FLOW_NONE] = "none",
	[MH_PROVIDER_FLOW_BROWSER] = "browser",
	[MH_PROVIDER_FLOW_DEVICE] = "device",
	[MH_PROVIDER_FLOW_PASTE] = "paste",
};

const char *
mh_provider_flow_name(enum mh_provider_flow flow)
{
	return flow_names[flow];
}

bool
mh_provider_flow_parse(const char *s, enum mh_provider_flow *flow_r)
{
	for (size_t i = MH_PROVIDER_FLOW_BROWSER; i < G_N_ELEMENTS(flow_names); i++) {
		if (g_ascii_strcasecmp(s, flow_names[i]) == 0) {
			*flow_r = (enum mh_provider_flow)i;
			return true;
		}
	}
	return false;
}
