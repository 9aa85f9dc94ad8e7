# ocirt (lib/ocirt, the OCI runtime library vminitd uses) needs libseccomp.
# A static link (vminitd) adds -lseccomp and -ljansson itself.
LDLIBS += -lseccomp
