# ext4 (lib/ext4): gzip layers are inflated with ISA-L (Debian libisal-dev).
LDLIBS += $(shell pkg-config --libs libisal 2>/dev/null || echo -lisal)
