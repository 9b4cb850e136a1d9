/* toolio.c - see toolio.h. */
#include "toolio.h"

#include <inttypes.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "clock.h"

FILE *ds_tool_open(const char *path, const char **name)
{
	FILE *fp;

	if (!strcmp(path, "-")) {
		*name = "stdin";
		return stdin;
	}
	if (!(fp = fopen(path, "rb")))
		ds_die(EX_NOINPUT, "cannot open '%s': %m", path);
	*name = path;
	return fp;
}

FILE *ds_tool_input(int argc, char **argv, const char **name)
{
	if (argc > 1)
		ds_usage_error("one input file at most");
	return ds_tool_open(argc ? argv[0] : "-", name);
}

void ds_tool_write(struct ds_writer *w, const struct ds_frame *f)
{
	struct ds_error err = { 0 };

	if (ds_write_frame(w, f, &err))
		ds_die_error(&err);
}

void ds_tool_finish(FILE *in)
{
	if (in && in != stdin)
		fclose(in);
	/* ferror too: glibc drops a buffer whose write failed, so a later
	 * flush can succeed with the output lost */
	if (fflush(stdout) || ferror(stdout))
		ds_die(EX_IOERR, "write error: %m");
}

void ds_tool_die_frame(const struct ds_reader *r, const struct ds_error *err)
{
	ds_die(err->code ? err->code : EX_SOFTWARE, "%s: frame %" PRIu64 ": %s", r->name,
	       r->index ? r->index - 1 : 0, err->msg);
}

static void prefetch_progress(void *ctx, double done, double total)
{
	int *shown = ctx;

	if (!ds_progress_wanted())
		return;
	fprintf(stderr, "\r%s: paging in the weights: %.2f / %.2f GiB", ds_progname, done / (1 << 30), total / (1 << 30));
	if (done >= total)
		fputc('\n', stderr);
	*shown = 1;
}

double ds_tool_prefetch(const struct ds_model *m, int how)
{
	struct ds_error err = { 0 };
	double t0 = ds_seconds();
	int shown = 0;

	if (ds_model_prefetch(m, how, prefetch_progress, &shown, &err)) {
		if (shown)
			fputc('\n', stderr);
		ds_die_error(&err);
	}
	return ds_seconds() - t0;
}
