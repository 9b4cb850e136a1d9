/*
 * cli.c - option parsing, generated help, and the stderr error path.
 *
 * The parser is deliberately small: long options (--name, --name=value,
 * --name value, --no-name for flags), short options (-x, -xVALUE, -x VALUE,
 * bundled flags -qv), "--" to stop, "-" as a positional (stdin).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef DS_VERSION
#define DS_VERSION "0.1"
#endif
#ifndef DS_COMMIT
#define DS_COMMIT "unknown"
#endif

const char *ds_progname = "dspipe";
int ds_quiet;

static const struct ds_tool *current_tool;
/* the positional arguments handed back by ds_cli_parse; kept reachable for
 * the life of the process (so leak checkers do not report it) */
static char **positional;

const char *ds_version_string(void)
{
	return "dspipe " DS_VERSION " (" DS_COMMIT ")";
}

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: %s", ds_progname, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ds_die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
	exit(code);
}

void ds_die_error(const struct ds_error *err)
{
	ds_die(err->code ? err->code : EX_SOFTWARE, "%s", err->msg[0] ? err->msg : "unknown error");
}

void ds_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay("warning: ", fmt, ap);
	va_end(ap);
}

void ds_info(const char *fmt, ...)
{
	va_list ap;
	if (ds_quiet)
		return;
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void ds_bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: BUG at %s:%d: ", ds_progname, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_SOFTWARE);
}

void *ds_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		ds_die(EX_OSERR, "out of memory allocating %zu bytes", n);
	return p;
}

void *ds_xcalloc(size_t count, size_t size)
{
	void *p;
	if (size && count > SIZE_MAX / size)
		ds_die(EX_OSERR, "allocation of %zu x %zu bytes overflows", count, size);
	p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		ds_die(EX_OSERR, "out of memory allocating %zu x %zu bytes", count, size);
	return p;
}

void *ds_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		ds_die(EX_OSERR, "out of memory allocating %zu bytes", n);
	return q;
}

char *ds_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(ds_xmalloc(n), s, n);
}

void ds_refuse_binary_tty(void)
{
	if (isatty(STDOUT_FILENO))
		ds_die(EX_USAGE, "refusing to write binary frames to a terminal; pipe into 'ds-cat -f text' to read them");
}

int ds_progress_wanted(void)
{
	return !ds_quiet && isatty(STDERR_FILENO);
}

int ds_parse_long(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || end == s)
		return -1;
	*out = v;
	return 0;
}

int ds_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

static void print_synopsis(FILE *fp)
{
	const char *s = current_tool->synopsis, *nl;
	int first = 1;

	while (s && *s) {
		nl = strchr(s, '\n');
		int len = nl ? (int)(nl - s) : (int)strlen(s);
		fprintf(fp, "%s%s %.*s\n", first ? "usage: " : "   or: ", current_tool->name, len, s);
		first = 0;
		s = nl ? nl + 1 : s + len;
	}
}

void ds_usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
	if (current_tool) {
		print_synopsis(stderr);
		fprintf(stderr, "Try '%s --help' for more information.\n", current_tool->name);
	}
	exit(EX_USAGE);
}

static void print_help(void)
{
	const struct ds_option *o;
	char left[96];

	print_synopsis(stdout);
	printf("\n%s\n\nOptions:\n", current_tool->summary);
	for (o = current_tool->options; o && o->type != DS_OPT_END; o++) {
		int n = 0;
		if (o->short_name)
			n = snprintf(left, sizeof(left), "  -%c, ", o->short_name);
		else
			n = snprintf(left, sizeof(left), "      ");
		n += snprintf(left + n, sizeof(left) - n, "--%s", o->long_name);
		if (o->hint && (o->type != DS_OPT_CALL || o->takes_value))
			snprintf(left + n, sizeof(left) - n, " %s", o->hint);
		if (strlen(left) > 28)
			printf("%s\n%30s%s\n", left, "", o->help ? o->help : "");
		else
			printf("%-30s%s\n", left, o->help ? o->help : "");
	}
	printf("%-30s%s\n", "  -q, --quiet", "no progress or informational messages");
	printf("%-30s%s\n", "  -h, --help", "show this help and exit");
	printf("%-30s%s\n", "      --version", "show the version and exit");
	printf("\nExit status: 0 success, 64 usage, 65 bad data, 66 missing input, 69 no device,\n"
	       "70 internal error, 74 I/O error, 78 bad configuration.  See %s(1).\n", current_tool->name);
}

static int takes_value(const struct ds_option *o)
{
	return o->type == DS_OPT_CALL ? o->takes_value : o->type != DS_OPT_FLAG;
}

