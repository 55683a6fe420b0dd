/* roots.c: what a collection scans before any object, with the world stopped.
 *
 * The roots, each handed to mark.c (mg_mark_range / mg_mark_word):
 *   every stopped thread: its registers (general and the XSAVE image) and
 *     its stack from sp to the end of the mapping (for a glibc thread that
 *     takes in its static TLS and the TCB), and the DTV its TCB points to,
 *     interior pointer though that is (dynamic TLS blocks hang off it);
 *     for a thread stopped on its sigaltstack, [sp, end) of that stack and
 *     the whole of its own stack, where its interrupted frames end being
 *     unknown (scan_own_stack; LeakSanitizer does the same)
 *   every readable, writable mapping of /proc/self/maps (module data and
 *     bss, dlopen'd ones included, anonymous memory, the main thread's TLS)
 *     but: the region, memgc's own mappings (os.c's list) and its own data
 *     segment (bar the bootstrap buffer, which glibc's early allocations
 *     use), the stack mapping of any thread (its live part is above),
 *     shared file mappings and devices (pointers cannot live there, and
 *     reading them would page in files or poke hardware), [vvar], [vdso]
 *     and the stacks of threads that are gone (glibc keeps them for reuse):
 *     below the thread pointer of an exited thread (mg_roots_thread_exit)
 *     that no live thread has, down to the start of the mapping (its TCB,
 *     with the DTV glibc keeps for reuse, stays a root)
 *   the ranges registered with memgc_register_root()
 *   the data word of every epoll registration (the kernel holds it)
 * With the write watch (young.c says why it is enough), a young collection
 * reads of the root mappings only the pages written since its generation
 * was last collected: each piece of a root mapping (the mapping less the
 * exclusions) is registered with the watch when first met, and so counted
 * written once; a piece the watch refuses, or one larger than
 * WATCH_PIECE_MAX (arming fills in page tables for all of it), is read in
 * full every time, like the threads' stacks and registers, the registered
 * ranges, the bootstrap buffer and the epoll words.  A live thread's stack
 * mapping is dropped from the watch (written all the time, read in full).
 * Not roots: memgc's own threads (mg_roots_own_thread: the collector, the
 * control server), and the collecting thread unless it asks to be one.
 *
 * Invariants: own[] holds the tids of live memgc threads (a slot is
 * cleared when its thread exits: mg_roots_own_thread_exit); reg[] is
 * changed only under reg_lock, which the collector holds across the stop.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "world.h"

#define REG_MAX 4096
#define OWN_MAX 16
#define EXCL_MAX (8192 + 8)
#define SCRATCH (256 * 1024)
#define VMA_MAX 65536
#define PIECE_MAX (VMA_MAX + EXCL_MAX)
#define WATCH_PIECE_MAX ((uintptr_t)1 << 30)

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { uintptr_t start; size_t size; } reg[REG_MAX];
static unsigned nreg;
static pid_t own[OWN_MAX];
/* The collecting thread's own stack is a root above this address only:
 * below it are memgc's frames, whose slots hold stale pointers from the
 * last collection's marking. */
static MG_TLS uintptr_t self_floor;
/* The same for a program thread whose collection runs on the collector
 * thread (mg_os_aside): parked there (MG_WORLD_PARKED), its stack a root
 * above req_floor only (its registers were pushed at the API's entry,
 * above the floor). */
static uintptr_t req_floor;
static uintptr_t self_lo, self_hi;     /* libmemgc's writable segment */

struct excl { uintptr_t lo, hi; };
static struct excl *excl;              /* sorted, for one scan */
static unsigned nexcl;
static uintptr_t *sps;                 /* the stopped threads' sp, sorted */
static unsigned nsps;
static uintptr_t *tps;                 /* and their thread pointers, sorted */
static unsigned ntps;
static char *scratch;
/* The readable mappings of this scan, in address order; scan: a root. */
struct area { uintptr_t lo, hi; bool scan, anon, stack; };
static struct area *areas;
static unsigned nareas;
/* The watched pieces of root mappings a young collection reads through the
 * watch's record, in address order. */
