/* SPDX-License-Identifier: MIT */
/* The config file: sections, keys, values, errors with file and line; account resolution
 * over built-in profiles. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static char *
write_config(const char *text)
{
	g_autoptr(GError) error = NULL;
	char *path = NULL;
	int fd = g_file_open_tmp("mh-config-XXXXXX.ini", &path, &error);

	g_assert_no_error(error);
	g_assert_cmpint(write(fd, text, strlen(text)), ==, (gssize)strlen(text));
	close(fd);
	return path;
}

static void
test_resolve_builtin(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_account) a = mh_account_resolve(NULL, "gmail:alice@example.com", &error);

	g_assert_no_error(error);
	g_assert_cmpstr(a->provider_name, ==, "gmail");
	g_assert_cmpstr(a->user, ==, "alice@example.com");
	g_assert_cmpstr(a->set.imap_host, ==, "imap.gmail.com");
	g_assert_cmpint(a->set.imap_port, ==, 993);
	g_assert_cmpstr(a->set.scopes, ==, "https://mail.google.com/");
	g_assert_cmpint(a->set.flow, ==, MH_PROVIDER_FLOW_BROWSER);
	g_assert_null(a->set.client_id);
}

static void
test_tenant_and_overrides(void)
{
	g_autofree char *path = write_config(
		"[provider m365]\nclient-id = 1111-2222\ntenant = contoso.onmicrosoft.com\n\n"
		"[account m365:bob@contoso.com]\nflow = browser\nimap-port = 1993\n"
		"token-store = file\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_config) cfg = mh_config_load(path, &error);
	g_autoptr(mh_account) a = NULL;

	g_assert_no_error(error);
	a = mh_account_resolve(cfg, "m365:bob@contoso.com", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(a->set.client_id, ==, "1111-2222");
	g_assert_cmpstr(
		a->set.token_url, ==,
		"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
	g_assert_cmpint(a->set.flow, ==, MH_PROVIDER_FLOW_BROWSER);
	g_assert_cmpint(a->set.imap_port, ==, 1993);
	g_assert_cmpint(a->set.token_store, ==, MH_TOKEN_STORE_FILE);
	g_clear_pointer(&a, mh_account_free);
	a = mh_account_resolve(cfg, "m365:carol@contoso.com", &error);
	g_assert_cmpint(a->set.flow, ==, MH_PROVIDER_FLOW_DEVICE);
	g_unlink(path);
}

static void
test_custom_provider(void)
{
	g_autofree char *path =
		write_config("[provider corp]\nimap-host = mail.corp.example\n"
	                     "imap-tls = starttls\ntoken-url = http://127.0.0.1:9/t\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_config) cfg = mh_config_load(path, &error);
	g_autoptr(mh_account) a = mh_account_resolve(cfg, "corp:dave", &error);

	g_assert_no_error(error);
	g_assert_null(a->builtin);
	g_assert_cmpstr(a->set.imap_host, ==, "mail.corp.example");
	g_assert_cmpint(a->set.imap_tls, ==, MH_PROVIDER_TLS_STARTTLS);
	g_assert_cmpint(a->set.imap_port, ==, -1);
	g_clear_pointer(&a, mh_account_free);
	a = mh_account_resolve(cfg, "nosuch:erin", &error);
	g_assert_null(a);
	g_assert_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE);
	g_assert_nonnull(strstr(error->message, "unknown provider 'nosuch'"));
	g_unlink(path);
}

/* Each bad file names its path, the line and the key. */
static void
test_errors_name_line_and_key(void)
{
	static const struct {
		const char *text;
		const char *expect;
	} cases[] = {
		{"[provider gmail]\nclient-id = x\nclientid = y\n",
	         ":3: [provider gmail] clientid: unknown key"},
		{"[provider gmail]\n\nimap-tls = tls\n",
	         ":3: [provider gmail] imap-tls: unknown value 'tls'"},
		{"[provider gmail]\nimap-port = 99999\n",
	         ":2: [provider gmail] imap-port: '99999' is not a port number"},
		{"[provider x]\nflow = magic\n", ":2: [provider x] flow: unknown value 'magic'"},
		{"[account gmail:a]\ntoken-store = vault\n",
	         ":2: [account gmail:a] token-store: unknown value 'vault'"},
		{"[settings]\nx = 1\n", ":1: [settings]: unknown section"},
		{"[account alice]\n", ":1: [account alice]: an account is written PROVIDER:USER"},
		{"[provider gmail]\nscopes =\n", ":2: [provider gmail] scopes: empty value"},
		{"[provider gmail]\nsmtp-tls = none\n",
	         ":2: [provider gmail] smtp-tls: unknown value 'none' (use ssl or starttls)"},
		{"[provider gmail]\nsmtp-port = 0\n",
	         ":2: [provider gmail] smtp-port: '0' is not a port number"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *path = write_config(cases[i].text);
		g_autoptr(GError) error = NULL;
		g_autoptr(mh_config) cfg = mh_config_load(path, &error);

		g_assert_null(cfg);
		g_assert_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE);
		g_assert_true(g_str_has_prefix(error->message, path));
		if (strstr(error->message, cases[i].expect) == NULL)
			g_error("case %zu: '%s' lacks '%s'", i, error->message, cases[i].expect);
		g_unlink(path);
	}
}

