/* test_watch.c: the kernel write watch (lib/watch.c) on its own: which pages
 * it reports, the per-generation records, and what happens around purges,
 * the kernel's own writes, fork, threads and mremap.
 *
 * Criterion runs each test in its own process, so each starts with a fresh
 * watch (mg_watch_init) and may install a seccomp filter of its own.  Pages
 * are named by their index in a test mapping; every check is of an exact
 * set of pages.  The tests of a refusal pass everywhere; the others need a
 * kernel with UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN (Linux 6.7) and skip
 * elsewhere, saying why.
 */
#include "config.h"
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

#define P 4096ul
#define MAXP 6000

/* ---- helpers ---- */

/* The pages of [base, base + n pages) that runs cover, as a sorted list of
 * indices; runs outside the mapping are counted apart. */
struct pages {
	uintptr_t base;
	size_t n;
	int count;
	int outside;
	int runs;
	int idx[MAXP];
};

static int collect(uintptr_t s, uintptr_t e, void *arg)
{
	struct pages *p = arg;
	p->runs++;
	for (uintptr_t a = s; a < e; a += P) {
		if (a < p->base || a >= p->base + p->n * P)
			p->outside++;
		else if (p->count < MAXP)
			p->idx[p->count++] = (int)((a - p->base) / P);
	}
	return 0;
}

static void pages_reset(struct pages *p, void *base, size_t n)
{
	memset(p, 0, sizeof *p);
	p->base = (uintptr_t)base;
	p->n = n;
}

/* Asserts that p holds exactly the k pages of want (sorted), nothing outside. */
static void expect(const struct pages *p, const int *want, int k, const char *what)
{
	cr_assert_eq(p->outside, 0, "%s: %d pages outside the mapping", what, p->outside);
	cr_assert_eq(p->count, k, "%s: %d pages, expected %d (first %d)", what, p->count, k,
		     p->count ? p->idx[0] : -1);
	for (int i = 0; i < k; i++)
		cr_assert_eq(p->idx[i], want[i], "%s: page %d is %d, expected %d", what, i,
			     p->idx[i], want[i]);
}

/* Scans [base, base + n pages) and collects what it reports. */
static long scan(struct pages *p, void *base, size_t n)
{
	pages_reset(p, base, n);
	mg_watch_lock();
	long r = mg_watch_scan_locked(base, n * P, collect, p);
	mg_watch_unlock();
	return r;
}

/* Record gen's pages within [base, base + n pages). */
static int record(struct pages *p, int gen, void *base, size_t n)
{
	pages_reset(p, base, n);
	mg_watch_lock();
	int r = mg_watch_foreach_locked(gen, collect, p);
	mg_watch_unlock();
	return r;
}

static void consume(int gen)
{
	mg_watch_lock();
	mg_watch_consume_locked(gen);
	mg_watch_unlock();
}

