/*
 * info.h - what ds-info's main.c gathers and report.c prints.
 */
#ifndef DS_INFO_TOOL_H
#define DS_INFO_TOOL_H

#include "modelinfo.h"
#include "safetensors.h"

struct info {
	const char *dir;
	struct ds_modelinfo mi;
	int have_ck;			/* a checkpoint was found and opened */
	struct ds_checkpoint ck;
	struct ds_ckcheck chk;
	int scanned;			/* --check read every byte */
	struct ds_ckscan scan;
	long tok_ids;			/* -1: no tokenizer.json */
	const char *chat_template;	/* "v3", "r1", "unknown", or NULL */
};

/* The report on stdout: plain text, or one JSON object with --json. */
void info_print_text(const struct info *in);
void info_print_json(const struct info *in);

#endif
