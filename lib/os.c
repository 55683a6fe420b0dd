/* os.c: the Linux primitives memgc stands on (mmap, madvise, /proc).
 *
 * Nothing else in lib/ calls the kernel for memory or reads /proc, but
 * world.c (threads, signals, futexes, /proc/self/{task,maps}) and roots.c
 * (/proc/self/maps, fdinfo); none of these functions allocates, so they are
 * safe inside malloc and at exit.  errno is preserved by every one of them.
 *
 * Owns the list of memgc's own mappings (mg_os_map's): the collector must
 * never scan them as roots, since they hold pointers to program objects
 * (allocation logs, mark stacks, the garbage list).  Each is also named
 * "[anon:memgc]" where the kernel allows it, for pmap and /proc readers.
 *   own[i].size != 0  <=>  [own[i].start, +size) is a live mg_os_map mapping
 * (own_lost counts the mappings made when the list was full).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <sched.h>

#include "internal.h"

#define OWN_MAX 8192
static struct { uintptr_t start; size_t size; } own[OWN_MAX];
static unsigned own_lost;

static void own_add(void *p, size_t size)
{
	size = (size + mg_os_page() - 1) & ~(mg_os_page() - 1);   /* the whole pages */
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, size, "memgc");
	for (unsigned i = 0; i < OWN_MAX; i++) {
		size_t z = 0;
		if (__atomic_load_n(&own[i].size, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&own[i].size, &z, size, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			__atomic_store_n(&own[i].start, (uintptr_t)p, __ATOMIC_RELEASE);
			return;
		}
	}
	__atomic_add_fetch(&own_lost, 1, __ATOMIC_RELAXED);
}

static void own_remove(void *p)
{
	for (unsigned i = 0; i < OWN_MAX; i++)
		if (__atomic_load_n(&own[i].start, __ATOMIC_ACQUIRE) == (uintptr_t)p &&
		    __atomic_load_n(&own[i].size, __ATOMIC_RELAXED)) {
			__atomic_store_n(&own[i].start, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&own[i].size, 0, __ATOMIC_RELEASE);
			return;
		}
}

int mg_os_own_foreach(int (*fn)(uintptr_t start, size_t size, void *arg), void *arg)
{
	for (unsigned i = 0; i < OWN_MAX; i++) {
		size_t size = __atomic_load_n(&own[i].size, __ATOMIC_ACQUIRE);
		uintptr_t start = __atomic_load_n(&own[i].start, __ATOMIC_ACQUIRE);
		if (size && start) {
			int r = fn(start, size, arg);
			if (r)
				return r;
		}
	}
	return 0;
}

unsigned mg_os_own_lost(void)
{
	return __atomic_load_n(&own_lost, __ATOMIC_RELAXED);
}

void *mg_os_map(size_t size)
{
	int e = errno;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p != MAP_FAILED)
		own_add(p, size);
	errno = e;
	return p == MAP_FAILED ? NULL : p;
}

