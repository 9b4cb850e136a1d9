// device.cc - the emulated device: its properties (an H200's limits under
// the name "dspipe cuda-emu", so nothing mistakes it for a GPU), function
// attributes, versions and the error strings.
#include "rt-impl.h"

using namespace emu;
#define LOCK std::lock_guard<std::recursive_mutex> lk(mu)

static std::map<const void *, int> max_dyn;	// cudaFuncAttributeMaxDynamicSharedMemorySize

namespace emu {
size_t func_max_dyn_smem(const void *fn)
{
	auto it = max_dyn.find(fn);
	return it == max_dyn.end() ? 48 * 1024 : (size_t)it->second;
}
} // namespace emu

static const size_t optin_smem = 232448;	// 227 KiB: Hopper's per-block opt-in

extern "C" const int warpSize = 32;	// declared by device_launch_parameters.h

extern "C" {

cudaError_t cudaGetDeviceCount(int *n)
{
	if (!n)
		return set_error(cudaErrorInvalidValue);
	*n = have_device() ? 1 : 0;
	return have_device() ? cudaSuccess : set_error(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int d)
{
	if (!have_device())
		return set_error(cudaErrorNoDevice);
	return d == 0 ? cudaSuccess : set_error(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDevice(int *d)
{
	if (!d)
		return set_error(cudaErrorInvalidValue);
	*d = 0;
	return cudaSuccess;
}

cudaError_t cudaSetDeviceFlags(unsigned int flags)
{
	(void)flags;
	return cudaSuccess;
}

cudaError_t cudaDeviceReset(void)
{
	LOCK;
	run_all();
	return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d)
{
	if (!p)
		return set_error(cudaErrorInvalidValue);
	if (!have_device())
		return set_error(cudaErrorNoDevice);
	if (d != 0)
		return set_error(cudaErrorInvalidDevice);
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "dspipe cuda-emu");
	p->totalGlobalMem = dev_total();
	p->sharedMemPerBlock = 48 * 1024;
	p->sharedMemPerBlockOptin = optin_smem;
	p->sharedMemPerMultiprocessor = 233472;
	p->reservedSharedMemPerBlock = 1024;
	p->regsPerBlock = 65536;
	p->regsPerMultiprocessor = 65536;
	p->warpSize = 32;
	p->memPitch = SIZE_MAX;
	p->maxThreadsPerBlock = 1024;
	p->maxThreadsDim[0] = 1024;
	p->maxThreadsDim[1] = 1024;
	p->maxThreadsDim[2] = 64;
	p->maxGridSize[0] = 2147483647;
	p->maxGridSize[1] = 65535;
	p->maxGridSize[2] = 65535;
	p->totalConstMem = 65536;
	p->major = 9;
	p->minor = 0;
	p->multiProcessorCount = 132;
	p->maxThreadsPerMultiProcessor = 2048;
	p->maxBlocksPerMultiProcessor = 32;
	p->l2CacheSize = 60 * 1024 * 1024;
	p->memoryBusWidth = 6144;
	p->canMapHostMemory = 1;
	p->concurrentKernels = 1;
	p->asyncEngineCount = 2;
	p->unifiedAddressing = 1;
	p->managedMemory = 1;
	p->streamPrioritiesSupported = 1;
	p->cooperativeLaunch = 1;
	p->hostRegisterSupported = 1;
	p->memoryPoolsSupported = 1;
	p->clusterLaunch = 1;
	p->textureAlignment = 512;
	p->texturePitchAlignment = 32;
	p->surfaceAlignment = 512;
	return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int d)
{
	cudaDeviceProp p;
	if (!v)
		return set_error(cudaErrorInvalidValue);
	cudaError_t e = cudaGetDeviceProperties(&p, d);
	if (e)
		return e;
	switch (a) {
	case cudaDevAttrMaxThreadsPerBlock: *v = p.maxThreadsPerBlock; break;
	case cudaDevAttrMaxBlockDimX: *v = p.maxThreadsDim[0]; break;
	case cudaDevAttrMaxBlockDimY: *v = p.maxThreadsDim[1]; break;
	case cudaDevAttrMaxBlockDimZ: *v = p.maxThreadsDim[2]; break;
	case cudaDevAttrMaxGridDimX: *v = p.maxGridSize[0]; break;
	case cudaDevAttrMaxGridDimY: *v = p.maxGridSize[1]; break;
	case cudaDevAttrMaxGridDimZ: *v = p.maxGridSize[2]; break;
	case cudaDevAttrMaxSharedMemoryPerBlock: *v = (int)p.sharedMemPerBlock; break;
	case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = (int)p.sharedMemPerBlockOptin; break;
	case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *v = (int)p.sharedMemPerMultiprocessor; break;
	case cudaDevAttrWarpSize: *v = 32; break;
	case cudaDevAttrMaxRegistersPerBlock: *v = p.regsPerBlock; break;
	case cudaDevAttrMultiProcessorCount: *v = p.multiProcessorCount; break;
	case cudaDevAttrComputeCapabilityMajor: *v = p.major; break;
	case cudaDevAttrComputeCapabilityMinor: *v = p.minor; break;
	case cudaDevAttrL2CacheSize: *v = p.l2CacheSize; break;
	case cudaDevAttrMaxThreadsPerMultiProcessor: *v = p.maxThreadsPerMultiProcessor; break;
	case cudaDevAttrGlobalMemoryBusWidth: *v = p.memoryBusWidth; break;
	case cudaDevAttrUnifiedAddressing: *v = 1; break;
	case cudaDevAttrConcurrentKernels: *v = 1; break;
	default: *v = 0; break;
	}
	return cudaSuccess;
}

cudaError_t cudaDeviceGetStreamPriorityRange(int *least, int *greatest)
{
	if (least)
		*least = 0;
	if (greatest)
		*greatest = -5;
	return cudaSuccess;
}

cudaError_t cudaDeviceSetLimit(cudaLimit l, size_t v)
{
	(void)l;
	(void)v;
	return cudaSuccess;
}

cudaError_t cudaDeviceGetLimit(size_t *v, cudaLimit l)
{
	if (!v)
		return set_error(cudaErrorInvalidValue);
	*v = l == cudaLimitStackSize ? 1024 : l == cudaLimitPrintfFifoSize ? 1 << 20 : 0;
	return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *v)
{
	if (!v)
		return set_error(cudaErrorInvalidValue);
	*v = CUDART_VERSION;
	return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *v)
{
	if (!v)
		return set_error(cudaErrorInvalidValue);
	*v = have_device() ? CUDART_VERSION : 0;
	return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *fn, cudaFuncAttribute a, int v)
{
	LOCK;
	if (!fn)
		return set_error(cudaErrorInvalidDeviceFunction);
	if (a == cudaFuncAttributeMaxDynamicSharedMemorySize) {
		if (v < 0 || (size_t)v > optin_smem)
			return set_error(cudaErrorInvalidValue);
		max_dyn[fn] = v;
	} else if (a == cudaFuncAttributePreferredSharedMemoryCarveout) {
		if (v < -1 || v > 100)
			return set_error(cudaErrorInvalidValue);
	}
	return cudaSuccess;
}

cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *a, const void *fn)
{
	LOCK;
	if (!a || !fn)
		return set_error(!a ? cudaErrorInvalidValue : cudaErrorInvalidDeviceFunction);
	memset(a, 0, sizeof *a);
	a->maxThreadsPerBlock = 1024;
	a->maxDynamicSharedSizeBytes = (int)func_max_dyn_smem(fn);
	a->binaryVersion = 90;
	a->ptxVersion = 90;
	return cudaSuccess;
}

cudaError_t cudaFuncSetCacheConfig(const void *fn, cudaFuncCache c)
{
	(void)fn;
	(void)c;
	return cudaSuccess;
}

// from Hopper's per-SM limits and the dynamic shared memory (registers unknown)
cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *n, const void *fn, int bs, size_t dyn)
{
	(void)fn;
	if (!n || bs <= 0 || bs > 1024)
		return set_error(cudaErrorInvalidValue);
	int by_threads = 2048 / bs, by_smem = (int)(233472 / (dyn + 1024));
	*n = by_threads < by_smem ? by_threads : by_smem;
	if (*n > 32)
		*n = 32;
	return cudaSuccess;
}

#define ERRORS(X) \
	X(cudaSuccess, "no error") \
	X(cudaErrorInvalidValue, "invalid argument") \
	X(cudaErrorMemoryAllocation, "out of memory") \
	X(cudaErrorInitializationError, "initialization error") \
	X(cudaErrorInvalidConfiguration, "invalid configuration argument") \
	X(cudaErrorInvalidPitchValue, "invalid pitch argument") \
	X(cudaErrorInvalidSymbol, "invalid device symbol") \
	X(cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy") \
	X(cudaErrorInsufficientDriver, "CUDA driver version is insufficient for CUDA runtime version") \
	X(cudaErrorNoDevice, "no CUDA-capable device is detected") \
	X(cudaErrorInvalidDevice, "invalid device ordinal") \
	X(cudaErrorInvalidDeviceFunction, "invalid device function") \
	X(cudaErrorInvalidResourceHandle, "invalid resource handle") \
	X(cudaErrorIllegalState, "the operation cannot be performed in the present state") \
	X(cudaErrorNotReady, "device not ready") \
	X(cudaErrorIllegalAddress, "an illegal memory access was encountered") \
	X(cudaErrorLaunchFailure, "unspecified launch failure") \
	X(cudaErrorHostMemoryAlreadyRegistered, "part or all of the requested memory range is already mapped") \
	X(cudaErrorHostMemoryNotRegistered, "pointer does not correspond to a registered memory region") \
	X(cudaErrorNotSupported, "operation not supported") \
	X(cudaErrorStreamCaptureUnsupported, "operation not permitted when stream is capturing") \
	X(cudaErrorStreamCaptureInvalidated, "operation failed due to a previous error during capture") \
	X(cudaErrorStreamCaptureMerge, "operation would result in a merge of separate capture sequences") \
	X(cudaErrorStreamCaptureUnmatched, "capture was not ended in the same stream as it began") \
	X(cudaErrorStreamCaptureUnjoined, "capturing stream has unjoined work") \
	X(cudaErrorStreamCaptureIsolation, "dependency created on uncaptured work in another stream") \
	X(cudaErrorStreamCaptureImplicit, "operation would make the legacy stream depend on a capturing blocking stream") \
	X(cudaErrorCapturedEvent, "operation not permitted on an event last recorded in a capturing stream") \
	X(cudaErrorStreamCaptureWrongThread, "attempt to terminate a thread-local capture sequence from another thread") \
	X(cudaErrorUnknown, "unknown error")

const char *cudaGetErrorString(cudaError_t e)
{
#define S(c, s) case c: return s;
	switch (e) { ERRORS(S) default: return "unrecognized error code"; }
#undef S
}

const char *cudaGetErrorName(cudaError_t e)
{
#define S(c, s) case c: return #c;
	switch (e) { ERRORS(S) default: return "cudaErrorUnknown"; }
#undef S
}

} // extern "C"