static char *map(size_t n)
{
	char *m = mmap(NULL, n * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(m, MAP_FAILED, "mmap: %s", strerror(errno));
	/* 4 KiB pages: a huge page would be reported as 512 of them. */
	madvise(m, n * P, MADV_NOHUGEPAGE);
	return m;
}

/* The watch on, or the test skipped with the reason. */
static void start(void)
{
	mg_options_defaults();
	if (mg_watch_init())
		cr_skip_test("%s", mg_watch_why());
}

/* A watched mapping of n pages, armed: the next scan reports only what is
 * written from now on, and the records are empty. */
static char *watched(size_t n)
{
	char *m = map(n);
	cr_assert_eq(mg_watch_add(m, n * P), 0, "mg_watch_add: %s", strerror(errno));
	struct pages *p = malloc(sizeof *p);
	scan(p, m, n);
	free(p);
	consume(2);
	return m;
}

static struct mg_watch_stats stats(void)
{
	struct mg_watch_stats st;
	mg_watch_stats(&st);
	return st;
}

/* Installs a seccomp filter: system call nr (with, for ioctl, request cmd)
 * fails with errno e; so does the ioctl that /dev/userfaultfd answers, the
 * way round a refused system call. */
static void refuse(int nr, unsigned long cmd, int e)
{
	unsigned cmd_k = cmd ? (unsigned)cmd : ~0u;
	struct sock_filter f[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 3),
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)USERFAULTFD_IOC_NEW, 3, 0),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cmd_k, 2, 1),
		/* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 1, 0),
		/* 6 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 7 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)e),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "seccomp: %s",
		     strerror(errno));
}

/* What fn(arg) writes on fd 2 (mg_log writes there with write(2)). */
static const char *stderr_of(void (*fn)(void *), void *arg)
{
	static char buf[1024];
	int fd = memfd_create("mg-stderr", 0), saved = dup(2);
	cr_assert(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	fn(arg);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void parse_watch_on(void *arg)
{
	*(int *)arg = mg_options_parse("watch=on");
}

/* ---- refusals: the fallback and its reason ---- */

Test(watch, off_by_option)
{
	mg_options_defaults();
	cr_assert_eq(mg_options_parse("watch=off"), 0);
	cr_assert_eq(mg_watch_init(), -1);
	cr_assert_str_eq(mg_watch_why(), "off: watch=off");
	cr_assert(!mg_watch_on());
	char *m = map(4);
	errno = 0;
	cr_assert_eq(mg_watch_add(m, 4 * P), -1);
	cr_assert_eq(errno, EOPNOTSUPP);
	mg_watch_lock();
	cr_assert_eq(mg_watch_scan_locked(m, 4 * P, NULL, NULL), -1);
	cr_assert_eq(mg_watch_foreach_locked(0, collect, NULL), -1);
	mg_watch_unlock();
}

Test(watch, bad_option_value)
{
	mg_options_defaults();
	int bad;
	const char *err = stderr_of(parse_watch_on, &bad);
	cr_assert_eq(bad, 1);
	cr_assert_str_eq(err, "memgc: MEMGC_OPTIONS: bad value 'on' for watch: expected auto, off or verify; using auto\n");
	cr_assert_eq(mg_opt.watch, MG_WATCH_AUTO);
}

/* A kernel, a filter or a policy that refuses: the watch is off, and says
 * why in one line. */
static void refused(int nr, unsigned long cmd, int e, const char *why)
{
	mg_options_defaults();
	refuse(nr, cmd, e);
	cr_assert_eq(mg_watch_init(), -1);
	cr_assert_str_eq(mg_watch_why(), why);
	cr_assert(!mg_watch_on());
}

Test(watch, refused_enosys)
{
	refused(SYS_userfaultfd, 0, ENOSYS,
		"off: userfaultfd: ENOSYS (no CONFIG_USERFAULTFD, or a seccomp filter)");
}

Test(watch, refused_eperm)
{
	refused(SYS_userfaultfd, 0, EPERM,
		"off: userfaultfd: EPERM (seccomp, a security module, or vm.unprivileged_userfaultfd=0)");
}

Test(watch, refused_feature)
{
	refused(SYS_ioctl, UFFDIO_API, EINVAL, "off: UFFDIO_API: EINVAL (22)");
}

Test(watch, refused_pagemap_scan)
{
	refused(SYS_ioctl, _IOWR('f', 16, char[96]), ENOTTY,   /* PAGEMAP_SCAN */
		"off: PAGEMAP_SCAN: ENOTTY (25; Linux 6.7 or later needed)");
}

Test(watch, on)
{
	start();
	cr_assert_str_eq(mg_watch_why(), "on");
	cr_assert(mg_watch_on());
	cr_assert_eq(mg_watch_init(), 0, "a second init changes nothing");
}

/* ---- what a scan reports ---- */

Test(watch, written_exact)
{
	start();
	char *m = watched(1000);
	m[3 * P] = 1;
	m[7 * P + 100] = 1;
	m[100 * P + P - 1] = 1;
	struct pages p;
	cr_assert_eq(scan(&p, m, 1000), 3);
	expect(&p, (int[]){ 3, 7, 100 }, 3, "written");
	cr_assert_eq(p.runs, 3);
	cr_assert_eq(mg_watch_check(), 0);
}

Test(watch, rearmed)
{
	start();
	char *m = watched(1000);
	m[3 * P] = 1;
	struct pages p;
	cr_assert_eq(scan(&p, m, 1000), 1);
	cr_assert_eq(scan(&p, m, 1000), 0, "the second scan is empty");
	cr_assert_eq(p.runs, 0);
	m[3 * P] = 2;                    /* the same page again: armed again */
	cr_assert_eq(scan(&p, m, 1000), 1);
	expect(&p, (int[]){ 3 }, 1, "written again");
	volatile char c = m[5 * P];      /* reads are not writes */
	(void)c;
	cr_assert_eq(scan(&p, m, 1000), 0);
}

/* memgc's own writes with the world stopped (a promotion's header): re-armed
 * without a trace in the records; a page outside the range re-armed, or
 * one written before the last scan, is still reported and recorded. */
Test(watch, rearm_unrecorded)
{
	start();
	char *m = watched(100);
	m[2 * P] = 1;                    /* the program's write */
	struct pages p;
	cr_assert_eq(scan(&p, m, 100), 1);
	m[2 * P] = 2;                    /* memgc's, after the scan */
	m[10 * P] = 1;
	m[11 * P] = 1;
	m[40 * P] = 1;                   /* the program's again: not re-armed below */
	uint64_t before = stats().rearmed;
	mg_watch_lock();
	mg_watch_rearm_locked(m + 2 * P, 10 * P);   /* pages 2..11 */
	mg_watch_unlock();
	cr_assert_eq(stats().rearmed - before, 3, "pages 2, 10 and 11 re-armed");
	cr_assert_eq(scan(&p, m, 100), 1);
	expect(&p, (int[]){ 40 }, 1, "only the page outside");
	for (int g = 0; g < 3; g++) {
		record(&p, g, m, 100);
		expect(&p, (int[]){ 2, 40 }, 2, "the records");
	}
	m[10 * P] = 2;                   /* armed again, so reported again */
	cr_assert_eq(scan(&p, m, 100), 1);
	expect(&p, (int[]){ 10 }, 1, "a re-armed page written again");
	cr_assert_eq(mg_watch_check(), 0);
}

static long minor_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_minflt;
}

/* A scan as a young collection reads the heap: deferred, not armed. */
static long deferred_scan(struct pages *p, char *m, size_t n)
{
	mg_watch_lock();
	mg_watch_defer_dense_locked(true);
	mg_watch_unlock();
	long r = scan(p, m, n);
	mg_watch_lock();
	mg_watch_defer_dense_locked(false);
	mg_watch_unlock();
	return r;
}

/* A young collection's scan of the heap (mg_watch_defer_dense_locked):
 * the written pages are reported and recorded as ever but stay unarmed,
 * so that memgc's writes there after the scan take no fault; the re-arm
 * at the end leaves no trace of them.  Outside the dense range, and once
 * deferral is off, a scan re-arms as before. */
Test(watch, deferred_scan_leaves_written_pages_unarmed)
{
	start();
	char *m = watched(200);
	for (int i = 0; i < 200; i++)
		m[i * P] = 1;                /* populated */
	struct pages p;
	scan(&p, m, 200);
	consume(2);
	m[5 * P] = 2;                    /* the program's writes */
	m[150 * P] = 2;
	mg_watch_lock();
	mg_watch_dense_locked(m, 100 * P);
	mg_watch_unlock();
	cr_assert_eq(deferred_scan(&p, m, 100), 1);
	expect(&p, (int[]){ 5 }, 1, "the dense range's written page");
	cr_assert_eq(deferred_scan(&p, m + 100 * P, 100), 1, "outside the dense range: re-armed");
	long f0 = minor_faults();
	m[5 * P] = 3;                    /* memgc's header write: not armed */
	cr_assert_eq(minor_faults() - f0, 0, "no write fault on a page read unarmed");
	m[150 * P] = 3;                  /* re-armed by its scan: a fault */
	cr_assert_eq(minor_faults() - f0, 1);
	for (int g = 0; g < 3; g++) {
		record(&p, g, m, 200);
		expect(&p, (int[]){ 5, 150 }, 2, "both recorded");
	}
	mg_watch_lock();
	mg_watch_rearm_locked(m, 100 * P);
	mg_watch_unlock();
	cr_assert_eq(scan(&p, m, 100), 0, "re-armed: the write after the scan left no trace");
	cr_assert_eq(scan(&p, m + 100 * P, 100), 1, "the page outside, written after its re-arm");
	m[5 * P] = 4;                    /* the program's again: reported */
	cr_assert_eq(scan(&p, m, 100), 1);
	expect(&p, (int[]){ 5 }, 1, "written after the re-arm");
	cr_assert_eq(mg_watch_check(), 0);
}

/* A full collection's sweep (memgc writing most pages with the world
 * stopped): the protection lifted in one call, the writes take no fault,
 * and the re-arm leaves no trace, while the program's writes before and
 * after are reported as ever. */
Test(watch, open_writes_without_faults_then_rearm)
{
	start();
	char *m = watched(100);
	for (int i = 0; i < 100; i++)
		m[i * P] = 1;                /* populated */
	struct pages p;
	scan(&p, m, 100);
	consume(2);
	m[5 * P] = 2;                    /* the program's */
	cr_assert_eq(scan(&p, m, 100), 1);
	long f0 = minor_faults();
	for (int i = 20; i < 60; i++)    /* armed: a write fault each */
		m[i * P] = 2;
	long armed = minor_faults() - f0;
	mg_watch_lock();
	mg_watch_rearm_locked(m + 20 * P, 40 * P);
	cr_assert_eq(mg_watch_open_locked(m + 20 * P, 40 * P), 0);
	mg_watch_unlock();
	f0 = minor_faults();
	for (int i = 20; i < 60; i++)    /* lifted: none */
		m[i * P] = 3;
	long open = minor_faults() - f0;
	cr_assert_geq(armed, 40, "%ld faults writing 40 armed pages", armed);
	cr_assert_eq(open, 0, "%ld faults writing 40 pages with the protection lifted", open);
	mg_watch_lock();
	mg_watch_rearm_locked(m + 20 * P, 40 * P);
	mg_watch_unlock();
	m[70 * P] = 2;                   /* the program's again */
	cr_assert_eq(scan(&p, m, 100), 1);
	expect(&p, (int[]){ 70 }, 1, "only the program's write after the re-arm");
	record(&p, 0, m, 100);
	expect(&p, (int[]){ 5, 70 }, 2, "the record: the program's writes only");
	m[30 * P] = 4;                   /* armed again */
	cr_assert_eq(scan(&p, m, 100), 1);
	expect(&p, (int[]){ 30 }, 1, "a re-armed page written again");
	cr_assert_eq(mg_watch_check(), 0);
}

Test(watch, first_scan_of_a_range_counts_it_written)
{
	start();
	char *m = map(50);
	m[0] = 1;
	cr_assert_eq(mg_watch_add(m, 50 * P), 0);
	struct pages p;
	cr_assert_eq(record(&p, 0, m, 50), 0);
	cr_assert_eq(p.count, 50, "a new range is all written");
	cr_assert_eq(p.runs, 1);
	cr_assert_eq(stats().noted, 50);
}

/* More written runs than one PAGEMAP_SCAN returns (2048). */
Test(watch, many_runs)
{
	start();
	char *m = watched(10000);
	for (int i = 0; i < 10000; i += 2)
		m[(size_t)i * P] = 1;
	struct pages *p = malloc(sizeof *p);
	cr_assert_eq(scan(p, m, 10000), 5000);
	cr_assert_eq(p->runs, 5000);
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(p->idx[i], 2 * i);
	cr_assert_geq(stats().scans, 3, "three calls at least: 2048 regions each");
	cr_assert_eq(scan(p, m, 10000), 0);
	free(p);
}

/* Only the watched part of the range asked for is scanned. */
Test(watch, scan_part)
{
	start();
	char *m = watched(100);
	for (size_t i = 10; i < 100; i += 50)   /* pages 10 and 60 */
		m[i * P] = 1;
	struct pages p;
	cr_assert_eq(scan(&p, m + 50 * P, 50), 1);
	expect(&p, (int[]){ 10 }, 1, "second half");
	cr_assert_eq(scan(&p, m, 100), 1);
	expect(&p, (int[]){ 10 }, 1, "then the first");
}

/* The heap's growth (mg_watch_add_fresh_locked): only its pages that hold
 * data are counted written, and read as a young collection reads the heap
 * (deferred: not armed), its scans report those, never a hole or the zero
 * page (a plain read reports every hole never armed as written). */
Test(watch, fresh_range_reports_its_data_pages)
{
	start();
	char *m = map(64);
	m[1 * P] = 1;
	m[40 * P] = 1;
	volatile char c = m[20 * P];     /* a read: the zero page */
	(void)c;
	mg_watch_lock();
	cr_assert_eq(mg_watch_add_fresh_locked(m, 64 * P), 0);
	mg_watch_dense_locked(m, 64 * P);
	mg_watch_unlock();
	struct pages p;
	record(&p, 0, m, 64);
	expect(&p, (int[]){ 1, 40 }, 2, "counted at registration: the pages that hold data");
	deferred_scan(&p, m, 64);
	expect(&p, (int[]){ 1, 40 }, 2, "not armed yet; holes and the zero page armed");
	m[50 * P] = 1;                   /* a hole, written */
	madvise(m + 40 * P, P, MADV_DONTNEED);   /* a page dropped: a hole */
	deferred_scan(&p, m, 64);
	/* page 40, dropped while unarmed, is a hole never armed: reported
	 * (it reads as zeros; the end of a collection arms it) */
	expect(&p, (int[]){ 1, 40, 50 }, 3, "not armed: written still; a hole written after");
	cr_assert_eq(mg_watch_check(), 0);
}

/* ---- the records ---- */

Test(watch, generations)
{
	start();
	char *m = watched(64);
	struct pages p;

	m[1 * P] = 1;
	scan(&p, m, 64);
	for (int g = 0; g < 3; g++) {
		cr_assert_eq(record(&p, g, m, 64), 0);
		expect(&p, (int[]){ 1 }, 1, "after the first scan");
	}
	consume(0);                      /* a generation-0 collection */
	cr_assert_eq(record(&p, 0, m, 64), 0);
	expect(&p, NULL, 0, "record 0 consumed");

	m[2 * P] = 1;
	scan(&p, m, 64);
	record(&p, 0, m, 64);
	expect(&p, (int[]){ 2 }, 1, "record 0: since the last collection");
	record(&p, 1, m, 64);
	expect(&p, (int[]){ 1, 2 }, 2, "record 1: since the last generation-1 collection");
	cr_assert_eq(p.runs, 1, "pages 1 and 2 are one run");
	consume(0);

	m[3 * P] = 1;
	scan(&p, m, 64);
	record(&p, 1, m, 64);
	expect(&p, (int[]){ 1, 2, 3 }, 3, "record 1");
	consume(1);                      /* a generation-1 collection */
	record(&p, 0, m, 64);
	expect(&p, NULL, 0, "record 0 after collecting 1");
	record(&p, 1, m, 64);
	expect(&p, NULL, 0, "record 1 after collecting 1");
	record(&p, 2, m, 64);
	expect(&p, (int[]){ 1, 2, 3 }, 3, "record 2 keeps them");

	m[5 * P] = 1;
	scan(&p, m, 64);
	record(&p, 0, m, 64);
	expect(&p, (int[]){ 5 }, 1, "record 0");
	record(&p, 1, m, 64);
	expect(&p, (int[]){ 5 }, 1, "record 1");
	record(&p, 2, m, 64);
	expect(&p, (int[]){ 1, 2, 3, 5 }, 4, "record 2");
	cr_assert_eq(mg_watch_check(), 0);
	struct mg_watch_stats st = stats();
	cr_assert_eq(st.record_pages[0], 1);
	cr_assert_eq(st.record_pages[1], 1);
	cr_assert_eq(st.record_pages[2], 4);
	consume(2);
	st = stats();
	cr_assert_eq(st.record_pages[0] + st.record_pages[1] + st.record_pages[2], 0);
	cr_assert_eq(mg_watch_check(), 0);
}

/* Runs in address order across leaves (128 MiB chunks), merged across
 * their boundary; marking costs nothing for the untouched chunks. */
Test(watch, records_across_chunks)
{
	start();
	size_t n = 3 * 32768 + 64;           /* three chunks and more: 384 MiB */
	char *m = mmap(NULL, n * P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(m, MAP_FAILED);
	madvise(m, n * P, MADV_NOHUGEPAGE);
	cr_assert_eq(mg_watch_add(m, n * P), 0);
	consume(2);
	uintptr_t chunk = ((uintptr_t)m + (1ul << 27)) & ~((1ul << 27) - 1);
	size_t k = (chunk - (uintptr_t)m) / P;   /* the first page of the second chunk */
	mg_watch_note_written(m + (k - 1) * P, 2 * P);    /* across the boundary */
	mg_watch_note_written(m + (n - 1) * P, P);
	mg_watch_note_written(m, P);
	struct pages *p = malloc(sizeof *p);
	record(p, 1, m, n);
	expect(p, (int[]){ 0, (int)k - 1, (int)k, (int)n - 1 }, 4, "noted");
	cr_assert_eq(p->runs, 3, "the run across chunks is one");
	cr_assert_eq(mg_watch_check(), 0);
	free(p);
}

Test(watch, note_written)
{
	start();
	char *m = watched(20);
	mg_watch_note_written(m + 4 * P + 10, 2 * P);    /* rounded out: pages 4, 5, 6 */
	struct pages p;
	record(&p, 0, m, 20);
	expect(&p, (int[]){ 4, 5, 6 }, 3, "noted");
	cr_assert_eq(scan(&p, m, 20), 0, "noting arms nothing and reads nothing");
}

Test(watch, add_remove)
{
	start();
	char *m = map(40);
	cr_assert_eq(mg_watch_add(m, 10 * P), 0);
	cr_assert_eq(mg_watch_add(m + 10 * P, 10 * P), 0);
	cr_assert_eq(mg_watch_add(m + 30 * P, 10 * P), 0);
	cr_assert_eq(stats().ranges, 2, "adjacent ranges merge");
	cr_assert_eq(stats().bytes, 30 * P);
	cr_assert_eq(mg_watch_remove(m + 5 * P, P), 0);
	cr_assert_eq(stats().ranges, 3, "a removal splits");
	cr_assert_eq(stats().bytes, 29 * P);
	struct pages p;
	record(&p, 2, m, 40);
	cr_assert_eq(p.count, 29, "the removed page left the records");
	consume(2);
	scan(&p, m, 40);
	m[5 * P] = 1;                    /* not watched any more */
	m[6 * P] = 1;
	m[25 * P] = 1;                   /* never watched */
	m[31 * P] = 1;
	cr_assert_eq(scan(&p, m, 40), 2);
	expect(&p, (int[]){ 6, 31 }, 2, "watched pages only");
	cr_assert_eq(mg_watch_check(), 0);
	errno = 0;
	cr_assert_eq(mg_watch_add((void *)0x1000, P), -1, "nothing mapped there");
	cr_assert_eq(errno, EINVAL);
}

/* ---- what moves memory ---- */

/* A pointer the kernel writes: read(2) from a pipe into a watched page. */
Test(watch, kernel_write)
{
	start();
	char *m = watched(100);
	int fd[2];
	cr_assert_eq(pipe(fd), 0);
	void *ptr = m;
	cr_assert_eq(write(fd[1], &ptr, sizeof ptr), sizeof ptr);
	cr_assert_eq(read(fd[0], m + 42 * P + 8, sizeof ptr), sizeof ptr);
	struct pages p;
	cr_assert_eq(scan(&p, m, 100), 1);
	expect(&p, (int[]){ 42 }, 1, "read(2) into page 42");
}

/* The pagemap of [m, m + n pages): how many present, how many "swapped"
 * (not present, bit 62: a userfaultfd marker reads so). */
static void pagemap_count(char *m, size_t n, size_t *present, size_t *swapped)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	*present = *swapped = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t e;
		cr_assert_eq(pread(fd, &e, 8, (off_t)(((uintptr_t)m / P + i) * 8)), 8);
		*present += e >> 63;
		*swapped += !(e >> 63) && (e >> 62 & 1);
	}
	close(fd);
}

