// sched.cc - the emulator's block runner: the threads of a block as
// cooperative fibers, __syncthreads and the warp collectives as scheduling
// points, shared memory per block, schedules.  See emu.h for the model.
//
// One block runs at a time, on the OS thread that made the stream run (under
// rt.cc's lock).  Each thread is a fiber with its own stack (a pool of
// mmap'd stacks with a guard page, kept for the process).  A thread runs
// until it waits (barrier or collective) or ends, then switches straight to
// the next ready thread in the block's order; only when none is ready does
// control go back to the scheduler, which releases a complete barrier or
// reports the deadlock.  A warp collective is released by the lane whose
// arrival completes it.  Ready threads are a bitset by position in the
// order, so finding the next one costs at most 16 word tests.
#include "emu-impl.h"

#include <cstdarg>
#include <ctime>
#include <vector>

#include <dlfcn.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#else
#define EMU_ASAN 0
#endif

// The switch: save the callee-saved registers on the current stack, store
// its pointer in *save, load the other stack's pointer and pop its
// registers.  A new fiber's stack is laid out so that the first switch to
// it "returns" into emu_ctx_entry with the fiber in r12.
extern "C" void emu_ctx_switch(void **save, void *to);
extern "C" void emu_ctx_entry(void);
asm(R"(
	.pushsection .text
	.globl emu_ctx_switch
	.type emu_ctx_switch, @function
emu_ctx_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size emu_ctx_switch, .-emu_ctx_switch
	.globl emu_ctx_entry
	.type emu_ctx_entry, @function
emu_ctx_entry:
	movq %r12, %rdi
	call emu_fiber_main@PLT
	ud2
	.size emu_ctx_entry, .-emu_ctx_entry
	.popsection
)");

