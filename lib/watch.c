/* watch.c: the kernel write watch: which pages were written since we last
 * looked, and, per generation, since that generation was last collected.
 *
 * Owns the userfaultfd and the /proc/self/pagemap descriptor (the only file
 * that touches userfaultfd or PAGEMAP_SCAN), the table of watched ranges,
 * the three records of written pages and the watch lock.
 *
 * How.  A watched range is registered with UFFDIO_REGISTER_MODE_WP on a
 * userfaultfd opened with UFFD_FEATURE_WP_ASYNC: a write to a write-
 * protected page is resolved by the kernel itself (no message, no thread of
 * ours), which clears the page's uffd-wp bit.  PAGEMAP_SCAN with
 * PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC and the category
 * PAGE_IS_WRITTEN returns the pages whose bit is clear and sets it again in
 * the same walk, under the page-table lock, the TLB flushed before the call
 * returns: a write lands either before its page is re-armed (the page is
 * reported: read it after the scan) or after (it faults, and the page is
 * reported by the next scan).  Nothing is lost between two scans.
 *
 * What this kernel reports (Linux 6.18; tests/unit/test_watch.c holds it):
 *  - a range just registered: its pages that hold data at its first scan.
 *    Arming takes only pages present or swapped out and not the zero page
 *    (pagemap_scan): a hole would get a userfaultfd marker, reported by
 *    /proc/self/pagemap as swapped, and its page tables filled in; a write
 *    to a hole or to the zero page makes a page without the uffd-wp bit,
 *    reported.  Register what is mapped and used all the same, never a
 *    PROT_NONE reserve (the heap registers [mg_heap_base, mg_heap_bump) as
 *    it grows);
 *  - writes by any thread, writes the kernel makes through copy_to_user
 *    (read(2) into a watched buffer faults like a CPU write), a parent's
 *    copy-on-write after fork;
 *  - MADV_DONTNEED of an anonymous page: not reported (a hole: zeros); a
 *    re-fault by reading is not (the zero page), by writing is;
 *  - MADV_DONTNEED of a private file page: not reported; its content
 *    reverts to the file's, which holds no pointer the program stored;
 *  - mremap: the moved pages lose the registration (no EVENT_REMAP);
 *    mg_watch_move() registers the destination and counts it written.
 *  Never seen: writes through another mapping of the same memory (MAP_SHARED
 *  pages written by another process or another mapping, write(2) to a
 *  mapped file), and DMA into pages pinned before the re-arm (O_DIRECT,
 *  io_uring fixed buffers): scan such mappings in full.
 *
 * memgc's own writes.  With the world stopped after a scan, memgc writes
 * some watched pages itself: a collection's sweep rewrites the headers of
 * the objects it promotes, the purge drops pages that read as zeros.  No
 * pointer is stored by either, so mg_watch_rearm_locked() re-arms those
 * pages without recording them: otherwise every survivor's page would be
 * read again by the next young collection, and every page after a purge.
 * A collection reads the heap's written pages without re-arming them
 * (mg_watch_defer_dense_locked) and re-arms them after its sweep, so that
 * its header writes there take no write fault (young.c).  A writer the
 * stop does not stop (an io_uring or AIO worker, DMA) is not seen during a
 * stop in any case; what it writes during one to a page re-armed at the
 * end would not be seen after either, so where such a ring is mapped
 * young.c records what it re-arms.
 *
 * Ranges registered behind our back.  A mapping created inside a watched
 * range after it was added (mmap over a hole, an mremap destination, every
 * mapping of a forked child) is not registered: PM_SCAN_CHECK_WPASYNC would
 * refuse the scan.  Each scan first lists the mappings of the range that are
 * not write-watched (PAGEMAP_SCAN on the inverted PAGE_IS_WPALLOWED, which
 * skips registered mappings without walking them), registers them and
 * counts them written in full; one that cannot be registered (a device
 * mapping) is counted written at every scan ("unwatched" in the stats).
 *
 * The records.  Generation g's record holds every page reported or noted
 * since the last mg_watch_consume_locked(g') with g' >= g: what a
 * generation-g collection must read of the older objects and the roots (an
 * object is in a generation <= g only if it was born after the last
 * collection of a generation >= g, so every pointer to it was written
 * since).  A scan ORs what it finds into all three; collecting g empties
 * records 0..g.  Each record is a bitmap of one bit per page, sparse: a
 * directory of 2^20 leaves' ids covers the 47-bit address space in 128 MiB
 * chunks (4 MiB, mapped lazily); a leaf holds the chunk's 32768 bits for
 * each generation, with one summary bit per 64-bit word; each generation
 * lists its leaves in address order.  Marking, iterating and clearing cost
 * the pages written and the chunks they fall in, never the watched size.
 *
 * Invariants (mg_watch_check()):
 *   table: page-aligned, sorted, disjoint and not adjacent (merged)
 *   leaf: sum[g] bit w  <=>  bits[g][w] != 0;  count[g] == sum of popcounts
 *   list g: the leaves with listed[g], in increasing base; a leaf with a
 *     bit of generation g set is listed[g] (a listed leaf may be empty)
 *   the descriptors belong to process pid (a forked child reopens its own)
 *
 * Locking: one mutex, ranked after jemalloc's locks (the heap registers its
 * growth from inside an extent hook) and before the loader's.  The entry
 * points that take it themselves: init, add, remove, move, note_written,
 * stats.  Those named _locked expect the caller to hold it (mg_watch_lock),
 * so that a collector takes it before stopping the world and no stopped
 * thread holds it.  Fork takes no lock (mg_watch_fork_child says why).
 * Nothing here calls malloc: memory comes from mg_os_map.  errno is
 * preserved by every entry point.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "internal.h"

/* ---- the kernel's interface, where Debian 12's headers (6.1) predate it ---- */

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1                      /* 5.11 */
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)  /* 6.1 */
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)      /* 6.4 */
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)            /* 6.7 */
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)        /* /dev/userfaultfd, 6.1 */
#endif

