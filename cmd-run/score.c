/*
 * score.c - ds-run --loglikelihood: lm-evaluation-harness loglikelihood
 * requests through one model load (ds-embed | ds-forward --all-positions |
 * ds-score --requests), answers written in file order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "run.h"

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
static void ll_tokenize(const struct run_opts *o, struct run_lines *l, struct ll_feed *f)
{
	char **texts = ds_xcalloc(2 * l->n, sizeof(*texts));
	int32_t **ids = ds_xcalloc(2 * l->n, sizeof(*ids));
	size_t *n = ds_xcalloc(2 * l->n, sizeof(*n));

	for (size_t i = 0; i < l->n; i++) {
		cJSON *j = run_parse_request(o->loglikelihood, i, l->v[i]);
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
	run_encode_many(o, texts, 2 * l->n, ids, n);
	for (size_t i = 0; i < l->n; i++) {
		size_t nc = n[2 * i], nw = n[2 * i + 1];

		if (!nc)
			ds_die(EX_DATAERR, "%s: request %zu: the context has no tokens (no BOS in this tokenizer?)",
			       o->loglikelihood, i + 1);
		if (nw <= nc)
			ds_die(EX_DATAERR, "%s: request %zu: the continuation adds no tokens after the context",
			       o->loglikelihood, i + 1);
		if (nw > (size_t)o->ctx)
			ds_die(EX_DATAERR, "%s: request %zu: %zu tokens do not fit in the context of %ld positions",
			       o->loglikelihood, i + 1, nw, o->ctx);
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

int run_loglikelihood(struct run_opts *o)
{
	struct ll_feed f = { 0 };
	struct ds_chain chain;
	struct run_lines l;
	struct ds_error err = { 0 };
	pthread_t writer;
	char **answers, buf[1 << 14], *acc = NULL;
	size_t accn = 0, acccap = 0, got = 0;
	double t0;
	long tokens = 0;
	int rc;

	run_read_lines(o->loglikelihood, &l);
	f.n = l.n;
	f.ctx = ds_xcalloc(l.n, sizeof(*f.ctx));
	f.cont = ds_xcalloc(l.n, sizeof(*f.cont));
	f.nctx = ds_xcalloc(l.n, sizeof(*f.nctx));
	f.ncont = ds_xcalloc(l.n, sizeof(*f.ncont));
	answers = ds_xcalloc(l.n, sizeof(*answers));
	ll_tokenize(o, &l, &f);
	for (size_t i = 0; i < l.n; i++)
		tokens += (long)(f.nctx[i] + f.ncont[i]);
	run_build_scorer(o, &chain);
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
		if (!run_write(answers[i], strlen(answers[i])))
			run_write("\n", 1);
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
	run_free_lines(&l);
	run_out_end();
	return 0;
}
