/* world.c: stopping the world (every other thread of the process) and
 * recording what each thread holds: registers, FPU state, stack range.
 *
 * Owns the stop signal's disposition and handler, the world lock, the shared
 * page the stopped threads wait on, and the memory of each struct mg_world.
 * world.h states the caller's contract and the invariants of a stopped world
 * (checked by mg_world_check()).  Here, the protocol.
 *
 * The shared page (one per process, MADV_WIPEONFORK):
 *   lock      0, or the pid of the process whose thread holds the world
 *             lock, from mg_world_stop to mg_world_start (futex).  A value
 *             that is not our pid was copied by fork from the parent: the
 *             child takes the lock over.
 *   state     (seq << 2) | HOLD | ACTIVE.  ACTIVE while an attempt to stop
 *             is under way or holds; HOLD while the stopper moves the
 *             records (handlers wait on it, futex).  seq changes with every
 *             store, so a futex wait never misses one.
 *   go        a generation: a stopped thread waits until it changes (futex);
 *             the stopper bumps it to let every stopped thread run.
 *   pending   threads signalled and not yet stopped nor found dead (futex
 *             the stopper waits on).
 *   inflight  handlers between their increment (before they read state) and
 *             their last touch of the world.  Once the stopper has cleared
 *             ACTIVE (or set HOLD) and seen inflight == 0, no handler reads
 *             or writes the world until it sets ACTIVE again (clears HOLD).
 *   parked    threads in the handler's wait for go, or released and not
 *             yet out of the handler.  An attempt starts once it is 0, so a
 *             thread whose SigBlk holds the signal is not one of ours on its
 *             way out of the handler, whose mask is all signals.
 *
 * A slot (one thread's record): the stopper makes it SIGNALLED (pending + 1)
 * and queues the signal; the handler finds its slot by tid and takes it
 * SIGNALLED -> RECORDING -> STOPPED (pending - 1); or the stopper finds the
 * thread dead and takes it SIGNALLED -> GONE or ZOMBIE (pending - 1).  One
 * CAS decides.  A signal carries nothing but SI_QUEUE and our pid: whichever
 * of our signals a thread takes while ACTIVE and its slot is SIGNALLED stops
 * it, so a signal left pending by an earlier attempt is never wasted, and
 * the stopper does not queue a second one to a thread that was silent (it
 * reads its SigPnd first).
 *
 * A stop begins at least MIN_GAP_NS after the last one ended.  Without that
 * gap a stop right after a start queues the next signal before a released
 * thread is out of its sigreturn, the kernel delivers it at once, and that
 * thread never runs a line of its own: back-to-back stops would starve it.
 *
 * An attempt fails fast when a silent thread blocks the signal (or sleeps in
 * the kernel uninterruptibly) for GRACE_NS: it may be waiting for a lock a
 * stopped thread holds (glibc's exiting threads block every signal, then
 * take the stack cache lock that pthread_create takes with signals open).
 * The stopper then lets everyone run for a moment (go + 1, stopped slots
 * REARM) and tries again, until the caller's timeout.
 *
 * Nothing here calls malloc: memory comes from mg_os_map, /proc is read
 * with open/getdents64/read into the world's own buffer.  errno is
 * preserved, by the handler and by every entry point.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/futex.h>

#include "internal.h"
#include "world.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>

enum slot_state {
	SLOT_SIGNALLED = 1, SLOT_RECORDING, SLOT_STOPPED, SLOT_REARM, SLOT_GONE, SLOT_ZOMBIE, SLOT_SELF
};

#define ACTIVE 1u
#define HOLD 2u
#define SEQ 4u                     /* the unit of state's counter */

#define FIRST_CAP 64u
#define BUF_SIZE 16384u            /* getdents64 and /proc/self/maps chunks */
#define POLL_MIN_NS 50000L         /* first look at silent threads */
#define POLL_MAX_NS 1000000L
#define GRACE_NS 5000000L          /* silent and blocking this long: back off */
#define PROC_AFTER_NS 2000000L     /* read silent threads' /proc state after this, */
#define PROC_EVERY_NS 4000000L     /* and then this often */
#define PAUSE_MAX_NS 32000000L     /* longest pause between two attempts */
#define LAST_CALL_NS 50000000L     /* past the deadline: for the parked to leave */
#define MIN_GAP_NS 1000000L        /* the world runs this long between two stops */
#define NSUSPECTS 8                /* silent threads remembered across calls */
#define FPX_SW_OFFSET 464          /* struct _fpx_sw_bytes in the FXSAVE area */
#define FP_MAGIC1 0x46505853u      /* FP_XSTATE_MAGIC1: an XSAVE image follows */

/* ---- the Linux primitives world.c stands on ---- */

static long futex(uint32_t *a, int op, uint32_t v, const struct timespec *rel)
{
	return syscall(SYS_futex, a, op | FUTEX_PRIVATE_FLAG, v, rel, NULL, 0);
}

/* Signed: deadlines and gaps are compared by subtraction. */
static int64_t now_ns(void)
{
	return (int64_t)mg_os_now_ns();
}

static void sleep_ns(long ns)
{
	struct timespec ts = { 0, ns };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Queues sig to thread tid; 0 or an errno value. */
static int send_stop(pid_t pid, pid_t tid, int sig)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = pid;
	si.si_uid = getuid();
	return syscall(SYS_rt_tgsigqueueinfo, pid, tid, sig, &si) ? errno : 0;
}

static bool thread_exists(pid_t pid, pid_t tid)
{
	return syscall(SYS_tgkill, pid, tid, 0) == 0 || errno != ESRCH;
}

/* The one-letter state of /proc/self/task/tid/stat ('R', 'S', 'Z', ...),
 * or 'X' when the thread is gone. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	if (mg_os_read_file(path, buf, sizeof buf) <= 0)
		return 'X';
	const char *p = strrchr(buf, ')');   /* the name may hold anything */
	return p && p[1] == ' ' && p[2] ? p[2] : 'X';
}

/* Whether line "key:\t<16 hex digits>" of status s has signal sig's bit. */
static bool mask_has(const char *s, const char *key, int sig)
{
	const char *p = strstr(s, key);
	if (!p)
		return false;
	p += strlen(key);
	char c = p[15 - (sig - 1) / 4];
	int nib = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : 0;
	return nib & (1 << ((sig - 1) % 4));
}

/* What /proc/self/task/tid/status says of a thread that has not stopped. */
struct silent {
	char state;                /* 'R', 'S', 'D', 't', 'T', ...; 'X' gone */
	bool blocks;               /* sig is in SigBlk */
	bool pending;              /* sig is in SigPnd */
};

