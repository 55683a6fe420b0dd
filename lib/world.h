/* world.h: stopping every other thread of the process, and what each holds.
 *
 * mg_world_stop() stops every thread of the process but the caller and fills
 * a struct mg_world with, for each thread, its registers (general and
 * FPU/vector) and the range of its stack to scan; mg_world_start() lets them
 * all run again.  The collector calls mg_world_run(), which does both around
 * a function of its own while holding the dynamic loader's lock.
 *
 * How (world.c): the signal of option stop_signal (default 39, SIGRTMIN+5
 * under glibc) is queued to each thread of /proc/self/task with
 * rt_tgsigqueueinfo; its handler copies the interrupted registers into the
 * thread's record, acknowledges, and waits on a futex until the world
 * starts.  Threads that appear while stopping are stopped too (the listing
 * is repeated until a pass finds no new thread); threads that exit or are
 * zombies are left out.  A thread that blocks the signal may be waiting for
 * a lock a stopped thread holds (glibc's exiting threads do, on the stack
 * cache lock): after 5 ms of that the stop backs off, lets every thread run
 * for a moment (1 ms, doubling) and tries again, until timeout_ms.  Nothing
 * here calls malloc.
 *
 * THE CONTRACT between stop and start (the caller's side):
 *  - Locks.  A stopped thread may hold any lock: jemalloc's, memgc's own
 *    (stats threads lock, sites insert lock), stdio's, the loader's, glibc's
 *    malloc's.  Between stop and start the caller takes none it does not
 *    already hold: no malloc or free, no stdio, no dlopen, dlsym or dladdr,
 *    no mg_stats_* or mg_sites_* call that locks.  What the stopped-world
 *    code needs is locked BEFORE stopping, in this order (ranks):
 *      1. memgc's locks (internal.h ranks)   2. jemalloc's (prefork)
 *      3. the loader's (dl_iterate_phdr)      4. the world lock (here)
 *    mg_log() is safe: it formats into a buffer and write(2)s.
 *  - Loader lock: THE CALLER HOLDS IT.  mg_world_stop and mg_world_start are
 *    called from inside a dl_iterate_phdr() callback, which holds glibc's
 *    dl_load_write_lock (the lock on the list of loaded modules): no module
 *    is added to or removed from the list while the world is stopped, and
 *    none is stopped half-listed.  mg_world_run() does exactly that.  (A
 *    thread stopped inside dlopen may still hold dl_load_lock, the lock of
 *    a whole load: hence no dlopen, dlsym or dladdr while stopped.)
 *  - Signals.  From stop to start the calling thread has every signal
 *    blocked (start restores its mask): no handler of the program runs on
 *    it while other threads are stopped holding locks.
 *  - One stop at a time: a second caller waits (and is itself stopped while
 *    it waits); a thread that already holds a stopped world gets -1.  A stop
 *    begins at least 1 ms after the last one ended (it sleeps the rest):
 *    back-to-back stops would otherwise starve a thread, re-signalled
 *    before it runs a line of its own.
 *  - Fork: a child starts with no stopped world; mg_world_start() on a world
 *    inherited from the parent only restores the signal mask.
 *
 * What the program sees (document with the collector): its threads run a
 * signal handler.  System calls are restarted (SA_RESTART), except those
 * Linux never restarts after a handler (nanosleep, poll, epoll_wait, select,
 * sigtimedwait, ...), which return EINTR as for any handler.  Under gdb use
 * "handle SIG39 nostop noprint pass"; under strace nothing changes.  The
 * signal must not be blocked for long by any thread: a thread that does not
 * stop within timeout_ms fails the stop (-1, one message naming it and why:
 * blocks the signal, stopped by a debugger, ...) and everything is resumed.
 * (A thread inside vfork() answers only once its child has exec'd.)  Such
 * a thread keeps one of our signals queued, never more (the stopper reads
 * its SigPnd before queueing another), taken and ignored once it unblocks.
 * Each failed stop costs timeout_ms: a caller backs off after failures.
 * The program must not install its own handler for stop_signal (the stop
 * fails with a message naming the option).
 */
#ifndef MG_WORLD_H
#define MG_WORLD_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

/* x86-64 Linux only: elsewhere mg_world_stop says so and returns -1 (the
 * entry stub and the register copy are what a port writes). */
#define MG_WORLD_NREGS 23          /* x86-64 NGREG: the ucontext's gregs, REG_* order */
#define MG_WORLD_REDZONE 128       /* bytes below sp a leaf function may use */
#define MG_WORLD_TIMEOUT_MS 2000   /* the default of mg_world.timeout_ms */

enum mg_world_flags {
	MG_WORLD_SELF = 1,       /* the thread that called mg_world_stop */
	MG_WORLD_ALTSTACK = 2,   /* was on its sigaltstack: [lo, hi) is that stack */
	MG_WORLD_NOSCAN = 4,     /* sp is in no readable mapping: lo == hi */
	MG_WORLD_PARKED = 8,     /* the parked thread (mg_world_park): not signalled */
};

