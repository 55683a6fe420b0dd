/* roots.c: one object held by one kind of root only; a collection must
 * find it reachable (and, in mode=reclaim, leave it alone), while a control
 * object dropped the same way is found unreachable.
 *
 *   roots KIND     KIND: global dlopen thread tls dlopen_tls mmap registered
 *                  interior old kernel epoll altstack
 * Prints "ok ..." or "FAIL ..." lines; exit status 0 when all passed.
 * Pointers the test itself keeps are stored XORed (hide), so that only the
 * root under test holds the object.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memgc.h"

/* Built without libmemgc.so, as any program: the preload provides these. */
#pragma weak memgc_collect
#pragma weak memgc_disable
#pragma weak memgc_is_live
#pragma weak memgc_register_root
#pragma weak memgc_unregister_root

#define MAGIC 0x5eed5eed5eed5eedull
#define SIZE 96

static uintptr_t hide(void *p) { return (uintptr_t)p ^ 0xa5a5a5a5a5a5a5a5ull; }
static void *unhide(uintptr_t h) { return (void *)(h ^ 0xa5a5a5a5a5a5a5a5ull); }

static int failures;

static void check(const char *what, int ok, long found, void *obj)
{
	printf("%s %s (found %ld, live %d)\n", ok ? "ok" : "FAIL", what, found, memgc_is_live(obj));
	if (!ok)
		failures++;
}

/* A new object filled with MAGIC, returned hidden. */
static __attribute__((noinline)) uintptr_t make(void)
{
	uint64_t *o = malloc(SIZE);
	for (size_t i = 0; i < SIZE / 8; i++)
		o[i] = MAGIC;
	return hide(o);
}

static int intact(void *p)
{
	if (!memgc_is_live(p))
		return 0;
	const uint64_t *o = p;
	for (size_t i = 0; i < SIZE / 8; i++)
		if (o[i] != MAGIC)
			return 0;
	return 1;
}

/* Overwrites the dead part of the stack, where the test's own temporaries were. */
static __attribute__((noinline)) void scrub(void)
{
	volatile char junk[16384];
	memset((char *)junk, 0, sizeof junk);
}

/* Unreachable objects a full collection finds again: in mode=account the
 * ones found before stay, and are found again. */
static long base;

static long want(long fresh)
{
	return (getenv("RECLAIM") ? 0 : base) + fresh;
}

/* Collects generation 0, then all; the object at held must survive both,
 * the control must be found by the first (everything older than the test's
 * objects is of generation 2: the young collection reads older memory
 * through the write watch where it can) and, in mode=account, found again
 * by the second. */
static void verdict(const char *what, uintptr_t held, uintptr_t control)
{
	int reclaim = getenv("RECLAIM") != NULL;
	scrub();
	long y = memgc_collect(0);
	int ok = y == (control ? 1 : 0) && intact(unhide(held));
	if (control)
		ok = ok && memgc_is_live(unhide(control)) == !reclaim;
	check(what, ok, y, unhide(held));
	long n = memgc_collect(2);
	ok = n == want(control && !reclaim ? 1 : 0) && intact(unhide(held));
	if (control)
		ok = ok && memgc_is_live(unhide(control)) == !reclaim;
	check(what, ok, n, unhide(held));
}

void *volatile global_slot;     /* not static: the stores must stay */

static void *lib(void)
{
	void *h = dlopen(getenv("ROOTLIB"), RTLD_NOW);
	if (!h) {
		printf("FAIL dlopen: %s\n", dlerror());
		exit(1);
	}
	return h;
}

/* Writes the object at hidden address h into the pipe: after this, only
 * the pipe holds its address. */
static __attribute__((noinline)) void to_pipe(int fd, uintptr_t h)
{
	void *volatile o = unhide(h);
	write(fd, (const void *)&o, sizeof o);
	o = NULL;
}

