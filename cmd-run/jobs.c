/*
 * jobs.c - ds-run's generating jobs: one prompt, an interactive chat, a
 * batch of prompts.  Each tokenizes through ds-tokenize processes, runs the
 * ring of ring.c through generate.h (which judges every sampled token and
 * shows the text) and reports speed on stderr.
 */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "run.h"
#include "utf8.h"

/* ---- one prompt ---- */

int run_single(struct run_opts *o)
{
	struct ds_error err = { 0 };
	struct ds_gen_seq s = { 0 };
	struct ds_chain ring;
	int32_t *ids;
	size_t n;
	double load;
	char *text = o->prompt ? o->prompt : run_read_prompt();
	int rc;

	if (!*text)
		ds_die(EX_DATAERR, "the prompt is empty");
	run_encode_prompt(o, text, NULL, &ids, &n);
	if (text != o->prompt)
		free(text);
	if (n > (size_t)o->ctx)
		ds_die(EX_DATAERR, "the prompt is %zu tokens, more than the context of %ld positions", n, o->ctx);
	run_start_ring(o, &ring, &load);
	s.prompt = ids;
	s.nprompt = n;
	s.put = run_put;
	if ((rc = ds_generate(&ring, &o->gen, &s, 1, &err)))
		run_die_ring(&ring, &err);
	if (!run_out.closed && isatty(STDOUT_FILENO) && (!s.text.shown || s.text.text[s.text.shown - 1] != '\n'))
		run_write("\n", 1);
	rc = run_finish_ring(&ring);
	if (!rc)
		run_report(load, &s);
	run_out_end();
	free(ids);
	ds_gen_seq_release(&s);
	return rc;	/* a reader that stopped reading (| head) is not an error */
}

/* ---- interactive chat ---- */

/*
 * The conversation is the tokens the model saw: the cache holds every turn
 * as it was sent and generated, and a new turn sends only what follows -
 * the reply's last id if it is not in the cache yet, the end-of-sequence id
 * that closes a reply in the template, and the template's rendering of the
 * new user message.  That rendering is the difference between the template
 * applied to the messages with and without it, with every earlier reply
 * written as "" (the template needs the turns, not their text), so no reply
 * is ever turned back into text and encoded again.
 */
struct chat {
	cJSON *messages;	/* the user messages; replies as "" */
	char *prev;		/* their rendering without the generation prompt, NULL at first */
	uint64_t pos;		/* positions in the cache */
	int32_t unfed;		/* the last reply's id not in the cache, or -1 */
	int closed_by_eos;	/* the last reply ended with EOS (or there was none) */
};

/* The ids of the turn whose user message was just added to c->messages. */
static void turn_ids(const struct run_opts *o, struct chat *c, int32_t **ids, size_t *n)
{
	char *full = run_render(o, c->messages, 1);
	size_t cap = 4, plen = c->prev ? strlen(c->prev) : 0;

	*n = 0;
	if (!c->prev) {		/* the first turn: the whole rendering */
		*ids = NULL;
		cap = 0;
		run_encode_more(o, full, ids, n, &cap);
		free(full);
		return;
	}
	if (strncmp(full, c->prev, plen))
		ds_die(EX_SOFTWARE, "the chat template renders the earlier turns differently once a message is added");
	*ids = ds_xmalloc(cap * sizeof(**ids));
	if (c->unfed >= 0)
		(*ids)[(*n)++] = c->unfed;
	if (!c->closed_by_eos)
		(*ids)[(*n)++] = (int32_t)o->config.eos_token_ids[0];
	run_encode_more(o, full + plen, ids, n, &cap);
	free(full);
}

/* A line that cannot be a message is reported and not sent. */
static int line_ok(const char *line, size_t k, long lineno)
{
	size_t bad;

	if (memchr(line, 0, k)) {
		ds_warn("line %ld holds a NUL byte; it was not sent", lineno);
		return 0;
	}
	if ((bad = ds_utf8_check((const uint8_t *)line, k)) != k) {
		ds_warn("line %ld is not valid UTF-8 (byte %zu); it was not sent", lineno, bad + 1);
		return 0;
	}
	return 1;
}

int run_interactive(struct run_opts *o)
{
	struct ds_error err = { 0 };
	struct chat c = { run_new_messages(o), NULL, 0, -1, 1 };
	struct ds_chain ring;
	char *line = NULL;
	size_t linecap = 0;
	long lineno = 0;
	double load;
	int rc, prompt = isatty(STDIN_FILENO) && !ds_quiet;

	run_start_ring(o, &ring, &load);
	if (!ds_quiet)
		fprintf(stderr, "ds-run: model loaded in %.2f s; one message per line, end with Ctrl-D\n", load);
	while (!run_out.closed) {
		struct ds_gen_seq s = { 0 };
		int32_t *ids;
		size_t n;
		ssize_t k;

		if (prompt)
			fputs("> ", stderr);
		if ((k = getline(&line, &linecap, stdin)) < 0)
			break;
		lineno++;
		while (k && (line[k - 1] == '\n' || line[k - 1] == '\r'))
			line[--k] = 0;
		if (!k || !line_ok(line, (size_t)k, lineno))
			continue;
		run_add_message(c.messages, "user", line);
		turn_ids(o, &c, &ids, &n);
		if (c.pos + n > (uint64_t)o->ctx) {
			ds_warn("the context is full: %llu of %ld positions used, and this message needs %zu more; it was not sent",
				(unsigned long long)c.pos, o->ctx, n);
			cJSON_DeleteItemFromArray(c.messages, cJSON_GetArraySize(c.messages) - 1);
			free(ids);
			continue;
		}
		s.pos = c.pos;
		s.prompt = ids;
		s.nprompt = n;
		s.put = run_put;
		if ((rc = ds_generate(&ring, &o->gen, &s, 1, &err)))
			run_die_ring(&ring, &err);
		run_write("\n", 1);
		run_report(-1, &s);	/* the load was said once, before the first turn */
		if (s.stop == DS_GEN_CONTEXT)
			ds_warn("the context is full (%ld positions): the reply was cut there", o->ctx);
		run_add_message(c.messages, "assistant", "");
		free(c.prev);
		c.prev = run_render(o, c.messages, 0);
		c.pos = s.next_pos;
		c.unfed = s.unfed;
		c.closed_by_eos = s.stop == DS_GEN_EOS;
		free(ids);
		ds_gen_seq_release(&s);
	}
	if (ferror(stdin))
		ds_die(EX_IOERR, "stdin: read error: %m");
	free(line);
	free(c.prev);
	cJSON_Delete(c.messages);
	rc = run_finish_ring(&ring);
	run_out_end();
	return rc;
}

