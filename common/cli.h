/*
 * cli.h - what every tool shares on the command line: the option table, the
 * generated --help and --version, and the one error path to stderr.
 *
 * A tool declares a struct ds_tool (name, synopsis lines, summary, option
 * table) and calls ds_cli_parse() once.  The parser handles -h/--help,
 * --version and -q/--quiet itself, validates every value (numbers through
 * strtol/strtod with an end-pointer check and the table's range), and exits
 * 64 with a usage hint on any mistake.  Positional arguments are returned in
 * order.  Messages go to stderr as "ds-NAME: ..."; stdout is left to frames.
 *
 * Exit codes are sysexits(3): 64 usage, 65 bad data, 66 missing input, 69 no
 * device, 70 internal bug, 74 I/O, 78 bad configuration.
 */
#ifndef DS_CLI_H
#define DS_CLI_H

#include <stdio.h>
#include <sysexits.h>

#include "error.h"

enum ds_opt_type {
	DS_OPT_END = 0,
	DS_OPT_FLAG,	/* int target set to 1; "--no-NAME" sets it to 0 */
	DS_OPT_INT,	/* long target, integer in [min, max] */
	DS_OPT_DOUBLE,	/* double target, finite, in [min, max] */
	DS_OPT_STRING,	/* const char * target, points into argv */
	DS_OPT_CHOICE,	/* int target = index of the value in choices[] */
	DS_OPT_CALL,	/* call(arg, data); nonzero return = usage error */
};

struct ds_option {
	const char *long_name;	/* without "--" */
	char short_name;	/* 0 for none */
	enum ds_opt_type type;
	void *target;
	const char *hint;	/* value name in --help, e.g. "N" or "FILE" */
	const char *help;	/* one line, with the default when it has one */
	double min, max;	/* numeric range; ignored when min == max == 0 */
	const char *const *choices;	/* DS_OPT_CHOICE: NULL-terminated */
	int (*call)(const char *arg, void *data);	/* DS_OPT_CALL */
	int takes_value;	/* DS_OPT_CALL only: 1 when it takes a value */
};

/* Convenience initialisers; a table ends with DS_OPT_END_MARK. */
#define DS_OPT_FLAG_(l, s, t, h) { (l), (s), DS_OPT_FLAG, (t), NULL, (h), 0, 0, NULL, NULL, 0 }
#define DS_OPT_INT_(l, s, t, v, h, lo, hi) { (l), (s), DS_OPT_INT, (t), (v), (h), (lo), (hi), NULL, NULL, 1 }
#define DS_OPT_DOUBLE_(l, s, t, v, h, lo, hi) { (l), (s), DS_OPT_DOUBLE, (t), (v), (h), (lo), (hi), NULL, NULL, 1 }
#define DS_OPT_STRING_(l, s, t, v, h) { (l), (s), DS_OPT_STRING, (t), (v), (h), 0, 0, NULL, NULL, 1 }
#define DS_OPT_CHOICE_(l, s, t, v, h, c) { (l), (s), DS_OPT_CHOICE, (t), (v), (h), 0, 0, (c), NULL, 1 }
#define DS_OPT_CALL_(l, s, d, v, h, fn, tv) { (l), (s), DS_OPT_CALL, (d), (v), (h), 0, 0, NULL, (fn), (tv) }
#define DS_OPT_END_MARK { NULL, 0, DS_OPT_END, NULL, NULL, NULL, 0, 0, NULL, NULL, 0 }

struct ds_tool {
	const char *name;	/* "ds-cat" */
	const char *synopsis;	/* lines after "usage: ", '\n'-separated */
	const char *summary;	/* one paragraph for --help */
	const struct ds_option *options;
};

extern const char *ds_progname;	/* "ds-NAME", for messages */
extern int ds_quiet;		/* -q/--quiet was given */

/*
 * Parse argv.  On return *argv holds the positional arguments in order,
 * starting at (*argv)[0], and the return value is their count.  "--" ends
 * option parsing.  --help prints to stdout and exits 0; errors exit 64.
 */
int ds_cli_parse(const struct ds_tool *tool, int argc, char ***argv);

/* Print "usage: ..." lines and a pointer to --help on stderr, exit 64. */
void ds_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* "ds-NAME: msg" on stderr, then exit(code). */
void ds_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Die with an error filled by library code. */
void ds_die_error(const struct ds_error *err) __attribute__((noreturn));
/* "ds-NAME: warning: msg" on stderr. */
void ds_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "ds-NAME: msg" on stderr unless --quiet. */
void ds_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A broken invariant: names file:line, exits 70. */
#define ds_bug(...) ds_bug_at(__FILE__, __LINE__, __VA_ARGS__)
void ds_bug_at(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* Allocation that dies (exit 70 is wrong for out-of-memory; we use 71,
 * EX_OSERR) instead of returning NULL.  Sizes are checked for overflow. */
void *ds_xmalloc(size_t n);
void *ds_xcalloc(size_t count, size_t size);
void *ds_xrealloc(void *p, size_t n);
char *ds_xstrdup(const char *s);

/* Refuse to write binary frames to a terminal: dies with 64 and points to
 * ds-cat when stdout is a tty. */
void ds_refuse_binary_tty(void);

/* Strict number parsing; return 0 on success, -1 on junk or overflow. */
int ds_parse_long(const char *s, long *out);
int ds_parse_double(const char *s, double *out);

/* The version string printed by --version: "dspipe VERSION (COMMIT)". */
const char *ds_version_string(void);

/* Whether progress lines should be drawn on stderr (a terminal, not quiet). */
int ds_progress_wanted(void);

#endif
