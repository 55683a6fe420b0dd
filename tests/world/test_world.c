/* test_world.c: the stop-the-world module (lib/world.c) on its own.
 *
 * A plain program, not Criterion: Criterion's worker has threads of its own,
 * and these tests count threads.  Each case runs in a forked child with an
 * alarm, so a hang fails that case and the others still run.  Exit status
 * 0 when every case passes, 1 otherwise; `test_world CASE` runs one case in
 * this process (used for the runs under strace, gdb and the preload).
 */
#include "config.h"
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/ioctl.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"
#include "world.h"

#define MAGIC_R13 UINT64_C(0x5a17c0de13131313)
#define MAGIC_XMM UINT64_C(0x7e57f00d88888888)
#define MAGIC_YMM UINT64_C(0x7e57f00d99999999)
#define MAGIC_STACK UINT64_C(0x5eedbeef57ac4444)

static const char *self_path;

/* ---- small helpers ---- */

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
	if (ok)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	_exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int cap_fd = -1, cap_saved = -1;

static void stderr_begin(void)
{
	cap_fd = memfd_create("world-stderr", 0);
	cap_saved = dup(2);
	dup2(cap_fd, 2);
}

static const char *stderr_end(void)
{
	static char buf[8192];
	dup2(cap_saved, 2);
	close(cap_saved);
	ssize_t n = pread(cap_fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(cap_fd);
	return buf;
}

static const struct mg_world_thread *find(const struct mg_world *w, pid_t t)
{
	const struct mg_world_thread *r = NULL;
	for (unsigned i = 0; i < w->n; i++)
		if (w->threads[i].tid == t) {
			check(!r, "tid %d recorded twice", (int)t);
			r = &w->threads[i];
		}
	return r;
}

static void stop_ok(struct mg_world *w)
{
	int r = mg_world_stop(w);
	check(r == 0, "mg_world_stop returned %d", r);
	int bad = mg_world_check(w);
	check(bad == 0, "mg_world_check found %d problems (see stderr)", bad);
}

/* ---- workers: threads busy or blocked in different ways ---- */

enum kind { SPIN_REG, SPIN_STACK, SPIN_XMM, SLEEPER, READER, CONDER, LOCKER, MALLOCER, NKINDS };
static const char *const kind_name[] = { "spin/reg", "spin/stack", "spin/xmm", "nanosleep",
					 "read", "cond_wait", "mutex_lock", "malloc" };

struct worker {
	enum kind kind;
	pthread_t th;
	pid_t tid;
	volatile uintptr_t *local;        /* a local variable of the thread */
	unsigned long count;              /* progress, atomic */
	int ready, quit;                  /* atomic */
	int eintr;                        /* nanosleep's EINTRs */
	int fd;                           /* READER: the pipe */
	char got;
	ssize_t rd;
	uintptr_t stack_lo, stack_hi;     /* pthread_getattr_np */
};

static pthread_mutex_t cond_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond_c = PTHREAD_COND_INITIALIZER;
static int cond_go;
static pthread_mutex_t held_m = PTHREAD_MUTEX_INITIALIZER;
static int have_avx;

static void ready(struct worker *wk, volatile uintptr_t *local)
{
	wk->tid = tid();
	wk->local = local;
	__atomic_store_n(&wk->ready, 1, __ATOMIC_RELEASE);
}

static int quitting(struct worker *wk)
{
	return __atomic_load_n(&wk->quit, __ATOMIC_ACQUIRE);
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	volatile uintptr_t local = MAGIC_STACK;   /* SPIN_STACK looks for it */
	ready(wk, &local);
	switch (wk->kind) {
	case SPIN_REG:
		/* The magic value lives in r13 only: an immediate, then a loop. */
		__asm__ volatile("movabsq $0x5a17c0de13131313, %%r13\n"
				 "1:	lock incq (%0)\n"
				 "	pause\n"
				 "	cmpl $0, (%1)\n"
				 "	je 1b\n"
				 "	xorl %%r13d, %%r13d\n"
				 : : "r"(&wk->count), "r"(&wk->quit) : "r13", "memory", "cc");
		break;
	case SPIN_XMM:
		if (have_avx)
			__asm__ volatile("movabsq $0x7e57f00d88888888, %%rax\n"
					 "	movq %%rax, %%xmm8\n"
					 "	movabsq $0x7e57f00d99999999, %%rax\n"
					 "	vmovq %%rax, %%xmm9\n"
					 "	vinsertf128 $1, %%xmm9, %%ymm9, %%ymm9\n"  /* upper half too */
					 "	xorl %%eax, %%eax\n"
					 "1:	lock incq (%0)\n"
					 "	pause\n"
					 "	cmpl $0, (%1)\n"
					 "	je 1b\n"
					 "	pxor %%xmm8, %%xmm8\n"
					 "	vzeroupper\n"
					 : : "r"(&wk->count), "r"(&wk->quit)
					 : "rax", "xmm8", "xmm9", "memory", "cc");
		else
			__asm__ volatile("movabsq $0x7e57f00d88888888, %%rax\n"
					 "	movq %%rax, %%xmm8\n"
					 "	xorl %%eax, %%eax\n"
					 "1:	lock incq (%0)\n"
					 "	pause\n"
					 "	cmpl $0, (%1)\n"
					 "	je 1b\n"
					 "	pxor %%xmm8, %%xmm8\n"
					 : : "r"(&wk->count), "r"(&wk->quit) : "rax", "xmm8", "memory", "cc");
		break;
	case SPIN_STACK:
		while (!quitting(wk))
			__atomic_add_fetch(&wk->count, 1, __ATOMIC_RELAXED);
		break;
	case SLEEPER:
		while (!quitting(wk)) {
			struct timespec ts = { 0, 2000000 };
			while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
				wk->eintr++;
			__atomic_add_fetch(&wk->count, 1, __ATOMIC_RELAXED);
		}
		break;
	case READER:
		wk->rd = read(wk->fd, &wk->got, 1);
		if (wk->rd < 0)
			wk->rd = -errno;
		__atomic_add_fetch(&wk->count, 1, __ATOMIC_RELEASE);
		break;
	case CONDER:
		pthread_mutex_lock(&cond_m);
		while (!cond_go)
			pthread_cond_wait(&cond_c, &cond_m);
		pthread_mutex_unlock(&cond_m);
		__atomic_add_fetch(&wk->count, 1, __ATOMIC_RELEASE);
		break;
	case LOCKER:
		pthread_mutex_lock(&held_m);
		pthread_mutex_unlock(&held_m);
		__atomic_add_fetch(&wk->count, 1, __ATOMIC_RELEASE);
		break;
	case MALLOCER: {
		unsigned x = 12345;
		void *keep[16] = { 0 };
		while (!quitting(wk)) {
			x = x * 1103515245 + 12345;
			unsigned i = (x >> 16) % 16;
			free(keep[i]);
			keep[i] = malloc(((x >> 8) & 4095) + 1);
			__atomic_add_fetch(&wk->count, 1, __ATOMIC_RELAXED);
		}
		for (int i = 0; i < 16; i++)
			free(keep[i]);
		break;
	}
	case NKINDS:
		break;
	}
	return NULL;
}

static unsigned long count_of(struct worker *wk)
{
	return __atomic_load_n(&wk->count, __ATOMIC_ACQUIRE);
}

static void start_worker_fd(struct worker *wk, enum kind k, int fd)
{
	memset(wk, 0, sizeof *wk);
	wk->kind = k;
	wk->fd = fd;
	check(pthread_create(&wk->th, NULL, worker_main, wk) == 0, "pthread_create");
	while (!__atomic_load_n(&wk->ready, __ATOMIC_ACQUIRE))
		sched_yield();
	pthread_attr_t a;
	void *lo;
	size_t size;
	check(pthread_getattr_np(wk->th, &a) == 0 && pthread_attr_getstack(&a, &lo, &size) == 0,
	      "pthread_getattr_np");
	pthread_attr_destroy(&a);
	wk->stack_lo = (uintptr_t)lo;
	wk->stack_hi = (uintptr_t)lo + size;
}

static void start_worker(struct worker *wk, enum kind k)
{
	start_worker_fd(wk, k, -1);
}

/* Whether the aligned word at want holds v and lies in [lo, hi): read the
 * way a conservative scan reads another thread's stack, so not under
 * AddressSanitizer (its redzones are in there). */
__attribute__((no_sanitize("address"), noinline))
static int scan_finds(uintptr_t lo, uintptr_t hi, uintptr_t want, uint64_t v)
{
	int found = 0;
	for (uintptr_t p = lo; p + 8 <= hi; p += 8)
		if (*(const volatile uint64_t *)p == v && p == want)
			found = 1;
	return found;
}

/* The offset of XSAVE component 2 (the upper halves of ymm0-15). */
static unsigned ymm_offset(void)
{
	unsigned a, b, c, d;
	__cpuid_count(0xd, 2, a, b, c, d);
	return b;
}

/* ---- cases ---- */

/* Eight threads busy or blocked eight ways: all listed, sp in their own
 * stack, bounds exact, registers and vector state found, no progress while
 * stopped, and every one runs on after the start. */
static void case_blocked_ways(void)
{
	struct worker wk[NKINDS];
	int pfd[2];
	check(pipe(pfd) == 0, "pipe");
	pthread_mutex_lock(&held_m);
	for (int k = 0; k < NKINDS; k++)
		start_worker_fd(&wk[k], (enum kind)k, pfd[0]);
	sleep_ms(20);   /* let the blocked ones block */

	struct mg_world w = { 0 };
	int local_main;
	stop_ok(&w);
	check(w.n == NKINDS + 1, "n = %u, expected %d", w.n, NKINDS + 1);
	check(w.exited == 0, "exited = %u", w.exited);
	const struct mg_world_thread *me = &w.threads[0];
	check(me->tid == tid() && (me->flags & MG_WORLD_SELF), "threads[0] is not the caller");
	check(me->lo == me->sp && me->regs[REG_RSP] == me->sp, "caller: lo %#lx sp %#lx",
	      (unsigned long)me->lo, (unsigned long)me->sp);
	check((uintptr_t)&local_main > me->sp && (uintptr_t)&local_main < me->hi,
	      "caller's local %p outside (%#lx, %#lx)", (void *)&local_main, (unsigned long)me->sp,
	      (unsigned long)me->hi);
	unsigned long before[NKINDS];
	for (int k = 0; k < NKINDS; k++)
		before[k] = count_of(&wk[k]);
	for (int k = 0; k < NKINDS; k++) {
		const struct mg_world_thread *t = find(&w, wk[k].tid);
		const char *name = kind_name[k];
		check(t != NULL, "%s thread %d not listed", name, (int)wk[k].tid);
		check(!(t->flags & (MG_WORLD_SELF | MG_WORLD_NOSCAN | MG_WORLD_ALTSTACK)), "%s: flags %u",
		      name, t->flags);
		check(t->sp >= wk[k].stack_lo && t->sp < wk[k].stack_hi,
		      "%s: sp %#lx outside its stack [%#lx, %#lx)", name, (unsigned long)t->sp,
		      (unsigned long)wk[k].stack_lo, (unsigned long)wk[k].stack_hi);
		check(t->regs[REG_RSP] == t->sp, "%s: regs[REG_RSP] != sp", name);
		check(t->lo == t->sp - MG_WORLD_REDZONE, "%s: lo %#lx, sp %#lx", name,
		      (unsigned long)t->lo, (unsigned long)t->sp);
		check(t->hi == wk[k].stack_hi, "%s: hi %#lx, the thread block ends at %#lx", name,
		      (unsigned long)t->hi, (unsigned long)wk[k].stack_hi);
		check((uintptr_t)wk[k].local >= t->lo && (uintptr_t)wk[k].local < t->hi,
		      "%s: local %p outside [%#lx, %#lx)", name, (void *)wk[k].local,
		      (unsigned long)t->lo, (unsigned long)t->hi);
		check(t->tp == (uintptr_t)wk[k].th && t->tp >= t->lo && t->tp < t->hi,
		      "%s: tp %#lx (pthread_t %#lx) not in the scanned block", name,
		      (unsigned long)t->tp, (unsigned long)wk[k].th);
		check(t->fpu_len >= 512 && t->fpu_len <= w.fpu_size, "%s: fpu_len %u", name, t->fpu_len);
	}
	/* r13, xmm8, the upper half of ymm9, the stack slot */
	const struct mg_world_thread *t = find(&w, wk[SPIN_REG].tid);
	check(t->regs[REG_R13] == MAGIC_R13, "spin/reg: r13 = %#lx", (unsigned long)t->regs[REG_R13]);
	t = find(&w, wk[SPIN_XMM].tid);
	uint64_t x8;
	memcpy(&x8, t->fpu + 160 + 8 * 16, 8);
	check(x8 == MAGIC_XMM, "spin/xmm: xmm8 = %#lx in the FPU image", (unsigned long)x8);
	if (have_avx) {
		uint64_t y9, bv;
		unsigned off = ymm_offset();
		memcpy(&bv, t->fpu + 512, 8);
		check(t->fpu_len >= off + 256, "spin/xmm: FPU image of %u bytes has no ymm part", t->fpu_len);
		memcpy(&y9, t->fpu + off + 9 * 16, 8);
		check((bv & 4) && y9 == MAGIC_YMM, "spin/xmm: XSTATE_BV %#lx, ymm9 upper = %#lx",
		      (unsigned long)bv, (unsigned long)y9);
	}
	t = find(&w, wk[SPIN_STACK].tid);
	check(scan_finds(t->lo, t->hi, (uintptr_t)wk[SPIN_STACK].local, MAGIC_STACK),
	      "spin/stack: the stack slot holding the value was not in [lo, hi)");

	sleep_ms(50);
	for (int k = 0; k < NKINDS; k++)
		check(count_of(&wk[k]) == before[k], "%s made progress while stopped (%lu -> %lu)",
		      kind_name[k], before[k], count_of(&wk[k]));
	mg_world_start(&w);

	/* Everyone runs on. */
	check(write(pfd[1], "x", 1) == 1, "write");
	pthread_mutex_lock(&cond_m);
	cond_go = 1;
	pthread_cond_broadcast(&cond_c);
	pthread_mutex_unlock(&cond_m);
	pthread_mutex_unlock(&held_m);
	int64_t until = now_ns() + 5000000000;
	for (int k = 0; k < NKINDS; k++) {
		while (count_of(&wk[k]) == before[k] && now_ns() < until)
			sleep_ms(1);
		check(count_of(&wk[k]) > before[k], "%s did not run on after the start", kind_name[k]);
	}
	check(wk[READER].rd == 1 && wk[READER].got == 'x', "read returned %zd ('%c')", wk[READER].rd,
	      wk[READER].got);
	for (int k = 0; k < NKINDS; k++)
		__atomic_store_n(&wk[k].quit, 1, __ATOMIC_RELEASE);
	for (int k = 0; k < NKINDS; k++)
		pthread_join(wk[k].th, NULL);
	note("nanosleep returned EINTR %d time(s) for one stop", wk[SLEEPER].eintr);
	mg_world_free(&w);
}

/* The same with the kernel's PROCMAP_QUERY refused (ENOTTY, as before
 * Linux 6.11, by a seccomp filter): the bounds come from the text of
 * /proc/self/maps, and are the same. */
static void case_maps_text(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xC0686611u, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0, "seccomp: %s", strerror(errno));
	int fd = open("/proc/self/maps", O_RDONLY);
	struct { uint64_t size, rest[12]; } q = { sizeof q, { 0 } };
	check(ioctl(fd, 0xC0686611u, &q) == -1 && errno == ENOTTY, "the filter does not refuse");
	close(fd);
	case_blocked_ways();
}

