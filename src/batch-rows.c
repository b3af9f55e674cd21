/* SPDX-License-Identifier: MIT */
/* The rows of a batch file: the CSV header's columns mapped to `sync` options (or imapsync's
 * FAQ format), each row parsed and checked as `sync` checks its command line, named after
 * its accounts, duplicates refused, and the rows of one shard kept. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "mh-log.h"
#include "mh-secret.h"
#include "sync-job.h"
#include "sync-state.h"

#define ROWS_FILE_MAX (256 * 1024 * 1024) /* a batch file larger than this is refused */
#define ROWS_NAME_MAX 120                 /* characters of a row's file name before its hash */

enum col_kind {
	COL_OPTION,     /* a sync option with a value: --NAME CELL */
	COL_FLAG,       /* a sync option without a value: --NAME when the cell says yes */
	COL_ACCOUNT,    /* source / destination: --account1 / --account2 */
	COL_PASSWORD,   /* password1 / password2: the side's password (owner-only files) */
	COL_FOLDER_JOBS /* the row's connection pairs: sync's --jobs */
};

struct col {
	char *name; /* owned, as in the header (without leading dashes) */
	enum col_kind kind;
	int side; /* COL_ACCOUNT, COL_PASSWORD: 1 or 2 */
};

struct rows_ctx {
	const struct batch_input *in;
	GArray *cols;          /* struct col */
	bool owner_only;       /* the file can be read by its owner alone */
	GHashTable *pairs;     /* key -> GUINT_TO_POINTER(line) */
	GPtrArray *rows;       /* the result */
	guint total;           /* rows in the file */
	const char *passwords; /* NULL, or what a password column is called for messages */
};

const char *
batch_status_name(enum batch_status st)
{
	static const char *const names[] = {"not started", "running", "done",
	                                    "differences", "failed",  "interrupted"};

	return names[st];
}

int
batch_status_parse(const char *name)
{
	for (int st = BATCH_NOT_STARTED; st < BATCH_STATUSES; st++) {
		if (strcmp(name, batch_status_name((enum batch_status)st)) == 0)
			return st;
	}
	return -1;
}

void
batch_row_free(struct batch_row *row)
{
	if (row == NULL)
		return;
	g_free(row->source);
	g_free(row->destination);
	g_free(row->name);
	g_free(row->key);
	g_free(row->host[0]);
	g_free(row->host[1]);
	g_free(row->dst_account);
	g_free(row->lock_path);
	g_clear_pointer(&row->argv, g_ptr_array_unref);
	mh_secret_free(row->password[0]);
	mh_secret_free(row->password[1]);
	g_free(row->reason);
	g_free(row->waiting);
	g_free(row);
}

char **
batch_row_argv(const struct batch_row *row)
{
	char **argv = g_new0(char *, row->argv->len + 1);

	memcpy(argv, row->argv->pdata, row->argv->len * sizeof(char *));
	return argv;
}

unsigned
batch_shard_of(const char *key, unsigned shards)
{
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	guint8 digest[32];
	gsize len = sizeof(digest);
	guint64 v = 0;

	g_checksum_update(sum, (const guchar *)key, (gssize)strlen(key));
	g_checksum_get_digest(sum, digest, &len);
	for (int i = 0; i < 8; i++)
		v = v << 8 | digest[i];
	return (unsigned)(v % shards);
}

