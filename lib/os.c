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
#include <unistd.h>
#include <sched.h>

#include "internal.h"

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