void *mg_os_reserve(size_t size)
{
	int e = errno;
	void *p = mmap(NULL, size, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	errno = e;
	return p == MAP_FAILED ? NULL : p;
}

int mg_os_commit(void *p, size_t size)
{
	int e = errno;
	int r = mprotect(p, size, PROT_READ | PROT_WRITE);
	errno = e;
	return r;
}

void mg_os_unmap(void *p, size_t size)
{
	int e = errno;
	own_remove(p);
	munmap(p, size);
	errno = e;
}

int mg_os_purge(void *p, size_t size)
{
	int e = errno;
	int r = madvise(p, size, MADV_DONTNEED);
	errno = e;
	return r;
}

size_t mg_os_page(void)
{
	static size_t page;
	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

unsigned mg_os_ncpu(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Reads a small /proc file into buf (NUL-terminated); returns its length or -1. */
ssize_t mg_os_read_file(const char *path, char *buf, size_t n)
{
	int e = errno;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = -1;
	if (fd >= 0) {
		size_t got = 0;
		ssize_t r;
		while (got < n - 1 && (r = read(fd, buf + got, n - 1 - got)) > 0)
			got += (size_t)r;
		buf[got] = '\0';
		len = (ssize_t)got;
		close(fd);
	}
	errno = e;
	return len;
}

uint64_t mg_os_rss(void)
{
	char buf[128];
	if (mg_os_read_file("/proc/self/statm", buf, sizeof buf) <= 0)
		return 0;
	char *s = strchr(buf, ' ');
	return s ? strtoull(s + 1, NULL, 10) * mg_os_page() : 0;
}

uint64_t mg_os_peak_rss(void)
{
	char buf[2048];
	if (mg_os_read_file("/proc/self/status", buf, sizeof buf) <= 0)
		return 0;
	char *s = strstr(buf, "VmHWM:");
	return s ? strtoull(s + 6, NULL, 10) * 1024 : 0;
}

/* ---- /proc/self/maps, line by line ---- */

static uintptr_t hexnum(const char **p)
{
	uintptr_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

/* "start-end perms offset dev inode   path" */
static int maps_line(char *p, int (*fn)(const struct mg_os_vma *, void *), void *arg)
{
	struct mg_os_vma v;
	const char *q = p;
	v.start = hexnum(&q);
	if (*q++ != '-')
		return 0;
	v.end = hexnum(&q);
	if (*q++ != ' ' || strlen(q) < 4)
		return 0;
	memcpy(v.perms, q, 4);
	v.perms[4] = '\0';
	q += 4;
	for (int field = 0; field < 3; field++) {   /* offset, dev, inode */
		while (*q == ' ')
			q++;
		while (*q && *q != ' ')
			q++;
	}
	while (*q == ' ')
		q++;
	v.path = q;
	return fn(&v, arg);
}

int mg_os_lines(const char *path, char *buf, size_t size, int (*fn)(char *line, void *arg),
		void *arg)
{
	int e = errno;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = e;
		return -1;
	}
	size_t have = 0;
	bool skip = false;              /* in the tail of an over-long line */
	int ret = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, size - 1 - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = '\0';
		char *p = buf, *nl;
		while ((nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
			*nl = '\0';
			if (!skip && (ret = fn(p, arg)))
				goto out;
			skip = false;
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (have == size - 1) {
			buf[have] = '\0';
			if (!skip && (ret = fn(buf, arg)))
				goto out;
			skip = true;
			have = 0;
		}
	}
out:
	close(fd);
	errno = e;
	return ret;
}

struct maps_cb {
	int (*fn)(const struct mg_os_vma *v, void *arg);
	void *arg;
};

static int maps_cb(char *line, void *arg)
{
	struct maps_cb *c = arg;
	return maps_line(line, c->fn, c->arg);
}

int mg_os_maps_foreach(char *buf, size_t size, int (*fn)(const struct mg_os_vma *v, void *arg),
		       void *arg)
{
	struct maps_cb c = { fn, arg };
	return mg_os_lines("/proc/self/maps", buf, size, maps_cb, &c);
}

/* ---- which pages of anonymous memory were ever written ----
 * /proc/self/pagemap: one 64-bit entry per page, bit 63 present, bit 62
 * swapped.  An anonymous page that is neither was never touched (or was
 * dropped with MADV_DONTNEED) and reads as zeros: a scan can skip it. */

int mg_os_pagemap_open(void)
{
	int e = errno;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	errno = e;
	return fd;
}

void mg_os_touched_runs(int fd, uintptr_t lo, uintptr_t hi,
			void (*fn)(uintptr_t lo, uintptr_t hi))
{
	size_t pg = mg_os_page();
	uint64_t ent[512];
	uintptr_t run = 0;              /* start of the current run, 0 for none */
	uintptr_t first = lo;           /* runs never start below it */
	int e = errno;
	for (uintptr_t a = lo & ~(pg - 1); a < hi;) {
		size_t want = (hi - a + pg - 1) / pg;
		if (want > 512)
			want = 512;
		ssize_t r = pread(fd, ent, want * 8, (off_t)(a / pg * 8));
		if (r <= 0) {           /* cannot tell: everything counts */
			if (!run)
				run = a > first ? a : first;
			break;
		}
		size_t got = (size_t)r / 8;
		for (size_t i = 0; i < got; i++, a += pg) {
			bool used = ent[i] >> 62 & 3;
			if (used && !run)
				run = a > first ? a : first;
			else if (!used && run) {
				fn(run, a);
				run = 0;
			}
		}
	}
	if (run)
		fn(run, hi);
	errno = e;
}