static struct silent silent_status(pid_t tid, int sig)
{
	char path[64], buf[4096];
	struct silent r = { 'X', false, false };
	snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
	if (mg_os_read_file(path, buf, sizeof buf) <= 0)
		return r;
	const char *p = strstr(buf, "\nState:\t");
	r.state = p ? p[8] : '?';
	r.blocks = mask_has(buf, "\nSigBlk:\t", sig);
	r.pending = mask_has(buf, "\nSigPnd:\t", sig);
	return r;
}

/* Bytes of FPU image to keep per thread: the largest XSAVE image this CPU
 * can produce (every feature it supports) and the kernel's trailing magic
 * word, or the 512 bytes of FXSAVE. */
static size_t fpu_room(void)
{
	static size_t room;
	if (!room) {
		unsigned a, b, c, d;
		size_t n = 512;
		if (__get_cpuid_max(0, NULL) >= 0xd) {
			__cpuid_count(0xd, 0, a, b, c, d);
			n = (b > c ? b : c) + 4;
			if (n < 512)
				n = 512;
		}
		room = (n + 63) & ~(size_t)63;
	}
	return room;
}

/* ---- the shared page: the lock and the futex words ---- */

struct shared {
	uint32_t lock;             /* 0 or the holder's pid */
	uint32_t state;            /* (seq << 2) | HOLD | ACTIVE */
	uint32_t go;
	uint32_t pending;
	uint32_t inflight;
	uint32_t parked;
	struct mg_world *world;    /* the world being stopped */
	int sig;                   /* the signal our handler is installed for */
	pid_t pid;                 /* the process that last took the lock */
	int64_t ended;             /* when the last stop ended (now_ns) */
	pid_t suspects[NSUSPECTS]; /* silent when the last stop failed */
};

static struct shared *g;
static MG_TLS int holding;     /* this thread holds a stopped world */

