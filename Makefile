# k3s-harden build. `make`, `make check`, `make san`, `make install`.
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DESTDIR ?=

CC      ?= cc
FUZZ_CC ?= clang
PKG_CONFIG ?= pkg-config
PKGS    := yaml-0.1 libcyaml libsystemd

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wvla -Wconversion -Wformat=2 -Wundef -Wpointer-arith -Wcast-align \
	-Wwrite-strings -Wnull-dereference -Werror=implicit-function-declaration

ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     := -O1 -g
else ifeq ($(FUZZ),1)
# libFuzzer targets (tests/fuzz/): the library objects built with clang
CC      := $(FUZZ_CC)
BUILD   := build-fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
OPT     := -O1 -g
else
BUILD   := build
SANFLAGS :=
OPT     := -O2 -g
endif

CPPFLAGS += -D_GNU_SOURCE -Isrc -I$(BUILD)
CFLAGS  ?= $(OPT)
CFLAGS  += -std=c11 $(WARN) $(SANFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS))
LDFLAGS += $(SANFLAGS)
LDLIBS  += $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm
TEST_LDLIBS := $(shell $(PKG_CONFIG) --libs cmocka)
# cmocka 1.1's assert_non_null() is not marked noreturn, so gcc cannot see
# that a pointer checked by it is non-null afterwards.
TEST_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka) -Wno-null-dereference

ifeq ($(SAN),1)
BIN := $(BUILD)/k3s-harden
else
BIN := k3s-harden
endif

