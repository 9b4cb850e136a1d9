// mla.cu - the latent cache rows, rope, and absorbed attention against the
// paged cache (ops.cuh; the math of common/cpu/mla.h, on the device).
#include "dev.cuh"
#include "ops.cuh"

/* accumulator slots per thread: DSC_MAX_RKV / DSC_ROW_THREADS */
#define ACC_SLOTS (DSC_MAX_RKV / DSC_ROW_THREADS)

template <typename CT>
static __device__ __forceinline__ CT *cache_row(const struct dsc_cache &c, int slot, long pos)
{
	char *page = c.tables[(size_t)slot * (size_t)c.maxp + (size_t)(pos / DSC_PAGE)];

	return (CT *)page + ((size_t)c.layer * DSC_PAGE + (size_t)(pos % DSC_PAGE)) * (size_t)c.width;
}

static __device__ __forceinline__ void put(float *p, float v)
{
	*p = v;
}

static __device__ __forceinline__ void put(__nv_bfloat16 *p, float v)
{
	*p = __float2bfloat16(v);
}

static __device__ __forceinline__ float get(const float *p)
{
	return *p;
}

static __device__ __forceinline__ float get(const __nv_bfloat16 *p)
{
	return __bfloat162float(*p);
}

/* pair i of x rotated by the table cs (rope.h's rule) */
static __device__ __forceinline__ void rotate(const float *cs, long half, long i, float a, float b, float *o0, float *o1)
{
	float c = cs[i], s = cs[half + i];

	*o0 = a * c - b * s;
	*o1 = b * c + a * s;
}

template <typename CT>
static __global__ void k_cache_rows(struct dsc_rows rows, struct dsc_cache cache, struct dsc_mla_dims d,
				    const float *kv, long ldkv, const float *kv_norm, const float *q, long ldq,
				    float *qf)
{
	DS_SMEM(double, red, 32);
	const long r = blockIdx.x, W = d.rkv + d.dr, half = d.dr / 2;
	const float *x = kv + (size_t)r * (size_t)ldkv, *cs = rows.cs + (size_t)r * (size_t)rows.dr;
	CT *dst = cache_row<CT>(cache, rows.slot[r], rows.pos[r]);
	double ss = 0;
	float rr;

	for (long i = threadIdx.x; i < d.rkv; i += blockDim.x)
		ss += (double)x[i] * (double)x[i];
	ss = dsc_block_sum_d(ss, red);
	rr = 1.0f / sqrtf((float)(ss / (double)d.rkv) + d.latent_eps);
	for (long i = threadIdx.x; i < d.rkv; i += blockDim.x)
		put(dst + i, kv_norm[i] * (x[i] * rr));
	for (long i = threadIdx.x; i < half; i += blockDim.x) {
		float o0, o1;

		rotate(cs, half, i, x[d.rkv + 2 * i], x[d.rkv + 2 * i + 1], &o0, &o1);
		put(dst + d.rkv + 2 * i, o0);
		put(dst + d.rkv + 2 * i + 1, o1);
	}
	for (long t = threadIdx.x; t < d.H * half; t += blockDim.x) {
		long h = t / half, i = t % half;
		const float *qp = q + (size_t)r * (size_t)ldq + (size_t)(h * d.dq + d.dn);
		float *o = qf + ((size_t)r * (size_t)d.H + (size_t)h) * (size_t)W + (size_t)d.rkv;

		rotate(cs, half, i, qp[2 * i], qp[2 * i + 1], o + 2 * i, o + 2 * i + 1);
	}
}

int dsc_mla_cache_rows(struct dsc_ctx *c, const struct dsc_rows *rows, long n, const struct dsc_cache *cache,
		       const struct dsc_mla_dims *d, const float *kv, long ldkv, const float *kv_norm, const float *q,
		       long ldq, float *qf, struct ds_error *err)
{
	dim3 g((unsigned)n), b(DSC_ROW_THREADS);

	if (n <= 0)
		return 0;
	if (cache->f32)
		DSC_LAUNCH(err, k_cache_rows<float>, g, b, 0, c->st, false, *rows, *cache, *d, kv, ldkv, kv_norm, q, ldq, qf);
	else
		DSC_LAUNCH(err, k_cache_rows<__nv_bfloat16>, g, b, 0, c->st, false, *rows, *cache, *d, kv, ldkv, kv_norm, q,
			   ldq, qf);
	return 0;
}

