/*
 * speculative.h - ds-bench's speculative-decoding figures (--speculative K),
 * kept apart from the prefill/decode bench in main.c: one hook there, the
 * measuring here, the decoding itself in common/spec.c.
 */
#ifndef DS_BENCH_SPEC_H
#define DS_BENCH_SPEC_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "backend.h"
#include "model.h"

struct bench_spec_opts {
	long drafts;			/* K: drafts per step */
	long draft_vocab;		/* drafts from ids below it; 0: all */
	int adaptive;			/* 0..K drafts a pass, as the adaptive policy chooses */
	double temperature;		/* of both runs' sampler */
	uint64_t seed;			/* of the sampler's random stream */
	long gen, reps;
	const int32_t *prompt;		/* the prompt, n ids */
	long n;
};

/*
 * Decode gen tokens reps times (after one warm-up) without drafts and with
 * K drafts per step, alternating, through one backend that runs the main
 * layers, the head and the MTP module.  Returns the record's
 * "speculative" object: tok/s of both (median and samples, decode only,
 * prefill excluded), their ratio, tokens per main-model pass, acceptance
 * per draft position, and whether both runs gave the same tokens (they
 * must).  *plain and *spec get the two medians.  Dies on a backend error.
 */
cJSON *bench_speculative(struct ds_backend *b, const struct ds_model *m, const struct bench_spec_opts *o,
			 double *plain, double *spec);

#endif