namespace emu {

__thread lane_ctx *cur;

namespace {

enum { ST_READY, ST_BAR, ST_WARP, ST_DONE };

struct fiber {
	lane_ctx c;		// first: cur points here
	void *sp;
	char *stack;		// lowest usable address
	void *fake;		// ASan's fake stack while switched away
	int lin, lane, warp, pos, st;
	// what it waits at
	const char *file;
	int line, kind, arg, width, pred, bar_result;
	unsigned mask;
	size_t size;
	alignas(16) unsigned char in[16], out[16];
};

// a collective some lanes of a warp wait at
struct group {
	unsigned mask, arrived;
	int kind;
	const char *file;
	int line;
	size_t size;
	int first;		// lane that opened it, for messages
};

struct warp_state {
	unsigned done, bar;	// lanes that have exited, that wait at __syncthreads
	int ngroups;
	group g[32];
};

struct region {
	const void *key;
	void *p;
	size_t size;
	const char *file;
	int line;
};

struct block {
	const grid_launch *L;
	std::vector<fiber> f;
	std::vector<int> ord;	// ord[pos] = linear thread index
	std::vector<warp_state> warps;
	uint64_t ready[16];
	int n, live;
	uint3 idx;
	void *sched_sp, *sched_fake;
	const void *sched_bottom;
	size_t sched_size;
	unsigned char *dyn;
	std::vector<region> regions;
	size_t static_total;
	unsigned long long launch_no;
};

__thread block *B;
std::vector<char *> stacks;
size_t stack_size;
unsigned long long launches;

const size_t static_smem_max = 48 * 1024;	// per kernel, as nvcc allows
const size_t smem_optin_max = 232448;		// 227 KiB per block on sm_90

struct sched_cfg {
	int kind = 0;		// 0 forward, 1 reverse, 2 random
	uint64_t seed = 1;
	bool strict = true;
	bool loaded = false;
};
sched_cfg cfg;

void load_cfg()
{
	if (cfg.loaded)
		return;
	cfg.loaded = true;
	const char *s = getenv("EMU_SCHEDULE");
	if (!s || !*s || !strcmp(s, "forward"))
		cfg.kind = 0;
	else if (!strcmp(s, "reverse"))
		cfg.kind = 1;
	else if (!strncmp(s, "random", 6) && (s[6] == 0 || s[6] == ':')) {
		cfg.kind = 2;
		if (s[6] == ':') {
			char *end;
			cfg.seed = strtoull(s + 7, &end, 0);
			if (end == s + 7 || *end)
				fail("EMU_SCHEDULE=%s: the seed must be a number", s);
		}
	} else
		fail("EMU_SCHEDULE=%s: want forward, reverse, random or random:SEED", s);
	const char *st = getenv("EMU_STRICT");
	cfg.strict = !(st && !strcmp(st, "0"));
}

uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

template <class T> void permute(std::vector<T> &v, uint64_t seed)
{
	for (size_t i = v.size(); i > 1; i--) {
		seed = mix(seed);
		size_t j = seed % i;
		std::swap(v[i - 1], v[j]);
	}
}

fiber *self(const char *what)
{
	if (!cur || !B)
		fail("%s called outside a kernel", what);
	return reinterpret_cast<fiber *>(cur);
}

const char *kind_name(int k)
{
	static const char *const names[] = {
		"__syncwarp", "__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync",
		"__ballot_sync", "__any_sync", "__all_sync",
		"__reduce_add_sync", "__reduce_min_sync", "__reduce_min_sync", "__reduce_max_sync",
		"__reduce_max_sync", "__reduce_and_sync", "__reduce_or_sync", "__reduce_xor_sync",
		"__match_any_sync",
	};
	return k >= 0 && k < (int)(sizeof names / sizeof *names) ? names[k] : "?";
}

// small fixed-size copies inline (a call to memcpy costs more than the rest)
inline void copy_small(void *d, const void *s, size_t n)
{
	switch (n) {
	case 4: memcpy(d, s, 4); break;
	case 8: memcpy(d, s, 8); break;
	case 2: memcpy(d, s, 2); break;
	case 16: memcpy(d, s, 16); break;
	default: memcpy(d, s, n); break;
	}
}

bool same_site(const char *f1, int l1, const char *f2, int l2)
{
	return l1 == l2 && (f1 == f2 || !strcmp(f1, f2));
}

void set_ready(block &b, int pos) { b.ready[pos >> 6] |= 1ull << (pos & 63); }
void clear_ready(block &b, int pos) { b.ready[pos >> 6] &= ~(1ull << (pos & 63)); }

// first ready position in [lo, hi), or -1
int find_ready(const block &b, int lo, int hi)
{
	for (int w = lo >> 6; w <= (hi - 1) >> 6 && lo < hi; w++) {
		uint64_t bits = b.ready[w];
		if (w == lo >> 6)
			bits &= ~0ull << (lo & 63);
		if (bits) {
			int p = (w << 6) + __builtin_ctzll(bits);
			return p < hi ? p : -1;
		}
	}
	return -1;
}

// the next ready position after p, wrapping around (p = -1: from the start)
int next_ready(const block &b, int p)
{
	int q = find_ready(b, p + 1, b.n);
	return q >= 0 ? q : find_ready(b, 0, p + 1);
}

__attribute__((no_sanitize_address))
void switch_to(void **save, void **fake, fiber *to, bool dying)
{
	block &b = *B;
	void *dst = to ? to->sp : b.sched_sp;
	cur = to ? &to->c : nullptr;
#if EMU_ASAN
	__sanitizer_start_switch_fiber(dying ? nullptr : fake, to ? to->stack : b.sched_bottom,
				       to ? stack_size : b.sched_size);
#else
	(void)fake;
	(void)dying;
#endif
	emu_ctx_switch(save, dst);
#if EMU_ASAN
	__sanitizer_finish_switch_fiber(*fake, nullptr, nullptr);
#endif
}

// f waits or has ended: run the next ready thread, or the scheduler
__attribute__((no_sanitize_address))
void yield(fiber *f)
{
	block &b = *B;
	int p = next_ready(b, f->pos);
	fiber *to = nullptr;
	if (p >= 0) {
		clear_ready(b, p);
		to = &b.f[b.ord[p]];
		if (to == f)
			return;
	}
	switch_to(&f->sp, &f->fake, to, f->st == ST_DONE);
}

void describe(const fiber *f, char *buf, size_t n)
{
	snprintf(buf, n, "thread (%u,%u,%u)", f->c.thread_idx.x, f->c.thread_idx.y, f->c.thread_idx.z);
}

const group *group_of(const warp_state &w, int lane)
{
	for (int i = 0; i < w.ngroups; i++)
		if (w.g[i].mask >> lane & 1)
			return &w.g[i];
	return nullptr;
}

void thread_done(fiber *f)
{
	block &b = *B;
	f->st = ST_DONE;
	b.live--;
	warp_state &w = b.warps[f->warp];
	w.done |= 1u << f->lane;
	if (const group *g = group_of(w, f->lane))
		fail("lane %d of warp %d exited while lane %d waits for it at %s (%s:%d, mask 0x%08x)",
		     f->lane, f->warp, g->first, kind_name(g->kind), g->file, g->line, g->mask);
}

void release_barrier(block &b)
{
	const fiber *first = nullptr;
	int count = 0, all = 1, any = 0;
	for (const fiber &g : b.f) {
		if (g.st != ST_BAR)
			continue;
		if (!first)
			first = &g;
		else if (!same_site(g.file, g.line, first->file, first->line) || g.kind != first->kind) {
			char a[64], c[64];
			describe(first, a, sizeof a);
			describe(&g, c, sizeof c);
			fail("threads wait at different barriers: %s at %s:%d, %s at %s:%d",
			     a, first->file, first->line, c, g.file, g.line);
		}
		count += g.pred;
		all &= g.pred;
		any |= g.pred;
	}
	if (cfg.strict && b.live < b.n) {
		const fiber *gone = nullptr;
		for (const fiber &g : b.f)
			if (g.st == ST_DONE) {
				gone = &g;
				break;
			}
		char a[64];
		describe(gone, a, sizeof a);
		fail("__syncthreads at %s:%d: %d of the block's %d threads exited before it (%s first); "
		     "undefined on a GPU (EMU_STRICT=0 allows it)", first->file, first->line,
		     b.n - b.live, b.n, a);
	}
	int r = first->kind == 0 ? count : first->kind == 1 ? all : first->kind == 2 ? any : 0;
	for (warp_state &w : b.warps)
		w.bar = 0;
	for (fiber &g : b.f)
		if (g.st == ST_BAR) {
			g.st = ST_READY;
			g.bar_result = r;
			set_ready(b, g.pos);
		}
}

// nothing is ready and threads remain: a complete barrier, or a deadlock
void resolve(block &b)
{
	for (size_t i = 0; i < b.warps.size(); i++)
		if (b.warps[i].ngroups) {
			const group &g = b.warps[i].g[0];
			fail("deadlock: lane %d of warp %zu waits at %s (%s:%d, mask 0x%08x) for lanes 0x%08x",
			     g.first, i, kind_name(g.kind), g.file, g.line, g.mask, g.mask & ~g.arrived);
		}
	release_barrier(b);
}

bool is_shuffle(int k) { return k >= W_SHFL_IDX && k <= W_SHFL_XOR; }

// the source lane of a shuffle, as PTX shfl.sync defines it from the width
int shfl_source(int kind, int lane, int arg, int width)
{
	int seg = ~(width - 1) & 31, b = arg & 31;
	int lo = lane & seg, hi = lo | (31 & ~seg), j = lane;
	bool ok = false;
	switch (kind) {
	case W_SHFL_IDX: j = lo | (b & ~seg); ok = j <= hi; break;
	case W_SHFL_UP: j = lane - b; ok = j >= lo; break;
	case W_SHFL_DOWN: j = lane + b; ok = j <= hi; break;
	case W_SHFL_XOR: j = lane ^ b; ok = j <= hi; break;
	}
	return ok ? j : lane;
}

// every lane of mask has arrived at the same collective: give each its result
void complete(block &b, int base, unsigned mask, int kind)
{
	uint32_t ballot = 0, add = 0, band = ~0u, bor = 0, bxor = 0;
	uint32_t umin = ~0u, umax = 0;
	int32_t imin = INT32_MAX, imax = INT32_MIN;
	for (int j = 0; j < 32; j++) {
		if (!(mask >> j & 1))
			continue;
		uint32_t v;
		memcpy(&v, b.f[base + j].in, 4);
		ballot |= (v != 0) << j;
		add += v;
		band &= v;
		bor |= v;
		bxor ^= v;
		umin = v < umin ? v : umin;
		umax = v > umax ? v : umax;
		imin = (int32_t)v < imin ? (int32_t)v : imin;
		imax = (int32_t)v > imax ? (int32_t)v : imax;
	}
	for (int j = 0; j < 32; j++) {
		if (!(mask >> j & 1))
			continue;
		fiber *g = &b.f[base + j];
		uint32_t r = 0;
		switch (kind) {
		case W_SYNCWARP: break;
		case W_SHFL_IDX: case W_SHFL_UP: case W_SHFL_DOWN: case W_SHFL_XOR: {
			int src = shfl_source(kind, j, g->arg, g->width);
			if (mask >> src & 1)
				copy_small(g->out, b.f[base + src].in, g->size);
			else	// an inactive source lane: undefined on a GPU
				memset(g->out, 0xff, g->size);
			break;
		}
		case W_BALLOT: r = ballot; break;
		case W_ANY: r = ballot != 0; break;
		case W_ALL: r = ballot == mask; break;
		case W_RED_ADD: r = add; break;
		case W_RED_MIN_U: r = umin; break;
		case W_RED_MAX_U: r = umax; break;
		case W_RED_MIN_I: r = (uint32_t)imin; break;
		case W_RED_MAX_I: r = (uint32_t)imax; break;
		case W_RED_AND: r = band; break;
		case W_RED_OR: r = bor; break;
		case W_RED_XOR: r = bxor; break;
		case W_MATCH_ANY:
			for (int k = 0; k < 32; k++)
				if ((mask >> k & 1) && !memcmp(b.f[base + k].in, g->in, g->size))
					r |= 1u << k;
			break;
		}
		if (!is_shuffle(kind))
			memcpy(g->out, &r, 4);
		g->st = ST_READY;
		set_ready(b, g->pos);
	}
}

void init_fiber(fiber *f)
{
	// tops staggered by cache lines: stacks a page multiple apart would all
	// start in the same L1 set
	uintptr_t top = ((uintptr_t)f->stack + stack_size - (size_t)(f->lin % 63) * 64) & ~(uintptr_t)15;
	void **sp = reinterpret_cast<void **>(top);
#if EMU_ASAN
	// the frames of a block that ended are gone; say so before reusing them
	ASAN_UNPOISON_MEMORY_REGION((void *)(top - 16384), 16384);
#endif
	*--sp = reinterpret_cast<void *>(emu_ctx_entry);
	*--sp = nullptr;	// rbp
	*--sp = nullptr;	// rbx
	*--sp = f;		// r12
	*--sp = nullptr;	// r13
	*--sp = nullptr;	// r14
	*--sp = nullptr;	// r15
	f->sp = sp;
	f->fake = nullptr;
	f->st = ST_READY;
}

void ensure_stacks(size_t n)
{
	if (!stack_size) {
		stack_size = env_size("EMU_STACK", EMU_ASAN ? 256 * 1024 : 64 * 1024);
		stack_size = (stack_size + 4095) & ~(size_t)4095;
		if (stack_size < 16384)
			stack_size = 16384;
	}
	while (stacks.size() < n) {
		size_t page = 4096;
		void *m = mmap(nullptr, stack_size + page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			fail("cannot map a %zu-byte fiber stack", stack_size);
		mprotect(m, page, PROT_NONE);	// a stack overflow faults instead of corrupting
		stacks.push_back(static_cast<char *>(m) + page);
	}
}

void os_stack(block &b)
{
	pthread_attr_t a;
	void *lo = nullptr;
	size_t sz = 0;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstack(&a, &lo, &sz);
		pthread_attr_destroy(&a);
	}
	b.sched_bottom = lo;
	b.sched_size = sz;
}

void run_block(block &b)
{
	b.live = b.n;
	memset(b.ready, 0, sizeof b.ready);
	for (warp_state &w : b.warps)
		w.done = w.bar = 0, w.ngroups = 0;
	for (int p = 0; p < b.n; p++) {
		fiber *f = &b.f[b.ord[p]];
		f->pos = p;
		f->c.block_idx = b.idx;
		init_fiber(f);
		set_ready(b, p);
	}
	while (b.live > 0) {
		int p = next_ready(b, -1);
		if (p < 0) {
			resolve(b);
			continue;
		}
		clear_ready(b, p);
		switch_to(&b.sched_sp, &b.sched_fake, &b.f[b.ord[p]], false);
	}
}

} // namespace

void fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (cur && B) {
		const fiber *f = reinterpret_cast<const fiber *>(cur);
		const char *name = "?";
		Dl_info di;
		if (dladdr(B->L->fn, &di) && di.dli_sname)
			name = di.dli_sname;
		fprintf(stderr, "cuda-emu: error: %s\ncuda-emu:   in kernel %s (launch %llu), block (%u,%u,%u), "
			"thread (%u,%u,%u), schedule %s\n", msg, name, B->launch_no, B->idx.x, B->idx.y, B->idx.z,
			f->c.thread_idx.x, f->c.thread_idx.y, f->c.thread_idx.z,
			cfg.kind == 0 ? "forward" : cfg.kind == 1 ? "reverse" : "random");
	} else
		fprintf(stderr, "cuda-emu: error: %s\n", msg);
	fflush(stderr);
	abort();
}

int schedule_kind(void)
{
	load_cfg();
	return cfg.kind;
}

void sync_block(const char *file, int line)
{
	sync_block_op(file, line, -1, 0);
}

int sync_block_op(const char *file, int line, int op, int pred)
{
	fiber *f = self("__syncthreads");
	warp_state &w = B->warps[f->warp];
	if (const group *g = group_of(w, f->lane))
		fail("deadlock: lane %d of warp %d waits at __syncthreads (%s:%d) while lane %d waits for it at %s "
		     "(%s:%d)", f->lane, f->warp, file, line, g->first, kind_name(g->kind), g->file, g->line);
	w.bar |= 1u << f->lane;
	f->st = ST_BAR;
	f->file = file;
	f->line = line;
	f->kind = op;
	f->pred = pred != 0;
	yield(f);
	return f->bar_result;
}

void warp_collective(const char *file, int line, int kind, unsigned mask, const void *in, size_t size,
		     int arg, int width, void *out)
{
	fiber *f = self(kind_name(kind));
	block &b = *B;
	int base = f->warp * 32, nl = b.n - base < 32 ? b.n - base : 32;
	unsigned exist = nl == 32 ? ~0u : (1u << nl) - 1;
	if (!(mask >> f->lane & 1))
		fail("%s at %s:%d: lane %d passes mask 0x%08x, which does not name it", kind_name(kind),
		     file, line, f->lane, mask);
	if (mask & ~exist)
		fail("%s at %s:%d: mask 0x%08x names lanes that do not exist (warp %d has %d threads)",
		     kind_name(kind), file, line, mask, f->warp, nl);
	if (is_shuffle(kind) && (width < 1 || width > 32 || (width & (width - 1))))
		fail("%s at %s:%d: width %d is not a power of two from 1 to 32", kind_name(kind), file, line, width);
	warp_state &w = b.warps[f->warp];
	if (mask & w.done)
		fail("%s at %s:%d: mask 0x%08x names lanes 0x%08x, which have exited", kind_name(kind), file, line,
		     mask, mask & w.done);
	if (mask & w.bar) {
		int j = __builtin_ctz(mask & w.bar);
		const fiber *g = &b.f[base + j];
		fail("deadlock: lane %d waits at %s (%s:%d) for lane %d, which waits at __syncthreads (%s:%d)",
		     f->lane, kind_name(kind), file, line, j, g->file, g->line);
	}
	group *g = nullptr;
	for (int i = 0; i < w.ngroups && !g; i++)
		if (w.g[i].mask & mask)
			g = &w.g[i];
	if (g && (g->mask != mask || g->kind != kind || g->size != size ||
		  (kind != W_SYNCWARP && !same_site(g->file, g->line, file, line))))
		fail("lanes of warp %d wait at different collectives: lane %d at %s (%s:%d, mask 0x%08x), lane %d "
		     "at %s (%s:%d, mask 0x%08x)", f->warp, f->lane, kind_name(kind), file, line, mask, g->first,
		     kind_name(g->kind), g->file, g->line, g->mask);
	if (!g) {
		g = &w.g[w.ngroups++];
		*g = group{mask, 0, kind, file, line, size, f->lane};
	}
	g->arrived |= 1u << f->lane;
	f->st = ST_WARP;
	f->arg = arg;
	f->width = width;
	f->size = size;
	if (size)
		copy_small(f->in, in, size);
	if (g->arrived == mask) {
		*g = w.g[--w.ngroups];	// closed: the lanes are released below
		complete(b, base, mask, kind);
	}
	yield(f);
	if (out)
		copy_small(out, f->out, is_shuffle(kind) ? size : 4);
}

