/* log.c: memgc's own messages, and a buffered writer for reports.
 *
 * Both format into fixed buffers with vsnprintf and write(2): they never
 * call malloc, so they work inside the allocator, in a forked child and at
 * exit.  A message is one write(2) of one line, so lines of concurrent
 * threads never interleave.  errno is preserved.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* Writes all n bytes; a socket by send(MSG_NOSIGNAL), so that a peer gone
 * away is an error here and not a SIGPIPE to the program. */
static void write_all(int fd, bool sock, const char *p, size_t n, int *failed)
{
	while (n > 0) {
		ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (failed)
				*failed = 1;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* On memgc's threads, whose descriptor table is their own (os.c), the
 * program's standard error is a copy of its 2 (pidfd_getfd, Linux 5.6:
 * the same open file, so the same offset), made for each message. */
static MG_TLS bool own_table;

void mg_log_own_table(void)
{
	own_table = true;
}

int mg_log_stderr(void)
{
	if (!own_table)
		return STDERR_FILENO;
	int e = errno;
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0u);
	int fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, STDERR_FILENO, 0u);
	if (pidfd >= 0)
		close(pidfd);
	errno = e;
	return fd;
}

void mg_log_stderr_done(int fd)
{
	if (fd >= 0 && fd != STDERR_FILENO) {
		int e = errno;
		close(fd);
		errno = e;
	}
}

void mg_log(const char *fmt, ...)
{
	int e = errno;
	char line[1024] = "memgc: ";
	size_t pre = strlen(line);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + pre, sizeof line - pre - 1, fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? pre : pre + (size_t)n;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	int fd = mg_log_stderr();
	if (fd >= 0)
		write_all(fd, false, line, len, NULL);
	mg_log_stderr_done(fd);
	errno = e;
}

void mg_out_init(struct mg_out *o, int fd)
{
	o->fd = fd;
	o->failed = 0;
	o->sock = false;
	o->len = 0;
}

void mg_out_init_socket(struct mg_out *o, int fd)
{
	mg_out_init(o, fd);
	o->sock = true;
}

int mg_out_flush(struct mg_out *o)
{
	if (o->len) {
		write_all(o->fd, o->sock, o->buf, o->len, &o->failed);
		o->len = 0;
	}
	return o->failed ? -1 : 0;
}

static void out_put(struct mg_out *o, const char *s, size_t n)
{
	while (n > 0) {
		if (o->len == sizeof o->buf)
			mg_out_flush(o);
		size_t k = sizeof o->buf - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

void mg_out_printf(struct mg_out *o, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	out_put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void mg_out_json_str(struct mg_out *o, const char *s)
{
	out_put(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			out_put(o, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			out_put(o, esc, 6);
		} else {
			out_put(o, (const char *)&c, 1);
		}
	}
	out_put(o, "\"", 1);
}

const char *mg_log_size(uint64_t b, char *buf, size_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%llu B", (unsigned long long)b);
	else
		snprintf(buf, n, "%.1f %s", v, unit[u]);
	return buf;
}