/* ---- a blocked thread's stack ---- */
static int ready[2], go[2];
static uintptr_t thread_obj;
static void *blocked(void *arg)
{
	(void)arg;
	volatile uintptr_t o = (uintptr_t)unhide(make());   /* on this stack only */
	thread_obj = hide((void *)o);
	char c;
	write(ready[1], "r", 1);
	read(go[0], &c, 1);            /* blocked until the main thread is done */
	o = 0;
	return NULL;
}

__thread void *volatile tls_slot;

/* ---- the main thread's stack, while it runs a handler on its sigaltstack:
 * another thread collects meanwhile ---- */
static int alt_go[2], alt_done[2];
static volatile long alt_found;
static void *alt_collector(void *arg)
{
	char c;
	read(alt_go[0], &c, 1);
	alt_found = memgc_collect(2);
	write(alt_done[1], "d", 1);
	return arg;
}

static void on_alt_signal(int sig)
{
	char c;
	(void)sig;
	write(alt_go[1], "g", 1);
	read(alt_done[0], &c, 1);      /* stopped in here, on the signal stack */
}

static void altstack(uintptr_t control)
{
	stack_t ss = { .ss_size = 65536 };
	ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alt_signal;
	sa.sa_flags = SA_ONSTACK;
	pthread_t t;
	if (ss.ss_sp == MAP_FAILED || sigaltstack(&ss, NULL) || sigaction(SIGUSR1, &sa, NULL) ||
	    pipe(alt_go) || pipe(alt_done) || pthread_create(&t, NULL, alt_collector, NULL)) {
		printf("FAIL altstack: set-up\n");
		exit(1);
	}
	volatile uintptr_t on_stack = (uintptr_t)unhide(make());   /* on this stack only */
	scrub();
	raise(SIGUSR1);
	pthread_join(t, NULL);
	void *held = (void *)on_stack;
	int ok = alt_found == want(1) && intact(held) &&
		 memgc_is_live(unhide(control)) == (getenv("RECLAIM") ? 0 : 1);
	check("an object held by the main thread's stack, the thread on its sigaltstack", ok,
	      alt_found, held);
}

