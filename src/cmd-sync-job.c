/* SPDX-License-Identifier: MIT */
/* `mailhaul sync --job NAME`: the config file's [job NAME] turned into sync's command line,
 * put before the options given with --job so that those win, with the report under
 * $XDG_STATE_HOME/mailhaul/reports/NAME.json unless the job or the command line names one. */
#include <string.h>

#include "cli.h"
#include "config.h"
#include "sync-job.h"

int
mh_sync_option_arity(const char *name)
{
	g_autofree char *opt = g_strconcat("--", name, NULL);
	char *argv[] = {"sync", opt, NULL};
	g_autoptr(GError) local = NULL;
	struct mh_sync_job *job = mh_sync_job_parse(2, argv, false, &local);

	mh_sync_job_free(job);
	if (job != NULL)
		return 1;
	if (g_error_matches(local, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION))
		return 0;
	return g_error_matches(local, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE) ? 2 : 1;
}

/* The value of option @name at argv[*i] ("--name VALUE" or "--name=VALUE"), or NULL. */
static const char *
job_arg_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static bool
job_has_report(char **job)
{
	for (size_t i = 0; job[i] != NULL; i++) {
		if (g_str_has_prefix(job[i], "--report="))
			return true;
	}
	return false;
}

char **
mh_sync_job_args(int argc, char **argv, int *argc_r, GError **error)
{
	const char *name = NULL;
	const char *config = NULL;
	g_autoptr(GPtrArray) given = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(mh_config) cfg = NULL;
	g_auto(GStrv) job = NULL;
	GPtrArray *args;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *v;

		if ((v = job_arg_value(argc, argv, &i, "--job")) != NULL)
			name = v;
		else if ((v = job_arg_value(argc, argv, &i, "--config")) != NULL)
			config = v;
		else if (strcmp(argv[i], "-q") == 0)
			g_ptr_array_add(given, g_strdup("quiet"));
		else if (g_str_has_prefix(argv[i], "--"))
			g_ptr_array_add(given, g_strndup(argv[i] + 2, strcspn(argv[i] + 2, "=")));
	}
	g_ptr_array_add(given, NULL);
	if (name == NULL)
		return NULL;
	if (!mh_job_name_valid(name)) {
		cli_usage(error,
		          "--job '%s': a job's name is made of letters, digits, '.', '-' and "
		          "'_'",
		          name);
		return NULL;
	}
	cfg = mh_config_load(config, error);
	if (cfg == NULL)
		return NULL;
	job = mh_config_job_argv(cfg, name, (const char *const *)given->pdata, mh_sync_option_arity,
	                         error);
	if (job == NULL)
		return NULL;
	args = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(args, g_strdup(argv[0]));
	for (size_t i = 0; job[i] != NULL; i++)
		g_ptr_array_add(args, g_strdup(job[i]));
	if (!g_strv_contains((const char *const *)given->pdata, "report") && !job_has_report(job))
		g_ptr_array_add(args, g_strdup_printf("--report=%s/mailhaul/reports/%s.json",
		                                      g_get_user_state_dir(), name));
	for (int i = 1; i < argc; i++)
		g_ptr_array_add(args, g_strdup(argv[i]));
	*argc_r = (int)args->len;
	g_ptr_array_add(args, NULL);
	return (char **)g_ptr_array_free(args, false);
}
