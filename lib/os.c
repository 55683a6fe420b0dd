/* os.c: the Linux primitives memgc stands on (mmap, madvise, /proc).
 *
 * Nothing else in lib/ calls the kernel for memory or reads /proc, but
 * world.c (threads, signals, futexes, /proc/self/{task,maps}); none of
 * these functions allocates, so they are safe inside malloc and at exit.
 * errno is preserved by every one of them.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sched.h>

#include "internal.h"

/* jemalloc's own mappings: its mmap and munmap calls come here (the build
 * renames them, lib/jemalloc.syms), so memgc knows where jemalloc keeps
 * its base metadata (the rtree leaves, the automatic arenas' bases) and
 * arena 0's extents; mg_os_je_foreach lists them for the purge.  Lock-free:
 * jemalloc maps without its locks held, at any time, fork included.
 *   je[i].size != 0  <=>  [je[i].start, +size) was mapped by jemalloc and
 *                         not unmapped since (a range jemalloc unmaps from
 *                         the middle of a mapping is dropped from the list)
 */
#define JE_MAX 1024
static struct { uintptr_t start; size_t size; } je[JE_MAX];

void *mg_os_map(size_t size)
{
	int e = errno;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
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

/* ---- jemalloc's own mappings ---- */

void *mg_je_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int mg_je_munmap(void *addr, size_t len);

static void je_set(unsigned i, uintptr_t start, size_t size)
{
	__atomic_store_n(&je[i].size, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&je[i].start, start, __ATOMIC_RELEASE);
	__atomic_store_n(&je[i].size, size, __ATOMIC_RELEASE);
}

MG_HIDDEN void *mg_je_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(addr, len, prot, flags, fd, off);
	if (p == MAP_FAILED || fd != -1 || !(flags & MAP_ANONYMOUS) || !len)
		return p;
	uintptr_t s = (uintptr_t)p;
	for (unsigned i = 0; i < JE_MAX; i++) {    /* a commit (MAP_FIXED) of a known range */
		size_t n = __atomic_load_n(&je[i].size, __ATOMIC_ACQUIRE);
		uintptr_t a = __atomic_load_n(&je[i].start, __ATOMIC_ACQUIRE);
		if (n && s >= a && s + len <= a + n)
			return p;
	}
	for (unsigned i = 0; i < JE_MAX; i++) {
		size_t z = 0;
		if (__atomic_load_n(&je[i].size, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&je[i].size, &z, len, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			je_set(i, s, len);
			break;
		}
	}
	return p;   /* the list is full: the mapping is not purged, nothing else */
}

/* jemalloc unmaps the misaligned head and tail of a fresh mapping, and a
 * whole mapping only when opt.retain is off. */
MG_HIDDEN int mg_je_munmap(void *addr, size_t len)
{
	uintptr_t s = (uintptr_t)addr, e = s + len;
	for (unsigned i = 0; i < JE_MAX; i++) {
		size_t n = __atomic_load_n(&je[i].size, __ATOMIC_ACQUIRE);
		uintptr_t a = __atomic_load_n(&je[i].start, __ATOMIC_ACQUIRE);
		if (!n || e <= a || s >= a + n)
			continue;
		if (s <= a && e >= a + n)
			__atomic_store_n(&je[i].size, 0, __ATOMIC_RELEASE);
		else if (s <= a)
			je_set(i, e, a + n - e);
		else if (e >= a + n)
			je_set(i, a, s - a);
		else
			__atomic_store_n(&je[i].size, 0, __ATOMIC_RELEASE);
	}
	return munmap(addr, len);
}

int mg_os_je_foreach(int (*fn)(uintptr_t start, size_t size, void *arg), void *arg)
{
	for (unsigned i = 0; i < JE_MAX; i++) {
		size_t n = __atomic_load_n(&je[i].size, __ATOMIC_ACQUIRE);
		uintptr_t a = __atomic_load_n(&je[i].start, __ATOMIC_ACQUIRE);
		if (n && a) {
			int r = fn(a, n, arg);
			if (r)
				return r;
		}
	}
	return 0;
}

/* ---- dropping pages that hold nothing ---- */

/* Every word of the page is 0 or pattern. */
static bool page_zero(const void *p, size_t page, uint64_t pattern)
{
	const uint64_t *w = p;
	for (size_t i = 0; i < page / 8; i += 8) {
		bool other = false;
		for (size_t j = 0; j < 8; j++)
			other |= w[i + j] != 0 && w[i + j] != pattern;
		if (other)
			return false;
	}
	return true;
}

/* Drops the resident pages of [p, p + size) whose words are all zero, or
 * equal to pattern (0: none).  Afterwards they read as zeros: nothing
 * changes but RSS for a page of zeros, and pattern words become zeros,
 * which the caller says is the same to their reader.  Only if no thread
 * writes there meanwhile (call it with the world stopped).  mincore()
 * first, so absent pages are neither read nor faulted in.  Returns the
 * bytes dropped. */
size_t mg_os_drop_zero(void *p, size_t size, uint64_t pattern)
{
	int e = errno;
	size_t page = mg_os_page(), dropped = 0;
	uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)p + size) & ~(page - 1);
	unsigned char vec[4096];
	while (a < end) {
		size_t n = (end - a) / page;
		if (n > sizeof vec)
			n = sizeof vec;
		if (mincore((void *)a, n * page, vec) != 0)
			break;
		/* A run of pages that are absent or zero, held resident pages. */
		uintptr_t run = 0;
		size_t held = 0;
		for (size_t i = 0; i <= n; i++) {
			uintptr_t pg = a + i * page;
			bool in = i < n && (vec[i] & 1);
			bool z = i < n && (!in || page_zero((const void *)pg, page, pattern));
			if (z && !run)
				run = pg;
			held += in && z;
			if (!z && run) {
				if (held && madvise((void *)run, pg - run, MADV_DONTNEED) == 0)
					dropped += held * page;
				run = 0;
				held = 0;
			}
		}
		a += n * page;
	}
	errno = e;
	return dropped;
}

