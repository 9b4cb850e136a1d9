/*
 * dsk.cuh - the seam between dspipe's CUDA sources and the two compilers
 * that build them: nvcc for the GPU, and g++ with common/cuda/emu/emu.h
 * forced in front (DS_EMU) for the CPU emulator the tests run.
 *
 * Every .cu file in common/cuda includes this header and writes kernels
 * only with what it offers plus the list in emu.h ("WHAT KERNEL CODE MAY
 * USE"), so that the same text means the same thing on both.  It owns:
 *
 *  dsk_launch(kernel, grid, block, smem, stream, pdl, args...)
 *      launches kernel<<<grid, block, smem, stream>>>(args...).  Under nvcc
 *      it is cudaLaunchKernelEx, with the programmatic-stream-serialization
 *      attribute when pdl is true (the kernel may start before the previous
 *      one on the stream ends; it must call dsk_grid_wait() before reading
 *      anything that kernel wrote).  Under the emulator the arguments are
 *      converted to the parameter types and copied now, and a closure runs
 *      the kernel in every fiber when the stream runs.  Returns the launch
 *      error (bad configuration, too much shared memory), as cudaGetLastError
 *      would after <<< >>>.
 *  dsk_grid_wait() / dsk_grid_trigger()
 *      cudaGridDependencySynchronize / cudaTriggerProgrammaticLaunchCompletion
 *      (device side of PDL; no-ops in the emulator, where kernels run in order).
 *  DS_SMEM(type, name, n)       a static shared array type name[n]
 *  DS_SMEM2(type, name, n, m)   a static shared array type name[n][m]
 *      __shared__ under nvcc.  In the emulator a per-block buffer of exactly
 *      that size, refilled with 0xFF for every block (so a read before any
 *      thread wrote it gives NaN), bounds-checked under ASan.  Static shared
 *      memory must not be declared with plain __shared__ (tests refuse it).
 *  DS_DYN_SMEM(type, name)      type *name: the launch's dynamic shared memory
 *      (extern __shared__ under nvcc; 16-byte aligned; exact size and
 *      poisoned per block in the emulator).  Over 48 KiB needs
 *      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, n).
 *  DSK_ALIGN(n)                 __align__(n) for types and variables.
 *
 * Kernels never read __CUDA_ARCH__ and never use inline PTX: anything
 * only one compiler can build goes behind a macro here, with its emulated
 * meaning next to it.
 */
#ifndef DS_DSK_CUH
#define DS_DSK_CUH

#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <utility>

#define DSK_ALIGN(n) __align__(n)

#ifdef DS_EMU

#define DS_SMEM(type, name, n) \
	static const char name##_dsk_site_ = 0; \
	type (&name)[n] = *reinterpret_cast<type (*)[n]>( \
		::emu::smem_static(&name##_dsk_site_, sizeof(type[n]), __FILE__, __LINE__))
#define DS_SMEM2(type, name, n, m) \
	static const char name##_dsk_site_ = 0; \
	type (&name)[n][m] = *reinterpret_cast<type (*)[n][m]>( \
		::emu::smem_static(&name##_dsk_site_, sizeof(type[n][m]), __FILE__, __LINE__))
#define DS_DYN_SMEM(type, name) type *name = reinterpret_cast<type *>(::emu::smem_dynamic())

template <class... P, class... A>
static inline cudaError_t dsk_launch(void (*k)(P...), dim3 grid, dim3 block, size_t smem,
				     cudaStream_t s, bool pdl, A &&...a)
{
	(void)pdl;
	return ::emu::launch(k, grid, block, smem, s, std::forward<A>(a)...);
}
#define dsk_grid_wait()    ((void)0)
#define dsk_grid_trigger() ((void)0)

#else /* nvcc */

#define DS_SMEM(type, name, n)     __shared__ __align__(16) type name[n]
#define DS_SMEM2(type, name, n, m) __shared__ __align__(16) type name[n][m]
#define DS_DYN_SMEM(type, name) \
	extern __shared__ __align__(16) unsigned char dsk_dyn_smem_[]; \
	type *name = reinterpret_cast<type *>(dsk_dyn_smem_)

template <class... P, class... A>
static inline cudaError_t dsk_launch(void (*k)(P...), dim3 grid, dim3 block, size_t smem,
				     cudaStream_t s, bool pdl, A &&...a)
{
	cudaLaunchAttribute at[1];
	at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
	at[0].val.programmaticStreamSerializationAllowed = 1;
	cudaLaunchConfig_t c = {};
	c.gridDim = grid;
	c.blockDim = block;
	c.dynamicSmemBytes = smem;
	c.stream = s;
	c.attrs = pdl ? at : nullptr;
	c.numAttrs = pdl ? 1 : 0;
	return cudaLaunchKernelEx(&c, k, std::forward<A>(a)...);
}
#define dsk_grid_wait()    cudaGridDependencySynchronize()
#define dsk_grid_trigger() cudaTriggerProgrammaticLaunchCompletion()

#endif

#endif
