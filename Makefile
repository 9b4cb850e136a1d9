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
NVCCFLAGS ?= -O2 -arch=sm_90 -Xcompiler -Wall
ifeq ($(CUDA),1)
CPPFLAGS += -DDS_HAVE_CUDA=1
CUDA_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
endif

COMMON_SRC := $(wildcard common/*.c common/cpu/*.c)
CUDA_SRC   := $(if $(filter 1,$(CUDA)),$(wildcard common/cuda/*.cu))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o) $(CUDA_SRC:%.cu=$(BUILD)/%.cu.o)
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

.PHONY: all deps demo random-v3 train test check asan fuzz install bench cuda-test clean help
all: $(TOOL_BINS) $(UNIT_BINS) $(SHARE)	## build every tool and the unit tests
	@if [ "$(CUDA)" = 1 ]; then echo "CUDA backend: ✓ built with $(NVCC)"; else echo "CUDA backend: ✗ not built (no nvcc, or CUDA=0)"; fi

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
$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -Icommon -c $< -o $@

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

# retraining needs a Python with train/requirements.txt (about half an hour on two cores)
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

cuda-test: all	## CUDA checks against the CPU backend; skipped cleanly without a GPU
	DS_BIN=$(CURDIR)/$(BINDIR) DS_BUILD=$(CURDIR)/$(BUILD) DS_ONLY=cuda sh tests/run.sh

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