int main(int argc, char **argv)
{
	if (argc != 2 || !memgc_collect) {
		fprintf(stderr, "usage: roots KIND (under libmemgc.so)\n");
		return 2;
	}
	const char *kind = argv[1];
	memgc_disable();                /* only the collections asked for */
	base = memgc_collect(2);        /* start-up's own unreachable objects */
	uintptr_t control = make();     /* dropped: unreachable */
	uintptr_t held;
	if (!strcmp(kind, "global")) {
		held = make();
		global_slot = unhide(held);
		verdict("an object held by a global", held, control);
	} else if (!strcmp(kind, "dlopen")) {
		void (*set)(void *) = (void (*)(void *))dlsym(lib(), "rootlib_set");
		held = make();
		set(unhide(held));
		verdict("an object held by a dlopen'd library's global", held, control);
	} else if (!strcmp(kind, "thread")) {
		pthread_t t;
		char c;
		pipe(ready);
		pipe(go);
		pthread_create(&t, NULL, blocked, NULL);
		read(ready[0], &c, 1);     /* the thread holds it now, and blocks */
		verdict("an object held by a blocked thread's stack", thread_obj, control);
		write(go[1], "x", 1);
		pthread_join(t, NULL);
	} else if (!strcmp(kind, "tls")) {
		held = make();
		tls_slot = unhide(held);
		verdict("an object held by static TLS (main thread)", held, control);
	} else if (!strcmp(kind, "dlopen_tls")) {
		void *h = lib();
		void (*set)(void *) = (void (*)(void *))dlsym(h, "rootlib_set_tls");
		held = make();
		set(unhide(held));
		verdict("an object held by a dlopen'd library's __thread variable", held, control);
	} else if (!strcmp(kind, "mmap")) {
		void *volatile *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		held = make();
		page[100] = unhide(held);
		verdict("an object held by an anonymous mmap", held, control);
	} else if (!strcmp(kind, "registered")) {
		/* a shared file mapping: not a root until registered */
		FILE *f = tmpfile();
		ftruncate(fileno(f), 8192);
		void *volatile *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(f), 0);
		void *volatile *other = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(f), 4096);
		other[7] = unhide(make());
		scrub();
		long n = memgc_collect(2);      /* unregistered: page[7]'s object is found */
		int ok = n == want(2);
		base += 2;                      /* in account mode they stay */
		held = make();
		page[8] = unhide(held);
		int r = memgc_register_root((void *)page, 4096);
		verdict("an object held by a registered root", held, 0);
		check("unregistered shared file mapping is not a root", ok && r == 0, n, unhide(held));
		check("register_root twice: EEXIST", memgc_register_root((void *)page, 4096) == -1 && errno == EEXIST, 0, NULL);
		check("unregister_root", memgc_unregister_root((void *)page) == 0, 0, NULL);
		check("unregister_root twice: ENOENT", memgc_unregister_root((void *)page) == -1 && errno == ENOENT, 0, NULL);
	} else if (!strcmp(kind, "interior")) {
		held = make();
		global_slot = (char *)unhide(held) + 40;
		verdict("an object held by an interior pointer", held, control);
	} else if (!strcmp(kind, "old")) {
		/* a young object held only by an old one: a generation-0 scan
		 * must take older objects as roots */
		void *volatile *old = malloc(64);
		memset((void *)old, 0, 64);
		global_slot = (void *)old;
		memgc_collect(0);              /* old is generation 1 now */
		long found_before = memgc_collect(0);
		held = make();
		old[3] = unhide(held);
		uintptr_t young_control = make();
		scrub();
		long n = memgc_collect(0);
		check("a young object held only by an older one (generation-0 scan)",
		      found_before >= 0 && n == 1 && intact(unhide(held)) &&
		      memgc_is_live(unhide(young_control)) == (getenv("RECLAIM") ? 0 : 1),
		      n, unhide(held));
		(void)control;
	} else if (!strcmp(kind, "kernel")) {
		/* a young object whose only pointer the kernel wrote, read(2)
		 * from a pipe into an old object: the write watch must count
		 * the page written though no thread of the program wrote it */
		void *volatile *old = malloc(64);
		memset((void *)old, 0, 64);
		global_slot = (void *)old;
		memgc_collect(2);              /* old is generation 2 now */
		int p[2];
		pipe(p);
		held = make();
		to_pipe(p[1], held);
		uintptr_t young_control = make();
		scrub();
		long got = read(p[0], (void *)&old[5], sizeof(void *));
		scrub();
		long n = memgc_collect(0);
		check("a young object held only by what read(2) wrote into an old one (generation 0)",
		      got == sizeof(void *) && n == 1 && intact(unhide(held)) &&
		      memgc_is_live(unhide(young_control)) == (getenv("RECLAIM") ? 0 : 1),
		      n, unhide(held));
		n = memgc_collect(1);
		check("... and by a generation-1 collection", n == (getenv("RECLAIM") ? 0 : 1) &&
		      intact(unhide(held)), n, unhide(held));
		(void)control;
	} else if (!strcmp(kind, "epoll")) {
		int ep = epoll_create1(0);
		int p[2];
		pipe(p);
		held = make();
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = unhide(held) };
		epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
		memset(&ev, 0, sizeof ev);
		verdict("an object held by an epoll registration's data", held, control);
		write(p[1], "x", 1);
		struct epoll_event got;
		int k = epoll_wait(ep, &got, 1, 1000);
		check("epoll gives the object back intact", k == 1 && intact(got.data.ptr), k, got.data.ptr);
	} else if (!strcmp(kind, "altstack")) {
		altstack(control);
	} else {
		fprintf(stderr, "roots: unknown kind %s\n", kind);
		return 2;
	}
	return failures != 0;
}
