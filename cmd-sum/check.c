/*
 * check.c - ds-sum -c: verify a manifest of file, tensor, model or frame
 * lines, as printed by ds-sum itself (file lines are also b2sum's).
 *
 *   HEX  NAME                       a file (b2sum -l 256; " *NAME" and a
 *                                   leading "\" for escaped names accepted)
 *   # model DIR                     the checkpoint for the lines below
 *   HEX  tensor NAME                a tensor payload of that checkpoint
 *   HEX  model                      the whole model digest
 *   HEX  frame N KIND seq S pos P   frame N of the frame stream on stdin
 *
 * Every line gets "WHAT: OK" or "WHAT: FAILED" (WHAT = the text after the
 * digest); OK lines are left out with --quiet.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "checksum.h"
#include "ckdigest.h"
#include "cli.h"
#include "safetensors.h"
#include "stream.h"
#include "sum.h"

struct checker {
	const struct sum_opts *o;
	char *model_path;		/* from "# model" or -m */
	struct ds_checkpoint ck;
	int ck_open;
	uint8_t (*digests)[DS_DIGEST_SIZE];
	uint8_t model[DS_DIGEST_SIZE];
	FILE *frames;			/* stdin as a frame stream, once needed */
	struct ds_reader r;
	struct ds_frame f;
	int frames_done;
	long mismatched, unreadable, malformed, good;
};

static void verdict(struct checker *c, const char *what, int ok)
{
	if (ok) {
		if (!ds_quiet)
			printf("%s: OK\n", what);
	} else {
		printf("%s: FAILED\n", what);
		c->mismatched++;
	}
}

static void close_model(struct checker *c)
{
	if (c->ck_open)
		ds_checkpoint_release(&c->ck);
	free(c->digests);
	c->digests = NULL;
	c->ck_open = 0;
}

static void need_model(struct checker *c)
{
	struct ds_error err = { 0 };

	if (c->ck_open)
		return;
	if (!c->model_path)
		ds_die(EX_USAGE, "tensor lines need a model: give -m DIR or a '# model DIR' line");
	if (ds_checkpoint_open(&c->ck, c->model_path, &err))
		ds_die_error(&err);
	c->ck_open = 1;
	c->digests = ds_xcalloc(c->ck.ntensors + 1, sizeof(*c->digests));
	ds_ckdigest_tensors(&c->ck, (int)c->o->threads, c->digests);
	ds_ckdigest_model(&c->ck, (const uint8_t (*)[DS_DIGEST_SIZE])c->digests, c->model);
}

static void check_file(struct checker *c, const uint8_t want[DS_DIGEST_SIZE], const char *name,
		       const char *what)
{
	struct ds_error err = { 0 };
	uint8_t got[DS_DIGEST_SIZE];
	FILE *fp = strcmp(name, "-") ? fopen(name, "rb") : stdin;

	if (!fp || ds_hash_stream(fp, name, got, &err)) {
		if (!fp)
			ds_warn("cannot open '%s': %m", name);
		else
			ds_warn("%s", err.msg);
		printf("%s: FAILED open or read\n", what);
		c->unreadable++;
	} else {
		verdict(c, what, !sodium_memcmp(got, want, DS_DIGEST_SIZE));
	}
	if (fp && fp != stdin)
		fclose(fp);
}

static void check_frame(struct checker *c, const uint8_t want[DS_DIGEST_SIZE], uint64_t n, const char *what)
{
	uint8_t got[DS_DIGEST_SIZE];
	char text[160];

	if (!c->frames) {
		struct sum_opts fo = *c->o;
		int is_frames;
		fo.frames = 1;
		fo.raw = 0;
		c->frames = sum_open_input("-", &is_frames, &fo);
		ds_frame_init(&c->f);
		ds_reader_init(&c->r, c->frames, "stdin");
	}
	while (!c->frames_done && c->r.index <= n) {
		int rc = sum_next_frame(&c->r, &c->f, got, text, sizeof(text));
		if (rc != 1) {
			c->frames_done = 1;
			break;
		}
		if (c->r.index - 1 == n) {
			verdict(c, what, !sodium_memcmp(got, want, DS_DIGEST_SIZE) && !strcmp(text, what));
			return;
		}
	}
	ds_warn("frame %" PRIu64 " is not in the stream on stdin (or comes out of order)", n);
	printf("%s: FAILED open or read\n", what);
	c->unreadable++;
}

static int hexdigit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* undo sum_escape's escapes in place (b2sum's \\, \n, \r and our \xHH);
 * 0 when the text is not a valid escape or would hold a NUL */
static int unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		int hi, lo;

		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		s++;
		if (*s == '\\')
			*w++ = '\\';
		else if (*s == 'n')
			*w++ = '\n';
		else if (*s == 'r')
			*w++ = '\r';
		else if (*s == 'x' && (hi = hexdigit(s[1])) >= 0 && (lo = hexdigit(s[2])) >= 0 && (hi || lo))
			*w++ = (char)(hi << 4 | lo), s += 2;
		else
			return 0;
	}
	*w = 0;
	return 1;
}

