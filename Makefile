# dspipe - DeepSeek-V3-family inference as a Unix toolkit.
# `make` builds every tool into bin/; `make help` lists the targets.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wstrict-prototypes -Wvla -Wwrite-strings -Wno-unused-parameter -Wno-format-truncation
CPPFLAGS += -D_GNU_SOURCE -Icommon
LDLIBS  := -lcjson -lsodium -lpcre2-8 -lpthread -lm
PREFIX  ?= /usr/local
BUILD   ?= build
BINDIR  ?= bin
VERSION := 0.1
COMMIT  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# CUDA: built whenever nvcc is found (CUDA=0 / CUDA=1 force it).
NVCC    ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
ifeq ($(origin CUDA), undefined)
CUDA := $(if $(NVCC),1,0)
endif
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
# the nvcc build is also CI's static check of the kernels: every warning an
# error, and ptxas refuses spills and local memory; --resource-usage leaves
# a per-kernel table next to each object (build/cuda-resources.txt)
NVCCFLAGS ?= -O3 -std=c++17 -lineinfo -gencode=arch=compute_90a,code=sm_90a \
	-Xcompiler -Wall,-Wextra,-Wno-unused-parameter -Werror all-warnings \
	-Xptxas --warn-on-spills,--warn-on-local-memory-usage,--warning-as-error
# cuobjdump reads the built objects back (its -res-usage and SASS views go
# into the resource table); this toolkit's bin/ lacks it, PyPI's
# nvidia-cuda-cuobjdump and triton (in DS_PYTHON's venv) ship one
DS_SITE   := $(if $(DS_PYTHON),$(wildcard $(dir $(DS_PYTHON))../lib/python3*/site-packages))
ifeq ($(origin CUOBJDUMP),undefined)
CUOBJDUMP := $(firstword $(wildcard $(CUDA_HOME)/bin/cuobjdump) $(shell command -v cuobjdump 2>/dev/null) \
	$(wildcard $(DS_SITE:%=%/nvidia/cuda_cuobjdump/bin/cuobjdump) $(DS_SITE:%=%/triton/backends/nvidia/bin/cuobjdump)))
endif
ifeq ($(CUDA),1)
CPPFLAGS += -DDS_HAVE_CUDA=1
# the tools link only the runtime: the backend dlopens cuBLAS when it needs
# it (common/cuda/blas.cuh; libcublasLt alone maps ~540 MB); the CUDA test
# programs call cuBLAS directly
CUDA_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lstdc++ -ldl
CU_TEST_LIBS := -L$(CUDA_HOME)/lib64 -lcublasLt -lcublas
endif

# The CUDA emulator (common/cuda/emu, for tests only): the same .cu files
# compiled by g++ and run on the CPU.  It needs only the toolkit's headers;
# `make` builds the emulated tree into $(BUILD)/emu whenever they exist
# (not with CUDA=0 on the command line).  EMU=1 is that tree's own build.
EMU_CUDA_HOME ?= $(or $(CUDA_HOME),/usr/local/cuda)
EMU_HEADERS   := $(wildcard $(EMU_CUDA_HOME)/include/cuda_runtime_api.h)
WITH_EMU      := $(if $(EMU_HEADERS),$(if $(and $(filter command line,$(origin CUDA)),$(filter 0,$(CUDA))),,$(if $(filter 0 1,$(EMU)),,1)))
EMU_CXXFLAGS   = -std=c++17 $(CFLAGS) -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unknown-pragmas \
	-isystem $(EMU_CUDA_HOME)/include
ifeq ($(EMU),1)
CPPFLAGS  += -DDS_HAVE_CUDA=1 -DDS_EMU=1
CUDA_LIBS := -lstdc++ -ldl
endif