/* One thread of a stopped world.
 *
 *   sp      its stack pointer when the signal interrupted it (the caller's:
 *           at the call of mg_world_stop, return address popped)
 *   [lo,hi) the memory to scan: hi is the end of the mapping that holds sp,
 *           which for a glibc thread is the end of its whole block (frames,
 *           then static TLS, the TCB and its DTV pointer); lo is sp less the
 *           red zone (MG_WORLD_REDZONE; none for the caller), never below
 *           that mapping's start, so a guard page is never in it.
 *   regs    the interrupted general registers, gregset order (regs[REG_RSP]
 *           == sp).  The caller's: only what lives across a call (rbx, rbp,
 *           r12-r15, rsp, rip), the rest 0.
 *   fpu     fpu_len bytes of the kernel's XSAVE image: the FXSAVE layout
 *           first (xmm0-15 at byte 160), then the header and the extended
 *           components (ymm upper halves, AVX-512, ...) in the standard
 *           format.  The caller's is an FXSAVE of 512 bytes (vector
 *           registers do not live across a call).
 *   tp      the thread pointer (glibc: the struct pthread, with static TLS
 *           just below it).  For a glibc thread it is inside [lo, hi).  The
 *           main thread's is not: ld.so allocated its TCB and static TLS in
 *           a mapping of their own, which the roots must scan.
 */
struct mg_world_thread {
	pid_t tid;
	unsigned flags;                    /* enum mg_world_flags */
	uintptr_t sp;
	uintptr_t lo, hi;
	uintptr_t tp;
	uintptr_t regs[MG_WORLD_NREGS];
	const unsigned char *fpu;
	uint32_t fpu_len;
	uint32_t state;                    /* world.c's own */
};

/* A stopped world, or the room for one.  Zero-initialise it (then set
 * timeout_ms if 2 s is not right), pass it to mg_world_stop/start any
 * number of times, and release it with mg_world_free.
 *
 * Invariants while stopped (from mg_world_stop's 0 to mg_world_start),
 * checked by mg_world_check():
 *   1 <= n <= cap;  threads[0].flags & MG_WORLD_SELF, no other has it
 *   the tids are distinct, threads[0].tid == gettid() of the caller, and
 *     every other one is stopped in world.c's signal handler, but the
 *     parked thread (MG_WORLD_PARKED, threads[1]) when there is one
 *   every task of /proc/self/task is one of them, but zombies and exiting
 *     tasks (counted in exited)
 *   for each: lo <= hi; lo <= sp < hi unless MG_WORLD_NOSCAN (then lo == hi)
 *   fpu_len <= fpu_size, and fpu lies in this world's own mapping
 * threads, the FPU images and the scratch space share one mapping from
 * mg_os_map, replaced by a larger one (doubling cap) when the process has
 * more threads; pointers into it are valid until the next mg_world_stop.
 */
struct mg_world {
	unsigned timeout_ms;               /* input: 0 is MG_WORLD_TIMEOUT_MS (a failing
					      stop may take 50 ms more to name why) */
	unsigned n;                        /* threads recorded */
	unsigned exited;                   /* listed, then gone or zombies */
	unsigned passes;                   /* listings of /proc/self/task */
	unsigned attempts;                 /* 1, or more after backing off */
	bool quiet;                        /* input: no message when the stop fails */
	bool timed_out;                    /* output: it failed because threads did not
					      answer in time */
	unsigned spent_ms, spent_attempts; /* input: counted into the failure message
					      (mg_world_run's earlier slices) */
	struct mg_world_thread *threads;
	/* world.c's own */
	unsigned cap;
	pid_t pid;                         /* the stopping process; 0 when running */
	size_t fpu_size;                   /* bytes of FPU image per thread */
	void *map;
	size_t map_size;
	sigset_t mask;                     /* the caller's mask, restored by start */
};

/* Stops every other thread (see the contract above).  Returns 0 with w
 * filled in, or -1 after one message on stderr, with every thread running
 * and the caller's mask restored (no threads recorded).  Call with the
 * loader's lock held.  Never allocates with malloc. */
int mg_world_stop(struct mg_world *w);
/* Lets the threads stopped by mg_world_stop(w) run; nothing when w is not
 * stopped.  The records stay readable but describe the past.  Can't fail. */
void mg_world_start(struct mg_world *w);
/* Stops the world inside a dl_iterate_phdr() callback, calls fn(w, arg),
 * starts the world.  Returns -1 when the world could not be stopped, else
 * fn's value (which should not be negative). */
int mg_world_run(struct mg_world *w, int (*fn)(struct mg_world *w, void *arg), void *arg);
/* Unmaps w's memory; w is then as zero-initialised (timeout_ms kept). */
void mg_world_free(struct mg_world *w);
/* Checks the invariants above on a stopped world; returns the number of
 * violations, each described in one message. */
int mg_world_check(const struct mg_world *w);
/* Around execve(2) (preload/exec.c): begin waits for any stop to end,
 * keeps new ones from starting and takes a stop signal already queued to
 * the caller, which would otherwise kill the new program; end, called when
 * execve failed, lets stops start again. */
void mg_world_exec_begin(void);
void mg_world_exec_end(void);
/* The calling process is the one memgc's memory belongs to: called at
 * start-up and in a forked child.  A process whose pid differs (a vfork
 * child, in its parent's memory) leaves the world lock alone at execve. */
void mg_world_home(void);
/* Parks thread tid for the calling thread's stops until called again with
 * tid 0: a thread of the process that waits, in memgc's code, until the
 * caller is done.  Each stop records it as stopped without a signal
 * (MG_WORLD_PARKED, threads[1]), with sp (lo: no red zone) and tp as
 * given and no registers: the collector thread serving a program thread's
 * request parks that thread so. */
void mg_world_park(pid_t tid, uintptr_t sp, uintptr_t tp);
/* Locks m, with stop_signal open while it waits: m is one a stopper may
 * hold (the collection's), and a program may block every signal around
 * the call (git does around fork(), whose handler takes it), which would
 * keep the stop from taking this thread for its whole timeout.  The
 * caller's mask is back when it returns; errno is kept. */
void mg_world_lock_stoppable(pthread_mutex_t *m);

#endif /* MG_WORLD_H */
