# Makefile for dlfin (PGXS).
#
#   make && make install            build and install into the PostgreSQL
#                                   that pg_config points at
#   make unittest                   C unit tests of the core (no server)
#   make installcheck               pg_regress suite against a running server
#   scripts/test                    everything, on a throwaway cluster

EXTENSION = dlfin
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" dlfin.control)

CORE_SRCS = $(sort $(wildcard src/core/*.c))
GLUE_SRCS = $(sort $(wildcard src/pg/*.c))
MODULE_big = dlfin
OBJS = $(CORE_SRCS:.c=.o) $(GLUE_SRCS:.c=.o)

# The install script is assembled from per-concern parts in src/sql/.
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
DATA_built = dlfin--$(EXTVERSION).sql
DATA = $(sort $(wildcard src/sql/upgrade/dlfin--*--*.sql))

# Every pg_regress test is independent: the extension is loaded once.
REGRESS = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=dlfin --inputdir=.

EXTRA_CLEAN = test/unit/bin dlfin--$(EXTVERSION).sql

# The core is portable C11; kernels get vectorised variants at run time.
PG_CPPFLAGS = -I$(srcdir)/src/core
PG_CFLAGS = -std=gnu11 -O3 -fno-math-errno -pthread
SHLIB_LINK = -lm -pthread

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

dlfin--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

# ---- C unit tests of the core: plain C, no PostgreSQL ----
UNIT_CC ?= gcc
UNIT_CFLAGS ?= -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter -pthread
UNIT_SRCS = $(sort $(wildcard test/unit/test_*.c))
UNIT_BINS = $(patsubst test/unit/%.c,test/unit/bin/%,$(UNIT_SRCS))

test/unit/bin/%: test/unit/%.c $(CORE_SRCS) $(wildcard src/core/*.h) test/unit/tap.h
	@mkdir -p test/unit/bin
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_EXTRA) -Isrc/core -Itest/unit -o $@ $< $(CORE_SRCS) -lm

unittest: $(UNIT_BINS)
	prove --exec '' $(UNIT_BINS)

# Same tests under AddressSanitizer and UndefinedBehaviorSanitizer.
unittest-sanitize:
	rm -rf test/unit/bin
	$(MAKE) unittest UNIT_CC=clang UNIT_EXTRA="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	rm -rf test/unit/bin

.PHONY: unittest unittest-sanitize