/* The submission server: built-in profiles, and a provider of the file over them. */
static void
test_smtp_settings(void)
{
	g_autofree char *path = write_config("[provider corp]\nimap-host = mail.corp.example\n"
	                                     "smtp-host = smtp.corp.example\nsmtp-port = 2525\n"
	                                     "smtp-tls = ssl\n");
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_config) cfg = mh_config_load(path, &error);
	g_autoptr(mh_account) gmail = mh_account_resolve(NULL, "gmail:a@example.com", &error);
	g_autoptr(mh_account) m365 = mh_account_resolve(NULL, "m365:b@contoso.com", &error);
	g_autoptr(mh_account) generic = mh_account_resolve(NULL, "generic:c", &error);
	g_autoptr(mh_account) corp = NULL;

	g_assert_no_error(error);
	g_assert_cmpstr(gmail->set.smtp_host, ==, "smtp.gmail.com");
	g_assert_cmpint(gmail->set.smtp_port, ==, 465);
	g_assert_cmpint(gmail->set.smtp_tls, ==, MH_PROVIDER_TLS_IMPLICIT);
	g_assert_cmpstr(m365->set.smtp_host, ==, "smtp.office365.com");
	g_assert_cmpint(m365->set.smtp_port, ==, 587);
	g_assert_cmpint(m365->set.smtp_tls, ==, MH_PROVIDER_TLS_STARTTLS);
	g_assert_null(generic->set.smtp_host);
	g_assert_cmpint(generic->set.smtp_port, ==, -1);
	corp = mh_account_resolve(cfg, "corp:d", &error);
	g_assert_no_error(error);
	g_assert_cmpstr(corp->set.smtp_host, ==, "smtp.corp.example");
	g_assert_cmpint(corp->set.smtp_port, ==, 2525);
	g_assert_cmpint(corp->set.smtp_tls, ==, MH_PROVIDER_TLS_IMPLICIT);
	g_unlink(path);
}

static void
test_missing_files(void)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(mh_config) cfg = mh_config_load("/nonexistent/mailhaul.ini", &error);
	g_autofree char *dir = g_dir_make_tmp("mh-config-XXXXXX", NULL);

	g_assert_null(cfg);
	g_assert_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT);
	g_clear_error(&error);
	/* No default file at all is fine. */
	g_setenv("XDG_CONFIG_HOME", dir, true);
	g_unsetenv("MAILHAUL_CONFIG");
	cfg = mh_config_load(NULL, &error);
	g_assert_no_error(error);
	g_assert_null(mh_config_path(cfg));
	g_clear_pointer(&cfg, mh_config_free);
	/* $MAILHAUL_CONFIG names a file that must exist. */
	g_setenv("MAILHAUL_CONFIG", "/nonexistent/env.ini", true);
	cfg = mh_config_load(NULL, &error);
	g_assert_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT);
	g_unsetenv("MAILHAUL_CONFIG");
	g_rmdir(dir);
}

static void
test_account_specs(void)
{
	g_assert_true(mh_account_spec_valid("gmail:alice@example.com"));
	g_assert_true(mh_account_spec_valid("m365:bob"));
	g_assert_false(mh_account_spec_valid("alice@example.com"));
	g_assert_false(mh_account_spec_valid(":alice"));
	g_assert_false(mh_account_spec_valid("gmail:"));
	g_assert_false(mh_account_spec_valid("gm ail:alice"));
	g_assert_false(mh_account_spec_valid("gmail:al ice"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cli/config/resolve-builtin", test_resolve_builtin);
	g_test_add_func("/cli/config/tenant-and-overrides", test_tenant_and_overrides);
	g_test_add_func("/cli/config/custom-provider", test_custom_provider);
	g_test_add_func("/cli/config/errors-name-line-and-key", test_errors_name_line_and_key);
	g_test_add_func("/cli/config/missing-files", test_missing_files);
	g_test_add_func("/cli/config/smtp-settings", test_smtp_settings);
	g_test_add_func("/cli/config/account-specs", test_account_specs);
	return g_test_run();
}
