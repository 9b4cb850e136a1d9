/*
 * emu.h - dspipe's CPU emulator of the CUDA subset its .cu files use.
 *
 * The same .cu sources that nvcc compiles for the GPU are compiled by g++
 * with this header forced in front of them:
 *
 *     g++ -std=c++17 -x c++ -include common/cuda/emu/emu.h -DDS_HAVE_CUDA=1 -DDS_EMU=1 f.cu
 *
 * and linked with the common/cuda/emu .cc files instead of libcudart/libcublas.  It
 * exists so that CI, which has the CUDA toolkit's headers but no GPU, runs
 * the kernels, the host code, graphs and cuBLAS calls; it is built only for
 * tests (make emu), never shipped.  The toolkit's own headers supply the
 * types, the runtime declarations and the number formats (cuda_bf16.h,
 * cuda_fp16.h, cuda_fp8.h convert bit-exactly with round-to-nearest-even),
 * so the emulator implements behaviour, not declarations.
 *
 * WHAT IT MODELS
 *  - Threads of a block are cooperative fibers on one OS thread (a
 *    hand-written x86-64 switch, ASan-annotated).  A thread runs until its
 *    next scheduling point: __syncthreads*, every warp collective
 *    (__shfl*_sync, __ballot_sync, __any/__all_sync, __syncwarp,
 *    __reduce_*_sync, __match_any_sync), or its end.  So a read of another
 *    thread's data without a barrier between changes with the order.
 *  - Orders (EMU_SCHEDULE): forward (default), reverse, random or
 *    random:SEED; blocks of a grid run one after another in the same kind of
 *    order (permuted too).
 *  - Loud failure (message on stderr, then abort) on: a __syncthreads that
 *    some threads of the block already exited before (EMU_STRICT=0 allows
 *    it), threads waiting at different __syncthreads lines, lanes waiting at
 *    different collectives or with different masks, a mask that does not
 *    name the calling lane or names lanes that do not exist or have exited,
 *    a shuffle width that is not a power of two up to 32, deadlock, static
 *    shared memory over 48 KiB or static + dynamic over 227 KiB.
 *  - Launch checks returned as CUDA does (cudaErrorInvalidConfiguration,
 *    cudaErrorInvalidValue, with a line on stderr): block over 1024 threads
 *    or over a dimension limit, empty or oversized grid, dynamic shared
 *    memory over 48 KiB without cudaFuncSetAttribute(...MaxDynamicShared...).
 *  - Memory: cudaMalloc/cudaMallocHost give exact-size blocks filled with
 *    0xFF (NaN as f32, bf16, f16 and e4m3), so under ASan (make emu-asan) an
 *    access one element past a buffer is a heap-buffer-overflow.  Dynamic
 *    and DS_SMEM shared memory are separate exact-size buffers, refilled
 *    with 0xFF for every block.  Copies check their direction and bounds
 *    against the allocation table.  EMU_DEVICE_MEM (e.g. 64M, 2G; default
 *    1G) is the device's size, for out-of-memory paths; EMU_DEVICES=0
 *    makes cudaGetDeviceCount fail as on a machine without a GPU.
 *  - Streams are lazy: work is queued and runs only when someone waits for
 *    it (stream/event/device synchronise or query, a synchronous cudaMemcpy,
 *    cudaFree, destroying the stream).  Async copies read their source when
 *    they run, pageable memory included.  The legacy default stream
 *    synchronises with blocking streams only: a synchronous cudaMemcpy (or
 *    cudaMemset on stream 0) runs after the legacy stream's and blocking
 *    streams' earlier work but not a non-blocking stream's, so reading a
 *    non-blocking stream's result without synchronising it gives the 0xFF
 *    poison, and a cudaMemset followed by non-blocking-stream work without
 *    a sync runs late; events order streams; elapsed time is host time at
 *    execution.
 *  - Graphs: stream capture (fork/join through events), instantiate, launch.
 *    Kernel arguments are copied at launch, memcpy nodes copy when replayed.
 *    Synchronising or querying a capturing stream (any mode); during a
 *    Global capture (or ThreadLocal on its thread) cudaMalloc/cudaFree/
 *    cudaMallocHost/cudaFreeHost and device/event synchronisation; and
 *    legacy-stream work while a blocking stream captures are refused
 *    (cudaErrorStreamCaptureUnsupported / ...Implicit) and invalidate the
 *    capture, as CUDA does; EndCapture then returns
 *    cudaErrorStreamCaptureInvalidated and no graph, and a fork not joined
 *    back gives cudaErrorStreamCaptureUnjoined.
 *  - Errors: codes, cudaGetErrorString/Name, the per-thread last error.
 *    cudaGetDeviceProperties names the device "dspipe cuda-emu" (sm_90,
 *    132 SMs, H200 limits).
 *  - cuBLAS (blas.cc) and cuBLASLt (lt.cc): the subsets listed there, with
 *    column-major semantics, the documented argument checks and the
 *    handle's stream.
 *
 * WHAT IT CANNOT CATCH (see cuda-design.md §2.3)
 *  speed of any kind; ordering between blocks and the memory model (blocks
 *  run one after another, sequentially consistent: missing fences go
 *  unseen, and a kernel that spin-waits on another block hangs); races
 *  inside one phase between two sync points that do not depend on order;
 *  wgmma/TMA/mbarrier/clusters/inline PTX (not emulated: do not use them);
 *  register and occupancy limits (checked from ptxas output at build time);
 *  library behaviour beyond the documented model (heuristics, workspace
 *  needs, split-K order); GPU math (FMA contraction, approximate
 *  intrinsics such as __expf are computed exactly here); int32 overflow at
 *  real sizes; real asynchrony between streams; host code dereferencing a
 *  device pointer (device memory is host memory here).
 *
 * WHAT KERNEL CODE MAY USE (the rule; dsk.cuh is the seam)
 *  - launches only through dsk_launch() (no <<< >>>), kernel parameters
 *    trivially copyable and passed by value;
 *  - shared memory only through DS_SMEM / DS_SMEM2 (static arrays) and
 *    DS_DYN_SMEM (dynamic); a plain __shared__ scalar works but is neither
 *    per block nor poisoned, so the suite refuses __shared__ in
 *    the .cu files of common/cuda;
 *  - threadIdx/blockIdx/blockDim/gridDim/warpSize, the collectives above,
 *    atomics on int/unsigned/unsigned long long/float/double (atomicAdd,
 *    Sub, Exch, Min, Max, And, Or, Xor, Inc, Dec, CAS), __threadfence*,
 *    __ldg/__ldcs/__ldcg/__ldca/__ldlu/__ldcv/__stcs/__stcg/__stwt/__stwb,
 *    the bit intrinsics (__popc, __clz, __ffs, __brev, __byte_perm,
 *    __funnelshift_*, __mulhi, __umulhi, __mul64hi, __umul64hi), the float
 *    intrinsics (__fdividef, __frcp_rn, __fsqrt_rn, __fmaf_rn,
 *    __fadd_rn, __fmul_rn, __saturatef, __expf, __logf, __sinf, __cosf,
 *    __powf, __exp10f, rsqrtf, exp2f, the __float_as_* / __*_as_float
 *    casts, __float2int_rn/rz, __float2uint_rn), min/max on numbers,
 *    cudaGridDependencySynchronize()/cudaTriggerProgrammaticLaunchCompletion()
 *    (no-ops here), printf and assert, and the bf16/f16/fp8 types and
 *    functions of the toolkit's headers that are callable on the host;
 *  - no __CUDA_ARCH__ tests, no inline PTX, no inter-block waiting, no
 *    float atomics in reductions (fixed order for determinism), offsets in
 *    size_t.
 */
