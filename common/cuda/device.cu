// device.cu - CUDA device discovery for --device cuda; see cuda.h.
#include <cuda_runtime.h>
#include <stdio.h>

#include "cuda.h"

extern "C" int ds_cuda_device_count(char *why, size_t whylen)
{
	int n = 0;
	cudaError_t e = cudaGetDeviceCount(&n);

	if (e != cudaSuccess) {
		if (why)
			snprintf(why, whylen, "%s", cudaGetErrorString(e));
		cudaGetLastError();	// clear the sticky error for later calls
		return -1;
	}
	return n;
}

extern "C" int ds_cuda_device_describe(int i, char *name, size_t namelen, size_t *total_bytes)
{
	cudaDeviceProp p;

	if (cudaGetDeviceProperties(&p, i) != cudaSuccess)
		return -1;
	snprintf(name, namelen, "%s (sm_%d%d)", p.name, p.major, p.minor);
	if (total_bytes)
		*total_bytes = p.totalGlobalMem;
	return 0;
}
