/* promote.c: a young collection's promotions cost no write fault.
 *
 *   promote N [aio]
 * Twice: allocates N objects of 200 bytes (a list, its head in a global),
 * writes them, and calls memgc_collect(0), which finds them all reachable
 * and promotes them to generation 1 (it writes their headers); then frees
 * them.  The second round reuses the first one's memory, so its collection
 * meets no page of memgc's own for the first time.  Prints
 *   promote pages=P faults=F
 * where P is the pages the objects span and F the minor faults the second
 * collection took, in every thread of the process (the collector's too).
 * Each page of survivors used to cost one write fault there: the watch had
 * re-armed it before the sweep wrote the headers (lib/young.c).  Then one
 * more generation-0 collection, the program writing nothing of the heap in
 * between, and R, the bytes it scanned, follow:
 *   promote pages=P faults=F rescanned=R
 * With "aio" the program first maps an AIO ring (io_setup): the kernel may
 * then write its memory during a pause, so the pages the collection
 * re-armed count as written, and the next one reads the survivors again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>

#include "memgc.h"

#pragma weak memgc_collect
#pragma weak memgc_get_stats

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
	if (n <= 0 || !memgc_collect || (argc > 2 && strcmp(argv[2], "aio"))) {
		fprintf(stderr, "usage: promote N [aio] (under the memgc preload)\n");
		return 2;
	}
	unsigned long aio = 0;
	if (argc > 2 && syscall(SYS_io_setup, 16, &aio) != 0) {
		perror("io_setup");
		return 1;
	}
	long pages = 0, f = 0, rescanned = 0;
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
		struct memgc_gc_stats st0[3], st1[3];
		memgc_get_stats(st0);
		memgc_collect(0);
		memgc_get_stats(st1);
		rescanned = (long)(st1[0].scanned_bytes - st0[0].scanned_bytes);
		while (head) {
			struct obj *o = head;
			head = o->next;
			free(o);
		}
	}
	printf("promote pages=%ld faults=%ld rescanned=%ld\n", pages, f, rescanned);
	return 0;
}
