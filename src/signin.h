/* SPDX-License-Identifier: MIT */
/* Stored sign-ins: an account's OAuth2 tokens (or password) in the keyring or the file
 * store, fresh access tokens on demand (refreshed before they expire, the rotated refresh
 * token stored at once), and the login/logout/accounts/token commands' shared pieces. */
#ifndef MH_SIGNIN_H
#define MH_SIGNIN_H

#include <glib.h>
#include <stdbool.h>

#include "config.h"
#include "keyring.h"
#include "oauth2.h"

/* Opens the token store chosen by @store_opt ("keyring"/"file", may be NULL), else the
 * account's token-store setting, else the keyring. */
struct mh_keyring *mh_signin_open_store(const struct mh_account *a, const char *store_opt,
                                        GError **error);

/* Fills @c (borrowing the account's strings) for the oauth2 calls; false with a clear
 * message (how to register a client) when the account has no client id. */
bool mh_signin_client(const struct mh_account *a, struct mh_oauth2_client *c, GError **error);

/* The stored token of @a, or NULL with MH_AUTH_ERROR_DENIED "not signed in: run
 * `mailhaul login ACCOUNT`". */
struct mh_oauth2_token *mh_signin_load(struct mh_keyring *kr, const struct mh_account *a,
                                       GError **error);

/* Stores @t for @a (replacing what was there). */
bool mh_signin_save(struct mh_keyring *kr, const struct mh_account *a,
                    const struct mh_oauth2_token *t, GError **error);

/* Makes sure @t's access token is valid for at least two more minutes (or, with @force,
 * gets a new one), refreshing and storing the result; *refreshed_r (may be NULL) says
 * whether a refresh happened. */
bool mh_signin_refresh(struct mh_keyring *kr, const struct mh_account *a, struct mh_oauth2_token *t,
                       bool force, bool *refreshed_r, GError **error);

/* The keyring key of an account's OAuth2 tokens: "oauth2:PROVIDER:USER". Caller frees. */
char *mh_signin_key(const struct mh_account *a);

/* A token source for long runs: loads once, refreshes before expiry and on demand,
 * thread-safe. */
struct mh_token_source;

struct mh_token_source *mh_token_source_new(struct mh_account *a, const char *store_opt,
                                            GError **error);

/* Returns a valid access token (an mh_secret copy the caller frees); with @force a new
 * one even if the current one has not expired (the server refused it). */
char *mh_token_source_get(struct mh_token_source *ts, bool force, GError **error);

/* A token source that mints tokens without a stored sign-in: with @sa_key_file, a Google
 * service account's JWT bearer grant for the account's user (domain-wide delegation),
 * else client credentials (Microsoft app-only: client-id + client-secret). Takes @a. */
struct mh_token_source *mh_token_source_new_minted(struct mh_account *a, const char *sa_key_file,
                                                   GError **error);

/* Fills @c for a service-account or client-credentials grant (borrowing @a's strings). */
bool mh_signin_client_for_grant(const struct mh_account *a, bool service_account,
                                struct mh_oauth2_client *c, GError **error);

void mh_token_source_free(struct mh_token_source *ts);

int mh_cmd_login(int argc, char **argv);
int mh_cmd_logout(int argc, char **argv);
int mh_cmd_accounts(int argc, char **argv);
int mh_cmd_token(int argc, char **argv);

#endif
