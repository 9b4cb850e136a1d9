// blas.cu - cuBLAS loaded at run time (blas.cuh).
#include <sysexits.h>

#include "blas.cuh"

struct dsc_blas_api dsc_blas;

#ifdef DS_EMU

int dsc_blas_load(struct ds_error *err)
{
	(void)err;
	dsc_blas.create = cublasCreate_v2;
	dsc_blas.destroy = cublasDestroy_v2;
	dsc_blas.set_stream = cublasSetStream_v2;
	dsc_blas.gemm_strided_batched = cublasGemmStridedBatchedEx;
	return 0;
}

#else

#include <dlfcn.h>

#define DSC_STR2(x) #x
#define DSC_STR(x) DSC_STR2(x)

int dsc_blas_load(struct ds_error *err)
{
	static const char lib[] = "libcublas.so." DSC_STR(CUBLAS_VER_MAJOR);
	static void *h;
	struct dsc_blas_api t;

	if (dsc_blas.create)
		return 0;
	if (!h && !(h = dlopen(lib, RTLD_NOW | RTLD_LOCAL)))
		return ds_error_set(err, EX_UNAVAILABLE, "cannot load %s: %s", lib, dlerror());
	*(void **)&t.create = dlsym(h, "cublasCreate_v2");
	*(void **)&t.destroy = dlsym(h, "cublasDestroy_v2");
	*(void **)&t.set_stream = dlsym(h, "cublasSetStream_v2");
	*(void **)&t.gemm_strided_batched = dlsym(h, "cublasGemmStridedBatchedEx");
	if (!t.create || !t.destroy || !t.set_stream || !t.gemm_strided_batched)
		return ds_error_set(err, EX_UNAVAILABLE, "%s lacks the cuBLAS functions the CUDA backend calls", lib);
	dsc_blas = t;
	return 0;
}

#endif
