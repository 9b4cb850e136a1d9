// rt.cc - the emulator's CUDA runtime subset: allocations, copies, lazy
// streams, events, launches; see emu.h for the model.  Graph capture and
// the device queries live in graph.cc and device.cc.
//
// All state sits behind one recursive lock; queued work runs under it, on
// the thread that waits for it.  An operation is a closure with a global
// sequence number and the (stream, sequence) pairs it must follow: the
// operations before it in its stream always, an event's record for a
// stream wait, and the legacy default stream's implicit ordering with the
// blocking streams.  Waiting for an operation runs what it follows first,
// so any wait runs exactly the work CUDA would have had to finish.
#include "rt-impl.h"

#include <cstdarg>
#include <ctime>

namespace emu {

std::recursive_mutex mu;
CUstream_st legacy_stream;
std::set<CUstream_st *> streams;
std::vector<capture *> captures;
std::map<uintptr_t, alloc> allocs;
size_t dev_used;
static uint64_t next_seq;
static __thread cudaError_t last_error;

size_t env_size(const char *name, size_t dflt)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return dflt;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	size_t mul = 1;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	}
	if (end == s || *end)
		fail("%s=%s: want a size such as 64M or 2G", name, s);
	return (size_t)v * mul;
}

size_t dev_total(void)
{
	static size_t total = env_size("EMU_DEVICE_MEM", (size_t)1 << 30);
	return total;
}

bool have_device(void)
{
	const char *s = getenv("EMU_DEVICES");
	return !(s && !strcmp(s, "0"));
}

void note(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "cuda-emu: %s\n", msg);
}

cudaError_t set_error(cudaError_t e)
{
	if (e != cudaSuccess)
		last_error = e;
	return e;
}

double now_ms(void)
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

CUstream_st *stream_of(cudaStream_t s)
{
	if (s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread)
		return &legacy_stream;
	return streams.count(s) ? s : nullptr;
}

int mem_classify(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;
	auto it = allocs.upper_bound(a);
	if (it == allocs.begin())
		return MEM_HOST;
	--it;
	if (a >= it->first + it->second.size && !(a == it->first))
		return MEM_HOST;
	if (a + n > it->first + it->second.size)
		return -1;
	return it->second.kind;
}

// a capture that the calling thread's unsafe call breaks (not Relaxed)
static capture *breaking_capture(void)
{
	for (capture *c : captures)
		if (c->mode == cudaStreamCaptureModeGlobal ||
		    (c->mode == cudaStreamCaptureModeThreadLocal && pthread_equal(c->thread, pthread_self())))
			return c;
	return nullptr;
}

// a capture with a blocking stream in it: legacy-stream work would make the
// legacy stream depend on it (cudaErrorStreamCaptureImplicit, in any mode)
static capture *blocking_capture(void)
{
	for (capture *c : captures) {
		if (!(c->origin->flags & cudaStreamNonBlocking))
			return c;
		for (CUstream_st *t : c->forked)
			if (!(t->flags & cudaStreamNonBlocking))
				return c;
	}
	return nullptr;
}

bool capture_refuses(const char *what)
{
	capture *c = breaking_capture();
	if (!c)
		return false;
	if (!c->invalid)
		note("%s during stream capture: the capture is invalidated", what);
	c->invalid = true;
	return true;
}

uint64_t enqueue_op(CUstream_st *st, std::function<void()> fn, const dep *extra)
{
	op o;
	o.seq = ++next_seq;
	o.fn = std::move(fn);
	if (extra)
		o.deps.push_back(*extra);
	if (st == &legacy_stream) {
		for (CUstream_st *t : streams)
			if (!(t->flags & cudaStreamNonBlocking) && !t->q.empty())
				o.deps.push_back({t, t->q.back().seq});
	} else if (!(st->flags & cudaStreamNonBlocking) && !legacy_stream.q.empty())
		o.deps.push_back({&legacy_stream, legacy_stream.q.back().seq});
	uint64_t seq = o.seq;
	st->q.push_back(std::move(o));
	return seq;
}

