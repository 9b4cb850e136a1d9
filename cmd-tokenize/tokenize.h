/*
 * tokenize.h - what main.c and the job loops of ds-tokenize share.
 */
#ifndef DS_TOKENIZE_TOOL_H
#define DS_TOKENIZE_TOOL_H

#include <stdio.h>

#include "chat.h"
#include "tokenizer.h"

enum tok_format { FMT_FRAMES, FMT_TEXT };

struct tok_opts {
	const char *tokenizer;	/* -t FILE */
	const char *model;	/* -m DIR */
	int decode;
	int format;		/* enum tok_format */
	int jsonl;
	int bos;		/* -1: follow tokenizer_config.json */
	int lossy;
	int skip_special;
	int chat;
	int generation_prompt;
	int template_;		/* -1: recognise; else enum ds_chat_template */
	int render;
	int literal_content;	/* chat: message text never forms added tokens */
	long chunk;		/* stream encoder chunk in bytes (tests use small ones) */
};

/* What a job needs: the options, the tokenizer, and the BOS id to add
 * (-1 for none). */
struct tok_job {
	const struct tok_opts *o;
	struct ds_tokenizer *tok;
	int32_t bos_id;
	const char *bos_text;		/* for chat templates; may be NULL */
	enum ds_chat_template tmpl;
	FILE *in;
	const char *in_name;
};

void tok_run_encode(struct tok_job *j);
void tok_run_jsonl(struct tok_job *j);
void tok_run_decode(struct tok_job *j);
void tok_run_chat(struct tok_job *j);

#endif
