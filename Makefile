# Makefile for dlfin (PGXS).
#
#   make && make install            build and install into the PostgreSQL
#                                   that pg_config points at
#   make unittest                   C unit tests of the core (no server)
#   make installcheck               pg_regress suite against a running server
#   scripts/test                    everything, on a throwaway cluster
#   make unittest-sanitize          unit tests under ASan and UBSan
#   make fuzz [FUZZ_SECONDS=N]      libFuzzer on the model and ONNX decoders
#                                   and on the scoring cache's identity
#   make valgrind-check             regression suite under Valgrind (slow)

EXTENSION = dlfin
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" dlfin.control)

CORE_SRCS = $(sort $(wildcard src/core/*.c))
GLUE_SRCS = $(sort $(wildcard src/pg/*.c))
MODULE_big = dlfin
OBJS = $(CORE_SRCS:.c=.o) $(GLUE_SRCS:.c=.o)

# The install script is assembled from per-concern parts in src/sql/.
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
DATA_built = dlfin--$(EXTVERSION).sql

# An upgrade script is its hand-written first part (src/sql/upgrade/,
# what changes shape: drops, tables, data, event triggers) followed by every
# install part that holds only functions and aggregates: those use CREATE
# OR REPLACE, so running them again brings every function to the new
# version (keeping its OID, so user views that use one survive).
FUNCTION_PARTS = $(filter-out src/sql/00_% src/sql/40_% src/sql/90_%,$(SQL_PARTS))
UPGRADE_0_1_0 = src/sql/upgrade/dlfin--0.1.0--0.2.0.pre.sql $(FUNCTION_PARTS) src/sql/90_events.sql
DATA_built += dlfin--0.1.0--0.2.0.sql

# Every pg_regress test is independent: the extension is loaded once.
REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=dlfin --inputdir=.

EXTRA_CLEAN = test/unit/bin $(DATA_built)

# The core is portable C11; kernels get vectorised variants at run time.
PG_CPPFLAGS = -I$(srcdir)/src/core
PG_CFLAGS = -std=gnu11 -O3 -fno-math-errno -pthread
SHLIB_LINK = -lm -pthread

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track header dependencies: rebuild everything on a change.
$(OBJS): $(wildcard src/core/*.h src/pg/*.h)

# Objects are built for one PostgreSQL: building for another one
# (PG_CONFIG=/usr/lib/postgresql/17/bin/pg_config make) rebuilds them all.
$(shell v='$(shell $(PG_CONFIG) --version)'; \
	[ "$$(cat .pg_version 2>/dev/null)" = "$$v" ] || echo "$$v" > .pg_version)
$(OBJS) $(OBJS:.o=.bc): .pg_version
EXTRA_CLEAN += .pg_version

dlfin--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

dlfin--0.1.0--0.2.0.sql: $(UPGRADE_0_1_0)
	cat $^ > $@

# ---- C unit tests of the core: plain C, no PostgreSQL ----
UNIT_CC ?= gcc
UNIT_CFLAGS ?= -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -pthread
UNIT_SRCS = $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS = $(patsubst test/unit/%.c,test/unit/bin/%,$(UNIT_SRCS))

# the core compiled once for every test (each test used to compile it all:
# 21 x 60 files, 6 of CI's 26 minutes per PostgreSQL version)
UNIT_OBJS = $(patsubst src/core/%.c,test/unit/bin/obj/%.o,$(CORE_SRCS))
UNIT_LIB = test/unit/bin/libdlfcore.a

test/unit/bin/obj/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p test/unit/bin/obj
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_EXTRA) -Isrc/core -c -o $@ $<

$(UNIT_LIB): $(UNIT_OBJS)
	rm -f $@
	ar rcs $@ $^

test/unit/bin/%: test/unit/%.c $(UNIT_LIB) $(wildcard src/core/*.h) test/unit/tap.h
	@mkdir -p test/unit/bin
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_EXTRA) -Isrc/core -Itest/unit -o $@ $< $(UNIT_LIB) -lm

unittest: $(UNIT_BINS)
	prove --exec '' $(UNIT_BINS)

# Same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
unittest-sanitize:
	rm -rf test/unit/bin
	$(MAKE) unittest UNIT_CC=clang UNIT_EXTRA="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	rm -rf test/unit/bin

.PHONY: unittest unittest-sanitize

# pg_regress (and test/pgtap/hostile.sql) against a server under Valgrind
# memcheck; slow, so not part of scripts/test.  See the README, "Security".
valgrind-check:
	scripts/valgrind-check

.PHONY: valgrind-check

# ---- fuzzing the model decoder and the cache (libFuzzer, clang) ----
#   make fuzz [FUZZ_SECONDS=60]     both targets below, one after the other
#   make fuzz-codec                 fuzz dlf_model_decode on a copy of the
#                                   seed corpus in test/fuzz/work/
#   make fuzz-cache                 fuzz the scoring cache's identity with
#                                   sequences of models and near-collisions
#                                   (test/fuzz/work-cache/)
#   make fuzz-seeds                 regenerate test/fuzz/corpus/
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_OPTS ?=
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
EXTRA_CLEAN += test/fuzz/bin

$(UNIT_BINS): test/unit/fixtures.h test/unit/synth.h

test/fuzz/bin/fuzz_codec: test/fuzz/fuzz_codec.c $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p test/fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc/core -o $@ test/fuzz/fuzz_codec.c $(CORE_SRCS) -lm -pthread

test/fuzz/bin/make_seeds: test/fuzz/make_seeds.c test/unit/fixtures.h $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p test/fuzz/bin
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc/core -Itest/unit -o $@ test/fuzz/make_seeds.c $(CORE_SRCS) -lm

# ONNX import (fuzz_onnx.c): seeds are exports of the fixtures plus small
# PyTorch exports kept in test/fuzz/corpus_onnx/.
test/fuzz/bin/fuzz_onnx: test/fuzz/fuzz_onnx.c $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p test/fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc/core -o $@ test/fuzz/fuzz_onnx.c $(CORE_SRCS) -lm -pthread

test/fuzz/bin/fuzz_cache: test/fuzz/fuzz_cache.c test/unit/fixtures.h $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p test/fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc/core -o $@ test/fuzz/fuzz_cache.c $(CORE_SRCS) -lm -pthread

test/fuzz/bin/make_onnx_seeds: test/fuzz/make_onnx_seeds.c test/unit/fixtures.h $(CORE_SRCS) $(wildcard src/core/*.h)
	@mkdir -p test/fuzz/bin
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc/core -Itest/unit -o $@ test/fuzz/make_onnx_seeds.c $(CORE_SRCS) -lm

fuzz-seeds: test/fuzz/bin/make_seeds test/fuzz/bin/make_onnx_seeds
	@mkdir -p test/fuzz/corpus test/fuzz/corpus_onnx
	test/fuzz/bin/make_seeds test/fuzz/corpus
	test/fuzz/bin/make_onnx_seeds test/fuzz/corpus_onnx

fuzz: fuzz-codec fuzz-onnx fuzz-cache

fuzz-codec: test/fuzz/bin/fuzz_codec
	@mkdir -p test/fuzz/work
	cp -n test/fuzz/corpus/* test/fuzz/work/
	test/fuzz/bin/fuzz_codec -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		-print_final_stats=1 $(FUZZ_OPTS) test/fuzz/work

fuzz-onnx: test/fuzz/bin/fuzz_onnx
	@mkdir -p test/fuzz/work_onnx
	cp -n test/fuzz/corpus_onnx/* test/fuzz/work_onnx/
	test/fuzz/bin/fuzz_onnx -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
		-print_final_stats=1 $(FUZZ_OPTS) test/fuzz/work_onnx

fuzz-cache: test/fuzz/bin/fuzz_cache
	@mkdir -p test/fuzz/work-cache
	test/fuzz/bin/fuzz_cache -max_total_time=$(FUZZ_SECONDS) -max_len=256 \
		-print_final_stats=1 $(FUZZ_OPTS) test/fuzz/work-cache

.PHONY: fuzz fuzz-codec fuzz-onnx fuzz-cache fuzz-seeds
