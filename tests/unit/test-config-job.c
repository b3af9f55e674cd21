/* SPDX-License-Identifier: MIT */
/* [job NAME] sections of the config file: their names, their accounts, and their keys
 * turned into sync's command line (flags, values, repeatable options, what the command
 * line overrides), with errors naming the file, the line and the key. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"

static char *
write_config(const char *text)
{
	g_autoptr(GError) error = NULL;
	char *path = NULL;
	int fd = g_file_open_tmp("mh-config-job-XXXXXX.ini", &path, &error);

	g_assert_no_error(error);
	g_assert_cmpint(write(fd, text, strlen(text)), ==, (gssize)strlen(text));
	close(fd);
	return path;
}

/* A few of sync's options, as the real table answers for them. */
static int
fake_arity(const char *name)
{
	static const char *const flags[] = {"dry", "delete2", "automap", NULL};
	static const char *const values[] = {"account1", "account2", "host1",     "user1",
	                                     "exclude",  "folder",   "maxage",    "report",
	                                     "config",   "job",      "passfile1", NULL};

	if (g_strv_contains(flags, name))
		return 1;
	return g_strv_contains(values, name) ? 2 : 0;
}

/* Loads @text and returns [job @name]'s arguments joined by spaces, or NULL with @error. */
static char *
job_line(const char *text, const char *name, const char *const *given, GError **error)
{
	g_autofree char *path = write_config(text);
	g_autoptr(mh_config) cfg = mh_config_load(path, error);
	g_auto(GStrv) argv = NULL;

	g_unlink(path);
	if (cfg == NULL)
		return NULL;
	argv = mh_config_job_argv(cfg, name, given, fake_arity, error);
	return argv == NULL ? NULL : g_strjoinv(" ", argv);
}

static void
test_job_keys_become_options(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *line = job_line("[job alice]\n"
	                                 "source = gmail:alice@example.com\n"
	                                 "destination = m365:alice@contoso.com\n"
	                                 "dry = yes\n"
	                                 "delete2 = false\n"
	                                 "exclude = ^Junk$ ; ^Trash$;\n"
	                                 "maxage = 365\n"
	                                 "report = /srv/reports/alice.json\n",
	                                 "alice", NULL, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(line, ==,
	                "--account1=gmail:alice@example.com --account2=m365:alice@contoso.com "
	                "--dry --exclude=^Junk$ --exclude=^Trash$ --maxage=365 "
	                "--report=/srv/reports/alice.json");
}

static void
test_command_line_wins(void)
{
	static const char *const given[] = {"account2", "maxage", NULL};
	g_autoptr(GError) error = NULL;
	g_autofree char *line = job_line("[job a]\nsource = generic:a\ndestination = generic:b\n"
	                                 "maxage = 30\nfolder = INBOX\n",
	                                 "a", given, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(line, ==, "--account1=generic:a --folder=INBOX");
}

static void
test_values_are_raw(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *line = job_line("[job r]\nexclude = ^Archive\\.20\\d\\d\n"
	                                 "passfile1 = /home/bob/my pass\n",
	                                 "r", NULL, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(line, ==, "--exclude=^Archive\\.20\\d\\d --passfile1=/home/bob/my pass");
}

static void
expect_error(const char *text, const char *name, const char *words)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *line = job_line(text, name, NULL, &error);

	g_assert_null(line);
	g_assert_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_USAGE);
	if (strstr(error->message, words) == NULL)
		g_error("'%s' does not say '%s'", error->message, words);
}

static void
test_job_errors(void)
{
	expect_error("[job a]\nfrobnicate = 1\n", "a", ":2: [job a] frobnicate: unknown key");
	expect_error("[job a]\nsource = x\ndry = perhaps\n", "a",
	             ":2: [job a] source: 'x' is not an account");
	expect_error("[job a]\n\ndry = perhaps\n", "a", ":3: [job a] dry: 'perhaps'");
	expect_error("[job a]\nmaxage =\n", "a", ":2: [job a] maxage: empty value");
	expect_error("[job a]\njob = b\n", "a", "[job a] job: not allowed in a job");
	expect_error("[job a]\nconfig = /etc/x\n", "a", "[job a] config: not allowed in a job");
	expect_error("[job a]\nhelp = true\n", "a", "[job a] help: not allowed in a job");
	expect_error("[job a]\ndry = yes\n", "b", "no job 'b' in the config file");
	expect_error("[job a b]\ndry = yes\n", "a", ":1: [job a b]: a job's name");
	expect_error("[jobs]\ndry = yes\n", "a", "unknown section");
}

static void
test_job_names(void)
{
	g_assert_true(mh_job_name_valid("alice"));
	g_assert_true(mh_job_name_valid("alice_2024-m365.nightly"));
	g_assert_false(mh_job_name_valid(""));
	g_assert_false(mh_job_name_valid(".hidden"));
	g_assert_false(mh_job_name_valid("a/b"));
	g_assert_false(mh_job_name_valid("a b"));
	g_assert_false(mh_job_name_valid("a@b"));
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/config/job/keys-become-options", test_job_keys_become_options);
	g_test_add_func("/config/job/command-line-wins", test_command_line_wins);
	g_test_add_func("/config/job/values-are-raw", test_values_are_raw);
	g_test_add_func("/config/job/errors", test_job_errors);
	g_test_add_func("/config/job/names", test_job_names);
	return g_test_run();
}