#ifndef PAGEMAP_SCAN                               /* <linux/fs.h>, 6.7 */
struct page_region {
	uint64_t start, end;          /* [start, end) */
	uint64_t categories;          /* PAGE_IS_*, masked by return_mask */
};
struct pm_scan_arg {
	uint64_t size;                /* sizeof(struct pm_scan_arg) */
	uint64_t flags;               /* PM_SCAN_* */
	uint64_t start, end;          /* the range, start page-aligned */
	uint64_t walk_end;            /* out: where the walk stopped */
	uint64_t vec, vec_len;        /* the struct page_region array */
	uint64_t max_pages;           /* 0: no limit */
	uint64_t category_inverted;   /* categories that match when 0 */
	uint64_t category_mask;       /* all of these must match */
	uint64_t category_anyof_mask; /* one of these must match */
	uint64_t return_mask;         /* categories reported */
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#endif

/* ---- state ---- */

#define GENS MG_WATCH_GENS
#define PAGE_SHIFT 12
#define CHUNK_SHIFT 27                       /* 128 MiB of address space per leaf */
#define LEAF_PAGES (1u << (CHUNK_SHIFT - PAGE_SHIFT))
#define LEAF_WORDS (LEAF_PAGES / 64)          /* 512 */
#define SUM_WORDS (LEAF_WORDS / 64)           /* 8 */
#define ADDR_BITS 47
#define DIR_SIZE (1u << (ADDR_BITS - CHUNK_SHIFT))
#define SLAB_LEAVES 32u
#define MAX_SLABS (DIR_SIZE / SLAB_LEAVES)
#define VEC_LEN 2048u                         /* page_regions per PAGEMAP_SCAN */
#define WANTED (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED | UFFD_FEATURE_WP_HUGETLBFS_SHMEM)

/* One 128 MiB chunk of address space in the three records. */
struct leaf {
	uintptr_t base;                   /* the chunk's first address */
	uint32_t next[GENS];              /* the next leaf of list g: id + 1, 0 ends */
	uint32_t count[GENS];             /* bits set in bits[g] */
	bool listed[GENS];
	uint64_t sum[GENS][SUM_WORDS];    /* bit w: bits[g][w] != 0 */
	uint64_t bits[GENS][LEAF_WORDS];  /* bit p: page base + p*4096 */
};

struct range {
	uintptr_t start, end;
};

enum { UNINIT, ON, OFF };

static struct {
	int state;
	char why[200];                    /* "on" or "off: <reason>" */
	int uffd, pagemap;
	pid_t pid;                        /* whose descriptors these are */
	pid_t fd_tid;                     /* the thread whose own table holds them; 0: the program's */
	uintptr_t dense_lo, dense_hi;     /* mg_watch_dense_locked */
	bool defer_dense;                 /* mg_watch_defer_dense_locked */
	dev_t dev[2];                     /* the descriptors' files, to see them closed */
	ino_t ino[2];
	uint64_t features;
	struct page_region *vec;          /* VEC_LEN of them */
	struct range *ranges;             /* the table */
	size_t n, cap;
	uint32_t *dir;                    /* chunk -> leaf id + 1 */
	struct leaf *slabs[MAX_SLABS];
	uint32_t nleaves;
	uint32_t head[GENS];              /* first leaf of list g: id + 1 */
	bool lost[GENS];                  /* record g missed pages (no memory) */
	struct mg_watch_stats st;
} w = { .uffd = -1, .pagemap = -1 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t owner;                       /* the thread holding lock, 0 */

void mg_watch_lock(void)
{
	pthread_mutex_lock(&lock);
	__atomic_store_n(&owner, mg_os_tid(), __ATOMIC_RELAXED);
}

void mg_watch_unlock(void)
{
	__atomic_store_n(&owner, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock);
}

/* The _locked entry points' check: the caller holds the lock. */
static bool held(const char *fn)
{
	if (__atomic_load_n(&owner, __ATOMIC_RELAXED) == mg_os_tid())
		return true;
	mg_log("%s called without the watch lock: ignored", fn);
	return false;
}

/* errno's name: strerror may allocate (gettext) and says less. */
static const char *ename(int e)
{
	switch (e) {
	case ENOSYS: return "ENOSYS";
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ENOENT: return "ENOENT";
	case EBUSY: return "EBUSY";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "an unexpected errno";
	}
}

static int off(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int off(const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(w.why, sizeof w.why, "off: ");
	va_start(ap, fmt);
	vsnprintf(w.why + k, sizeof w.why - (size_t)k, fmt, ap);
	va_end(ap);
	w.state = OFF;
	return -1;
}

/* ---- the kernel's side: open, register, scan ---- */

static int new_uffd(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)          /* before 5.11: no UFFD_USER_MODE_ONLY */
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
		errno = e;                      /* the system call's reason is the one to give */
	}
	return fd;
}

static int reg(uintptr_t s, uintptr_t e)
{
	struct uffdio_register r = { .range = { s, e - s }, .mode = UFFDIO_REGISTER_MODE_WP };
	return ioctl(w.uffd, UFFDIO_REGISTER, &r);
}

static void unreg(uintptr_t s, uintptr_t e)
{
	struct uffdio_range r = { s, e - s };
	ioctl(w.uffd, UFFDIO_UNREGISTER, &r);   /* fails where nothing is mapped: fine */
}

/* One PAGEMAP_SCAN of [s, e) into vec[0..n), with the categories as given;
 * regions or -1 (errno). */
static long pagemap_scan_raw(uintptr_t s, uintptr_t e, uint64_t flags, uint64_t inverted,
			     uint64_t mask, uint64_t anyof, uint64_t rmask,
			     struct page_region *vec, size_t n, uintptr_t *walk_end)
{
	struct pm_scan_arg a = {
		.size = sizeof a, .flags = flags, .start = s, .end = e,
		.vec = (uintptr_t)vec, .vec_len = n,
		.category_inverted = inverted, .category_mask = mask,
		.category_anyof_mask = anyof, .return_mask = rmask,
	};
	long r = ioctl(w.pagemap, PAGEMAP_SCAN, &a);
	if (walk_end)
		*walk_end = (uintptr_t)a.walk_end;
	return r;
}

/* The categories of a page that may hold data, one of which a scan for
 * data requires (with PAGE_IS_PFNZERO inverted in its mask: not the zero
 * page). */
#define DATA_ANYOF (PAGE_IS_PRESENT | PAGE_IS_SWAPPED)

/* One PAGEMAP_SCAN of [s, e) into vec[0..n); regions or -1 (errno). */
static long pagemap_scan(uintptr_t s, uintptr_t e, uint64_t flags, uint64_t inverted,
			 uint64_t mask, struct page_region *vec, size_t n, uintptr_t *walk_end)
{
	/* Arming matches only pages that hold data: present or swapped out,
	 * and not the zero page; but in the dense range (the heap), where
	 * the kernel's fast path for a plain PAGE_IS_WRITTEN scan pays (a
	 * young collection at 10^7 objects: 2.8 ms, 3.3 with the filter).  A
	 * hole (never touched, or dropped) and the zero page hold zeros, and a
	 * write there populates a page unarmed, so reported.  Arming a hole
	 * would leave a userfaultfd marker in its page table entry (async mode
	 * implies WP_UNPOPULATED), which pagemap calls swapped: every full
	 * read then faulted it in (design.md, the hazard under "Generations").
	 * A plain scan reports a hole never armed as written, wherever it is:
	 * the heap's new pages are read with the filter once and their holes
	 * armed (mg_watch_add_fresh_locked). */
	uint64_t anyof = 0, rmask = mask;
	if ((flags & PM_SCAN_WP_MATCHING) && !(s >= w.dense_lo && e <= w.dense_hi)) {
		anyof = DATA_ANYOF;
		inverted |= PAGE_IS_PFNZERO;
		mask |= PAGE_IS_PFNZERO;
	}
	return pagemap_scan_raw(s, e, flags, inverted, mask, anyof, rmask, vec, n, walk_end);
}

/* Can this thread use the descriptors?  They are in the table of the
 * thread that opened them: the collector thread's own, or the program's
 * (design.md, "Descriptors").  A program thread's hook then changes the
 * table and records only; the next scan registers what it added. */
static bool here(void)
{
	return getpid() == w.pid && (w.fd_tid ? mg_os_tid() == w.fd_tid : !mg_os_table_own());
}

static void close_kernel(void)
{
	if (w.uffd >= 0)
		close(w.uffd);
	if (w.pagemap >= 0)
		close(w.pagemap);
	w.uffd = w.pagemap = -1;
}

/* Remembers which files the two descriptors are. */
static void note_files(void)
{
	struct stat st;
	for (int i = 0; i < 2; i++) {
		w.dev[i] = 0;
		w.ino[i] = 0;
		if (fstat(i ? w.pagemap : w.uffd, &st) == 0) {
			w.dev[i] = st.st_dev;
			w.ino[i] = st.st_ino;
		}
	}
}

/* Are the descriptors still ours?  A program may close every descriptor
 * (closefrom) and get the numbers back for files of its own: a scan would
 * then miss every write (the registrations die with the userfaultfd). */
static bool files_ours(void)
{
	struct stat st;
	for (int i = 0; i < 2; i++)
		if (fstat(i ? w.pagemap : w.uffd, &st) || st.st_dev != w.dev[i] ||
		    st.st_ino != w.ino[i])
			return false;
	return true;
}

/* Opens the userfaultfd and pagemap for this process; 0, or -1 after off(). */
static int open_kernel(void)
{
	int fd = new_uffd();
	if (fd < 0) {
		int e = errno;
		if (e == ENOSYS)
			return off("userfaultfd: ENOSYS (no CONFIG_USERFAULTFD, or a seccomp filter)");
		if (e == EPERM)
			return off("userfaultfd: EPERM (seccomp, a security module, or vm.unprivileged_userfaultfd=0)");
		return off("userfaultfd: %s (%d)", ename(e), e);
	}
	/* UFFDIO_API is accepted once per descriptor: ask on a first one what
	 * the kernel has, then open the one we keep with what we want of it. */
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	if (ioctl(fd, UFFDIO_API, &api)) {
		int e = errno;
		close(fd);
		return off("UFFDIO_API: %s (%d)", ename(e), e);
	}
	close(fd);
	if (!(api.features & UFFD_FEATURE_WP_ASYNC))
		return off("userfaultfd: no UFFD_FEATURE_WP_ASYNC (Linux 6.7 or later needed)");
	uint64_t want = api.features & WANTED;
	if ((fd = new_uffd()) < 0)
		return off("userfaultfd: %s (%d) on the second open", ename(errno), errno);
	api = (struct uffdio_api){ .api = UFFD_API, .features = want };
	if (ioctl(fd, UFFDIO_API, &api)) {
		int e = errno;
		close(fd);
		return off("UFFDIO_API: %s (%d) for the features it offered", ename(e), e);
	}
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		int e = errno;
		close(fd);
		return off("/proc/self/pagemap: %s (%d)", ename(e), e);
	}
	w.uffd = fd;
	w.pagemap = pm;
	w.features = want;
	w.pid = getpid();
	w.fd_tid = mg_os_table_own() ? mg_os_tid() : 0;
	note_files();
	/* An empty scan: ENOTTY before 6.7 (or from a filter). */
	uintptr_t p = (uintptr_t)w.vec;
	if (pagemap_scan(p, p, 0, 0, 0, NULL, 0, NULL) < 0) {
		int e = errno;
		close_kernel();
		return off("PAGEMAP_SCAN: %s (%d; Linux 6.7 or later needed)", ename(e), e);
	}
	return 0;
}

