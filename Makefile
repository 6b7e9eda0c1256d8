# Sluice -- one entry point: make, make test, make run, make bench.
#
#   make                 build everything into build/ (-O2 -g -Wall -Wextra -Werror)
#   make test            install missing deps, build, run unit + integration tests
#   make test SANITIZE=1 the same under ASan + UBSan (objects in build/san/)
#   make valgrind        unit tests under valgrind (leak check)
#   make bench           benchmarks (bench/README.md has the figures)
#   make run             install, build, start one broker on localhost:9092, data in ./data

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
  B        := build/san
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  B        := build
  SANFLAGS :=
endif

CC      ?= gcc
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Wno-unused-parameter -Wno-format-truncation
CFLAGS  := -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -I. $(SANFLAGS) $(EXTRA_CFLAGS)
DEPFLAGS = -MMD -MP
LDFLAGS := $(SANFLAGS)
CODEC_LIBS := -llz4 -lzstd -lz -lsnappy
LIBS    := $(CODEC_LIBS) -lpthread -lm

STORAGE_SRC := $(wildcard storage/*.c)
SERVER_SRC  := $(filter-out server/main.c,$(wildcard server/*.c))
CLIENT_SRC  := $(filter-out client/cli.c,$(wildcard client/*.c))
# libsluice carries the protocol codec it shares with the broker
CLIENT_OBJ_EXTRA := $(if $(CLIENT_SRC),server/proto.c)
SUPPORT_SRC := $(wildcard tests/support/*.c)
UNIT_SRC    := $(wildcard tests/test_*.c)
BENCH_SRC   := $(wildcard bench/*.c)
BENCH_SUPPORT_SRC := $(wildcard bench/support/*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

STORAGE_LIB := $(B)/libsluice_storage.a
SERVER_LIB  := $(B)/libsluice_server.a
CLIENT_LIB  := $(B)/libsluice.a
SUPPORT_LIB := $(B)/libtestsupport.a
BENCH_SUPPORT_LIB := $(B)/libbenchsupport.a
UNIT_BINS   := $(patsubst tests/%.c,$(B)/tests/%,$(UNIT_SRC))
BENCH_BINS  := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))
SLUICED     := $(if $(wildcard server/main.c),$(B)/sluiced)
SLUICE_CLI  := $(if $(wildcard client/cli.c),$(B)/sluice)

# Archives in link order (higher layers first); an empty layer is left out.
LAYER_LIBS  := $(if $(SUPPORT_SRC),$(SUPPORT_LIB)) $(if $(SERVER_SRC),$(SERVER_LIB)) \
               $(if $(CLIENT_SRC),$(CLIENT_LIB)) $(STORAGE_LIB)

.PHONY: all test unit integration valgrind bench run clean deps
# keep every intermediate object (test and bench objects come from pattern
# chains and would otherwise be deleted and rebuilt on every make)
.SECONDARY:
all: $(LAYER_LIBS) $(SLUICED) $(SLUICE_CLI) $(UNIT_BINS) $(BENCH_BINS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@


$(STORAGE_LIB): $(call obj,$(STORAGE_SRC))
$(SERVER_LIB):  $(call obj,$(SERVER_SRC))
$(CLIENT_LIB):  $(call obj,$(CLIENT_SRC) $(CLIENT_OBJ_EXTRA))
$(SUPPORT_LIB): $(call obj,$(SUPPORT_SRC))
$(BENCH_SUPPORT_LIB): $(call obj,$(BENCH_SUPPORT_SRC))
$(B)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/sluiced: $(call obj,server/main.c) $(SERVER_LIB) $(STORAGE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)
$(B)/sluice: $(call obj,client/cli.c) $(CLIENT_LIB) $(STORAGE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(call obj,tests/%.c) $(LAYER_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lcriterion -lrdkafka $(LIBS)
$(B)/bench/%: $(call obj,bench/%.c) $(BENCH_SUPPORT_LIB) $(filter-out $(SUPPORT_LIB),$(LAYER_LIBS))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ -lrdkafka $(LIBS)

deps:
	@scripts/install-deps

# Dependencies first, then the build, then every test; one summary at the end.
test: deps
	@$(MAKE) --no-print-directory all
	@SLUICE_BUILD=$(B) scripts/run-tests $(UNIT_BINS)

unit: all
	@SLUICE_BUILD=$(B) scripts/run-tests --unit-only $(UNIT_BINS)

valgrind: all
	@SLUICE_BUILD=$(B) scripts/run-tests --valgrind $(UNIT_BINS)

bench: deps
	@$(MAKE) --no-print-directory all
	@SLUICE_BUILD=$(B) scripts/run-bench

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p data
	exec $(B)/sluiced -c config/server.properties --override log.dirs=./data

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing (tests/fuzz/README.md) -----------------------------------------
#   make fuzz [FUZZ_SECONDS=60]   every libFuzzer target for N seconds each (clang)
#   make fuzz-replay              replay corpus + regression inputs (gcc; make test does it)
# libFuzzer builds compile the project sources themselves with clang into
# build/fuzz/; the replay drivers link the gcc archives into $(B)/fuzz-replay/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -D_GNU_SOURCE -I. -Wall -Wno-unused-parameter \
                -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_SRC     := $(STORAGE_SRC) $(SERVER_SRC)
FUZZ_LIB     := build/fuzz/libsluice_fuzz.a
FUZZ_BINS    := $(patsubst %,build/fuzz/%,$(FUZZ_TARGETS))
REPLAY_BINS  := $(patsubst %,$(B)/fuzz-replay/%,$(FUZZ_TARGETS))

.PHONY: fuzz fuzz-build fuzz-replay fuzz-replay-bins
fuzz:
	@scripts/fuzz $(FUZZ_SECONDS)
fuzz-build: $(FUZZ_BINS)
fuzz-replay-bins: $(REPLAY_BINS)
fuzz-replay: $(REPLAY_BINS)
	@SLUICE_BUILD=$(B) scripts/fuzz-replay

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_LIB): $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LIBS)
$(B)/fuzz-replay/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c) $(SERVER_LIB) $(STORAGE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

.SECONDARY: $(call obj,$(wildcard tests/fuzz/*.c)) $(patsubst %.c,build/fuzz/obj/%.o,$(wildcard tests/fuzz/*.c))
-include $(shell find build/fuzz/obj -name '*.d' 2>/dev/null)
