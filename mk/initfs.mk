# The initfs: a newc cpio holding the static, stripped vminitd as /init and
# nothing else the kernel does not need (a console node, mount points).
# Sanitizer builds link vminitd dynamically for host tests, so their initfs
# takes the static vminitd of the plain build.
INITFS := $(O)/guest/initfs.cpio
ifeq ($(SANITIZE),1)
INITFS_VMINITD := build/guest/vminitd
$(INITFS_VMINITD): FORCE_STATIC_VMINITD
	@$(MAKE) --no-print-directory SANITIZE= O=build build/guest/vminitd
.PHONY: FORCE_STATIC_VMINITD
else
INITFS_VMINITD := $(VMINITD)
endif

ALL_TARGETS += $(INITFS)

$(O)/guest/init.stripped: $(INITFS_VMINITD)
	@mkdir -p $(dir $@)
	strip -o $@ $<

$(INITFS): $(O)/guest/init.stripped $(O)/kernel/mkcpio
	@printf '%s\n' 'dir /dev 0755' 'nod /dev/console 0600 c 5 1' 'dir /proc 0755' \
		'dir /sys 0755' 'dir /run 0755' 'dir /tmp 01777' 'dir /mnt 0755' \
		'file /init $(O)/guest/init.stripped 0755' | $(O)/kernel/mkcpio - $@