cudaError_t enqueue_on(CUstream_st *st, const char *what, std::function<void()> fn)
{
	if (st->cap) {
		capture *c = st->cap;
		if (c->invalid)
			return cudaErrorStreamCaptureInvalidated;
		c->g->ops.push_back(std::move(fn));
		c->g->names.push_back(what);
		st->last_node = (long)c->g->ops.size() - 1;
		return cudaSuccess;
	}
	if (st == &legacy_stream)
		if (capture *c = blocking_capture()) {
			if (!c->invalid)
				note("%s on the legacy stream while a blocking stream captures: the capture is invalidated",
				     what);
			c->invalid = true;
			return cudaErrorStreamCaptureImplicit;
		}
	enqueue_op(st, std::move(fn), nullptr);
	return cudaSuccess;
}

cudaError_t enqueue(cudaStream_t s, const char *what, std::function<void()> fn)
{
	std::lock_guard<std::recursive_mutex> lk(mu);
	CUstream_st *st = stream_of(s);
	if (!st)
		return set_error(cudaErrorInvalidResourceHandle);
	return set_error(enqueue_on(st, what, std::move(fn)));
}

void run_until(CUstream_st *st, uint64_t seq)
{
	while (!st->q.empty() && st->q.front().seq <= seq) {
		std::vector<dep> deps = st->q.front().deps;
		for (const dep &d : deps)
			run_until(d.s, d.seq);
		if (st->q.empty() || st->q.front().seq > seq)
			continue;
		op o = std::move(st->q.front());
		st->q.pop_front();
		o.fn();
	}
}

void run_all(void)
{
	bool more = true;
	while (more) {
		run_until(&legacy_stream, UINT64_MAX);
		more = false;
		for (CUstream_st *t : streams)
			if (!t->q.empty()) {
				run_until(t, UINT64_MAX);
				more = true;
			}
	}
}

// a synchronous call on the legacy stream (cudaMemcpy and friends): fn runs
// after the legacy stream's earlier work and what that waits for (blocking
// streams), and not after work on non-blocking streams, which a real
// cudaMemcpy does not wait for either
void legacy_sync(std::function<void()> fn)
{
	uint64_t seq = enqueue_op(&legacy_stream, std::move(fn), nullptr);
	run_until(&legacy_stream, seq);
}

/* ---- memory ---- */

static cudaError_t check_copy(void *dst, const void *src, size_t n, cudaMemcpyKind kind, const char *what)
{
	if (!dst || !src)
		return cudaErrorInvalidValue;
	int d = mem_classify(dst, n), s = mem_classify(src, n);
	if (d < 0 || s < 0) {
		note("%s: %zu bytes %s %p run past the end of its allocation", what, n,
		     d < 0 ? "to" : "from", d < 0 ? dst : src);
		return cudaErrorInvalidValue;
	}
	bool dd = d == MEM_DEVICE, sd = s == MEM_DEVICE, ok = true;
	switch (kind) {
	case cudaMemcpyHostToDevice: ok = dd && !sd; break;
	case cudaMemcpyDeviceToHost: ok = !dd && sd; break;
	case cudaMemcpyDeviceToDevice: ok = dd && sd; break;
	case cudaMemcpyHostToHost: ok = !dd && !sd; break;
	case cudaMemcpyDefault: break;
	default: return cudaErrorInvalidMemcpyDirection;
	}
	if (!ok) {
		note("%s: the direction says %s, but the destination is %s memory and the source %s memory", what,
		     kind == cudaMemcpyHostToDevice ? "host to device" : kind == cudaMemcpyDeviceToHost ?
		     "device to host" : kind == cudaMemcpyDeviceToDevice ? "device to device" : "host to host",
		     dd ? "device" : "host", sd ? "device" : "host");
		return cudaErrorInvalidValue;
	}
	return cudaSuccess;
}

static cudaError_t check_set(void *dst, size_t n, const char *what)
{
	if (!dst)
		return cudaErrorInvalidValue;
	int d = mem_classify(dst, n);
	if (d != MEM_DEVICE) {
		note("%s: %p (%zu bytes) is %s", what, dst, n, d < 0 ? "past the end of its allocation" :
		     "not device memory");
		return cudaErrorInvalidValue;
	}
	return cudaSuccess;
}

static void *poisoned(size_t align, size_t n)
{
	void *p = nullptr;
	if (posix_memalign(&p, align, n ? n : 1))
		return nullptr;
	memset(p, 0xff, n);
	return p;
}

} // namespace emu

using namespace emu;
#define LOCK std::lock_guard<std::recursive_mutex> lk(mu)

