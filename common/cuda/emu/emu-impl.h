/*
 * emu-impl.h - what the emulator's own files share (not for .cu code).
 *
 * sched.cc runs grids (fibers, barriers, collectives, shared memory);
 * rt.cc owns the runtime state (allocations, streams, graphs, errors) and
 * the lock under which all queued work runs; blas.cc and lt.cc queue their
 * products on streams through enqueue().
 */
#ifndef DS_CUDA_EMU_IMPL_H
#define DS_CUDA_EMU_IMPL_H

#include "emu.h"

#include <string>

namespace emu {

/* one kernel launch, as queued: the closure runs once per thread */
struct grid_launch {
	const void *fn;
	dim3 grid, block;
	size_t smem;
	std::function<void()> body;
};

/* sched.cc: run every block of a launch now, on this OS thread */
void run_grid(const grid_launch &L);
/* the schedule from EMU_SCHEDULE: 0 forward, 1 reverse, 2 random */
int schedule_kind(void);

/* rt.cc */
enum mem_kind { MEM_HOST = 0, MEM_DEVICE, MEM_PINNED };
/* what [p, p+n) is: device, pinned or pageable host memory; -1 when it
 * starts inside an allocation but runs past its end */
int mem_classify(const void *p, size_t n);
/* queue fn on stream s (or record it in s's capture); what names it in
 * messages.  Returns cudaSuccess or the capture error. */
cudaError_t enqueue(cudaStream_t s, const char *what, std::function<void()> fn);
/* the runtime's error bookkeeping: set the thread's last error, return e */
cudaError_t set_error(cudaError_t e);
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* is a device present (EMU_DEVICES != 0)? */
bool have_device(void);
/* the environment's size value: digits with an optional K/M/G suffix */
size_t env_size(const char *name, size_t dflt);

} // namespace emu

#endif