#ifndef DS_CUDA_EMU_H
#define DS_CUDA_EMU_H

#ifndef DS_EMU
#define DS_EMU 1
#endif

#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

/* before the toolkit's headers, which keep an earlier definition (see
 * crt/host_defines.h); on the host they would make it nothing, which would
 * give every fiber its own copy */
#define __shared__ static thread_local

#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

namespace emu {

/* what the built-in variables read: one per fiber, set by the scheduler */
struct lane_ctx {
	uint3 thread_idx;
	uint3 block_idx;
	dim3 block_dim;
	dim3 grid_dim;
};
extern __thread lane_ctx *cur;

/* scheduling points (sched.cc); file and line name the call site */
void sync_block(const char *file, int line);
int sync_block_op(const char *file, int line, int op, int pred);	// op: 0 count, 1 and, 2 or

enum warp_kind {
	W_SYNCWARP, W_SHFL_IDX, W_SHFL_UP, W_SHFL_DOWN, W_SHFL_XOR,
	W_BALLOT, W_ANY, W_ALL,
	W_RED_ADD, W_RED_MIN_U, W_RED_MIN_I, W_RED_MAX_U, W_RED_MAX_I,
	W_RED_AND, W_RED_OR, W_RED_XOR, W_MATCH_ANY,
};
/* one collective: in/out are up to 16 bytes, arg is srcLane/delta/laneMask */
void warp_collective(const char *file, int line, int kind, unsigned mask,
		     const void *in, size_t size, int arg, int width, void *out);
unsigned active_mask(void);
static inline void syncwarp(const char *file, int line, unsigned mask = 0xffffffffu)
{
	warp_collective(file, line, W_SYNCWARP, mask, nullptr, 0, 0, 32, nullptr);
}
[[noreturn]] void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* shared memory of the running block (sched.cc): the dynamic buffer, and
 * one exact-size buffer per DS_SMEM site, both refilled with 0xFF per block */
void *smem_dynamic(void);
void *smem_static(const void *key, size_t size, const char *file, int line);

/* launch: the closure runs once per fiber (rt.cc queues it on the stream) */
cudaError_t launch_closure(const void *fn, dim3 grid, dim3 block, size_t smem,
			   cudaStream_t s, std::function<void()> body);

template <class... P, class... A>
cudaError_t launch(void (*k)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t s, A &&...a)
{
	static_assert(sizeof...(P) == sizeof...(A), "kernel called with the wrong number of arguments");
	static_assert((std::is_trivially_copyable<typename std::decay<P>::type>::value && ...),
		      "kernel parameters must be trivially copyable (they are copied at launch)");
	/* converted to the parameter types and copied now, as CUDA does */
	std::tuple<typename std::decay<P>::type...> args(std::forward<A>(a)...);
	return launch_closure(reinterpret_cast<const void *>(k), grid, block, smem, s,
			      [k, args]() { std::apply(k, args); });
}

template <class T>
static inline T shfl(const char *f, int l, int kind, unsigned mask, T v, int arg, int width)
{
	static_assert(sizeof(T) <= 16 && std::is_trivially_copyable<T>::value, "shuffle of an unsupported type");
	T out;
	warp_collective(f, l, kind, mask, &v, sizeof v, arg, width, &out);
	return out;
}
template <class T> static inline T shfl_idx(const char *f, int l, unsigned m, T v, int src, int w = 32)
{ return shfl(f, l, W_SHFL_IDX, m, v, src, w); }
template <class T> static inline T shfl_up(const char *f, int l, unsigned m, T v, unsigned d, int w = 32)
{ return shfl(f, l, W_SHFL_UP, m, v, (int)d, w); }
template <class T> static inline T shfl_down(const char *f, int l, unsigned m, T v, unsigned d, int w = 32)
{ return shfl(f, l, W_SHFL_DOWN, m, v, (int)d, w); }
template <class T> static inline T shfl_xor(const char *f, int l, unsigned m, T v, int x, int w = 32)
{ return shfl(f, l, W_SHFL_XOR, m, v, x, w); }

static inline unsigned vote(const char *f, int l, int kind, unsigned m, int pred)
{
	int p = pred != 0;
	unsigned out;
	warp_collective(f, l, kind, m, &p, sizeof p, 0, 32, &out);
	return out;
}
template <class T> static inline T reduce(const char *f, int l, int kind, unsigned m, T v)
{
	static_assert(sizeof(T) == 4, "__reduce_*_sync takes 32-bit integers");
	T out;
	warp_collective(f, l, kind, m, &v, sizeof v, 0, 32, &out);
	return out;
}
template <class T> static inline unsigned match_any(const char *f, int l, unsigned m, T v)
{
	static_assert(sizeof(T) == 4 || sizeof(T) == 8, "__match_any_sync takes 32- or 64-bit values");
	unsigned out;
	warp_collective(f, l, W_MATCH_ANY, m, &v, sizeof v, 0, 32, &out);
	return out;
}

/* atomics: kernels run on one OS thread under the runtime's lock, but the
 * read-modify-writes are real atomics anyway; float and double through a
 * compare-and-swap loop on the bits, as a GPU without native ones would */
template <class T, class F> static inline T atomic_rmw(T *a, F fn)
{
	static_assert(sizeof(T) == 4 || sizeof(T) == 8, "atomics take 32- or 64-bit values");
	using U = typename std::conditional<sizeof(T) == 4, uint32_t, uint64_t>::type;
	U *p = reinterpret_cast<U *>(a);
	U old = __atomic_load_n(p, __ATOMIC_RELAXED), nw;
	T o, n;
	do {
		memcpy(&o, &old, sizeof o);
		n = fn(o);
		memcpy(&nw, &n, sizeof nw);
	} while (!__atomic_compare_exchange_n(p, &old, nw, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
	return o;
}

} // namespace emu

/* the runtime's C++ overloads that the toolkit declares only under nvcc */
template <class T> static inline cudaError_t cudaFuncSetAttribute(T *entry, cudaFuncAttribute a, int v)
{ return ::cudaFuncSetAttribute((const void *)entry, a, v); }
template <class T> static inline cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *attr, T *entry)
{ return ::cudaFuncGetAttributes(attr, (const void *)entry); }
template <class T> static inline cudaError_t cudaFuncSetCacheConfig(T *entry, cudaFuncCache c)
{ return ::cudaFuncSetCacheConfig((const void *)entry, c); }
template <class T> static inline cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *n, T *entry,
	int bs, size_t dyn)
{ return ::cudaOccupancyMaxActiveBlocksPerMultiprocessor(n, (const void *)entry, bs, dyn); }
template <class T> static inline cudaError_t cudaMemcpyToSymbol(const T &sym, const void *src, size_t n,
	size_t off = 0, cudaMemcpyKind kind = cudaMemcpyHostToDevice)
{ return ::cudaMemcpyToSymbol((const void *)&sym, src, n, off, kind); }
template <class T> static inline cudaError_t cudaMemcpyFromSymbol(void *dst, const T &sym, size_t n,
	size_t off = 0, cudaMemcpyKind kind = cudaMemcpyDeviceToHost)
{ return ::cudaMemcpyFromSymbol(dst, (const void *)&sym, n, off, kind); }

