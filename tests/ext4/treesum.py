#!/usr/bin/env python3
"""A canonical manifest of a directory tree, to compare two trees line by line.

  treesum.py ROOT [--implicit FILE] [--skip-lost-found]

One line per path (sorted by bytes, the root is "."):
  PATH TYPE mode=OOOO uid=N gid=N [size=N sha256=H | target=T | rdev=MAJ:MIN] [nlink=N link=FIRST]
       xattrs=[name=value,...] mtime=NS
Names and targets are escaped (%XX for bytes outside printable ASCII, space, % and \\).
Content hashes ignore how zeros are stored: holes and written zero blocks hash the same
(only non-zero 4 KiB blocks are read, found through SEEK_DATA), so a 5 GiB sparse file
costs only its data. Files with several links name the first path of their group.
Directory sizes, nlink of directories, atime and ctime are not compared (they are the
file system's business). --implicit FILE lists (NUL-separated) paths whose mtime is
not defined (directories created for a missing parent): their mtime prints as "-".
--skip-lost-found leaves out the root's lost+found (mke2fs puts one in every image).
"""
import hashlib
import os
import stat
import sys

BS = 4096


def esc(b):
    out = []
    for c in b:
        if 0x21 <= c <= 0x7e and c not in (0x25, 0x5c):
            out.append(chr(c))
        else:
            out.append("%%%02X" % c)
    return "".join(out)


def content_hash(path, size):
    h = hashlib.sha256()
    h.update(b"size %d\n" % size)
    zero = bytes(BS)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        off = 0
        while off < size:
            try:
                data = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:      # ENXIO: only a hole is left
                break
            try:
                hole = os.lseek(fd, data, os.SEEK_HOLE)
            except OSError:
                hole = size
            pos = data - data % BS
            os.lseek(fd, pos, os.SEEK_SET)
            while pos < hole:
                n = min(1 << 20, hole - pos + (-(hole - pos)) % BS)
                buf = os.read(fd, n)
                if not buf:
                    break
                for i in range(0, len(buf), BS):
                    blk = buf[i:i + BS]
                    if blk != zero[:len(blk)]:
                        h.update(b"%d " % ((pos + i) // BS))
                        h.update(blk)
                pos += len(buf)
            off = max(hole, pos)
    finally:
        os.close(fd)
    return h.hexdigest()


def xattrs_of(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return []
    out = []
    for n in sorted(names):
        v = os.getxattr(path, n, follow_symlinks=False)
        vs = v.hex() if len(v) <= 64 else "sha256:" + hashlib.sha256(v).hexdigest()[:32] + "/%d" % len(v)
        out.append("%s=%s" % (esc(os.fsencode(n)), vs))
    return out


def walk(root, rel, out):
    full = os.path.join(root, rel) if rel else root
    out.append((rel, os.lstat(full)))
    if stat.S_ISDIR(out[-1][1].st_mode):
        for name in sorted(os.listdir(full)):
            walk(root, os.path.join(rel, name) if rel else name, out)


def main(argv):
    root = os.fsencode(argv[1])
    implicit = set()
    if "--implicit" in argv:
        with open(argv[argv.index("--implicit") + 1], "rb") as f:
            implicit = {p for p in f.read().split(b"\0") if p}
    skip_lf = "--skip-lost-found" in argv
    entries = []
    walk(root, b"", entries)
    if skip_lf:
        entries = [e for e in entries if e[0] != b"lost+found" and not e[0].startswith(b"lost+found/")]
    groups = {}
    for rel, st in entries:
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            groups.setdefault((st.st_dev, st.st_ino), rel or b".")
    w = sys.stdout.buffer
    for rel, st in entries:
        name = rel or b"."
        full = os.path.join(root, rel) if rel else root
        m = st.st_mode
        t = ("d" if stat.S_ISDIR(m) else "f" if stat.S_ISREG(m) else "l" if stat.S_ISLNK(m) else
             "c" if stat.S_ISCHR(m) else "b" if stat.S_ISBLK(m) else "p" if stat.S_ISFIFO(m) else
             "s" if stat.S_ISSOCK(m) else "?")
        parts = [esc(name), t, "mode=%04o" % stat.S_IMODE(m), "uid=%d" % st.st_uid, "gid=%d" % st.st_gid]
        if t == "f":
            parts += ["size=%d" % st.st_size, "sha256=" + content_hash(full, st.st_size)]
        elif t == "l":
            parts += ["target=" + esc(os.readlink(full))]
        elif t in "cb":
            parts += ["rdev=%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))]
        if t != "d" and st.st_nlink > 1:
            parts += ["nlink=%d" % st.st_nlink, "link=" + esc(groups[(st.st_dev, st.st_ino)])]
        parts.append("xattrs=[" + ",".join(xattrs_of(full)) + "]")
        parts.append("mtime=" + ("-" if name in implicit else "%d" % st.st_mtime_ns))
        w.write((" ".join(parts) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