struct piece { uintptr_t lo, hi; bool anon; };
static struct piece *pieces;
static unsigned npieces;
static int watch_gen;                  /* the record read, -1: read in full */
static uintptr_t main_lo, main_hi;     /* the [stack] mapping of this scan */
/* An io_uring or AIO ring was mapped at the last scan: the kernel may write
 * the program's memory while the world is stopped (mg_roots_async_writers) */
static bool async_writers;

/* ---- registered ranges ---- */

int mg_roots_register(const void *start, size_t size)
{
	int r = 0;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < nreg; i++)
		if (reg[i].start == (uintptr_t)start) {
			r = EEXIST;
			goto out;
		}
	if (nreg == REG_MAX) {
		r = ENOSPC;
		goto out;
	}
	reg[nreg].start = (uintptr_t)start;
	reg[nreg].size = size;
	nreg++;
out:
	pthread_mutex_unlock(&reg_lock);
	return r;
}

int mg_roots_unregister(const void *start)
{
	int r = ENOENT;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < nreg; i++)
		if (reg[i].start == (uintptr_t)start) {
			reg[i] = reg[--nreg];
			r = 0;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	return r;
}

void mg_roots_self_floor(uintptr_t floor)
{
	self_floor = floor;
}

uintptr_t mg_roots_self_floor_get(void)
{
	return self_floor;
}

void mg_roots_requester(uintptr_t floor)
{
	req_floor = floor;
}

void mg_roots_lock(void)
{
	pthread_mutex_lock(&reg_lock);
}

void mg_roots_unlock(void)
{
	pthread_mutex_unlock(&reg_lock);
}

/* ---- memgc's own threads ---- */

void mg_roots_own_thread(void)
{
	pid_t me = mg_os_tid();
	for (unsigned i = 0; i < OWN_MAX; i++) {
		pid_t z = 0;
		if (__atomic_compare_exchange_n(&own[i], &z, me, false, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	}
	mg_log("more than %d memgc threads: the stack of thread %d will be scanned", OWN_MAX,
	       (int)me);
}

void mg_roots_own_thread_exit(void)
{
	pid_t me = mg_os_tid();
	for (unsigned i = 0; i < OWN_MAX; i++)
		if (__atomic_load_n(&own[i], __ATOMIC_RELAXED) == me)
			__atomic_store_n(&own[i], 0, __ATOMIC_RELEASE);
}

bool mg_roots_is_own(pid_t tid)
{
	for (unsigned i = 0; i < OWN_MAX; i++)
		if (__atomic_load_n(&own[i], __ATOMIC_ACQUIRE) == tid)
			return true;
	return false;
}

/* Is every thread of the process but the caller one of memgc's?  (Read
 * from /proc/self/task with getdents64: no malloc.)  False when it
 * cannot tell. */
bool mg_roots_only_own_left(void)
{
	bool any_own = false;
	for (unsigned i = 0; i < OWN_MAX; i++)
		any_own |= __atomic_load_n(&own[i], __ATOMIC_RELAXED) != 0;
	if (!any_own)
		return false;
	int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return false;
	pid_t me = mg_os_tid();
	char buf[4096];
	bool others = false;
	long n;
	while (!others && (n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0)
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			pid_t tid = (pid_t)atoi(d->d_name);
			if (tid == me || mg_roots_is_own(tid))
				continue;
			/* a leader that ended before the others stays listed, a zombie */
			char path[64], st[128];
			snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
			ssize_t k = mg_os_read_file(path, st, sizeof st);
			const char *paren = k > 0 ? strrchr(st, ')') : NULL;
			if (!paren || paren[1] != ' ' || (paren[2] != 'Z' && paren[2] != 'X'))
				others = true;
		}
	close(dir);
	return n >= 0 && !others;
}

void mg_roots_fork_child(void)
{
	memset(own, 0, sizeof own);    /* memgc's threads are not in the child */
	pthread_mutex_init(&reg_lock, NULL);
}

/* ---- set-up ---- */

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uintptr_t me = (uintptr_t)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (me - lo < hi - lo) {
			size_t pg = mg_os_page();
			self_lo = lo & ~(pg - 1);
			self_hi = (hi + pg - 1) & ~(pg - 1);
			return 1;
		}
	}
	return 0;
}

