/*
 * rt-impl.h - the emulated runtime's state, shared by rt.cc (memory,
 * streams, events, launches), graph.cc (capture and replay) and device.cc
 * (device queries, function attributes, error strings).  Everything here is
 * touched only with mu held.
 */
#ifndef DS_CUDA_EMU_RT_IMPL_H
#define DS_CUDA_EMU_RT_IMPL_H

#include "emu-impl.h"

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include <pthread.h>

namespace emu {
struct capture;
struct dep {
	CUstream_st *s;
	uint64_t seq;
};
struct op {
	uint64_t seq;
	std::function<void()> fn;
	std::vector<dep> deps;	// (stream, seq) pairs that must have run first
};
} // namespace emu

struct CUstream_st {
	std::deque<emu::op> q;
	unsigned flags = 0;
	int prio = 0;
	emu::capture *cap = nullptr;	// the capture this stream records into
	long last_node = -1;		// its last node in that capture
	long joined_node = -2;		// the latest of its nodes the origin has waited for
};

struct CUevent_st {
	unsigned flags = 0;
	CUstream_st *s = nullptr;	// recorded (outside capture) in s at seq
	uint64_t seq = 0;
	bool done = false;
	double t_ms = 0;
	emu::capture *cap = nullptr;	// recorded inside this capture at node
	CUstream_st *cap_stream = nullptr;
	long node = -1;
};

struct CUgraph_st {
	std::vector<std::function<void()>> ops;	// in capture order: a valid sequential order
	std::vector<const char *> names;
};

struct CUgraphExec_st {
	std::shared_ptr<const std::vector<std::function<void()>>> ops;
};

namespace emu {

struct capture {
	CUgraph_st *g;
	cudaStreamCaptureMode mode;
	pthread_t thread;
	bool invalid;
	CUstream_st *origin;
	std::vector<CUstream_st *> forked;
	unsigned long long id;
};

struct alloc {
	size_t size;
	int kind;		// mem_kind
	bool registered;	// cudaHostRegister'ed, not ours to free
};

extern std::recursive_mutex mu;
extern CUstream_st legacy_stream;
extern std::set<CUstream_st *> streams;
extern std::vector<capture *> captures;
extern std::map<uintptr_t, alloc> allocs;
extern size_t dev_used;

size_t dev_total(void);
double now_ms(void);
/* the stream a handle names (0, cudaStreamLegacy and cudaStreamPerThread are
 * the legacy stream), or nullptr for a handle that is not one */
CUstream_st *stream_of(cudaStream_t s);
/* queue fn on st outside any capture, after extra if given; its sequence */
uint64_t enqueue_op(CUstream_st *st, std::function<void()> fn, const dep *extra);
/* queue, or record into st's capture */
cudaError_t enqueue_on(CUstream_st *st, const char *what, std::function<void()> fn);
void run_until(CUstream_st *st, uint64_t seq);
void run_all(void);
/* an unsafe call (what) during a capture in Global mode, or ThreadLocal
 * mode on this thread: invalidates that capture and returns true */
bool capture_refuses(const char *what);
/* st waits on e, which was recorded in a capture: st joins it (fork), or
 * the origin takes in a forked stream's work (join) */
cudaError_t capture_join(CUstream_st *st, CUevent_st *e);
/* cudaFuncAttributeMaxDynamicSharedMemorySize of a kernel (48 KiB unset) */
size_t func_max_dyn_smem(const void *fn);

} // namespace emu

#endif
