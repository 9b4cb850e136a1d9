/*
 * test-kernels.c - every kernel set this CPU can run against a float64
 * reference, for every weight dtype and awkward shapes; bit-identity of one
 * row versus many, of row ranges, and of thread counts; the FP8 decoding of
 * all 254 finite bytes.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cpu/kernels.h"
#include "testhelp.h"
#include "threadpool.h"

static uint64_t rng = 88172645463325252ull;

static double urand(void)	/* [-1, 1) */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 4503599627370496.0 - 1.0;
}

struct mat_store {
	struct ds_mat m;
	void *data;
	float *scale;
};

static void make_mat(struct mat_store *s, enum ds_dtype dt, long rows, long cols)
{
	size_t n = (size_t)rows * (size_t)cols, esz = ds_dtype_size(dt);

	memset(s, 0, sizeof(*s));
	s->data = malloc(n * esz + 64);
	for (size_t i = 0; i < n; i++) {
		float v = (float)urand();

		switch (dt) {
		case DS_F32:
			((float *)s->data)[i] = v;
			break;
		case DS_F16:
			((uint16_t *)s->data)[i] = ds_f32_to_f16(v);
			break;
		case DS_BF16:
			((uint16_t *)s->data)[i] = ds_f32_to_bf16(v);
			break;
		default: {
			uint8_t b = ds_f32_to_fp8_e4m3(v * 448.0f);

			if ((b & 0x7f) == 0x7f)
				b ^= 1;	/* no NaN weights */
			((uint8_t *)s->data)[i] = b;
		}
		}
	}
	s->m.dtype = dt;
	s->m.rows = rows;
	s->m.cols = cols;
	s->m.ld = cols;
	s->m.data = s->data;
	if (dt == DS_F8_E4M3) {
		long sr = (rows + 127) / 128, sc = (cols + 127) / 128;

		s->scale = malloc((size_t)(sr * sc) * sizeof(float));
		for (long i = 0; i < sr * sc; i++)
			s->scale[i] = (float)(0.001 + 0.01 * (urand() + 1.0));
		s->m.scale = s->scale;
		s->m.scale_ld = sc;
	}
}

static void free_mat(struct mat_store *s)
{
	free(s->data);
	free(s->scale);
}

static double wval(const struct ds_mat *m, long n, long k)
{
	size_t i = (size_t)n * (size_t)m->ld + (size_t)k;

	if (m->dtype == DS_F8_E4M3)
		return (double)ds_fp8_e4m3_to_f32(((const uint8_t *)m->data)[i]) *
		       (double)m->scale[(n / 128) * m->scale_ld + k / 128];
	return ds_mat_get(m, n, k);
}

/* max over outputs of |y - ref| / sum |w x| */
static double matmul_err(const struct ds_kernels *k, const struct ds_mat *m, const float *x, long nx)
{
	float *y = calloc((size_t)(nx * m->rows) + 1, sizeof(float));
	float *scratch = calloc(ds_matmul_scratch(m) + 1, sizeof(float));
	double worst = 0;

	k->matmul(m, 0, m->rows, x, m->cols, nx, y, m->rows, scratch);
	for (long r = 0; r < nx; r++)
		for (long n = 0; n < m->rows; n++) {
			double ref = 0, mag = 1e-30;

			for (long c = 0; c < m->cols; c++) {
				double p = wval(m, n, c) * x[r * m->cols + c];

				ref += p;
				mag += fabs(p);
			}
			double e = fabs(y[r * m->rows + n] - ref) / mag;
			if (e > worst)
				worst = e;
		}
	free(y);
	free(scratch);
	return worst;
}

static double matmul_t_err(const struct ds_kernels *k, const struct ds_mat *m, long i0, long ni,
			   const float *x, long nx)
{
	float *y = calloc((size_t)(nx * m->cols) + 1, sizeof(float));
	double worst = 0;

	k->matmul_t(m, i0, ni, x, ni, nx, y, m->cols);
	for (long r = 0; r < nx; r++)
		for (long j = 0; j < m->cols; j++) {
			double ref = 0, mag = 1e-30;

			for (long i = 0; i < ni; i++) {
				double p = wval(m, i0 + i, j) * x[r * ni + i];

				ref += p;
				mag += fabs(p);
			}
			double e = fabs(y[r * m->cols + j] - ref) / mag;
			if (e > worst)
				worst = e;
		}
	free(y);
	return worst;
}