/* The header's column @raw (column @n) as a struct col. */
static bool
rows_column(struct rows_ctx *c, const char *raw, guint n, struct col *col, GError **error)
{
	static const char *const refused[] = {"log",      "report",   "state",     "account1",
	                                      "account2", "quiet",    "progress",  "debug",
	                                      "help",     "help-all", "wait-lock", "job"};
	g_autofree char *name = g_strstrip(g_strdup(raw));
	const char *bare = name;
	int arity;

	while (*bare == '-')
		bare++;
	col->name = g_ascii_strdown(bare, -1);
	col->side = 0;
	if (*col->name == '\0')
		return cli_usage(error, "%s line 1, column %u: the header names no column",
		                 c->in->path, n);
	for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
		if (strcmp(col->name, refused[i]) == 0)
			return cli_usage(error,
			                 "%s line 1, column %s: not a column of a batch file (the "
			                 "batch directory holds each row's log, report and state; "
			                 "give the others on the command line)",
			                 c->in->path, col->name);
	}
	if (strcmp(col->name, "jobs") == 0)
		return cli_usage(error,
		                 "%s line 1, column jobs: a row's connections are its "
		                 "folder-jobs column (--jobs counts rows at once)",
		                 c->in->path);
	if (strcmp(col->name, "source") == 0 || strcmp(col->name, "destination") == 0) {
		col->kind = COL_ACCOUNT;
		col->side = col->name[0] == 's' ? 1 : 2;
		return true;
	}
	if (strcmp(col->name, "password1") == 0 || strcmp(col->name, "password2") == 0) {
		col->kind = COL_PASSWORD;
		col->side = col->name[8] - '0';
		c->passwords = col->name;
		return true;
	}
	if (strcmp(col->name, "folder-jobs") == 0) {
		col->kind = COL_FOLDER_JOBS;
		return true;
	}
	arity = mh_sync_option_arity(col->name);
	if (arity == 0)
		return cli_usage(error,
		                 "%s line 1, column %s: not a sync option (see `mailhaul sync "
		                 "--help`) nor source, destination, password1, password2, "
		                 "folder-jobs",
		                 c->in->path, col->name);
	col->kind = arity == 1 ? COL_FLAG : COL_OPTION;
	return true;
}

