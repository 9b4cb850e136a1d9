/*
 * jobs.c - ds-run's jobs: one prompt, an interactive chat, a batch of
 * prompts, loglikelihood requests; and --print-pipeline.  Each job tokenizes
 * through ds-tokenize processes, runs the model through a chain of tool
 * processes and reports speed on stderr.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "run.h"
#include "tokproc.h"

/* ---- the ring ---- */

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
	if (o->device) {
		ds_proc_arg(p, "--device");
		ds_proc_arg(p, o->device);
	}
	if (o->threads)
		ds_proc_argf(p, "--threads=%ld", o->threads);
}

void run_build_ring(const struct run_opts *o, struct ds_chain *ring)
{
	struct ds_proc *p;

	ds_chain_init(ring);
	add_forward(o, ring, 0);
	p = ds_chain_add(ring, "ds-sample");
	for (int i = 0; i < o->nsample_args; i += 2)
		ds_proc_argf(p, "--%s=%s", o->sample_args[i], o->sample_args[i + 1]);
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

/* A broken ring: collect the stages' fate and die with the failing one's code. */
static void die_ring(struct ds_chain *ring, const struct ds_error *why)
{
	struct ds_error stage = { 0 };
	int rc = ds_chain_finish(ring, &stage);

	if (rc)		/* the stage that failed has said why; name it */
		ds_die(rc, "%s", stage.msg);
	ds_die(why->code ? why->code : EX_SOFTWARE, "%s", why->msg);
}

void run_start_ring(const struct run_opts *o, struct ds_chain *ring, double *load_seconds)
{
	struct ds_error err = { 0 };
	double t0 = ds_seconds();

	run_build_ring(o, ring);
	if (ds_chain_start(ring, 1, &err))
		ds_die_error(&err);
	if (ds_ring_ready(ring, 0, &err))
		die_ring(ring, &err);
	*load_seconds = ds_seconds() - t0;
}

/* ---- tokenizing ---- */

static const char *const no_bos[] = { "--no-bos", NULL };

static char *read_all(FILE *fp, const char *name, size_t *len)
{
	size_t n = 0, cap = 1 << 16;
	char *buf = ds_xmalloc(cap);
	size_t k;

	while ((k = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
		n += k;
		if (n + 1 == cap)
			buf = ds_xrealloc(buf, cap *= 2);
	}
	if (ferror(fp))
		ds_die(EX_IOERR, "%s: read error: %m", name);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* The chat arguments for ds-tokenize, NULL-terminated. */
static void chat_args(const struct run_opts *o, const char **args, int render, int gen_prompt)
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

static cJSON *new_messages(const struct run_opts *o)
{
	cJSON *m = cJSON_CreateArray();

	if (o->system) {
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "role", "system");
		cJSON_AddStringToObject(s, "content", o->system);
		cJSON_AddItemToArray(m, s);
	}
	return m;
}

static void add_message(cJSON *messages, const char *role, const char *content)
{
	cJSON *u = cJSON_CreateObject();

	cJSON_AddStringToObject(u, "role", role);
	cJSON_AddStringToObject(u, "content", content);
	cJSON_AddItemToArray(messages, u);
}

/* Tokenize one prompt: plain text (BOS as tokenizer_config says) or, with
 * --chat, as a user message through the chat template. */
static void encode_prompt(const struct run_opts *o, const char *text, size_t len, cJSON *messages,
			  int32_t **ids, size_t *n, size_t *cap)
{
	struct ds_error err = { 0 };
	int rc;

	if (o->chat || messages) {
		const char *args[8];
		cJSON *m = messages ? messages : new_messages(o);
		char *json;

		if (!messages)
			add_message(m, "user", text);
		json = cJSON_PrintUnformatted(m);
		chat_args(o, args, 0, 1);
		rc = ds_tokproc_encode(o->model, args, json, strlen(json), ids, n, cap, &err);
		free(json);
		if (!messages)
			cJSON_Delete(m);
	} else {
		rc = ds_tokproc_encode(o->model, NULL, text, len, ids, n, cap, &err);
	}
	if (rc)
		ds_die_error(&err);
	if (!*n)
		ds_die(EX_DATAERR, "the prompt is empty (no tokens)");
}

/* Tokenize many plain texts in one ds-tokenize --jsonl run (BOS as
 * tokenizer_config.json says): ids[i] (malloc'd) and n[i] for texts[i]. */
static void encode_many(const struct run_opts *o, char *const *texts, size_t count, int32_t **ids, size_t *n)
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

/* ---- one prompt ---- */

static int put_stdout(const char *p, size_t n, void *ended)
{
	if (fwrite(p, 1, n, stdout) != n || fflush(stdout)) {
		*(int *)ended = 1;
		return -1;
	}
	return 0;
}

static void report(double load, const struct ds_gen_result *r)
{
	if (ds_quiet)
		return;
	fprintf(stderr, "ds-run: load %.2f s; prompt %ld tokens in %.3f s (%.1f tok/s); "
		"generated %ld tokens in %.3f s (%.1f tok/s); stop: %s\n",
		load, r->prompt_tokens, r->t_prompt, r->t_prompt > 0 ? (double)r->prompt_tokens / r->t_prompt : 0.0,
		r->generated, r->t_generate,
		r->generated > 1 && r->t_generate > 0 ? (double)(r->generated - 1) / r->t_generate : 0.0,
		ds_gen_stop_names[r->stop]);
}

int run_single(struct run_opts *o)
{
	struct ds_error err = { 0 };
	struct ds_gen_result res;
	struct ds_chain ring;
	int32_t *ids = NULL;
	size_t n = 0, cap = 0, len;
	double load;
	int ended = 0, rc;
	char *text = o->prompt;

	if (!text)
		text = read_all(stdin, "stdin", &len);
	else
		len = strlen(text);
	encode_prompt(o, text, len, NULL, &ids, &n, &cap);
	if (text != o->prompt)
		free(text);
	run_start_ring(o, &ring, &load);
	rc = ds_generate(&ring, o->model, 0, 0, ids, n, &o->gen, put_stdout, &ended, 1, &res, &err);
	free(ids);
	if (rc)
		die_ring(&ring, &err);
	if (!ended && isatty(STDOUT_FILENO) && (!res.text_len || res.text[res.text_len - 1] != '\n'))
		putchar('\n');
	free(res.text);
	rc = run_finish_ring(&ring);
	if (!rc)
		report(load, &res);
	return rc;	/* a reader that stopped reading (| head) is not an error */
}

/* ---- interactive chat ---- */

static char *render(const struct run_opts *o, cJSON *messages, int gen_prompt)
{
	struct ds_error err = { 0 };
	const char *args[8];
	char *json = cJSON_PrintUnformatted(messages), *out;

	chat_args(o, args, 1, gen_prompt);
	if (ds_tokproc_run(o->model, args, json, strlen(json), &out, NULL, &err))
		ds_die_error(&err);
	free(json);
	return out;
}

int run_interactive(struct run_opts *o)
{
	struct ds_error err = { 0 };
	struct ds_chain ring;
	cJSON *messages = new_messages(o);
	char *line = NULL, *prev = NULL;
	size_t linecap = 0;
	uint64_t pos = 0;
	int32_t unfed = -1, *ids = NULL;
	enum ds_gen_stop last_stop = DS_GEN_EOS;
	double load;
	int ended = 0, rc = 0, prompt = isatty(STDIN_FILENO) && !ds_quiet;

	run_start_ring(o, &ring, &load);
	if (!ds_quiet)
		fprintf(stderr, "ds-run: model loaded in %.2f s; one message per line, end with Ctrl-D\n", load);
	for (;;) {
		struct ds_gen_result res;
		size_t n = 0, cap = 0;
		ssize_t k;
		char *full;

		if (prompt)
			fputs("> ", stderr);
		if ((k = getline(&line, &linecap, stdin)) < 0)
			break;
		while (k && (line[k - 1] == '\n' || line[k - 1] == '\r'))
			line[--k] = 0;
		if (!k)
			continue;
		add_message(messages, "user", line);
		full = render(o, messages, 1);
		if (prev && !strncmp(full, prev, strlen(prev))) {
			/* only the new turn goes in: the cache holds the rest */
			const char *suffix = full + strlen(prev);
			cap = 4;
			ids = ds_xmalloc(cap * sizeof(*ids));
			if (unfed >= 0)
				ids[n++] = unfed;
			if (last_stop != DS_GEN_EOS)
				ids[n++] = (int32_t)o->config.eos_token_ids[0];
			if (ds_tokproc_encode(o->model, no_bos, suffix, strlen(suffix), &ids, &n, &cap, &err))
				ds_die_error(&err);
		} else {
			if (prev && ds_ring_ready(&ring, 0, &err))	/* RESET: start over */
				die_ring(&ring, &err);
			pos = 0;
			if (ds_tokproc_encode(o->model, no_bos, full, strlen(full), &ids, &n, &cap, &err))
				ds_die_error(&err);
		}
		free(full);
		rc = ds_generate(&ring, o->model, 0, pos, ids, n, &o->gen, put_stdout, &ended, 1, &res, &err);
		free(ids);
		ids = NULL;
		if (rc)
			die_ring(&ring, &err);
		if (!ended)
			put_stdout("\n", 1, &ended);
		report(0, &res);
		add_message(messages, "assistant", res.text ? res.text : "");
		free(res.text);
		free(prev);
		prev = render(o, messages, 0);
		pos = res.next_pos;
		unfed = res.unfed;
		last_stop = res.stop;
		if (ended)
			break;
	}
	free(line);
	free(prev);
	cJSON_Delete(messages);
	return run_finish_ring(&ring);
}

/* ---- a batch of prompts ---- */

struct lines {
	char **v;
	size_t n;
};

static void read_lines(const char *path, struct lines *l)
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
	free(line);
	fclose(fp);
	if (!l->n)
		ds_die(EX_DATAERR, "%s: no requests", path);
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static cJSON *parse_line(const char *path, size_t i, const char *line)
{
	cJSON *j = cJSON_Parse(line);

	if (!cJSON_IsObject(j))
		ds_die(EX_DATAERR, "%s: request %zu is not a JSON object", path, i + 1);
	return j;
}

/* Decode ids to text through ds-tokenize -d -f text. */
static char *decode_ids(const struct run_opts *o, const int32_t *ids, size_t n)
{
	static const char *const args[] = { "-d", "-f", "text", NULL };
	struct ds_error err = { 0 };
	size_t cap = n * 12 + 2, len = 0;
	char *in = ds_xmalloc(cap), *out;

	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(in + len, cap - len, i ? " %d" : "%d", ids[i]);
	in[len++] = '\n';
	if (ds_tokproc_run(o->model, args, in, len, &out, NULL, &err))
		ds_die_error(&err);
	free(in);
	return out;
}

int run_batch(struct run_opts *o)
{
	struct ds_error err = { 0 };
	struct lines l;
	struct ds_chain ring;
	double load, t0;
	long total = 0;
	int rc;

	read_lines(o->batch, &l);
	int32_t **prompts = ds_xcalloc(l.n, sizeof(*prompts)), **out = ds_xcalloc(l.n, sizeof(*out));
	size_t *n = ds_xcalloc(l.n, sizeof(*n)), *out_n = ds_xcalloc(l.n, sizeof(*out_n));
	enum ds_gen_stop *stops = ds_xcalloc(l.n, sizeof(*stops));

	/* chat prompts one by one through the template; plain ones in one run */
	char **plain = ds_xcalloc(l.n, sizeof(*plain));
	size_t *plain_at = ds_xcalloc(l.n, sizeof(*plain_at)), nplain = 0;
	for (size_t i = 0; i < l.n; i++) {
		cJSON *j = parse_line(o->batch, i, l.v[i]);
		cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
		cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "messages");
		size_t cap = 0;

		if (cJSON_IsArray(m) || (o->chat && cJSON_IsString(p)))
			encode_prompt(o, cJSON_IsString(p) ? p->valuestring : NULL, cJSON_IsString(p) ? strlen(p->valuestring) : 0,
				      cJSON_IsArray(m) ? m : NULL, &prompts[i], &n[i], &cap);
		else if (cJSON_IsString(p)) {
			plain_at[nplain] = i;
			plain[nplain++] = ds_xstrdup(p->valuestring);
		} else
			ds_die(EX_DATAERR, "%s: request %zu has neither a \"prompt\" string nor \"messages\"", o->batch, i + 1);
		cJSON_Delete(j);
	}
	if (nplain) {
		int32_t **pids = ds_xcalloc(nplain, sizeof(*pids));
		size_t *pn = ds_xcalloc(nplain, sizeof(*pn));
		encode_many(o, plain, nplain, pids, pn);
		for (size_t k = 0; k < nplain; k++) {
			if (!pn[k])
				ds_die(EX_DATAERR, "%s: request %zu: the prompt is empty (no tokens)", o->batch, plain_at[k] + 1);
			prompts[plain_at[k]] = pids[k];
			n[plain_at[k]] = pn[k];
			free(plain[k]);
		}
		free(pids);
		free(pn);
	}
	free(plain);
	free(plain_at);
	if (l.n > 1u << 20)
		ds_die(EX_DATAERR, "%s: too many prompts", o->batch);
	run_start_ring(o, &ring, &load);
	t0 = ds_seconds();
	if ((rc = ds_generate_batch(&ring, (int)l.n, prompts, n, &o->gen, out, out_n, stops, &err)))
		die_ring(&ring, &err);
	double t = ds_seconds() - t0;
	rc = run_finish_ring(&ring);
	for (size_t i = 0; i < l.n && !rc; i++) {
		char *text = decode_ids(o, out[i], out_n[i]);
		cJSON *j = cJSON_CreateObject();
		char *s;

		long cut = ds_stop_find(text, strlen(text), o->stops, o->nstops, NULL);

		if (cut >= 0) {
			text[cut] = 0;
			stops[i] = DS_GEN_STOP_STRING;
		}
		cJSON_AddNumberToObject(j, "index", (double)i);
		cJSON_AddStringToObject(j, "text", text);
		cJSON_AddNumberToObject(j, "prompt_tokens", (double)n[i]);
		cJSON_AddNumberToObject(j, "tokens", (double)out_n[i]);
		cJSON_AddStringToObject(j, "stop", ds_gen_stop_names[stops[i]]);
		s = cJSON_PrintUnformatted(j);
		printf("%s\n", s);
		free(s);
		cJSON_Delete(j);
		free(text);
		total += (long)out_n[i];
	}
	if (!rc && !ds_quiet)
		fprintf(stderr, "ds-run: load %.2f s; %zu sequences, %ld tokens generated in %.3f s (%.1f tok/s)\n",
			load, l.n, total, t, t > 0 ? (double)total / t : 0.0);
	for (size_t i = 0; i < l.n; i++) {
		free(prompts[i]);
		free(out[i]);
	}
	free(prompts);
	free(out);
	free(n);
	free(out_n);
	free(stops);
	free_lines(&l);
	if (fflush(stdout))
		ds_die(EX_IOERR, "write error: %m");
	return rc;
}

/* ---- loglikelihood requests ---- */

struct ll_feed {
	struct ds_chain *chain;
	size_t n;
	int32_t **ctx, **cont;
	size_t *nctx, *ncont;
	struct ds_error err;
	int rc;
};

/* The writer side, in its own thread so that a full pipe on the way back
 * can never stall us while we are still writing. */
static void *ll_writer(void *arg)
{
	struct ll_feed *f = arg;
	struct ds_frame fr;

	ds_frame_init(&fr);
	for (size_t i = 0; i < f->n && !f->rc; i++) {
		uint32_t dim = (uint32_t)f->nctx[i];

		ds_frame_setup(&fr, DS_KIND_TOKENS, DS_I32, 1, &dim);
		memcpy(fr.data, f->ctx[i], dim * sizeof(int32_t));
		fr.seq = i;
		fr.pos = 0;
		fr.flags = 0;
		if ((f->rc = ds_chain_send(f->chain, &fr, &f->err)))
			break;
		dim = (uint32_t)f->ncont[i];
		ds_frame_setup(&fr, DS_KIND_TOKENS, DS_I32, 1, &dim);
		memcpy(fr.data, f->cont[i], dim * sizeof(int32_t));
		fr.pos = f->nctx[i];
		fr.flags = DS_FLAG_FINAL;
		if ((f->rc = ds_chain_send(f->chain, &fr, &f->err)))
			break;
		ds_frame_control(&fr, DS_CONTROL_END, i);
		f->rc = ds_chain_send(f->chain, &fr, &f->err);
	}
	ds_frame_release(&fr);
	ds_chain_close_input(f->chain);
	return NULL;
}

/* lm-evaluation-harness's split: trailing spaces of the context belong to
 * the continuation; the continuation's tokens are those of context +
 * continuation after the context's own tokens. */
static void ll_tokenize(const struct run_opts *o, struct lines *l, struct ll_feed *f)
{
	char **texts = ds_xcalloc(2 * l->n, sizeof(*texts));
	int32_t **ids = ds_xcalloc(2 * l->n, sizeof(*ids));
	size_t *n = ds_xcalloc(2 * l->n, sizeof(*n));

	for (size_t i = 0; i < l->n; i++) {
		cJSON *j = parse_line(o->loglikelihood, i, l->v[i]);
		cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "context");
		cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "continuation");

		if (!cJSON_IsString(c) || !cJSON_IsString(k) || !*k->valuestring)
			ds_die(EX_DATAERR, "%s: request %zu needs string \"context\" and non-empty \"continuation\"",
			       o->loglikelihood, i + 1);
		size_t cl = strlen(c->valuestring), sp = 0;
		while (sp < cl && c->valuestring[cl - 1 - sp] == ' ')
			sp++;
		texts[2 * i] = ds_xstrdup(c->valuestring);
		texts[2 * i][cl - sp] = 0;
		texts[2 * i + 1] = ds_xmalloc(cl + strlen(k->valuestring) + 1);
		strcpy(texts[2 * i + 1], c->valuestring);
		strcat(texts[2 * i + 1], k->valuestring);
		cJSON_Delete(j);
	}
	encode_many(o, texts, 2 * l->n, ids, n);
	for (size_t i = 0; i < l->n; i++) {
		size_t nc = n[2 * i], nw = n[2 * i + 1];

		if (!nc)
			ds_die(EX_DATAERR, "%s: request %zu: the context has no tokens (no BOS in this tokenizer?)",
			       o->loglikelihood, i + 1);
		if (nw <= nc)
			ds_die(EX_DATAERR, "%s: request %zu: the continuation adds no tokens after the context",
			       o->loglikelihood, i + 1);
		f->nctx[i] = nc;
		f->ncont[i] = nw - nc;
		f->ctx[i] = ids[2 * i];
		f->cont[i] = ds_xmalloc((nw - nc) * sizeof(int32_t));
		memcpy(f->cont[i], ids[2 * i + 1] + nc, (nw - nc) * sizeof(int32_t));
		free(ids[2 * i + 1]);
		free(texts[2 * i]);
		free(texts[2 * i + 1]);
	}
	free(texts);
	free(ids);
	free(n);
}

