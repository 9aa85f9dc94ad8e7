# vminitd, the guest's PID 1: statically linked (no libc or libraries in the
# initfs), against libcz for the rpc stack. Sanitizer builds link it dynamically
# (ASan cannot be static) for host tests.
VMINITD_SRCS := $(wildcard guest/vminitd/*.c)
VMINITD_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(VMINITD_SRCS))
VMINITD := $(O)/guest/vminitd
ifeq ($(SANITIZE),1)
VMINITD_LDFLAGS := $(LDFLAGS)
# Expanded late: mk/ocirt.mk adds -lseccomp to LDLIBS after this file is read.
VMINITD_LIBS = $(LDLIBS)
else
VMINITD_LDFLAGS := -static -Wl,--gc-sections
VMINITD_LIBS := -lnghttp2 -lprotobuf-c -ljansson -lseccomp -lz -lm
endif

ALL_TARGETS += $(VMINITD)

$(VMINITD): $(VMINITD_OBJS) $(LIBCZ)
	@mkdir -p $(dir $@)
	$(CC) $(VMINITD_LDFLAGS) -o $@ $(VMINITD_OBJS) $(LIBCZ) $(VMINITD_LIBS)

# The CopyIn tar reader's fuzz harness needs vminitd's tar.c besides the library.
$(FUZZ_O)/vminitd_tar_fuzz: $(FUZZ_O)/obj/fuzz/vminitd_tar_fuzz.o $(FUZZ_O)/obj/guest/vminitd/tar.o $(FUZZ_O)/libcz-fuzz.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)
.SECONDARY: $(FUZZ_O)/obj/guest/vminitd/tar.o
