/* bigyoung.c: a large young object is read where the program wrote it.
 *
 *   bigyoung
 * After a first collection, allocates a 1 MiB buffer (held by a global)
 * and a small object whose only pointer is stored in the buffer's 176th
 * page; writes the buffer's first page too and leaves the rest untouched.
 * A young collection must find the small object reachable (the pointer
 * lies on a page the program wrote) without reading the 254 pages the
 * program never wrote (each would be a fault to map the zero page).  Then
 * the buffer is dropped, and a generation-1 collection finds both
 * unreachable.  Prints
 *   bigyoung kept=K faults=F dropped=D
 * K: unreachable objects the first young collection found (0 expected);
 * F: the minor faults it took, every thread; D: unreachable objects found
 * after the buffer was dropped (2).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "memgc.h"

#pragma weak memgc_collect

#define BIG (1u << 20)

static char *volatile buf;

static long faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Not inlined: the small object's address stays off main's frame. */
static __attribute__((noinline)) void fill(void)
{
	buf = malloc(BIG);
	void *small = malloc(64);
	if (!buf || !small)
		exit(1);
	memset(small, 0x5a, 64);
	memset(buf, 1, 4096 - 64);                  /* the first page */
	memcpy(buf + 700 * 1024, &small, sizeof small);   /* page 175 */
	small = NULL;
}

static __attribute__((noinline)) void drop(void)
{
	buf = NULL;
}

int main(void)
{
	if (!memgc_collect) {
		fprintf(stderr, "bigyoung: not under the memgc preload\n");
		return 2;
	}
	printf("bigyoung ");            /* stdio's buffer, before the baseline */
	fflush(stdout);
	if (memgc_collect(2) < 0)
		return 1;
	fill();
	long f0 = faults();
	long kept = memgc_collect(0);
	long f = faults() - f0;
	drop();
	long dropped = memgc_collect(1);   /* both survived one: generation 1 */
	printf("kept=%ld faults=%ld dropped=%ld\n", kept, f, dropped);
	return 0;
}