/* ---- a batch of prompts ---- */

/* Tokenize every request: chat ones one by one through the template, plain
 * ones in one ds-tokenize run. */
static void batch_prompts(const struct run_opts *o, const struct run_lines *l, int32_t **prompts, size_t *n)
{
	char **plain = ds_xcalloc(l->n, sizeof(*plain));
	size_t *plain_at = ds_xcalloc(l->n, sizeof(*plain_at)), nplain = 0;

	for (size_t i = 0; i < l->n; i++) {
		cJSON *j = run_parse_request(o->batch, i, l->v[i]);
		cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
		cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "messages");

		if (cJSON_IsArray(m) ? !cJSON_GetArraySize(m) : cJSON_IsString(p) && !*p->valuestring)
			ds_die(EX_DATAERR, "%s: request %zu: the prompt is empty", o->batch, i + 1);
		if (cJSON_IsArray(m) || (o->chat && cJSON_IsString(p)))
			run_encode_prompt(o, cJSON_IsArray(m) ? NULL : p->valuestring, cJSON_IsArray(m) ? m : NULL,
					  &prompts[i], &n[i]);
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

		run_encode_many(o, plain, nplain, pids, pn);
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
}

/* One result line: the text (invalid UTF-8 replaced by U+FFFD, as Python's
 * errors="replace"; token_ids give the exact bytes). */
static void batch_line(size_t i, const struct ds_gen_seq *s)
{
	cJSON *j = cJSON_CreateObject(), *a = cJSON_CreateArray();
	size_t len = s->text.shown;
	char *text = ds_xmalloc(3 * len + 1), *line;

	text[ds_utf8_repair((const uint8_t *)(s->text.text ? s->text.text : ""), len, (uint8_t *)text)] = 0;
	cJSON_AddNumberToObject(j, "index", (double)i);
	cJSON_AddStringToObject(j, "text", text);
	for (size_t t = 0; t < s->ids.n; t++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(s->ids.v[t]));
	cJSON_AddItemToObject(j, "token_ids", a);
	cJSON_AddNumberToObject(j, "prompt_tokens", (double)s->nprompt);
	cJSON_AddNumberToObject(j, "tokens", (double)s->ids.n);
	cJSON_AddStringToObject(j, "stop", ds_gen_stop_names[s->stop]);
	line = cJSON_PrintUnformatted(j);
	if (!run_write(line, strlen(line)))
		run_write("\n", 1);
	free(line);
	free(text);
	cJSON_Delete(j);
}

int run_batch(struct run_opts *o)
{
	struct ds_error err = { 0 };
	struct run_lines l;
	struct ds_chain ring;
	struct ds_gen_seq *seqs;
	struct ds_gen_params gp = o->gen;
	int32_t **prompts;
	size_t *n;
	double load, t0, t;
	long total = 0, full = 0;
	int rc;

	run_read_lines(o->batch, &l);
	if (l.n > 1u << 20)
		ds_die(EX_DATAERR, "%s: too many prompts", o->batch);
	prompts = ds_xcalloc(l.n, sizeof(*prompts));
	n = ds_xcalloc(l.n, sizeof(*n));
	seqs = ds_xcalloc(l.n, sizeof(*seqs));
	batch_prompts(o, &l, prompts, n);
	for (size_t i = 0; i < l.n; i++) {
		seqs[i].prompt = prompts[i];
		seqs[i].nprompt = n[i];
		full += n[i] > (size_t)o->ctx;
	}
	if (full && !ds_quiet)
		ds_warn("%ld prompt%s longer than the context of %ld positions (stop \"context\", no text)", full,
			full == 1 ? " is" : "s are", o->ctx);
	run_start_ring(o, &ring, &load);
	gp.tok = o->gen.tok;
	gp.end_done = 1;	/* a finished sequence frees its caches at once */
	t0 = ds_seconds();
	if ((rc = ds_generate(&ring, &gp, seqs, (int)l.n, &err)))
		run_die_ring(&ring, &err);
	t = ds_seconds() - t0;
	rc = run_finish_ring(&ring);
	for (size_t i = 0; i < l.n && !rc; i++) {
		batch_line(i, &seqs[i]);
		total += seqs[i].generated;
	}
	if (!rc && !ds_quiet)
		fprintf(stderr, "ds-run: load %.2f s; %zu sequences, %ld tokens generated in %.3f s (%.1f tok/s)\n",
			load, l.n, total, t, t > 0 ? (double)total / t : 0.0);
	for (size_t i = 0; i < l.n; i++) {
		free(prompts[i]);
		ds_gen_seq_release(&seqs[i]);
	}
	free(prompts);
	free(n);
	free(seqs);
	run_free_lines(&l);
	run_out_end();
	return rc;
}
