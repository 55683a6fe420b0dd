/* gcc_prog.c: compiled by gcc.sh with and without memgc under the
 * compiler; the two binaries must be the same and run the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *next;
	unsigned key;
	char name[24];
};

static int cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	struct node *head = NULL;
	unsigned x = 1, n = 100000;
	unsigned *keys = malloc(n * sizeof *keys);
	if (!keys)
		return 2;
	for (unsigned i = 0; i < n; i++) {
		struct node *e = malloc(sizeof *e);
		if (!e)
			return 2;
		x = x * 1664525u + 1013904223u;
		e->key = keys[i] = x;
		snprintf(e->name, sizeof e->name, "node-%u", x % 1000);
		e->next = head;
		head = e;
	}
	qsort(keys, n, sizeof *keys, cmp);
	unsigned long long sum = 0, names = 0;
	while (head) {
		struct node *e = head;
		head = e->next;
		sum += e->key;
		names += strlen(e->name);
		free(e);
	}
	printf("min %u max %u median %u sum %llu names %llu\n", keys[0], keys[n - 1],
	       keys[n / 2], sum, names);
	free(keys);
	return 7;
}