/* ---- the records ---- */

static struct leaf *leaf_at(uint32_t id)
{
	return &w.slabs[id / SLAB_LEAVES][id % SLAB_LEAVES];
}

/* The leaf of the chunk that holds a; NULL when it has none and !create or
 * no memory is left (the caller then counts the pages as lost). */
static struct leaf *leaf_of(uintptr_t a, bool create)
{
	uint32_t c = (uint32_t)(a >> CHUNK_SHIFT);
	if (w.dir[c])
		return leaf_at(w.dir[c] - 1);
	if (!create || w.nleaves == DIR_SIZE)
		return NULL;
	uint32_t id = w.nleaves;
	if (!w.slabs[id / SLAB_LEAVES] &&
	    !(w.slabs[id / SLAB_LEAVES] = mg_os_map(SLAB_LEAVES * sizeof(struct leaf))))
		return NULL;
	w.nleaves++;
	struct leaf *l = leaf_at(id);
	l->base = (uintptr_t)c << CHUNK_SHIFT;
	w.dir[c] = id + 1;
	return l;
}

/* Puts leaf l (id) on list g, in address order. */
static void list_insert(int g, struct leaf *l, uint32_t id)
{
	uint32_t *link = &w.head[g];
	while (*link && leaf_at(*link - 1)->base < l->base)
		link = &leaf_at(*link - 1)->next[g];
	l->next[g] = *link;
	*link = id + 1;
	l->listed[g] = true;
}