/* ---- built-in variables ---- */
#define threadIdx (static_cast<const uint3 &>(::emu::cur->thread_idx))
#define blockIdx  (static_cast<const uint3 &>(::emu::cur->block_idx))
#define blockDim  (static_cast<const dim3 &>(::emu::cur->block_dim))
#define gridDim   (static_cast<const dim3 &>(::emu::cur->grid_dim))
/* warpSize is the toolkit's extern "C" const int, defined (32) in device.cc */

/* ---- barriers and warp collectives (scheduling points) ---- */
#define __syncthreads()         ::emu::sync_block(__FILE__, __LINE__)
#define __syncthreads_count(p)  ::emu::sync_block_op(__FILE__, __LINE__, 0, (p))
#define __syncthreads_and(p)    ::emu::sync_block_op(__FILE__, __LINE__, 1, (p))
#define __syncthreads_or(p)     ::emu::sync_block_op(__FILE__, __LINE__, 2, (p))
#define __syncwarp(...)         ::emu::syncwarp(__FILE__, __LINE__, ##__VA_ARGS__)
#define __shfl_sync(...)        ::emu::shfl_idx(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_up_sync(...)     ::emu::shfl_up(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_down_sync(...)   ::emu::shfl_down(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...)    ::emu::shfl_xor(__FILE__, __LINE__, __VA_ARGS__)
#define __ballot_sync(m, p)     ::emu::vote(__FILE__, __LINE__, ::emu::W_BALLOT, (m), (p))
#define __any_sync(m, p)        ((int)::emu::vote(__FILE__, __LINE__, ::emu::W_ANY, (m), (p)))
#define __all_sync(m, p)        ((int)::emu::vote(__FILE__, __LINE__, ::emu::W_ALL, (m), (p)))
#define __activemask()          ::emu::active_mask()
#define __reduce_add_sync(m, v) ::emu::reduce(__FILE__, __LINE__, ::emu::W_RED_ADD, (m), (v))
#define __reduce_min_sync(m, v) ::emu::reduce(__FILE__, __LINE__, std::is_signed<decltype(v)>::value ? \
				::emu::W_RED_MIN_I : ::emu::W_RED_MIN_U, (m), (v))
