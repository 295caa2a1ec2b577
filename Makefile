# rtq -- a distributed task queue in a text file.
#
#   make                 build build/bin/rtq-claim (static) and build/bin/rtq
#   make check           build and run every test (installs test deps if root)
#   make check SANITIZE=1  the same with ASan+UBSan, in build-san/
#   make bench           print speed and memory figures
#   make demo            run the example queue with three local workers
#   make fuzz            libFuzzer over the claim engine (FUZZ_TIME=60 s)
#   make install PREFIX=/usr/local DESTDIR=
#   make clean

PREFIX	?= /usr/local
DESTDIR	?=
CC	?= cc
MUSLCC	:= $(shell command -v musl-gcc 2>/dev/null)

WARN	 = -std=c11 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L
OPT	 = -O2 -g
INC	 = -Icommon -Icommon/io -Imaster-helper -Iworker

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

COMMON	 = buf taskfile patch claim proto shquote edit
IO	 = fdio asan
HELPER	 = rtq-claim tfio live status
WORKER	 = rtq admin slots shell transport
UNIT	 = test_taskfile test_claim test_shquote test_patch test_edit test_buf

S_COMMON = $(COMMON:%=$(O)/static/common/%.o) $(IO:%=$(O)/static/common/io/%.o)
S_HELPER = $(HELPER:%=$(O)/static/master-helper/%.o)
S_WORKER = $(WORKER:%=$(O)/static/worker/%.o)
H_COMMON = $(COMMON:%=$(O)/host/common/%.o) $(IO:%=$(O)/host/common/io/%.o)
H_HELPER = $(filter-out %/rtq-claim.o,$(HELPER:%=$(O)/host/master-helper/%.o))

CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null)

BIN	 = $(O)/bin/rtq-claim $(O)/bin/rtq
MAN	 = man/rtq.1 man/rtq-claim.1 man/rtq-taskfile.5

all: $(BIN)

$(O)/static/%.o: %.c common/*.h common/io/*.h master-helper/*.h worker/*.h
	@mkdir -p $(@D)
	$(SCC) $(SFLAGS) $(INC) -c -o $@ $<

$(O)/host/%.o: %.c common/*.h common/io/*.h master-helper/*.h worker/*.h
	@mkdir -p $(@D)
	$(CC) $(HFLAGS) $(INC) -c -o $@ $<

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

$(O)/tests/%: tests/unit/%.c $(H_COMMON) $(H_HELPER) tests/unit/*.h
	@mkdir -p $(@D)
	$(CC) $(HFLAGS) $(INC) $(CHECK_CFLAGS) -o $@ $< $(H_COMMON) \
	    $(H_HELPER) $(CHECK_LIBS)

$(O)/tests/fuzz_replay: tests/fuzz/fuzz_claim.c tests/fuzz/replay.c $(H_COMMON)
	@mkdir -p $(@D)
	$(CC) $(HFLAGS) $(INC) -o $@ tests/fuzz/fuzz_claim.c tests/fuzz/replay.c \
	    $(H_COMMON)

# libFuzzer (clang) over the claim engine: make fuzz FUZZ_TIME=600
FUZZ_TIME ?= 60
CLANG	?= clang
fuzz:
	@mkdir -p build/fuzz/corpus
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined $(INC) \
	    -o build/fuzz/fuzz_claim tests/fuzz/fuzz_claim.c \
	    $(COMMON:%=common/%.c)
	build/fuzz/fuzz_claim -max_total_time=$(FUZZ_TIME) -max_len=4096 \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/ \
	    build/fuzz/corpus tests/fuzz/corpus

deps:
	@bash tests/deps.sh

check: deps
	$(MAKE) --no-print-directory all unit-bins
	@bash tests/run.sh $(O) $(UNIT)

unit-bins: $(UNIT:%=$(O)/tests/%) $(O)/tests/fuzz_replay

# keep the test objects between links
.SECONDARY:

bench: all
	@bash tests/bench.sh $(O)

demo: all
	@bash tests/demo.sh $(O)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 man/rtq.1 man/rtq-claim.1 \
	    $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/rtq-taskfile.5 $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf build build-san

.PHONY: all check deps unit-bins bench demo fuzz install clean
