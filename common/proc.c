/* proc.c - child processes and pipes for drivers; see proc.h. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"

/* every pipe fd the parent holds; children close them all */
static int registered[256];
static int nregistered;

const char *ds_tool_dir(void)
{
	static char dir[PATH_MAX];
	static int done;

	if (!done) {
		ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		done = 1;
		if (n > 0) {
			dir[n] = 0;
			char *slash = strrchr(dir, '/');
			if (slash)
				slash[1] = 0;
			else
				dir[0] = 0;
		} else {
			dir[0] = 0;
		}
	}
	return dir;
}

char *ds_tool_path(const char *name)
{
	const char *dir = ds_tool_dir();
	size_t n = strlen(dir) + strlen(name) + 1;
	char *path = ds_xmalloc(n);

	snprintf(path, n, "%s%s", dir, name);
	return path;
}

void ds_proc_init(struct ds_proc *p, const char *tool)
{
	memset(p, 0, sizeof(*p));
	p->argv[p->argc++] = ds_tool_path(tool);
}

void ds_proc_arg(struct ds_proc *p, const char *arg)
{
	if (p->argc >= DS_PROC_MAX_ARGS)
		ds_bug("too many arguments for %s", p->argv[0]);
	p->argv[p->argc++] = ds_xstrdup(arg);
	p->argv[p->argc] = NULL;
}

void ds_proc_argf(struct ds_proc *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ds_proc_arg(p, buf);
}

void ds_proc_release(struct ds_proc *p)
{
	for (int i = 0; i < p->argc; i++)
		free(p->argv[i]);
	memset(p, 0, sizeof(*p));
}

int ds_pipe(int fds[2])
{
	if (pipe(fds))
		return -1;
	if (nregistered + 2 > (int)(sizeof(registered) / sizeof(registered[0])))
		ds_bug("too many pipes");
	registered[nregistered++] = fds[0];
	registered[nregistered++] = fds[1];
	return 0;
}

void ds_pipe_forget(int fd)
{
	for (int i = 0; i < nregistered; i++)
		if (registered[i] == fd) {
			registered[i] = registered[--nregistered];
			return;
		}
}

int ds_spawn(struct ds_proc *p, int in_fd, int out_fd, struct ds_error *err)
{
	const char *base = strrchr(p->argv[0], '/');
	pid_t pid;

	/* a sibling that is not there is said here, by name, and never
	 * looked for in $PATH (which may hold another version) */
	if (base && access(p->argv[0], X_OK))
		return ds_error_set(err, errno == ENOENT ? DS_EX_NOTFOUND : EX_OSERR,
				    "cannot run %s: no executable '%s' next to %s (%s)", base + 1, p->argv[0],
				    ds_progname, strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return ds_error_set(err, EX_OSERR, "cannot fork for %s: %s", p->argv[0], strerror(errno));
	if (pid == 0) {
		if (in_fd >= 0 && in_fd != 0)
			dup2(in_fd, 0);
		if (out_fd >= 0 && out_fd != 1)
			dup2(out_fd, 1);
		for (int i = 0; i < nregistered; i++)
			if (registered[i] > 2)
				close(registered[i]);
		signal(SIGPIPE, SIG_DFL);
		execvp(p->argv[0], p->argv);
		fprintf(stderr, "%s: cannot run '%s': %s\n", ds_progname, p->argv[0], strerror(errno));
		_exit(errno == ENOENT ? DS_EX_NOTFOUND : EX_OSERR);
	}
	p->pid = pid;
	p->reaped = 0;
	return 0;
}

int ds_proc_wait(struct ds_proc *p)
{
	if (!p->pid || p->reaped)
		return p->status;
	while (waitpid(p->pid, &p->status, 0) < 0)
		if (errno != EINTR) {
			p->status = EX_OSERR << 8;
			break;
		}
	p->reaped = 1;
	return p->status;
}

int ds_proc_exit_code(const struct ds_proc *p, int pipe_ok)
{
	if (WIFEXITED(p->status))
		return WEXITSTATUS(p->status);
	if (WIFSIGNALED(p->status) && WTERMSIG(p->status) == SIGPIPE && pipe_ok)
		return 0;
	return EX_SOFTWARE;
}

void ds_proc_describe(const struct ds_proc *p, char *out, size_t len)
{
	const char *name = strrchr(p->argv[0], '/') ? strrchr(p->argv[0], '/') + 1 : p->argv[0];

	if (WIFEXITED(p->status))
		snprintf(out, len, "%s exited with status %d", name, WEXITSTATUS(p->status));
	else if (WIFSIGNALED(p->status))
		snprintf(out, len, "%s was killed by signal %d (%s)", name, WTERMSIG(p->status),
			 strsignal(WTERMSIG(p->status)));
	else
		snprintf(out, len, "%s ended oddly (status 0x%x)", name, p->status);
}

size_t ds_shell_quote(const char *a, char *out, size_t len)
{
	size_t n = 0;
	int plain = *a != 0;

	for (const char *c = a; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%", *c))
			plain = 0;
	if (plain)
		return (size_t)snprintf(out, len, "%s", a);
	n += (size_t)snprintf(out, len, "'");
	for (const char *c = a; *c && n < len; c++)
		n += (size_t)(*c == '\'' ? snprintf(out + n, len - n, "'\\''") : snprintf(out + n, len - n, "%c", *c));
	if (n < len)
		n += (size_t)snprintf(out + n, len - n, "'");
	return n;
}

void ds_proc_format(const struct ds_proc *p, char *out, size_t len)
{
	size_t n = 0;

	out[0] = 0;
	for (int i = 0; i < p->argc && n < len; i++) {
		const char *a = p->argv[i];

		if (i)
			n += (size_t)snprintf(out + n, len - n, " ");
		if (n < len)
			n += ds_shell_quote(a, out + n, len - n);
	}
}
