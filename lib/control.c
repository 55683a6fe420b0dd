/* control.c: the control socket and the collect signal, served by memgc's
 * control thread.
 *
 * Owns the control thread, the listening socket <dir>/<pid>.sock, the
 * directory it lives in, and the handler of option collect_signal.  The
 * thread starts at start-up when option control or collect_signal asks for
 * it (mg_control_start), and again in every forked child, for the child's
 * own pid (mg_control_fork_child); mg_control_exit removes the socket.
 *
 * The protocol: versioned JSON lines.  Each request line (request.c parses
 * it) gets one reply line, {"memgc": 1, "ok": true, "cmd": C, "pid": P, ...}
 * or {"memgc": 1, "ok": false, "error": "..."}.  A connection may carry any
 * number of requests; it is closed at EOF, after IO_TIMEOUT_MS of silence,
 * or after a request longer than MG_REQUEST_MAX.  One connection is served
 * at a time.  man/memgc.1 documents every command and reply key.
 *
 * Who may connect: the directory is ours and mode 0700 (checked on every
 * (re)creation: owner, mode, not a symbolic link), and SO_PEERCRED of each
 * connection must be our effective uid or root; anyone else gets a one-line
 * refusal and one line on stderr.
 *
 * Invariants:
 *   - only the control thread touches the sockets and the directory; the
 *     signal handler, fork's child handler and exit read ctl.tid, ctl.pid
 *     and set ctl.collect_pending / ctl.exiting, with atomics.
 *   - the thread works in a descriptor table of its own (mg_os_own_table,
 *     design.md "Descriptors"): the program's descriptors are not in it,
 *     and what it makes (the socket, connections, /proc reads) never takes
 *     a number the program is about to fill.  It makes the first socket
 *     there while whoever started it waits (ctl.ready), so the socket is
 *     there before the program runs on.  Where unshare is refused the
 *     thread shares the program's table; then:
 *   - ctl.fd is our listening socket only while fstat(ctl.fd) gives
 *     (ctl.dev, ctl.ino): a program that closes every descriptor may have
 *     closed it and given the number to a file of its own, which we then
 *     never touch again; we make a new socket a tick later.  Connections
 *     are read and written with recv/send only, which a file that took the
 *     number refuses (ENOTSOCK).
 *   - our descriptors sit at FD_MIN or above when the limit allows: a
 *     program that closes everything expects open() to give it 0, 1 and 2.
 *   - <dir>/<pid>.sock appears by rename(), so while a socket is replaced
 *     the path names the old one or the new one, never nothing.
 *   - the thread never calls malloc: stack buffers, mg_out, getdents64.
 *     Its signal mask blocks everything but stop_signal and the faults;
 *     collect_signal is let in only inside ppoll, so a signal that arrives
 *     while a request is served waits for the next ppoll, never lost.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define TICK_MS 500             /* how often the thread checks its socket is still there */
#define IO_TIMEOUT_MS 10000     /* a connection silent this long is closed */
#define FD_MIN 100              /* our descriptors go at or above this */
#define SUN_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

static struct {
	char dir[SUN_PATH_MAX];       /* chosen by mg_control_start, kept across fork */
	char path[SUN_PATH_MAX];      /* dir/<pid>.sock */
	bool serve;                   /* control=1 and dir is usable */
	bool started;
	int fd;                       /* listening socket, or -1 */
	dev_t dev;                    /* fstat(fd) identity */
	ino_t ino;
	ino_t path_ino;               /* lstat(path)'s inode after our rename, or 0 */
	int conn;                     /* the connection being served, or -1 */
	dev_t conn_dev;
	ino_t conn_ino;
	pid_t pid;                    /* the process the thread serves */
	pid_t tid;                    /* the control thread, 0 until it runs */
	int collect_pending;          /* set by collect_signal's handler */
	int exiting;                  /* set at exit: make no more sockets */
	uint32_t ready;                 /* futex word: the thread made its first socket */
} ctl = { .fd = -1, .conn = -1 };

/* ---- descriptors the program may close under us ---- */

