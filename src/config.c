/* SPDX-License-Identifier: MIT */
/* The config file and account resolution. GKeyFile parses; this file checks every section
 * and key against the documented ones and finds line numbers for its messages (GKeyFile
 * does not keep them). */
#include "config.h"

#include <string.h>

#include "cli.h"
#include "mh-secret.h"

struct mh_config {
	char *path;   /* owned; NULL without a file */
	char *text;   /* owned; the file's text, for line numbers */
	GKeyFile *kf; /* owned */
};

static const char *const config_keys[] = {
	"imap-host",  "imap-port",   "imap-tls",  "cafile",    "auth-url",      "token-url",
	"device-url", "revoke-url",  "scopes",    "client-id", "client-secret", "tenant",
	"flow",       "token-store", "smtp-host", "smtp-port", "smtp-tls",      NULL,
};

/* The keys of a [job NAME] beyond sync's options (which are checked when the job runs). */
static const char *const job_keys[] = {"source", "destination", "report", NULL};

/* Sync's options that may be given more than once: in a job, their values are separated
 * by ';'. */
static const char *const job_repeatable[] = {"folder", "include", "exclude", "regextrans2", NULL};

static void
settings_clear(struct mh_settings *s)
{
	g_free(s->imap_host);
	g_free(s->smtp_host);
	g_free(s->cafile);
	g_free(s->auth_url);
	g_free(s->token_url);
	g_free(s->device_url);
	g_free(s->revoke_url);
	g_free(s->scopes);
	g_free(s->client_id);
	mh_secret_free(s->client_secret);
	g_free(s->tenant);
	memset(s, 0, sizeof(*s));
}

/* The 1-based line of @key inside [@group] of the file's text, or 0. */
static unsigned
config_line_of(const struct mh_config *cfg, const char *group, const char *key)
{
	g_auto(GStrv) lines = g_strsplit(cfg->text != NULL ? cfg->text : "", "\n", -1);
	g_autofree char *header = g_strdup_printf("[%s]", group);
	bool inside = false;

	for (unsigned i = 0; lines[i] != NULL; i++) {
		const char *l = lines[i];

		while (*l == ' ' || *l == '\t')
			l++;
		if (*l == '[') {
			inside = g_str_has_prefix(l, header);
			if (key == NULL && inside)
				return i + 1;
			continue;
		}
		if (inside && key != NULL && g_str_has_prefix(l, key) &&
		    strchr(" \t=", l[strlen(key)]) != NULL)
			return i + 1;
	}
	return 0;
}

static bool config_fail(const struct mh_config *cfg, const char *group, const char *key,
                        GError **error, const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static bool
config_fail(const struct mh_config *cfg, const char *group, const char *key, GError **error,
            const char *fmt, ...)
{
	g_autofree char *why = NULL;
	va_list ap;

	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE, "%s:%u: [%s]%s%s: %s", cfg->path,
	            config_line_of(cfg, group, key), group, key != NULL ? " " : "",
	            key != NULL ? key : "", why);
	return false;
}

static int
config_enum(const char *value, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++) {
		if (g_ascii_strcasecmp(value, names[i]) == 0)
			return i;
	}
	return -1;
}

/* Reads one value into @s, checking it. */
static bool
config_read_key(const struct mh_config *cfg, const char *group, const char *key,
                struct mh_settings *s, GError **error)
{
	static const char *const tls_names[] = {"ssl", "starttls", "none", NULL};
	static const char *const flow_names[] = {"-", "browser", "device", "paste", NULL};
	static const char *const store_names[] = {"keyring", "file", NULL};
	g_autofree char *v = g_key_file_get_string(cfg->kf, group, key, NULL);
	char **slot = NULL;

