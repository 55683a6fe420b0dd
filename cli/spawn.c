/* spawn.c: running PROG under the preload, and every process it starts.
 *
 * PROG runs with libmemgc.so added to LD_PRELOAD (after what is already
 * there, so the user's own interposers stay in front) and with
 * MEMGC_OPTIONS extended by the -o entries, timeline= and a report path
 * in a private directory, report=DIR/memgc-%p.json.  Children inherit
 * both, so every process of the run that exits normally writes its own
 * report there.  memgc is the child subreaper of the run
 * (PR_SET_CHILD_SUBREAPER): processes orphaned by their parents come back
 * to it, and it waits until the last one has exited before it gathers the
 * reports and removes the directory.
 *
 * Signals while PROG runs: SIGINT and SIGQUIT are left to PROG (the
 * terminal sends them to the whole process group; memgc ignores them, as
 * system(3) does); SIGTERM and SIGHUP sent to memgc are passed on to PROG,
 * or, once PROG has exited, to the orphans memgc waits for.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "internal.h"

static int add_option(struct mg_spawn *s, const char *opt)
{
	char why[1024];
	if (s->nopts == (int)(sizeof s->opts / sizeof s->opts[0]))
		return mg_cli_fail(s->verb, MG_EXIT_USAGE, "more than %zu -o options",
				   sizeof s->opts / sizeof s->opts[0]);
	if (mg_options_check(opt, why, sizeof why))
		return mg_cli_fail(s->verb, MG_EXIT_USAGE, "-o %s: %s", opt, why);
	for (const char *e = opt; e; e = strchr(e, ':') ? strchr(e, ':') + 1 : NULL)
		if (!strncmp(e, "report=", 7))
			return mg_cli_fail(s->verb, MG_EXIT_USAGE,
					   "-o %s: memgc %s writes the reports itself; use %s FILE to keep them",
					   opt, s->verb, strcmp(s->verb, "check") ? "--report" : "--json");
	s->opts[s->nopts++] = opt;
	return 0;
}

int mg_spawn_flag(struct mg_spawn *s, int flag, const char *arg)
{
	char *end;
	switch (flag) {
	case 'o':
		return add_option(s, arg);
	case MG_FLAG_PYTHON_MALLOC:
		s->python_malloc = true;
		return 0;
	case MG_FLAG_TIMELINE:
		errno = 0;
		s->timeline = strtol(arg, &end, 10);
		if (errno || end == arg || *end || s->timeline < 1 || s->timeline > 60000)
			return mg_cli_fail(s->verb, MG_EXIT_USAGE,
					   "--timeline '%s': expected the milliseconds between samples, from 1 to 60000",
					   arg);
		return 0;
	}
	return MG_EXIT_USAGE;
}

static volatile sig_atomic_t pending;   /* SIGTERM or SIGHUP to pass on */

static void on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGHUP)
		pending = sig;
}

/* Sends sig to child if it still runs, else to every process memgc is
 * the parent of (the orphans it adopted). */
static void pass_on(int sig, pid_t child, bool child_alive)
{
	if (child_alive) {
		kill(child, sig);
		return;
	}
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[300], buf[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		char *close_paren = strrchr(buf, ')');   /* the name may hold spaces */
		int ppid;
		char state;
		if (close_paren && sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2 &&
		    ppid == getpid())
			kill(atoi(e->d_name), sig);
	}
	if (d)
		closedir(d);
}

/* Is prog (as execvp will find it) a Python interpreter or a script run
 * by one? */
static bool is_python(const char *prog)
{
	const char *base = strrchr(prog, '/');
	if (!strncmp(base ? base + 1 : prog, "python", 6))
		return true;
	char path[PATH_MAX] = "";
	if (strchr(prog, '/')) {
		snprintf(path, sizeof path, "%s", prog);
	} else {
		const char *p = getenv("PATH");
		while (p && *p && !path[0]) {
			const char *end = strchr(p, ':');
			size_t k = end ? (size_t)(end - p) : strlen(p);
			snprintf(path, sizeof path, "%.*s/%s", (int)k, p, prog);
			if (access(path, X_OK))
				path[0] = '\0';
			p = end ? end + 1 : NULL;
		}
	}
	char line[256] = "";
	FILE *f = path[0] ? fopen(path, "re") : NULL;
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		fclose(f);
	}
	return !strncmp(line, "#!", 2) && strstr(line, "python");
}

/* LD_PRELOAD with lib added at the end, unless a libmemgc.so is in it. */
static char *preload_value(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	if (old && strstr(old, "libmemgc.so"))
		v = strdup(old);
	else if (old && *old)
		return asprintf(&v, "%s %s", old, lib) < 0 ? NULL : v;
	else
		v = strdup(lib);
	return v;
}

/* MEMGC_OPTIONS: the control socket (memgc stats/collect PID; first, so
 * that the environment or -o control=0 may turn it off), what the
 * environment had, the -o entries, the timeline, and last (so nothing
 * overrides it) the report. */
