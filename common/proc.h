/*
 * proc.h - running dspipe tools as child processes joined by pipes, for the
 * drivers (ds-run) that wire a ring of stages.
 *
 * A struct ds_proc is one child: its argv (owned copies), pid and exit
 * status.  Pipes are plain fds made by the caller with ds_pipe(); ds_spawn()
 * dups the given fds onto the child's stdin/stdout and closes every other
 * pipe fd the parent registered, so no child holds a stray write end that
 * would keep a reader from seeing EOF.
 */
#ifndef DS_PROC_H
#define DS_PROC_H

#include <sys/types.h>

#include "error.h"

#define DS_PROC_MAX_ARGS 64

struct ds_proc {
	char *argv[DS_PROC_MAX_ARGS + 1];
	int argc;
	pid_t pid;		/* 0 before spawn / after reaping */
	int status;		/* raw wait status once reaped */
	int reaped;
};

/* Exit code for "a tool to run is not there", as a shell's "command not
 * found" (69 is for devices, 71 for a system call that failed). */
#define DS_EX_NOTFOUND 127

/* Directory of the running executable, with its trailing slash (for finding
 * sibling tools); "" when /proc/self/exe cannot be read (then PATH is
 * searched). */
const char *ds_tool_dir(void);
/* Path of tool "ds-NAME" next to this executable (malloc'd): a sibling, even
 * when it is missing (ds_spawn says so), never another copy from PATH. */
char *ds_tool_path(const char *name);

void ds_proc_init(struct ds_proc *p, const char *tool);
/* Append one argument (copied). */
void ds_proc_arg(struct ds_proc *p, const char *arg);
void ds_proc_argf(struct ds_proc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ds_proc_release(struct ds_proc *p);

/* Make a pipe whose two ends the next spawns will close in the child;
 * returns 0 or -1. */
int ds_pipe(int fds[2]);
/* Forget a registered fd (after the parent closed it). */
void ds_pipe_forget(int fd);

/* Start p with stdin = in_fd and stdout = out_fd (-1: inherit).  Returns 0,
 * DS_EX_NOTFOUND when the program (a path) is not there, or EX_OSERR, with
 * err filled. */
int ds_spawn(struct ds_proc *p, int in_fd, int out_fd, struct ds_error *err);
/* Wait for p; returns its wait status. */
int ds_proc_wait(struct ds_proc *p);
/* Exit code a driver should use for this status: 0 on success, the
 * child's code, or 70 when it died of a signal (always a bug, except
 * SIGPIPE which maps to 0 when `pipe_ok`). */
int ds_proc_exit_code(const struct ds_proc *p, int pipe_ok);
/* Describe the outcome ("exited with status 65", "killed by SIGSEGV"). */
void ds_proc_describe(const struct ds_proc *p, char *out, size_t len);
/* s quoted for a POSIX shell (as is when it needs no quoting); returns the
 * length it wanted to write. */
size_t ds_shell_quote(const char *s, char *out, size_t len);
/* Shell-quoted command line (the program as its path: a sibling's path
 * works from any directory), for --print-pipeline. */
void ds_proc_format(const struct ds_proc *p, char *out, size_t len);

#endif
