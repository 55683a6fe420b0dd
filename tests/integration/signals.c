/* signals.c: a program that uses SIGUSR1, SIGUSR2 and real-time signals
 * itself, for signals.sh.
 *
 * It lists the signal dispositions and mask it starts with (memgc must
 * have taken none), takes SIGUSR1 in a handler while it allocates, hands
 * SIGUSR2 to a thread that waits for it with sigwait, queues real-time
 * signals with values, ignores SIGUSR2, and lets children die of SIGUSR1
 * and SIGUSR2.  Every line it prints is the same with and without memgc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1_count;
static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

static void starting_state(void)
{
	sigset_t mask;
	sigprocmask(SIG_BLOCK, NULL, &mask);
	char set[1024] = "", blocked[1024] = "";
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP || (s > SIGSYS && s < SIGRTMIN))
			continue;
		struct sigaction sa;
		if (sigaction(s, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
			snprintf(set + strlen(set), sizeof set - strlen(set), " %d%s", s,
				 sa.sa_handler == SIG_IGN ? "(ignored)" : "(handled)");
		if (sigismember(&mask, s) == 1)
			snprintf(blocked + strlen(blocked), sizeof blocked - strlen(blocked), " %d", s);
	}
	printf("not default at start:%s\n", set[0] ? set : " none");
	printf("blocked at start:%s\n", blocked[0] ? blocked : " none");
}

/* SIGUSR1 raised between allocations: delivered at once, every time. */
static void handler_while_allocating(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	void *keep[100] = { 0 };
	unsigned long sum = 0;
	for (int i = 0; i < 100000; i++) {
		int j = i % 100;
		free(keep[j]);
		keep[j] = malloc((size_t)(i % 700) + 1);
		memset(keep[j], i & 0xff, (size_t)(i % 700) + 1);
		sum += ((unsigned char *)keep[j])[0];
		if (i % 100 == 0)
			raise(SIGUSR1);
	}
	for (int j = 0; j < 100; j++)
		free(keep[j]);
	printf("SIGUSR1 raised 1000 times while allocating: handled %d, sum %lu\n", (int)usr1_count, sum);
}

/* SIGUSR1 from another thread, as fast as it can, while main allocates:
 * the counts vary, the data must not. */
static volatile int storm_stop;
static void *storm(void *arg)
{
	pthread_t target = *(pthread_t *)arg;
	while (!storm_stop) {
		pthread_kill(target, SIGUSR1);
		usleep(50);
	}
	return NULL;
}

static void storm_while_allocating(void)
{
	pthread_t self = pthread_self(), t;
	usr1_count = 0;
	pthread_create(&t, NULL, storm, &self);
	int bad = 0;
	/* until 200 signals have come, and at least 20 rounds */
	for (int round = 0; round < 20 || usr1_count < 200; round++) {
		char *v[500];
		for (int i = 0; i < 500; i++) {
			v[i] = malloc((size_t)i * 7 + 1);
			memset(v[i], i & 0xff, (size_t)i * 7 + 1);
		}
		for (int i = 0; i < 500; i++) {
			if ((unsigned char)v[i][i * 7] != (i & 0xff))
				bad++;
			v[i] = realloc(v[i], (size_t)i * 3 + 1);
			if ((unsigned char)v[i][i * 3] != (i & 0xff))
				bad++;
			free(v[i]);
		}
	}
	storm_stop = 1;
	pthread_join(t, NULL);
	printf("SIGUSR1 from another thread while allocating: 200 or more handled, damaged %d\n",
	       bad);
}

/* SIGUSR2 to a thread that waits for it; a semaphore paces the sender so
 * that none coalesce. */
static sem_t got;
static void *waiter(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	int n = 0;
	while (n < 200) {
		int sig;
		if (sigwait(&s, &sig) == 0 && sig == SIGUSR2) {
			n++;
			char *p = malloc(64);   /* an ordinary thread: it may allocate */
			free(p);
			sem_post(&got);
		}
	}
	return (void *)(intptr_t)n;
}

static void sigwait_thread(void)
{
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, &old);   /* the thread inherits it */
	sem_init(&got, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	for (int i = 0; i < 200; i++) {
		pthread_kill(t, SIGUSR2);
		while (sem_wait(&got) && errno == EINTR)
			;
	}
	void *n;
	pthread_join(t, &n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	printf("SIGUSR2 by sigwait in a thread: %d of 200\n", (int)(intptr_t)n);
}

/* Real-time signals queue, with their values, in order. */
static void realtime(void)
{
	int sigs[] = { SIGRTMIN, SIGRTMIN + 1, SIGRTMAX };
	sigset_t s, old;
	sigemptyset(&s);
	for (int k = 0; k < 3; k++)
		sigaddset(&s, sigs[k]);
	sigprocmask(SIG_BLOCK, &s, &old);
	for (int i = 1; i <= 30; i++) {
		union sigval v = { .sival_int = i * 11 };
		if (sigqueue(getpid(), sigs[i % 3], v))
			printf("sigqueue: %s\n", strerror(errno));
	}
	char order[512] = "";
	for (int i = 0; i < 30; i++) {
		siginfo_t si;
		int sig = sigwaitinfo(&s, &si);
		snprintf(order + strlen(order), sizeof order - strlen(order), " %s%d:%d",
			 sig == SIGRTMAX ? "MAX" : "MIN+", sig == SIGRTMAX ? 0 : sig - SIGRTMIN,
			 si.si_value.sival_int);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("real-time signals in order:%s\n", order);
}

static void ignored_and_default(void)
{
	signal(SIGUSR2, SIG_IGN);
	raise(SIGUSR2);
	printf("SIGUSR2 ignored: still here\n");
	signal(SIGUSR2, SIG_DFL);
	fflush(stdout);

	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGUSR1, SIG_DFL);
		char *p = malloc(100);
		free(p);
		raise(SIGUSR1);
		_exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("child raising SIGUSR1: %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exited",
	       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));

	int fds[2];
	if (pipe(fds))
		return;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		void *p = malloc(1000);
		if (write(fds[1], "r", 1) != 1)
			_exit(3);
		for (;;) {
			free(p);
			p = malloc(1000);
			pause();
		}
	}
	close(fds[1]);
	char c;
	if (read(fds[0], &c, 1) != 1)
		printf("child not ready\n");
	kill(pid, SIGUSR2);
	waitpid(pid, &st, 0);
	close(fds[0]);
	printf("child killed with SIGUSR2: %s %d\n", WIFSIGNALED(st) ? "killed by signal" : "exited",
	       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

int main(void)
{
	starting_state();
	handler_while_allocating();
	storm_while_allocating();
	sigwait_thread();
	realtime();
	ignored_and_default();
	fflush(stdout);
	/* and die of our own SIGUSR1 at the end: the status tells */
	signal(SIGUSR1, SIG_DFL);
	raise(SIGUSR1);
	return 0;
}
