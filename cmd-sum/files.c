/*
 * files.c - ds-sum's digest printers: whole files (b2sum -l 256 lines,
 * escapes included), frame streams (one line per frame) and checkpoints
 * (one line per tensor plus the model line).
 *
 * Frame detection peeks at the first 4 bytes of standard input; so that
 * the frame reader still sees them, stdin is then read through a small
 * fopencookie() stream that replays them first.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "checksum.h"
#include "ckdigest.h"
#include "config.h"
#include "modelinfo.h"
#include "cli.h"
#include "safetensors.h"
#include "stream.h"
#include "sum.h"

char *sum_escape(const char *name, int controls, int *escaped)
{
	const unsigned char *s = (const unsigned char *)name;
	char *out = ds_xmalloc(4 * strlen(name) + 1), *w = out;

	*escaped = 0;
	for (; *s; s++) {
		/* C1 controls are U+0080..U+009F, C2 80..C2 9F in UTF-8 */
		int c1 = controls && s[0] == 0xC2 && s[1] >= 0x80 && s[1] <= 0x9F;

		if (*s == '\\' || *s == '\n' || *s == '\r') {
			*w++ = '\\';
			*w++ = *s == '\\' ? '\\' : *s == '\n' ? 'n' : 'r';
			*escaped = 1;
		} else if (controls && (*s < 0x20 || *s == 0x7F || c1)) {
			w += sprintf(w, "\\x%02x", s[0]);
			if (c1)
				w += sprintf(w, "\\x%02x", *++s);
			*escaped = 1;
		} else {
			*w++ = (char)*s;
		}
	}
	*w = 0;
	return out;
}

/* stdin with up to 4 bytes already taken put back in front */
struct replay {
	unsigned char buf[4];
	size_t n, at;
};

static ssize_t replay_read(void *cookie, char *out, size_t size)
{
	struct replay *r = cookie;

	if (r->at < r->n) {
		size_t k = r->n - r->at < size ? r->n - r->at : size;
		memcpy(out, r->buf + r->at, k);
		r->at += k;
		return (ssize_t)k;
	}
	return read(STDIN_FILENO, out, size);
}

static int replay_close(void *cookie)
{
	free(cookie);
	return 0;
}

