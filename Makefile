# procbox — one static binary of sysadmin applets.
#
#   make               ./procbox (static, stripped) and bin/<applet> links
#   make check         the bats suite (tests/*.bats) against ./procbox
#   make check-asan    the same suite against an ASan+UBSan build
#   make check-vm      what may change a machine (clock steps, cgroups), in a VM
#   make install PREFIX=/usr/local [DESTDIR=...] [COMPAT=1]
#   make size | bench | fuzz [FUZZ_SECONDS=N] | clean

PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man/man1
FUZZ_SECONDS ?= 10

# musl gives the smallest static binary; glibc static is the fallback.
STATIC_CC ?= $(shell command -v musl-gcc >/dev/null 2>&1 && echo musl-gcc || echo cc)
ASAN_CC   ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo cc)
FUZZ_CC   ?= clang

WARN     := -Wall -Wextra $(if $(WERROR),-Werror)
# -Oz: smallest code; the benchmarks (tests/bench) show no cost against -Os
CFLAGS   ?= -Oz
BOXFLAGS := -std=gnu11 $(WARN) -ffunction-sections -fdata-sections \
            -fno-asynchronous-unwind-tables -fno-unwind-tables -fno-stack-protector \
            -fno-ident -D_GNU_SOURCE
# noseparate-code: no page padding between segments (about 4 KiB each)
LDSTATIC := -static -Wl,--gc-sections -s -Wl,-z,noseparate-code -Wl,--build-id=none
comma    := ,
# musl's static start-up never write-protects a RELRO segment, whose page
# alignment only pads the file by up to 4 KiB; glibc's does, so it keeps it.
# Without RELRO, a small common page size lets the data segment start in
# the page where the text ends (mapped twice, as in the classic layout)
# instead of at the next page boundary: up to 4 KiB less file again.
LDMUSL   := $(if $(filter musl-gcc,$(notdir $(STATIC_CC))),-Wl$(comma)-z$(comma)norelro \
            -Wl$(comma)-z$(comma)common-page-size=64)
ASANFLAGS := -std=gnu11 $(WARN) -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
             -fsanitize=address,undefined -fno-sanitize-recover=undefined

APPLETS  := $(shell sed -n 's/^APPLET(\(.*\))$$/\1/p' applets/applets.h)
# the tools' own names some applets also answer to; linked only with COMPAT=1
COMPATS  := $(shell sed -n 's/^COMPAT.\([^,]*\),.*$$/\1/p' applets/applets.h)
LIB_SRC  := $(wildcard libbox/*.c)
# only the applets listed in applets/applets.h are built
APP_SRC  := applets/procbox.c $(foreach a,$(APPLETS),$(wildcard applets/$(a).c applets/$(a)/*.c))
SRC      := $(LIB_SRC) $(APP_SRC)
HDR      := $(wildcard libbox/*.h applets/*.h applets/*/*.h)
OBJ      := $(SRC:%.c=build/obj/%.o)
ASAN_OBJ := $(SRC:%.c=build/asan/obj/%.o)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS  := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
# applet code without the dispatcher, for unit tests and fuzz targets
CORE_SRC := $(filter-out applets/procbox.c,$(SRC))

.PHONY: all check check-vm check-asan install size bench fuzz clean links
all: procbox links

procbox: $(OBJ)
	$(STATIC_CC) $(BOXFLAGS) $(CFLAGS) -o $@ $(OBJ) $(LDSTATIC) $(LDMUSL)

build/obj/%.o: %.c $(HDR)
	@mkdir -p $(@D)
	$(STATIC_CC) $(BOXFLAGS) $(CFLAGS) -c -o $@ $<

links: procbox
	@mkdir -p bin
	@for a in $(APPLETS); do ln -sf ../procbox bin/$$a; done