#define __reduce_max_sync(m, v) ::emu::reduce(__FILE__, __LINE__, std::is_signed<decltype(v)>::value ? \
				::emu::W_RED_MAX_I : ::emu::W_RED_MAX_U, (m), (v))
#define __reduce_and_sync(m, v) ::emu::reduce(__FILE__, __LINE__, ::emu::W_RED_AND, (m), (unsigned)(v))
#define __reduce_or_sync(m, v)  ::emu::reduce(__FILE__, __LINE__, ::emu::W_RED_OR, (m), (unsigned)(v))
#define __reduce_xor_sync(m, v) ::emu::reduce(__FILE__, __LINE__, ::emu::W_RED_XOR, (m), (unsigned)(v))
#define __match_any_sync(m, v)  ::emu::match_any(__FILE__, __LINE__, (m), (v))

/* programmatic dependent launch: nothing to wait for when blocks run in order */
#define cudaGridDependencySynchronize()           ((void)0)
#define cudaTriggerProgrammaticLaunchCompletion() ((void)0)

/* ---- memory order: blocks run one after another, so fences do nothing ---- */
static inline void __threadfence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __threadfence_block(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void __threadfence_system(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
[[noreturn]] static inline void __trap(void) { ::emu::fail("__trap() called by a kernel"); }
static inline void __nanosleep(unsigned) {}
long long clock64(void);

/* ---- cache-hinted loads and stores are plain ones ---- */
template <class T> static inline T __ldg(const T *p) { return *p; }
template <class T> static inline T __ldcg(const T *p) { return *p; }
template <class T> static inline T __ldca(const T *p) { return *p; }
template <class T> static inline T __ldcs(const T *p) { return *p; }
template <class T> static inline T __ldlu(const T *p) { return *p; }
template <class T> static inline T __ldcv(const T *p) { return *p; }
template <class T> static inline void __stcg(T *p, T v) { *p = v; }
template <class T> static inline void __stcs(T *p, T v) { *p = v; }
template <class T> static inline void __stwt(T *p, T v) { *p = v; }
template <class T> static inline void __stwb(T *p, T v) { *p = v; }

/* ---- atomics ---- */
#define EMU_ATOMIC_INT(T) \
	static inline T atomicAdd(T *a, T v) { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); } \
	static inline T atomicSub(T *a, T v) { return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST); } \
	static inline T atomicExch(T *a, T v) { return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST); } \
	static inline T atomicAnd(T *a, T v) { return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST); } \
	static inline T atomicOr(T *a, T v) { return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST); } \
	static inline T atomicXor(T *a, T v) { return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST); } \
	static inline T atomicMin(T *a, T v) { return ::emu::atomic_rmw(a, [v](T o) { return o < v ? o : v; }); } \
	static inline T atomicMax(T *a, T v) { return ::emu::atomic_rmw(a, [v](T o) { return o > v ? o : v; }); } \
	static inline T atomicCAS(T *a, T cmp, T v) { __atomic_compare_exchange_n(a, &cmp, v, false, \
		__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); return cmp; }
