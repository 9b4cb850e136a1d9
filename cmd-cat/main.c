/*
 * ds-cat - show frames for people, export one as .npy, or turn text ids into
 * TOKENS frames.  The "plain" twin of every other tool: any stream can be
 * read, and any bug report written, through it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"
#include "stream.h"
#include "textio.h"
#include "toolio.h"

enum cat_format { FMT_TEXT, FMT_HEADER, FMT_IDS, FMT_FRAMES };
static const char *const formats[] = { "text", "header", "ids", "frames", NULL };
/* --control values, in enum ds_control's order after "none" */
static const char *const controls[] = { "none", "END", "RESET", "TRUNCATE", NULL };

struct cat_opts {
	int format;
	int from_ids;
	const char *from_text;
	int control;
	long pos;
	const char *npy;
	long frame;
	long max_cols;
	long seq;
	int no_digest;
};

static struct cat_opts opt = { .frame = -1 };

static const struct ds_option options[] = {
	DS_OPT_CHOICE_("format", 'f', &opt.format, "FMT", "text (default), header, ids (TOKENS as id lines) or frames", formats),
	DS_OPT_FLAG_("from-ids", 'i', &opt.from_ids, "read decimal ids, one sequence per line, and write TOKENS frames"),
	DS_OPT_STRING_("from-text", 0, &opt.from_text, "KIND", "read rows of numbers and write f32 [rows, cols] frames of KIND (LOGITS or HIDDEN); an empty line ends a frame"),
	DS_OPT_INT_("seq", 0, &opt.seq, "N", "with --from-ids/--from-text: sequence id of the first frame (default 0; +1 per frame)", 0, 2147483647),
	DS_OPT_INT_("pos", 0, &opt.pos, "N", "with --from-ids/--from-text: position of every frame (default 0)", 0, 1e15),
	DS_OPT_CHOICE_("control", 0, &opt.control, "WHAT", "write one CONTROL frame (END, RESET, or TRUNCATE to --pos) for --seq and read nothing", controls),
	DS_OPT_STRING_("npy", 0, &opt.npy, "FILE", "write one frame as a .npy file ('-' for stdout) instead of text"),
	DS_OPT_INT_("frame", 'n', &opt.frame, "N", "with --npy: the frame number (default: the first that is not CONTROL)", 0, 1e15),
	DS_OPT_INT_("max-cols", 0, &opt.max_cols, "N", "text: show at most N values per row (default all)", 0, 1e9),
	DS_OPT_FLAG_("no-digest", 0, &opt.no_digest, "write frames without digests"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-cat",
	"[-f text|header|ids|frames] [FILE...]\n--npy OUT [-n N] [FILE]\n--from-ids [--seq N] [--pos N] [FILE...]\n"
	"--from-text KIND [--seq N] [--pos N] [FILE...]\n--control END|RESET|TRUNCATE [--seq N] [--pos N]",
	"Show dspipe frames as text, export a frame as .npy, or turn text ids into TOKENS\n"
	"frames, rows of numbers into LOGITS or HIDDEN frames, or write a CONTROL frame.\n"
	"FILE defaults to standard input ('-').",
	options,
};

/* text ids -> one TOKENS frame per line */
static void ids_to_frames(FILE *in, const char *name, struct ds_writer *w, uint64_t *seq)
{
	struct ds_error err = { 0 };
	struct ds_frame f;
	char *line = NULL;
	size_t linecap = 0, idcap = 0;
	int32_t *ids = NULL;
	long lineno = 0;

	ds_frame_init(&f);
	while (getline(&line, &linecap, in) > 0) {
		long n;
		uint32_t dim;

		lineno++;
		n = ds_ids_parse_line(line, &ids, &idcap, &err);
		if (n < 0)
			ds_die(err.code, "%s: line %ld: %s", name, lineno, err.msg);
		dim = (uint32_t)n;
		if (ds_frame_setup(&f, DS_KIND_TOKENS, DS_I32, 1, &dim))
			ds_die(EX_DATAERR, "%s: line %ld: too many ids", name, lineno);
		if (n)
			memcpy(f.data, ids, (size_t)n * sizeof(*ids));
		f.seq = (*seq)++;
		f.pos = (uint64_t)opt.pos;
		f.flags = DS_FLAG_FINAL;
		ds_tool_write(w, &f);
	}
	free(line);
	free(ids);
	ds_frame_release(&f);
}

/* rows of numbers -> one f32 [rows, cols] frame per paragraph */
static void text_to_frames(FILE *in, const char *name, enum ds_kind kind, struct ds_writer *w,
			   uint64_t *seq)
{
	struct ds_error err = { 0 };
	struct ds_frame f;
	float *vals = NULL;
	size_t cap = 0;
	long rows, cols, lineno = 0;

	ds_frame_init(&f);
	while ((rows = ds_rows_read(in, &vals, &cap, &cols, &lineno, &err)) > 0) {
		uint32_t dims[2] = { (uint32_t)rows, (uint32_t)cols };

		if (ds_frame_setup(&f, kind, DS_F32, 2, dims))
			ds_die(EX_DATAERR, "%s: line %ld: frame too large", name, lineno);
		memcpy(f.data, vals, f.nbytes);
		f.seq = (*seq)++;
		f.pos = (uint64_t)opt.pos;
		f.flags = DS_FLAG_FINAL;
		ds_tool_write(w, &f);
	}
	if (rows < 0)
		ds_die(err.code, "%s: line %ld: %s", name, lineno, err.msg);
	free(vals);
	ds_frame_release(&f);
}

/* --control: one CONTROL frame for --seq (TRUNCATE: to length --pos) */
static void write_control(struct ds_writer *w)
{
	struct ds_frame f;

	ds_frame_init(&f);
	if (opt.control == DS_CONTROL_TRUNCATE)
		ds_frame_truncate(&f, (uint64_t)opt.seq, (uint64_t)opt.pos);
	else
		ds_frame_control(&f, (enum ds_control)opt.control, (uint64_t)opt.seq);
	ds_tool_write(w, &f);
	ds_frame_release(&f);
	if (fflush(stdout))
		ds_die(EX_IOERR, "write error: %m");
}

static void show_frames(FILE *in, const char *name, struct ds_writer *w, long *npy_left)
{
	struct ds_error err = { 0 };
	struct ds_reader r;
	struct ds_frame f;
	int rc;

	ds_frame_init(&f);
	ds_reader_init(&r, in, name);
	while ((rc = ds_read_frame(&r, &f, &err)) == 1) {
		uint64_t idx = r.index - 1;

		if (opt.npy) {
			if ((*npy_left >= 0 && (long)idx != *npy_left) ||
			    (*npy_left < 0 && f.kind == DS_KIND_CONTROL))
				continue;
			FILE *out = strcmp(opt.npy, "-") ? fopen(opt.npy, "wb") : stdout;
			if (!out)
				ds_die(EX_CANTCREAT, "cannot create '%s': %m", opt.npy);
			if (ds_npy_write(out, opt.npy, &f, &err))
				ds_die_error(&err);
			if (out != stdout && fclose(out))
				ds_die(EX_IOERR, "%s: write error: %m", opt.npy);
			*npy_left = -2;	/* done */
			break;
		}
		switch (opt.format) {
		case FMT_TEXT:
			ds_frame_print_text(stdout, idx, &f, opt.max_cols);
			break;
		case FMT_HEADER:
			ds_frame_describe(stdout, idx, &f);
			putchar('\n');
			break;
		case FMT_IDS:
			if (f.kind == DS_KIND_TOKENS && f.dtype == DS_I32)
				ds_ids_print(stdout, f.data, (size_t)ds_frame_numel(&f));
			break;
		case FMT_FRAMES:
			ds_tool_write(w, &f);
			break;
		}
		if (opt.format != FMT_FRAMES && fflush(stdout))
			ds_die(EX_IOERR, "write error: %m");
	}
	if (rc != 0 && rc != 1)
		ds_die_error(&err);
	ds_frame_release(&f);
}

int main(int argc, char **argv)
{
	struct ds_writer w;
	uint64_t seq;
	long npy_left;
	enum ds_kind text_kind = 0;
	int nfiles = ds_cli_parse(&tool, argc, &argv), given = nfiles;
	static char dash[] = "-";
	static char *stdin_only[] = { dash, NULL };

	if (nfiles == 0) {
		argv = stdin_only;
		nfiles = 1;
	}
	if (opt.from_text) {
		text_kind = ds_kind_parse(opt.from_text);
		if (text_kind != DS_KIND_LOGITS && text_kind != DS_KIND_HIDDEN)
			ds_usage_error("--from-text makes LOGITS or HIDDEN frames, not '%s'", opt.from_text);
		if (opt.from_ids)
			ds_usage_error("--from-ids and --from-text do not mix");
	}
	if ((opt.from_ids || opt.from_text) && !opt.format)
		opt.format = FMT_FRAMES;
	if ((opt.from_ids || opt.from_text) && opt.format != FMT_FRAMES)
		ds_usage_error("--from-ids and --from-text write frames; use a second ds-cat to view them");
	if (opt.npy && (opt.from_ids || opt.from_text))
		ds_usage_error("--npy does not mix with --from-ids or --from-text");
	if (opt.frame >= 0 && !opt.npy)
		ds_usage_error("--frame only applies with --npy");
	if (opt.control && (opt.from_ids || opt.from_text || opt.npy || given))
		ds_usage_error("--control writes one frame and reads no input");
	if (opt.control && opt.pos && opt.control != DS_CONTROL_TRUNCATE)
		ds_usage_error("--pos goes with --control TRUNCATE only");
	if (opt.control) {
		opt.format = FMT_FRAMES;
		ds_refuse_binary_tty();
		ds_writer_init(&w, stdout, "stdout");
		w.digest = !opt.no_digest;
		write_control(&w);
		return 0;
	}
	if (opt.format == FMT_FRAMES || (opt.npy && !strcmp(opt.npy, "-")))
		ds_refuse_binary_tty();
	ds_writer_init(&w, stdout, "stdout");
	w.digest = !opt.no_digest;
	seq = (uint64_t)opt.seq;
	npy_left = opt.frame;
	for (int i = 0; i < nfiles; i++) {
		const char *name;
		FILE *in = ds_tool_open(argv[i], &name);

		if (opt.from_ids)
			ids_to_frames(in, name, &w, &seq);
		else if (opt.from_text)
			text_to_frames(in, name, text_kind, &w, &seq);
		else
			show_frames(in, name, &w, &npy_left);
		if (in != stdin)
			fclose(in);
		if (npy_left == -2)
			break;
	}
	if (opt.npy && npy_left != -2)
		ds_die(EX_DATAERR, "no frame %s to export", opt.frame >= 0 ? "with that number" : "with data");
	if (fflush(stdout))
		ds_die(EX_IOERR, "write error: %m");
	return 0;
}