extern "C" {

cudaError_t cudaMalloc(void **p, size_t n)
{
	LOCK;
	if (!p)
		return set_error(cudaErrorInvalidValue);
	if (!have_device())
		return set_error(cudaErrorNoDevice);
	if (capture_refuses("cudaMalloc"))
		return set_error(cudaErrorStreamCaptureUnsupported);
	*p = nullptr;
	if (n == 0)
		return cudaSuccess;
	if (n > dev_total() - dev_used)
		return set_error(cudaErrorMemoryAllocation);
	void *q = poisoned(256, n);
	if (!q)
		return set_error(cudaErrorMemoryAllocation);
	allocs[(uintptr_t)q] = {n, MEM_DEVICE, false};
	dev_used += n;
	*p = q;
	return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
	LOCK;
	if (capture_refuses("cudaFree"))
		return set_error(cudaErrorStreamCaptureUnsupported);
	run_all();	// cudaFree synchronises: nothing queued may still use p
	if (!p)
		return cudaSuccess;
	auto it = allocs.find((uintptr_t)p);
	if (it == allocs.end() || it->second.kind != MEM_DEVICE) {
		note("cudaFree: %p is not the start of a device allocation", p);
		return set_error(cudaErrorInvalidValue);
	}
	dev_used -= it->second.size;
	allocs.erase(it);
	free(p);
	return cudaSuccess;
}

cudaError_t cudaHostAlloc(void **p, size_t n, unsigned int flags)
{
	LOCK;
	(void)flags;
	if (!p)
		return set_error(cudaErrorInvalidValue);
	if (capture_refuses("cudaHostAlloc"))
		return set_error(cudaErrorStreamCaptureUnsupported);
	*p = nullptr;
	if (n == 0)
		return cudaSuccess;
	void *q = poisoned(64, n);
	if (!q)
		return set_error(cudaErrorMemoryAllocation);
	allocs[(uintptr_t)q] = {n, MEM_PINNED, false};
	*p = q;
	return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t n)
{
	return cudaHostAlloc(p, n, cudaHostAllocDefault);
}

cudaError_t cudaFreeHost(void *p)
{
	LOCK;
	if (capture_refuses("cudaFreeHost"))
		return set_error(cudaErrorStreamCaptureUnsupported);
	run_all();
	if (!p)
		return cudaSuccess;
	auto it = allocs.find((uintptr_t)p);
	if (it == allocs.end() || it->second.kind != MEM_PINNED || it->second.registered) {
		note("cudaFreeHost: %p is not the start of a cudaMallocHost allocation", p);
		return set_error(cudaErrorInvalidValue);
	}
	allocs.erase(it);
	free(p);
	return cudaSuccess;
}

cudaError_t cudaHostRegister(void *p, size_t n, unsigned int flags)
{
	LOCK;
	(void)flags;
	if (!p || !n)
		return set_error(cudaErrorInvalidValue);
	uintptr_t a = (uintptr_t)p;
	auto it = allocs.lower_bound(a);
	if ((it != allocs.end() && it->first < a + n) ||
	    (it != allocs.begin() && std::prev(it)->first + std::prev(it)->second.size > a))
		return set_error(cudaErrorHostMemoryAlreadyRegistered);
	allocs[a] = {n, MEM_PINNED, true};
	return cudaSuccess;
}

cudaError_t cudaHostUnregister(void *p)
{
	LOCK;
	auto it = allocs.find((uintptr_t)p);
	if (it == allocs.end() || !it->second.registered)
		return set_error(cudaErrorHostMemoryNotRegistered);
	allocs.erase(it);
	return cudaSuccess;
}

cudaError_t cudaHostGetDevicePointer(void **d, void *h, unsigned int flags)
{
	LOCK;
	(void)flags;
	if (!d || mem_classify(h, 1) != MEM_PINNED)
		return set_error(cudaErrorInvalidValue);
	*d = h;
	return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes *a, const void *p)
{
	LOCK;
	if (!a)
		return set_error(cudaErrorInvalidValue);
	memset(a, 0, sizeof *a);
	int k = mem_classify(p, 1);
	a->type = k == MEM_DEVICE ? cudaMemoryTypeDevice : k == MEM_PINNED ? cudaMemoryTypeHost :
		  cudaMemoryTypeUnregistered;
	a->device = 0;
	a->devicePointer = k == MEM_HOST ? nullptr : const_cast<void *>(p);
	a->hostPointer = k == MEM_DEVICE ? nullptr : const_cast<void *>(p);
	return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *freeb, size_t *total)
{
	LOCK;
	if (!have_device())
		return set_error(cudaErrorNoDevice);
	if (freeb)
		*freeb = dev_total() - dev_used;
	if (total)
		*total = dev_total();
	return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind kind)
{
	LOCK;
	if (n == 0)
		return cudaSuccess;
	cudaError_t e = check_copy(dst, src, n, kind, "cudaMemcpy");
	if (e)
		return set_error(e);
	if (breaking_capture()) {	// the legacy stream would wait for a capturing stream
		capture_refuses("cudaMemcpy");
		return set_error(cudaErrorStreamCaptureImplicit);
	}
	legacy_sync([dst, src, n]() { memmove(dst, src, n); });
	return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind kind, cudaStream_t s)
{
	LOCK;
	if (n == 0)
		return cudaSuccess;
	cudaError_t e = check_copy(dst, src, n, kind, "cudaMemcpyAsync");
	if (e)
		return set_error(e);
	return enqueue(s, "cudaMemcpyAsync", [dst, src, n]() { memmove(dst, src, n); });
}

static cudaError_t copy2d(void *dst, size_t dp, const void *src, size_t sp, size_t w, size_t h,
			  cudaMemcpyKind kind, cudaStream_t s, bool sync)
{
	if (w == 0 || h == 0)
		return cudaSuccess;
	if (w > dp || w > sp)
		return set_error(cudaErrorInvalidPitchValue);
	cudaError_t e = check_copy(dst, src, 0, kind, sync ? "cudaMemcpy2D" : "cudaMemcpy2DAsync");
	if (!e && (mem_classify(dst, dp * (h - 1) + w) < 0 || mem_classify(src, sp * (h - 1) + w) < 0)) {
		note("cudaMemcpy2D: the rows run past the end of an allocation");
		e = cudaErrorInvalidValue;
	}
	if (e)
		return set_error(e);
	auto fn = [=]() {
		for (size_t r = 0; r < h; r++)
			memmove((char *)dst + r * dp, (const char *)src + r * sp, w);
	};
	if (!sync)
		return enqueue(s, "cudaMemcpy2DAsync", fn);
	if (breaking_capture()) {
		capture_refuses("cudaMemcpy2D");
		return set_error(cudaErrorStreamCaptureImplicit);
	}
	legacy_sync(fn);
	return cudaSuccess;
}

cudaError_t cudaMemcpy2D(void *dst, size_t dp, const void *src, size_t sp, size_t w, size_t h, cudaMemcpyKind k)
{
	LOCK;
	return copy2d(dst, dp, src, sp, w, h, k, nullptr, true);
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dp, const void *src, size_t sp, size_t w, size_t h,
			      cudaMemcpyKind k, cudaStream_t s)
{
	LOCK;
	return copy2d(dst, dp, src, sp, w, h, k, s, false);
}

// __device__ and __constant__ variables are ordinary globals here
cudaError_t cudaMemcpyToSymbol(const void *sym, const void *src, size_t n, size_t off, cudaMemcpyKind kind)
{
	LOCK;
	if (!sym || !src || (kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToDevice &&
			     kind != cudaMemcpyDefault))
		return set_error(cudaErrorInvalidValue);
	legacy_sync([=]() { memmove((char *)const_cast<void *>(sym) + off, src, n); });
	return cudaSuccess;
}

cudaError_t cudaMemcpyFromSymbol(void *dst, const void *sym, size_t n, size_t off, cudaMemcpyKind kind)
{
	LOCK;
	if (!sym || !dst || (kind != cudaMemcpyDeviceToHost && kind != cudaMemcpyDeviceToDevice &&
			     kind != cudaMemcpyDefault))
		return set_error(cudaErrorInvalidValue);
	legacy_sync([=]() { memmove(dst, (const char *)sym + off, n); });
	return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s)
{
	LOCK;
	if (n == 0)
		return cudaSuccess;
	cudaError_t e = check_set(p, n, "cudaMemsetAsync");
	if (e)
		return set_error(e);
	return enqueue(s, "cudaMemsetAsync", [p, v, n]() { memset(p, v, n); });
}

// asynchronous with respect to the host for device memory: on the legacy stream
cudaError_t cudaMemset(void *p, int v, size_t n)
{
	LOCK;
	if (n == 0)
		return cudaSuccess;
	cudaError_t e = check_set(p, n, "cudaMemset");
	if (e)
		return set_error(e);
	return enqueue(nullptr, "cudaMemset", [p, v, n]() { memset(p, v, n); });
}

cudaError_t cudaMallocAsync(void **p, size_t n, cudaStream_t s)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (!st)
		return set_error(cudaErrorInvalidResourceHandle);
	if (st->cap) {
		note("cudaMallocAsync in a stream capture is not emulated");
		return set_error(cudaErrorNotSupported);
	}
	return cudaMalloc(p, n);
}

