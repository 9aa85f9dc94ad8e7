# containerization: top-level build.
#   make                 build everything into build/ (CLI at build/bin/container)
#   make check           build and run every test; ends with "N passed, N failed"
#   make check SANITIZE=1  the same under ASan+UBSan (into build/san)
#   make fuzz            libFuzzer harnesses (clang) into build/fuzz
#   make bench           benchmarks, results in bench/RESULTS.md
# Modules are found by directory (lib/<module>/*.c); a part with its own rules
# (kernel, guest, runtime) adds a fragment in mk/<part>.mk.

O ?= build
ifeq ($(SANITIZE),1)
O := build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

CC := gcc
PKGS := libcurl jansson libarchive libnghttp2 libprotobuf-c libcrypto zlib libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

WARN := -Wall -Wextra -Werror -Wformat=2 -Wformat-security -Wshadow -Wpointer-arith \
	-Wstrict-prototypes -Wmissing-prototypes -Wundef -Wvla -Wimplicit-fallthrough \
	-Wno-unused-parameter -Wno-format-truncation -Wcast-align -Wwrite-strings -Wnull-dereference
CPPFLAGS := -D_GNU_SOURCE -Iinclude -Ilib -I$(O)/gen -DCZ_VERSION='"$(VERSION)"' -DCZ_GIT_REV='"$(GIT_REV)"'
CFLAGS := -std=gnu17 -O2 -g -fvisibility=hidden -fno-strict-aliasing -MMD -MP $(WARN) $(SAN_FLAGS) $(PKG_CFLAGS)
LDFLAGS := $(SAN_FLAGS)
LDLIBS := $(PKG_LIBS) -lpthread -lm

PROTOS := $(wildcard proto/*.proto)
GEN_SRCS := $(patsubst proto/%.proto,$(O)/gen/%.pb-c.c,$(PROTOS))
GEN_HDRS := $(GEN_SRCS:.c=.h)
LIB_SRCS := $(wildcard lib/*/*.c)
LIB_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRCS)) $(patsubst $(O)/gen/%.c,$(O)/obj/gen/%.o,$(GEN_SRCS))
LIBCZ := $(O)/lib/libcz.a

CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(CLI_SRCS))

UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(patsubst tests/unit/%_test.c,$(O)/tests/unit/%_test,$(UNIT_SRCS))
UNIT_MAIN := $(O)/obj/tests/unit/unit.o
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(O)/tests/tools/%,$(TOOL_SRCS))

ALL_TARGETS := $(LIBCZ) $(O)/bin/container $(UNIT_BINS) $(TOOL_BINS)

.PHONY: all check fuzz bench clean format install-deps run-demo
all: all-targets

-include mk/*.mk

all-targets: $(ALL_TARGETS)

$(O)/gen/%.pb-c.c $(O)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=proto --c_out=$(O)/gen $<

# Generated code is not ours to warn about.
$(O)/obj/gen/%.o: $(O)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -std=gnu17 -O2 -g -fvisibility=hidden -MMD -MP $(SAN_FLAGS) $(PKG_CFLAGS) -c $< -o $@

$(O)/obj/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIBCZ): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(O)/bin/container: $(CLI_OBJS) $(LIBCZ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIBCZ) $(LDLIBS)

$(O)/tests/unit/%_test: $(O)/obj/tests/unit/%_test.o $(UNIT_MAIN) $(LIBCZ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(UNIT_MAIN) $(LIBCZ) $(LDLIBS)

$(O)/tests/tools/%: $(O)/obj/tests/tools/%.o $(LIBCZ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBCZ) $(LDLIBS)

check: all
	tests/run $(O)

bench: all
	bench/run $(O)

install-deps:
	scripts/install-deps

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