static bool fd_is(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static void fd_identity(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;
	if (fstat(fd, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
}

/* Moves fd to the lowest free number at or above FD_MIN (close-on-exec);
 * fd itself when the limit leaves no room or the move fails. */
static int move_high(int fd)
{
	struct rlimit rl;
	if (fd < 0 || fd >= FD_MIN || getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < 2 * FD_MIN)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, FD_MIN);
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

/* ---- the directory and the socket ---- */

/* Makes dir (mode 0700) unless it exists, then checks it is a directory of
 * ours with mode 0700 and not a symbolic link.  0, or -1 with why in err. */
static int dir_ready(const char *dir, char *err, size_t n)
{
	struct stat st;
	if (mkdir(dir, 0700) == 0) {
		if (chmod(dir, 0700))   /* the umask may have taken bits away */
			return snprintf(err, n, "cannot chmod %s: %s", dir, strerror(errno)), -1;
	} else if (errno != EEXIST) {
		return snprintf(err, n, "cannot create %s: %s", dir, strerror(errno)), -1;
	}
	if (lstat(dir, &st))
		return snprintf(err, n, "cannot stat %s: %s", dir, strerror(errno)), -1;
	if (S_ISLNK(st.st_mode))
		return snprintf(err, n, "%s is a symbolic link; it must be a directory", dir), -1;
	if (!S_ISDIR(st.st_mode))
		return snprintf(err, n, "%s is not a directory", dir), -1;
	if (st.st_uid != geteuid())
		return snprintf(err, n, "%s belongs to uid %u, not to this process's uid %u", dir,
				(unsigned)st.st_uid, (unsigned)geteuid()), -1;
	if ((st.st_mode & 07777) != 0700)
		return snprintf(err, n, "%s has mode %04o; it must be 0700", dir,
				(unsigned)(st.st_mode & 07777)), -1;
	return 0;
}

/* path = dir/<pid>.sock; -1 when it does not fit. */
static int sock_addr_path(char *path, size_t n, const char *dir, pid_t pid)
{
	int k = snprintf(path, n, "%s/%d.sock", dir, (int)pid);
	return k > 0 && (size_t)k < n ? 0 : -1;
}

/* sun for dir/name; -1 when it does not fit. */
static int sock_addr(struct sockaddr_un *sun, const char *dir, const char *name)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	int k = snprintf(sun->sun_path, sizeof sun->sun_path, "%s/%s", dir, name);
	return k > 0 && (size_t)k < sizeof sun->sun_path ? 0 : -1;
}

/* A socket file nobody listens on: its connect is refused. */
static bool nobody_listens(const char *dir, const char *name)
{
	struct sockaddr_un sun;
	if (sock_addr(&sun, dir, name))
		return false;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return false;
	bool refused = connect(s, (struct sockaddr *)&sun, sizeof sun) && errno == ECONNREFUSED;
	close(s);
	return refused;
}

struct dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Removes the leftovers of dead processes: <pid>.sock that nobody listens
 * on, and <pid>.tmp, where no process pid exists (another pid namespace
 * sharing the directory keeps a live socket: its connect is not refused). */
static void remove_stale(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	char buf[4096] __attribute__((aligned(8)));
	long n;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			const struct dirent64 *d = (const void *)(buf + off);
			off += d->d_reclen;
			char *end;
			long pid = strtol(d->d_name, &end, 10);
			bool sock = !strcmp(end, ".sock"), tmp = !strcmp(end, ".tmp");
			if (end == d->d_name || d->d_name[0] < '1' || d->d_name[0] > '9' ||
			    (!sock && !tmp) || pid <= 0 || pid > 0x7fffffffL || pid == ctl.pid)
				continue;
			if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
				continue;
			if (tmp || nobody_listens(dir, d->d_name))
				unlinkat(dfd, d->d_name, 0);
		}
	}
	close(dfd);
}

/* Makes the listening socket at ctl.path (bound as <pid>.tmp, listening,
 * then renamed over the path).  0, or -1 with why in err. */
static int make_socket(char *err, size_t n)
{
	char name[32];
	struct sockaddr_un sun;
	struct stat st;
	if (dir_ready(ctl.dir, err, n))
		return -1;
	remove_stale(ctl.dir);
	snprintf(name, sizeof name, "%d.tmp", (int)ctl.pid);
	if (sock_addr(&sun, ctl.dir, name))
		return snprintf(err, n, "%s: the socket path would be too long", ctl.dir), -1;
	int fd = move_high(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (fd < 0)
		return snprintf(err, n, "cannot make a socket: %s", strerror(errno)), -1;
	unlink(sun.sun_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) || listen(fd, 16) ||
	    rename(sun.sun_path, ctl.path)) {
		snprintf(err, n, "cannot listen on %s: %s", ctl.path, strerror(errno));
		unlink(sun.sun_path);
		close(fd);
		return -1;
	}
	fd_identity(fd, &ctl.dev, &ctl.ino);
	__atomic_store_n(&ctl.path_ino, lstat(ctl.path, &st) == 0 ? st.st_ino : 0, __ATOMIC_RELEASE);
	ctl.fd = fd;
	return 0;
}

