# Guest kernel and the boot-floor initramfs.
#   $(O)/kernel/vmlinux, bzImage, config  built by kernel/build.sh from kernel/config/*.fragment,
#                                         cached by the merged .config's hash in
#                                         /var/cache/containerization/kernel (CZ_KERNEL_CACHE)
#   $(O)/kernel-arm64/vmlinux, Image,     the same for arm64, and its floor initramfs, only
#     floor.cpio                          where the cross-compiler aarch64-linux-gnu-gcc is
#                                         installed
#   $(O)/kernel/mkcpio                    newc cpio writer (host tool)
#   $(O)/kernel/floor-init, floor.cpio    tiny init that prints a line and stops the VM
# CZ_KERNEL=0 skips the kernel (e.g. a quick library-only build).

KERNEL_OUT := $(O)/kernel
KERNEL_STAMP := $(KERNEL_OUT)/vmlinux

KERNEL_ARM64_STAMP := $(O)/kernel-arm64/Image
HAVE_ARM64_CROSS := $(shell command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 && echo 1)

ifneq ($(CZ_KERNEL),0)
ALL_TARGETS += $(KERNEL_STAMP) $(KERNEL_OUT)/floor.cpio
ifeq ($(HAVE_ARM64_CROSS),1)
ALL_TARGETS += $(KERNEL_ARM64_STAMP) $(O)/kernel-arm64/floor.cpio
endif
endif
ALL_TARGETS += $(KERNEL_OUT)/mkcpio

.PHONY: kernel kernel-arm64 FORCE_KERNEL
kernel: $(KERNEL_STAMP)

# The script is cheap when the cache has the build (it hashes a few small files and links),
# so it runs every time and decides for itself. `+`: a first build joins make's jobserver,
# so `make -j2` stays at two jobs in all.
$(KERNEL_STAMP): FORCE_KERNEL
	+@kernel/build.sh $(KERNEL_OUT)

# Part of `make` only where the cross-compiler exists (it fails with a clear message where not).
kernel-arm64: $(KERNEL_ARM64_STAMP)
$(KERNEL_ARM64_STAMP): FORCE_KERNEL
	+@kernel/build.sh --arch arm64 $(dir $@)

$(KERNEL_OUT)/mkcpio: kernel/tools/mkcpio.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -std=gnu17 -O2 -g $(WARN) $(SAN_FLAGS) -o $@ $<

# Static: there is no libc in the initramfs. No sanitizers: it runs as PID 1 in the guest.
$(KERNEL_OUT)/floor-init: kernel/tools/floor-init.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static)"
	@$(CC) -std=gnu17 -Os -static -s $(WARN) -o $@ $<

$(KERNEL_OUT)/floor.cpio: $(KERNEL_OUT)/floor-init $(KERNEL_OUT)/mkcpio
	@printf '%s\n' 'dir /dev 0755' 'nod /dev/console 0600 c 5 1' \
		'file /init $(KERNEL_OUT)/floor-init 0755' | $(KERNEL_OUT)/mkcpio - $@

$(O)/kernel-arm64/floor-init: kernel/tools/floor-init.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (static, arm64)"
	@aarch64-linux-gnu-gcc -std=gnu17 -Os -static -s $(WARN) -o $@ $<

$(O)/kernel-arm64/floor.cpio: $(O)/kernel-arm64/floor-init $(KERNEL_OUT)/mkcpio
	@printf '%s\n' 'dir /dev 0755' 'nod /dev/console 0600 c 5 1' \
		'file /init $(O)/kernel-arm64/floor-init 0755' | $(KERNEL_OUT)/mkcpio - $@
