/*
 * sum.h - the three jobs of ds-sum, shared between its files: file digests
 * in b2sum's format, frame digests, checkpoint tensor digests, and checking
 * a manifest of any of them.  Each returns the exit status to use.
 */
#ifndef DS_SUM_H
#define DS_SUM_H

#include <stdio.h>

struct sum_opts {
	int tensors;		/* --tensors: arguments are checkpoints */
	int check;		/* -c: arguments are manifests */
	int raw;		/* never treat input as frames */
	int frames;		/* always treat input as frames */
	const char *model;	/* -m: checkpoint for tensor lines of -c */
	long threads;
};

/* b2sum -l 256 lines for each path ("-" = stdin); a frame stream on stdin
 * gets frame lines instead (unless raw).  Keeps going past unreadable
 * files: 66 when one could not be opened, 74 when one could not be read. */
int sum_files(const struct sum_opts *o, char **paths, int n);
/* "# model PATH", one line per tensor, then the model line, per path. */
int sum_tensors(const struct sum_opts *o, char **paths, int n);
/* Verify manifests; prints "WHAT: OK" / "WHAT: FAILED"; 1 on any failure. */
int sum_check(const struct sum_opts *o, char **paths, int n);

/* shared helpers (files.c) */
FILE *sum_open_input(const char *path, int *is_frames, const struct sum_opts *o);
/* the frame line's digest and text for the next frame, 1; 0 at the end;
 * or an error code (message printed) */
struct ds_reader;
struct ds_frame;
int sum_next_frame(struct ds_reader *r, struct ds_frame *f, unsigned char digest[32], char *what,
		   size_t cap);
/* name with b2sum's escapes (\\, \n, \r), malloc'd; *escaped says whether
 * any was needed (the line then starts with a backslash).  With controls,
 * for tensor names and model paths, which b2sum never reads back, the
 * other control characters (C0, DEL, C1) become \xHH too, so a hostile
 * name can neither break its manifest line nor reach a terminal raw. */
char *sum_escape(const char *name, int controls, int *escaped);

#endif