	g_strstrip(v);
	if (strcmp(key, "imap-port") == 0 || strcmp(key, "smtp-port") == 0) {
		guint64 port = 0;

		if (!g_ascii_string_to_unsigned(v, 10, 1, 65535, &port, NULL))
			return config_fail(cfg, group, key, error, "'%s' is not a port number", v);
		*(key[0] == 'i' ? &s->imap_port : &s->smtp_port) = (int)port;
		return true;
	}
	if (strcmp(key, "smtp-tls") == 0) {
		int n = config_enum(v, tls_names);

		if (n < 0 || n == MH_PROVIDER_TLS_NONE)
			return config_fail(cfg, group, key, error,
			                   "unknown value '%s' (use ssl or starttls)", v);
		s->smtp_tls = n;
		return true;
	}
	if (strcmp(key, "imap-tls") == 0 || strcmp(key, "flow") == 0 ||
	    strcmp(key, "token-store") == 0) {
		const char *const *names = key[0] == 'i'   ? tls_names
		                           : key[0] == 'f' ? flow_names
		                                           : store_names;
		int n = config_enum(v, names);

		if (n < 0 || (names == flow_names && n == 0))
			return config_fail(cfg, group, key, error, "unknown value '%s'", v);
		*(key[0] == 'i' ? &s->imap_tls : key[0] == 'f' ? &s->flow : &s->token_store) = n;
		return true;
	}
	if (*v == '\0')
		return config_fail(cfg, group, key, error, "empty value");
	if (strcmp(key, "client-secret") == 0) {
		mh_secret_free(s->client_secret);
		s->client_secret = mh_secret_strdup(v);
		return true;
	}
	slot = strcmp(key, "imap-host") == 0    ? &s->imap_host
	       : strcmp(key, "smtp-host") == 0  ? &s->smtp_host
	       : strcmp(key, "cafile") == 0     ? &s->cafile
	       : strcmp(key, "auth-url") == 0   ? &s->auth_url
	       : strcmp(key, "token-url") == 0  ? &s->token_url
	       : strcmp(key, "device-url") == 0 ? &s->device_url
	       : strcmp(key, "revoke-url") == 0 ? &s->revoke_url
	       : strcmp(key, "scopes") == 0     ? &s->scopes
	       : strcmp(key, "client-id") == 0  ? &s->client_id
	                                        : &s->tenant;
	g_free(*slot);
	*slot = g_strdup(v);
	return true;
}

bool
mh_job_name_valid(const char *name)
{
	if (*name == '\0' || *name == '.')
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if (!g_ascii_isalnum(*p) && strchr(".-_", *p) == NULL)
			return false;
	}
	return true;
}

/* A [job NAME] section: its name and accounts. Its other keys are sync options, checked
 * when the job runs (mh_config_job_argv()). */
static bool
config_check_job(const struct mh_config *cfg, const char *group, const char *const *keys,
                 GError **error)
{
	if (!mh_job_name_valid(group + 4))
		return config_fail(cfg, group, NULL, error,
		                   "a job's name is made of letters, digits, '.', '-' and '_'");
	for (size_t k = 0; keys != NULL && keys[k] != NULL; k++) {
		g_autofree char *v = NULL;

		if (strcmp(keys[k], "source") != 0 && strcmp(keys[k], "destination") != 0)
			continue;
		v = g_strstrip(g_key_file_get_value(cfg->kf, group, keys[k], NULL));
		if (!mh_account_spec_valid(v))
			return config_fail(cfg, group, keys[k], error,
			                   "'%s' is not an account: write PROVIDER:USER", v);
	}
	return true;
}

/* Checks every section and key of the file. */
static bool
config_check(const struct mh_config *cfg, GError **error)
{
	g_auto(GStrv) groups = g_key_file_get_groups(cfg->kf, NULL);

	for (size_t i = 0; groups[i] != NULL; i++) {
		g_auto(GStrv) keys = g_key_file_get_keys(cfg->kf, groups[i], NULL, NULL);
		const char *g = groups[i];

		if (!g_str_has_prefix(g, "provider ") && !g_str_has_prefix(g, "account ") &&
		    !g_str_has_prefix(g, "job "))
			return config_fail(cfg, g, NULL, error,
			                   "unknown section (use [provider NAME], [account "
			                   "PROVIDER:USER] or [job NAME])");
		if (g_str_has_prefix(g, "account ") && !mh_account_spec_valid(g + 8))
			return config_fail(cfg, g, NULL, error,
			                   "an account is written PROVIDER:USER");
		if (g_str_has_prefix(g, "job ")) {
			if (!config_check_job(cfg, g, (const char *const *)keys, error))
				return false;
			continue;
		}
		for (size_t k = 0; keys != NULL && keys[k] != NULL; k++) {
			struct mh_settings scratch = {0};
			bool ok;

			if (!g_strv_contains(config_keys, keys[k]))
				return config_fail(cfg, g, keys[k], error, "unknown key");
			ok = config_read_key(cfg, g, keys[k], &scratch, error);
			settings_clear(&scratch);
			if (!ok)
				return false;
		}
	}
	return true;
}

