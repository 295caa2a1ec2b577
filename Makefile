# rtq -- a distributed task queue in a text file.
#
#   make                 build build/bin/rtq-claim (static) and build/bin/rtq
#   make check           build and run every test (installs test deps if root)
#   make check SANITIZE=1  the same with ASan+UBSan, in build-san/
#   make check-unit      the Check suites and the fuzz replay only: seconds,
#                        nothing needed beyond the compiler and Check
#   make lint-man        mandoc -Tlint of the man pages (part of make check)
#   make bench           print speed and memory figures
#   make demo            run the example queue with three local workers
#   make fuzz            libFuzzer over the claim engine (FUZZ_TIME=60 s)
#   make install PREFIX=/usr/local DESTDIR=
#   make clean
#   O=DIR                build in DIR instead of build/ (build-san/)

PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc
MUSLCC	:= $(shell command -v musl-gcc 2>/dev/null)

WARN	 = -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L
OPT	 = -O2 -g
# Include paths by source directory: the pure library sees only itself,
# the I/O helpers the library, and each program its own headers, never the
# other program's.
INC.common	  = -Icommon
INC.common/io	  = -Icommon -Icommon/io
INC.master-helper = -Icommon -Icommon/io -Imaster-helper
INC.worker	  = -Icommon -Icommon/io -Iworker
INC.tests/unit	  = -Icommon
INC.tests/fuzz	  = -Icommon
inc = $(or $(INC.$(patsubst %/,%,$(dir $<))),$(error no include path for $<))
# each object's header dependencies, written by the compiler
DEP	 = -MMD -MP

ifeq ($(SANITIZE),1)
O	 = build-san
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all -DRTQ_SANITIZE
OPT	 = -O1 -g
# sanitizers need the dynamic libc: both programs come from the host build
SCC	 = $(CC)
SFLAGS	 = $(WARN) $(OPT) $(SAN)
SLDFLAGS = $(SAN)
else
O	 = build
SAN	 =
ifneq ($(MUSLCC),)
SCC	 = $(MUSLCC)
else
SCC	 = $(CC)
endif
# small static binaries: size-optimized, unused sections dropped
SFLAGS	 = $(WARN) -Os -g -ffunction-sections -fdata-sections
SLDFLAGS = -static -Wl,--gc-sections -Wl,-z,noseparate-code -Wl,--build-id=none
endif

HFLAGS	 = $(WARN) $(OPT) $(SAN)

COMMON	 = buf taskfile patch claim proto shquote edit plan
IO	 = fdio asan
HELPER	 = rtq-claim tfio live status clock logs expire
WORKER	 = rtq client sig paths admin slots shell transport pump logsend \
	   logview view plan timeline slurm
UNIT	 = test_taskfile test_claim test_shquote test_patch test_edit test_buf test_proto \
	   test_plan

S_COMMON = $(COMMON:%=$(O)/static/common/%.o) $(IO:%=$(O)/static/common/io/%.o)
S_HELPER = $(HELPER:%=$(O)/static/master-helper/%.o)
S_WORKER = $(WORKER:%=$(O)/static/worker/%.o)
# the unit tests and the fuzz replay link the pure library alone (not
# common/io: its sanitizer defaults would turn their leak checks off)
H_LIB	 = $(COMMON:%=$(O)/host/common/%.o)
H_UNIT	 = $(UNIT:%=$(O)/host/tests/unit/%.o)
H_FUZZ	 = $(O)/host/tests/fuzz/fuzz_claim.o $(O)/host/tests/fuzz/replay.o

NPROC	:= $(shell nproc 2>/dev/null || echo 2)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

BIN	 = $(O)/bin/rtq-claim $(O)/bin/rtq
MAN	 = man/rtq.1 man/rtq-claim.1 man/rtq-taskfile.5

all: $(BIN)