static void apply(const struct ds_option *o, const char *arg, const char *spelled)
{
	long lv;
	double dv;
	int i;

	switch (o->type) {
	case DS_OPT_FLAG:
		*(int *)o->target = 1;
		break;
	case DS_OPT_INT:
		if (ds_parse_long(arg, &lv))
			ds_usage_error("option '%s' wants an integer, not '%s'", spelled, arg);
		if ((o->min != 0 || o->max != 0) && (lv < o->min || lv > o->max))
			ds_usage_error("option '%s' must be between %.0f and %.0f, not %ld", spelled, o->min, o->max, lv);
		*(long *)o->target = lv;
		break;
	case DS_OPT_DOUBLE:
		if (ds_parse_double(arg, &dv))
			ds_usage_error("option '%s' wants a number, not '%s'", spelled, arg);
		if ((o->min != 0 || o->max != 0) && (dv < o->min || dv > o->max))
			ds_usage_error("option '%s' must be between %g and %g, not %g", spelled, o->min, o->max, dv);
		*(double *)o->target = dv;
		break;
	case DS_OPT_STRING:
		*(const char **)o->target = arg;
		break;
	case DS_OPT_CHOICE:
		for (i = 0; o->choices[i]; i++)
			if (!strcmp(o->choices[i], arg)) {
				*(int *)o->target = i;
				return;
			}
		ds_usage_error("option '%s' does not accept '%s'", spelled, arg);
	case DS_OPT_CALL:
		if (o->call(arg, o->target))
			ds_usage_error("bad value '%s' for option '%s'", arg ? arg : "", spelled);
		break;
	case DS_OPT_END:
		ds_bug("option table end applied");
	}
}

static const struct ds_option *find_long(const char *name, size_t len, int *negated)
{
	const struct ds_option *o;

	*negated = 0;
	for (o = current_tool->options; o && o->type != DS_OPT_END; o++)
		if (strlen(o->long_name) == len && !strncmp(o->long_name, name, len))
			return o;
	if (len > 3 && !strncmp(name, "no-", 3))
		for (o = current_tool->options; o && o->type != DS_OPT_END; o++)
			if (o->type == DS_OPT_FLAG && strlen(o->long_name) == len - 3 &&
			    !strncmp(o->long_name, name + 3, len - 3)) {
				*negated = 1;
				return o;
			}
	return NULL;
}

static const struct ds_option *find_short(char c)
{
	const struct ds_option *o;

	for (o = current_tool->options; o && o->type != DS_OPT_END; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

int ds_cli_parse(const struct ds_tool *tool, int argc, char ***argvp)
{
	char **argv = *argvp;
	char **pos = ds_xcalloc((size_t)argc + 1, sizeof(*pos));
	int npos = 0, i, only_pos = 0;

	current_tool = tool;
	ds_progname = tool->name;
	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			pos[npos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct ds_option *o;
			int negated;

			if ((len == 4 && !strncmp(name, "help", 4)) && !eq) {
				print_help();
				exit(0);
			}
			if (len == 7 && !strncmp(name, "version", 7) && !eq) {
				printf("%s %s\n", tool->name, ds_version_string());
				exit(0);
			}
			if (len == 5 && !strncmp(name, "quiet", 5) && !eq) {
				ds_quiet = 1;
				continue;
			}
			o = find_long(name, len, &negated);
			if (!o)
				ds_usage_error("unknown option '--%.*s'", (int)len, name);
			if (negated) {
				if (eq)
					ds_usage_error("option '%s' takes no value", a);
				*(int *)o->target = 0;
				continue;
			}
			if (takes_value(o)) {
				const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (!v)
					ds_usage_error("option '--%s' requires a value", o->long_name);
				apply(o, v, a);
			} else {
				if (eq)
					ds_usage_error("option '--%s' takes no value", o->long_name);
				apply(o, NULL, a);
			}
			continue;
		}
		/* short options, possibly bundled */
		for (char *p = a + 1; *p; p++) {
			const struct ds_option *o;
			char spelled[3] = { '-', *p, 0 };

			if (*p == 'h') {
				print_help();
				exit(0);
			}
			if (*p == 'q' && !find_short('q')) {
				ds_quiet = 1;
				continue;
			}
			o = find_short(*p);
			if (!o)
				ds_usage_error("unknown option '-%c'", *p);
			if (takes_value(o)) {
				const char *v = p[1] ? p + 1 : (i + 1 < argc ? argv[++i] : NULL);
				if (!v)
					ds_usage_error("option '-%c' requires a value", *p);
				apply(o, v, spelled);
				break;
			}
			apply(o, NULL, spelled);
		}
	}
	pos[npos] = NULL;
	free(positional);
	positional = pos;
	*argvp = pos;
	return npos;
}
