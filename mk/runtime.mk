# container-runtime: the per-container supervisor (runtime/), beside the CLI.
RUNTIME_SRCS := $(wildcard runtime/*.c)
RUNTIME_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(RUNTIME_SRCS))
RUNTIME_BIN := $(O)/bin/container-runtime

ALL_TARGETS += $(RUNTIME_BIN)

$(RUNTIME_BIN): $(RUNTIME_OBJS) $(LIBCZ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(RUNTIME_OBJS) $(LIBCZ) $(LDLIBS)