int mg_roots_init(void)
{
	dl_iterate_phdr(find_self, (void *)&nreg);
	excl = mg_os_map(EXCL_MAX * sizeof *excl);
	scratch = mg_os_map(SCRATCH);
	areas = mg_os_map(VMA_MAX * sizeof *areas);
	pieces = mg_os_map(PIECE_MAX * sizeof *pieces);
	return excl && scratch && areas && pieces ? 0 : -1;
}

/* ---- the scan ---- */

static void sort_excl(void)
{
	for (unsigned gap = nexcl / 2; gap; gap /= 2)
		for (unsigned i = gap; i < nexcl; i++)
			for (unsigned j = i; j >= gap && excl[j - gap].lo > excl[j].lo; j -= gap) {
				struct excl x = excl[j];
				excl[j] = excl[j - gap];
				excl[j - gap] = x;
			}
}

static void add_excl(uintptr_t lo, uintptr_t hi)
{
	if (nexcl < EXCL_MAX && hi > lo) {
		excl[nexcl].lo = lo;
		excl[nexcl].hi = hi;
		nexcl++;
	}
}

static int own_excl(uintptr_t start, size_t size, void *arg)
{
	(void)arg;
	add_excl(start, start + size);
	return 0;
}

/* Does the sorted v[0..n) hold a value in [lo, hi)? */
static bool holds(const uintptr_t *v, unsigned n, uintptr_t lo, uintptr_t hi)
{
	unsigned a = 0, b = n;
	while (a < b) {                 /* first value >= lo */
		unsigned m = (a + b) / 2;
		if (v[m] < lo)
			a = m + 1;
		else
			b = m;
	}
	return a < n && v[a] < hi;
}

static void sort_words(uintptr_t *v, unsigned n)
{
	for (unsigned gap = n / 2; gap; gap /= 2)
		for (unsigned i = gap; i < n; i++)
			for (unsigned j = i; j >= gap && v[j - gap] > v[j]; j -= gap) {
				uintptr_t x = v[j];
				v[j] = v[j - gap];
				v[j - gap] = x;
			}
}

/* The thread pointers of exited threads, most recent DEAD_MAX of them:
 * their stacks stay mapped in glibc's cache, their dead frames full of
 * stale pointers, until a new thread takes them (its tp is then live). */
#define DEAD_MAX 1024
static uintptr_t dead_tp[DEAD_MAX];
static unsigned dead_next;

void mg_roots_thread_exit(void)
{
#if defined(__x86_64__)
	uintptr_t tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	unsigned i = __atomic_fetch_add(&dead_next, 1, __ATOMIC_RELAXED) % DEAD_MAX;
	__atomic_store_n(&dead_tp[i], tp, __ATOMIC_RELAXED);
#endif
}