/* ---- which pages may hold data (/proc/self/pagemap) ---- */

/* A page that is neither present nor swapped out reads as zeros: whatever
 * was there was dropped or never written.  The cursor reads the pagemap a
 * window of MG_OS_BACKED_WINDOW pages at a time; queries in address order
 * read each window once. */
void mg_os_backed_open(struct mg_os_backed *c)
{
	int e = errno;
	c->fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	c->lo = c->hi = 0;
	errno = e;
}

void mg_os_backed_close(struct mg_os_backed *c)
{
	if (c->fd >= 0) {
		int e = errno;
		close(c->fd);
		errno = e;
	}
	c->fd = -1;
}

bool mg_os_backed(struct mg_os_backed *c, uintptr_t addr)
{
	size_t page = mg_os_page();
	uintptr_t pg = addr / page;
	if (c->fd < 0)
		return true;
	if (pg < c->lo || pg >= c->hi) {
		int e = errno;
		ssize_t r = pread(c->fd, c->map, sizeof c->map, (off_t)(pg * 8));
		errno = e;
		if (r < 8)
			return true;
		c->lo = pg;
		c->hi = pg + (size_t)r / 8;
	}
	return (c->map[pg - c->lo] >> 62) != 0;   /* bit 63 present, bit 62 swapped */
}

/* ---- dropping many ranges ---- */

/* process_madvise(2) on the process itself takes any advice from Linux 6.13
 * on, MADV_DONTNEED included, and flushes the TLB once per call (6.16):
 * measured here, 100,000 two-page ranges drop in 0.11 s against 0.31 s by
 * madvise(2) one at a time.  Elsewhere it fails with EINVAL (or ENOSYS,
 * EPERM), and the ranges are dropped one by one. */
void mg_os_dropper_open(struct mg_os_dropper *d)
{
	int e = errno;
	d->n = 0;
	d->calls = 0;
	d->pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	errno = e;
}

static void dropper_flush(struct mg_os_dropper *d)
{
	if (!d->n)
		return;
	size_t want = 0;
	for (unsigned i = 0; i < d->n; i++)
		want += d->iov[i].iov_len;
	if (d->pidfd >= 0) {
		long r = syscall(SYS_process_madvise, d->pidfd, d->iov, (size_t)d->n,
				 MADV_DONTNEED, 0u);
		d->calls++;
		if (r == (long)want) {
			d->n = 0;
			return;
		}
		if (r < 0) {       /* not on this kernel: one by one from now on */
			close(d->pidfd);
			d->pidfd = -1;
		}
	}
	for (unsigned i = 0; i < d->n; i++) {   /* again, all of them: idempotent */
		madvise(d->iov[i].iov_base, d->iov[i].iov_len, MADV_DONTNEED);
		d->calls++;
	}
	d->n = 0;
}

void mg_os_dropper_add(struct mg_os_dropper *d, void *p, size_t len)
{
	if (!len)
		return;
	int e = errno;
	d->iov[d->n].iov_base = p;
	d->iov[d->n].iov_len = len;
	if (++d->n == MG_OS_DROP_BATCH)
		dropper_flush(d);
	errno = e;
}

void mg_os_dropper_close(struct mg_os_dropper *d)
{
	int e = errno;
	dropper_flush(d);
	if (d->pidfd >= 0)
		close(d->pidfd);
	d->pidfd = -1;
	errno = e;
}