/* Arming passes over holes and the zero page: no marker is left in them
 * (the pagemap would call it swapped, and a full read would fault every one
 * in), and a write to either is reported all the same. */
Test(watch, holes_stay_unarmed)
{
	start();
	char *m = watched(1000);
	m[3 * P] = 1;
	volatile char c = m[7 * P];      /* the zero page */
	(void)c;
	struct pages p;
	cr_assert_eq(scan(&p, m, 1000), 1);
	expect(&p, (int[]){ 3 }, 1, "the page written, not the one read");
	size_t present, swapped;
	pagemap_count(m, 1000, &present, &swapped);
	cr_assert_eq(swapped, 0, "%zu markers left in holes", swapped);
	cr_assert_eq(present, 2, "%zu pages present, want pages 3 and 7", present);
	m[500 * P] = 1;                  /* a hole */
	m[7 * P] = 1;                    /* the zero page */
	cr_assert_eq(scan(&p, m, 1000), 2);
	expect(&p, (int[]){ 7, 500 }, 2, "writes to a hole and to the zero page");
	cr_assert_eq(scan(&p, m, 1000), 0);
}

/* MADV_DONTNEED: a page purged and written again counts as written. */
Test(watch, purge_then_refault)
{
	start();
	char *m = watched(100);
	m[10 * P] = 1;
	m[11 * P] = 1;
	struct pages p;
	scan(&p, m, 100);
	cr_assert_eq(madvise(m + 10 * P, 2 * P, MADV_DONTNEED), 0);
	m[11 * P] = 2;                   /* re-faulted by a write */
	cr_assert_eq(m[10 * P], 0, "purged pages read as zeros");
	scan(&p, m, 100);
	/* Page 11, written again; not page 10, purged and only read: it
	 * holds the zero page (arming passes over it, watch.c) */
	expect(&p, (int[]){ 11 }, 1, "the page written after the purge");
	cr_assert_eq(scan(&p, m, 100), 0);
	cr_assert_eq(madvise(m + 20 * P, P, MADV_DONTNEED), 0);
	scan(&p, m, 100);
	m[20 * P] = 3;                   /* after the scan that saw the purge */
	cr_assert_eq(scan(&p, m, 100), 1);
	expect(&p, (int[]){ 20 }, 1, "written after a purge");
}