/* The area (index into areas) holding address a, or -1. */
static long area_of(uintptr_t a)
{
	unsigned lo = 0, hi = nareas;
	while (lo < hi) {
		unsigned m = (lo + hi) / 2;
		if (areas[m].hi <= a)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < nareas && areas[lo].lo <= a ? (long)lo : -1;
}

/* Excludes the dead stacks: a glibc thread's block is [guard][frames |
 * static TLS | TCB], the TCB at its top, and the guard keeps the mapping
 * from merging with the one below.  The frames and the static TLS below
 * tp are dead; the TCB is not: glibc keeps the thread's DTV and dynamic TLS
 * blocks for the next thread that takes the stack, and frees them then, so
 * the TCB stays a root (and its DTV word an interior one). */
static void exclude_dead_stacks(void)
{
	for (unsigned i = 0; i < DEAD_MAX; i++) {
		uintptr_t tp = __atomic_load_n(&dead_tp[i], __ATOMIC_RELAXED);
		if (!tp || holds(tps, ntps, tp, tp + 1))
			continue;
		long k = area_of(tp);
		if (k < 0 || !areas[k].anon || tp + 24 > areas[k].hi ||
		    holds(sps, nsps, areas[k].lo, areas[k].hi))
			continue;
		const uintptr_t *tcb = (const uintptr_t *)tp;
		if (tcb[0] != tp || tcb[2] != tp)
			continue;      /* unmapped since, and the address reused */
		add_excl(areas[k].lo, tp);
		mg_mark_word_interior(tcb[1]);
	}
}

static int pagemap = -1;

/* Is [lo, hi) watched, registering (and arming) it if it can be? */
static bool watched(uintptr_t lo, uintptr_t hi)
{
	if (!mg_watch_on() || hi - lo > WATCH_PIECE_MAX)
		return false;
	if (mg_watch_covers_locked((void *)lo, hi - lo))
		return true;
	if (mg_watch_add_locked((void *)lo, hi - lo))
		return false;
	mg_watch_scan_locked((void *)lo, hi - lo, NULL, NULL);
	return true;
}

#define TOUCHED_MIN ((uintptr_t)16 << 12)   /* bytes: piece_run */

/* Scans [lo, hi) in full: only its touched pages if anonymous. */
static void scan_touched(uintptr_t lo, uintptr_t hi, bool anon)
{
	if (anon && pagemap >= 0)
		mg_os_touched_runs(pagemap, lo, hi, mg_mark_range);
	else
		mg_mark_range(lo, hi);
}

/* Scans a piece of a root mapping: only what its record holds (later,
 * piece_run) if watched, else in full. */
static void scan_piece(uintptr_t lo, uintptr_t hi, bool anon)
{
	if (watched(lo, hi) && watch_gen >= 0 && npieces < PIECE_MAX) {
		pieces[npieces].lo = lo;
		pieces[npieces].hi = hi;
		pieces[npieces].anon = anon;
		npieces++;
	} else {
		scan_touched(lo, hi, anon);
	}
}

/* A run of the record: its words that lie in watched pieces. */
static int piece_run(uintptr_t s, uintptr_t e, void *arg)
{
	(void)arg;
	unsigned lo = 0, hi = npieces;
	while (lo < hi) {               /* the first piece ending above s */
		unsigned m = (lo + hi) / 2;
		if (pieces[m].hi <= s)
			lo = m + 1;
		else
			hi = m;
	}
	for (unsigned i = lo; i < npieces && pieces[i].lo < e; i++) {
		uintptr_t a = pieces[i].lo > s ? pieces[i].lo : s;
		uintptr_t b = pieces[i].hi < e ? pieces[i].hi : e;
		/* A long run is most often a range counted written in full (new
		 * to the watch): its pages never touched are skipped, not read
		 * (reading maps the zero page there, which every later full read
		 * then reads too).  PAGEMAP_SCAN's own runs are written pages,
		 * present: short ones are read at once. */
		scan_touched(a, b, pieces[i].anon && b - a >= TOUCHED_MIN);
	}
	return 0;
}

/* Scans [lo, hi) less the exclusions. */
static void scan_less_excl(uintptr_t lo, uintptr_t hi, bool anon)
{
	for (unsigned i = 0; i < nexcl && lo < hi; i++) {
		if (excl[i].hi <= lo)
			continue;
		if (excl[i].lo >= hi)
			break;
		if (excl[i].lo > lo)
			scan_piece(lo, excl[i].lo, anon);
		lo = excl[i].hi;
	}
	if (lo < hi)
		scan_piece(lo, hi, anon);
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Is a root mapping: readable, writable, and none of the exceptions. */
static bool root_vma(const struct mg_os_vma *v)
{
	if (v->perms[0] != 'r' || v->perms[1] != 'w')
		return false;
	const char *p = v->path;
	if (starts(p, "[stack]") || starts(p, "[vvar") || starts(p, "[vdso]") ||
	    starts(p, "[vsyscall]") || starts(p, "[anon:memgc]"))
		return false;
	bool anon_shared = !*p || starts(p, "/dev/zero") || starts(p, "[anon_shmem") ||
			   starts(p, "/SYSV");
	if (v->perms[3] == 's' && !anon_shared)
		return false;
	if (starts(p, "/dev/") && !starts(p, "/dev/zero"))
		return false;
	return !holds(sps, nsps, v->start, v->end);
}

static int vma(const struct mg_os_vma *v, void *arg)
{
	(void)arg;
	if (v->perms[0] != 'r' || nareas == VMA_MAX)
		return 0;
	areas[nareas].lo = v->start;
	areas[nareas].hi = v->end;
	areas[nareas].scan = root_vma(v);
	areas[nareas].stack = holds(sps, nsps, v->start, v->end);
	areas[nareas].anon = !v->path[0] || starts(v->path, "[heap]") || starts(v->path, "[anon:");
	nareas++;
	if (starts(v->path, "[stack]")) {
		main_lo = v->start;
		main_hi = v->end;
	}
	if (strstr(v->path, "[io_uring]") || strstr(v->path, "[aio]"))
		async_writers = true;
	return 0;
}

bool mg_roots_async_writers(void)
{
	return async_writers;
}

/* Scans the readable parts of [lo, hi) (a registered range may be freed
 * or unmapped by now). */
static void scan_readable(uintptr_t lo, uintptr_t hi)
{
	for (unsigned i = 0; i < nareas && lo < hi; i++) {
		if (areas[i].hi <= lo)
			continue;
		if (areas[i].lo >= hi)
			break;
		uintptr_t a = areas[i].lo > lo ? areas[i].lo : lo;
		uintptr_t b = areas[i].hi < hi ? areas[i].hi : hi;
		mg_mark_range(a, b);
		lo = b;
	}
}

static bool readable(uintptr_t lo, uintptr_t hi)
{
	for (unsigned i = 0; i < nareas; i++)
		if (areas[i].lo <= lo && hi <= areas[i].hi)
			return true;
	return false;
}

/* The data word of every epoll registration: /proc/self/fdinfo of each
 * epoll descriptor lists them ("tfd: 5 events: 19 data: 7f12...").  Read
 * with raw getdents64, no opendir (which allocates). */
static int fdinfo_line(char *line, void *arg)
{
	(void)arg;
	char *d = starts(line, "tfd:") ? strstr(line, " data: ") : NULL;
	if (d)
		mg_mark_word((uintptr_t)strtoull(d + 7, NULL, 16));
	return 0;
}

static void scan_fdinfo(int fd)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	mg_os_lines(path, scratch + SCRATCH / 2, SCRATCH / 2, fdinfo_line, NULL);
}

static void scan_epoll(void)
{
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	char *buf = scratch;
	for (;;) {
		long n = syscall(SYS_getdents64, dir, buf, SCRATCH / 4);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			char link[64];
			ssize_t l = readlinkat(dir, d->d_name, link, sizeof link - 1);
			if (l <= 0)
				continue;
			link[l] = '\0';
			if (!strcmp(link, "anon_inode:[eventpoll]"))
				scan_fdinfo(atoi(d->d_name));
		}
	}
	close(dir);
}

