/* replay.c: runs every file of a fuzz corpus (or the files and directories given) through a libFuzzer harness (fuzz_options.c, tests/control/fuzz_request.c), without libFuzzer. */
#include "config.h"
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The corpus replayed when no file is named, under $MEMGC_SRCDIR. */
#ifndef MG_FUZZ_CORPUS
#define MG_FUZZ_CORPUS "tests/fuzz/corpus"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const char *mg_fuzz_input_name;

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 4096, len = 0;
	unsigned char *buf = malloc(cap);
	size_t k;
	while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
		len += k;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		return -1;
	mg_fuzz_input_name = path;
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of dir in name order; the count, or -1. */
static long replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof *names);
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		names[n] = malloc(len);
		snprintf(names[n], len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp);
	long done = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(names[i]))
				return -1;
			done++;
		}
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0;
	if (argc < 2) {
		const char *src = getenv("MEMGC_SRCDIR");
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/%s", src ? src : ".", MG_FUZZ_CORPUS);
		total = replay_dir(dir);
	}
	for (int i = 1; i < argc && total >= 0; i++) {
		struct stat st;
		long r = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? replay_dir(argv[i])
				: replay_file(argv[i]) == 0 ? 1 : -1;
		total = r < 0 ? -1 : total + r;
	}
	if (total <= 0) {
		fprintf(stderr, "replay: no input replayed\n");
		return 1;
	}
	printf("replay: %ld inputs, every check held\n", total);
	return 0;
}
