/* SPDX-License-Identifier: MIT */
/* A keyring in plain files, for hosts without a Secret Service: one 0600 file per key
 * in a 0700 directory, named by a readable prefix of the key and a hash of it, holding
 * a format line, the key and the secret. Files are replaced atomically (temporary file
 * created 0600 with O_EXCL, fsync, rename, fsync of the directory). */
#include "keyring-private.h"

#include "mh-secret.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_MAGIC          "mailhaul-secret 1\n"
#define FILE_SUFFIX         ".secret"
#define FILE_TMP_PREFIX     ".tmp-"
#define FILE_PREFIX_MAX     40            /* readable bytes of the key in a file name */
#define FILE_HASH_LEN       32            /* hex digits of SHA-256 in a file name (128 bits) */
#define FILE_SIZE_MAX       (1024 * 1024) /* larger files are not ours */
#define FILE_STALE_TMP_SECS 600           /* older temporary files are left by a crash */

struct keyring_file {
	struct mh_keyring kr; /* first: the public part */
	char *dir;            /* owned: the directory's path, for messages */
	int dirfd;            /* owned: the directory, opened O_DIRECTORY */
};

/* Returns the file name for @key: its safe bytes (others as '_'), a dash and a hash of
 * the whole key, so that names are readable and distinct keys never share a file. */
static char *
keyring_file_name(const char *key)
{
	g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
	GString *name = g_string_new(NULL);

	for (size_t i = 0; key[i] != '\0' && name->len < FILE_PREFIX_MAX; i++) {
		char c = key[i];

		if (g_ascii_isalnum(c) || c == '@' || c == '+' || c == '-' || c == '_' ||
		    (c == '.' && i > 0))
			g_string_append_c(name, c);
		else
			g_string_append_c(name, '_');
	}
	g_string_append_printf(name, "-%.*s%s", FILE_HASH_LEN, hash, FILE_SUFFIX);
	return g_string_free(name, FALSE);
}

static void
keyring_file_set_errno(GError **error, int code, int errsv, const char *what, const char *dir,
                       const char *name)
{
	g_set_error(error, MH_KEYRING_ERROR, code, "file keyring: cannot %s %s/%s: %s", what, dir,
	            name, g_strerror(errsv));
}

/* Reads file @name whole into a new mh_secret buffer. Returns 1, 0 when there is no
 * such file, or -1 with @error set. */
static int
keyring_file_read(struct keyring_file *kf, const char *name, char **data_r, GError **error)
{
	struct stat st;
	char *data = NULL;
	size_t got = 0;
	int fd;

	fd = openat(kf->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		keyring_file_set_errno(error, MH_KEYRING_ERROR_IO, errno, "open", kf->dir, name);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		keyring_file_set_errno(error, MH_KEYRING_ERROR_IO, errno, "stat", kf->dir, name);
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > FILE_SIZE_MAX) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_CORRUPT,
		            "file keyring: %s/%s is not a regular file of at most %d bytes",
		            kf->dir, name, FILE_SIZE_MAX);
		goto fail;
	}
	data = mh_secret_alloc((size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			keyring_file_set_errno(error, MH_KEYRING_ERROR_IO, errno, "read", kf->dir,
			                       name);
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_CORRUPT,
		            "file keyring: %s/%s changed size while being read", kf->dir, name);
		goto fail;
	}
	close(fd);
	*data_r = data;
	return 1;
fail:
	mh_secret_free(data);
	close(fd);
	return -1;
}

/* Splits file contents @data of file @name into its key and secret (both borrowed
 * from @data, which this NUL-terminates in place). Returns false when malformed. */
static bool
keyring_file_parse(struct keyring_file *kf, const char *name, char *data, const char **key_r,
                   const char **secret_r, GError **error)
{
	size_t magic_len = strlen(FILE_MAGIC);
	char *key = data + magic_len;
	char *nl;

	if (strncmp(data, FILE_MAGIC, magic_len) != 0 || (nl = strchr(key, '\n')) == NULL) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_CORRUPT,
		            "file keyring: %s/%s is not a mailhaul secret file", kf->dir, name);
		return false;
	}
	*nl = '\0';
	if (!mh_keyring_key_valid(key)) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_CORRUPT,
		            "file keyring: %s/%s holds an invalid key", kf->dir, name);
		return false;
	}
	*key_r = key;
	*secret_r = nl + 1;
	return true;
}

/* Reads the file for @key. Returns 1 with *data_r (an mh_secret buffer) and *secret_r
 * (borrowed from it), 0 when there is none, -1 with @error set. */