EMU_ATOMIC_INT(int)
EMU_ATOMIC_INT(unsigned)
EMU_ATOMIC_INT(unsigned long long)
EMU_ATOMIC_INT(long long)
#undef EMU_ATOMIC_INT
static inline unsigned atomicInc(unsigned *a, unsigned v)
{ return ::emu::atomic_rmw(a, [v](unsigned o) { return o >= v ? 0u : o + 1; }); }
static inline unsigned atomicDec(unsigned *a, unsigned v)
{ return ::emu::atomic_rmw(a, [v](unsigned o) { return (o == 0 || o > v) ? v : o - 1; }); }
static inline float atomicAdd(float *a, float v) { return ::emu::atomic_rmw(a, [v](float o) { return o + v; }); }
static inline double atomicAdd(double *a, double v) { return ::emu::atomic_rmw(a, [v](double o) { return o + v; }); }
static inline float atomicExch(float *a, float v) { return ::emu::atomic_rmw(a, [v](float) { return v; }); }
static inline float atomicMin(float *a, float v) { return ::emu::atomic_rmw(a, [v](float o) { return fminf(o, v); }); }
static inline float atomicMax(float *a, float v) { return ::emu::atomic_rmw(a, [v](float o) { return fmaxf(o, v); }); }

/* ---- integer and bit intrinsics ---- */
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __ffsll(long long x) { return __builtin_ffsll(x); }
static inline unsigned __brev(unsigned x)
{
	x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
	x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
	x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
	return __builtin_bswap32(x);
}
static inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s)
{
	uint64_t v = ((uint64_t)y << 32) | x;
	unsigned r = 0;
	for (int i = 0; i < 4; i++)
		r |= (unsigned)((v >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
	return r;
}
static inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s)
{ uint64_t v = ((uint64_t)hi << 32) | lo; return (unsigned)((v << (s & 31)) >> 32); }
static inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s)
{ uint64_t v = ((uint64_t)hi << 32) | lo; return (unsigned)(v >> (s & 31)); }
static inline int __mulhi(int a, int b) { return (int)(((int64_t)a * b) >> 32); }
static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((uint64_t)a * b) >> 32); }
static inline long long __mul64hi(long long a, long long b) { return (long long)(((__int128)a * b) >> 64); }
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b)
{ return (unsigned long long)(((unsigned __int128)a * b) >> 64); }

