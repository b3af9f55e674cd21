/* SPDX-License-Identifier: MIT */
/* Provider profiles: what mailhaul knows about a kind of server, as data the program
 * hands to the layers below: IMAP endpoint, OAuth2 endpoints and scopes, default sign-in
 * flow, limits. Built in: "generic" (any IMAP server, passwords), "gmail" (Gmail and
 * Google Workspace) and "m365" (Microsoft 365 / Outlook.com). No client id is shipped:
 * each user or organisation registers its own (see mh_provider_client_help()). */
#ifndef MH_PROVIDER_H
#define MH_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

enum mh_provider_tls {
	MH_PROVIDER_TLS_IMPLICIT,
	MH_PROVIDER_TLS_STARTTLS,
	MH_PROVIDER_TLS_NONE,
};

enum mh_provider_flow {
	MH_PROVIDER_FLOW_NONE,    /* passwords only */
	MH_PROVIDER_FLOW_BROWSER, /* authorization code + PKCE, loopback redirect */
	MH_PROVIDER_FLOW_DEVICE,  /* device authorization grant */
	MH_PROVIDER_FLOW_PASTE,   /* like browser, the final URL pasted back by hand */
};

struct mh_provider {
	const char *name;         /* "generic", "gmail", "m365" */
	const char *description;  /* one line for `provider show` */
	const char *imap_host;    /* NULL: the user gives it */
	uint16_t imap_port;       /* 0: from the TLS mode */
	enum mh_provider_tls tls; /* default TLS mode */
	const char *auth_url;     /* OAuth2 endpoints; "{tenant}" is replaced */
	const char *token_url;
	const char *device_url;
	const char *revoke_url;
	const char *scopes;         /* space-separated */
	const char *tenant;         /* default tenant (Microsoft), else NULL */
	enum mh_provider_flow flow; /* default sign-in flow */
	bool client_secret_needed;  /* the token endpoint wants client_secret (Google) */
	unsigned max_connections;   /* per account, 0 = no limit known */
	uint64_t max_message_size;  /* bytes, 0 = no limit known */
	const char *client_help;    /* three lines: how to get a client id, where to put it */
};

/* Returns the built-in profile called @name (ignoring case), or NULL. */
const struct mh_provider *mh_provider_find(const char *name);

/* The profile used when none is named. */
const struct mh_provider *mh_provider_generic(void);

/* The built-in profiles, NULL-terminated. */
const struct mh_provider *const *mh_provider_all(void);

const char *mh_provider_flow_name(enum mh_provider_flow flow);

/* Parses "browser", "device", "paste"; false when unknown. */
bool mh_provider_flow_parse(const char *s, enum mh_provider_flow *flow_r);

#endif
