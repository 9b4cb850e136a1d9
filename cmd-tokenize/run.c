/*
 * run.c - the four jobs of ds-tokenize: encode a stream, encode JSON lines,
 * decode, and encode a chat.  Each reads j->in and writes stdout; errors go
 * through ds_die with the sysexits code the library chose.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "stream.h"
#include "textio.h"
#include "tokenize.h"
#include "toolio.h"
#include "utf8.h"

/* ---- writing ids: TOKENS frames (seq 0, pos running) or text ---- */

struct emitter {
	int format;
	struct ds_writer w;
	struct ds_frame f;
	uint64_t pos;
	int printed;		/* text: ids printed on the current line */
};

static void emit_init(struct emitter *e, int format)
{
	memset(e, 0, sizeof(*e));
	e->format = format;
	ds_writer_init(&e->w, stdout, "stdout");
	ds_frame_init(&e->f);
}

/* Write ids; `last` ends the document (FINAL frame, or the newline). */
static void emit(struct emitter *e, const struct ds_ids *ids, int last)
{
	if (e->format == FMT_TEXT) {
		for (size_t i = 0; i < ids->n; i++)
			printf(e->printed++ ? " %d" : "%d", (int)ids->v[i]);
		if (last) {
			putchar('\n');
			e->printed = 0;
		}
		if (fflush(stdout))
			ds_die(EX_IOERR, "write error: %m");
		return;
	}
	if (!ids->n && !last)
		return;
	uint32_t dim = (uint32_t)ids->n;
	if (ds_frame_setup(&e->f, DS_KIND_TOKENS, DS_I32, 1, &dim))
		ds_die(EX_DATAERR, "too many ids for one frame");
	if (ids->n)
		memcpy(e->f.data, ids->v, ids->n * sizeof(int32_t));
	e->f.seq = 0;
	e->f.pos = e->pos;
	e->f.flags = last ? DS_FLAG_FINAL : 0;
	e->pos += ids->n;
	ds_tool_write(&e->w, &e->f);
	if (last)
		e->pos = 0;
}

static void emit_release(struct emitter *e)
{
	ds_frame_release(&e->f);
}

/* ---- encode: the whole input is one document ---- */

void tok_run_encode(struct tok_job *j)
{
	struct ds_error err = { 0 };
	struct ds_tok_stream s;
	struct ds_ids ids = { 0 };
	struct emitter e;
	static char buf[1 << 16];
	size_t n;

	emit_init(&e, j->o->format);
	ds_tok_stream_init(&s, j->tok, j->o->lossy);
	s.chunk = (size_t)j->o->chunk;
	if (j->bos_id >= 0)
		ds_ids_push(&ids, j->bos_id);
	while ((n = fread(buf, 1, sizeof(buf), j->in)) > 0) {
		if (ds_tok_stream_feed(&s, buf, n, &ids, &err))
			ds_die(err.code, "%s: %s", j->in_name, err.msg);
		if (ids.n >= 4096) {
			emit(&e, &ids, 0);
			ids.n = 0;
		}
	}
	if (ferror(j->in))
		ds_die(EX_IOERR, "%s: read error: %m", j->in_name);
	if (ds_tok_stream_finish(&s, &ids, &err))
		ds_die(err.code, "%s: %s", j->in_name, err.msg);
	emit(&e, &ids, 1);
	ds_tok_stream_release(&s);
	ds_ids_release(&ids);
	emit_release(&e);
}

/* Check or repair UTF-8 text that arrived whole; returns it (maybe a new
 * malloc'd copy in *owned). */
static const char *valid_text(struct tok_job *j, const char *s, size_t *n, char **owned,
			      const char *where)
{
	size_t bad = ds_utf8_check((const uint8_t *)s, *n);

	*owned = NULL;
	if (bad == *n)
		return s;
	if (!j->o->lossy)
		ds_die(EX_DATAERR, "%s: invalid UTF-8 at byte offset %zu (use --lossy to replace it)", where, bad);
	*owned = ds_xmalloc(3 * *n + 1);
	*n = ds_utf8_repair((const uint8_t *)s, *n, (uint8_t *)*owned);
	return *owned;
}

/* ---- encode JSON lines ---- */

void tok_run_jsonl(struct tok_job *j)
{
	struct ds_error err = { 0 };
	char *line = NULL, where[64];
	size_t cap = 0;
	long lineno = 0;

	while (getline(&line, &cap, j->in) > 0) {
		struct ds_ids ids = { 0 };
		cJSON *obj = cJSON_Parse(line);	/* checks the whole line is JSON */
		const char *s;
		char *owned, *text;
		size_t n;

		lineno++;
		snprintf(where, sizeof(where), "%s: line %ld", j->in_name, lineno);
		if (!cJSON_IsObject(obj))
			ds_die(EX_DATAERR, "%s: not a JSON object", where);
		/* the text itself is unescaped here: cJSON's C strings stop at U+0000 */
		if (ds_tok_json_member(line, strlen(line), "text", &text, &n, &err))
			ds_die(EX_DATAERR, "%s: %s", where, err.msg);
		s = valid_text(j, text, &n, &owned, where);
		if (j->bos_id >= 0)
			ds_ids_push(&ids, j->bos_id);
		if (ds_tokenizer_encode(j->tok, s, n, &ids, &err))
			ds_die(err.code, "%s: %s", where, err.msg);
		putchar('[');
		for (size_t i = 0; i < ids.n; i++)
			printf(i ? ",%d" : "%d", (int)ids.v[i]);
		fputs("]\n", stdout);
		free(owned);
		free(text);
		ds_ids_release(&ids);
		cJSON_Delete(obj);
	}
	free(line);
	if (ferror(j->in))
		ds_die(EX_IOERR, "%s: read error: %m", j->in_name);
}

