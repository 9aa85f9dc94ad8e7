# libFuzzer harnesses: every fuzz/<name>_fuzz.c becomes build/fuzz/<name>_fuzz,
# linked against libcz compiled with clang and ASan+UBSan coverage.
#   make fuzz                         build them all
#   build/fuzz/oci_fuzz -max_total_time=60 fuzz/corpus/oci   run one
FUZZ_O := build/fuzz
FUZZ_CC := clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(LIB_SRCS)) \
	$(patsubst $(O)/gen/%.c,$(FUZZ_O)/obj/gen/%.o,$(GEN_SRCS))
FUZZ_SRCS := $(wildcard fuzz/*_fuzz.c)
FUZZ_BINS := $(patsubst fuzz/%.c,$(FUZZ_O)/%,$(FUZZ_SRCS))

fuzz: $(FUZZ_BINS)

$(FUZZ_O)/obj/gen/%.o: $(O)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -std=gnu17 $(FUZZ_FLAGS) $(PKG_CFLAGS) -c $< -o $@

$(FUZZ_O)/obj/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(CPPFLAGS) -std=gnu17 $(FUZZ_FLAGS) -Wno-unused-parameter $(PKG_CFLAGS) -c $< -o $@

$(FUZZ_O)/libcz-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_O)/%_fuzz: $(FUZZ_O)/obj/fuzz/%_fuzz.o $(FUZZ_O)/libcz-fuzz.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_O)/libcz-fuzz.a $(LDLIBS)

# `make check` replays each harness over its corpus (fuzz/corpus/<name>/).
check: fuzz
.SECONDARY:
