/*
 * pipeline.c - ds-run --print-pipeline: the ring as a POSIX shell script
 * that runs from any directory (the tools and the model by absolute path),
 * closes the ring through a FIFO in a temporary directory that it removes
 * however it ends, and exits with the status of the first stage that failed.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "run.h"

/* s quoted for the shell (malloc'd). */
static char *quote(const char *s)
{
	size_t cap = 4 * strlen(s) + 3;	/* every byte a '\'' at worst, two quotes, NUL */
	char *q = ds_xmalloc(cap);

	ds_shell_quote(s, q, cap);
	return q;
}

/* Print stage `n` of a pipeline: "stage N COMMAND...". */
static void print_stage(const struct ds_proc *p, int n)
{
	char line[16384];

	ds_proc_format(p, line, sizeof(line));
	printf("stage %d %s", n, line);
}

static void print_prologue(void)
{
	printf("d=$(mktemp -d) || exit 71\n"
	       "trap 'rm -rf \"$d\"' EXIT\n"
	       "trap 'exit 129' HUP\n"
	       "trap 'exit 130' INT\n"
	       "trap 'exit 143' TERM\n"
	       "mkfifo \"$d/ring\" || exit 71\n"
	       "# each stage leaves its exit status in $d/N; the wrapper lets go of the\n"
	       "# pipes, so that the end of a stage (ds-sample's above all) is seen\n"
	       "stage() {\n"
	       "\tn=$1; shift; exec 3<&0\n"
	       "\t\"$@\" <&3 3<&- & exec <&- >&- 3<&-\n"
	       "\twait $!; echo $? >\"$d/$n\"\n"
	       "}\n");
}

/* The script's status: the first stage that failed on its own (141, a
 * SIGPIPE, is what a stage gets when a later one has gone). */
static void print_epilogue(int nstages)
{
	printf("for n in");
	for (int i = 1; i <= nstages; i++)
		printf(" %d", i);
	printf("; do\n\tread rc <\"$d/$n\" || rc=70\n\t[ \"$rc\" = 0 ] || [ \"$rc\" = 141 ] || exit \"$rc\"\ndone\n");
}

static void print_scorer(const struct run_opts *o)
{
	struct ds_chain c;

	run_build_scorer(o, &c);
	printf("# ds-run --loglikelihood: each request is tokenized (ds-tokenize --jsonl) into a context\n"
	       "# TOKENS frame and a continuation TOKENS frame (one sequence id per request, then\n"
	       "# CONTROL END), written into:\n");
	for (int i = 0; i < c.n; i++) {
		char line[16384];

		ds_proc_format(&c.stage[i], line, sizeof(line));
		printf("%s%s", i ? " |\n  " : "", line);
	}
	printf("\n");
	ds_chain_release(&c);
}

static void print_ring(const struct run_opts *o)
{
	struct ds_chain c;
	struct ds_proc tok;
	char *qm = quote(o->model), *qp, *qtok;
	struct ds_proc *s;

	run_build_ring(o, &c);
	s = &c.stage[c.n - 1];
	if (o->max_tokens > 0)
		ds_proc_argf(s, "--max-tokens=%ld", o->max_tokens);
	if (!o->ignore_eos)
		for (int i = 0; i < o->config.n_eos; i++)
			ds_proc_argf(s, "--eos=%ld", o->config.eos_token_ids[i]);
	ds_proc_init(&tok, "ds-tokenize");
	qtok = quote(tok.argv[0]);
	print_prologue();
	if (o->chat) {
		cJSON *m = run_new_messages(o);
		char *json;

		run_add_message(m, "user", o->prompt ? o->prompt : "PROMPT");
		json = cJSON_PrintUnformatted(m);
		qp = quote(json);
		printf("printf '%%s\\n' %s | stage 1 %s -m %s --chat --generation-prompt%s%s |\n", qp, qtok, qm,
		       o->template_name ? " --template " : "", o->template_name ? o->template_name : "");
		free(json);
		cJSON_Delete(m);
	} else {
		qp = quote(o->prompt ? o->prompt : "PROMPT");
		printf("printf '%%s' %s | stage 1 %s -m %s |\n", qp, qtok, qm);
	}
	/* 3< opens the FIFO for reading at once: tee's open for writing must
	 * never wait for a cat that died (its reader gone) before reaching it */
	printf("  cat - \"$d/ring\" 3<\"$d/ring\" | ");
	for (int i = 0; i < c.n; i++) {
		print_stage(&c.stage[i], i + 2);
		printf(" |\n  ");
	}
	printf("tee \"$d/ring\" | stage %d %s -m %s -d\n", c.n + 2, qtok, qm);
	print_epilogue(c.n + 2);
	if (o->nstops)
		printf("# --stop is applied by ds-run to the decoded text; this pipeline does not stop there\n");
	if (o->ctx_size || o->max_tokens < 0)
		printf("# ds-run stops at the end of the context; here ds-forward refuses the frame beyond it\n");
	free(qp);
	free(qtok);
	free(qm);
	ds_proc_release(&tok);
	ds_chain_release(&c);
}

int run_print_pipeline(const struct run_opts *o)
{
	struct run_opts abs = *o;
	char *model = realpath(o->model, NULL);

	/* paths that work from anywhere: the tools are found next to ds-run
	 * (ds_tool_path), the model by its absolute path */
	if (model)
		abs.model = model;
	if (o->loglikelihood) {
		print_scorer(&abs);
	} else {
		if (o->batch || o->interactive)
			printf("# ds-run %s drives this ring itself (many turns or sequences); here it runs for one prompt\n",
			       o->interactive ? "-i" : "--batch");
		print_ring(&abs);
	}
	free(model);
	run_out_end();
	return 0;
}
