# ipcprof build. `make` builds ./ipcprof, `make test` runs the whole suite.
# Generated files (vmlinux.h, BPF objects, skeletons, objects) go to $(OUTPUT).
OUTPUT ?= .output
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

PKGS := libbpf libelf zlib json-c
CFLAGS ?= -O2 -g
# snprintf truncation of over-long paths only makes a lookup fail: not a bug.
CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -Iinclude -Iuser -I$(OUTPUT) \
	-DIPCPROF_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lbpf -lelf -lz -ljson-c) -lm -lpthread

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_HDRS := $(wildcard bpf/*.bpf.h) include/ipcprof.h
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))

# Everything in user/ but main.c also goes into the unit-test binaries.
LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))
USER_HDRS := $(wildcard user/*.h) include/ipcprof.h

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
FIXTURE_SRCS := $(wildcard tests/fixtures/*.c)
FIXTURES := $(patsubst tests/fixtures/%.c,$(OUTPUT)/fixtures/%,$(FIXTURE_SRCS))

.PHONY: all deps demo test check unit integration vmtest fixtures clean format
all: ipcprof

deps:
	$(Q)scripts/install-deps.sh

$(OUTPUT) $(OUTPUT)/tests $(OUTPUT)/fixtures:
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) \
		-Iinclude -Ibpf -I$(OUTPUT) $(CLANG_BPF_SYS_INCLUDES) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/%.o: user/%.c $(USER_HDRS) $(SKELS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

ipcprof: $(OUTPUT)/main.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -lcmocka -o $@

# Fixtures keep frame pointers and symbols: tests put uprobes on them.
$(OUTPUT)/fixtures/%: tests/fixtures/%.c | $(OUTPUT)/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O1 -g -fno-inline -Wall -Wextra -Werror $< -o $@

fixtures: $(FIXTURES)

unit: $(UNIT_BINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)

integration: ipcprof fixtures
	$(Q)python3 tests/integration/run.py

# The main job: build, then trace the seed experiments and print the breakdown.
demo: deps
	$(Q)$(MAKE) --no-print-directory ipcprof
	$(Q)scripts/demo.sh

# The whole suite: unit, integration on this kernel, integration in the VM.
test: deps
	$(Q)$(MAKE) --no-print-directory ipcprof fixtures $(UNIT_BINS)
	$(Q)IPCPROF_VMTEST=1 tests/run-all.sh $(UNIT_BINS)

# Quicker: without the VM.
check: deps
	$(Q)$(MAKE) --no-print-directory ipcprof fixtures $(UNIT_BINS)
	$(Q)tests/run-all.sh $(UNIT_BINS)

# The integration tests again inside Debian's stock 6.1 kernel under qemu,
# where fentry/fexit and kprobes work (scripts/vm/vmtest.sh fetches it).
vmtest: deps
	$(Q)$(MAKE) --no-print-directory ipcprof fixtures
	$(Q)scripts/vm/vmtest.sh

format:
	clang-format -i bpf/*.c bpf/*.h user/*.c user/*.h include/*.h tests/unit/*.c tests/fixtures/*.c

clean:
	rm -rf $(OUTPUT) ipcprof

.DELETE_ON_ERROR:
.SECONDARY:
