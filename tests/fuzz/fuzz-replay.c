/* SPDX-License-Identifier: MIT */
/* Runs LLVMFuzzerTestOneInput over every file of a seed corpus directory, so seeds
 * (and every crash once found) run as an ordinary test in every build. */
#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	g_autoptr(GDir) dir = NULL;
	g_autoptr(GError) error = NULL;
	const char *name;
	unsigned count = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	dir = g_dir_open(argv[1], 0, &error);
	if (dir == NULL) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	while ((name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(argv[1], name, NULL);
		g_autofree char *data = NULL;
		gsize len;

		if (!g_file_get_contents(path, &data, &len, &error)) {
			fprintf(stderr, "%s\n", error->message);
			return 1;
		}
		LLVMFuzzerTestOneInput((const uint8_t *)data, len);
		count++;
	}
	if (count == 0) {
		fprintf(stderr, "no seeds in %s\n", argv[1]);
		return 1;
	}
	printf("%u seeds replayed\n", count);
	return 0;
}
