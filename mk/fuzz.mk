# libFuzzer harnesses: every fuzz/<name>_fuzz.c becomes build/fuzz/<name>_fuzz,
# linked against all library sources compiled by clang with coverage and
# ASan+UBSan.  Run one briefly: build/fuzz/<name>_fuzz -max_total_time=60
FUZZ_CC := clang
FUZZ_O := $(O)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu17 -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(PKG_CFLAGS)
FUZZ_SRCS := $(wildcard fuzz/*_fuzz.c)
FUZZ_BINS := $(patsubst fuzz/%.c,$(FUZZ_O)/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_O)/obj/%.o,$(LIB_SRCS)) \
	$(patsubst $(O)/gen/%.c,$(FUZZ_O)/obj/gen/%.o,$(GEN_SRCS))

fuzz: $(FUZZ_BINS)

$(FUZZ_O)/obj/gen/%.o: $(O)/gen/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_O)/obj/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_O)/%_fuzz: $(FUZZ_O)/obj/fuzz/%_fuzz.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) $(PKG_LIBS) -lpthread -lm

.SECONDARY: $(FUZZ_LIB_OBJS) $(patsubst fuzz/%.c,$(FUZZ_O)/obj/fuzz/%.o,$(FUZZ_SRCS))