/* one row at a time, and odd row ranges, must give the bits of one call */
static int matmul_split_identical(const struct ds_kernels *k, const struct ds_mat *m, const float *x, long nx)
{
	size_t ny = (size_t)(nx * m->rows) + 1;
	float *all = calloc(ny, sizeof(float)), *part = calloc(ny, sizeof(float));
	float *scratch = calloc(ds_matmul_scratch(m) + 1, sizeof(float));
	int same;

	k->matmul(m, 0, m->rows, x, m->cols, nx, all, m->rows, scratch);
	for (long r = 0; r < nx; r++)
		for (long n0 = 0; n0 < m->rows;) {
			long n1 = n0 + 1 + (long)((urand() + 1.0) * 20);

			if (n1 > m->rows)
				n1 = m->rows;
			k->matmul(m, n0, n1, x + r * m->cols, m->cols, 1, part + r * m->rows + n0, m->rows, scratch);
			n0 = n1;
		}
	same = !memcmp(all, part, (ny - 1) * sizeof(float));
	free(all);
	free(part);
	free(scratch);
	return same;
}

static void test_fp8_bytes(const struct ds_kernels *k)
{
	/* a 256 x 256 FP8 matrix, row b = byte b everywhere, block scales
	 * 0.37 and 3e-3 (not powers of two); x = e_j: y[b] = fp8(b) * scale */
	struct ds_mat m = { DS_F8_E4M3, 256, 256, 256, NULL, NULL, 2, "bytes" };
	uint8_t *q = malloc(256 * 256);
	float scale[4] = { 0.37f, 3e-3f, 0.37f, 3e-3f }, x[5 * 256], y[5 * 256];
	float *scratch = malloc(ds_matmul_scratch(&m) * sizeof(float));
	int bad = 0, nan = 0;

	for (int b = 0; b < 256; b++)
		memset(q + b * 256, b, 256);
	m.data = q;
	m.scale = scale;
	/* one activation row (converted in registers) and five (panels) */
	for (int j = 0; j < 256; j += 200)
		for (int nx = 1; nx <= 5; nx += 4) {
			memset(x, 0, sizeof(x));
			for (int r = 0; r < nx; r++)
				x[r * 256 + j] = 1;
			k->matmul(&m, 0, 256, x, 256, nx, y, 256, scratch);
			for (int i = 0; i < nx * 256; i++) {
				int b = i % 256;

				if ((b & 0x7f) == 0x7f)
					nan += y[i] != y[i];
				else if (y[i] != ds_fp8_e4m3_to_f32((uint8_t)b) * scale[(b / 128) * 2 + j / 128])	/* -0 sums to +0 */
					bad++;
			}
		}
	checkf(bad == 0, "%s: all 254 finite e4m3 bytes decode exactly, times their block scale (%d wrong)", k->name, bad);
	checkf(nan == 24, "%s: the e4m3 NaN bytes 0x7f and 0xff give NaN (%d of 24)", k->name, nan);
	free(q);
	free(scratch);
}

struct par_ctx {
	const struct ds_kernels *k;
	const struct ds_mat *m;
	const float *x;
	long nx;
	float *y;
	float *scratch[8];
};

static void par_item(void *arg, long item, int thread)
{
	struct par_ctx *c = arg;
	long n0 = item * 128, n1 = n0 + 128 < c->m->rows ? n0 + 128 : c->m->rows;

	c->k->matmul(c->m, n0, n1, c->x, c->m->cols, c->nx, c->y + n0, c->m->rows, c->scratch[thread]);
}

static void test_threads(const struct ds_kernels *k)
{
	struct mat_store s;
	long nx = 5, rows = 1000, cols = 300;
	float *x = malloc((size_t)(nx * cols) * sizeof(float));
	float *y1 = malloc((size_t)(nx * rows) * sizeof(float)), *y3 = malloc((size_t)(nx * rows) * sizeof(float));
	struct par_ctx c = { k, NULL, x, nx, NULL, { 0 } };

	make_mat(&s, DS_F8_E4M3, rows, cols);
	c.m = &s.m;
	for (long i = 0; i < nx * cols; i++)
		x[i] = (float)urand();
	for (int t = 0; t < 8; t++)
		c.scratch[t] = malloc(ds_matmul_scratch(&s.m) * sizeof(float));
	for (int nt = 1; nt <= 3; nt += 2) {
		struct ds_pool *p = ds_pool_new(nt);

		c.y = nt == 1 ? y1 : y3;
		ds_pool_run(p, (rows + 127) / 128, par_item, &c);
		ds_pool_free(p);
	}
	checkf(!memcmp(y1, y3, (size_t)(nx * rows) * sizeof(float)), "%s: 1 and 3 threads give identical bits", k->name);
	for (int t = 0; t < 8; t++)
		free(c.scratch[t]);
	free(x);
	free(y1);
	free(y3);
	free_mat(&s);
}

/*
 * Many activation rows (the AVX-512 kernels' weight panels: more rows than
 * a panel pass, more weight rows than a panel, columns over several panel
 * blocks with a ragged end) give the bits of one row at a time, of a NULL
 * scratch, and of odd row ranges.
 */