/* ---- replies ---- */

static void reply_head(struct mg_out *o, const struct mg_request *r)
{
	mg_out_printf(o, "{\"memgc\": %d, \"ok\": true, \"cmd\": \"%s\", \"pid\": %d", MG_PROTOCOL,
		      mg_request_cmd_name(r->cmd), (int)getpid());
}

static void reply_error(struct mg_out *o, const char *msg)
{
	mg_out_printf(o, "{\"memgc\": %d, \"ok\": false, \"error\": ", MG_PROTOCOL);
	mg_out_json_str(o, msg);
	mg_out_printf(o, "}\n");
}

static void reply_stats(struct mg_out *o, const struct mg_request *r)
{
	struct memgc_heap_stats st;
	long count[3], threshold[3];
	char exe[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	mg_stats_read(&st);
	mg_stats_counts(count);
	mg_stats_thresholds(threshold);
	reply_head(o, r);
	mg_out_printf(o, ", \"version\": \"%s\", \"exe\": ", PACKAGE_VERSION);
	mg_out_json_str(o, exe);
	mg_out_printf(o, ", ");
	mg_report_heap_json(o, &st, -1, count, threshold, ", ");
	mg_out_printf(o, ", ");
	mg_report_collector_json(o);
	mg_out_printf(o, ", \"fragmentation_bytes\": %llu, \"write_watch\": ",
		      (unsigned long long)(st.rss_bytes > st.live_bytes ? st.rss_bytes - st.live_bytes : 0));
	mg_out_json_str(o, mg_young_why());
	mg_out_printf(o, "}\n");
}

/* What collect (and collect_signal) did. */
struct collected {
	int generation;
	int collect_error;            /* 0, or errno from mg_collect */
	struct mg_collect_result r;
	uint64_t rss_before, rss_after;
	uint64_t trim_ns, total_ns;
	int trim_error;               /* 0 or an errno value */
};

/* Collects generations 0..gen (this thread is not a root), then gives
 * every arena's free pages back. */
static void collect(int gen, struct collected *c)
{
	memset(c, 0, sizeof *c);
	c->generation = gen;
	c->rss_before = mg_os_rss();
	uint64_t t0 = mg_os_now_ns();
	if (mg_collect(gen, false, &c->r))
		c->collect_error = errno;
	/* a generation-2 collection has trimmed already (collect.c) */
	if (gen < 2 || c->collect_error)
		c->trim_error = mg_heap_trim(NULL);
	uint64_t t1 = mg_os_now_ns();
	c->rss_after = mg_os_rss();
	c->trim_ns = t1 - t0;
	c->total_ns = t1 - t0;
}

static void reply_collect(struct mg_out *o, const struct mg_request *r)
{
	struct collected c;
	collect(r->generation, &c);
	if (c.trim_error || (r->cmd == MG_REQ_COLLECT && c.collect_error)) {
		char msg[128];
		snprintf(msg, sizeof msg, "%s failed: %s", c.collect_error ? "collect" : "trim",
			 strerror(c.collect_error ? c.collect_error : c.trim_error));
		reply_error(o, msg);
		return;
	}
	reply_head(o, r);
	if (r->cmd == MG_REQ_COLLECT)
		mg_out_printf(o, ", \"generation\": %d, \"found_objects\": %llu, \"found_bytes\": %llu, "
			      "\"freed_objects\": %llu, \"freed_bytes\": %llu, \"pause_ns\": %llu, "
			      "\"scanned_bytes\": %llu", c.generation,
			      (unsigned long long)c.r.found_objects, (unsigned long long)c.r.found_bytes,
			      (unsigned long long)c.r.freed_objects, (unsigned long long)c.r.freed_bytes,
			      (unsigned long long)c.r.pause_ns, (unsigned long long)c.r.scanned_bytes);
	mg_out_printf(o, ", \"rss_before\": %llu, \"rss_after\": %llu, \"trim_ns\": %llu, "
		      "\"total_ns\": %llu}\n", (unsigned long long)c.rss_before,
		      (unsigned long long)c.rss_after, (unsigned long long)c.trim_ns,
		      (unsigned long long)c.total_ns);
}

static void reply_report(struct mg_out *o, const struct mg_request *r)
{
	char path[4096], msg[4200];
	if (mg_report_path(r->path, path, sizeof path)) {
		reply_error(o, "path: too long once %p is expanded");
		return;
	}
	if (mg_report_json_path(r->path)) {
		snprintf(msg, sizeof msg, "cannot write the report to %s: %s", path, strerror(errno));
		reply_error(o, msg);
		return;
	}
	reply_head(o, r);
	mg_out_printf(o, ", \"path\": ");
	mg_out_json_str(o, path);
	mg_out_printf(o, "}\n");
}

/* One request line: one reply line. */
static void handle(struct mg_out *o, const char *line, size_t n)
{
	struct mg_request r;
	char err[256];
	if (mg_request_parse(line, n, &r, err, sizeof err)) {
		reply_error(o, err);
		return;
	}
	switch (r.cmd) {
	case MG_REQ_STATS: reply_stats(o, &r); break;
	case MG_REQ_COLLECT:
	case MG_REQ_TRIM: reply_collect(o, &r); break;
	case MG_REQ_REPORT: reply_report(o, &r); break;
	}
}

/* ---- connections ---- */

/* Reads what the peer has sent already, so that our close is an EOF to it
 * and not a reset that may overtake our last reply. */
static void drain(int c)
{
	char junk[1024];
	for (int i = 0; i < 64 && recv(c, junk, sizeof junk, MSG_DONTWAIT) > 0; i++)
		;
}

static bool peer_allowed(int c, struct mg_out *o)
{
	struct ucred cr = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof cr;
	char msg[256];
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
	    (cr.uid == geteuid() || cr.uid == 0))
		return true;
	snprintf(msg, sizeof msg, "permission denied: uid %d may not control process %d, "
		 "only uid %u and root may", (int)cr.uid, (int)getpid(), (unsigned)geteuid());
	mg_out_printf(o, "{\"memgc\": %d, \"ok\": false, \"refused\": true, \"error\": ", MG_PROTOCOL);
	mg_out_json_str(o, msg);
	mg_out_printf(o, "}\n");
	mg_out_flush(o);
	drain(c);
	mg_log("control: refused a connection from uid %d (pid %d) on %s: only uid %u and root "
	       "may control this process", (int)cr.uid, (int)cr.pid, ctl.path, (unsigned)geteuid());
	return false;
}