/* A yes/no cell: 1 yes, 0 no (or empty), -1 neither. */
static int
rows_yes(const char *cell)
{
	static const char *const yes[] = {"1", "yes", "y", "true", "on"};
	static const char *const no[] = {"", "0", "no", "n", "false", "off"};

	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (g_ascii_strcasecmp(cell, yes[i]) == 0)
			return 1;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(no); i++) {
		if (g_ascii_strcasecmp(cell, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Adds what cell @value of column @col means to @row (its argv, its passwords). */
static bool
rows_cell(struct rows_ctx *c, struct batch_row *row, const struct col *col, const char *raw,
          GError **error)
{
	g_autofree char *value = g_strstrip(g_strdup(raw));
	char *end = NULL;
	guint64 n;

	if (col->kind == COL_PASSWORD) {
		if (*raw != '\0')
			row->password[col->side - 1] = mh_secret_strdup(raw);
		mh_secret_wipe((char *)raw, strlen(raw)); /* the record's copy */
		return true;
	}
	if (*value == '\0')
		return true; /* not given for this row */
	switch (col->kind) {
	case COL_FLAG:
		if (rows_yes(value) < 0)
			return cli_usage(error, "%s line %u, column %s: say yes or no", c->in->path,
			                 row->line, col->name);
		if (rows_yes(value) > 0)
			g_ptr_array_add(row->argv, g_strconcat("--", col->name, NULL));
		return true;
	case COL_ACCOUNT:
		g_ptr_array_add(row->argv, g_strdup(col->side == 1 ? "--account1" : "--account2"));
		break;
	case COL_FOLDER_JOBS:
		n = g_ascii_strtoull(value, &end, 10);
		if (*end != '\0' || n < 1 || n > 64)
			return cli_usage(
				error, "%s line %u, column folder-jobs: say a number from 1 to 64",
				c->in->path, row->line);
		row->folder_jobs = (unsigned)n;
		g_ptr_array_add(row->argv, g_strdup("--jobs"));
		break;
	default:
		g_ptr_array_add(row->argv, g_strconcat("--", col->name, NULL));
		break;
	}
	g_ptr_array_add(row->argv, g_steal_pointer(&value));
	return true;
}

/* The column an error of a row's command line is about ("--maxage must be ..."): the
 * longest column name that the message names as an option, or NULL. */
static const char *
rows_blame(const struct rows_ctx *c, const char *message)
{
	const char *best = NULL;

	for (guint i = 0; c->cols != NULL && i < c->cols->len; i++) {
		const struct col *col = &g_array_index(c->cols, struct col, i);
		g_autofree char *opt = g_strconcat("--", col->name, NULL);
		const char *at = strstr(message, opt);
		char next = at != NULL ? at[strlen(opt)] : 'x';

		if (at != NULL && !g_ascii_isalnum(next) && next != '-' &&
		    (best == NULL || strlen(col->name) > strlen(best)))
			best = col->name;
	}
	return best;
}

/* Fails with @local's message, placed at @row's line (and column, when one is named). */
static bool
rows_row_error(const struct rows_ctx *c, const struct batch_row *row, GError *local, GError **error)
{
	const char *column = rows_blame(c, local->message);
	int code = local->domain == MH_CONFIG_ERROR ? local->code : MH_CONFIG_ERROR_USAGE;

	if (column != NULL)
		g_set_error(error, MH_CONFIG_ERROR, code, "%s line %u, column %s: %s", c->in->path,
		            row->line, column, local->message);
	else
		g_set_error(error, MH_CONFIG_ERROR, code, "%s line %u: %s", c->in->path, row->line,
		            local->message);
	g_error_free(local);
	return false;
}

/* Whether side @side of @row will have a password (or a token) without asking anyone. */
static bool
rows_check_password(const struct rows_ctx *c, const struct batch_row *row,
                    const struct cli_account *a, int side, GError **error)
{
	if (a->passfile != NULL && access(a->passfile, R_OK) != 0)
		return cli_usage(error, "%s line %u, column passfile%d: cannot read %s: %s",
		                 c->in->path, row->line, side, a->passfile, g_strerror(errno));
	if (row->password[side - 1] != NULL || a->password != NULL || a->passfile != NULL ||
	    a->oauth_token != NULL || a->tokens != NULL || a->account != NULL ||
	    g_getenv("MAILHAUL_PASSWORD") != NULL)
		return true;
	return cli_usage(error,
	                 "%s line %u: no password for %s (side %d): add a passfile%d column, or "
	                 "give --passfile%d (with --authuser%d for an admin) for every row",
	                 c->in->path, row->line, a->user, side, side, side, side);
}

/* "alice@example.com" -> a name safe in a file name. */
static void
rows_append_safe(GString *out, const char *s)
{
	for (; *s != '\0'; s++)
		g_string_append_c(out,
		                  g_ascii_isalnum(*s) || strchr("@.+-", *s) != NULL ? *s : '_');
}

/* Names @row after its accounts (from its parsed @job) and records its pair. */
static bool
rows_identify(struct rows_ctx *c, struct batch_row *row, struct mh_sync_job *job, GError **error)
{
	const struct cli_account *a[2] = {mh_sync_job_account(job, 1), mh_sync_job_account(job, 2)};
	unsigned port[2] = {mh_sync_job_port(job, 1), mh_sync_job_port(job, 2)};
	g_autofree char *u1 = g_ascii_strdown(a[0]->user, -1);
	g_autofree char *u2 = g_ascii_strdown(a[1]->user, -1);
	g_autoptr(GString) name = g_string_new(NULL);
	g_autofree char *sum = NULL;
	g_autofree char *state = NULL;
	gpointer seen;

	for (int i = 0; i < 2; i++)
		row->host[i] = g_ascii_strdown(a[i]->host, -1);
	row->source = g_strdup_printf("%s@%s", a[0]->user, a[0]->host);
	row->destination = g_strdup_printf("%s@%s", a[1]->user, a[1]->host);
	row->key = g_strdup_printf("%s:%u:%s\n%s:%u:%s", row->host[0], port[0], u1, row->host[1],
	                           port[1], u2);
	row->dst_account = g_strdup_printf("%s:%u:%s", row->host[1], port[1], u2);
	if (g_hash_table_lookup_extended(c->pairs, row->key, NULL, &seen))
		return cli_usage(error,
		                 "%s line %u: the same account pair as line %u (%s to %s): a "
		                 "pair may appear once; remove one of the two lines",
		                 c->in->path, row->line, GPOINTER_TO_UINT(seen), row->source,
		                 row->destination);
	g_hash_table_insert(c->pairs, g_strdup(row->key), GUINT_TO_POINTER(row->line));
	sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, row->key, -1);
	rows_append_safe(name, row->source);
	g_string_append_c(name, '_');
	rows_append_safe(name, row->destination);
	if (name->len > ROWS_NAME_MAX)
		g_string_truncate(name, ROWS_NAME_MAX);
	g_string_append_printf(name, "-%.8s", sum);
	row->name = g_string_free(g_steal_pointer(&name), false);
	state = mh_state_default_path(a[0]->user, a[0]->host, port[0], a[1]->user, a[1]->host,
	                              port[1]);
	row->lock_path = g_strconcat(state, ".lock", NULL);
	return true;
}

/* Connection pairs @row may use under the per-host cap: fewer than asked when one row
 * alone would exceed it (said in the batch's log). */
static bool
rows_fit_cap(const struct rows_ctx *c, struct batch_row *row, GError **error)
{
	unsigned per_pair = strcmp(row->host[0], row->host[1]) == 0 ? 2 : 1;
	unsigned cap = c->in->max_per_host;

	if (cap == 0 || row->folder_jobs * per_pair <= cap)
		return true;
	if (cap < per_pair)
		return cli_usage(error,
		                 "%s line %u: --max-connections-per-host %u is less than the %u "
		                 "connections a mailbox needs (%s is both source and destination)",
		                 c->in->path, row->line, cap, per_pair, row->host[0]);
	row->folder_jobs = cap / per_pair;
	mh_log(MH_LOG_INFO, "line %u: %u folder jobs, under --max-connections-per-host %u",
	       row->line, row->folder_jobs, cap);
	return true;
}

/* Parses @row's command line as `sync` does, checks it, names the row; adds the options
 * that put its state and report in the batch directory. */
static bool
rows_check(struct rows_ctx *c, struct batch_row *row, GError **error)
{
	struct mh_sync_job *job;
	GError *local = NULL;
	bool ok;

	g_autofree char **argv = batch_row_argv(row);

	job = mh_sync_job_parse((int)row->argv->len, argv, false, &local);
	if (job == NULL || !mh_sync_job_check(job, &local)) {
		mh_sync_job_free(job);
		return rows_row_error(c, row, local, error);
	}
	ok = rows_check_password(c, row, mh_sync_job_account(job, 1), 1, error) &&
	     rows_check_password(c, row, mh_sync_job_account(job, 2), 2, error) &&
	     rows_identify(c, row, job, error) && rows_fit_cap(c, row, error);
	mh_sync_job_free(job);
	if (!ok)
		return false;
	g_ptr_array_add(row->argv, g_strdup("--jobs"));
	g_ptr_array_add(row->argv, g_strdup_printf("%u", row->folder_jobs));
	g_ptr_array_add(row->argv, g_strdup("--state"));
	g_ptr_array_add(row->argv, g_strdup_printf("%s/%s.state", c->in->dir, row->name));
	g_ptr_array_add(row->argv, g_strdup("--report"));
	g_ptr_array_add(row->argv, g_strdup_printf("%s/%s.json", c->in->dir, row->name));
	return true;
}

/* A new row at @line with the options for every row. */
static struct batch_row *
rows_new(const struct rows_ctx *c, guint line)
{
	struct batch_row *row = g_new0(struct batch_row, 1);

	row->line = line;
	row->folder_jobs = c->in->folder_jobs;
	row->argv = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(row->argv, g_strdup("sync"));
	g_ptr_array_add(row->argv, g_strdup("--jobs"));
	g_ptr_array_add(row->argv, g_strdup_printf("%u", c->in->folder_jobs));
	for (size_t i = 0; c->in->common != NULL && c->in->common[i] != NULL; i++)
		g_ptr_array_add(row->argv, g_strdup(c->in->common[i]));
	return row;
}

/* Checks @row and keeps it when it belongs to this shard. */
static bool
rows_add(struct rows_ctx *c, struct batch_row *row, GError **error)
{
	c->total++;
	if (!rows_check(c, row, error)) {
		batch_row_free(row);
		return false;
	}
	if (c->in->shards > 0 && batch_shard_of(row->key, c->in->shards) != c->in->shard - 1) {
		batch_row_free(row);
		return true;
	}
	g_ptr_array_add(c->rows, row);
	return true;
}

static bool
rows_load_csv(struct rows_ctx *c, const char *text, gsize len, GError **error)
{
	g_autoptr(GPtrArray) records = batch_csv_parse(text, len, ',', error);
	const struct batch_record *head;

	if (records == NULL) {
		g_prefix_error(error, "%s ", c->in->path);
		return false;
	}
	if (records->len == 0)
		return cli_usage(error, "%s is empty: give a header line and a line per mailbox",
		                 c->in->path);
	head = records->pdata[0];
	for (guint i = 0; i < head->fields->len; i++) {
		struct col col = {0};

		if (!rows_column(c, head->fields->pdata[i], i + 1, &col, error)) {
			g_free(col.name);
			return false;
		}
		g_array_append_val(c->cols, col);
	}
	if (c->passwords != NULL && !c->owner_only)
		return cli_usage(error,
		                 "%s holds passwords (column %s) and other users can read it: "
		                 "chmod 600 it, or give passfile columns instead",
		                 c->in->path, c->passwords);
	if (c->passwords != NULL)
		mh_log(MH_LOG_WARN,
		       "%s holds passwords in clear (column %s): prefer passfile1 and passfile2 "
		       "columns naming files of their own",
		       c->in->path, c->passwords);
	for (guint r = 1; r < records->len; r++) {
		const struct batch_record *rec = records->pdata[r];
		struct batch_row *row = rows_new(c, rec->line);

		if (rec->fields->len != c->cols->len) {
			batch_row_free(row);
			return cli_usage(error, "%s line %u: %u fields, but the header has %u",
			                 c->in->path, rec->line, rec->fields->len, c->cols->len);
		}
		for (guint i = 0; i < rec->fields->len; i++) {
			if (!rows_cell(c, row, &g_array_index(c->cols, struct col, i),
			               rec->fields->pdata[i], error)) {
				batch_row_free(row);
				return false;
			}
		}
		if (!rows_add(c, row, error))
			return false;
	}
	return true;
}

/* imapsync's FAQ format: host1;user1;password1;host2;user2;password2 per line (a last
 * empty field allowed), '#' comments; no quoting, as imapsync's shell loop reads it. */
static bool
rows_load_faq(struct rows_ctx *c, const char *text, GError **error)
{
	static const char *const names[] = {"host1", "user1", NULL, "host2", "user2", NULL};
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	if (!c->owner_only)
		return cli_usage(error,
		                 "%s is in imapsync's format with passwords, and other users can "
		                 "read it: chmod 600 it (or use a CSV file with passfile1 and "
		                 "passfile2 columns)",
		                 c->in->path);
	mh_log(MH_LOG_WARN,
	       "%s holds passwords in clear (imapsync's format): prefer a CSV file with "
	       "passfile1 and passfile2 columns",
	       c->in->path);
	for (guint i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) f = NULL;
		struct batch_row *row;
		guint n;

		g_strdelimit(lines[i], "\r", '\0');
		if (*g_strchug(lines[i]) == '\0' || lines[i][0] == '#')
			continue;
		f = g_strsplit(lines[i], ";", -1);
		n = g_strv_length(f);
		if (n == 7 && *g_strstrip(f[6]) == '\0')
			n = 6;
		if (n != 6)
			return cli_usage(error,
			                 "%s line %u: %u fields; imapsync's format has six: "
			                 "host1;user1;password1;host2;user2;password2",
			                 c->in->path, i + 1, n);
		row = rows_new(c, i + 1);
		for (int k = 0; k < 6; k++) {
			if (names[k] == NULL) {
				row->password[k / 3] = mh_secret_strdup(f[k]);
				mh_secret_wipe(f[k], strlen(f[k]));
				continue;
			}
			g_ptr_array_add(row->argv, g_strconcat("--", names[k], NULL));
			g_ptr_array_add(row->argv, g_strdup(g_strstrip(f[k])));
		}
		if (!rows_add(c, row, error))
			return false;
	}
	return true;
}

/* Whether @text is in imapsync's FAQ format: its first line (that is not a comment) has
 * five semicolons or more and no comma. */
static bool
rows_is_faq(const char *text)
{
	const char *p = text;

	while (*p == '#' || *p == '\n' || *p == '\r') {
		p = *p == '#' ? strchr(p, '\n') : p + 1;
		if (p == NULL)
			return false;
	}
	{
		const char *eol = strchr(p, '\n');
		gsize len = eol != NULL ? (gsize)(eol - p) : strlen(p);
		guint semis = 0;

		for (gsize i = 0; i < len; i++) {
			if (p[i] == ',')
				return false;
			semis += p[i] == ';';
		}
		return semis >= 5;
	}
}

/* Reads the whole batch file, a regular file; *owner_only_r says whether only its owner
 * can read it. Returns a secret buffer (it may hold passwords), or NULL. */
static char *
rows_read_file(const char *path, gsize *len_r, bool *owner_only_r, GError **error)
{
	struct stat st;
	char *buf;
	gsize got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ROWS_FILE_MAX) {
		g_set_error(error, MH_CONFIG_ERROR, MH_CONFIG_ERROR_NOINPUT,
		            "cannot read the batch file %s: %s", path,
		            fd < 0 || errno != 0         ? g_strerror(errno)
		            : st.st_size > ROWS_FILE_MAX ? "larger than 256 MB"
		                                         : "not a regular file");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	*owner_only_r = (st.st_mode & (S_IRWXG | S_IRWXO)) == 0;
	buf = mh_secret_alloc((gsize)st.st_size);
	while (got < (gsize)st.st_size) {
		ssize_t n = read(fd, buf + got, (gsize)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (gsize)n;
	}
	close(fd);
	*len_r = got;
	return buf;
}

GPtrArray *
batch_rows_load(const struct batch_input *in, guint *total_r, GError **error)
{
	struct rows_ctx c = {.in = in};
	gsize len = 0;
	char *text;
	bool ok;

	errno = 0;
	text = rows_read_file(in->path, &len, &c.owner_only, error);
	if (text == NULL)
		return NULL;
	c.cols = g_array_new(false, true, sizeof(struct col));
	c.pairs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	c.rows = g_ptr_array_new_with_free_func((GDestroyNotify)batch_row_free);
	if (strlen(text) != len)
		ok = cli_usage(error, "%s holds a NUL byte: it is not a text file", in->path);
	else if (rows_is_faq(text))
		ok = rows_load_faq(&c, text, error);
	else
		ok = rows_load_csv(&c, text, len, error);
	if (ok && c.total == 0)
		ok = cli_usage(error, "%s has no rows: give a line per mailbox", in->path);
	mh_secret_wipe(text, len);
	mh_secret_free(text);
	for (guint i = 0; i < c.cols->len; i++)
		g_free(g_array_index(c.cols, struct col, i).name);
	g_array_free(c.cols, true);
	g_hash_table_unref(c.pairs);
	*total_r = c.total;
	if (!ok)
		g_clear_pointer(&c.rows, g_ptr_array_unref);
	return c.rows;
}