static void test_many_rows(const struct ds_kernels *k, enum ds_dtype dt)
{
	struct mat_store s;
	long rows = 75, cols = 700, nx = 203;
	float *x = malloc((size_t)(nx * cols) * sizeof(float));
	float *all = malloc((size_t)(nx * rows) * sizeof(float)), *one = malloc((size_t)(nx * rows) * sizeof(float));
	float *bare = malloc((size_t)(nx * rows) * sizeof(float));
	float *scratch;
	uint64_t saved = rng;	/* leave the other tests' random data as it was */

	make_mat(&s, dt, rows, cols);
	scratch = malloc(ds_matmul_scratch(&s.m) * sizeof(float));
	for (long i = 0; i < nx * cols; i++)
		x[i] = (float)urand();
	k->matmul(&s.m, 0, rows, x, cols, nx, all, rows, scratch);
	/* avx512bf16 needs the scratch for BF16 weights (kernels.h) */
	k->matmul(&s.m, 0, rows, x, cols, nx, bare, rows, dt == DS_BF16 && !strcmp(k->name, "avx512bf16") ? scratch : NULL);
	for (long r = 0; r < nx; r++)
		for (long n0 = 0; n0 < rows;) {
			long n1 = n0 + 1 + (long)((urand() + 1.0) * 9);

			n1 = n1 > rows ? rows : n1;
			k->matmul(&s.m, n0, n1, x + r * cols, cols, 1, one + r * rows + n0, rows, scratch);
			n0 = n1;
		}
	checkf(!memcmp(all, one, (size_t)(nx * rows) * sizeof(float)),
	       "%s %s: %ld activation rows at once give the bits of one at a time", k->name, ds_dtype_short(dt), nx);
	checkf(!memcmp(all, bare, (size_t)(nx * rows) * sizeof(float)), "%s %s: with and without scratch, the same bits",
	       k->name, ds_dtype_short(dt));
	free(x);
	free(all);
	free(one);
	free(bare);
	free(scratch);
	free_mat(&s);
	rng = saved;
}

int main(void)
{
	static const char *const sets[] = { "generic", "avx2", "avx512", "avx512bf16" };
	static const enum ds_dtype dts[] = { DS_F32, DS_F16, DS_BF16, DS_F8_E4M3 };
	static const long shapes[][2] = { { 1, 1 }, { 3, 15 }, { 7, 16 }, { 9, 17 }, { 130, 63 }, { 5, 64 },
					  { 33, 65 }, { 129, 128 }, { 17, 130 }, { 260, 300 }, { 40, 1024 } };
	double worst_all = 0;

	for (size_t si = 0; si < sizeof(sets) / sizeof(sets[0]); si++) {
		const struct ds_kernels *k = ds_kernels_named(sets[si]);

		if (!k) {
			printf("skip - %s kernels (not supported by this CPU)\n", sets[si]);
			continue;
		}
		test_fp8_bytes(k);
		for (size_t di = 0; di < sizeof(dts) / sizeof(dts[0]); di++) {
			double worst = 0, worst_t = 0;
			int identical = 1;

			for (size_t h = 0; h < sizeof(shapes) / sizeof(shapes[0]); h++) {
				struct mat_store s;
				long rows = shapes[h][0], cols = shapes[h][1], nx = 1 + (long)h % 6;
				float *x = malloc((size_t)(nx * (rows > cols ? rows : cols)) * sizeof(float));
				double e;

				make_mat(&s, dts[di], rows, cols);
				for (long i = 0; i < nx * (rows > cols ? rows : cols); i++)
					x[i] = (float)urand();
				e = matmul_err(k, &s.m, x, nx);
				worst = e > worst ? e : worst;
				identical &= matmul_split_identical(k, &s.m, x, nx);
				/* transposed: a band of rows starting off a block boundary */
				long i0 = rows > 3 ? rows / 3 : 0, ni = rows - i0;
				e = matmul_t_err(k, &s.m, i0, ni, x, nx);
				worst_t = e > worst_t ? e : worst_t;
				free(x);
				free_mat(&s);
			}
			printf("# measured %s %s matmul max rel err %.3g, matmul_t %.3g\n", k->name,
			       ds_dtype_short(dts[di]), worst, worst_t);
			checkf(worst < 2e-6, "%s %s matmul within 2e-6 of float64 (%.3g)", k->name,
			       ds_dtype_short(dts[di]), worst);
			checkf(worst_t < 2e-6, "%s %s matmul_t within 2e-6 of float64 (%.3g)", k->name,
			       ds_dtype_short(dts[di]), worst_t);
			checkf(identical, "%s %s: row ranges and single rows give the bits of one call", k->name,
			       ds_dtype_short(dts[di]));
			worst_all = worst > worst_all ? worst : worst_all;
		}
		test_threads(k);
		for (size_t di = 0; di < sizeof(dts) / sizeof(dts[0]); di++)
			test_many_rows(k, dts[di]);
	}
	check("default kernel set chosen", ds_kernels() != NULL);
	return test_done();
}
