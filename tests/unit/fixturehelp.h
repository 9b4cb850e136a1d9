/*
 * fixturehelp.h - what the C tests that read the reference fixtures
 * (tests/fixtures/models/<name>/expected.safetensors) share: a tensor by
 * name, and the relative error they report.
 */
#ifndef DS_FIXTUREHELP_H
#define DS_FIXTUREHELP_H

#include <math.h>
#include <string.h>

#include "safetensors.h"

/* The tensor called name in f, or NULL. */
static inline const struct ds_tensor_info *fixture_tensor(const struct ds_st_file *f, const char *name)
{
	for (int i = 0; i < f->ntensors; i++)
		if (!strcmp(f->tensors[i].name, name))
			return &f->tensors[i];
	return NULL;
}

/* max |a - b| / max |b| over n values */
static inline double fixture_rel_err(const float *a, const float *b, long n)
{
	double d = 0, mx = 1e-30;

	for (long i = 0; i < n; i++) {
		double e = fabs((double)a[i] - (double)b[i]);

		d = e > d ? e : d;
		mx = fabs(b[i]) > mx ? fabs(b[i]) : mx;
	}
	return d / mx;
}

#endif