static int
keyring_file_load(struct keyring_file *kf, const char *key, char **data_r, const char **secret_r,
                  GError **error)
{
	g_autofree char *name = keyring_file_name(key);
	const char *stored_key;
	char *data = NULL;
	int ret;

	ret = keyring_file_read(kf, name, &data, error);
	if (ret <= 0)
		return ret;
	if (!keyring_file_parse(kf, name, data, &stored_key, secret_r, error)) {
		mh_secret_free(data);
		return -1;
	}
	if (strcmp(stored_key, key) != 0) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_CORRUPT,
		            "file keyring: %s/%s holds another key than its name says", kf->dir,
		            name);
		mh_secret_free(data);
		return -1;
	}
	*data_r = data;
	return 1;
}

static bool
keyring_file_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		data += n;
		len -= (size_t)n;
	}
	return true;
}

/* Creates a new temporary file in the directory, 0600 from the start. Returns its
 * descriptor and *name_r (caller frees), or -1 with errno set. */
static int
keyring_file_create_tmp(struct keyring_file *kf, char **name_r)
{
	for (int tries = 0; tries < 100; tries++) {
		g_autofree char *name =
			g_strdup_printf(FILE_TMP_PREFIX "%08x%08x", g_random_int(), g_random_int());
		int fd = openat(kf->dirfd, name,
		                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		                S_IRUSR | S_IWUSR);

		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd >= 0)
			*name_r = g_steal_pointer(&name);
		return fd;
	}
	errno = EEXIST;
	return -1;
}

static bool
keyring_file_store(struct mh_keyring *kr, const char *key, const char *secret, GError **error)
{
	struct keyring_file *kf = (struct keyring_file *)kr;
	g_autofree char *name = keyring_file_name(key);
	g_autofree char *tmp = NULL;
	size_t magic_len = strlen(FILE_MAGIC), key_len = strlen(key), secret_len = strlen(secret);
	size_t len = magic_len + key_len + 1 + secret_len;
	char *data = mh_secret_alloc(len);
	const char *what = "create a temporary file for";
	bool ok = false;
	int fd;

	memcpy(data, FILE_MAGIC, magic_len);
	memcpy(data + magic_len, key, key_len);
	data[magic_len + key_len] = '\n';
	memcpy(data + magic_len + key_len + 1, secret, secret_len);

	fd = keyring_file_create_tmp(kf, &tmp);
	if (fd < 0)
		goto out;
	/* umask may only take bits away; make sure of exactly 0600 anyway. */
	what = "write";
	if (fchmod(fd, S_IRUSR | S_IWUSR) < 0 || !keyring_file_write_all(fd, data, len))
		goto out;
	what = "sync";
	if (fsync(fd) < 0)
		goto out;
	what = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	what = "rename a temporary file to";
	if (renameat(kf->dirfd, tmp, kf->dirfd, name) < 0)
		goto out;
	g_clear_pointer(&tmp, g_free);
	/* The rename itself must survive a crash too. */
	(void)fsync(kf->dirfd);
	ok = true;
out:
	if (!ok)
		keyring_file_set_errno(error, MH_KEYRING_ERROR_IO, errno, what, kf->dir, name);
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		(void)unlinkat(kf->dirfd, tmp, 0);
	mh_secret_free(data);
	return ok;
}

static int
keyring_file_lookup(struct mh_keyring *kr, const char *key, char **secret_r, GError **error)
{
	struct keyring_file *kf = (struct keyring_file *)kr;
	const char *secret;
	char *data = NULL;
	int ret;

	ret = keyring_file_load(kf, key, &data, &secret, error);
	if (ret <= 0)
		return ret;
	*secret_r = mh_secret_strdup(secret);
	mh_secret_free(data);
	return 1;
}

static int
keyring_file_clear(struct mh_keyring *kr, const char *key, GError **error)
{
	struct keyring_file *kf = (struct keyring_file *)kr;
	g_autofree char *name = keyring_file_name(key);

	if (unlinkat(kf->dirfd, name, 0) == 0) {
		(void)fsync(kf->dirfd);
		return 1;
	}
	if (errno == ENOENT)
		return 0;
	keyring_file_set_errno(error, MH_KEYRING_ERROR_IO, errno, "remove", kf->dir, name);
	return -1;
}

