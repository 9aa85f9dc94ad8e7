# container-runtime: the per-container supervisor (runtime/), beside the CLI.
RUNTIME_SRCS := $(wildcard runtime/*.c)
RUNTIME_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(RUNTIME_SRCS))
RUNTIME_BIN := $(O)/bin/container-runtime

ALL_TARGETS += $(RUNTIME_BIN)

$(RUNTIME_BIN): $(RUNTIME_OBJS) $(LIBCZ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(RUNTIME_OBJS) $(LIBCZ) $(LDLIBS)

# The log's JSON escaping takes a container's arbitrary output: its fuzz harness needs
# runtime/log.c besides the library.
$(FUZZ_O)/runtime_log_fuzz: $(FUZZ_O)/obj/fuzz/runtime_log_fuzz.o $(FUZZ_O)/obj/runtime/log.o $(FUZZ_O)/libcz-fuzz.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)
.SECONDARY: $(FUZZ_O)/obj/runtime/log.o
