// graph.cc - stream capture, instantiate and launch of CUDA graphs in the
// emulator; see emu.h for the model and rt-impl.h for the state.
//
// A capture records the closures that would have been queued, in call
// order, which respects every dependency (a wait can only name work already
// recorded), so replay runs them one after another.  Streams join a capture
// by waiting on an event recorded in it (fork), and must be waited on by the
// origin after their last node before EndCapture (join), as CUDA requires.
#include "rt-impl.h"

using namespace emu;
#define LOCK std::lock_guard<std::recursive_mutex> lk(mu)

namespace emu {

cudaError_t capture_join(CUstream_st *st, CUevent_st *e)
{
	capture *c = e->cap;
	if (c->invalid)
		return cudaErrorStreamCaptureInvalidated;
	if (st->cap && st->cap != c)
		return cudaErrorStreamCaptureMerge;
	if (!st->cap) {	// fork: st continues the capture after e's node
		if (st == &legacy_stream)
			return cudaErrorStreamCaptureImplicit;
		st->cap = c;
		st->last_node = e->node;
		st->joined_node = -2;
		c->forked.push_back(st);
		return cudaSuccess;
	}
	if (e->cap_stream != st && e->node > e->cap_stream->joined_node)
		e->cap_stream->joined_node = e->node;	// st now follows that work
	if (e->node > st->last_node)
		st->last_node = e->node;
	return cudaSuccess;
}

} // namespace emu

extern "C" {

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode)
{
	LOCK;
	static unsigned long long ids;
	CUstream_st *st = stream_of(s);
	if (!st)
		return set_error(cudaErrorInvalidResourceHandle);
	if (st == &legacy_stream)
		return set_error(cudaErrorStreamCaptureUnsupported);
	if (st->cap)
		return set_error(cudaErrorIllegalState);
	if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
	    mode != cudaStreamCaptureModeRelaxed)
		return set_error(cudaErrorInvalidValue);
	capture *c = new capture{new CUgraph_st, mode, pthread_self(), false, st, {}, ++ids};
	captures.push_back(c);
	st->cap = c;
	st->last_node = -1;
	return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (!st)
		return set_error(cudaErrorInvalidResourceHandle);
	if (!g)
		return set_error(cudaErrorInvalidValue);
	capture *c = st->cap;
	if (!c)
		return set_error(cudaErrorIllegalState);
	if (c->origin != st)
		return set_error(cudaErrorStreamCaptureUnmatched);
	if (c->mode == cudaStreamCaptureModeThreadLocal && !pthread_equal(c->thread, pthread_self()))
		return set_error(cudaErrorStreamCaptureWrongThread);
	bool unjoined = false;
	for (CUstream_st *t : c->forked) {
		if (t->joined_node < t->last_node)
			unjoined = true;
		t->cap = nullptr;
	}
	st->cap = nullptr;
	for (size_t i = 0; i < captures.size(); i++)
		if (captures[i] == c)
			captures.erase(captures.begin() + (long)i);
	cudaError_t e = c->invalid ? cudaErrorStreamCaptureInvalidated :
			unjoined ? cudaErrorStreamCaptureUnjoined : cudaSuccess;
	*g = e ? nullptr : c->g;
	if (e)
		delete c->g;
	delete c;
	return set_error(e);
}

cudaError_t cudaStreamIsCapturing(cudaStream_t s, cudaStreamCaptureStatus *status)
{
	LOCK;
	CUstream_st *st = stream_of(s);
	if (!st)
		return set_error(cudaErrorInvalidResourceHandle);
	if (!status)
		return set_error(cudaErrorInvalidValue);
	if (st == &legacy_stream) {
		for (capture *c : captures)
			if (c->mode != cudaStreamCaptureModeRelaxed)
				return set_error(cudaErrorStreamCaptureImplicit);
		*status = cudaStreamCaptureStatusNone;
		return cudaSuccess;
	}
	*status = !st->cap ? cudaStreamCaptureStatusNone : st->cap->invalid ?
		  cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
	return cudaSuccess;
}

cudaError_t cudaStreamGetCaptureInfo(cudaStream_t s, cudaStreamCaptureStatus *status, unsigned long long *id,
				     cudaGraph_t *graph, const cudaGraphNode_t **deps,
				     const cudaGraphEdgeData **edges, size_t *ndeps)
{
	LOCK;
	cudaError_t e = cudaStreamIsCapturing(s, status);
	if (e)
		return e;
	CUstream_st *st = stream_of(s);
	if (id)
		*id = st->cap ? st->cap->id : 0;
	if (graph)
		*graph = st->cap ? st->cap->g : nullptr;
	if (deps)
		*deps = nullptr;
	if (edges)
		*edges = nullptr;
	if (ndeps)
		*ndeps = 0;
	return cudaSuccess;
}

cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode *mode)
{
	if (!mode)
		return set_error(cudaErrorInvalidValue);
	*mode = cudaStreamCaptureModeGlobal;	// per-thread modes are not emulated
	return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *x, cudaGraph_t g, unsigned long long flags)
{
	LOCK;
	(void)flags;
	if (!x || !g)
		return set_error(cudaErrorInvalidValue);
	*x = new CUgraphExec_st{std::make_shared<const std::vector<std::function<void()>>>(g->ops)};
	return cudaSuccess;
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *x, cudaGraph_t g, unsigned long long flags)
{
	return cudaGraphInstantiate(x, g, flags);
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t x, cudaStream_t s)
{
	LOCK;
	if (!x)
		return set_error(cudaErrorInvalidValue);
	auto ops = x->ops;
	return enqueue(s, "cudaGraphLaunch", [ops]() {
		for (const auto &fn : *ops)
			fn();
	});
}

cudaError_t cudaGraphUpload(cudaGraphExec_t x, cudaStream_t s)
{
	(void)s;
	return x ? cudaSuccess : set_error(cudaErrorInvalidValue);
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t x)
{
	LOCK;
	delete x;	// queued launches hold their own reference to the nodes
	return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
	LOCK;
	delete g;
	return cudaSuccess;
}

// the node count only: nodes themselves are not emulated
cudaError_t cudaGraphGetNodes(cudaGraph_t g, cudaGraphNode_t *nodes, size_t *n)
{
	LOCK;
	if (!g || !n)
		return set_error(cudaErrorInvalidValue);
	if (nodes)
		return set_error(cudaErrorNotSupported);
	*n = g->ops.size();
	return cudaSuccess;
}

} // extern "C"