unsigned active_mask(void)
{
	fiber *f = self("__activemask");
	block &b = *B;
	int nl = b.n - f->warp * 32 < 32 ? b.n - f->warp * 32 : 32;
	return (nl == 32 ? ~0u : (1u << nl) - 1) & ~b.warps[f->warp].done;
}

void *smem_dynamic(void)
{
	self("DS_DYN_SMEM");
	return B->dyn;
}

void *smem_static(const void *key, size_t size, const char *file, int line)
{
	self("DS_SMEM");
	block &b = *B;
	for (const region &r : b.regions)
		if (r.key == key)
			return r.p;
	if (b.static_total + size > static_smem_max)
		fail("DS_SMEM at %s:%d: %zu bytes of static shared memory in all (at most %zu)", file, line,
		     b.static_total + size, static_smem_max);
	if (b.static_total + size + b.L->smem > smem_optin_max)
		fail("DS_SMEM at %s:%d: %zu bytes of static and %zu of dynamic shared memory (at most %zu)",
		     file, line, b.static_total + size, b.L->smem, smem_optin_max);
	void *p = nullptr;
	if (posix_memalign(&p, 16, size ? size : 1))
		fail("out of memory for %zu bytes of shared memory", size);
	memset(p, 0xff, size);
	b.regions.push_back({key, p, size, file, line});
	b.static_total += size;
	return p;
}