/* Bits [p0, p1) of leaf l in generation g, set or cleared; returns the
 * number of bits that changed. */
static uint32_t leaf_bits(struct leaf *l, int g, uint32_t p0, uint32_t p1, bool set)
{
	uint32_t changed = 0;
	for (uint32_t wd = p0 / 64; wd <= (p1 - 1) / 64; wd++) {
		uint32_t lo = wd * 64 > p0 ? 0 : p0 % 64;
		uint32_t hi = (wd + 1) * 64 <= p1 ? 64 : p1 % 64;
		uint64_t m = (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
		uint64_t old = l->bits[g][wd];
		uint64_t now = set ? old | m : old & ~m;
		changed += (uint32_t)__builtin_popcountll(old ^ now);
		l->bits[g][wd] = now;
		if (now)
			l->sum[g][wd / 64] |= 1ull << (wd % 64);
		else
			l->sum[g][wd / 64] &= ~(1ull << (wd % 64));
	}
	return changed;
}

/* Marks [s, e) (page-aligned, below 2^47) written in every record. */
static void rec_mark(uintptr_t s, uintptr_t e)
{
	while (s < e) {
		uintptr_t ce = ((s >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT;
		uintptr_t x = e < ce ? e : ce;
		struct leaf *l = leaf_of(s, true);
		if (!l) {
			/* No memory for a leaf: these pages cannot be
			 * recorded, and the records cannot be trusted until
			 * consumed (mg_watch_foreach_locked says so). */
			w.st.lost += (x - s) >> PAGE_SHIFT;
			for (int g = 0; g < GENS; g++)
				w.lost[g] = true;
			s = x;
			continue;
		}
		uint32_t p0 = (uint32_t)((s - l->base) >> PAGE_SHIFT);
		uint32_t p1 = (uint32_t)((x - l->base) >> PAGE_SHIFT);
		for (int g = 0; g < GENS; g++) {
			uint32_t c = leaf_bits(l, g, p0, p1, true);
			l->count[g] += c;
			w.st.record_pages[g] += c;
			if (!l->listed[g])
				list_insert(g, l, w.dir[s >> CHUNK_SHIFT] - 1);
		}
		s = x;
	}
}

/* Clears [s, e) in every record (the pages are no longer watched). */
static void rec_clear(uintptr_t s, uintptr_t e)
{
	while (s < e) {
		uintptr_t ce = ((s >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT;
		uintptr_t x = e < ce ? e : ce;
		struct leaf *l = leaf_of(s, false);
		if (l) {
			uint32_t p0 = (uint32_t)((s - l->base) >> PAGE_SHIFT);
			uint32_t p1 = (uint32_t)((x - l->base) >> PAGE_SHIFT);
			for (int g = 0; g < GENS; g++) {
				uint32_t c = leaf_bits(l, g, p0, p1, false);
				l->count[g] -= c;
				w.st.record_pages[g] -= c;
			}
		}
		s = x;
	}
}

/* Calls fn on the runs of record g, in address order, adjacent runs
 * merged; returns fn's first non-zero value, or 0. */
static int rec_foreach(int g, mg_watch_fn fn, void *arg)
{
	uintptr_t rs = 0, re = 0;      /* the run pending */
	for (uint32_t id = w.head[g]; id; id = leaf_at(id - 1)->next[g]) {
		struct leaf *l = leaf_at(id - 1);
		for (uint32_t i = 0; i < SUM_WORDS; i++) {
			for (uint64_t sm = l->sum[g][i]; sm; sm &= sm - 1) {
				uint32_t wd = i * 64 + (uint32_t)__builtin_ctzll(sm);
				uint64_t x = l->bits[g][wd];
				while (x) {
					unsigned b = (unsigned)__builtin_ctzll(x);
					uint64_t rest = ~(x >> b);
					unsigned len = rest ? (unsigned)__builtin_ctzll(rest) : 64 - b;
					uintptr_t a = l->base + (((uintptr_t)wd * 64 + b) << PAGE_SHIFT);
					uintptr_t z = a + ((uintptr_t)len << PAGE_SHIFT);
					if (a == re) {
						re = z;
					} else {
						int r = re ? fn(rs, re, arg) : 0;
						if (r)
							return r;
						rs = a;
						re = z;
					}
					x = len + b == 64 ? 0 : x & ~(((1ull << len) - 1) << b);
				}
			}
		}
	}
	return re ? fn(rs, re, arg) : 0;
}

/* Empties record g; the cost is its set words. */
static void rec_empty(int g)
{
	uint32_t id = w.head[g];
	while (id) {
		struct leaf *l = leaf_at(id - 1);
		for (uint32_t i = 0; i < SUM_WORDS; i++) {
			for (uint64_t sm = l->sum[g][i]; sm; sm &= sm - 1)
				l->bits[g][i * 64 + (uint32_t)__builtin_ctzll(sm)] = 0;
			l->sum[g][i] = 0;
		}
		w.st.record_pages[g] -= l->count[g];
		l->count[g] = 0;
		l->listed[g] = false;
		id = l->next[g];
		l->next[g] = 0;
	}
	w.head[g] = 0;
}

/* ---- the table of watched ranges ---- */

/* The first range whose end is above a. */
static size_t table_find(uintptr_t a)
{
	size_t lo = 0, hi = w.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (w.ranges[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int table_room(size_t more)
{
	if (w.n + more <= w.cap)
		return 0;
	size_t cap = w.cap ? w.cap * 2 : 256;
	while (cap < w.n + more)
		cap *= 2;
	struct range *r = mg_os_map(cap * sizeof *r);
	if (!r)
		return -1;
	if (w.ranges) {
		memcpy(r, w.ranges, w.n * sizeof *r);
		mg_os_unmap(w.ranges, w.cap * sizeof *r);
	}
	w.ranges = r;
	w.cap = cap;
	return 0;
}

/* Adds [s, e), merged with what it overlaps or touches; 0 or -1 (ENOMEM). */
static int table_add(uintptr_t s, uintptr_t e)
{
	if (table_room(1))
		return -1;
	size_t i = table_find(s > 0 ? s - 1 : 0);   /* a range ending at s merges */
	size_t j = i;                                /* ranges [i, j) merge with [s, e) */
	while (j < w.n && w.ranges[j].start <= e) {
		if (w.ranges[j].start < s)
			s = w.ranges[j].start;
		if (w.ranges[j].end > e)
			e = w.ranges[j].end;
		j++;
	}
	if (j == i) {
		memmove(&w.ranges[i + 1], &w.ranges[i], (w.n - i) * sizeof *w.ranges);
		w.n++;
	} else if (j > i + 1) {
		memmove(&w.ranges[i + 1], &w.ranges[j], (w.n - j) * sizeof *w.ranges);
		w.n -= j - i - 1;
	}
	w.ranges[i] = (struct range){ s, e };
	return 0;
}

/* Removes [s, e) from the table; 0 or -1 (ENOMEM: splitting a range). */
static int table_remove(uintptr_t s, uintptr_t e)
{
	if (table_room(1))
		return -1;
	size_t i = table_find(s);
	while (i < w.n && w.ranges[i].start < e) {
		struct range r = w.ranges[i];
		if (r.start < s && r.end > e) {          /* split */
			memmove(&w.ranges[i + 1], &w.ranges[i], (w.n - i) * sizeof *w.ranges);
			w.n++;
			w.ranges[i].end = s;
			w.ranges[i + 1].start = e;
			return 0;
		}
		if (r.start < s) {
			w.ranges[i++].end = s;
		} else if (r.end > e) {
			w.ranges[i].start = e;
			return 0;
		} else {
			memmove(&w.ranges[i], &w.ranges[i + 1], (w.n - i - 1) * sizeof *w.ranges);
			w.n--;
		}
	}
	return 0;
}

/* ---- scanning ---- */

struct emit {
	mg_watch_fn fn;
	void *arg;
	bool stopped;
	long pages;
};

static void emit(struct emit *x, uintptr_t s, uintptr_t e)
{
	rec_mark(s, e);
	x->pages += (long)((e - s) >> PAGE_SHIFT);
	if (x->fn && !x->stopped && x->fn(s, e, x->arg))
		x->stopped = true;
}

/* Reads and re-arms the written pages of [s, e), where every mapping is
 * registered.  A refusal (a mapping that appeared since the check, or one
 * PAGEMAP_SCAN will not arm) makes the rest of the range count as written. */
static void armed_scan(uintptr_t s, uintptr_t e, struct emit *x)
{
	uint64_t flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	if (w.defer_dense && s >= w.dense_lo && e <= w.dense_hi)
		flags = PM_SCAN_CHECK_WPASYNC;          /* read, not re-armed */
	while (s < e) {
		uintptr_t end;
		w.st.scans++;
		long r = pagemap_scan(s, e, flags, 0, PAGE_IS_WRITTEN, w.vec, VEC_LEN, &end);
		if (r < 0) {
			w.st.unwatched += (e - s) >> PAGE_SHIFT;
			emit(x, s, e);
			return;
		}
		for (long i = 0; i < r; i++) {
			w.st.reported += (w.vec[i].end - w.vec[i].start) >> PAGE_SHIFT;
			emit(x, (uintptr_t)w.vec[i].start, (uintptr_t)w.vec[i].end);
		}
		if (end <= s || (size_t)r < VEC_LEN)
			return;
		s = end;
	}
}

/* Scans [s, e) of one watched range: the mappings not registered first
 * (registered now and counted written in full), then the rest. */
static void scan_range(uintptr_t s, uintptr_t e, struct emit *x)
{
	while (s < e) {
		struct page_region u;
		long r = pagemap_scan(s, e, 0, PAGE_IS_WPALLOWED, PAGE_IS_WPALLOWED, &u, 1, NULL);
		uintptr_t stop = r == 1 ? (uintptr_t)u.start : e;
		armed_scan(s, stop, x);
		if (r != 1)
			return;
		emit(x, (uintptr_t)u.start, (uintptr_t)u.end);
		if (reg((uintptr_t)u.start, (uintptr_t)u.end) == 0) {
			w.st.late++;
			/* Arm it; its pages were all counted just now. */
			struct emit quiet = { 0 };
			armed_scan((uintptr_t)u.start, (uintptr_t)u.end, &quiet);
		} else {
			w.st.unwatched += (u.end - u.start) >> PAGE_SHIFT;
		}
		s = (uintptr_t)u.end;
	}
}

/* A forked child holds its parent's descriptors: PAGEMAP_SCAN through them
 * would read and re-arm the parent's pages.  Opens its own, registers the
 * table again and counts everything written (the child's pages lost their
 * uffd-wp bits in the copy). */
static void child_reopen(void)
{
	close_kernel();
	if (open_kernel())
		return;
	for (size_t i = 0; i < w.n; i++) {
		reg(w.ranges[i].start, w.ranges[i].end);   /* what fails is retried by scans */
		rec_mark(w.ranges[i].start, w.ranges[i].end);
	}
}

/* True when the watch is on for this process (reopened after a fork) and
 * its descriptors are this thread's: the collector's calls. */
static bool ready(void)
{
	if (w.state != ON)
		return false;
	if (getpid() != w.pid)
		child_reopen();
	return w.state == ON && here();
}

/* Page-aligned [s, e) for [addr, addr + len), or false (outside 47 bits). */
static bool span(const void *addr, size_t len, uintptr_t *s, uintptr_t *e)
{
	uintptr_t a = (uintptr_t)addr, z = a + len;
	if (z < a || z > (1ull << ADDR_BITS))
		return false;
	*s = a & ~(uintptr_t)((1u << PAGE_SHIFT) - 1);
	*e = (z + (1u << PAGE_SHIFT) - 1) & ~(uintptr_t)((1u << PAGE_SHIFT) - 1);
	return true;
}

/* ---- entry points ---- */

int mg_watch_init(void)
{
	int e = errno;
	mg_watch_lock();
	if (w.state == UNINIT) {
		if (mg_os_page() != 1u << PAGE_SHIFT)
			off("pages of %zu bytes (4096 only)", mg_os_page());
		else if (mg_opt.watch == MG_WATCH_OFF)
			off("watch=off");
		else if (!(w.dir = mg_os_map(DIR_SIZE * sizeof *w.dir)) ||
			 !(w.vec = mg_os_map(VEC_LEN * sizeof *w.vec)))
			off("no memory for the records");
		else if (open_kernel() == 0) {
			w.state = ON;
			snprintf(w.why, sizeof w.why, "on");
		}
	}
	int r = w.state == ON ? 0 : -1;
	mg_watch_unlock();
	errno = e;
	return r;
}

bool mg_watch_on(void)
{
	return __atomic_load_n(&w.state, __ATOMIC_ACQUIRE) == ON;
}

const char *mg_watch_why(void)
{
	return w.state == UNINIT ? "off: not started" : w.why;
}

/* The regions of [s, e) a raw scan matches, emitted into x (recorded) when
 * x is not NULL, walking on while the vector fills; false when the kernel
 * refused. */
static bool raw_walk(uintptr_t s, uintptr_t e, uint64_t flags, uint64_t inverted, uint64_t mask,
		     uint64_t anyof, uint64_t rmask, struct emit *x)
{
	while (s < e) {
		uintptr_t end;
		long r = pagemap_scan_raw(s, e, flags, inverted, mask, anyof, rmask, w.vec, VEC_LEN,
					  &end);
		if (r < 0)
			return false;
		for (long i = 0; x && i < r; i++) {
			w.st.reported += (w.vec[i].end - w.vec[i].start) >> PAGE_SHIFT;
			emit(x, (uintptr_t)w.vec[i].start, (uintptr_t)w.vec[i].end);
		}
		if (end <= s || (size_t)r < VEC_LEN)
			return true;
		s = end;
	}
	return true;
}

/* Registers [s, e), puts it in the table and counts it written (what it
 * held before is unknown); 0 or an errno value.  The caller holds the lock.
 * Fresh (private anonymous memory, the heap's growth): only its pages that
 * hold data are counted, left unarmed like the rest of a deferred read, and
 * its holes and zero pages armed, so that the plain scans after do not
 * report them (a hole never armed reads as written); where that cannot be
 * done here (another thread's table, a refusal), all of it is counted. */
static int watch(uintptr_t s, uintptr_t e, bool fresh)
{
	bool k = here();
	if (k && reg(s, e))
		return errno;
	if (table_add(s, e)) {
		if (k)
			unreg(s, e);
		return ENOMEM;
	}
	struct emit x = { 0 };
	if (fresh && k &&
	    raw_walk(s, e, PM_SCAN_CHECK_WPASYNC, PAGE_IS_PFNZERO, PAGE_IS_WRITTEN | PAGE_IS_PFNZERO,
		     DATA_ANYOF, PAGE_IS_WRITTEN, &x) &&
	    /* not swapped, and not present or the zero page */
	    raw_walk(s, e, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		     PAGE_IS_PRESENT | PAGE_IS_SWAPPED, PAGE_IS_SWAPPED,
		     PAGE_IS_PRESENT | PAGE_IS_PFNZERO, PAGE_IS_PRESENT, NULL))
		return 0;
	rec_mark(s, e);
	w.st.noted += (e - s) >> PAGE_SHIFT;
	return 0;
}

int mg_watch_add(const void *addr, size_t len)
{
	int e = errno, r;
	uintptr_t s, z;
	if (!span(addr, len, &s, &z) || s == z) {
		errno = EINVAL;
		return -1;
	}
	mg_watch_lock();
	r = w.state == ON ? watch(s, z, false) : EOPNOTSUPP;
	mg_watch_unlock();
	errno = r ? r : e;
	return r ? -1 : 0;
}

/* Unregisters and forgets [s, e); the caller holds the lock. */
static int forget(uintptr_t s, uintptr_t e)
{
	if (table_remove(s, e))
		return -1;
	if (here())
		unreg(s, e);
	rec_clear(s, e);
	return 0;
}

int mg_watch_remove(const void *addr, size_t len)
{
	int e = errno, r;
	uintptr_t s, z;
	if (!span(addr, len, &s, &z)) {
		errno = EINVAL;
		return -1;
	}
	mg_watch_lock();
	r = w.state != ON ? EOPNOTSUPP : forget(s, z) ? ENOMEM : 0;
	mg_watch_unlock();
	errno = r ? r : e;
	return r ? -1 : 0;
}

int mg_watch_move(const void *old, size_t old_len, const void *new, size_t new_len)
{
	int e = errno, r;
	uintptr_t os, oz, ns, nz;
	if (!span(old, old_len, &os, &oz) || !span(new, new_len, &ns, &nz) || ns == nz) {
		errno = EINVAL;
		return -1;
	}
	/* The moved pages' writes were recorded at the old address (or not yet
	 * scanned there): watch() counts all of them written. */
	mg_watch_lock();
	r = w.state != ON ? EOPNOTSUPP : forget(os, oz) ? ENOMEM : watch(ns, nz, false);
	mg_watch_unlock();
	errno = r ? r : e;
	return r ? -1 : 0;
}

/* The collector's calls, the lock held across a stopped world: roots.c
 * registers the root mappings it meets, and drops the stacks of live
 * threads (written all the time, and read in full anyway); young.c
 * registers the heap's growth, fresh. */
static int add_locked(const void *addr, size_t len, bool fresh)
{
	int e = errno, r;
	uintptr_t s, z;
	if (!held(__func__) || !span(addr, len, &s, &z) || s == z) {
		errno = EINVAL;
		return -1;
	}
	r = ready() ? watch(s, z, fresh) : EOPNOTSUPP;
	errno = r ? r : e;
	return r ? -1 : 0;
}

int mg_watch_add_locked(const void *addr, size_t len)
{
	return add_locked(addr, len, false);
}

int mg_watch_add_fresh_locked(const void *addr, size_t len)
{
	return add_locked(addr, len, true);
}

int mg_watch_remove_locked(const void *addr, size_t len)
{
	uintptr_t s, z;
	if (!held(__func__) || !span(addr, len, &s, &z))
		return -1;
	return ready() && forget(s, z) == 0 ? 0 : -1;
}

bool mg_watch_covers_locked(const void *addr, size_t len)
{
	uintptr_t s, z;
	if (!held(__func__) || w.state != ON || !span(addr, len, &s, &z))
		return false;
	size_t i = table_find(s);
	return s == z || (i < w.n && w.ranges[i].start <= s && z <= w.ranges[i].end);
}

bool mg_watch_meets_locked(const void *addr, size_t len)
{
	uintptr_t s, z;
	if (!held(__func__) || w.state != ON || !span(addr, len, &s, &z))
		return false;
	size_t i = table_find(s);
	return i < w.n && w.ranges[i].start < z;
}

void mg_watch_note_written(const void *addr, size_t len)
{
	uintptr_t s, z;
	if (!mg_watch_on() || !span(addr, len, &s, &z))
		return;
	mg_watch_lock();
	rec_mark(s, z);
	w.st.noted += (z - s) >> PAGE_SHIFT;
	mg_watch_unlock();
}

/* The descriptors closed under us: the watch is off for good (what it
 * recorded cannot be trusted, and the numbers may be the program's now). */
static bool lost_files(void)
{
	if (files_ours())
		return false;
	w.uffd = w.pagemap = -1;        /* not ours to close any more */
	off("its descriptors were closed by the program");
	return true;
}

/* Calls fn(a, b, arg) on each watched range's part [a, b) inside [s, z),
 * in address order.  The table does not change under us: the caller holds
 * the lock. */
static void each_part(uintptr_t s, uintptr_t z, void (*fn)(uintptr_t a, uintptr_t b, void *arg),
		      void *arg)
{
	for (size_t i = table_find(s); i < w.n && w.ranges[i].start < z; i++) {
		uintptr_t a = w.ranges[i].start > s ? w.ranges[i].start : s;
		uintptr_t b = w.ranges[i].end < z ? w.ranges[i].end : z;
		if (a < b)
			fn(a, b, arg);
	}
}

static void scan_part(uintptr_t a, uintptr_t b, void *arg)
{
	scan_range(a, b, arg);
}

long mg_watch_scan_locked(const void *addr, size_t len, mg_watch_fn fn, void *arg)
{
	uintptr_t s, z;
	if (!held(__func__) || !ready() || lost_files())
		return -1;
	if (!span(addr, len, &s, &z))
		return -1;
	int e = errno;
	uint64_t t0 = mg_os_now_ns();
	struct emit x = { .fn = fn, .arg = arg };
	each_part(s, z, scan_part, &x);
	w.st.updates++;
	w.st.scan_ns += mg_os_now_ns() - t0;
	errno = e;
	return x.pages;
}

long mg_watch_update_locked(void)
{
	return mg_watch_scan_locked(NULL, (size_t)1 << ADDR_BITS, NULL, NULL);
}

int mg_watch_foreach_locked(int gen, mg_watch_fn fn, void *arg)
{
	if (gen < 0 || gen >= GENS || !held(__func__) || w.state != ON || w.lost[gen])
		return -1;
	return rec_foreach(gen, fn, arg);
}

bool mg_watch_recorded_locked(int gen, const void *addr)
{
	if (gen < 0 || gen >= GENS || w.state != ON || w.lost[gen])
		return true;
	struct leaf *l = leaf_of((uintptr_t)addr, false);
	if (!l)
		return false;
	uint32_t p = (uint32_t)(((uintptr_t)addr - l->base) >> PAGE_SHIFT);
	return (l->bits[gen][p / 64] >> (p % 64)) & 1;
}

void mg_watch_consume_locked(int gen)
{
	if (gen < 0 || gen >= GENS || !held(__func__) || w.state != ON)
		return;
	for (int g = 0; g <= gen; g++) {
		rec_empty(g);
		w.lost[g] = false;
	}
}

/* Where memgc rewrote headers with the world stopped (a promotion): the
 * pages' writes carry no pointer, and recording them would make the next
 * young collection read every survivor's page again.  A scan whose walk
 * is refused (a mapping not registered) re-arms nothing: those pages stay
 * written, which is only slower. */
static void rearm_part(uintptr_t a, uintptr_t b, void *arg)
{
	(void)arg;
	while (a < b) {
		uintptr_t end;
		long r = pagemap_scan(a, b, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, 0,
				      PAGE_IS_WRITTEN, w.vec, VEC_LEN, &end);
		if (r < 0)
			break;
		for (long j = 0; j < r; j++)
			w.st.rearmed += (w.vec[j].end - w.vec[j].start) >> PAGE_SHIFT;
		if (end <= a || (size_t)r < VEC_LEN)
			break;
		a = end;
	}
}

void mg_watch_rearm_locked(const void *addr, size_t len)
{
	uintptr_t s, z;
	if (!held(__func__) || !ready() || !span(addr, len, &s, &z))
		return;
	int e = errno;
	uint64_t t0 = mg_os_now_ns();
	each_part(s, z, rearm_part, NULL);
	w.st.scan_ns += mg_os_now_ns() - t0;
	errno = e;
}

void mg_watch_dense_locked(const void *addr, size_t len)
{
	if (!held(__func__))
		return;
	w.dense_lo = (uintptr_t)addr;
	w.dense_hi = (uintptr_t)addr + len;
}

void mg_watch_defer_dense_locked(bool on)
{
	if (held(__func__))
		w.defer_dense = on;
}

/* arg: an int set to -1 where the kernel refuses a part. */
static void open_part(uintptr_t a, uintptr_t b, void *arg)
{
	/* mode 0: protection lifted, nobody to wake (async mode) */
	struct uffdio_writeprotect wp = { .range = { a, b - a }, .mode = 0 };
	if (ioctl(w.uffd, UFFDIO_WRITEPROTECT, &wp))
		*(int *)arg = -1;
}

int mg_watch_open_locked(const void *addr, size_t len)
{
	uintptr_t s, z;
	if (!held(__func__) || !ready() || !span(addr, len, &s, &z))
		return -1;
	int e = errno, rc = 0;
	uint64_t t0 = mg_os_now_ns();
	each_part(s, z, open_part, &rc);
	w.st.scan_ns += mg_os_now_ns() - t0;
	errno = e;
	return rc;
}

void mg_watch_stats(struct mg_watch_stats *st)
{
	mg_watch_lock();
	*st = w.st;
	st->ranges = w.n;
	st->bytes = 0;
	for (size_t i = 0; i < w.n; i++)
		st->bytes += w.ranges[i].end - w.ranges[i].start;
	mg_watch_unlock();
}

int mg_watch_check(void)
{
	int bad = 0;
	mg_watch_lock();
	for (size_t i = 0; i < w.n; i++) {
		struct range r = w.ranges[i];
		if ((r.start | r.end) & ((1u << PAGE_SHIFT) - 1) || r.start >= r.end ||
		    (i && w.ranges[i - 1].end >= r.start)) {
			mg_log("watch: range %zu [%#lx, %#lx) misplaced", i,
			       (unsigned long)r.start, (unsigned long)r.end);
			bad++;
		}
	}
	for (int g = 0; g < GENS; g++) {
		uint64_t total = 0, listed = 0;
		uintptr_t last = 0;
		for (uint32_t id = w.head[g]; id; id = leaf_at(id - 1)->next[g]) {
			struct leaf *l = leaf_at(id - 1);
			listed++;
			if (!l->listed[g] || (last && l->base <= last)) {
				mg_log("watch: list %d out of order at %#lx", g, (unsigned long)l->base);
				bad++;
			}
			last = l->base;
		}
		for (uint32_t id = 0; id < w.nleaves; id++) {
			struct leaf *l = leaf_at(id);
			uint32_t count = 0;
			for (uint32_t wd = 0; wd < LEAF_WORDS; wd++) {
				bool s = l->sum[g][wd / 64] >> (wd % 64) & 1;
				count += (uint32_t)__builtin_popcountll(l->bits[g][wd]);
				if (s != (l->bits[g][wd] != 0)) {
					mg_log("watch: summary of word %u of %#lx wrong", wd,
					       (unsigned long)l->base);
					bad++;
				}
			}
			if (count != l->count[g] || (count && !l->listed[g])) {
				mg_log("watch: leaf %#lx gen %d: %u bits, count %u, listed %d",
				       (unsigned long)l->base, g, count, l->count[g], l->listed[g]);
				bad++;
			}
			total += count;
			listed -= l->listed[g];
		}
		if (total != w.st.record_pages[g] || listed) {
			mg_log("watch: record %d: %llu bits, %llu counted", g,
			       (unsigned long long)total, (unsigned long long)w.st.record_pages[g]);
			bad++;
		}
	}
	mg_watch_unlock();
	return bad;
}

/* The child's only thread is the one that forked, which held no watch lock
 * (fork is not called from in here).  Another thread of the parent may
 * have: its table or records may then be half-changed, and the child runs
 * without the watch.  Taking the lock before fork instead would rank it
 * before jemalloc's (the atfork handlers run before jemalloc's), against
 * the extent hook that takes it under them. */
void mg_watch_fork_child(void)
{
	pid_t holder = __atomic_load_n(&owner, __ATOMIC_RELAXED);
	pthread_mutex_init(&lock, NULL);
	owner = 0;
	if (w.state != ON || getpid() == w.pid)
		return;
	int e = errno;
	if (w.fd_tid)                   /* in a table the child does not have */
		w.uffd = w.pagemap = -1;
	else
		close_kernel();
	w.fd_tid = 0;
	if (holder)
		off("forked while another thread held the watch lock");
	/* else the child's first scan opens its own (ready) */
	errno = e;
}
