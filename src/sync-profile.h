/* SPDX-License-Identifier: MIT */
/* Provider profiles applied to a sync: see sync-profile.c. */
#ifndef MH_SYNC_PROFILE_H
#define MH_SYNC_PROFILE_H

#include <glib.h>
#include <stdbool.h>

#include "config.h"
#include "provider.h"
#include "sync-engine.h"

struct sync_profiles {
	const struct mh_provider *p[2];        /* borrowed; never NULL after init */
	bool chosen[2];                        /* named by the user (else detected) */
	const char *host[2];                   /* borrowed; for detection by host name */
	enum mh_sync_labels labels;            /* --gmail-labels (default once) */
	struct mh_provider_source_opts source; /* --include-spam, --include-trash */
	unsigned fixups;                       /* --fixups, else the destination profile's */
	bool fixups_set, maxsize_set, pace_set, up_set, down_set, jobs_set, rate_set;
	size_t max_line;
	bool dst_gmail_ext; /* the destination offers X-GM-EXT-1 */
	bool connected;     /* both sides are connected: what they offer is known */
	struct mh_sync_folder_rules rules;
	struct mh_sync_fixup_ops fixup_ops;
};

/* Chooses each side's profile: --providerN (@names, may be NULL), else the account's
 * PROVIDER: prefix (@from_account, may be NULL), else generic until detection. */
bool sync_profiles_init(struct sync_profiles *sp, const char *const names[2],
                        const struct mh_provider *const from_account[2], GError **error);

/* Sets the engine options that follow from the profiles (the user's own win). */
void sync_profiles_apply(struct sync_profiles *sp, struct mh_sync_options *so);

/* Detects unnamed providers once both sides are connected, then applies the profiles. */
void sync_profiles_hook(struct sync_profiles *sp, struct mh_sync_options *so);

#endif