struct mh_config *
mh_config_load(const char *path, GError **error)
{
	struct mh_config *cfg = g_new0(struct mh_config, 1);
	const char *env = g_getenv("MAILHAUL_CONFIG");
	bool explicit = path != NULL || (env != NULL && *env != '\0');
	g_autoptr(GError) local = NULL;
	gsize len;

	cfg->kf = g_key_file_new();
	cfg->path = path != NULL ? g_strdup(path)
	            : explicit   ? g_strdup(env)
	                       : g_build_filename(g_get_user_config_dir(), "mailhaul", "config.ini",
	                                          NULL);
	if (!g_file_get_contents(cfg->path, &cfg->text, &len, &local)) {
		if (!explicit && g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_clear_pointer(&cfg->path, g_free);
			return cfg;
		}
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT,
		            "cannot read the config file: %s", local->message);
		mh_config_free(cfg);
		return NULL;
	}
	if (!g_key_file_load_from_data(cfg->kf, cfg->text, len, G_KEY_FILE_NONE, &local)) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE, "%s: %s", cfg->path,
		            local->message);
		mh_config_free(cfg);
		return NULL;
	}
	if (!config_check(cfg, error)) {
		mh_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void
mh_config_free(struct mh_config *cfg)
{
	if (cfg == NULL)
		return;
	g_free(cfg->path);
	if (cfg->text != NULL)
		mh_secret_wipe(cfg->text, strlen(cfg->text)); /* may hold client secrets */
	g_free(cfg->text);
	g_key_file_free(cfg->kf);
	g_free(cfg);
}

const char *
mh_config_path(const struct mh_config *cfg)
{
	return cfg->path;
}

/* --- accounts --- */

bool
mh_account_spec_valid(const char *spec)
{
	const char *colon = strchr(spec, ':');

	if (colon == NULL || colon == spec || colon[1] == '\0')
		return false;
	for (const char *p = spec; p < colon; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
			return false;
	}
	for (const char *p = colon + 1; *p != '\0'; p++) {
		if (g_ascii_isspace(*p) || g_ascii_iscntrl(*p))
			return false;
	}
	return true;
}

bool
mh_token_store_parse(const char *s, enum mh_token_store *store_r)
{
	if (g_ascii_strcasecmp(s, "keyring") == 0)
		*store_r = MH_TOKEN_STORE_KEYRING;
	else if (g_ascii_strcasecmp(s, "file") == 0)
		*store_r = MH_TOKEN_STORE_FILE;
	else
		return false;
	return true;
}

static void
settings_init(struct mh_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->imap_port = s->imap_tls = s->flow = s->token_store = -1;
	s->smtp_port = s->smtp_tls = -1;
}

static void
settings_from_builtin(struct mh_settings *s, const struct mh_provider *p)
{
	s->imap_host = g_strdup(p->imap_host);
	if (p->imap_port != 0)
		s->imap_port = p->imap_port;
	s->imap_tls = p->tls;
	s->smtp_host = g_strdup(p->smtp_host);
	if (p->smtp_port != 0)
		s->smtp_port = p->smtp_port;
	s->smtp_tls = p->smtp_tls;
	s->auth_url = g_strdup(p->auth_url);
	s->token_url = g_strdup(p->token_url);
	s->device_url = g_strdup(p->device_url);
	s->revoke_url = g_strdup(p->revoke_url);
	s->scopes = g_strdup(p->scopes);
	s->tenant = g_strdup(p->tenant);
	if (p->flow != MH_PROVIDER_FLOW_NONE)
		s->flow = p->flow;
}

/* Reads the keys of [@group] over @s. */
static bool
settings_read_group(const struct mh_config *cfg, const char *group, struct mh_settings *s,
                    GError **error)
{
	g_auto(GStrv) keys = NULL;

	if (cfg == NULL || !g_key_file_has_group(cfg->kf, group))
		return true;
	keys = g_key_file_get_keys(cfg->kf, group, NULL, NULL);
	for (size_t k = 0; keys[k] != NULL; k++) {
		if (!config_read_key(cfg, group, keys[k], s, error))
			return false;
	}
	return true;
}

static char *
settings_tenant_url(char *url, const char *tenant)
{
	g_auto(GStrv) parts = NULL;

	if (url == NULL || strstr(url, "{tenant}") == NULL)
		return url;
	parts = g_strsplit(url, "{tenant}", -1);
	g_free(url);
	return g_strjoinv(tenant, parts);
}

struct mh_account *
mh_account_resolve(const struct mh_config *cfg, const char *spec, GError **error)
{
	g_autoptr(mh_account) acct = g_new0(struct mh_account, 1);
	g_autofree char *pgroup = NULL;
	g_autofree char *agroup = NULL;
	const char *colon = strchr(spec, ':');
	const char *tenant;

	if (!mh_account_spec_valid(spec)) {
		g_set_error(
			error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
			"'%s' is not an account: write PROVIDER:USER, e.g. gmail:alice@example.com",
			spec);
		return NULL;
	}
	acct->name = g_strdup(spec);
	acct->provider_name = g_ascii_strdown(spec, colon - spec);
	acct->user = g_strdup(colon + 1);
	acct->builtin = mh_provider_find(acct->provider_name);
	pgroup = g_strdup_printf("provider %s", acct->provider_name);
	agroup = g_strdup_printf("account %s", spec);
	settings_init(&acct->set);
	if (acct->builtin == NULL && (cfg == NULL || !g_key_file_has_group(cfg->kf, pgroup))) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "unknown provider '%s' (built in: generic, gmail, m365; others need a "
		            "[provider %s] section in the config file)",
		            acct->provider_name, acct->provider_name);
		return NULL;
	}
	if (acct->builtin != NULL)
		settings_from_builtin(&acct->set, acct->builtin);
	if (!settings_read_group(cfg, pgroup, &acct->set, error) ||
	    !settings_read_group(cfg, agroup, &acct->set, error))
		return NULL;
	tenant = acct->set.tenant != NULL ? acct->set.tenant : "common";
	acct->set.auth_url = settings_tenant_url(acct->set.auth_url, tenant);
	acct->set.token_url = settings_tenant_url(acct->set.token_url, tenant);
	acct->set.device_url = settings_tenant_url(acct->set.device_url, tenant);
	acct->set.revoke_url = settings_tenant_url(acct->set.revoke_url, tenant);
	return g_steal_pointer(&acct);
}

