# SPDX-License-Identifier: BSD-3-Clause
# mailtap build. `make` builds build/mailtap, build/mailtap-cat and build/mailtap.bpf.o.
#   make test        unit, golden, BPF and network tests (installs packages, needs root for net)
#   make demo        live capture demo on a veth pair in a network namespace
#   make bench       benchmark suite (ratios against baselines measured in the same run)
#   make fuzz        libFuzzer targets for FUZZ_SECONDS each
#   make SANITIZE=1  ASan+UBSan build in build-san/
#   make SANITIZE=thread  ThreadSanitizer build in build-tsan/ (the worker and capture threads)
#   make V=1         show commands
BUILD ?= build
ifeq ($(SANITIZE),1)
BUILD := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(SANITIZE),thread)
BUILD := build-tsan
SAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif
PREFIX ?= /usr/local
DESTDIR ?=

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
# UAPI headers (linux/*.h) need the multiarch asm/ directory, which clang -target bpf does not search.
BPF_SYS_INCLUDES := -idirafter /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null || gcc -dumpmachine)

PKGS := libpcap msgpack libssl libcrypto zlib libxdp libbpf libseccomp libcap
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wstrict-prototypes -Wwrite-strings \
	  -Wno-unused-parameter -D_GNU_SOURCE -Iinclude -I$(BUILD) $(SAN_FLAGS) \
	  $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS += $(SAN_FLAGS)
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpcap -lmsgpackc -lssl -lcrypto -lz -lxdp -lbpf) -lelf -lpthread

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:

LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TOOL_SRCS := $(filter-out tools/mailtap-cat.c,$(wildcard tools/*.c))
TOOL_BINS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
HDRS := $(wildcard include/*.h include/mailtap/*.h)

all: $(BUILD)/mailtap $(BUILD)/mailtap-cat $(BPF_OBJS) $(TOOL_BINS)

$(BUILD)/obj $(BUILD)/tests $(BUILD)/tools:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(HDRS) | $(BUILD)/obj
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude $(BPF_SYS_INCLUDES) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/obj/%.o: user/%.c $(HDRS) $(SKELS) | $(BUILD)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libmailtap.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/mailtap: $(BUILD)/obj/main.o $(BUILD)/libmailtap.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mailtap-cat: tools/mailtap-cat.c $(BUILD)/libmailtap.a $(HDRS) | $(BUILD)/obj
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmailtap.a $(LDLIBS)

$(BUILD)/tools/%: tools/%.c $(wildcard tools/*.h) $(BUILD)/libmailtap.a $(HDRS) | $(BUILD)/tools
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmailtap.a $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmailtap.a $(HDRS) $(wildcard tests/unit/*.h) | $(BUILD)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmailtap.a $(LDLIBS) -lcmocka

deps:
	$(Q)tools/install-deps.sh --quiet

tests: all $(TEST_BINS)

# The suite: unit tests, golden tests against ../shared/corpus, BPF and network tests.
test: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tools/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tools/bench.sh

fuzz: deps
	$(Q)BUILD=$(BUILD) tools/fuzz.sh

# Profile-guided, link-time optimized binaries in build-release/ (tools/release.sh).
release: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tools/release.sh

SYSTEMDDIR ?= /lib/systemd/system
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/mailtap \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/doc/mailtap $(DESTDIR)$(SYSTEMDDIR) \
		$(DESTDIR)/etc/logrotate.d $(DESTDIR)/etc/default
	install -m 0755 $(BUILD)/mailtap $(BUILD)/mailtap-cat $(DESTDIR)$(PREFIX)/bin/
	$(if $(BPF_OBJS),install -m 0644 $(BPF_OBJS) $(DESTDIR)$(PREFIX)/lib/mailtap/)
	install -m 0644 deploy/man/mailtap.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 deploy/man/mailtap-cat.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/mailtap/
	sed 's|/usr/bin/mailtap|$(PREFIX)/bin/mailtap|g' deploy/systemd/mailtap.service \
		> $(DESTDIR)$(SYSTEMDDIR)/mailtap.service
	install -m 0644 deploy/logrotate/mailtap $(DESTDIR)/etc/logrotate.d/mailtap
	[ -e $(DESTDIR)/etc/default/mailtap ] || \
		install -m 0644 deploy/systemd/mailtap.default $(DESTDIR)/etc/default/mailtap

clean:
	rm -rf $(BUILD) build-san build-fuzz build-release

.PHONY: all deps tests test demo bench fuzz release install clean
