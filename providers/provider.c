/* SPDX-License-Identifier: MIT */
/* The built-in provider profiles. */
#include "provider.h"

#include <glib.h>

static const struct mh_provider provider_generic = {
	.name = "generic",
	.description = "any IMAP4rev1 server, following the standards",
	.tls = MH_PROVIDER_TLS_IMPLICIT,
};

static const struct mh_provider *const providers[] = {&provider_generic};

const struct mh_provider *
mh_provider_find(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(providers); i++) {
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