static void build_scorer(const struct run_opts *o, struct ds_chain *c)
{
	ds_chain_init(c);
	add_forward(o, c, 1);
	ds_proc_arg(ds_chain_add(c, "ds-score"), "--requests");
}

int run_loglikelihood(struct run_opts *o)
{
	struct ll_feed f = { 0 };
	struct ds_chain chain;
	struct lines l;
	struct ds_error err = { 0 };
	pthread_t writer;
	char **answers, buf[1 << 14], *acc = NULL;
	size_t accn = 0, acccap = 0, got = 0;
	double t0;
	long tokens = 0;
	int rc;

	read_lines(o->loglikelihood, &l);
	f.n = l.n;
	f.ctx = ds_xcalloc(l.n, sizeof(*f.ctx));
	f.cont = ds_xcalloc(l.n, sizeof(*f.cont));
	f.nctx = ds_xcalloc(l.n, sizeof(*f.nctx));
	f.ncont = ds_xcalloc(l.n, sizeof(*f.ncont));
	answers = ds_xcalloc(l.n, sizeof(*answers));
	ll_tokenize(o, &l, &f);
	for (size_t i = 0; i < l.n; i++)
		tokens += (long)(f.nctx[i] + f.ncont[i]);
	build_scorer(o, &chain);
	t0 = ds_seconds();
	if (ds_chain_start(&chain, 1, &err))
		ds_die_error(&err);
	f.chain = &chain;
	if (pthread_create(&writer, NULL, ll_writer, &f))
		ds_die(EX_OSERR, "cannot start a thread");
	/* answers come in the order requests end; put them back in file order */
	int fd = fileno(chain.out);
	ssize_t k;
	while ((k = read(fd, buf, sizeof(buf))) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (accn + (size_t)k + 1 > acccap)
			acc = ds_xrealloc(acc, acccap = (accn + (size_t)k + 1) * 2);
		memcpy(acc + accn, buf, (size_t)k);
		accn += (size_t)k;
		char *nl;
		while ((nl = memchr(acc, '\n', accn))) {
			*nl = 0;
			cJSON *j = cJSON_Parse(acc);
			cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "seq");
			if (cJSON_IsNumber(s) && s->valuedouble >= 0 && (size_t)s->valuedouble < l.n &&
			    !answers[(size_t)s->valuedouble]) {
				answers[(size_t)s->valuedouble] = ds_xstrdup(acc);
				got++;
			}
			cJSON_Delete(j);
			accn -= (size_t)(nl + 1 - acc);
			memmove(acc, nl + 1, accn);
		}
	}
	pthread_join(writer, NULL);
	rc = ds_chain_finish(&chain, &err);
	ds_chain_release(&chain);
	if (rc)
		ds_die(rc, "%s", err.msg);
	if (f.rc)
		ds_die(f.rc, "%s", f.err.msg);
	if (got != l.n)
		ds_die(EX_SOFTWARE, "ds-score answered %zu of %zu requests", got, l.n);
	for (size_t i = 0; i < l.n; i++) {
		printf("%s\n", answers[i]);
		free(answers[i]);
		free(f.ctx[i]);
		free(f.cont[i]);
	}
	if (!ds_quiet) {
		double t = ds_seconds() - t0;
		fprintf(stderr, "ds-run: %zu requests, %ld tokens scored in %.3f s (%.1f tok/s, model load included)\n",
			l.n, tokens, t, t > 0 ? (double)tokens / t : 0.0);
	}
	free(acc);
	free(answers);
	free(f.ctx);
	free(f.cont);
	free(f.nctx);
	free(f.ncont);
	free_lines(&l);
	if (fflush(stdout))
		ds_die(EX_IOERR, "write error: %m");
	return 0;
}