static char *options_value(const struct mg_spawn *s, const char *dir)
{
	char *v = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&v, &n);
	if (!f)
		return NULL;
	fprintf(f, "control=1:");
	const char *old = getenv("MEMGC_OPTIONS");
	if (old && *old)
		fprintf(f, "%s:", old);
	for (int i = 0; i < s->nopts; i++)
		fprintf(f, "%s:", s->opts[i]);
	if (s->timeline)
		fprintf(f, "timeline=%ld:", s->timeline);
	fprintf(f, "report=%s/memgc-%%p.json", dir);
	return fclose(f) ? NULL : v;
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[4096];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* The child's side: environment, then exec; errno down the pipe on failure. */
static void __attribute__((noreturn))
exec_prog(const struct mg_spawn *s, char *preload, char *options, int errfd)
{
	setenv("LD_PRELOAD", preload, 1);
	setenv("MEMGC_OPTIONS", options, 1);
	if (s->python_malloc)
		setenv("PYTHONMALLOC", "malloc", 1);
	execvp(s->argv[0], s->argv);
	int e = errno;
	ssize_t w = write(errfd, &e, sizeof e);
	(void)w;
	_exit(MG_EXIT_NOTFOUND);
}

int mg_spawn_run(const struct mg_spawn *s, struct mg_procs *ps, int *status)
{
	char lib[4096];
	memset(ps, 0, sizeof *ps);
	if (mg_paths_library(lib, sizeof lib))
		return mg_cli_fail(s->verb, MG_EXIT_SOFTWARE,
				   "cannot find libmemgc.so (looked at %s); set MEMGC_LIB to its path", lib);
	if (!s->python_malloc && !getenv("PYTHONMALLOC") && is_python(s->argv[0]))
		mg_cli_fail(s->verb, 0, "python allocates its small objects from its own arenas (pymalloc), "
			    "not malloc, so memgc does not see them; PYTHONMALLOC=malloc shows them "
			    "(--python-malloc sets it)");

	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/memgc-run.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	char made[PATH_MAX];
	if (!mkdtemp(dir))
		return mg_cli_fail(s->verb, MG_EXIT_SOFTWARE, "cannot make a directory for the reports (%s): %s",
				   dir, strerror(errno));
	/* absolute: the processes of the run may change directory */
	if (dir[0] != '/' && realpath(dir, made))
		snprintf(dir, sizeof dir, "%s", made);
	if (strlen(dir) + sizeof "/memgc-%p.json" > sizeof mg_opt.report) {
		rmdir(dir);
		return mg_cli_fail(s->verb, MG_EXIT_SOFTWARE,
				   "the report directory %s is too long for the report option; set TMPDIR to a shorter one",
				   dir);
	}
	char *preload = preload_value(lib), *options = options_value(s, dir);
	int pipefd[2];
	if (!preload || !options || pipe2(pipefd, O_CLOEXEC)) {
		free(preload);
		free(options);
		rmdir(dir);
		return mg_cli_fail(s->verb, MG_EXIT_SOFTWARE, "cannot start: %s", strerror(errno));
	}

	struct sigaction sa = { .sa_handler = on_signal }, old[4];
	static const int sigs[4] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP };
	sigemptyset(&sa.sa_mask);    /* no SA_RESTART: waitpid returns EINTR */
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &sa, &old[i]);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	fflush(NULL);
	pid_t child = fork();
	if (child == 0) {
		close(pipefd[0]);
		for (int i = 0; i < 4; i++)
			sigaction(sigs[i], &old[i], NULL);
		exec_prog(s, preload, options, pipefd[1]);
	}
	int err = 0;
	close(pipefd[1]);
	if (child > 0 && read(pipefd[0], &err, sizeof err) != sizeof err)
		err = 0;      /* the exec succeeded: the pipe closed with it */
	close(pipefd[0]);
	free(preload);
	free(options);

	int code = 0, st = 0;
	bool alive = child > 0;
	if (child < 0)
		code = mg_cli_fail(s->verb, MG_EXIT_SOFTWARE, "cannot fork: %s", strerror(errno));
	for (;;) {
		int w, sig = pending;
		if (sig) {     /* arrived while not waiting, or interrupted the wait */
			pending = 0;
			pass_on(sig, child, alive);
		}
		pid_t pid = waitpid(-1, &w, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;     /* ECHILD: the last process of the run is gone */
		if (pid == child) {
			alive = false;
			st = WIFSIGNALED(w) ? 128 + WTERMSIG(w) : WEXITSTATUS(w);
		}
	}
	for (int i = 0; i < 4; i++)
		sigaction(sigs[i], &old[i], NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 0);

	if (!code && err)
		code = mg_cli_fail(s->verb, err == ENOENT ? MG_EXIT_NOTFOUND : MG_EXIT_NOEXEC,
				   "cannot run %s: %s", s->argv[0], strerror(err));
	if (!code)
		code = mg_procs_gather(ps, dir, child, s->verb);
	remove_dir(dir);
	*status = st;
	return code;
}