long long clock64_now(void)
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

void run_grid(const grid_launch &L)
{
	load_cfg();
	if (B)
		fail("a kernel launch ran inside a kernel");
	block b;
	b.L = &L;
	b.launch_no = ++launches;
	b.n = (int)(L.block.x * L.block.y * L.block.z);
	b.static_total = 0;
	os_stack(b);
	ensure_stacks((size_t)b.n);
	b.f.resize((size_t)b.n);
	b.ord.resize((size_t)b.n);
	b.warps.resize((size_t)(b.n + 31) / 32);
	for (int i = 0; i < b.n; i++) {
		fiber *f = &b.f[i];
		f->lin = i;
		f->lane = i % 32;
		f->warp = i / 32;
		f->stack = stacks[i];
		f->c.thread_idx = make_uint3(i % L.block.x, i / L.block.x % L.block.y, i / (L.block.x * L.block.y));
		f->c.block_dim = L.block;
		f->c.grid_dim = L.grid;
		b.ord[i] = cfg.kind == 1 ? b.n - 1 - i : i;
	}
	b.dyn = nullptr;
	if (posix_memalign(reinterpret_cast<void **>(&b.dyn), 16, L.smem ? L.smem : 1))
		fail("out of memory for %zu bytes of dynamic shared memory", L.smem);

	uint64_t nblocks = (uint64_t)L.grid.x * L.grid.y * L.grid.z;
	std::vector<uint32_t> border;
	if (cfg.kind == 2) {
		border.resize(nblocks);
		for (uint64_t i = 0; i < nblocks; i++)
			border[i] = (uint32_t)i;
		permute(border, mix(cfg.seed ^ (b.launch_no * 0x2545f4914f6cdd1dull)));
	}
	B = &b;
	for (uint64_t k = 0; k < nblocks; k++) {
		uint64_t i = cfg.kind == 0 ? k : cfg.kind == 1 ? nblocks - 1 - k : border[k];
		b.idx = make_uint3((unsigned)(i % L.grid.x), (unsigned)(i / L.grid.x % L.grid.y),
				   (unsigned)(i / ((uint64_t)L.grid.x * L.grid.y)));
		memset(b.dyn, 0xff, L.smem);
		for (region &r : b.regions)
			memset(r.p, 0xff, r.size);
		if (cfg.kind == 2) {
			for (int t = 0; t < b.n; t++)
				b.ord[t] = t;
			permute(b.ord, mix(cfg.seed ^ mix(b.launch_no) ^ (i * 0x9e3779b97f4a7c15ull)));
		}
		run_block(b);
	}
	B = nullptr;
	cur = nullptr;
	free(b.dyn);
	for (region &r : b.regions)
		free(r.p);
}

} // namespace emu

extern "C" __attribute__((no_sanitize_address, used)) void emu_fiber_main(void *arg)
{
	using namespace emu;
	fiber *f = static_cast<fiber *>(arg);
#if EMU_ASAN
	__sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
	B->L->body();
	thread_done(f);
	yield(f);
	__builtin_unreachable();
}

long long clock64(void)
{
	return emu::clock64_now();
}