cudaError_t cudaFreeAsync(void *p, cudaStream_t s)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (!st)
		return set_error(cudaErrorInvalidResourceHandle);
	if (st->cap) {
		note("cudaFreeAsync in a stream capture is not emulated");
		return set_error(cudaErrorNotSupported);
	}
	if (!p)
		return cudaSuccess;
	auto it = allocs.find((uintptr_t)p);
	if (it == allocs.end() || it->second.kind != MEM_DEVICE)
		return set_error(cudaErrorInvalidValue);
	return enqueue(s, "cudaFreeAsync", [p]() {
		auto i = allocs.find((uintptr_t)p);
		dev_used -= i->second.size;
		allocs.erase(i);
		free(p);
	});
}

/* ---- streams and events ---- */

cudaError_t cudaStreamCreateWithPriority(cudaStream_t *s, unsigned int flags, int prio)
{
	LOCK;
	if (!s || (flags & ~cudaStreamNonBlocking))
		return set_error(cudaErrorInvalidValue);
	CUstream_st *st = new CUstream_st;
	st->flags = flags;
	st->prio = prio;
	streams.insert(st);
	*s = st;
	return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int flags)
{
	return cudaStreamCreateWithPriority(s, flags, 0);
}

cudaError_t cudaStreamCreate(cudaStream_t *s)
{
	return cudaStreamCreateWithPriority(s, cudaStreamDefault, 0);
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (!st || st == &legacy_stream)
		return set_error(cudaErrorInvalidResourceHandle);
	if (st->cap) {
		st->cap->invalid = true;
		return set_error(cudaErrorStreamCaptureUnsupported);
	}
	run_until(st, UINT64_MAX);	// its work still completes
	streams.erase(st);
	delete st;
	return cudaSuccess;
}

