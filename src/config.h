/* SPDX-License-Identifier: MIT */
/* The config file (GLib key file): [provider NAME] sections that add providers or
 * override built-in ones, [account PROVIDER:USER] sections for one account, with exactly
 * the keys listed in mailhaul.conf(5), and [job NAME] sections that name a sync and its
 * options for `mailhaul sync --job NAME`. An account written PROVIDER:USER resolves to its
 * settings: built-in profile < [provider NAME] < [account PROVIDER:USER] < command-line options. */
#ifndef MH_CONFIG_H
#define MH_CONFIG_H

#include <glib.h>
#include <stdbool.h>

#include "provider.h"

/* One provider's or account's settings; NULL / -1 for "not set". Strings owned. */
struct mh_settings {
	char *imap_host;
	int imap_port; /* -1: not set */
	int imap_tls;  /* enum mh_provider_tls, -1: not set */
	char *smtp_host;
	int smtp_port; /* -1: not set */
	int smtp_tls;  /* MH_PROVIDER_TLS_IMPLICIT or _STARTTLS, -1: not set */
	char *cafile;
	char *auth_url;
	char *token_url;
	char *device_url;
	char *revoke_url;
	char *scopes;
	char *client_id;
	char *client_secret;
	char *tenant;
	int flow;        /* enum mh_provider_flow, -1: not set */
	int token_store; /* enum mh_token_store, -1: not set */
};

enum mh_token_store {
	MH_TOKEN_STORE_KEYRING,
	MH_TOKEN_STORE_FILE,
};

struct mh_config;

/* Loads @path, else $MAILHAUL_CONFIG, else $XDG_CONFIG_HOME/mailhaul/config.ini (which may
 * be absent). An unreadable explicit file is MH_CONFIG_ERROR_NOINPUT; an unknown section
 * kind, key or bad value is MH_CONFIG_ERROR_USAGE naming the file, line and key. */
struct mh_config *mh_config_load(const char *path, GError **error);

void mh_config_free(struct mh_config *cfg);

/* The file in use (borrowed), or NULL when there is none. */
const char *mh_config_path(const struct mh_config *cfg);

/* A resolved account: the provider profile, the user, and every setting merged. */
struct mh_account {
	char *name;                        /* owned; "gmail:alice@example.com" */
	char *provider_name;               /* owned */
	char *user;                        /* owned */
	const struct mh_provider *builtin; /* borrowed; NULL for a provider defined in the file */
	struct mh_settings set;            /* merged, owned; URLs with {tenant} replaced */
};

/* Splits "PROVIDER:USER" and resolves it. Unknown providers (neither built in nor in the
 * file) are MH_CONFIG_ERROR_USAGE. */
struct mh_account *mh_account_resolve(const struct mh_config *cfg, const char *spec,
                                      GError **error);

void mh_account_free(struct mh_account *acct);

/* Whether @spec looks like PROVIDER:USER (a provider name, a colon, a user). */
bool mh_account_spec_valid(const char *spec);

/* Parses "keyring" / "file". */
bool mh_token_store_parse(const char *s, enum mh_token_store *store_r);

/* Whether @name can name a job: letters, digits, '.', '-' and '_'. */
bool mh_job_name_valid(const char *name);

/* How `mailhaul sync` takes the option --@name: 0 not at all, 1 as a flag, 2 with a value. */
typedef int mh_config_option_arity_cb(const char *name);

/* The section [job @name] as sync's command-line arguments, in the file's order: source
 * and destination as --account1 / --account2, a flag key as --KEY when its value is true
 * (nothing when false), a repeatable option once per ';'-separated value, any other key as
 * --KEY=VALUE. Keys whose option is in @given (names without dashes, from the command
 * line, which wins; may be NULL) are left out. Returns a new NULL-terminated vector
 * (g_strfreev), or NULL with MH_CONFIG_ERROR_USAGE for an unknown job, or naming the
 * file, line and key of an unknown key or a bad value. */
char **mh_config_job_argv(const struct mh_config *cfg, const char *name, const char *const *given,
                          mh_config_option_arity_cb *arity, GError **error);

/* Type names only for g_autoptr(). */
typedef struct mh_config mh_config;
typedef struct mh_account mh_account;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_config, mh_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(mh_account, mh_account_free)

#endif