/* Writes from several threads, each to its own pages. */
struct writer {
	char *m;
	int first;
};

static void *write_pages(void *arg)
{
	struct writer *wr = arg;
	for (int i = 0; i < 10; i++)
		wr->m[(size_t)(wr->first + i) * P] = 1;
	return NULL;
}

Test(watch, threads)
{
	start();
	char *m = watched(400);
	pthread_t t[4];
	struct writer wr[4];
	for (int i = 0; i < 4; i++) {
		wr[i] = (struct writer){ m, i * 100 };
		cr_assert_eq(pthread_create(&t[i], NULL, write_pages, &wr[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	struct pages p;
	cr_assert_eq(scan(&p, m, 400), 40);
	int want[40];
	for (int i = 0; i < 40; i++)
		want[i] = (i / 10) * 100 + i % 10;
	expect(&p, want, 40, "four threads");
	cr_assert_eq(p.runs, 4);
}

/* mremap moves pages out of their registration: mg_watch_move follows. */
Test(watch, mremap_move)
{
	start();
	char *m = watched(20);
	char *dst = mmap(NULL, 20 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(dst, MAP_FAILED);
	m[2 * P] = 1;                    /* written, not yet scanned */
	char *n = mremap(m, 20 * P, 20 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	cr_assert_eq(n, dst);
	cr_assert_eq(mg_watch_move(m, 20 * P, n, 20 * P), 0);
	struct pages p;
	record(&p, 1, n, 20);
	cr_assert_eq(p.count, 20, "the destination counts written");
	record(&p, 1, m, 20);
	cr_assert_eq(p.count, 0, "the source left the records");
	cr_assert_eq(stats().ranges, 1);
	consume(2);
	scan(&p, n, 20);
	n[4 * P] = 1;
	cr_assert_eq(scan(&p, n, 20), 1);
	expect(&p, (int[]){ 4 }, 1, "written at the destination");
}

/* mremap growing in place: the new tail is part of the same mapping. */
Test(watch, mremap_grow)
{
	start();
	char *m = map(40);
	cr_assert_eq(munmap(m + 20 * P, 20 * P), 0);
	cr_assert_eq(mg_watch_add(m, 20 * P), 0);
	struct pages p;
	scan(&p, m, 20);
	consume(2);
	char *g = mremap(m, 20 * P, 40 * P, 0);
	cr_assert_eq(g, m, "grown in place");
	cr_assert_eq(mg_watch_move(m, 20 * P, m, 40 * P), 0);
	record(&p, 0, m, 40);
	cr_assert_eq(p.count, 40);
	consume(2);
	scan(&p, m, 40);
	m[30 * P] = 1;
	m[3 * P] = 1;
	cr_assert_eq(scan(&p, m, 40), 2);
	expect(&p, (int[]){ 3, 30 }, 2, "both parts");
}

/* A mapping that appears inside a watched range without a word to the
 * watch is registered by the next scan and counted written in full. */
Test(watch, new_mapping_inside)
{
	start();
	char *m = watched(30);
	char *x = mmap(m + 10 * P, 10 * P, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	cr_assert_eq(x, m + 10 * P);
	m[15 * P] = 1;
	m[25 * P] = 1;
	struct pages p;
	cr_assert_eq(scan(&p, m, 30), 11);
	int want[11] = { 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 25 };
	expect(&p, want, 11, "the new mapping whole, and page 25");
	cr_assert_eq(stats().late, 1);
	m[12 * P] = 1;
	cr_assert_eq(scan(&p, m, 30), 1);
	expect(&p, (int[]){ 12 }, 1, "then watched like the rest");
}

/* fork: the child must not read (and re-arm) its parent's pages through
 * the inherited descriptors; it watches its own. */
static void fork_case(bool call_fork_child)
{
	start();
	char *m = watched(50);
	m[5 * P] = 1;                    /* the parent's, not yet scanned */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (call_fork_child)
			mg_watch_fork_child();
		struct pages p;
		long r = scan(&p, m, 50);
		/* every page that holds data (the registration is new): the
		 * parent's page 5, shared since the fork; the others are holes */
		int ok = r == 1 && p.count == 1 && p.idx[0] == 5;
		m[7 * P] = 1;
		ok = ok && scan(&p, m, 50) == 1 && p.count == 1 && p.idx[0] == 7;
		_exit(ok ? 0 : 1);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's scans");
	struct pages p;
	cr_assert_eq(scan(&p, m, 50), 1);
	expect(&p, (int[]){ 5 }, 1, "the parent's write survives the child");
	m[9 * P] = 1;                    /* copy-on-write since the fork */
	cr_assert_eq(scan(&p, m, 50), 1);
	expect(&p, (int[]){ 9 }, 1, "the parent after fork");
}

Test(watch, fork_child)
{
	fork_case(true);
}

Test(watch, fork_child_unannounced)
{
	fork_case(false);
}

/* A fork while another thread holds the watch lock: the child cannot trust
 * the table, and runs without the watch. */
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t held_cv = PTHREAD_COND_INITIALIZER;
static int held_state;               /* 1: the thread holds the lock; 2: release it */

static void *hold_lock(void *arg)
{
	(void)arg;
	mg_watch_lock();
	pthread_mutex_lock(&held_mu);
	held_state = 1;
	pthread_cond_broadcast(&held_cv);
	while (held_state != 2)
		pthread_cond_wait(&held_cv, &held_mu);
	pthread_mutex_unlock(&held_mu);
	mg_watch_unlock();
	return NULL;
}

Test(watch, fork_while_locked)
{
	start();
	char *m = watched(8);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, hold_lock, NULL), 0);
	pthread_mutex_lock(&held_mu);
	while (held_state != 1)
		pthread_cond_wait(&held_cv, &held_mu);
	pthread_mutex_unlock(&held_mu);
	pid_t pid = fork();
	if (pid == 0) {
		mg_watch_fork_child();
		struct pages p;
		_exit(!strcmp(mg_watch_why(), "off: forked while another thread held the watch lock") &&
		      scan(&p, m, 8) == -1 ? 0 : 1);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's watch is off");
	pthread_mutex_lock(&held_mu);
	held_state = 2;
	pthread_cond_broadcast(&held_cv);
	pthread_mutex_unlock(&held_mu);
	pthread_join(t, NULL);
	cr_assert_str_eq(mg_watch_why(), "on", "the parent's is not");
}

/* The _locked calls refuse a caller without the lock. */
static void scan_unlocked(void *arg)
{
	*(long *)arg = mg_watch_scan_locked(NULL, 1ul << 47, NULL, NULL);
}

Test(watch, lock_required)
{
	start();
	watched(4);
	long r;
	cr_assert_str_eq(stderr_of(scan_unlocked, &r),
			 "memgc: mg_watch_scan_locked called without the watch lock: ignored\n");
	cr_assert_eq(r, -1);
}