/* Calls @fn on every entry of the directory; stops and returns false when it does. */
static bool
keyring_file_each(struct keyring_file *kf,
                  bool (*fn)(struct keyring_file *kf, const char *name, void *ctx, GError **error),
                  void *ctx, GError **error)
{
	struct dirent *de;
	bool ok = true;
	DIR *d;
	int fd;

	fd = openat(kf->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		keyring_file_set_errno(error, MH_KEYRING_ERROR_IO, errno, "list", kf->dir, "");
		if (fd >= 0)
			close(fd);
		return false;
	}
	errno = 0;
	while (ok && (de = readdir(d)) != NULL)
		ok = fn(kf, de->d_name, ctx, error);
	if (ok && errno != 0) {
		keyring_file_set_errno(error, MH_KEYRING_ERROR_IO, errno, "list", kf->dir, "");
		ok = false;
	}
	closedir(d);
	return ok;
}

static bool
keyring_file_list_one(struct keyring_file *kf, const char *name, void *ctx, GError **error)
{
	GPtrArray *keys = ctx;
	g_autofree char *expected = NULL;
	const char *key, *secret;
	char *data = NULL;
	int ret;

	if (name[0] == '.' || !g_str_has_suffix(name, FILE_SUFFIX))
		return true;
	ret = keyring_file_read(kf, name, &data, error);
	if (ret == 0) /* removed meanwhile */
		return true;
	if (ret < 0 || !keyring_file_parse(kf, name, data, &key, &secret, error)) {
		mh_secret_free(data);
		return false;
	}
	expected = keyring_file_name(key);
	if (strcmp(expected, name) != 0) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_CORRUPT,
		            "file keyring: %s/%s holds another key than its name says", kf->dir,
		            name);
		mh_secret_free(data);
		return false;
	}
	g_ptr_array_add(keys, g_strdup(key));
	mh_secret_free(data);
	return true;
}

static bool
keyring_file_list(struct mh_keyring *kr, GPtrArray *keys, GError **error)
{
	return keyring_file_each((struct keyring_file *)kr, keyring_file_list_one, keys, error);
}

/* Removes temporary files that a crashed or killed writer left behind; recent ones may
 * belong to a writer still at work and stay. Failures are harmless and ignored. */
static bool
keyring_file_clean_one(struct keyring_file *kf, const char *name, void *ctx, GError **error)
{
	struct stat st;

	(void)ctx;
	(void)error;
	if (!g_str_has_prefix(name, FILE_TMP_PREFIX))
		return true;
	if (fstatat(kf->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_mtime < time(NULL) - FILE_STALE_TMP_SECS)
		(void)unlinkat(kf->dirfd, name, 0);
	return true;
}

static void
keyring_file_close(struct mh_keyring *kr)
{
	struct keyring_file *kf = (struct keyring_file *)kr;

	if (kf->dirfd >= 0)
		close(kf->dirfd);
	g_free(kf->dir);
	g_free(kf);
}

static const struct mh_keyring_ops keyring_file_ops = {
	.name = "file",
	.store = keyring_file_store,
	.lookup = keyring_file_lookup,
	.clear = keyring_file_clear,
	.list = keyring_file_list,
	.close = keyring_file_close,
};

/* Opens directory @dir, creating it (and its parents) 0700; refuses one that others
 * can enter or read, or that belongs to someone else. */
static int
keyring_file_open_dir(const char *dir, GError **error)
{
	struct stat st;
	int fd;

	if (g_mkdir_with_parents(dir, S_IRWXU) < 0) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_IO,
		            "file keyring: cannot create directory %s: %s", dir, g_strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_IO,
		            "file keyring: cannot open directory %s: %s", dir, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || st.st_uid != geteuid()) {
		g_set_error(error, MH_KEYRING_ERROR, MH_KEYRING_ERROR_IO,
		            "file keyring: directory %s is open to other users (mode %04o, owner "
		            "%u); it must be yours with mode 0700 (chmod 700 %s)",
		            dir, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, dir);
		close(fd);
		return -1;
	}
	return fd;
}

struct mh_keyring *
mh_keyring_file_new(const char *dir, GError **error)
{
	g_autofree char *path = NULL;
	struct keyring_file *kf;
	int fd;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (dir != NULL)
		path = g_strdup(dir);
	else
		path = g_build_filename(g_get_user_data_dir(), "mailhaul", "secrets", NULL);
	fd = keyring_file_open_dir(path, error);
	if (fd < 0)
		return NULL;
	kf = g_new0(struct keyring_file, 1);
	kf->kr.ops = &keyring_file_ops;
	kf->dir = g_steal_pointer(&path);
	kf->dirfd = fd;
	(void)keyring_file_each(kf, keyring_file_clean_one, NULL, NULL);
	return &kf->kr;
}