cudaError_t cudaStreamGetFlags(cudaStream_t s, unsigned int *flags)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (!st || !flags)
		return set_error(st ? cudaErrorInvalidValue : cudaErrorInvalidResourceHandle);
	*flags = st->flags;
	return cudaSuccess;
}

cudaError_t cudaStreamGetPriority(cudaStream_t s, int *prio)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (!st || !prio)
		return set_error(st ? cudaErrorInvalidValue : cudaErrorInvalidResourceHandle);
	*prio = st->prio;
	return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (!st)
		return set_error(cudaErrorInvalidResourceHandle);
	if (st->cap) {
		if (!st->cap->invalid)
			note("cudaStreamSynchronize of a capturing stream: the capture is invalidated");
		st->cap->invalid = true;
		return set_error(cudaErrorStreamCaptureUnsupported);
	}
	if (st == &legacy_stream && breaking_capture()) {
		capture_refuses("cudaStreamSynchronize of the legacy stream");
		return set_error(cudaErrorStreamCaptureImplicit);
	}
	run_until(st, UINT64_MAX);	// the legacy stream: with what it waits for, not non-blocking streams
	return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t s)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (st && st->cap) {
		st->cap->invalid = true;
		return set_error(cudaErrorStreamCaptureUnsupported);
	}
	return cudaStreamSynchronize(s);	// someone asked: the work runs now
}

