/*
 * ring.c - what ds-run's jobs share: the tool processes they start (the
 * generation ring, the scoring chain, ds-tokenize for prompts and chat
 * templates), reading the prompt and request files, and standard output,
 * where only a reader that went away is not an error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "run.h"
#include "tokproc.h"

/* ---- the ring ---- */

static void add_device(const struct run_opts *o, struct ds_proc *p)
{
	if (o->device) {
		ds_proc_arg(p, "--device");
		ds_proc_arg(p, o->device);
	}
	if (o->threads)
		ds_proc_argf(p, "--threads=%ld", o->threads);
}

static void add_forward(const struct run_opts *o, struct ds_chain *c, int all_positions)
{
	struct ds_proc *p;

	p = ds_chain_add(c, "ds-embed");
	ds_proc_arg(p, "-m");
	ds_proc_arg(p, o->model);
	ds_proc_arg(p, "--pass-tokens");
	p = ds_chain_add(c, "ds-forward");
	ds_proc_arg(p, "-m");
	ds_proc_arg(p, o->model);
	ds_proc_arg(p, "--head");
	/* a LOGITS frame is vocab x 4 bytes per position: hashing it twice
	 * (write, verify) would cost about a quarter of a small model's step */
	ds_proc_arg(p, "--no-digest");
	if (all_positions)
		ds_proc_arg(p, "--all-positions");
	if (o->drafts && !all_positions) {	/* the verify pass: the drafter needs the residuals */
		ds_proc_arg(p, "--emit-hidden");
		ds_proc_argf(p, "--last-positions=%ld", o->drafts + 1);
	}
	add_device(o, p);
	/* ds-run stops a sequence before it fills the context; the cap in
	 * ds-forward keeps its cache to the same size */
	if (o->ctx_size)
		ds_proc_argf(p, "--ctx-size=%ld", o->ctx_size);
}

void run_build_ring(const struct run_opts *o, struct ds_chain *ring)
{
	char args[DS_SAMPLE_NARGS][64];
	struct ds_proc *p;
	int n = ds_sample_params_args(&o->sample, args);

	ds_chain_init(ring);
	add_forward(o, ring, 0);
	p = ds_chain_add(ring, "ds-sample");
	if (o->drafts)
		ds_proc_arg(p, "--verify");
	for (int i = 0; i < n; i++)
		ds_proc_arg(p, args[i]);
	if (!o->drafts)
		return;
	/* the drafter draws its drafts as ds-sample would (the same options);
	 * no --ctx-size: ds-run cuts drafts that would pass the context */
	p = ds_chain_add(ring, "ds-forward");
	ds_proc_arg(p, "-m");
	ds_proc_arg(p, o->model);
	ds_proc_arg(p, "--mtp");
	ds_proc_argf(p, "--draft=%ld", o->drafts);
	if (o->draft_adaptive)
		ds_proc_arg(p, "--draft-policy=adaptive");
	if (o->draft_vocab)
		ds_proc_argf(p, "--draft-vocab=%ld", o->draft_vocab);
	add_device(o, p);
	for (int i = 0; i < n; i++)
		ds_proc_arg(p, args[i]);
}

struct ds_proc *run_sampler_stage(const struct run_opts *o, struct ds_chain *ring)
{
	return &ring->stage[ring->n - (o->drafts ? 2 : 1)];
}

void run_build_scorer(const struct run_opts *o, struct ds_chain *c)
{
	ds_chain_init(c);
	add_forward(o, c, 1);
	ds_proc_arg(ds_chain_add(c, "ds-score"), "--requests");
}

int run_finish_ring(struct ds_chain *ring)
{
	struct ds_error err = { 0 };
	int rc = ds_chain_finish(ring, &err);

	if (rc)
		ds_warn("%s", err.msg);
	ds_chain_release(ring);
	return rc;
}

void run_die_ring(struct ds_chain *ring, const struct ds_error *why)
{
	struct ds_error stage = { 0 };
	int rc = ds_chain_finish(ring, &stage);

	if (rc)		/* the stage that failed has said why; name it */
		ds_die(rc, "%s", stage.msg);
	ds_die(why->code ? why->code : EX_SOFTWARE, "%s", why->msg);
}