/*
 * One (row, head) per block: keys 0..pos in tiles of one per thread, an
 * online softmax (running max m, sum l), the latent accumulator spread
 * over the threads (dimension i at thread i % 128, slot i / 128).  The
 * grid is fixed by rows and heads; the key count comes from the state.
 */
template <typename CT>
static __global__ void k_attend(struct dsc_rows rows, struct dsc_cache cache, struct dsc_mla_dims d,
				const float *qf, float *ol)
{
	DS_SMEM(float, sc, DSC_ROW_THREADS);
	DS_SMEM(float, red, 32);
	DS_DYN_SMEM(float, qs);
	const long r = blockIdx.x, h = blockIdx.y, W = d.rkv + d.dr, S = (long)rows.pos[r] + 1;
	const int slot = rows.slot[r], tid = threadIdx.x;
	const float *qv = qf + ((size_t)r * (size_t)d.H + (size_t)h) * (size_t)W;
	float acc[ACC_SLOTS], m = -INFINITY, l = 0;

	for (long i = tid; i < W; i += blockDim.x)
		qs[i] = qv[i];
#pragma unroll
	for (int a = 0; a < ACC_SLOTS; a++)
		acc[a] = 0;
	__syncthreads();
	for (long t0 = 0; t0 < S; t0 += DSC_ROW_THREADS) {
		long s = t0 + tid, nt = S - t0 < DSC_ROW_THREADS ? S - t0 : DSC_ROW_THREADS;
		float score = -INFINITY, mt, mnew, corr, p;

		if (s < S) {
			const CT *row = cache_row<CT>(cache, slot, s);
			float dot = 0;

			for (long i = 0; i < W; i++)
				dot += qs[i] * get(row + i);
			score = dot * d.sigma;
		}
		mt = dsc_block_max(score, red);
		mnew = fmaxf(m, mt);
		corr = expf(m - mnew);
		p = s < S ? expf(score - mnew) : 0.0f;
		sc[tid] = p;
		l = l * corr + dsc_block_sum(p, red);	/* its barriers also publish sc */
#pragma unroll
		for (int a = 0; a < ACC_SLOTS; a++) {
			long i = tid + (long)a * DSC_ROW_THREADS;

			if (i < d.rkv) {
				float v = acc[a] * corr;

				for (long j = 0; j < nt; j++)
					v += sc[j] * get(cache_row<CT>(cache, slot, t0 + j) + i);
				acc[a] = v;
			}
		}
		m = mnew;
		__syncthreads();	/* sc is rewritten by the next tile */
	}
#pragma unroll
	for (int a = 0; a < ACC_SLOTS; a++) {
		long i = tid + (long)a * DSC_ROW_THREADS;

		if (i < d.rkv)
			ol[((size_t)r * (size_t)d.H + (size_t)h) * (size_t)d.rkv + (size_t)i] = acc[a] / l;
	}
}

int dsc_mla_attend(struct dsc_ctx *c, const struct dsc_rows *rows, long n, const struct dsc_cache *cache,
		   const struct dsc_mla_dims *d, const float *qf, float *ol, struct ds_error *err)
{
	dim3 g((unsigned)n, (unsigned)d->H), b(DSC_ROW_THREADS);
	size_t smem = (size_t)(d->rkv + d->dr) * sizeof(float);

	if (n <= 0)
		return 0;
	if (cache->f32)
		DSC_LAUNCH(err, k_attend<float>, g, b, smem, c->st, false, *rows, *cache, *d, qf, ol);
	else
		DSC_LAUNCH(err, k_attend<__nv_bfloat16>, g, b, smem, c->st, false, *rows, *cache, *d, qf, ol);
	return 0;
}