static void scan_thread(const struct mg_world_thread *t, bool self_root)
{
	bool self = t->flags & (MG_WORLD_SELF | MG_WORLD_PARKED);
	uintptr_t floor = (t->flags & MG_WORLD_SELF) ? self_floor : req_floor;
	if (mg_roots_is_own(t->tid) || (self && !self_root))
		return;
	if (self && floor) {
		/* the caller's registers were pushed at the API's entry, above
		 * the floor: the ones captured in here are memgc's */
		if (!(t->flags & MG_WORLD_NOSCAN))
			mg_mark_range(floor > t->lo ? floor : t->lo, t->hi);
		return;
	}
	for (int i = 0; i < MG_WORLD_NREGS; i++)
		mg_mark_word(t->regs[i]);
	mg_mark_range((uintptr_t)t->fpu, (uintptr_t)t->fpu + t->fpu_len);
	if (!(t->flags & MG_WORLD_NOSCAN))
		mg_mark_range(t->lo, t->hi);
	if (t->tp && readable(t->tp, t->tp + 16)) {
		/* glibc's TCB: { tcb, dtv, self, ... }; dtv points one entry
		 * (16 bytes) into the block malloc gave it */
		mg_mark_word_interior(((const uintptr_t *)t->tp)[1]);
	}
}

/* The first word of [a, b) that holds a value in [lo, hi), or 0. */
static uintptr_t find_in(uintptr_t a, uintptr_t b, uintptr_t lo, uintptr_t hi)
{
	for (a = (a + 7) & ~(uintptr_t)7; a + sizeof(uintptr_t) <= b; a += sizeof(uintptr_t))
		if (*(const uintptr_t *)a - lo < hi - lo)
			return a;
	return 0;
}

/* watch=verify's diagnosis: the first word of the last scan's root
 * mappings (less the exclusions) that holds a value in [lo, hi), or 0. */
