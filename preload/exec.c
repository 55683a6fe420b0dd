/* exec.c: the exec family, so that a collection never kills the program a
 * thread execs.
 *
 * A stop signal queued to a thread on its way into execve(2) survives the
 * exec, and the new program dies of it (world.h, mg_world_exec_begin).
 * Every entry point that reaches execve is wrapped: glibc's execv, execvp,
 * execl... call execve inside libc, past any interposition, so each is
 * taken here and turned into execve or execvpe of the next definition.
 * posix_spawn, system and popen exec in a child process, which no stop
 * signal is sent to: they need nothing.  errno is what execve sets.
 */
#include "config.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>

#include "preload.h"
#include "world.h"

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);

static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* Before the call: no stop from here to the exec. */
static bool begin(void)
{
	bool on = mg_preload_ready();
	if (on)
		mg_world_exec_begin();
	return on;
}

/* After a call that returned, which means it failed: stops may start. */
static int end(bool on, int r)
{
	int e = errno;
	if (on)
		mg_world_exec_end();
	errno = e;
	return r;
}

MG_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	execve_fn f = (execve_fn)next("execve");
	bool on = begin();
	return end(on, f(path, argv, envp));
}

MG_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	execve_fn f = (execve_fn)next("execvpe");
	bool on = begin();
	return end(on, f(file, argv, envp));
}

MG_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	fexecve_fn f = (fexecve_fn)next("fexecve");
	bool on = begin();
	return end(on, f(fd, argv, envp));
}

MG_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags)
{
	execveat_fn f = (execveat_fn)next("execveat");
	bool on = begin();
	return end(on, f(dirfd, path, argv, envp, flags));
}

MG_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

MG_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

/* The execl forms: the arguments into an array on the stack. */
static int count_args(const char *arg0, va_list ap)
{
	int n = 1;
	if (arg0)
		while (va_arg(ap, const char *))
			n++;
	return n;
}

static void list_args(char **argv, const char *arg0, int n, va_list *ap)
{
	argv[0] = (char *)arg0;
	for (int i = 1; i < n; i++)
		argv[i] = va_arg(*ap, char *);
	argv[n] = NULL;
}

MG_EXPORT int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int n = count_args(arg0, ap);
	va_end(ap);
	char *argv[n + 1];
	va_start(ap, arg0);
	list_args(argv, arg0, n, &ap);
	va_end(ap);
	return execve(path, argv, environ);
}

MG_EXPORT int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int n = count_args(arg0, ap);
	va_end(ap);
	char *argv[n + 1];
	va_start(ap, arg0);
	list_args(argv, arg0, n, &ap);
	va_end(ap);
	return execvpe(file, argv, environ);
}

MG_EXPORT int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int n = count_args(arg0, ap);
	va_end(ap);
	char *argv[n + 1];
	va_start(ap, arg0);
	list_args(argv, arg0, n, &ap);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}