$(O)/static/%.o: %.c
	@mkdir -p $(@D)
	$(SCC) $(SFLAGS) $(DEP) $(inc) -c -o $@ $<

$(O)/host/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(HFLAGS) $(DEP) $(inc) -c -o $@ $<

$(H_UNIT): HFLAGS += $(CHECK_CFLAGS)

$(O)/bin/rtq-claim: $(S_HELPER) $(S_COMMON)
	@mkdir -p $(@D)
	$(SCC) $(SLDFLAGS) -o $@ $^
ifneq ($(SANITIZE),1)
	strip $@
endif

$(O)/bin/rtq: $(S_WORKER) $(S_COMMON)
	@mkdir -p $(@D)
	$(SCC) $(SLDFLAGS) -o $@ $^
ifneq ($(SANITIZE),1)
	strip $@
endif

$(O)/tests/fuzz_replay: $(H_FUZZ) $(H_LIB)
	@mkdir -p $(@D)
	$(CC) $(SAN) -o $@ $^

$(O)/tests/%: $(O)/host/tests/unit/%.o $(H_LIB)
	@mkdir -p $(@D)
	$(CC) $(SAN) $(CHECK_CFLAGS) -o $@ $^ $(CHECK_LIBS)

-include $(patsubst %.o,%.d,$(S_COMMON) $(S_HELPER) $(S_WORKER) $(H_LIB) \
    $(H_UNIT) $(H_FUZZ))

# libFuzzer (clang) over the claim engine: make fuzz FUZZ_TIME=600
FUZZ_TIME ?= 60
CLANG	?= clang
fuzz:
	@mkdir -p $(O)/fuzz/corpus
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(INC.tests/fuzz) \
	    -o $(O)/fuzz/fuzz_claim tests/fuzz/fuzz_claim.c \
	    $(COMMON:%=common/%.c)
	$(O)/fuzz/fuzz_claim -max_total_time=$(FUZZ_TIME) -max_len=4096 \
	    -print_final_stats=1 -artifact_prefix=$(O)/fuzz/ \
	    $(O)/fuzz/corpus tests/fuzz/corpus

deps:
	@bash tests/deps.sh

unit-bins: $(UNIT:%=$(O)/tests/%) $(O)/tests/fuzz_replay

# the Check suites and the fuzz replay: no sshd, nothing installed
check-unit: unit-bins
	@bash tests/run.sh -u $(O) $(UNIT)

# mandoc -Tlint: any message fails, but for cross-references to our own
# pages (not installed, so not found) and mandoc's notices on stderr that
# the system's man database lacks an entry (they name no page of ours)
MAN_OWN	 = Xr (rtq|rtq-claim) 1|Xr rtq-taskfile 5
lint-man:
	@{ mandoc -Tlint $(MAN); echo "rc $$?"; } 2>&1 | awk ' \
	    /^rc [0-9]+$$/ { rc = $$2; next } \
	    /referenced manual not found: ($(MAN_OWN))( |$$)/ { next } \
	    /outdated mandoc\.db lacks / { next } \
	    { print; bad = 1 } \
	    END { if (bad || rc >= 5) { print "lint-man: mandoc -Tlint failed"; exit 1 } \
		  print "lint-man: $(MAN) clean" }'

# (the build on every core unless make was given a -j of its own)
check: deps
	$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(NPROC)) \
	    all unit-bins lint-man
	@bash tests/run.sh $(O) $(UNIT)

# keep the test objects between links
.SECONDARY:

bench: all
	@bash tests/bench.sh $(O)

demo: all
	@bash tests/demo.sh $(O)

install: all install-completion
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(filter %.1,$(MAN)) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(filter %.5,$(MAN)) $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf build build-san $(O)

# bash completion, where bash-completion looks for it
install-completion:
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 completion/rtq.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/rtq

.PHONY: install-completion
.PHONY: all check check-unit lint-man deps unit-bins bench demo fuzz install \
    clean