/* The caller's record: callee-saved registers as they were at the call. */
int call_stop_with_regs(struct mg_world *w);
__asm__("	.text\n"
	"	.globl call_stop_with_regs\n"
	"	.type call_stop_with_regs, @function\n"
	"call_stop_with_regs:\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movabsq $0x1111111111111b0b, %rbx\n"
	"	movabsq $0x1212121212121212, %r12\n"
	"	movabsq $0x1313131313131313, %r13\n"
	"	movabsq $0x1414141414141414, %r14\n"
	"	movabsq $0x1515151515151515, %r15\n"
	"	call mg_world_stop\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	ret\n"
	"	.size call_stop_with_regs, .-call_stop_with_regs\n");

static void case_self_regs(void)
{
	struct worker wk;
	start_worker(&wk, SPIN_STACK);
	struct mg_world w = { 0 };
	check(call_stop_with_regs(&w) == 0, "mg_world_stop failed");
	const struct mg_world_thread *me = &w.threads[0];
	check(me->regs[REG_RBX] == UINT64_C(0x1111111111111b0b) &&
	      me->regs[REG_R12] == UINT64_C(0x1212121212121212) &&
	      me->regs[REG_R13] == UINT64_C(0x1313131313131313) &&
	      me->regs[REG_R14] == UINT64_C(0x1414141414141414) &&
	      me->regs[REG_R15] == UINT64_C(0x1515151515151515),
	      "caller's registers: rbx %#lx r12 %#lx r13 %#lx r14 %#lx r15 %#lx",
	      (unsigned long)me->regs[REG_RBX], (unsigned long)me->regs[REG_R12],
	      (unsigned long)me->regs[REG_R13], (unsigned long)me->regs[REG_R14],
	      (unsigned long)me->regs[REG_R15]);
	/* rbp is this frame's (call_stop_with_regs keeps it); rip is in
	 * call_stop_with_regs; sp is its own once the call returned: 16-byte
	 * aligned, just below the five registers it pushed. */
	check(me->regs[REG_RBP] == (uintptr_t)__builtin_frame_address(0), "caller's rbp %#lx, frame %p",
	      (unsigned long)me->regs[REG_RBP], __builtin_frame_address(0));
	check(me->regs[REG_RIP] > (uintptr_t)call_stop_with_regs &&
	      me->regs[REG_RIP] <= (uintptr_t)call_stop_with_regs + 64, "caller's rip %#lx, function at %p",
	      (unsigned long)me->regs[REG_RIP], (void *)call_stop_with_regs);
	check(me->sp % 16 == 0 && me->sp == me->regs[REG_RSP] && me->lo == me->sp,
	      "caller's sp %#lx", (unsigned long)me->sp);
	check(mg_world_check(&w) == 0, "check");
	/* A second stop by the same thread is refused, the first one stands. */
	stderr_begin();
	int r = mg_world_stop(&w);
	const char *err = stderr_end();
	check(r == -1 && strstr(err, "already stopped"), "nested stop: %d, '%s'", r, err);
	mg_world_start(&w);
	__atomic_store_n(&wk.quit, 1, __ATOMIC_RELEASE);
	pthread_join(wk.th, NULL);
	mg_world_free(&w);
}