# the unit tests link libbox and the applets' parsers (not the dispatcher)
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_HDR := $(wildcard tests/unit/*.h)

build/unit/libbox_test: $(UNIT_SRC) $(UNIT_HDR) $(CORE_SRC) $(HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(WARN) -D_GNU_SOURCE -g -O1 -o $@ $(UNIT_SRC) $(CORE_SRC)

# the glibc static fallback build, for the tests that hold it to the same rules
GLIBC_CC ?= cc
build/glibc/procbox: $(SRC) $(HDR)
	@mkdir -p $(@D)
	$(GLIBC_CC) $(BOXFLAGS) $(CFLAGS) -o $@ $(SRC) $(LDSTATIC) 2>$(@D)/link.log || { cat $(@D)/link.log; exit 1; }

check: all build/unit/libbox_test build/glibc/procbox
	PROCBOX=$(CURDIR)/procbox PROCBOX_BIN=$(CURDIR)/bin PROCBOX_GLIBC=$(CURDIR)/build/glibc/procbox \
	PROCBOX_UNIT=$(CURDIR)/build/unit/libbox_test \
	PROCBOX_COUNTS=$(CURDIR)/build/counts-check tests/run.sh

# Debian's kernel under qemu, busybox-static and ./procbox: tests/vm/run.sh
check-vm: procbox
	PROCBOX=$(CURDIR)/procbox PROCBOX_COUNTS=$(CURDIR)/build/counts-vm tests/vm/run.sh

build/asan/procbox: $(ASAN_OBJ)
	$(ASAN_CC) $(ASANFLAGS) -o $@ $(ASAN_OBJ)

build/asan/obj/%.o: %.c $(HDR)
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASANFLAGS) -c -o $@ $<

build/asan/libbox_test: $(UNIT_SRC) $(UNIT_HDR) $(CORE_SRC) $(HDR)
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASANFLAGS) -o $@ $(UNIT_SRC) $(CORE_SRC)

check-asan: build/asan/procbox build/asan/libbox_test build/glibc/procbox
	@mkdir -p build/asan/bin
	@for a in $(APPLETS); do ln -sf ../procbox build/asan/bin/$$a; done
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	PROCBOX=$(CURDIR)/build/asan/procbox PROCBOX_BIN=$(CURDIR)/build/asan/bin \
	PROCBOX_UNIT=$(CURDIR)/build/asan/libbox_test PROCBOX_ASAN=1 \
	PROCBOX_GLIBC=$(CURDIR)/build/glibc/procbox \
	PROCBOX_COUNTS=$(CURDIR)/build/counts-asan tests/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)
	install -m 755 procbox $(DESTDIR)$(BINDIR)/procbox
	for a in $(APPLETS) $(if $(COMPAT),$(COMPATS)); do \
		ln -f $(DESTDIR)$(BINDIR)/procbox $(DESTDIR)$(BINDIR)/$$a; done
	install -m 644 $(APPLETS:%=docs/%.1) $(COMPATS:%=docs/%.1) $(DESTDIR)$(MANDIR)/

size: procbox
	@size $(OBJ) | sort -n -k4 | awk '{ printf "%8s %8s %8s %8s  %s\n", $$1, $$2, $$3, $$4, $$6 }'
	@printf 'procbox: %s bytes (static, stripped)\n' $$(wc -c < procbox)

bench: all
	@for b in tests/bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

build/fuzz/%: tests/fuzz/%.c $(CORE_SRC) $(HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(CORE_SRC)

fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do n=$${f##*/}; mkdir -p build/fuzz/corpus-$$n; \
	echo "== $$n: $(FUZZ_SECONDS) s"; \
	$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 build/fuzz/corpus-$$n \
		tests/fuzz/seeds/$${n#fuzz_} 2>build/fuzz/$$n.log \
		|| { tail -40 build/fuzz/$$n.log; exit 1; }; \
	grep -E '^#[0-9]+.*DONE' build/fuzz/$$n.log | tail -1; done

clean:
	rm -rf build bin procbox