COMMON_SRC := $(wildcard common/*.c common/cpu/*.c)
CUDA_SRC   := $(if $(filter 1,$(CUDA) $(EMU)),$(wildcard common/cuda/*.cu))
EMU_SRC    := $(if $(filter 1,$(EMU)),$(wildcard common/cuda/emu/*.cc))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o) $(CUDA_SRC:%.cu=$(BUILD)/%.cu.o) $(EMU_SRC:%.cc=$(BUILD)/%.o)
# CUDA test programs tests/cuda/test-*.cu: built by nvcc for the GPU (they
# skip without one) and, in the emulated tree, by g++
CU_TEST_SRC  := $(wildcard tests/cuda/test-*.cu)
CU_TEST_BINS := $(if $(filter 1,$(CUDA) $(EMU)),$(CU_TEST_SRC:tests/cuda/%.cu=$(BUILD)/tests/%))
# tests/cuda/emu-*.cu: deliberately wrong kernels the emulator must catch
# (tests/5155); built only into the emulated tree, never by nvcc
EMU_TEST_BINS := $(if $(filter 1,$(EMU)),$(patsubst tests/cuda/%.cu,$(BUILD)/tests/%,$(wildcard tests/cuda/emu-*.cu)))
TOOLS      := $(patsubst cmd-%/main.c,%,$(sort $(wildcard cmd-*/main.c)))
TOOL_BINS  := $(TOOLS:%=$(BINDIR)/ds-%)
UNIT_SRC   := $(wildcard tests/unit/test-*.c)
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
LIB        := $(BUILD)/libds.a
SHARE      := share/deepseek-v3/tokenizer.json

DEB_PACKAGES := build-essential libcjson-dev libsodium-dev libpcre2-dev python3-numpy clang man-db

# the embedded default: a small DeepSeek-V3-architecture model trained on the
# King James Bible (train/), committed as published (FP8) in data/demo-model
DEMO_MODEL  := data/demo-model
DEMO_PROMPT := In the beginning
DEMO_CHAT   := Give me a verse about light.
# the random-weight model with DeepSeek-V3's real 129k tokenizer, for benchmarks
RANDOM_MODEL := build/random-v3

.PHONY: all deps demo random-v3 train test check asan fuzz install bench cuda-test clean help emu emu-asan emu-tree cuda-lint nvcc-flags
all: $(TOOL_BINS) $(UNIT_BINS) $(CU_TEST_BINS) $(SHARE) $(if $(WITH_EMU),emu) $(if $(filter 1,$(CUDA)),$(BUILD)/cuda-resources.txt)	## build every tool and the unit tests
	@if [ "$(CUDA)" = 1 ]; then echo "CUDA backend: ✓ built with $(NVCC)"; else echo "CUDA backend: ✗ not built (no nvcc, or CUDA=0)"; fi
	@if [ -n "$(WITH_EMU)" ]; then echo "CUDA emulator: ✓ $(BUILD)/emu/bin, $(BUILD)/emu/tests"; else echo "CUDA emulator: ✗ not built (no CUDA headers, or CUDA=0)"; fi

# SIMD variants: a file named *-avx2.c / *-avx512.c is compiled for that ISA
# and only called after a runtime CPU check.
$(BUILD)/%-avx2.o: %-avx2.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -mavx2 -mfma -mf16c -MMD -MP -c $< -o $@
$(BUILD)/%-avx512.o: %-avx512.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vbmi -mavx512bf16 -mfma -mf16c -MMD -MP -c $< -o $@
# the commit goes into --version and ds-bench records; version.h changes
# (and cli.o is rebuilt) only when the commit does
$(BUILD)/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define DS_VERSION "%s"\n#define DS_COMMIT "%s"\n' "$(VERSION)" "$(COMMIT)" >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(BUILD)/common/cli.o: common/cli.c $(BUILD)/version.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -include $(BUILD)/version.h -MMD -MP -c $< -o $@
FORCE:
$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@
ifeq ($(EMU),1)
$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(EMU_CXXFLAGS) -x c++ -include common/cuda/emu/emu.h -MMD -MP -c $< -o $@
$(BUILD)/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(EMU_CXXFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/tests/test-%: tests/cuda/test-%.cu tests/cuda/cudatest.h $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) -Itests/cuda $(EMU_CXXFLAGS) -x c++ -include common/cuda/emu/emu.h -MMD -MP -c $< -o $@.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $@.o $(LIB) $(LDLIBS) $(CUDA_LIBS)
$(BUILD)/tests/emu-%: tests/cuda/emu-%.cu $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) -Itests/cuda $(EMU_CXXFLAGS) -x c++ -include common/cuda/emu/emu.h -MMD -MP -c $< -o $@.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $@.o $(LIB) $(LDLIBS) $(CUDA_LIBS)
else
# ptxas's resource lines (registers, shared memory, stack, spills per kernel) go to a .res file
$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -Icommon --resource-usage -c $< -o $@ 2>$@.res || { cat $@.res >&2; rm -f $@.res; exit 1; }
	@grep -v '^ptxas info\|^ *ptxas info\|bytes stack frame' $@.res >&2 || true