/* ---- decode ---- */

static int put_stdout(const void *p, size_t n, void *ctx)
{
	(void)ctx;
	if (fwrite(p, 1, n, stdout) != n || fflush(stdout))
		return EX_IOERR;
	return 0;
}

static void decoded(struct ds_tok_decoder *d, const int32_t *ids, size_t n)
{
	if (ds_tok_decoder_put(d, ids, n, put_stdout, NULL))
		ds_die(EX_IOERR, "write error: %m");
}

void tok_run_decode(struct tok_job *j)
{
	struct ds_error err = { 0 };
	struct ds_tok_decoder d;

	ds_tok_decoder_init(&d, j->tok, j->o->skip_special);
	if (j->o->format == FMT_TEXT) {
		char *line = NULL;
		size_t cap = 0, idcap = 0;
		int32_t *ids = NULL;
		long lineno = 0, n;

		while (getline(&line, &cap, j->in) > 0) {
			lineno++;
			if ((n = ds_ids_parse_line(line, &ids, &idcap, &err)) < 0)
				ds_die(err.code, "%s: line %ld: %s", j->in_name, lineno, err.msg);
			decoded(&d, ids, (size_t)n);
		}
		free(line);
		free(ids);
	} else {
		struct ds_reader r;
		struct ds_frame f;
		int rc;

		ds_frame_init(&f);
		ds_reader_init(&r, j->in, j->in_name);
		while ((rc = ds_read_frame(&r, &f, &err)) == 1) {
			if (f.kind != DS_KIND_TOKENS)
				continue;	/* text only: other frames are not passed on */
			if (f.dtype != DS_I32)
				ds_die(EX_DATAERR, "%s: frame %llu: TOKENS frame is not i32", j->in_name,
				       (unsigned long long)(r.index - 1));
			decoded(&d, f.data, (size_t)ds_frame_numel(&f));
		}
		if (rc != 0)
			ds_die_error(&err);
		ds_frame_release(&f);
	}
	if (ferror(j->in))
		ds_die(EX_IOERR, "%s: read error: %m", j->in_name);
	if (ds_tok_decoder_finish(&d, put_stdout, NULL))
		ds_die(EX_IOERR, "write error: %m");
	if (d.unknown)
		ds_warn("%llu ids the tokenizer does not define were skipped", (unsigned long long)d.unknown);
}

/* ---- chat ---- */

/* Whether JSON text holds a \u0000 escape (an odd run of backslashes before
 * "u0000"): cJSON would cut the string there, so such input is refused. */
static int has_nul_escape(const char *s, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i++) {
		size_t k = 0;
		if (memcmp(s + i + 1, "u0000", 5) || s[i] != '\\')
			continue;
		while (k <= i && s[i - k] == '\\')
			k++;
		if (k % 2)
			return 1;
	}
	return 0;
}

void tok_run_chat(struct tok_job *j)
{
	struct ds_chat_opts co = { j->o->generation_prompt, j->bos_text, 1 };
	struct ds_error err = { 0 };
	struct ds_ids ids = { 0 };
	struct ds_chat_text ct;
	struct emitter e;
	char *in = NULL, *owned;
	const char *s;
	size_t len = 0, cap = 0;
	int rc;

	while (!feof(j->in)) {
		if (len + 65536 > cap) {
			cap = 2 * cap + 65536;
			in = ds_xrealloc(in, cap);
		}
		len += fread(in + len, 1, cap - len, j->in);
		if (ferror(j->in))
			ds_die(EX_IOERR, "%s: read error: %m", j->in_name);
	}
	if (in && has_nul_escape(in, len)) {
		free(in);
		ds_die(EX_DATAERR, "%s: U+0000 in chat messages is not supported", j->in_name);
	}
	/* the messages, not the rendering, are checked (or repaired): the
	 * rendered text's literal ranges then stay where they are */
	s = valid_text(j, in ? in : "", &len, &owned, j->in_name);
	rc = ds_chat_render_text(j->tmpl, s, len, &co, &ct, &err);
	free(owned);
	free(in);
	if (rc)
		ds_die(err.code, "%s: %s", j->in_name, err.msg);
	len = ct.len;	/* the template's own text (bos_token) may still need it */
	s = valid_text(j, ct.text, &len, &owned, "the rendered chat");
	if (owned && j->o->literal_content)
		ds_die(EX_DATAERR, "the rendered chat is not valid UTF-8 outside the messages; --literal-content cannot repair it");
	if (j->o->render) {
		if (fwrite(s, 1, len, stdout) != len)
			ds_die(EX_IOERR, "write error: %m");
	} else {
		if (j->o->literal_content ? ds_tokenizer_encode_literal(j->tok, s, len, (const size_t (*)[2])ct.literal,
									ct.nliteral, &ids, &err)
					  : ds_tokenizer_encode(j->tok, s, len, &ids, &err))
			ds_die_error(&err);
		emit_init(&e, j->o->format);
		emit(&e, &ids, 1);
		emit_release(&e);
	}
	free(owned);
	ds_chat_text_release(&ct);
	ds_ids_release(&ids);
}