uintptr_t mg_roots_find(uintptr_t lo, uintptr_t hi)
{
	for (unsigned i = 0; i < nareas; i++) {
		if (!areas[i].scan)
			continue;
		uintptr_t a = areas[i].lo, b = areas[i].hi, r = 0;
		for (unsigned k = 0; k < nexcl && a < b && !r; k++) {
			if (excl[k].hi <= a)
				continue;
			if (excl[k].lo >= b)
				break;
			if (excl[k].lo > a)
				r = find_in(a, excl[k].lo, lo, hi);
			a = excl[k].hi;
		}
		if (!r && a < b)
			r = find_in(a, b, lo, hi);
		if (r)
			return r;
	}
	return 0;
}

/* The own stack of a thread stopped on its sigaltstack (the signal stack
 * is scanned from sp by scan_thread): its frames below the handler's are
 * live, down to an sp that only the kernel's signal frame on the other
 * stack records, so the whole mapping is scanned, its touched pages: the
 * main thread's [stack], which is no root mapping, or the mapping of a
 * glibc thread's block (its TCB at the top), unless it is a root mapping
 * already (no stopped thread's sp in it). */
static void scan_own_stack(const struct mg_world_thread *t)
{
	if (mg_roots_is_own(t->tid))
		return;
	if (t->tid == getpid()) {
		if (main_lo < main_hi)
			scan_touched(main_lo, main_hi, true);
		return;
	}
	long k = t->tp ? area_of(t->tp) : -1;
	if (k >= 0 && !areas[k].scan)
		scan_touched(areas[k].lo, areas[k].hi, true);
}

uint64_t mg_roots_scan(const struct mg_world *w, bool self_root, int gen)
{
	uint64_t before = mg_mark_scanned();
	watch_gen = gen;
	npieces = 0;
	nsps = ntps = 0;
	sps = (uintptr_t *)(scratch + SCRATCH / 4);
	tps = sps + SCRATCH / 16 / sizeof *sps;
	for (unsigned i = 0; i < w->n && nsps < SCRATCH / 16 / sizeof *sps; i++) {
		sps[nsps++] = w->threads[i].sp;
		if (w->threads[i].tp)
			tps[ntps++] = w->threads[i].tp;
	}
	sort_words(sps, nsps);
	sort_words(tps, ntps);
	/* the maps text goes through the first quarter of scratch; sps and
	 * the fdinfo buffer live in the rest */
	nareas = 0;
	main_lo = main_hi = 0;
	async_writers = false;
	mg_os_maps_foreach(scratch, SCRATCH / 4, vma, NULL);

	for (unsigned i = 0; i < w->n; i++)
		scan_thread(&w->threads[i], self_root);

	nexcl = 0;
	add_excl(mg_heap_base, mg_heap_end);
	add_excl(self_lo, self_hi);
	mg_os_own_foreach(own_excl, NULL);
	exclude_dead_stacks();
	sort_excl();
	pagemap = mg_os_pagemap_open();
	for (unsigned i = 0; i < nareas; i++) {
		if (areas[i].scan)
			scan_less_excl(areas[i].lo, areas[i].hi, areas[i].anon);
		else if (areas[i].stack && mg_watch_meets_locked((void *)areas[i].lo,
								   areas[i].hi - areas[i].lo))
			mg_watch_remove_locked((void *)areas[i].lo, areas[i].hi - areas[i].lo);
	}
	for (unsigned i = 0; i < w->n; i++)
		if (w->threads[i].flags & MG_WORLD_ALTSTACK)
			scan_own_stack(&w->threads[i]);
	if (npieces && mg_watch_foreach_locked(gen, piece_run, NULL) < 0)
		for (unsigned i = 0; i < npieces; i++)   /* young.c checked: not expected */
			scan_touched(pieces[i].lo, pieces[i].hi, pieces[i].anon);
	if (pagemap >= 0)
		close(pagemap);
	pagemap = -1;

	uintptr_t blo, bhi;
	mg_heap_boot_range(&blo, &bhi);
	mg_mark_range(blo, bhi);
	for (unsigned i = 0; i < nreg; i++)
		scan_readable(reg[i].start, reg[i].start + reg[i].size);
	scan_epoll();
	return mg_mark_scanned() - before;
}