$(BUILD)/tests/test-%: tests/cuda/test-%.cu tests/cuda/cudatest.h $(LIB)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -Icommon -Itests/cuda --resource-usage -c $< -o $@.o 2>$@.res || { cat $@.res >&2; exit 1; }
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $@.o $(LIB) $(LDLIBS) $(CU_TEST_LIBS) $(CUDA_LIBS)
endif
# the per-kernel table of the nvcc build, from ptxas's own report
$(BUILD)/cuda-resources.txt: $(CUDA_SRC:%.cu=$(BUILD)/%.cu.o) $(CU_TEST_BINS) tests/cuda/resource-table.sh
	CUOBJDUMP="$(CUOBJDUMP)" sh tests/cuda/resource-table.sh $(addsuffix .res,$(filter %.cu.o,$^) $(filter $(BUILD)/tests/%,$^)) >$@.tmp && mv $@.tmp $@
nvcc-flags:	## print the nvcc flags of the CUDA build (tests probe them)
	@echo $(NVCC) $(NVCCFLAGS)

emu:	## build the tools and CUDA tests with the emulated CUDA backend into build/emu (bin/, tests/)
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/emu BINDIR=$(BUILD)/emu/bin CUDA=0 EMU=1 emu-tree
emu-tree: $(TOOL_BINS) $(UNIT_BINS) $(CU_TEST_BINS) $(EMU_TEST_BINS)
emu-asan:	## the emulated tree under ASan+UBSan into build/emu-asan, and its cuda-emu tests
	$(MAKE) --no-print-directory BUILD=build/emu-asan BINDIR=build/emu-asan/bin CUDA=0 EMU=1 \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" emu-tree
	DS_BIN=$(CURDIR)/build/emu-asan/bin DS_BUILD=$(CURDIR)/build/emu-asan DS_EMU_BUILD=$(CURDIR)/build/emu-asan \
		DS_ASAN=1 DS_ONLY=cuda-emu ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		sh tests/run.sh
cuda-lint: $(if $(filter 1,$(CUDA)),$(BUILD)/cuda-resources.txt)	## the nvcc build's static checks: print the per-kernel resource table
	@if [ "$(CUDA)" = 1 ]; then cat $(BUILD)/cuda-resources.txt; else echo "cuda-lint: no nvcc (CUDA=0)"; fi

$(LIB): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# tools' object files come from a pattern rule, which would make them
# "intermediate" and deleted after each build: keep them
.PRECIOUS: $(BUILD)/%.o