FILE *sum_open_input(const char *path, int *is_frames, const struct sum_opts *o)
{
	static const cookie_io_functions_t io = { replay_read, NULL, NULL, replay_close };
	struct replay *r;
	FILE *fp;

	*is_frames = o->frames;
	if (strcmp(path, "-"))
		return fopen(path, "rb");
	if (o->raw || (!o->frames && isatty(STDIN_FILENO)))
		return stdin;
	r = ds_xcalloc(1, sizeof(*r));
	while (r->n < 4) {
		ssize_t k = read(STDIN_FILENO, r->buf + r->n, 4 - r->n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		r->n += (size_t)k;
	}
	if (r->n == 4 && !memcmp(r->buf, DS_FRAME_MAGIC, 4))
		*is_frames = 1;
	fp = fopencookie(r, "rb", io);
	if (!fp)
		ds_die(EX_OSERR, "cannot wrap standard input: %m");
	return fp;
}

int sum_next_frame(struct ds_reader *r, struct ds_frame *f, unsigned char digest[32], char *what, size_t cap)
{
	struct ds_error err = { 0 };
	uint8_t h[DS_FRAME_HEADER_SIZE];
	struct ds_frame copy;
	const char *kind;
	char kbuf[16];
	int rc = ds_read_frame(r, f, &err);

	if (rc != 1) {
		if (rc)
			ds_warn("%s", err.msg);
		return rc;
	}
	/* the digest the frame carries when written with one: a carried one the
	 * reader has verified is that already (headers decode losslessly) */
	if ((f->flags & DS_FLAG_DIGEST) && r->verify) {
		memcpy(digest, f->digest, DS_FRAME_DIGEST_SIZE);
	} else {
		copy = *f;
		copy.flags = (uint16_t)(f->flags | DS_FLAG_DIGEST);
		ds_header_encode(&copy, h);
		ds_frame_digest(h, f->data, f->nbytes, digest);
	}
	kind = ds_kind_name(f->kind);
	if (!kind) {
		snprintf(kbuf, sizeof(kbuf), "KIND%u", (unsigned)f->kind);
		kind = kbuf;
	}
	snprintf(what, cap, "frame %" PRIu64 " %s seq %" PRIu64 " pos %" PRIu64, r->index - 1, kind, f->seq, f->pos);
	return 1;
}

static int sum_frames(FILE *fp, const char *name)
{
	struct ds_reader r;
	struct ds_frame f;
	unsigned char d[DS_DIGEST_SIZE];
	char hex[DS_DIGEST_HEX], what[160];
	int rc;

	ds_frame_init(&f);
	ds_reader_init(&r, fp, strcmp(name, "-") ? name : "stdin");
	while ((rc = sum_next_frame(&r, &f, d, what, sizeof(what))) == 1) {
		ds_digest_hex(d, hex);
		printf("%s  %s\n", hex, what);
	}
	ds_frame_release(&f);
	return rc;
}

int sum_files(const struct sum_opts *o, char **paths, int n)
{
	int status = 0;

	for (int i = 0; i < n; i++) {
		struct ds_error err = { 0 };
		uint8_t d[DS_DIGEST_SIZE];
		char hex[DS_DIGEST_HEX], *esc;
		int frames, rc, escaped;
		FILE *fp = sum_open_input(paths[i], &frames, o);

		if (!fp) {
			ds_warn("cannot open '%s': %m", paths[i]);
			status = status ? status : EX_NOINPUT;
			continue;
		}
		if (frames) {
			rc = sum_frames(fp, paths[i]);
		} else if (!(rc = ds_hash_stream(fp, paths[i], d, &err))) {
			ds_digest_hex(d, hex);
			esc = sum_escape(paths[i], 0, &escaped);
			printf("%s%s  %s\n", escaped ? "\\" : "", hex, esc);
			free(esc);
		} else {
			ds_warn("%s", err.msg);
		}
		if (rc)
			status = status ? status : rc;
		if (fp != stdin)
			fclose(fp);
		if (fflush(stdout))
			ds_die(EX_IOERR, "write error: %m");
	}
	return status;
}

/* With a config.json beside it, say which tensors it leaves unused or
 * lacks (warnings: the digests are right either way). */
static void against_config(const char *path, const struct ds_checkpoint *ck)
{
	struct ds_error err = { 0 };
	struct ds_config c;
	struct ds_modelinfo mi;
	struct ds_ckcheck chk;
	char *cfg = ds_xmalloc(strlen(ck->dir) + sizeof("/config.json"));

	sprintf(cfg, "%s/config.json", ck->dir);
	if (!access(cfg, F_OK)) {
		if (ds_config_load(&c, cfg, &err) || ds_modelinfo_init(&mi, &c, &err)) {
			ds_warn("%s: not compared with its config: %s", path, err.msg);
		} else {
			if (!ds_ckcheck_run(&chk, &mi, ck, &err)) {
				ds_ckcheck_report(&chk, path, ds_warn);
				ds_ckcheck_release(&chk);
			}
			ds_modelinfo_release(&mi);
		}
	}
	free(cfg);
}

int sum_tensors(const struct sum_opts *o, char **paths, int n)
{
	for (int i = 0; i < n; i++) {
		struct ds_error err = { 0 };
		struct ds_checkpoint ck;
		uint8_t (*d)[DS_DIGEST_SIZE], model[DS_DIGEST_SIZE];
		char hex[DS_DIGEST_HEX], *esc;
		int escaped;

		if (ds_checkpoint_open(&ck, paths[i], &err))
			ds_die_error(&err);
		d = ds_xcalloc(ck.ntensors + 1, sizeof(*d));
		ds_ckdigest_tensors(&ck, (int)o->threads, d);
		esc = sum_escape(paths[i], 1, &escaped);
		printf("%s# model %s\n", escaped ? "\\" : "", esc);
		free(esc);
		for (size_t k = 0; k < ck.ntensors; k++) {
			ds_digest_hex(d[k], hex);
			esc = sum_escape(ck.sorted[k]->name, 1, &escaped);
			printf("%s%s  tensor %s\n", escaped ? "\\" : "", hex, esc);
			free(esc);
		}
		ds_ckdigest_model(&ck, (const uint8_t (*)[DS_DIGEST_SIZE])d, model);
		ds_digest_hex(model, hex);
		printf("%s  model\n", hex);
		free(d);
		if (fflush(stdout))
			ds_die(EX_IOERR, "write error: %m");
		against_config(paths[i], &ck);
		ds_checkpoint_release(&ck);
		if (fflush(stdout))
			ds_die(EX_IOERR, "write error: %m");
	}
	return 0;
}