static void check_line(struct checker *c, char *line)
{
	uint8_t want[DS_DIGEST_SIZE];
	char hex[2 * DS_DIGEST_SIZE + 1], *what, *name;
	int escaped = 0;
	size_t len = strlen(line);

	while (len && line[len - 1] == '\n')
		line[--len] = 0;
	if (!len)
		return;
	if (!strncmp(line, "\\# model ", 9)) {	/* a model path that needed escapes */
		if (!unescape(line + 9)) {
			c->malformed++;
			return;
		}
		memmove(line, line + 1, strlen(line));
	}
	if (line[0] == '#') {
		if (!strncmp(line, "# model ", 8) && !c->o->model) {
			close_model(c);
			free(c->model_path);
			c->model_path = ds_xstrdup(line + 8);
		}
		return;
	}
	if (line[0] == '\\') {
		escaped = 1;
		line++;
		len--;
	}
	if (len < 2 * DS_DIGEST_SIZE + 3 || line[2 * DS_DIGEST_SIZE] != ' ' ||
	    (line[2 * DS_DIGEST_SIZE + 1] != ' ' && line[2 * DS_DIGEST_SIZE + 1] != '*')) {
		c->malformed++;
		return;
	}
	memcpy(hex, line, 2 * DS_DIGEST_SIZE);
	hex[2 * DS_DIGEST_SIZE] = 0;
	what = line + 2 * DS_DIGEST_SIZE + 2;
	if (ds_digest_parse(hex, want)) {
		c->malformed++;
		return;
	}
	c->good++;
	/* tensor names come escaped like file names: undo that first */
	if (escaped && (!strncmp(what, "tensor ", 7) || !strcmp(what, "model"))) {
		if (!unescape(what)) {
			c->malformed++;
			c->good--;
			return;
		}
		escaped = 0;
	}
	if (!escaped && !strncmp(what, "tensor ", 7)) {
		int esc;
		char *e = sum_escape(what, 1, &esc), *shown = ds_xmalloc(strlen(e) + 2);
		long i;

		sprintf(shown, "%s%s", esc ? "\\" : "", e);	/* as --tensors writes it */
		need_model(c);
		i = ds_checkpoint_index(&c->ck, what + 7);
		if (i < 0) {
			ds_warn("tensor '%s' is not in '%s'", e + 7, c->model_path);
			printf("%s: FAILED open or read\n", shown);
			c->unreadable++;
		} else {
			verdict(c, shown, !sodium_memcmp(c->digests[i], want, DS_DIGEST_SIZE));
		}
		free(e);
		free(shown);
	} else if (!escaped && !strcmp(what, "model")) {
		need_model(c);
		verdict(c, what, !sodium_memcmp(c->model, want, DS_DIGEST_SIZE));
	} else if (!escaped && !strncmp(what, "frame ", 6)) {
		char *end;
		uint64_t n;
		errno = 0;
		n = strtoull(what + 6, &end, 10);
		if (errno || end == what + 6 || *end != ' ') {
			c->malformed++;
			c->good--;
			return;
		}
		check_frame(c, want, n, what);
	} else {
		name = ds_xstrdup(what);
		if (escaped && !unescape(name)) {
			c->malformed++;
			c->good--;
		} else {
			/* b2sum -c shows the name as is unless it holds a newline */
			char shown[8300];
			size_t k = 0;
			if (strchr(name, '\n')) {
				shown[k++] = '\\';
				for (const char *q = name; *q && k + 3 < sizeof(shown); q++) {
					if (*q == '\\' || *q == '\n')
						shown[k++] = '\\';
					shown[k++] = *q == '\n' ? 'n' : *q;
				}
				shown[k] = 0;
			} else {
				snprintf(shown, sizeof(shown), "%s", name);
			}
			check_file(c, want, name, shown);
		}
		free(name);
	}
	if (fflush(stdout))
		ds_die(EX_IOERR, "write error: %m");
}

int sum_check(const struct sum_opts *o, char **paths, int n)
{
	struct checker c;
	char *line = NULL;
	size_t cap = 0;

	memset(&c, 0, sizeof(c));
	c.o = o;
	if (o->model)
		c.model_path = ds_xstrdup(o->model);
	for (int i = 0; i < n; i++) {
		FILE *fp = strcmp(paths[i], "-") ? fopen(paths[i], "r") : stdin;
		if (!fp)
			ds_die(EX_NOINPUT, "cannot open '%s': %m", paths[i]);
		while (getline(&line, &cap, fp) > 0)
			check_line(&c, line);
		if (ferror(fp))
			ds_die(EX_IOERR, "%s: read error", paths[i]);
		if (fp != stdin)
			fclose(fp);
	}
	free(line);
	close_model(&c);
	free(c.model_path);
	if (c.frames) {
		ds_frame_release(&c.f);
		fclose(c.frames);
	}
	if (!c.good)
		ds_die(EX_DATAERR, "no properly formatted checksum lines found");
	if (c.malformed)
		ds_warn("%ld line%s improperly formatted", c.malformed, c.malformed == 1 ? " is" : "s are");
	if (c.unreadable)
		ds_warn("%ld listed item%s could not be read", c.unreadable, c.unreadable == 1 ? "" : "s");
	if (c.mismatched)
		ds_warn("%ld computed checksum%s did NOT match", c.mismatched, c.mismatched == 1 ? "" : "s");
	return c.mismatched || c.unreadable ? 1 : 0;
}