# one folder per tool: cmd-NAME/*.c -> bin/ds-NAME
.SECONDEXPANSION:
$(BINDIR)/ds-%: $$(addprefix $(BUILD)/,$$(addsuffix .o,$$(basename $$(wildcard cmd-$$*/*.c)))) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS) $(CUDA_LIBS)

$(BUILD)/tests/test-%: tests/unit/test-%.c tests/unit/testhelp.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS) $(WARN) -o $@ $< $(LIB) $(LDLIBS) $(CUDA_LIBS)

# DeepSeek-V3's tokenizer.json travels compressed (see data/README.md)
$(SHARE): data/deepseek-v3/tokenizer.json.gz data/deepseek-v3/tokenizer_config.json
	@mkdir -p $(@D)
	gzip -dc $< > $@.tmp && mv $@.tmp $@
	cp data/deepseek-v3/tokenizer_config.json $(@D)/

deps:	## install the Debian packages dspipe needs (apt-get as root, sudo otherwise)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# a random-weight model in DeepSeek-V3's layout with the real DeepSeek-V3
# tokenizer, written deterministically from data/random-v3/config.json
$(RANDOM_MODEL)/config.json: data/random-v3/config.json $(BINDIR)/ds-mkmodel $(SHARE)
	$(BINDIR)/ds-mkmodel -q -c data/random-v3/config.json -o $(RANDOM_MODEL) --seed 1 -t $(SHARE)
random-v3: $(RANDOM_MODEL)/config.json	## write the random-weight 129k-vocabulary model (benchmarks) into build/random-v3

demo: deps	## install what is missing, build, run the trained demo model: a continuation and one chat turn (the README's first command)
	@$(MAKE) --no-print-directory all
	$(BINDIR)/ds-run -m $(DEMO_MODEL) -n 32 "$(DEMO_PROMPT)" && echo
	$(BINDIR)/ds-run -m $(DEMO_MODEL) -n 64 --chat "$(DEMO_CHAT)" && echo

# retraining needs a Python with train/requirements.txt (most of an hour on an idle two-core machine)
PYTHON ?= python3
train: all	## retrain the demo model into data/demo-model and its fixtures (PYTHON=... with train/requirements.txt)
	nice -n 5 $(PYTHON) train/train.py

test: all	## run the whole test suite against the built tools
	DS_BIN=$(CURDIR)/$(BINDIR) DS_BUILD=$(CURDIR)/$(BUILD) sh tests/run.sh
check:	## install what is missing, build, run the whole suite (tests/check.sh, the README's second command)
	@sh tests/check.sh

asan:	## build with ASan+UBSan into build/asan and run the suite against it
	$(MAKE) BUILD=build/asan BINDIR=build/asan/bin CUDA=0 \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all
	DS_BIN=$(CURDIR)/build/asan/bin DS_BUILD=$(CURDIR)/build/asan DS_ASAN=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 sh tests/run.sh

FUZZ_SRC := $(wildcard tests/fuzz/fuzz-*.c)
fuzz:	## build the libFuzzer targets into build/fuzz (clang)
	$(MAKE) BUILD=build/fuzz/lib BINDIR=build/fuzz/bin CUDA=0 CC=clang \
		WARN="$(WARN) -Wno-unknown-warning-option" \
		CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" build/fuzz/lib/libds.a
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		echo "clang ... -o build/fuzz/$$n"; \
		clang $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -o build/fuzz/$$n $$f build/fuzz/lib/libds.a $(LDLIBS) || exit 1; done

bench: all	## run the benchmarks (figures for closing notes)
	sh bench/run.sh

cuda-test:	## on a GPU machine: build, then every cuda test on the GPU (bench/cuda-test.sh; --emu rehearses it)
	sh bench/cuda-test.sh

install: all	## install binaries, man pages, the tokenizer data and the demo model under $(DESTDIR)$(PREFIX)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/dspipe/deepseek-v3 $(DESTDIR)$(PREFIX)/share/dspipe/demo-model
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 share/deepseek-v3/* $(DESTDIR)$(PREFIX)/share/dspipe/deepseek-v3/
	install -m 644 $(DEMO_MODEL)/* $(DESTDIR)$(PREFIX)/share/dspipe/demo-model/

clean:	## remove build outputs
	rm -rf $(BUILD) $(TOOL_BINS) share

help:	## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