void
mh_account_free(struct mh_account *acct)
{
	if (acct == NULL)
		return;
	g_free(acct->name);
	g_free(acct->provider_name);
	g_free(acct->user);
	settings_clear(&acct->set);
	g_free(acct);
}

/* --- jobs --- */

/* Whether a job's value says yes (1), no (0), or neither (-1). */
static int
config_bool(const char *v)
{
	static const char *const yes[] = {"true", "yes", "on", "1", NULL};
	static const char *const no[] = {"false", "no", "off", "0", NULL};

	if (config_enum(v, yes) >= 0)
		return 1;
	return config_enum(v, no) >= 0 ? 0 : -1;
}

/* Adds job key @key = @v to @args as sync's command-line arguments. */
static bool
config_job_key(const struct mh_config *cfg, const char *group, const char *key, const char *v,
               mh_config_option_arity_cb *arity, GPtrArray *args, GError **error)
{
	const char *option = strcmp(key, "source") == 0        ? "account1"
	                     : strcmp(key, "destination") == 0 ? "account2"
	                                                       : key;
	int n;

	/* Before asking sync's option table: it would answer --help by printing it. */
	if (strcmp(key, "job") == 0 || strcmp(key, "config") == 0 || g_str_has_prefix(key, "help"))
		return config_fail(cfg, group, key, error, "not allowed in a job");
	n = arity(option);
	if (n == 0) {
		g_autofree char *own = g_strjoinv(", ", (char **)job_keys);

		return config_fail(cfg, group, key, error,
		                   "unknown key (a job takes %s and the options of `mailhaul "
		                   "sync`, without their dashes)",
		                   own);
	}
	if (n == 1) {
		int yes = config_bool(v);

		if (yes < 0)
			return config_fail(cfg, group, key, error,
			                   "'%s': this option takes true or false", v);
		if (yes)
			g_ptr_array_add(args, g_strconcat("--", option, NULL));
		return true;
	}
	if (*v == '\0')
		return config_fail(cfg, group, key, error, "empty value");
	if (g_strv_contains(job_repeatable, option)) {
		g_auto(GStrv) parts = g_strsplit(v, ";", -1);

		for (size_t i = 0; parts[i] != NULL; i++) {
			if (*g_strstrip(parts[i]) != '\0')
				g_ptr_array_add(args, g_strdup_printf("--%s=%s", option, parts[i]));
		}
		return true;
	}
	g_ptr_array_add(args, g_strdup_printf("--%s=%s", option, v));
	return true;
}

char **
mh_config_job_argv(const struct mh_config *cfg, const char *name, const char *const *given,
                   mh_config_option_arity_cb *arity, GError **error)
{
	g_autofree char *group = g_strdup_printf("job %s", name);
	g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) keys = NULL;

	if (cfg->path == NULL || !g_key_file_has_group(cfg->kf, group)) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE,
		            "no job '%s' in the config file %s (add a [job %s] section)", name,
		            cfg->path != NULL ? cfg->path : "(there is none)", name);
		return NULL;
	}
	keys = g_key_file_get_keys(cfg->kf, group, NULL, NULL);
	for (size_t k = 0; keys[k] != NULL; k++) {
		const char *key = keys[k];
		const char *option = strcmp(key, "source") == 0        ? "account1"
		                     : strcmp(key, "destination") == 0 ? "account2"
		                                                       : key;
		g_autofree char *v = NULL;

		if (given != NULL && g_strv_contains(given, option))
			continue; /* the command line wins */
		v = g_strstrip(g_key_file_get_value(cfg->kf, group, key, NULL));
		if (!config_job_key(cfg, group, key, v, arity, args, error))
			return NULL;
	}
	g_ptr_array_add(args, NULL);
	return (char **)g_ptr_array_steal(args, NULL);
}
