# ipcprof build. `make deps` installs what the build and the tests need
# (Debian packages, the VM's kernel: the only target that uses the network),
# `make` builds ./ipcprof, `make test` runs the whole suite, `make install`
# installs the binary, man page and bash completion under $(DESTDIR)$(PREFIX).
# Generated files (vmlinux.h, BPF objects, skeletons, objects) go to $(OUTPUT).
OUTPUT ?= .output
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL ?= install
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
VERSION := 0.1.0

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH := $(shell uname -m | sed 's/x86_64/x86/; s/aarch64/arm64/')
# clang's own system include dirs, so BPF code sees asm/types.h etc.
CLANG_BPF_SYS_INCLUDES := $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

FIXTURE_DIR := $(OUTPUT)/fixtures
BIN := ipcprof
# SANITIZE=1: the whole program and the unit tests under ASan+UBSan, built
# apart (so no object is shared with the normal build) into $(OUTPUT)/san;
# `make check SANITIZE=1` runs the suite with that binary. Any report fails.
ifeq ($(SANITIZE),1)
OUTPUT := $(OUTPUT)/san
BIN := $(OUTPUT)/ipcprof
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CFLAGS ?= -O1 -g
CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif

PKGS := libbpf libelf zlib json-c libmicrohttpd
CFLAGS ?= -O2 -g
# snprintf truncation of over-long paths only makes a lookup fail: not a bug.
# -MMD -MP: each object's header dependencies, exactly (in $(OUTPUT)/*.d)
CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -MMD -MP \
	-Iinclude -Iuser -I$(OUTPUT) \
	-DIPCPROF_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbpf -lelf -lz -ljson-c -lmicrohttpd) -lm -lpthread

BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

# Everything in user/ but main.c also goes into the unit-test binaries.
LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
FIXTURE_SRCS := $(wildcard tests/fixtures/*.c)
FIXTURES := $(patsubst tests/fixtures/%.c,$(FIXTURE_DIR)/%,$(FIXTURE_SRCS))

.PHONY: all deps demo test check unit integration vmtest fixtures clean format install \
	uninstall man fuzz
all: $(BIN)

deps:
	$(Q)scripts/install-deps.sh
	$(Q)scripts/vm/fetch.sh

$(OUTPUT) $(OUTPUT)/tests $(FIXTURE_DIR):
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

# -mcpu=v3: call sites take a slot index with an atomic fetch-and-add whose
# result is used (BPF_FETCH needs v3; kernels >= 5.12 run it, and older ones
# lack the other features ipcprof needs anyway).
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) \
	$(CLANG_BPF_SYS_INCLUDES)
$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -mcpu=v3 -MMD -MP -MT $@ -MF $@.d -Iinclude -Ibpf \
		-c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# every object waits for the skeletons (generated headers); -MMD does the rest
$(OUTPUT)/%.o: user/%.c $(SKELS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BIN): $(OUTPUT)/main.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -lcmocka -o $@

# Fixtures keep frame pointers and symbols: tests put uprobes on them.
$(FIXTURE_DIR)/%: tests/fixtures/%.c | $(FIXTURE_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O1 -g -fno-inline -Wall -Wextra -Werror $(LDFLAGS) $< -o $@

fixtures: $(FIXTURES)

# Benchmark tools: the empty-hooks floor (scripts/bench/empty_hooks.c).
BENCH_DIR := $(OUTPUT)/bench
$(BENCH_DIR):
	$(Q)mkdir -p $@

# (its skeleton comes from the $(OUTPUT)/%.skel.h rule above)
$(BENCH_DIR)/%.bpf.o: scripts/bench/%.bpf.c $(OUTPUT)/vmlinux.h | $(BENCH_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_DIR)/empty_hooks: scripts/bench/empty_hooks.c $(BENCH_DIR)/empty_hooks.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(BENCH_DIR) $(LDFLAGS) $< $(LDLIBS) -o $@

unit: $(UNIT_BINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)

integration: $(BIN) fixtures
	$(Q)IPCPROF_BIN=$(abspath $(BIN)) python3 tests/integration/run.py

# The main job: build, then trace the seed experiments and print the breakdown.
demo: deps
	$(Q)$(MAKE) --no-print-directory ipcprof
	$(Q)scripts/demo.sh

# The whole suite: unit, integration on this kernel, integration in the VM.
# No network here: `make deps` (or `make demo`) has installed everything.
test: $(BIN) fixtures $(UNIT_BINS)
	$(Q)IPCPROF_BIN=$(abspath $(BIN)) IPCPROF_VMTEST=1 tests/run-all.sh $(UNIT_BINS)

# Quicker: without the VM.
check: $(BIN) fixtures $(UNIT_BINS)
	$(Q)IPCPROF_BIN=$(abspath $(BIN)) tests/run-all.sh $(UNIT_BINS)

# The integration tests again inside Debian's stock 6.1 kernel under qemu,
# where fentry/fexit and kprobes work (`make deps` fetched it).
vmtest: ipcprof fixtures
	$(Q)scripts/vm/vmtest.sh

# libFuzzer harnesses (tests/fuzz/) under ASan+UBSan: the recording decoder
# and writers, the kallsyms, maps and ELF readers; each runs FUZZ_SECONDS
# from the seeds in tests/fuzz/seeds/ and fails on any finding.
FUZZ_SECONDS ?= 20
FUZZ_OUT := $(OUTPUT)/fuzz
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJS := $(patsubst user/%.c,$(FUZZ_OUT)/%.o,$(LIB_SRCS))
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-Iinclude -Iuser -I$(OUTPUT) -DIPCPROF_VERSION='"$(VERSION)"' \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)

$(FUZZ_OUT):
	$(Q)mkdir -p $@

$(FUZZ_OUT)/%.o: user/%.c $(SKELS) | $(FUZZ_OUT)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS) | $(FUZZ_OUT)
	$(call msg,FUZZER,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d -Itests/fuzz $< $(FUZZ_OBJS) \
		$(LDLIBS) -o $@

fuzz: $(FUZZ_BINS) fixtures
	$(Q)scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# The man page, from the same argp table as --help (help2man) and the
# sections in docs/ipcprof.h2m.
$(OUTPUT)/ipcprof.1: ipcprof docs/ipcprof.h2m | $(OUTPUT)
	$(call msg,MAN,$@)
	$(Q)help2man --no-info --no-discard-stderr --section=1 --name="where the time goes when processes exchange data" \
		--include=docs/ipcprof.h2m --output=$@ ./ipcprof

man: $(OUTPUT)/ipcprof.1

install: ipcprof $(OUTPUT)/ipcprof.1
	$(INSTALL) -D -m 0755 ipcprof $(DESTDIR)$(BINDIR)/ipcprof
	$(INSTALL) -D -m 0644 $(OUTPUT)/ipcprof.1 $(DESTDIR)$(MANDIR)/man1/ipcprof.1
	$(INSTALL) -D -m 0644 scripts/ipcprof.bash-completion $(DESTDIR)$(BASHCOMPDIR)/ipcprof

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ipcprof $(DESTDIR)$(MANDIR)/man1/ipcprof.1 \
		$(DESTDIR)$(BASHCOMPDIR)/ipcprof

format:
	clang-format -i bpf/*.c bpf/*.h user/*.c user/*.h include/*.h tests/unit/*.c tests/fixtures/*.c \
		tests/fuzz/*.c tests/fuzz/*.h scripts/bench/*.c

clean:
	rm -rf .output $(OUTPUT) ipcprof

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/fuzz/*.d)

.DELETE_ON_ERROR:
.SECONDARY:
