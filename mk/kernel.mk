# Guest kernel and the boot-floor initramfs.
#   $(O)/kernel/vmlinux, bzImage, config  built by kernel/build.sh, cached by content hash in
#                                         /var/cache/containerization/kernel (CZ_KERNEL_CACHE)
#   $(O)/kernel/mkcpio                    newc cpio writer (host tool)
#   $(O)/kernel/floor-init, floor.cpio    tiny init that prints a line and stops the VM
# CZ_KERNEL=0 skips the kernel (e.g. a quick library-only build).

KERNEL_OUT := $(O)/kernel
KERNEL_STAMP := $(KERNEL_OUT)/vmlinux

ifneq ($(CZ_KERNEL),0)
ALL_TARGETS += $(KERNEL_STAMP) $(KERNEL_OUT)/floor.cpio
endif
ALL_TARGETS += $(KERNEL_OUT)/mkcpio

.PHONY: kernel kernel-arm64 FORCE_KERNEL
kernel: $(KERNEL_STAMP)

# The script is cheap when the cache has the build (it hashes two small files and links),
# so it runs every time and decides for itself.
$(KERNEL_STAMP): FORCE_KERNEL
	@kernel/build.sh $(KERNEL_OUT)

# Only where a cross-compiler exists; not part of `make`.
kernel-arm64:
	@kernel/build.sh --arch arm64 $(O)/kernel-arm64

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