/* ---- the pipeline as shell commands ---- */

int run_print_pipeline(const struct run_opts *o)
{
	struct ds_chain c;
	char line[8192], q[4096];

	if (o->loglikelihood || o->batch || o->interactive) {
		const char *what = o->interactive ? "-i" : o->batch ? "--batch" : "--loglikelihood";
		if (o->loglikelihood) {
			build_scorer(o, &c);
			ds_chain_format(&c, line, sizeof(line));
			printf("# ds-run %s: each request is tokenized (ds-tokenize -m %s --jsonl) into a context\n"
			       "# TOKENS frame and a continuation TOKENS frame (one sequence id per request, then\n"
			       "# CONTROL END), written into:\n%s\n", what, o->model, line);
			ds_chain_release(&c);
			return 0;
		}
		printf("# ds-run %s drives this ring itself (many turns or sequences); see below for one prompt\n", what);
	}
	run_build_ring(o, &c);
	{
		struct ds_proc *s = &c.stage[c.n - 1];
		if (o->max_tokens >= 0)
			ds_proc_argf(s, "--max-tokens=%ld", o->max_tokens);
		if (!o->ignore_eos)
			for (int i = 0; i < o->config.n_eos; i++)
				ds_proc_argf(s, "--eos=%ld", o->config.eos_token_ids[i]);
	}
	ds_chain_format(&c, line, sizeof(line));
	ds_chain_release(&c);
	printf("ring=$(mktemp -u) && mkfifo \"$ring\"\n");
	if (o->chat) {
		cJSON *m = new_messages(o);
		add_message(m, "user", o->prompt ? o->prompt : "PROMPT");
		char *json = cJSON_PrintUnformatted(m);
		ds_shell_quote(json, q, sizeof(q));
		printf("printf '%%s\\n' %s | ds-tokenize -m %s --chat --generation-prompt%s%s |\n", q, o->model,
		       o->template_name ? " --template " : "", o->template_name ? o->template_name : "");
		free(json);
		cJSON_Delete(m);
	} else {
		ds_shell_quote(o->prompt ? o->prompt : "PROMPT", q, sizeof(q));
		printf("printf '%%s' %s | ds-tokenize -m %s |\n", q, o->model);
	}
	printf("  cat - \"$ring\" | %s |\n  tee \"$ring\" | ds-tokenize -m %s -d\n", line, o->model);
	printf("rm -f \"$ring\"\n");
	if (o->nstops)
		printf("# --stop is applied by ds-run to the decoded text; this pipeline does not stop there\n");
	return 0;
}