static struct shared *shared_get(void)
{
	struct shared *s = __atomic_load_n(&g, __ATOMIC_ACQUIRE);
	if (s)
		return s;
	s = mg_os_map(mg_os_page());
	if (!s)
		return NULL;
	int e = errno;
	madvise(s, mg_os_page(), MADV_WIPEONFORK);   /* best effort: see world_lock */
	errno = e;
	struct shared *none = NULL;
	if (!__atomic_compare_exchange_n(&g, &none, s, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		mg_os_unmap(s, mg_os_page());
		return none;
	}
	return s;
}

static void world_lock(struct shared *s, pid_t me)
{
	for (;;) {
		uint32_t v = __atomic_load_n(&s->lock, __ATOMIC_ACQUIRE);
		if (v != (uint32_t)me) {
			/* free, or held in the parent we were forked from */
			if (__atomic_compare_exchange_n(&s->lock, &v, (uint32_t)me, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		futex(&s->lock, FUTEX_WAIT, v, NULL);
	}
	if (s->pid != me) {
		/* First stop in this process: whatever fork copied is void. */
		s->state &= ~(ACTIVE | HOLD);
		s->pending = 0;
		__atomic_store_n(&s->inflight, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&s->parked, 0, __ATOMIC_SEQ_CST);
		s->world = NULL;
		memset(s->suspects, 0, sizeof s->suspects);
		s->ended = 0;
		s->pid = me;
	}
}

static void world_unlock(struct shared *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
	futex(&s->lock, FUTEX_WAKE, 1, NULL);
}

/* Stores state's new flags (seq moves on) and wakes its waiters. */
static void set_state(struct shared *s, uint32_t flags)
{
	__atomic_store_n(&s->state, ((s->state & ~(SEQ - 1)) + SEQ) | flags, __ATOMIC_SEQ_CST);
	futex(&s->state, FUTEX_WAKE, INT_MAX, NULL);
}

static void drain(struct shared *s)
{
	while (__atomic_load_n(&s->inflight, __ATOMIC_SEQ_CST))
		sched_yield();
}

/* Waits until every thread released earlier is out of the handler (they
 * only need a CPU), or the deadline. */
static void unparked(struct shared *s, int64_t deadline)
{
	while (__atomic_load_n(&s->parked, __ATOMIC_SEQ_CST) && now_ns() < deadline)
		sched_yield();
}

/* Lets every stopped thread run (ACTIVE off, go moves on) and waits until
 * no handler touches the world any more. */
static void release(struct shared *s)
{
	set_state(s, 0);
	__atomic_add_fetch(&s->go, 1, __ATOMIC_SEQ_CST);
	futex(&s->go, FUTEX_WAKE, INT_MAX, NULL);
	drain(s);
	s->ended = now_ns();
}

/* ---- the world's memory: threads, FPU images, tid hash, scratch ---- */

struct layout {
	size_t threads, fpu, hash, order, buf, total;
	unsigned hcap;                     /* a power of two >= 2 * cap */
};

static size_t align64(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

static void layout(unsigned cap, size_t room, struct layout *l)
{
	size_t off = 0;
	l->threads = off;
	off += align64(cap * sizeof(struct mg_world_thread));
	l->fpu = off;
	off += cap * room;
	l->hcap = 1;
	while (l->hcap < 2 * cap)
		l->hcap <<= 1;
	l->hash = off;
	off += align64(l->hcap * sizeof(uint32_t));
	l->order = off;
	off += align64(cap * sizeof(uint32_t));
	l->buf = off;
	off += BUF_SIZE;
	l->total = (off + mg_os_page() - 1) & ~(mg_os_page() - 1);
}

static void *area(const struct mg_world *w, size_t off)
{
	return (char *)w->map + off;
}

static uint32_t *hash_of(const struct mg_world *w, unsigned *hcap)
{
	struct layout l;
	layout(w->cap, w->fpu_size, &l);
	*hcap = l.hcap;
	return area(w, l.hash);
}

/* The slot of tid, or -1.  The hash holds slot + 1, 0 for empty; handlers
 * read it while the stopper adds to it, so each entry is published with
 * one atomic store after its record is written. */
static int hash_find(const struct mg_world *w, pid_t tid)
{
	unsigned hcap;
	const uint32_t *h = hash_of(w, &hcap);
	for (unsigned i = ((uint32_t)tid * 2654435761u) & (hcap - 1);; i = (i + 1) & (hcap - 1)) {
		uint32_t v = __atomic_load_n(&h[i], __ATOMIC_ACQUIRE);
		if (!v)
			return -1;
		if (w->threads[v - 1].tid == tid)
			return (int)v - 1;
	}
}

static void hash_put(struct mg_world *w, pid_t tid, unsigned slot)
{
	unsigned hcap;
	uint32_t *h = hash_of(w, &hcap);
	unsigned i = ((uint32_t)tid * 2654435761u) & (hcap - 1);
	while (h[i])
		i = (i + 1) & (hcap - 1);
	__atomic_store_n(&h[i], slot + 1, __ATOMIC_RELEASE);
}

/* Only while no handler reads the hash. */
static void hash_rebuild(struct mg_world *w)
{
	unsigned hcap;
	uint32_t *h = hash_of(w, &hcap);
	memset(h, 0, hcap * sizeof *h);
	for (unsigned i = 0; i < w->n; i++)
		hash_put(w, w->threads[i].tid, i);
}

/* Gives w room for cap threads, keeping the n recorded (and their FPU
 * images).  Only while no handler touches w.  0, or -1 (w as it was). */
static int world_reserve(struct mg_world *w, unsigned cap)
{
	size_t room = fpu_room();
	struct layout l;
	layout(cap, room, &l);
	char *map = mg_os_map(l.total);
	if (!map)
		return -1;
	struct mg_world_thread *t = (struct mg_world_thread *)(map + l.threads);
	for (unsigned i = 0; i < w->n; i++) {
		t[i] = w->threads[i];
		t[i].fpu = (unsigned char *)map + l.fpu + i * room;
		memcpy((unsigned char *)t[i].fpu, w->threads[i].fpu, w->threads[i].fpu_len);
	}
	if (w->map)
		mg_os_unmap(w->map, w->map_size);
	w->map = map;
	w->map_size = l.total;
	w->threads = t;
	w->cap = cap;
	w->fpu_size = room;
	hash_rebuild(w);
	return 0;
}

/* Makes slot i a fresh record for tid (its FPU room is slot i's). */
static struct mg_world_thread *slot_init(struct mg_world *w, unsigned i, pid_t tid)
{
	struct layout l;
	layout(w->cap, w->fpu_size, &l);
	struct mg_world_thread *t = &w->threads[i];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	t->fpu = (unsigned char *)area(w, l.fpu) + i * w->fpu_size;
	return t;
}

/* ---- the signal handler ---- */

/* Copies the interrupted registers and FPU image of the calling thread. */
static void record(struct mg_world_thread *t, const ucontext_t *uc, size_t room)
{
	memcpy(t->regs, uc->uc_mcontext.gregs, sizeof t->regs);
	t->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	t->tp = (uintptr_t)pthread_self();
	const unsigned char *f = (const unsigned char *)uc->uc_mcontext.fpregs;
	uint32_t len = 0;
	if (f) {
		uint32_t magic, ext;
		memcpy(&magic, f + FPX_SW_OFFSET, 4);
		memcpy(&ext, f + FPX_SW_OFFSET + 4, 4);
		len = magic == FP_MAGIC1 && ext > 512 ? ext : 512;
		if (len > room)
			len = (uint32_t)room;
		memcpy((unsigned char *)t->fpu, f, len);
	}
	t->fpu_len = len;
	t->flags = 0;
	stack_t ss;
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		t->flags |= MG_WORLD_ALTSTACK;
}

/* Runs with every signal blocked (sa_mask). */
static void on_stop_signal(int sig, siginfo_t *si, void *ctx)
{
	int e = errno;
	struct shared *s = __atomic_load_n(&g, __ATOMIC_ACQUIRE);
	if (!s || si->si_code != SI_QUEUE || si->si_pid != s->pid) {
		errno = e;                   /* not ours (kill -39 from outside): ignored */
		return;
	}
	pid_t me = mg_os_tid();
	for (;;) {
		/* go first: a release that clears ACTIVE after our check bumps
		 * it after that, and so ends our wait below */
		uint32_t go = __atomic_load_n(&s->go, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&s->inflight, 1, __ATOMIC_SEQ_CST);
		uint32_t st = __atomic_load_n(&s->state, __ATOMIC_SEQ_CST);
		if (!(st & ACTIVE))
			break;                   /* no stop under way: a stale signal */
		if (st & HOLD) {
			/* the records are moving: wait, then look again */
			__atomic_sub_fetch(&s->inflight, 1, __ATOMIC_SEQ_CST);
			futex(&s->state, FUTEX_WAIT, st, NULL);
			continue;
		}
		struct mg_world *w = __atomic_load_n(&s->world, __ATOMIC_ACQUIRE);
		int i = w ? hash_find(w, me) : -1;
		uint32_t expect = SLOT_SIGNALLED;
		if (i < 0 || !__atomic_compare_exchange_n(&w->threads[i].state, &expect, SLOT_RECORDING,
							  false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;                   /* not asked (yet): its signal is coming */
		record(&w->threads[i], ctx, w->fpu_size);
		__atomic_add_fetch(&s->parked, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&w->threads[i].state, SLOT_STOPPED, __ATOMIC_RELEASE);
		if (__atomic_sub_fetch(&s->pending, 1, __ATOMIC_SEQ_CST) == 0)
			futex(&s->pending, FUTEX_WAKE, 1, NULL);
		__atomic_sub_fetch(&s->inflight, 1, __ATOMIC_SEQ_CST);
		/* Stopped.  From here on only the shared page is touched. */
		while (__atomic_load_n(&s->go, __ATOMIC_ACQUIRE) == go)
			futex(&s->go, FUTEX_WAIT, go, NULL);
		__atomic_sub_fetch(&s->parked, 1, __ATOMIC_SEQ_CST);
		errno = e;
		return;
	}
	__atomic_sub_fetch(&s->inflight, 1, __ATOMIC_SEQ_CST);
	errno = e;
}

/* Installs the handler for option stop_signal, or checks it is still
 * installed; 0, or -1 after a message. */
static int signal_setup(struct shared *s)
{
	int sig = mg_opt.stop_signal ? (int)mg_opt.stop_signal : SIGRTMIN + 5;
	if (sig < SIGRTMIN || sig > SIGRTMAX) {
		mg_log("stop the world: stop_signal=%d is not a real-time signal of this process "
		       "(%d to %d): nothing stopped", sig, SIGRTMIN, SIGRTMAX);
		return -1;
	}
	struct sigaction cur;
	if (sigaction(sig, NULL, &cur))
		return -1;
	if (!((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_stop_signal)) {
		if (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN) {
			mg_log("stop the world: signal %d (stop_signal) has a handler of the program's: "
			       "nothing stopped; choose a free real-time signal with "
			       "MEMGC_OPTIONS=stop_signal=N (%d to %d)", sig, SIGRTMIN, SIGRTMAX);
			return -1;
		}
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_stop_signal;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigfillset(&sa.sa_mask);
		if (sigaction(sig, &sa, NULL))
			return -1;
	}
	if (s->sig && s->sig != sig) {
		/* stop_signal changed: give the old one back, if still ours */
		if (sigaction(s->sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_sigaction == on_stop_signal)
			signal(s->sig, SIG_DFL);
	}
	s->sig = sig;
	return 0;
}

/* ---- the calling thread ---- */

/* What mg_world_stop's entry saved: the caller's registers at the call. */
struct self_regs {
	uintptr_t rbx, r12, r13, r14, r15, rbp, rsp, rip;
};

static void record_self(struct mg_world *w, const struct self_regs *r)
{
	struct mg_world_thread *t = slot_init(w, 0, mg_os_tid());
	t->flags = MG_WORLD_SELF;
	t->state = SLOT_SELF;
	t->regs[REG_RBX] = r->rbx;
	t->regs[REG_RBP] = r->rbp;
	t->regs[REG_R12] = r->r12;
	t->regs[REG_R13] = r->r13;
	t->regs[REG_R14] = r->r14;
	t->regs[REG_R15] = r->r15;
	t->regs[REG_RSP] = r->rsp;
	t->regs[REG_RIP] = r->rip;
	t->sp = r->rsp;
	t->tp = (uintptr_t)pthread_self();
	__asm__ volatile("fxsave64 %0" : "=m"(*(unsigned char(*)[512])(unsigned char *)t->fpu));
	t->fpu_len = 512;
	w->n = 1;
	hash_put(w, t->tid, 0);
}

/* The parked thread (mg_world_park): it waits, in memgc's code, so it is
 * taken as stopped already, and needs no signal.  Only for the stops of
 * the thread that parked it. */
static struct { pid_t by, tid; uintptr_t sp, tp; } parked;

void mg_world_park(pid_t tid, uintptr_t sp, uintptr_t tp)
{
	parked.by = tid ? mg_os_tid() : 0;
	parked.tid = tid;
	parked.sp = sp;
	parked.tp = tp;
}

static void record_parked(struct mg_world *w)
{
	if (!parked.tid || parked.by != w->threads[0].tid || parked.tid == parked.by)
		return;
	struct mg_world_thread *t = slot_init(w, 1, parked.tid);
	t->flags = MG_WORLD_PARKED;
	t->state = SLOT_SELF;
	t->sp = t->regs[REG_RSP] = parked.sp;
	t->tp = parked.tp;
	w->n = 2;
	hash_put(w, t->tid, 1);
}

/* ---- listing and signalling, waiting for the answers ---- */

struct stop {
	struct shared *s;
	pid_t pid;
	int fd;                    /* /proc/self/task */
	int64_t deadline;
	unsigned attempts;
	bool full;                 /* the last listing ran out of slots */
	bool timed_out;            /* failed because threads did not answer */
	int err;                   /* with msg: an errno value, or 0 */
	char msg[768];             /* why the stop failed, logged once resumed */
};

/* Notes why the stop fails.  No message is written while threads are
 * stopped: strerror reaches gettext's lock, which a stopped thread may
 * hold. */
static void stop_failed(struct stop *st, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void stop_failed(struct stop *st, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->msg, sizeof st->msg, fmt, ap);
	va_end(ap);
	st->err = err;
}

static bool suspect(const struct shared *s, pid_t tid)
{
	for (int i = 0; i < NSUSPECTS; i++)
		if (s->suspects[i] == tid)
			return true;
	return false;
}

/* Queues the signal to t unless one of ours is pending on it already;
 * 0 or an errno value (ESRCH: the thread is gone). */
static int signal_thread(struct stop *st, const struct mg_world_thread *t, bool maybe_pending)
{
	if (maybe_pending && silent_status(t->tid, st->s->sig).pending)
		return 0;
	int r, tries = 0;
	while ((r = send_stop(st->pid, t->tid, st->s->sig)) == EAGAIN && ++tries < 1000)
		sched_yield();     /* the queue of pending signals is full */
	return r;
}

/* Asks slot i's thread to stop: SIGNALLED, counted in pending, signal.
 * 0, or -1 with st->msg. */
static int arm(struct stop *st, struct mg_world_thread *t, bool maybe_pending)
{
	/* counted first: a signal left pending earlier may stop it at once */
	__atomic_add_fetch(&st->s->pending, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->state, SLOT_SIGNALLED, __ATOMIC_RELEASE);
	int r = signal_thread(st, t, maybe_pending);
	if (r == 0)
		return 0;
	uint32_t expect = SLOT_SIGNALLED;
	if (__atomic_compare_exchange_n(&t->state, &expect, SLOT_GONE, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		__atomic_sub_fetch(&st->s->pending, 1, __ATOMIC_SEQ_CST);
	if (r == ESRCH)
		return 0;          /* exited since it was listed */
	stop_failed(st, r, "cannot signal thread %d with signal %d", (int)t->tid, st->s->sig);
	return -1;
}

struct linux_dirent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static pid_t parse_tid(const char *s)
{
	long v = 0;
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > INT_MAX / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return (pid_t)v;
}

/* One pass over /proc/self/task: each thread not yet recorded (or recorded
 * as gone: its tid was reused, or as REARM: stopped in an abandoned
 * attempt) is asked to stop.  Returns how many were asked, or -1 with
 * st->msg.  Sets st->full when the slots ran out before the end. */
static int list_and_signal(struct mg_world *w, struct stop *st)
{
	struct layout l;
	layout(w->cap, w->fpu_size, &l);
	char *buf = area(w, l.buf);
	int fresh = 0;
	st->full = false;
	if (lseek(st->fd, 0, SEEK_SET) < 0) {
		stop_failed(st, errno, "cannot rewind /proc/self/task");
		return -1;
	}
	for (;;) {
		long got = syscall(SYS_getdents64, st->fd, buf, BUF_SIZE);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			stop_failed(st, errno, "cannot list /proc/self/task");
			return -1;
		}
		if (got == 0)
			return fresh;
		for (long off = 0; off < got;) {
			const struct linux_dirent64 *d = (const void *)(buf + off);
			off += d->reclen;
			pid_t tid = parse_tid(d->name);
			if (tid <= 0)
				continue;
			int i = hash_find(w, tid);
			uint32_t state = i >= 0 ? w->threads[i].state : 0;
			if (i >= 0 && state != SLOT_GONE && state != SLOT_REARM)
				continue;
			if (i < 0) {
				if (w->n == w->cap) {
					st->full = true;
					return fresh;
				}
				i = (int)w->n;
				slot_init(w, (unsigned)i, tid);
				w->n++;
				hash_put(w, tid, (unsigned)i);
			} else if (state == SLOT_GONE) {
				slot_init(w, (unsigned)i, tid);
			}
			if (arm(st, &w->threads[i], state == 0 && suspect(st->s, tid)))
				return -1;
			fresh++;
		}
	}
}

/* Waits until every signalled thread has stopped or is found dead.
 * Returns 0 then; 1 when a silent thread has blocked the signal (or slept
 * uninterruptibly) for GRACE_NS: back off and try again; -1 once the
 * deadline has passed, with st->msg naming the silent threads. */
static int wait_stopped(struct mg_world *w, struct stop *st)
{
	struct shared *s = st->s;
	long poll = POLL_MIN_NS;
	int64_t since = now_ns(), next_proc = since + PROC_AFTER_NS;
	for (;;) {
		uint32_t p = __atomic_load_n(&s->pending, __ATOMIC_ACQUIRE);
		if (p == 0)
			return 0;
		int64_t now = now_ns();
		if (now >= st->deadline)
			break;
		long ns = poll < st->deadline - now ? poll : (long)(st->deadline - now);
		struct timespec rel = { 0, ns };
		if (futex(&s->pending, FUTEX_WAIT, p, &rel) == 0 || errno != ETIMEDOUT)
			continue;          /* an answer (or a spurious wake-up) */
		/* Silence for a while: find the dead (tgkill), and now and then
		 * (/proc) zombies and those that cannot answer. */
		now = now_ns();
		bool proc = now >= next_proc, back_off = false;
		if (proc)
			next_proc = now + PROC_EVERY_NS;
		for (unsigned i = 1; i < w->n; i++) {
			struct mg_world_thread *t = &w->threads[i];
			if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != SLOT_SIGNALLED)
				continue;
			uint32_t to = 0;
			if (!thread_exists(st->pid, t->tid)) {
				to = SLOT_GONE;
			} else if (proc) {
				struct silent why = silent_status(t->tid, s->sig);
				if (why.state == 'Z' || why.state == 'X')
					to = SLOT_ZOMBIE;
				else if (now - since >= GRACE_NS && (why.state == 'D' || why.blocks))
					back_off = true;
			}
			uint32_t expect = SLOT_SIGNALLED;
			if (to && __atomic_compare_exchange_n(&t->state, &expect, to, false,
							      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				__atomic_sub_fetch(&s->pending, 1, __ATOMIC_SEQ_CST);
		}
		if (back_off && __atomic_load_n(&s->pending, __ATOMIC_ACQUIRE))
			return 1;
		if (poll < POLL_MAX_NS)
			poll *= 2;
	}
	/* The deadline.  Threads released by the last back-off may still be on
	 * their way out of the handler (all signals blocked): give them, and
	 * the last answers, a moment, so that only the culprits are named. */
	int64_t last = now_ns() + LAST_CALL_NS;
	unparked(s, last);
	for (uint32_t p; (p = __atomic_load_n(&s->pending, __ATOMIC_ACQUIRE)) && now_ns() < last;) {
		struct timespec rel = { 0, POLL_MAX_NS };
		futex(&s->pending, FUTEX_WAIT, p, &rel);
	}
	if (__atomic_load_n(&s->pending, __ATOMIC_ACQUIRE) == 0)
		return 0;
	/* Timed out: name the threads that did not stop and why, those with a
	 * reason first; remember them, so that the next stop does not queue
	 * them a second signal. */
	char line[768];
	size_t len = 0;
	unsigned named = 0, late = 0, k = 0;
	memset(s->suspects, 0, sizeof s->suspects);
	for (unsigned i = 1; i < w->n; i++) {
		const struct mg_world_thread *t = &w->threads[i];
		if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != SLOT_SIGNALLED)
			continue;
		struct silent why = silent_status(t->tid, s->sig);
		const char *reason = why.state == 't' ? "is stopped by a debugger" :
				     why.state == 'T' ? "is stopped (SIGSTOP)" :
				     why.blocks ? "blocks the signal" :
				     why.state == 'D' ? "sleeps in the kernel" : NULL;
		if (!reason) {
			late++;
			continue;
		}
		if (k < NSUSPECTS)
			s->suspects[k++] = t->tid;
		if (++named <= 6 && len < sizeof line)
			len += (size_t)snprintf(line + len, sizeof line - len, "%sthread %d %s",
						named > 1 ? ", " : "", (int)t->tid, reason);
	}
	if (named > 6 && len < sizeof line)
		len += (size_t)snprintf(line + len, sizeof line - len, " and %u more", named - 6);
	if (late && len < sizeof line)
		snprintf(line + len, sizeof line - len, "%s%u thread%s had not answered yet",
			 named ? "; " : "", late, late > 1 ? "s" : "");
	st->timed_out = true;
	stop_failed(st, 0, "%s; not stopped after %u ms and %u attempts (signal %d, stop_signal): "
		    "every thread resumed", line,
		    w->spent_ms + (w->timeout_ms ? w->timeout_ms : MG_WORLD_TIMEOUT_MS),
		    w->spent_attempts + st->attempts, s->sig);
	return -1;
}

/* Between two attempts: everyone runs (the stopped ones are REARMed, the
 * silent ones stay SIGNALLED with their signal), for a pause that doubles
 * with each attempt. */
static void back_off(struct mg_world *w, struct stop *st)
{
	release(st->s);
	for (unsigned i = 1; i < w->n; i++)
		if (w->threads[i].state == SLOT_STOPPED)
			w->threads[i].state = SLOT_REARM;
	long pause = 1000000L << (st->attempts < 6 ? st->attempts - 1 : 5);
	int64_t left = st->deadline - now_ns();
	if (pause > PAUSE_MAX_NS)
		pause = PAUSE_MAX_NS;
	if (pause > left)
		pause = left > 0 ? (long)left : 0;
	sleep_ns(pause);
}

/* Starts another attempt: ACTIVE again, and a new signal for each silent
 * thread whose signal was taken (and ignored) during the pause. */
static int attempt_again(struct mg_world *w, struct stop *st)
{
	unparked(st->s, st->deadline);
	set_state(st->s, ACTIVE);
	for (unsigned i = 1; i < w->n; i++) {
		struct mg_world_thread *t = &w->threads[i];
		if (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != SLOT_SIGNALLED)
			continue;
		int r = signal_thread(st, t, true);
		if (r == ESRCH) {
			uint32_t expect = SLOT_SIGNALLED;
			if (__atomic_compare_exchange_n(&t->state, &expect, SLOT_GONE, false,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				__atomic_sub_fetch(&st->s->pending, 1, __ATOMIC_SEQ_CST);
		} else if (r) {
			stop_failed(st, r, "cannot signal thread %d with signal %d", (int)t->tid,
				    st->s->sig);
			return -1;
		}
	}
	return 0;
}

/* More slots, with the handlers held off meanwhile (HOLD). */
static int grow(struct mg_world *w, struct stop *st)
{
	set_state(st->s, ACTIVE | HOLD);
	drain(st->s);
	int r = world_reserve(w, 2 * w->cap);
	set_state(st->s, ACTIVE);
	if (r)
		stop_failed(st, 0, "no memory for %u threads' records", 2 * w->cap);
	return r;
}

/* Drops the slots of threads found gone or zombie, keeping the order;
 * counts them in w->exited.  Every listed thread is stopped: no handler
 * reads the hash. */
static void compact(struct mg_world *w)
{
	unsigned k = 0;
	for (unsigned i = 0; i < w->n; i++) {
		uint32_t s = w->threads[i].state;
		if (s == SLOT_STOPPED || s == SLOT_SELF)
			w->threads[k++] = w->threads[i];
		else
			w->exited++;
	}
	w->n = k;
	hash_rebuild(w);
}

/* ---- the stack bounds, from /proc/self/maps ----
 * Linux 6.11 answers "which mapping holds this address" with an ioctl on
 * the maps file (PROCMAP_QUERY), in time independent of the number of
 * mappings; older kernels get the text, read in chunks and merged with the
 * threads sorted by sp.  Both give the same bounds. */

struct procmap_query {             /* <linux/fs.h>, Linux 6.11 */
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY 0xC0686611u  /* _IOWR('f', 17, struct procmap_query) */
#define PROCMAP_READABLE 1u

static int query_unsupported;      /* the kernel said ENOTTY or EINVAL once */

static void no_scan(struct mg_world_thread *t)
{
	t->flags |= MG_WORLD_NOSCAN;
	t->lo = t->hi = t->sp;
}

/* t's range, sp being in the mapping [start, end): from sp (less the red
 * zone, never below start) to end. */
static void bound(struct mg_world_thread *t, uintptr_t start, uintptr_t end, bool readable)
{
	if (t->sp < start || t->sp >= end || !readable) {
		no_scan(t);
		return;
	}
	uintptr_t lo = t->flags & (MG_WORLD_SELF | MG_WORLD_PARKED) ? t->sp
								  : t->sp - MG_WORLD_REDZONE;
	t->lo = lo > start && lo <= t->sp ? lo : start;
	t->hi = end;
}

/* Bounds every thread with PROCMAP_QUERY; 0, or -1 when the kernel has no
 * such ioctl (then nothing is set). */
static int bound_by_query(struct mg_world *w, int fd)
{
	if (query_unsupported)
		return -1;
	for (unsigned i = 0; i < w->n; i++) {
		struct mg_world_thread *t = &w->threads[i];
		struct procmap_query q;
		memset(&q, 0, sizeof q);
		q.size = sizeof q;
		q.query_addr = t->sp;
		if (ioctl(fd, PROCMAP_QUERY, &q) == 0) {
			bound(t, (uintptr_t)q.vma_start, (uintptr_t)q.vma_end,
			      q.vma_flags & PROCMAP_READABLE);
		} else if (errno == ENOENT) {
			no_scan(t);                /* sp in no mapping */
		} else {
			if (errno == ENOTTY || errno == EINVAL)
				query_unsupported = 1;
			return -1;
		}
	}
	return 0;
}

/* Bounds the threads (taken in sp order, from ord[*k]) whose sp is in the
 * mapping v. */
struct bound_walk {
	struct mg_world *w;
	const uint32_t *ord;
	unsigned k;
};

static int vma_bound(const struct mg_os_vma *v, void *arg)
{
	struct bound_walk *b = arg;
	for (; b->k < b->w->n && b->w->threads[b->ord[b->k]].sp < v->end; b->k++)
		bound(&b->w->threads[b->ord[b->k]], v->start, v->end, v->perms[0] == 'r');
	return 0;
}

static int bound_stacks(struct mg_world *w, struct stop *st)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		stop_failed(st, errno, "cannot open /proc/self/maps");
		return -1;
	}
	int q = bound_by_query(w, fd);
	close(fd);
	if (q == 0)
		return 0;
	struct layout l;
	layout(w->cap, w->fpu_size, &l);
	uint32_t *ord = area(w, l.order);
	char *buf = area(w, l.buf);
	unsigned n = w->n;
	for (unsigned i = 0; i < n; i++)
		ord[i] = i;
	for (unsigned gap = n / 2; gap; gap /= 2)   /* shell sort by sp */
		for (unsigned i = gap; i < n; i++)
			for (unsigned j = i; j >= gap &&
			     w->threads[ord[j - gap]].sp > w->threads[ord[j]].sp; j -= gap) {
				uint32_t x = ord[j];
				ord[j] = ord[j - gap];
				ord[j - gap] = x;
			}
	struct bound_walk b = { w, ord, 0 };
	if (mg_os_maps_foreach(buf, BUF_SIZE, vma_bound, &b) < 0) {
		stop_failed(st, errno, "cannot open /proc/self/maps");
		return -1;
	}
	while (b.k < n)
		no_scan(&w->threads[ord[b.k++]]);
	return 0;
}

/* ---- stop, start ---- */

/* mg_world_stop's body, called by its entry (below) with the caller's
 * registers. */
MG_HIDDEN __attribute__((used)) int mg_world_stop_regs(struct mg_world *w,
							const struct self_regs *regs);

int mg_world_stop_regs(struct mg_world *w, const struct self_regs *regs)
{
	int e = errno;
	if (holding) {
		mg_log("stop the world: this thread has already stopped it (mg_world_stop twice)");
		return -1;
	}
	struct shared *s = shared_get();
	if (!s) {
		mg_log("stop the world: no memory for its state");
		return -1;
	}
	struct stop st = { .s = s, .pid = getpid(), .fd = -1 };
	world_lock(s, st.pid);
	int64_t gap = s->ended + MIN_GAP_NS - now_ns();
	if (gap > 0)
		sleep_ns((long)gap);       /* the released threads run first */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &w->mask);
	if (signal_setup(s))
		goto unlock;
	if (!w->map && world_reserve(w, FIRST_CAP)) {
		mg_log("stop the world: no memory for the threads' records");
		goto unlock;
	}
	w->n = w->exited = w->passes = w->attempts = 0;
	hash_rebuild(w);
	record_self(w, regs);
	record_parked(w);
	st.fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st.fd < 0) {
		stop_failed(&st, errno, "cannot open /proc/self/task");
		goto unlock;
	}
	st.deadline = now_ns() + (int64_t)(w->timeout_ms ? w->timeout_ms : MG_WORLD_TIMEOUT_MS) * 1000000;
	s->pending = 0;
	__atomic_store_n(&s->world, w, __ATOMIC_RELEASE);
	unparked(s, st.deadline);          /* the last stop's threads are out */
	set_state(s, ACTIVE);
	for (st.attempts = 1;; st.attempts++) {
		int r;
		for (;;) {
			int fresh = list_and_signal(w, &st);
			w->passes++;
			if (fresh < 0)
				goto resume;
			r = wait_stopped(w, &st);
			if (r < 0)
				goto resume;
			if (r > 0)
				break;
			if (st.full) {
				if (grow(w, &st))
					goto resume;
				continue;
			}
			if (fresh == 0)
				break;
		}
		if (r == 0)
			break;
		back_off(w, &st);
		if (attempt_again(w, &st))
			goto resume;
	}
	close(st.fd);
	st.fd = -1;
	compact(w);
	if (bound_stacks(w, &st))
		goto resume;
	memset(s->suspects, 0, sizeof s->suspects);
	w->attempts = st.attempts;
	w->pid = st.pid;
	holding = 1;
	errno = e;
	return 0;
resume:
	release(s);
unlock:
	if (st.fd >= 0)
		close(st.fd);
	w->n = 0;
	__atomic_store_n(&s->world, NULL, __ATOMIC_RELEASE);
	world_unlock(s);
	pthread_sigmask(SIG_SETMASK, &w->mask, NULL);
	w->timed_out = st.timed_out;
	w->attempts = st.attempts;
	if (st.msg[0] && !w->quiet)
		mg_log("stop the world: %s%s%s", st.msg, st.err ? ": " : "",
		       st.err ? strerror(st.err) : "");
	errno = e;
	return -1;
}

void mg_world_start(struct mg_world *w)
{
	if (!w->pid)
		return;
	int e = errno;
	if (w->pid == getpid()) {
		struct shared *s = g;
		release(s);
		__atomic_store_n(&s->world, NULL, __ATOMIC_RELEASE);
		world_unlock(s);
	}
	/* else a world stopped in the parent we were forked from: nothing of
	 * it is here but this thread's mask */
	w->pid = 0;
	holding = 0;
	pthread_sigmask(SIG_SETMASK, &w->mask, NULL);
	errno = e;
}

/* The entry of mg_world_stop: saves the caller's callee-saved registers,
 * its rbp, its stack pointer after the return and the return address,
 * exactly as they are at the call (C cannot: its prologue may already have
 * changed them), then calls mg_world_stop_regs(w, saved). */
#if defined(__CET__) && (__CET__ & 1)
#define MG_ENDBR "	endbr64\n"
#else
#define MG_ENDBR ""
#endif
__asm__("	.text\n"
	"	.p2align 4\n"
	"	.globl mg_world_stop\n"
	"	.hidden mg_world_stop\n"
	"	.type mg_world_stop, @function\n"
	"mg_world_stop:\n"
	"	.cfi_startproc\n"
	MG_ENDBR
	"	pushq %rbp\n"
	"	.cfi_def_cfa_offset 16\n"
	"	.cfi_offset %rbp, -16\n"
	"	movq %rsp, %rbp\n"
	"	.cfi_def_cfa_register %rbp\n"
	"	subq $64, %rsp\n"
	"	movq %rbx, 0(%rsp)\n"
	"	movq %r12, 8(%rsp)\n"
	"	movq %r13, 16(%rsp)\n"
	"	movq %r14, 24(%rsp)\n"
	"	movq %r15, 32(%rsp)\n"
	"	movq 0(%rbp), %rax\n"      /* the caller's rbp */
	"	movq %rax, 40(%rsp)\n"
	"	leaq 16(%rbp), %rax\n"     /* the caller's rsp once returned */
	"	movq %rax, 48(%rsp)\n"
	"	movq 8(%rbp), %rax\n"      /* the return address */
	"	movq %rax, 56(%rsp)\n"
	"	movq %rsp, %rsi\n"
	"	call mg_world_stop_regs\n"
	"	leave\n"
	"	.cfi_def_cfa %rsp, 8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	"	.size mg_world_stop, .-mg_world_stop\n");

int mg_world_check(const struct mg_world *w)
{
	int bad = 0;
	if (!w->pid || w->n < 1 || w->n > w->cap) {
		mg_log("world check: not stopped, or n=%u outside 1..%u", w->n, w->cap);
		return 1;
	}
	const char *map = w->map;
	for (unsigned i = 0; i < w->n; i++) {
		const struct mg_world_thread *t = &w->threads[i];
		bool self = t->flags & MG_WORLD_SELF;
		if (self != (i == 0) || (i == 0 && t->tid != mg_os_tid())) {
			mg_log("world check: thread %d at %u: SELF flag wrong", (int)t->tid, i);
			bad++;
		}
		if (!self && !(t->flags & MG_WORLD_PARKED) && t->state != SLOT_STOPPED) {
			mg_log("world check: thread %d is not stopped (state %u)", (int)t->tid, t->state);
			bad++;
		}
		for (unsigned j = 0; j < i; j++)
			if (w->threads[j].tid == t->tid) {
				mg_log("world check: thread %d recorded twice", (int)t->tid);
				bad++;
			}
		if (t->flags & MG_WORLD_NOSCAN ? t->lo != t->hi : !(t->lo <= t->sp && t->sp < t->hi)) {
			mg_log("world check: thread %d: sp %#lx, range [%#lx, %#lx)", (int)t->tid,
			       (unsigned long)t->sp, (unsigned long)t->lo, (unsigned long)t->hi);
			bad++;
		}
		if (t->fpu_len > w->fpu_size || (const char *)t->fpu < map ||
		    (const char *)t->fpu + w->fpu_size > map + w->map_size) {
			mg_log("world check: thread %d: FPU image outside the world", (int)t->tid);
			bad++;
		}
	}
	/* Every task of /proc/self/task is recorded, but the dead. */
	char buf[4096];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		mg_log("world check: cannot open /proc/self/task (errno %d)", errno);
		return bad + 1;
	}
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
		for (long off = 0; off < got;) {
			const struct linux_dirent64 *d = (const void *)(buf + off);
			off += d->reclen;
			pid_t tid = parse_tid(d->name);
			char c;
			if (tid > 0 && hash_find(w, tid) < 0 && (c = thread_state(tid)) != 'Z' && c != 'X') {
				mg_log("world check: thread %d of /proc/self/task is not recorded", (int)tid);
				bad++;
			}
		}
	close(fd);
	return bad;
}

#else /* not x86-64 Linux */

int mg_world_stop(struct mg_world *w)
{
	mg_log("stop the world: not ported to this architecture");
	return -1;
}

void mg_world_start(struct mg_world *w)
{
}

int mg_world_check(const struct mg_world *w)
{
	return 1;
}

void mg_world_park(pid_t tid, uintptr_t sp, uintptr_t tp)
{
}

#endif

/* ---- what the collector calls, and the rest ---- */

struct run {
	struct mg_world *w;
	int (*fn)(struct mg_world *, void *);
	void *arg;
	int ret;
};

/* Called by dl_iterate_phdr, which holds the loader's lock meanwhile. */
static int run_locked(struct dl_phdr_info *info, size_t size, void *p)
{
	struct run *r = p;
	if (mg_world_stop(r->w) == 0) {
		r->ret = r->fn(r->w, r->arg);
		mg_world_start(r->w);
	}
	return 1;                          /* the first module is enough */
}

/* The loader's lock is held while the world stops, but not for the whole
 * timeout: a thread that waits for it with every signal blocked (libunwind
 * blocks them around its dl_iterate_phdr, as glibc does in an exiting
 * thread) cannot stop while the stopper holds it.  So the timeout is cut
 * into slices of SLICE_MS, the lock let go between them for a pause that
 * doubles (1 ms to PAUSE_MAX_NS); only the last slice's failure is told. */
#define SLICE_MS 50u
int mg_world_run(struct mg_world *w, int (*fn)(struct mg_world *w, void *arg), void *arg)
{
	unsigned timeout = w->timeout_ms, total = timeout ? timeout : MG_WORLD_TIMEOUT_MS;
	struct run r = { w, fn, arg, -1 };
	long pause = 1000000L;
	w->spent_ms = w->spent_attempts = 0;
	for (;;) {
		unsigned left = total - w->spent_ms;
		bool last = left <= SLICE_MS;
		w->timeout_ms = !last ? SLICE_MS : left ? left : 1;   /* 0 would be the default */
		w->quiet = !last;
		int64_t t0 = now_ns();
		w->timed_out = false;
		w->attempts = 0;
		dl_iterate_phdr(run_locked, &r);
		if (r.ret >= 0 || last || !w->timed_out)
			break;
		sleep_ns(pause);
		pause = pause * 2 > PAUSE_MAX_NS ? PAUSE_MAX_NS : pause * 2;
		unsigned took = (unsigned)((now_ns() - t0) / 1000000);
		w->spent_ms += took < total - w->spent_ms ? took : total - w->spent_ms;
		w->spent_attempts += w->attempts ? w->attempts : 1;
	}
	w->timeout_ms = timeout;
	w->quiet = false;
	w->spent_ms = w->spent_attempts = 0;
	return r.ret;
}

void mg_world_free(struct mg_world *w)
{
	mg_world_start(w);
	unsigned timeout = w->timeout_ms;
	if (w->map)
		mg_os_unmap(w->map, w->map_size);
	memset(w, 0, sizeof *w);
	w->timeout_ms = timeout;
}

/* ---- execve ----
 * A signal queued to a thread survives its execve(2), and the new program
 * has the default action for it: a stop signal that reaches a thread on
 * its way into execve would kill the program it execs.  So around execve
 * the caller holds the world lock (no stop can start) after taking any
 * stop signal already queued to it.
 *
 * Not in a vfork child (CPython's subprocess execs from one): it runs in
 * its parent's memory, the shared page included, while the parent's other
 * threads run on, and its pid is not the parent's.  world_lock would take
 * the lock as a fork child takes over its parent's copy, and reset the
 * state of a stop under way in the parent: the parent's stopper then saw
 * no thread pending and scanned a world without the vforking thread, which
 * never stopped (its signal, from a pid that was no longer s->pid, was
 * ignored).  Such a child needs nothing: it is no thread of the parent's,
 * so no stop signal is ever sent to it.  home (the pid memgc's memory
 * belongs to, set at start-up and in a forked child) tells it apart:
 * getpid() differs from it there, and only there or in a child forked
 * without the fork handlers (_Fork, a raw clone), which has no collector
 * thread to stop it either. */

static pid_t home;

void mg_world_home(void)
{
	__atomic_store_n(&home, getpid(), __ATOMIC_RELAXED);
}

static bool in_vfork_child(void)
{
	return getpid() != __atomic_load_n(&home, __ATOMIC_RELAXED);
}

void mg_world_exec_begin(void)
{
	if (in_vfork_child())
		return;
	struct shared *s = shared_get();
	if (!s)
		return;
	world_lock(s, getpid());
	int e = errno;
	sigset_t one, old;
	sigemptyset(&one);
	sigaddset(&one, (int)mg_opt.stop_signal);
	pthread_sigmask(SIG_BLOCK, &one, &old);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&one, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
}

void mg_world_lock_stoppable(pthread_mutex_t *m)
{
	if (pthread_mutex_trylock(m) == 0)
		return;
	int e = errno;
	sigset_t one, old;
	sigemptyset(&one);
	if (mg_opt.stop_signal)
		sigaddset(&one, (int)mg_opt.stop_signal);
	pthread_sigmask(SIG_UNBLOCK, &one, &old);
	pthread_mutex_lock(m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
}

void mg_world_exec_end(void)
{
	if (in_vfork_child())
		return;
	struct shared *s = __atomic_load_n(&g, __ATOMIC_ACQUIRE);
	if (s && __atomic_load_n(&s->lock, __ATOMIC_ACQUIRE) == (uint32_t)getpid())
		world_unlock(s);
}