# The command layer (main, cli, cmd-*) prints and exits; everything else is
# library code that the unit tests link.
CLI_SRC   := src/main.c src/cli.c $(wildcard src/cli-*.c) $(wildcard src/cmd-*.c)
LIB_SRC   := $(filter-out $(CLI_SRC),$(wildcard src/*.c))
LIB_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/%.o) $(BUILD)/embedded.o $(BUILD)/benchmark_data.o \
	$(BUILD)/k3s_facts.o
MAIN_OBJ  := $(CLI_SRC:src/%.c=$(BUILD)/%.o)
TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPERS := tests/yamldoc.c tests/fakesd.c
EMBED_IN  := $(sort $(wildcard profiles/*.yaml) $(wildcard templates/*.mustache))
# The CIS benchmark tables, oldest first (CIS named 1.23 and 1.24 after
# Kubernetes, between 1.6 and 1.7): compiled into C tables by tools/bench-gen.c.
BENCH_TABLES := $(patsubst %,benchmarks/k3s-cis-%.yaml,1.6 1.23 1.24 1.7 1.8 1.9 1.10 1.11 1.12 2.0 2.1)
ifneq ($(sort $(BENCH_TABLES)),$(sort $(wildcard benchmarks/k3s-cis-*.yaml)))
$(error BENCH_TABLES in the Makefile does not list every benchmarks/k3s-cis-*.yaml)
endif
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# A fuzz target is tests/fuzz/fuzz_NAME.c with its seeds in tests/fuzz/corpus/NAME/.
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_NAMES:%=build-fuzz/fuzz/fuzz_%)
# every input bounded in time and memory, replayed or fuzzed
FUZZ_LIMITS  := -timeout=10 -rss_limit_mb=2048
FUZZ_PROBE   := printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' | \
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -x c -o /dev/null - >/dev/null 2>&1

.PHONY: all check unit cli check-systemd san bench bench-check deps install uninstall clean \
	fuzz fuzz-build fuzz-bins fuzz-replay
all: $(BIN)

$(BIN): $(MAIN_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: src/%.c | $(BUILD)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Built-in profiles and templates are compiled into the binary.
$(BUILD)/embed-gen: tools/embed.c | $(BUILD)
	$(CC) -O1 -std=c11 $(WARN) -o $@ $<

$(BUILD)/embedded.c: $(BUILD)/embed-gen $(EMBED_IN)
	$(BUILD)/embed-gen $@ $(EMBED_IN)

$(BUILD)/embedded.o: $(BUILD)/embedded.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The benchmark tables as static const C data (no table is parsed at run time).
$(BUILD)/bench-gen: tools/bench-gen.c src/benchmark.h | $(BUILD)
	$(CC) -D_GNU_SOURCE -Isrc -O1 -std=c11 $(WARN) $(shell $(PKG_CONFIG) --cflags libcyaml) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs libcyaml)

$(BUILD)/benchmark_data.c: $(BUILD)/bench-gen $(BENCH_TABLES)
	$(BUILD)/bench-gen $@ $(BENCH_TABLES)

$(BUILD)/benchmark_data.o: $(BUILD)/benchmark_data.c src/benchmark_data.h src/benchmark.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The K3s facts as the ynode tree ynode_parse gives, in C data (components.c).
YNODE_GEN_SRC := tools/ynode-gen.c src/ynode.c src/hidx.c src/diag.c
$(BUILD)/ynode-gen: $(YNODE_GEN_SRC) src/ynode.h src/hidx.h src/diag.h | $(BUILD)
	$(CC) -D_GNU_SOURCE -Isrc -O1 -std=c11 $(WARN) $(shell $(PKG_CONFIG) --cflags yaml-0.1) -o $@ \
		$(YNODE_GEN_SRC) $(shell $(PKG_CONFIG) --libs yaml-0.1)

$(BUILD)/k3s_facts.c: $(BUILD)/ynode-gen benchmarks/k3s-components.yaml
	$(BUILD)/ynode-gen $@ k3s_facts benchmarks/k3s-components.yaml

$(BUILD)/k3s_facts.o: $(BUILD)/k3s_facts.c src/ynode.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(TEST_HELPERS) $(LIB_OBJ) | $(BUILD)/tests
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(TEST_CFLAGS) -MMD -MP \
		-o $@ $< $(TEST_HELPERS) $(LIB_OBJ) $(LDFLAGS) $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/bench/%: bench/%.c $(LIB_OBJ) | $(BUILD)/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_OBJ) | $(BUILD)/fuzz
	$(CC) $(CPPFLAGS) -Itests/fuzz $(CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(LIB_OBJ) \
		$(LDFLAGS) -fsanitize=fuzzer $(LDLIBS)

$(BUILD) $(BUILD)/tests $(BUILD)/bench $(BUILD)/fuzz:
	mkdir -p $@

check: unit cli check-systemd fuzz-replay ansible-test deb-test completion-test

fuzz-bins: $(FUZZ_BIN)

fuzz-build:
	$(MAKE) SAN= FUZZ=1 fuzz-bins

# Each corpus once, no mutation: a crash, a timeout or the memory limit fails.
fuzz-replay:
	@if ! $(FUZZ_PROBE); then echo "fuzz corpora: skipped: clang with libFuzzer not found"; exit 0; fi; \
	$(MAKE) --no-print-directory SAN= FUZZ=1 fuzz-bins >/dev/null || exit 1; \
	for t in $(FUZZ_NAMES); do \
		printf '== fuzz corpus %s: ' $$t; \
		build-fuzz/fuzz/fuzz_$$t $(FUZZ_LIMITS) -runs=0 -artifact_prefix=build-fuzz/replay-$$t- \
			tests/fuzz/corpus/$$t \
			>build-fuzz/replay-$$t.log 2>&1 || { echo FAILED; tail -40 build-fuzz/replay-$$t.log; exit 1; }; \
		echo "$$(ls tests/fuzz/corpus/$$t | wc -l) inputs ok"; \
	done

# New inputs go to build-fuzz/corpus/NAME, crashes to build-fuzz/crash-NAME-*.
fuzz:
	@$(FUZZ_PROBE) || { echo "fuzz: clang with libFuzzer not found"; exit 1; }
	$(MAKE) SAN= FUZZ=1 fuzz-bins
	@set -e; for t in $(FUZZ_NAMES); do \
		mkdir -p build-fuzz/corpus/$$t; \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
		build-fuzz/fuzz/fuzz_$$t $(FUZZ_LIMITS) -max_len=16384 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=build-fuzz/crash-$$t- build-fuzz/corpus/$$t tests/fuzz/corpus/$$t; \
	done

unit: $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do \
		echo "== $$t"; \
		( cd tests && ../$$t ); \
	done

cli: $(BIN) $(TEST_BIN)
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/cli.sh
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/diff.sh
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/hostile.sh
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/txn.sh
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/real_configs.sh
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/hosts.sh
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/check.sh
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/versions.sh
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/modes.sh

# Real-systemd tests (root and namespaces, TESTING-SYSTEMD.md). A script that
# cannot run here exits 77 and counts as skipped; K3H_REQUIRE_SYSTEMD=1 (CI)
# makes that a failure.
check-systemd: $(BIN) $(BUILD)/tests/test_systemd
	@rc=0; bash tests/systemd/selftest.sh || rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ] || exit $$rc
	@rc=0; bash tests/systemd/test-sysd.sh $(CURDIR)/$(BUILD)/tests/test_systemd || rc=$$?; \
		[ $$rc = 0 ] || [ $$rc = 77 ] || exit $$rc
	@rc=0; K3H_BIN=$(CURDIR)/$(BIN) bash tests/systemd/apply.sh || rc=$$?; \
		[ $$rc = 0 ] || [ $$rc = 77 ] || exit $$rc

san:
	$(MAKE) SAN=1 check

bench: $(BIN) $(BENCH_BIN)
	K3H_BIN=$(CURDIR)/$(BIN) K3H_BUILD=$(CURDIR)/$(BUILD) bash bench/run.sh

bench-check: $(BIN) $(BENCH_BIN)
	K3H_BIN=$(CURDIR)/$(BIN) K3H_BUILD=$(CURDIR)/$(BUILD) bash bench/check.sh

deps:
	sh tools/install-deps.sh

install: $(BIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/k3s-harden
	install -m 0644 man/k3s-harden.8 $(DESTDIR)$(MANDIR)/man8/k3s-harden.8

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/k3s-harden $(DESTDIR)$(MANDIR)/man8/k3s-harden.8

clean:
	rm -rf build build-san build-fuzz k3s-harden

-include $(wildcard $(BUILD)/*.d $(BUILD)/tests/*.d $(BUILD)/bench/*.d $(BUILD)/fuzz/*.d)

# ---- fleet and packaging (issue 13): Ansible collection, Debian package,
# bash completion. A test that cannot run here exits 77 (skipped);
# K3H_REQUIRE_ANSIBLE=1 / K3H_REQUIRE_DEB=1 (CI) make that a failure.
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
.PHONY: ansible-test deb-test completion-test deb install-completion uninstall-completion

install: install-completion
uninstall: uninstall-completion

install-completion:
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 completion/k3s-harden.bash $(DESTDIR)$(BASHCOMPDIR)/k3s-harden

uninstall-completion:
	rm -f $(DESTDIR)$(BASHCOMPDIR)/k3s-harden

deb:
	sh tools/build-deb.sh $(CURDIR)/build-deb

ansible-test: $(BIN)
	@rc=0; K3H_BIN=$(CURDIR)/$(BIN) bash tests/ansible/run.sh || rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ] || exit $$rc
	@rc=0; K3H_BIN=$(CURDIR)/$(BIN) bash tests/ansible/systemd.sh || rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ] || exit $$rc

deb-test:
	@rc=0; bash tests/deb.sh || rc=$$?; [ $$rc = 0 ] || [ $$rc = 77 ] || exit $$rc

completion-test: $(BIN)
	K3H_BIN=$(CURDIR)/$(BIN) bash tests/completion.sh

clean: clean-deb
clean-deb:
	rm -rf build-deb
