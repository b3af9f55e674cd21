/* SPDX-License-Identifier: MIT */
/* Provider profiles: what mailhaul knows about a kind of server, as data the program
 * hands to the layers below. Today only the standards-following "generic" profile;
 * Gmail and Microsoft 365 add OAuth2 endpoints, folder rules and limits. */
#ifndef MH_PROVIDER_H
#define MH_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

enum mh_provider_tls {
	MH_PROVIDER_TLS_IMPLICIT,
	MH_PROVIDER_TLS_STARTTLS,
};

struct mh_provider {
	const char *name;          /* "generic" */
	const char *description;   /* one line for `provider show` */
	const char *imap_host;     /* NULL: the user gives it */
	uint16_t imap_port;        /* 0: from the TLS mode */
	enum mh_provider_tls tls;  /* default TLS mode */
	unsigned max_connections;  /* per account, 0 = no limit known */
	uint64_t max_message_size; /* bytes, 0 = no limit known */
};

/* Returns the built-in profile called @name, or NULL. */
const struct mh_provider *mh_provider_find(const char *name);

/* The profile used when none is named. */
const struct mh_provider *mh_provider_generic(void);

#endif