static void serve(int c)
{
	char buf[MG_REQUEST_MAX + 1];
	size_t have = 0;
	struct mg_out o;
	struct timeval tv = { IO_TIMEOUT_MS / 1000, 0 };
	mg_out_init_socket(&o, c);
	if (!peer_allowed(c, &o))
		return;
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	for (;;) {
		char *nl;
		while ((nl = memchr(buf, '\n', have))) {
			handle(&o, buf, (size_t)(nl - buf));
			if (mg_out_flush(&o))
				return;
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
		if (have == sizeof buf) {
			char msg[96];
			snprintf(msg, sizeof msg, "request longer than %d bytes: closing the connection",
				 MG_REQUEST_MAX);
			reply_error(&o, msg);
			mg_out_flush(&o);
			drain(c);
			return;
		}
		ssize_t k = recv(c, buf + have, sizeof buf - have, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		have += (size_t)k;
	}
	/* a last request with no newline before EOF still gets its reply */
	size_t i = 0;
	while (i < have && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'))
		i++;
	if (i < have) {
		handle(&o, buf, have);
		mg_out_flush(&o);
	}
}

static void accept_one(void)
{
	if (!fd_is(ctl.fd, ctl.dev, ctl.ino))
		return;
	int c = accept4(ctl.fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;   /* EAGAIN: the peer left already; EINTR; EMFILE: next time */
	c = move_high(c);
	fd_identity(c, &ctl.conn_dev, &ctl.conn_ino);
	__atomic_store_n(&ctl.conn, c, __ATOMIC_RELEASE);
	serve(c);
	__atomic_store_n(&ctl.conn, -1, __ATOMIC_RELEASE);
	close(c);
}

/* ---- collect_signal ---- */

static void signal_collect(void)
{
	struct collected c;
	char a[32], b[32];
	collect(2, &c);
	if (c.collect_error || c.trim_error)
		mg_log("collect_signal: %s failed: %s", c.collect_error ? "collect" : "trim",
		       strerror(c.collect_error ? c.collect_error : c.trim_error));
	else
		mg_log("collect_signal: %llu unreachable objects found, %llu freed; RSS %s -> %s in %.3f ms",
		       (unsigned long long)c.r.found_objects, (unsigned long long)c.r.freed_objects,
		       mg_log_size(c.rss_before, a, sizeof a), mg_log_size(c.rss_after, b, sizeof b),
		       (double)c.total_ns / 1e6);
}

/* Runs on whichever thread takes the signal: only posts to the control
 * thread (and wakes it from its ppoll). */
static void on_collect_signal(int sig)
{
	int e = errno;
	__atomic_store_n(&ctl.collect_pending, 1, __ATOMIC_RELEASE);
	pid_t tid = __atomic_load_n(&ctl.tid, __ATOMIC_ACQUIRE);
	pid_t pid = getpid();
	if (tid > 0 && __atomic_load_n(&ctl.pid, __ATOMIC_ACQUIRE) == pid && tid != mg_os_tid())
		syscall(SYS_tgkill, pid, tid, sig);
	errno = e;
}

/* A signal collect_signal may be: one a process can catch, that no fault
 * or glibc or memgc itself uses.  NULL, or why not. */
static const char *signal_unfit(long sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP: return "it cannot be caught";
	case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE: case SIGSEGV:
		return "it reports a fault";
	default: break;
	}
	if (sig < 1 || sig > 64)
		return "it is not a signal";
	if (sig > 31 && sig < SIGRTMIN)
		return "glibc keeps it for itself";
	if (sig == mg_opt.stop_signal)
		return "it is stop_signal";
	return NULL;
}

/* The socket, made by the thread before the program runs on (before
 * main, or before fork returns in the child: start_thread waits for it).
 * When this fails the thread says why and tries again every tick. */
static void make_first_socket(void)
{
	char err[512];
	if (ctl.serve && make_socket(err, sizeof err))
		ctl.fd = -1;
}

/* ---- the thread ---- */

static void *control_main(void *arg)
{
	(void)arg;
	mg_collect_own_thread();         /* this thread's stack is not a root */
	sigset_t run, wait;
	char err[512];
	bool told = false;
	int lost = 0;   /* ticks since our socket was found gone */
	prctl(PR_SET_NAME, "memgc-control", 0, 0, 0);
	mg_os_own_table();
	make_first_socket();
	__atomic_store_n(&ctl.ready, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &ctl.ready, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	sigfillset(&run);
	sigdelset(&run, (int)mg_opt.stop_signal);
	sigdelset(&run, SIGSEGV);
	sigdelset(&run, SIGBUS);
	sigdelset(&run, SIGILL);
	sigdelset(&run, SIGFPE);
	pthread_sigmask(SIG_SETMASK, &run, NULL);
	wait = run;
	if (mg_opt.collect_signal)
		sigdelset(&wait, (int)mg_opt.collect_signal);
	__atomic_store_n(&ctl.tid, mg_os_tid(), __ATOMIC_RELEASE);

	for (;;) {
		if (__atomic_exchange_n(&ctl.collect_pending, 0, __ATOMIC_ACQ_REL))
			signal_collect();
		bool exiting = __atomic_load_n(&ctl.exiting, __ATOMIC_ACQUIRE);
		if (ctl.serve && ctl.fd >= 0 && !fd_is(ctl.fd, ctl.dev, ctl.ino)) {
			ctl.fd = -1;   /* closed by the program, maybe reused: not ours to close */
			lost = 1;
		}
		/* a lost socket is made again one tick later, once the program
		 * that closed it has had time to open the descriptors it wants */
		if (ctl.serve && ctl.fd < 0 && !exiting && (lost == 0 || lost++ >= 2)) {
			if (make_socket(err, sizeof err) == 0) {
				lost = 0;
				told = false;
			} else if (!told) {
				mg_log("control: %s; no control socket for now (tried again every %d ms)",
				       err, TICK_MS);
				told = true;
				lost = 1;
			}
		}
		struct pollfd p = { ctl.fd, POLLIN, 0 };
		struct timespec tick = { TICK_MS / 1000, (TICK_MS % 1000) * 1000000L };
		int r = ppoll(&p, ctl.fd >= 0 ? 1 : 0, ctl.serve ? &tick : NULL, &wait);
		if (r > 0 && (p.revents & POLLIN))
			accept_one();
	}
	return NULL;
}

static void start_thread(void)
{
	pthread_t t;
	pthread_attr_t a;
	sigset_t all, old;
	sigfillset(&all);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);   /* the thread starts with all blocked */
	__atomic_store_n(&ctl.ready, 0, __ATOMIC_RELEASE);
	int e = pthread_create(&t, &a, control_main, NULL);
	if (!e)
		mg_collect_thread_created(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (e) {
		mg_log("control: cannot start the control thread: %s", strerror(e));
		return;
	}
	/* its first socket, before the program runs on (2 s at most) */
	for (int i = 0; i < 20 && !__atomic_load_n(&ctl.ready, __ATOMIC_ACQUIRE); i++) {
		struct timespec ts = { 0, 100000000L };
		syscall(SYS_futex, &ctl.ready, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	}
}

/* Where the sockets go: control_dir, else $XDG_RUNTIME_DIR/memgc when
 * that can be made ours, else /tmp/memgc-<uid>.  0, or -1 with why. */
static int choose_dir(char *err, size_t n)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	const size_t room = SUN_PATH_MAX - sizeof "/4294967295.sock";
	int k;
	if (mg_opt.control_dir[0]) {
		if (mg_opt.control_dir[0] != '/')
			return snprintf(err, n, "control_dir=%s: must be an absolute path",
					mg_opt.control_dir), -1;
		k = snprintf(ctl.dir, sizeof ctl.dir, "%s", mg_opt.control_dir);
		if (k < 0 || (size_t)k > room)
			return snprintf(err, n, "control_dir=%s: longer than %zu bytes, too long for "
					"a socket path", mg_opt.control_dir, room), -1;
		return 0;
	}
	if (xdg && xdg[0] == '/') {
		k = snprintf(ctl.dir, sizeof ctl.dir, "%s/memgc", xdg);
		if (k > 0 && (size_t)k <= room && dir_ready(ctl.dir, err, n) == 0)
			return 0;
	}
	snprintf(ctl.dir, sizeof ctl.dir, "/tmp/memgc-%u", (unsigned)geteuid());
	return 0;
}


/* ctl.path for ctl.pid (choose_dir left room for it). */
static void set_path(void)
{
	if (sock_addr_path(ctl.path, sizeof ctl.path, ctl.dir, ctl.pid))
		ctl.serve = false;
}

void mg_control_start(void)
{
	char err[512];
	if (ctl.started || (!mg_opt.control && !mg_opt.collect_signal))
		return;
	ctl.started = true;
	ctl.pid = getpid();
	if (mg_opt.collect_signal) {
		const char *why = signal_unfit(mg_opt.collect_signal);
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_collect_signal;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (why)
			mg_log("collect_signal=%ld: %s; accepted: 0 (none) or a signal a program may "
			       "catch, such as %d (SIGUSR1) or %d (SIGUSR2); no collect signal",
			       mg_opt.collect_signal, why, SIGUSR1, SIGUSR2);
		else if (sigaction((int)mg_opt.collect_signal, &sa, NULL))
			mg_log("collect_signal=%ld: %s; no collect signal", mg_opt.collect_signal,
			       strerror(errno));
		if (why)
			mg_opt.collect_signal = 0;
	}
	if (mg_opt.control) {
		if (choose_dir(err, sizeof err))
			mg_log("control: %s; no control socket", err);
		else
			ctl.serve = true;
	}
	if (!ctl.serve && !mg_opt.collect_signal)
		return;
	set_path();
	start_thread();
}

void mg_control_fork_child(void)
{
	if (!ctl.started || (!ctl.serve && !mg_opt.collect_signal))
		return;
	/* the parent's descriptors, inherited where its control thread shared
	 * the program's table: close the child's copies while the numbers
	 * still hold them (in a table of its own, fd_is finds them not here) */
	if (fd_is(ctl.fd, ctl.dev, ctl.ino))
		close(ctl.fd);
	int c = __atomic_load_n(&ctl.conn, __ATOMIC_ACQUIRE);
	if (fd_is(c, ctl.conn_dev, ctl.conn_ino))
		close(c);
	ctl.fd = ctl.conn = -1;
	ctl.path_ino = 0;
	ctl.tid = 0;
	ctl.collect_pending = 0;
	ctl.pid = getpid();
	set_path();
	start_thread();
}

void mg_control_exit(void)
{
	struct stat st;
	if (!ctl.serve || ctl.pid != getpid())
		return;
	__atomic_store_n(&ctl.exiting, 1, __ATOMIC_RELEASE);
	ino_t ino = __atomic_load_n(&ctl.path_ino, __ATOMIC_ACQUIRE);
	if (ino && lstat(ctl.path, &st) == 0 && st.st_ino == ino)
		unlink(ctl.path);
}