/* 1000 stops back to back while threads are created and exit. */
static int churn_quit, churn_live;
static unsigned long churn_made;

static void *churn_child(void *arg)
{
	volatile char pad[512];
	pad[(uintptr_t)arg % 512] = 1;
	(void)pad[0];
	void *p = malloc(64 + (uintptr_t)arg % 256);
	free(p);
	if ((uintptr_t)arg % 3 == 0)
		sched_yield();
	__atomic_sub_fetch(&churn_live, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *churn_spawner(void *arg)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	while (!__atomic_load_n(&churn_quit, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&churn_live, __ATOMIC_ACQUIRE) >= 12) {
			sched_yield();
			continue;
		}
		__atomic_add_fetch(&churn_live, 1, __ATOMIC_ACQ_REL);
		pthread_t t;
		if (pthread_create(&t, &a, churn_child, (void *)(uintptr_t)churn_made)) {
			__atomic_sub_fetch(&churn_live, 1, __ATOMIC_RELEASE);
			continue;
		}
		__atomic_add_fetch(&churn_made, 1, __ATOMIC_RELAXED);
	}
	pthread_attr_destroy(&a);
	return NULL;
}

static void case_churn(void)
{
	pthread_t sp[2];
	for (int i = 0; i < 2; i++)
		check(pthread_create(&sp[i], NULL, churn_spawner, NULL) == 0, "pthread_create");
	struct mg_world w = { 0 };
	unsigned long exited = 0, threads = 0, maxn = 0, passes = 0, attempts = 0;
	int64_t t0 = now_ns();
	for (int i = 0; i < 1000; i++) {
		stop_ok(&w);
		threads += w.n;
		exited += w.exited;
		passes += w.passes;
		attempts += w.attempts;
		if (w.n > maxn)
			maxn = w.n;
		mg_world_start(&w);
	}
	double ms = (double)(now_ns() - t0) / 1e6;
	__atomic_store_n(&churn_quit, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(sp[i], NULL);
	note("1000 stops in %.0f ms; %lu threads created meanwhile; %.1f threads per stop "
	     "(at most %lu), %lu found exited, %.2f listings and %.3f attempts per stop", ms,
	     churn_made, (double)threads / 1000, maxn, exited, (double)passes / 1000,
	     (double)attempts / 1000);
	check(churn_made >= 100, "only %lu threads were created during the stops", churn_made);
	mg_world_free(&w);
}

/* More threads than the first capacity (64): the records are remapped. */
static void case_grow(void)
{
	enum { N = 150 };
	static struct worker wk[N];
	int pfd[2];
	check(pipe(pfd) == 0, "pipe");
	for (int i = 0; i < N; i++)
		start_worker_fd(&wk[i], READER, pfd[0]);   /* parked in read() */
	struct mg_world w = { 0 };
	for (int round = 0; round < 3; round++) {
		stop_ok(&w);
		check(w.n == N + 1, "n = %u, expected %d", w.n, N + 1);
		for (int i = 0; i < N; i++) {
			const struct mg_world_thread *t = find(&w, wk[i].tid);
			check(t && (uintptr_t)wk[i].local >= t->lo && (uintptr_t)wk[i].local < t->hi,
			      "thread %d missing or its local outside its range", i);
		}
		mg_world_start(&w);
	}
	close(pfd[1]);   /* every read() returns 0 */
	for (int i = 0; i < N; i++)
		pthread_join(wk[i].th, NULL);
	note("cap %u after %d threads", w.cap, N + 1);
	mg_world_free(&w);
}

/* The program's SIGUSR1/SIGUSR2 handlers keep working across stops. */
static int usr_count[2];
static pid_t usr_tid[2];

static void on_usr(int sig, siginfo_t *si, void *ctx)
{
	int i = sig == SIGUSR2;
	usr_tid[i] = tid();
	__atomic_add_fetch(&usr_count[i], 1, __ATOMIC_RELEASE);
}

static void case_sigusr(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	struct worker wk[2];
	start_worker(&wk[0], SPIN_STACK);
	start_worker(&wk[1], SLEEPER);
	struct mg_world w = { 0 };
	int sent[2] = { 0, 0 };
	for (int i = 0; i < 200; i++) {
		int which = i % 2, sig = which ? SIGUSR2 : SIGUSR1;
		struct worker *to = &wk[i % 4 < 2 ? 0 : 1];
		stop_ok(&w);
		int before = __atomic_load_n(&usr_count[which], __ATOMIC_ACQUIRE);
		if (i % 10 == 0) {
			/* sent while stopped: pending until the start */
			check(pthread_kill(to->th, sig) == 0, "pthread_kill");
			sent[which]++;
			sleep_ms(2);
			check(__atomic_load_n(&usr_count[which], __ATOMIC_ACQUIRE) == before,
			      "a stopped thread ran the program's handler");
			mg_world_start(&w);
		} else {
			mg_world_start(&w);
			check(pthread_kill(to->th, sig) == 0, "pthread_kill");
			sent[which]++;
		}
		int64_t until = now_ns() + 2000000000;
		while (__atomic_load_n(&usr_count[which], __ATOMIC_ACQUIRE) == before && now_ns() < until)
			sched_yield();
		check(__atomic_load_n(&usr_count[which], __ATOMIC_ACQUIRE) == before + 1,
		      "signal %d #%d: handler ran %d times", sig, sent[which],
		      __atomic_load_n(&usr_count[which], __ATOMIC_ACQUIRE) - before);
		check(usr_tid[which] == to->tid, "signal %d ran on thread %d, sent to %d", sig,
		      (int)usr_tid[which], (int)to->tid);
	}
	/* A stray stop signal from outside (kill -39) is ignored. */
	kill(getpid(), (int)mg_opt.stop_signal);
	sleep_ms(10);
	stop_ok(&w);
	mg_world_start(&w);
	for (int k = 0; k < 2; k++) {
		__atomic_store_n(&wk[k].quit, 1, __ATOMIC_RELEASE);
		pthread_join(wk[k].th, NULL);
	}
	note("SIGUSR1 %d/%d and SIGUSR2 %d/%d delivered, once each, on the right thread",
	     usr_count[0], sent[0], usr_count[1], sent[1]);
	mg_world_free(&w);
}

/* fork() while another thread stops and starts the world: each child can
 * stop its own. */
static int fork_quit;
static unsigned long fork_stops;

static void *fork_stopper(void *arg)
{
	struct mg_world w = { 0 };
	while (!__atomic_load_n(&fork_quit, __ATOMIC_ACQUIRE)) {
		if (mg_world_stop(&w) == 0) {
			__atomic_add_fetch(&fork_stops, 1, __ATOMIC_RELAXED);
			mg_world_start(&w);
		}
	}
	mg_world_free(&w);
	return NULL;
}

static void case_fork(void)
{
	pthread_t st;
	struct worker wk;
	start_worker(&wk, MALLOCER);
	check(pthread_create(&st, NULL, fork_stopper, NULL) == 0, "pthread_create");
	int children = 0;
	for (int i = 0; i < 40; i++) {
		pid_t p = fork();
		check(p >= 0, "fork");
		if (p == 0) {
			alarm(10);
			struct worker cw[2];
			start_worker(&cw[0], SPIN_STACK);
			start_worker(&cw[1], SLEEPER);
			struct mg_world w = { 0 };
			if (mg_world_stop(&w) != 0 || w.n != 3 || mg_world_check(&w) != 0 ||
			    !find(&w, cw[0].tid) || !find(&w, cw[1].tid))
				_exit(3);
			unsigned long c = count_of(&cw[0]);
			sleep_ms(5);
			if (count_of(&cw[0]) != c)
				_exit(4);
			mg_world_start(&w);
			for (int k = 0; k < 2; k++) {
				__atomic_store_n(&cw[k].quit, 1, __ATOMIC_RELEASE);
				pthread_join(cw[k].th, NULL);
			}
			_exit(0);
		}
		int status = 0;
		int64_t until = now_ns() + 8000000000;
		pid_t r;
		while ((r = waitpid(p, &status, WNOHANG)) == 0 && now_ns() < until)
			sleep_ms(5);
		if (r == 0) {
			/* Hung: show where, before its alarm kills it. */
			char cmd[128];
			snprintf(cmd, sizeof cmd, "gdb -q -batch -p %d -ex 'thread apply all bt 12' 2>&1 | "
				 "grep -E '^(#|Thread)'", (int)p);
			note("child %d (pid %d) hung:", i, (int)p);
			if (system(cmd) == -1)
				note("(no gdb)");
			r = waitpid(p, &status, 0);
		}
		check(r == p, "waitpid");
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %#x", i, status);
		children++;
	}
	__atomic_store_n(&fork_quit, 1, __ATOMIC_RELEASE);
	pthread_join(st, NULL);
	__atomic_store_n(&wk.quit, 1, __ATOMIC_RELEASE);
	pthread_join(wk.th, NULL);
	note("%d children each stopped their own world; the parent's stopper stopped it %lu times "
	     "meanwhile", children, fork_stops);
	check(fork_stops > 0, "the parent's stopper never stopped the world");
}

/* A thread that blocks the stop signal: -1 after the timeout, one clear
 * line, everything resumed, the caller's mask restored; however many
 * attempts and stops, one stop signal waits in its queue, not more; once
 * it unblocks, stops work again. */
static int blocker_phase, blocker_queued = -1;

static void *blocker(void *arg)
{
	struct worker *wk = arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, (int)mg_opt.stop_signal);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	volatile uintptr_t local;
	ready(wk, &local);
	while (__atomic_load_n(&blocker_phase, __ATOMIC_ACQUIRE) == 0)
		__atomic_add_fetch(&wk->count, 1, __ATOMIC_RELAXED);
	/* How many stop signals are queued here (real-time: each one is) */
	struct timespec zero = { 0, 0 };
	int queued = 0;
	while (sigtimedwait(&s, NULL, &zero) == (int)mg_opt.stop_signal)
		queued++;
	__atomic_store_n(&blocker_queued, queued, __ATOMIC_RELEASE);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	while (!quitting(wk))
		__atomic_add_fetch(&wk->count, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void case_blocked_signal(void)
{
	struct worker spin, b;
	start_worker(&spin, SPIN_STACK);
	memset(&b, 0, sizeof b);
	check(pthread_create(&b.th, NULL, blocker, &b) == 0, "pthread_create");
	while (!__atomic_load_n(&b.ready, __ATOMIC_ACQUIRE))
		sched_yield();
	sigset_t m0, m1;
	sigemptyset(&m0);
	sigemptyset(&m1);
	pthread_sigmask(SIG_SETMASK, NULL, &m0);
	struct mg_world w = { .timeout_ms = 200 };
	stderr_begin();
	int64_t t0 = now_ns();
	int r = mg_world_stop(&w);
	double ms = (double)(now_ns() - t0) / 1e6;
	const char *err = stderr_end();
	char want[128];
	snprintf(want, sizeof want, "thread %d blocks the signal", (int)b.tid);
	check(r == -1, "stop returned %d with a thread blocking the signal", r);
	check(ms >= 190 && ms < 1500, "gave up after %.0f ms, timeout 200", ms);
	check(strstr(err, want) && strstr(err, "every thread resumed") &&
	      strchr(err, '\n') == err + strlen(err) - 1, "message: '%s'", err);
	note("after %.0f ms: %.*s", ms, (int)strlen(err) - 1, err);
	pthread_sigmask(SIG_SETMASK, NULL, &m1);
	for (int sig = 1; sig < 65; sig++)
		check(sigismember(&m0, sig) == sigismember(&m1, sig),
		      "the caller's mask was not restored: signal %d %s", sig,
		      sigismember(&m1, sig) ? "now blocked" : "now unblocked");
	unsigned long c = count_of(&spin);
	sleep_ms(20);
	check(count_of(&spin) > c, "the other threads were not resumed");
	stderr_begin();
	r = mg_world_stop(&w);   /* a second stop: no second signal queued */
	err = stderr_end();
	check(r == -1 && strstr(err, want), "second stop: %d, '%s'", r, err);
	/* Unblock: it counts what was queued, then runs on. */
	__atomic_store_n(&blocker_phase, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&blocker_queued, __ATOMIC_ACQUIRE) < 0)
		sleep_ms(1);
	check(blocker_queued == 1, "%d stop signals were queued on the blocking thread, not 1",
	      blocker_queued);
	note("two failed stops left %d signal queued on it", blocker_queued);
	sleep_ms(20);
	c = count_of(&b);
	sleep_ms(20);
	check(count_of(&b) > c, "the blocker did not run on after unblocking");
	stop_ok(&w);
	check(find(&w, b.tid) && find(&w, spin.tid), "not both listed");
	mg_world_start(&w);
	__atomic_store_n(&spin.quit, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&b.quit, 1, __ATOMIC_RELEASE);
	pthread_join(spin.th, NULL);
	pthread_join(b.th, NULL);
	mg_world_free(&w);
}

/* A thread that blocks the stop signal while it waits for a lock that a
 * stopped thread holds (as glibc's exiting threads wait for the stack cache
 * lock): the stop backs off, lets them run, and succeeds at a later
 * attempt instead of timing out. */
static pthread_mutex_t bo_m = PTHREAD_MUTEX_INITIALIZER;
static int bo_holds, bo_waiting, bo_quit;
static int64_t bo_released;
static pid_t bo_tid[2];

static void *bo_holder(void *arg)
{
	bo_tid[0] = tid();
	pthread_mutex_lock(&bo_m);
	__atomic_store_n(&bo_holds, 1, __ATOMIC_RELEASE);
	/* Keep the lock until stopped once (a gap in time), at most 5 s. */
	int64_t t0 = now_ns(), last = t0;
	for (;;) {
		int64_t t = now_ns();
		if (t - last > 2000000 || t - t0 > 5000000000)
			break;
		last = t;
	}
	__atomic_store_n(&bo_released, now_ns(), __ATOMIC_RELEASE);
	pthread_mutex_unlock(&bo_m);
	while (!__atomic_load_n(&bo_quit, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	return NULL;
}

static void *bo_waiter(void *arg)
{
	bo_tid[1] = tid();
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, (int)mg_opt.stop_signal);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	__atomic_store_n(&bo_waiting, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&bo_m);          /* signal blocked, lock held by a stopped thread */
	pthread_mutex_unlock(&bo_m);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	while (!__atomic_load_n(&bo_quit, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	return NULL;
}

static void case_back_off(void)
{
	/* A preemption of the holder before the stop spoils a round (the
	 * lock is free by then): repeat until a round is the real thing. */
	for (int round = 1;; round++) {
		bo_holds = bo_waiting = bo_quit = 0;
		bo_released = 0;
		pthread_t a, b;
		check(pthread_create(&a, NULL, bo_holder, NULL) == 0, "pthread_create");
		while (!__atomic_load_n(&bo_holds, __ATOMIC_ACQUIRE))
			sched_yield();
		check(pthread_create(&b, NULL, bo_waiter, NULL) == 0, "pthread_create");
		while (!__atomic_load_n(&bo_waiting, __ATOMIC_ACQUIRE))
			sched_yield();
		sleep_ms(1);   /* b is in pthread_mutex_lock */
		struct mg_world w = { 0 };
		int64_t t0 = now_ns();
		stop_ok(&w);
		double ms = (double)(now_ns() - t0) / 1e6;
		bool real = __atomic_load_n(&bo_released, __ATOMIC_ACQUIRE) > t0;
		check(find(&w, bo_tid[0]) && find(&w, bo_tid[1]), "both threads stopped");
		/* 2: the first attempt backs off; more when the holder did not get
		 * a CPU during a pause (they double: 1, 2, 4 ms ...) */
		if (real)
			check(w.attempts >= 2 && w.attempts <= 8, "%u attempts", w.attempts);
		unsigned attempts = w.attempts;
		mg_world_start(&w);
		__atomic_store_n(&bo_quit, 1, __ATOMIC_RELEASE);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
		mg_world_free(&w);
		if (real) {
			note("round %d: stopped at attempt %u after %.1f ms (the waiter blocked the "
			     "signal behind a stopped thread's lock)", round, attempts, ms);
			return;
		}
		/* a loaded machine (make -j2 check beside other jobs) preempts
		 * for more than 2 ms often: a spoilt round costs some 100 ms */
		check(round < 40, "40 rounds spoilt by preemption before the stop");
	}
}

/* The program's own handler on stop_signal: refused, named; another
 * stop_signal works. */
static void on_39(int sig)
{
}

static void case_signal_in_use(void)
{
	struct worker wk;
	start_worker(&wk, SPIN_STACK);
	int sig = (int)mg_opt.stop_signal;
	struct mg_world w = { 0 };
	stop_ok(&w);   /* installs memgc's handler */
	mg_world_start(&w);
	signal(sig, on_39);   /* the program takes it over */
	stderr_begin();
	int r = mg_world_stop(&w);
	const char *err = stderr_end();
	check(r == -1 && strstr(err, "has a handler of the program's") && strstr(err, "stop_signal"),
	      "stop with the program's handler on %d: %d, '%s'", sig, r, err);
	note("%.*s", (int)strlen(err) - 1, err);
	mg_opt.stop_signal = sig + 2;
	stop_ok(&w);
	check(find(&w, wk.tid) != NULL, "worker not listed with stop_signal=%d", sig + 2);
	mg_world_start(&w);
	struct sigaction cur;
	sigaction(sig, NULL, &cur);
	check(cur.sa_handler == on_39, "the program's handler on %d was replaced", sig);
	__atomic_store_n(&wk.quit, 1, __ATOMIC_RELEASE);
	pthread_join(wk.th, NULL);
	mg_world_free(&w);
}

/* A zombie main thread (it called pthread_exit) is left out, not waited
 * for until the timeout. */
static void *zombie_worker(void *arg)
{
	struct worker *others = arg;
	sleep_ms(50);   /* main has exited by now */
	struct mg_world w = { .timeout_ms = 1500 };
	int64_t t0 = now_ns();
	int r = mg_world_stop(&w);
	int64_t ns = now_ns() - t0;
	int ok = r == 0 && w.n == 2 && w.exited == 1 && mg_world_check(&w) == 0 &&
		 find(&w, others->tid) && !find(&w, getpid());
	if (r == 0)
		mg_world_start(&w);
	printf("# zombie main thread: stop %s in %.1f ms, n=%u exited=%u\n", ok ? "ok" : "WRONG",
	       (double)ns / 1e6, w.n, w.exited);
	fflush(stdout);
	_exit(ok && ns < 500000000 ? 0 : 1);
}

static void case_zombie_main(void)
{
	pid_t p = fork();
	if (p == 0) {
		static struct worker other;
		start_worker(&other, SLEEPER);
		pthread_t t;
		pthread_create(&t, NULL, zombie_worker, &other);
		pthread_exit(NULL);
	}
	int status = 0;
	check(waitpid(p, &status, 0) == p && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "status %#x", status);
}

/* A thread inside a SA_ONSTACK handler is flagged and bounded by its
 * alternate stack. */
static int alt_in, alt_out;
static char *alt_mem;
#define ALT_SIZE (64 * 1024)

static void on_alt(int sig)
{
	__atomic_store_n(&alt_in, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&alt_out, __ATOMIC_ACQUIRE))
		;
}

static void *alt_thread(void *arg)
{
	struct worker *wk = arg;
	stack_t ss = { .ss_sp = alt_mem, .ss_size = ALT_SIZE };
	sigaltstack(&ss, NULL);
	volatile uintptr_t local;
	ready(wk, &local);
	while (!quitting(wk))
		sched_yield();
	return NULL;
}

static void case_altstack(void)
{
	/* Guard pages on both sides: a bare mapping may merge with its
	 * neighbours, and "the mapping that holds sp" would be larger. */
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, ALT_SIZE + 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(m != MAP_FAILED, "mmap");
	alt_mem = m + pg;
	check(mprotect(alt_mem, ALT_SIZE, PROT_READ | PROT_WRITE) == 0, "mprotect");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alt;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	struct worker wk;
	memset(&wk, 0, sizeof wk);
	check(pthread_create(&wk.th, NULL, alt_thread, &wk) == 0, "pthread_create");
	while (!__atomic_load_n(&wk.ready, __ATOMIC_ACQUIRE))
		sched_yield();
	pthread_kill(wk.th, SIGUSR1);
	while (!__atomic_load_n(&alt_in, __ATOMIC_ACQUIRE))
		sched_yield();
	struct mg_world w = { 0 };
	stop_ok(&w);
	const struct mg_world_thread *t = find(&w, wk.tid);
	check(t && (t->flags & MG_WORLD_ALTSTACK), "not flagged ALTSTACK");
	check(t->sp > (uintptr_t)alt_mem && t->lo >= (uintptr_t)alt_mem &&
	      t->hi == (uintptr_t)alt_mem + ALT_SIZE, "range [%#lx, %#lx) vs altstack [%p, +64K)",
	      (unsigned long)t->lo, (unsigned long)t->hi, (void *)alt_mem);
	mg_world_start(&w);
	__atomic_store_n(&alt_out, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&wk.quit, 1, __ATOMIC_RELEASE);
	pthread_join(wk.th, NULL);
	mg_world_free(&w);
}

/* mg_world_run: stopped inside dl_iterate_phdr while another thread
 * dlopens and dlcloses; fn's value comes back. */
static int dl_quit;
static unsigned long dl_rounds;

static void *dl_looper(void *arg)
{
	static const char *const libs[] = { "libz.so.1", "libbz2.so.1.0", "liblzma.so.5", "libanl.so.1" };
	for (unsigned i = 0; !__atomic_load_n(&dl_quit, __ATOMIC_ACQUIRE); i++) {
		void *h = dlopen(libs[i % 4], RTLD_NOW | RTLD_LOCAL);
		if (h)
			dlclose(h);
		__atomic_add_fetch(&dl_rounds, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int in_stopped_world(struct mg_world *w, void *arg)
{
	(*(int *)arg)++;
	return mg_world_check(w) == 0 && w->n == 3 ? 7 : 0;
}

static void case_run(void)
{
	pthread_t t;
	struct worker wk;
	start_worker(&wk, SLEEPER);
	check(pthread_create(&t, NULL, dl_looper, NULL) == 0, "pthread_create");
	struct mg_world w = { 0 };
	int calls = 0;
	for (int i = 0; i < 200; i++) {
		int r = mg_world_run(&w, in_stopped_world, &calls);
		check(r == 7, "mg_world_run returned %d at %d", r, i);
	}
	check(calls == 200, "fn called %d times", calls);
	__atomic_store_n(&dl_quit, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	__atomic_store_n(&wk.quit, 1, __ATOMIC_RELEASE);
	pthread_join(wk.th, NULL);
	note("200 runs while another thread did %lu dlopen/dlclose", dl_rounds);
	mg_world_free(&w);
}

/* mg_world_run against a thread that, like libunwind, blocks every signal
 * around dl_iterate_phdr, and works 50 us with them open between two: when
 * it waits for the loader's lock that the stopper holds it cannot take the
 * stop signal, so the stopper must let the lock go between attempts.
 * Every run stops it, well within the timeout. */
static int masked_quit;
static unsigned long masked_rounds;

static int masked_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)info; (void)size; (void)arg;
	return 1;
}

static void *masked_looper(void *arg)
{
	(void)arg;
	sigset_t all, old;
	sigfillset(&all);
	while (!__atomic_load_n(&masked_quit, __ATOMIC_ACQUIRE)) {
		pthread_sigmask(SIG_SETMASK, &all, &old);
		dl_iterate_phdr(masked_cb, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		__atomic_add_fetch(&masked_rounds, 1, __ATOMIC_RELAXED);
		/* the rest of an unwind, signals open */
		for (int64_t t = now_ns(); now_ns() - t < 50000;)
			;
	}
	return NULL;
}

static int count_run(struct mg_world *w, void *arg)
{
	(void)w;
	(*(int *)arg)++;
	return 0;
}

static void case_run_masked(void)
{
	pthread_t t;
	check(pthread_create(&t, NULL, masked_looper, NULL) == 0, "pthread_create");
	struct mg_world w = { .timeout_ms = 1000 };
	int calls = 0, failed = 0;
	int64_t t0 = now_ns(), longest = 0;
	for (int i = 0; i < 100; i++) {
		int64_t a = now_ns();
		failed += mg_world_run(&w, count_run, &calls) != 0;
		if (now_ns() - a > longest)
			longest = now_ns() - a;
	}
	__atomic_store_n(&masked_quit, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	check(failed == 0 && calls == 100, "%d of 100 runs failed", failed);
	check(w.timeout_ms == 1000, "timeout_ms changed to %u", w.timeout_ms);
	note("100 runs in %.0f ms (longest %.1f ms) while a thread did %lu dl_iterate_phdr "
	     "with every signal blocked", (double)(now_ns() - t0) / 1e6, (double)longest / 1e6,
	     masked_rounds);
	mg_world_free(&w);
}

/* A few stops, for the runs under strace, gdb and the preload. */
static void case_basic(void)
{
	struct worker wk[4];
	start_worker(&wk[0], SPIN_REG);
	start_worker(&wk[1], SPIN_XMM);
	start_worker(&wk[2], SLEEPER);
	start_worker(&wk[3], MALLOCER);
	struct mg_world w = { 0 };
	for (int i = 0; i < 20; i++) {
		stop_ok(&w);
		check(w.n == 5, "n = %u", w.n);
		const struct mg_world_thread *t = find(&w, wk[0].tid);
		check(t && t->regs[REG_R13] == MAGIC_R13, "r13");
		t = find(&w, wk[1].tid);
		uint64_t x8;
		memcpy(&x8, t->fpu + 160 + 8 * 16, 8);
		check(x8 == MAGIC_XMM, "xmm8");
		unsigned long c = count_of(&wk[3]);
		sleep_ms(2);
		check(count_of(&wk[3]) == c, "malloc loop ran while stopped");
		mg_world_start(&w);
		sleep_ms(1);
	}
	for (int k = 0; k < 4; k++) {
		__atomic_store_n(&wk[k].quit, 1, __ATOMIC_RELEASE);
		pthread_join(wk[k].th, NULL);
	}
	mg_world_free(&w);
}

/* Runs this program's case argv[...] under what; fails unless it exits 0. */
static void run_self_under(const char *what, char *const argv[])
{
	int64_t t0 = now_ns();
	pid_t p = fork();
	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	int status;
	waitpid(p, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "under %s: status %#x", what, status);
	note("under %s: ok, %.1f s", what, (double)(now_ns() - t0) / 1e9);
}

static void case_tracers(void)
{
	char *strace[] = { "strace", "-f", "-qq", "-o", "/dev/null", (char *)self_path, "basic", NULL };
	char *gdb[] = { "gdb", "-q", "-batch", "-nx", "-return-child-result", "-ex",
			"handle SIG39 nostop noprint pass", "-ex", "run", "--args",
			(char *)self_path, "basic", NULL };
	if (access("/usr/bin/strace", X_OK) == 0)
		run_self_under("strace -f (case basic)", strace);
	else
		note("no strace: skipped");
	if (access("/usr/bin/gdb", X_OK) == 0)
		run_self_under("gdb, handle SIG39 nostop noprint pass (case basic)", gdb);
	else
		note("no gdb: skipped");
	const char *lib = getenv("MEMGC_LIB");
	if (lib && access(lib, R_OK) == 0) {
		setenv("LD_PRELOAD", lib, 1);
		/* these cases count threads: no collector thread of memgc's */
		setenv("MEMGC_OPTIONS", "gc=0", 1);
		char *pre[] = { (char *)self_path, "blocked_ways", NULL };
		run_self_under("LD_PRELOAD=libmemgc.so (case blocked_ways: stopped inside memgc's malloc)", pre);
		char *pre2[] = { (char *)self_path, "churn", NULL };
		run_self_under("LD_PRELOAD=libmemgc.so (case churn)", pre2);
		unsetenv("LD_PRELOAD");
		unsetenv("MEMGC_OPTIONS");
	} else {
		note("MEMGC_LIB not set: the runs under the preload skipped");
	}
}

/* The pause: stop + start, median of 100, for 2, 8 and 64 threads, idle
 * (in pthread_cond_wait) and busy (spinning). */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int pause_quit;
static pthread_mutex_t pause_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_c = PTHREAD_COND_INITIALIZER;

static void *pause_idle(void *arg)
{
	pthread_mutex_lock(&pause_m);
	while (!pause_quit)
		pthread_cond_wait(&pause_c, &pause_m);
	pthread_mutex_unlock(&pause_m);
	return NULL;
}

static void *pause_busy(void *arg)
{
	while (!__atomic_load_n(&pause_quit, __ATOMIC_ACQUIRE))
		__atomic_add_fetch((unsigned long *)arg, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void pause_of(int busy, int rounds)
{
	static const int ns[] = { 2, 8, 64 };
	static pthread_t th[64];
	static unsigned long ctr[64];
	struct mg_world w = { 0 };
	for (unsigned c = 0; c < 3; c++) {
		int n = ns[c];
		pause_quit = 0;
		for (int i = 0; i < n; i++)
			pthread_create(&th[i], NULL, busy ? pause_busy : pause_idle, &ctr[i]);
		sleep_ms(20);
		int64_t t[100];
		for (int i = 0; i < rounds; i++) {
			sleep_ms(2);   /* past the 1 ms between stops: the pause alone */
			int64_t t0 = now_ns();
			check(mg_world_stop(&w) == 0, "stop");
			mg_world_start(&w);
			t[i] = now_ns() - t0;
			check(w.n == (unsigned)n + 1, "n = %u", w.n);
		}
		qsort(t, (size_t)rounds, sizeof t[0], cmp_i64);
		note("pause, %2d %s threads: median %8.1f us, p90 %8.1f us, max %8.1f us (%d stops)",
		     n, busy ? "busy (spinning)" : "idle (cond_wait)", (double)t[rounds / 2] / 1e3,
		     (double)t[rounds * 9 / 10] / 1e3, (double)t[rounds - 1] / 1e3, rounds);
		pthread_mutex_lock(&pause_m);
		__atomic_store_n(&pause_quit, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&pause_c);
		pthread_mutex_unlock(&pause_m);
		for (int i = 0; i < n; i++)
			pthread_join(th[i], NULL);
	}
	mg_world_free(&w);
}

static void case_pause(void)
{
	pause_of(0, 100);
}

/* Not in the default run: with more spinning threads than CPUs, a stop
 * waits for the scheduler to run each of them once. */
static void case_pause_busy(void)
{
	pause_of(1, 20);
}

/* ---- the driver ---- */

static const struct {
	const char *name;
	void (*fn)(void);
	int on_demand;             /* only when named */
} cases[] = {
	{ "blocked_ways", case_blocked_ways, 0 },
	{ "maps_text", case_maps_text, 0 },
	{ "self_regs", case_self_regs, 0 },
	{ "churn", case_churn, 0 },
	{ "grow", case_grow, 0 },
	{ "sigusr", case_sigusr, 0 },
	{ "fork", case_fork, 0 },
	{ "blocked_signal", case_blocked_signal, 0 },
	{ "back_off", case_back_off, 0 },
	{ "signal_in_use", case_signal_in_use, 0 },
	{ "zombie_main", case_zombie_main, 0 },
	{ "altstack", case_altstack, 0 },
	{ "run", case_run, 0 },
	{ "run_masked", case_run_masked, 0 },
	{ "basic", case_basic, 0 },
	{ "tracers", case_tracers, 0 },
	{ "pause", case_pause, 0 },
	{ "pause_busy", case_pause_busy, 1 },
};
#define NCASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
	self_path = argv[0];
	setvbuf(stdout, NULL, _IOLBF, 0);
	mg_options_defaults();
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	have_avx = (c & bit_AVX) && (c & bit_OSXSAVE);
	const char *only = NULL;      /* -c CASE: that case alone, forked as below */
	if (argc > 2 && !strcmp(argv[1], "-c"))
		only = argv[2];
	else if (argc > 1) {
		for (size_t i = 0; i < NCASES; i++)
			if (!strcmp(argv[1], cases[i].name)) {
				cases[i].fn();
				return 0;
			}
		fprintf(stderr, "test_world: no case %s\n", argv[1]);
		return 2;
	}
	int failed = 0;
	for (size_t i = 0; i < NCASES; i++) {
		if (only ? strcmp(only, cases[i].name) != 0 : cases[i].on_demand)
			continue;
		int64_t t0 = now_ns();
		pid_t p = fork();
		if (p == 0) {
			alarm(60);
			cases[i].fn();
			fflush(stdout);
			_exit(0);
		}
		int status;
		waitpid(p, &status, 0);
		double s = (double)(now_ns() - t0) / 1e9;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok %zu - %s (%.2f s)\n", i + 1, cases[i].name, s);
		} else {
			failed++;
			if (WIFSIGNALED(status))
				printf("not ok %zu - %s: killed by signal %d%s (%.2f s)\n", i + 1,
				       cases[i].name, WTERMSIG(status),
				       WTERMSIG(status) == SIGALRM ? " (hung: alarm)" : "", s);
			else
				printf("not ok %zu - %s (%.2f s)\n", i + 1, cases[i].name, s);
		}
	}
	printf("%s: %d failed\n", argv[0], failed);
	return failed ? 1 : 0;
}