/* ---- float intrinsics: computed exactly (the GPU's are approximate) ---- */
static inline float __int_as_float(int x) { float f; memcpy(&f, &x, 4); return f; }
static inline int __float_as_int(float f) { int x; memcpy(&x, &f, 4); return x; }
static inline float __uint_as_float(unsigned x) { float f; memcpy(&f, &x, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned x; memcpy(&x, &f, 4); return x; }
static inline double __longlong_as_double(long long x) { double d; memcpy(&d, &x, 8); return d; }
static inline long long __double_as_longlong(double d) { long long x; memcpy(&x, &d, 8); return x; }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float __fdividef(float a, float b) { return a / b; }
static inline float __frcp_rn(float x) { return 1.0f / x; }
static inline float __fsqrt_rn(float x) { return sqrtf(x); }
static inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __saturatef(float x) { return x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
static inline int __float2int_rn(float x) { return (int)nearbyintf(x); }
static inline int __float2int_rz(float x) { return (int)x; }
static inline unsigned __float2uint_rn(float x) { return (unsigned)nearbyintf(x); }
static inline float __int2float_rn(int x) { return (float)x; }
/* glibc declares these names but exports none of them: macros, defined
 * after <cmath> so its declarations are untouched */
#define __expf(x)   expf(x)
#define __logf(x)   logf(x)
#define __log2f(x)  log2f(x)
#define __log10f(x) log10f(x)
#define __sinf(x)   sinf(x)
#define __cosf(x)   cosf(x)
#define __tanf(x)   tanf(x)
#define __powf(x, y) powf((x), (y))
#define __exp10f(x) exp10f(x)

/* min and max as nvcc offers them to device code */
#define EMU_MINMAX(T) \
	static inline T min(T a, T b) { return a < b ? a : b; } \
	static inline T max(T a, T b) { return a > b ? a : b; }
EMU_MINMAX(int)
EMU_MINMAX(unsigned)
EMU_MINMAX(long)
EMU_MINMAX(unsigned long)
EMU_MINMAX(long long)
EMU_MINMAX(unsigned long long)
#undef EMU_MINMAX
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }

#endif
