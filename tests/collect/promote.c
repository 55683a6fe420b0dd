/* promote.c: a young collection's promotions cost no write fault.
 *
 *   promote N
 * Twice: allocates N objects of 200 bytes (a list, its head in a global),
 * writes them, and calls memgc_collect(0), which finds them all reachable
 * and promotes them to generation 1 (it writes their headers); then frees
 * them.  The second round reuses the first one's memory, so its collection
 * meets no page of memgc's own for the first time.  Prints
 *   promote pages=P faults=F
 * where P is the pages the objects span and F the minor faults the second
 * collection took, in every thread of the process (the collector's too).
 * Each page of survivors used to cost one write fault there: the watch had
 * re-armed it before the sweep wrote the headers (lib/young.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "memgc.h"

#pragma weak memgc_collect

struct obj {
	struct obj *next;
	char fill[192];
};

static struct obj *head;

static long faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	if (n <= 0 || !memgc_collect) {
		fprintf(stderr, "usage: promote N (under the memgc preload)\n");
		return 2;
	}
	long pages = 0, f = 0;
	for (int round = 0; round < 2; round++) {
		uintptr_t lo = UINTPTR_MAX, hi = 0;
		for (long i = 0; i < n; i++) {
			struct obj *o = malloc(sizeof *o);
			if (!o)
				return 1;
			o->next = head;
			o->fill[0] = (char)i;
			head = o;
			if ((uintptr_t)o < lo)
				lo = (uintptr_t)o;
			if ((uintptr_t)o > hi)
				hi = (uintptr_t)o;
		}
		long f0 = faults();
		if (memgc_collect(0) < 0) {
			perror("memgc_collect");
			return 1;
		}
		f = faults() - f0;
		pages = (long)((hi + sizeof(struct obj)) / 4096 - lo / 4096 + 1);
		while (head) {
			struct obj *o = head;
			head = o->next;
			free(o);
		}
	}
	printf("promote pages=%ld faults=%ld\n", pages, f);
	return 0;
}