cudaError_t cudaDeviceSynchronize(void)
{
	LOCK;
	if (capture_refuses("cudaDeviceSynchronize"))
		return set_error(cudaErrorStreamCaptureUnsupported);
	run_all();
	return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc(cudaStream_t s, cudaHostFn_t fn, void *data)
{
	LOCK;
	if (!fn)
		return set_error(cudaErrorInvalidValue);
	return enqueue(s, "cudaLaunchHostFunc", [fn, data]() { fn(data); });
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned int flags)
{
	LOCK;
	if (!e)
		return set_error(cudaErrorInvalidValue);
	CUevent_st *ev = new CUevent_st;
	ev->flags = flags;
	*e = ev;
	return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *e)
{
	return cudaEventCreateWithFlags(e, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t e)
{
	LOCK;
	if (!e)
		return set_error(cudaErrorInvalidResourceHandle);
	if (e->s && !e->done && !e->cap)
		run_until(e->s, e->seq);	// the queued record refers to it
	delete e;
	return cudaSuccess;
}

cudaError_t cudaEventRecordWithFlags(cudaEvent_t e, cudaStream_t s, unsigned int flags)
{
	LOCK;
	(void)flags;
	CUstream_st *st = stream_of(s);
	if (!e || !st)
		return set_error(cudaErrorInvalidResourceHandle);
	if (st->cap) {	// a position in the capture, for other streams to fork/join on
		if (st->cap->invalid)
			return set_error(cudaErrorStreamCaptureInvalidated);
		e->cap = st->cap;
		e->cap_stream = st;
		e->node = st->last_node;
		e->s = nullptr;
		e->done = false;
		return cudaSuccess;
	}
	if (st == &legacy_stream && breaking_capture()) {
		capture_refuses("cudaEventRecord on the legacy stream");
		return set_error(cudaErrorStreamCaptureImplicit);
	}
	e->cap = nullptr;
	e->s = st;
	e->done = false;
	e->seq = enqueue_op(st, [e]() { e->done = true; e->t_ms = now_ms(); }, nullptr);
	return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
	return cudaEventRecordWithFlags(e, s, 0);
}

cudaError_t cudaEventSynchronize(cudaEvent_t e)
{
	LOCK;
	if (!e)
		return set_error(cudaErrorInvalidResourceHandle);
	if (e->cap)
		return set_error(cudaErrorCapturedEvent);
	if (e->s && !e->done)
		run_until(e->s, e->seq);
	return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t e)
{
	return cudaEventSynchronize(e);	// asking runs the work
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b)
{
	LOCK;
	if (!ms || !a || !b)
		return set_error(!ms ? cudaErrorInvalidValue : cudaErrorInvalidResourceHandle);
	if ((a->flags | b->flags) & cudaEventDisableTiming)
		return set_error(cudaErrorInvalidResourceHandle);
	if (!a->done || !b->done)
		return set_error(cudaErrorNotReady);
	*ms = (float)(b->t_ms - a->t_ms);
	return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned int flags)
{
	LOCK;
	(void)flags;
	CUstream_st *st = stream_of(s);
	if (!st || !e)
		return set_error(cudaErrorInvalidResourceHandle);
	if (e->cap)
		return set_error(capture_join(st, e));
	if (st->cap)	// uncaptured work cannot become a dependency of the graph
		return set_error(cudaErrorStreamCaptureIsolation);
	if (!e->s || e->done)
		return cudaSuccess;
	dep d = {e->s, e->seq};
	enqueue_op(st, []() {}, &d);
	return cudaSuccess;
}

/* ---- launches ---- */

cudaError_t cudaGetLastError(void)
{
	cudaError_t e = last_error;
	last_error = cudaSuccess;
	return e;
}

cudaError_t cudaPeekAtLastError(void)
{
	return last_error;
}

} // extern "C"

namespace emu {

cudaError_t launch_closure(const void *fn, dim3 g, dim3 b, size_t smem, cudaStream_t s,
			   std::function<void()> body)
{
	LOCK;
	if (!have_device())
		return set_error(cudaErrorNoDevice);
	unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
	if (!b.x || !b.y || !b.z || b.x > 1024 || b.y > 1024 || b.z > 64 || threads > 1024) {
		note("kernel launch refused: block (%u,%u,%u) (at most 1024 threads, 1024 x 1024 x 64)", b.x, b.y, b.z);
		return set_error(cudaErrorInvalidConfiguration);
	}
	if (!g.x || !g.y || !g.z || g.x > 2147483647u || g.y > 65535 || g.z > 65535) {
		note("kernel launch refused: grid (%u,%u,%u)", g.x, g.y, g.z);
		return set_error(cudaErrorInvalidConfiguration);
	}
	size_t maxdyn = func_max_dyn_smem(fn);
	if (smem > maxdyn) {
		note("kernel launch refused: %zu bytes of dynamic shared memory, the kernel allows %zu%s", smem,
		     maxdyn, maxdyn == 48 * 1024 ? " (cudaFuncSetAttribute raises it to 227 KiB)" : "");
		return set_error(cudaErrorInvalidValue);
	}
	grid_launch L{fn, g, b, smem, std::move(body)};
	return enqueue(s, "kernel", [L]() { run_grid(L); });
}

} // namespace emu