void run_start_ring(struct run_opts *o, struct ds_chain *ring, double *load_seconds)
{
	struct ds_error err = { 0 };
	double t0 = ds_seconds();
	char path[4096];

	run_build_ring(o, ring);
	if (ds_chain_start(ring, 1, &err))
		ds_die_error(&err);
	/* the token bytes, read while the stages load the model */
	snprintf(path, sizeof(path), "%s/tokenizer.json", o->model);
	if (!o->tok && ds_tokenizer_load(&o->tok, path, &err))
		run_die_ring(ring, &err);
	o->gen.tok = o->tok;
	if (ds_ring_ready(ring, 0, &err))
		run_die_ring(ring, &err);
	*load_seconds = ds_seconds() - t0;
}

/* ---- tokenizing ---- */

void run_chat_args(const struct run_opts *o, const char **args, int render, int gen_prompt)
{
	int n = 0;

	args[n++] = "--chat";
	if (gen_prompt)
		args[n++] = "--generation-prompt";
	if (render)
		args[n++] = "--render";
	if (o->template_name) {
		args[n++] = "--template";
		args[n++] = o->template_name;
	}
	args[n] = NULL;
}

cJSON *run_new_messages(const struct run_opts *o)
{
	cJSON *m = cJSON_CreateArray();

	if (o->system)
		run_add_message(m, "system", o->system);
	return m;
}

void run_add_message(cJSON *messages, const char *role, const char *content)
{
	cJSON *u = cJSON_CreateObject();

	cJSON_AddStringToObject(u, "role", role);
	cJSON_AddStringToObject(u, "content", content);
	cJSON_AddItemToArray(messages, u);
}

char *run_render(const struct run_opts *o, cJSON *messages, int gen_prompt)
{
	struct ds_error err = { 0 };
	const char *args[8];
	char *json = cJSON_PrintUnformatted(messages), *out;

	run_chat_args(o, args, 1, gen_prompt);
	if (ds_tokproc_run(o->model, args, json, strlen(json), &out, NULL, &err))
		ds_die_error(&err);
	free(json);
	return out;
}

void run_encode_prompt(const struct run_opts *o, const char *text, cJSON *messages, int32_t **ids, size_t *n)
{
	struct ds_error err = { 0 };
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (o->chat || messages) {
		const char *args[8];
		cJSON *m = messages ? messages : run_new_messages(o);
		char *json;

		if (!messages)
			run_add_message(m, "user", text);
		json = cJSON_PrintUnformatted(m);
		run_chat_args(o, args, 0, 1);
		rc = ds_tokproc_encode(o->model, args, json, strlen(json), ids, n, &cap, &err);
		free(json);
		if (!messages)
			cJSON_Delete(m);
	} else {
		rc = ds_tokproc_encode(o->model, NULL, text, strlen(text), ids, n, &cap, &err);
	}
	if (rc)
		ds_die_error(&err);
	if (!*n)
		ds_die(EX_DATAERR, "the prompt is empty (no tokens)");
}

void run_encode_more(const struct run_opts *o, const char *text, int32_t **ids, size_t *n, size_t *cap)
{
	static const char *const no_bos[] = { "--no-bos", NULL };
	struct ds_error err = { 0 };

	if (ds_tokproc_encode(o->model, no_bos, text, strlen(text), ids, n, cap, &err))
		ds_die_error(&err);
}

void run_encode_many(const struct run_opts *o, char *const *texts, size_t count, int32_t **ids, size_t *n)
{
	static const char *const jsonl[] = { "--jsonl", NULL };
	struct ds_error err = { 0 };
	size_t len = 0, cap = 1 << 16;
	char *in = ds_xmalloc(cap), *out, *line, *save = NULL;

	for (size_t i = 0; i < count; i++) {
		cJSON *obj = cJSON_CreateObject();
		char *s;
		size_t sl;

		cJSON_AddStringToObject(obj, "text", texts[i]);
		s = cJSON_PrintUnformatted(obj);
		sl = strlen(s);
		while (len + sl + 2 > cap)
			in = ds_xrealloc(in, cap *= 2);
		memcpy(in + len, s, sl);
		len += sl;
		in[len++] = '\n';
		free(s);
		cJSON_Delete(obj);
	}
	if (ds_tokproc_run(o->model, jsonl, in, len, &out, NULL, &err))
		ds_die_error(&err);
	free(in);
	line = strtok_r(out, "\n", &save);
	for (size_t i = 0; i < count; i++) {
		cJSON *a = line ? cJSON_Parse(line) : NULL;

		if (!cJSON_IsArray(a))
			ds_die(EX_SOFTWARE, "ds-tokenize --jsonl gave no id array for text %zu", i + 1);
		n[i] = (size_t)cJSON_GetArraySize(a);
		ids[i] = ds_xmalloc((n[i] ? n[i] : 1) * sizeof(int32_t));
		for (size_t t = 0; t < n[i]; t++)
			ids[i][t] = (int32_t)cJSON_GetArrayItem(a, (int)t)->valuedouble;
		cJSON_Delete(a);
		line = strtok_r(NULL, "\n", &save);
	}
	free(out);
}

/* ---- input ---- */

char *run_read_prompt(void)
{
	size_t n = 0, cap = 1 << 16;
	char *buf = ds_xmalloc(cap);
	int tty = isatty(STDIN_FILENO);

	if (tty && !ds_quiet)
		fprintf(stderr, "ds-run: reading the prompt from standard input (end it with Ctrl-D)\n");
	for (;;) {
		ssize_t k;

		/* room for a whole terminal line (4096 bytes in canonical
		 * mode), so a read never ends inside one */
		if (cap - n < 8192)
			buf = ds_xrealloc(buf, cap *= 2);
		k = read(STDIN_FILENO, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			ds_die(EX_IOERR, "stdin: read error: %m");
		if (k == 0)
			break;
		n += (size_t)k;
		/* a terminal hands over a line without its newline only when
		 * Ctrl-D ended it: that one Ctrl-D ends the prompt */
		if (tty && buf[n - 1] != '\n')
			break;
	}
	buf[n] = 0;
	if (memchr(buf, 0, n))
		ds_die(EX_DATAERR, "stdin: the prompt holds a NUL byte");
	return buf;
}

void run_read_lines(const char *path, struct run_lines *l)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t k;

	if (!fp)
		ds_die(EX_NOINPUT, "cannot open '%s': %m", path);
	memset(l, 0, sizeof(*l));
	while ((k = getline(&line, &cap, fp)) >= 0) {
		while (k && (line[k - 1] == '\n' || line[k - 1] == '\r'))
			line[--k] = 0;
		if (!k)
			continue;
		l->v = ds_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n++] = ds_xstrdup(line);
	}
	if (ferror(fp))
		ds_die(EX_IOERR, "%s: read error: %m", path);
	free(line);
	fclose(fp);
	if (!l->n)
		ds_die(EX_DATAERR, "%s: no requests", path);
}

void run_free_lines(struct run_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

cJSON *run_parse_request(const char *path, size_t i, const char *line)
{
	cJSON *j = cJSON_Parse(line);

	if (!cJSON_IsObject(j))
		ds_die(EX_DATAERR, "%s: request %zu is not a JSON object", path, i + 1);
	return j;
}

/* ---- output ---- */

struct run_out run_out;

static void write_failed(void)
{
	run_out.closed = 1;
	if (errno != EPIPE)
		run_out.err = errno ? errno : EIO;
}

int run_write(const void *p, size_t n)
{
	if (run_out.closed)
		return -1;
	errno = 0;
	if (fwrite(p, 1, n, stdout) != n || fflush(stdout)) {
		write_failed();
		return -1;
	}
	return 0;
}

int run_put(const char *p, size_t n, void *unused)
{
	(void)unused;
	return run_write(p, n);
}

void run_out_end(void)
{
	errno = 0;
	/* ferror too: glibc drops a buffer whose write failed */
	if (!run_out.closed && (fflush(stdout) || ferror(stdout)))
		write_failed();
	if (run_out.err)
		ds_die(EX_IOERR, "write error: %s", strerror(run_out.err));
}

void run_report(double load, const struct ds_gen_seq *s)
{
	if (ds_quiet)
		return;
	fputs("ds-run: ", stderr);
	if (load >= 0)
		fprintf(stderr, "load %.2f s; ", load);
	fprintf(stderr, "prompt %zu tokens in %.3f s (%.1f tok/s); "
		"generated %ld tokens in %.3f s (%.1f tok/s); stop: %s\n",
		s->nprompt, s->t_prompt, s->t_prompt > 0 ? (double)s->nprompt / s->t_prompt : 0.0,
		s->generated, s->t_generate,
		s->generated > 1 && s->t_generate > 0 ? (double)(s->generated - 1) / s->t_generate : 0.0,
		ds_gen_stop_names[s->stop]);
}
