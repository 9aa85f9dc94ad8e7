#!/usr/bin/env python3
"""Writes OCI image layouts whose layers exercise the ext4 unpacker.

  mklayers.py list                      names of the fixtures (good ones, then bad-*)
  mklayers.py FIXTURE OUTDIR [--compress tar|gzip|zstd|mixed]
  mklayers.py fromtar TAR OUTDIR --split N [--compress gzip|zstd|tar]

Each OUTDIR is a complete OCI image layout (oci-layout, index.json, blobs/sha256/...)
with one image tagged "latest": manifest, config with the diff_ids of the layers, and
the layers compressed as asked ("mixed" cycles tar, gzip, zstd over the layers).
The good fixtures have a well-defined result (see applylayers.py); the bad-* ones must
be refused by the unpacker.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tarw  # noqa: E402
from tarw import REG, HARD, SYM, CHR, BLK, DIR, FIFO  # noqa: E402

T0 = 1700000000 * 10 ** 9 + 123456789  # a base mtime with nanoseconds
MT_LAYER = {"tar": "application/vnd.oci.image.layer.v1.tar",
            "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
            "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}


def sha256(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def compress(raw, how):
    if how == "tar":
        return raw
    if how == "gzip":
        return gzip.compress(raw, compresslevel=6, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-3", "-c"], input=raw, stdout=subprocess.PIPE,
                              check=True).stdout
    raise SystemExit("unknown compression " + how)


class Layout:
    def __init__(self, out):
        self.out = out
        os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(out, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')

    def blob(self, b):
        d = sha256(b)
        p = os.path.join(self.out, "blobs", "sha256", d[7:])
        if not os.path.exists(p):
            with open(p + ".tmp", "wb") as f:
                f.write(b)
            os.rename(p + ".tmp", p)
        return d

    def image(self, layers, tag="latest", platforms=None):
        """layers: list of (raw_tar_bytes_or_path, compression, stored_blob_override).
        platforms: [(os, arch, layers)...] instead: one index with a manifest each."""
        if platforms:
            entries = [self.manifest(ls, o, a) for o, a, ls in platforms]
            idx = json.dumps({"schemaVersion": 2,
                              "mediaType": "application/vnd.oci.image.index.v1+json",
                              "manifests": entries}, sort_keys=True).encode()
            index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                     "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                                    "digest": self.blob(idx), "size": len(idx),
                                    "annotations": {"org.opencontainers.image.ref.name": tag}}]}
            with open(os.path.join(self.out, "index.json"), "w") as f:
                json.dump(index, f)
            return
        entry = self.manifest(layers, "linux", "amd64")
        entry["annotations"] = {"org.opencontainers.image.ref.name": tag}
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                 "manifests": [entry]}
        with open(os.path.join(self.out, "index.json"), "w") as f:
            json.dump(index, f)

    def manifest(self, layers, os_, arch):
        descs, diff_ids = [], []
        for raw, how, override in layers:
            stored = override if override is not None else compress(raw, how)
            diff_ids.append(sha256(raw))
            descs.append({"mediaType": MT_LAYER[how], "digest": self.blob(stored),
                          "size": len(stored)})
        config = json.dumps({"architecture": arch, "os": os_,
                             "config": {"Env": ["PATH=/usr/bin:/bin"]},
                             "rootfs": {"type": "layers", "diff_ids": diff_ids},
                             "history": [{"created_by": "mklayers.py"} for _ in layers]},
                            sort_keys=True).encode()
        manifest = json.dumps({"schemaVersion": 2,
                               "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": self.blob(config), "size": len(config)},
                               "layers": descs}, sort_keys=True).encode()
        return {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": self.blob(manifest), "size": len(manifest),
                "platform": {"architecture": arch, "os": os_}}


def layer(fmt="pax"):
    buf = io.BytesIO()
    return buf, tarw.Writer(buf, fmt)


def done(buf, w, eoa=True):
    w.close(eoa)
    return buf.getvalue()


def cap_v2(permitted, inheritable=0):
    """security.capability value (VFS_CAP_REVISION_2, effective bit set)."""
    import struct
    return struct.pack("<IIIII", 0x02000001, permitted & 0xffffffff, inheritable & 0xffffffff,
                       permitted >> 32, inheritable >> 32)


def acl(entries):
    """system.posix_acl_* value from [(tag, perm, id)], tag: 1 user_obj 2 user 4 group_obj
    8 group 16 mask 32 other."""
    import struct
    b = struct.pack("<I", 2)
    for tag, perm, ident in sorted(entries, key=lambda e: (e[0], e[2])):
        b += struct.pack("<HHI", tag, perm, ident)
    return b


# ---------------------------------------------------------------- fixtures
def fx_whiteouts():
    b, w = layer()
    w.add("./", DIR, mtime_ns=T0)
    w.add("a/", DIR, mtime_ns=T0 + 1)
    w.add("a/keep", data=b"keep\n", mtime_ns=T0 + 2)
    w.add("a/delfile", data=b"deleted\n", mtime_ns=T0)
    w.add("a/deldir/", DIR, mtime_ns=T0)
    w.add("a/deldir/x", data=b"x\n", mtime_ns=T0)
    w.add("a/deldir/sub/", DIR, mtime_ns=T0)
    w.add("a/deldir/sub/y", data=b"y\n", mtime_ns=T0)
    w.add("a/dellink", SYM, linkname="keep", mtime_ns=T0)
    w.add("a/recreate", data=b"old\n", mode=0o600, uid=5, mtime_ns=T0)
    w.add("a/recreatedir/", DIR, mode=0o700, mtime_ns=T0)
    w.add("a/recreatedir/oldchild", data=b"old child\n", mtime_ns=T0)
    w.add("a/wh-after/", DIR, mtime_ns=T0)
    w.add("a/wh-after/f", data=b"lower\n", mtime_ns=T0)
    w.add("opq/", DIR, mode=0o750, mtime_ns=T0 + 5)
    w.add("opq/old1", data=b"old1\n", mtime_ns=T0)
    w.add("opq/olddir/", DIR, mtime_ns=T0)
    w.add("opq/olddir/z", data=b"z\n", mtime_ns=T0)
    w.add("opq2/", DIR, mtime_ns=T0)
    w.add("opq2/old", data=b"old\n", mtime_ns=T0)
    w.add("opq3/", DIR, mtime_ns=T0 + 7)
    w.add("opq3/old", data=b"old\n", mtime_ns=T0)
    l1 = done(b, w)
    b, w = layer()
    w.add("a/", DIR, mtime_ns=T0 + 100)
    w.add("a/.wh.delfile", mtime_ns=T0)
    w.add("a/.wh.deldir", mtime_ns=T0)
    w.add("a/.wh.dellink", mtime_ns=T0)
    # whiteout then re-create in the same layer: the new one stays
    w.add("a/.wh.recreate", mtime_ns=T0)
    w.add("a/recreate", data=b"new\n", mode=0o644, uid=6, mtime_ns=T0 + 101)
    w.add("a/.wh.recreatedir", mtime_ns=T0)
    w.add("a/recreatedir/", DIR, mode=0o755, mtime_ns=T0 + 102)
    w.add("a/recreatedir/newchild", data=b"new child\n", mtime_ns=T0 + 103)
    # re-create first, whiteout after it in the same layer: whiteouts only hide lower layers
    w.add("a/wh-after/", DIR, mtime_ns=T0 + 104)
    w.add("a/wh-after/g", data=b"upper\n", mtime_ns=T0 + 105)
    w.add("a/wh-after/f", data=b"upper f\n", mtime_ns=T0 + 106)
    w.add("a/wh-after/.wh.f", mtime_ns=T0)
    # opaque directory, with its directory entry first
    w.add("opq/", DIR, mode=0o755, mtime_ns=T0 + 110)
    w.add("opq/.wh..wh..opq", mtime_ns=T0)
    w.add("opq/new1", data=b"new1\n", mtime_ns=T0 + 111)
    # opaque marker after the new entries of the same layer
    w.add("opq2/", DIR, mtime_ns=T0 + 120)
    w.add("opq2/new", data=b"new\n", mtime_ns=T0 + 121)
    w.add("opq2/.wh..wh..opq", mtime_ns=T0)
    # an opaque marker in a directory no lower layer has
    w.add("freshopq/", DIR, mtime_ns=T0 + 130)
    w.add("freshopq/.wh..wh..opq", mtime_ns=T0)
    w.add("freshopq/f", data=b"f\n", mtime_ns=T0 + 131)
    l2 = done(b, w)
    b, w = layer()
    # opaque marker without a directory entry in this layer; empties opq3
    w.add("opq3/.wh..wh..opq", mtime_ns=T0)
    # deleting in a later layer something created by the previous one
    w.add("a/recreatedir/.wh.newchild", mtime_ns=T0)
    l3 = done(b, w)
    return [l1, l2, l3]


def fx_replace():
    b, w = layer()
    w.add("./", DIR, mtime_ns=T0)
    w.add("f2d", data=b"file becomes dir\n", mtime_ns=T0)
    w.add("d2f/", DIR, mtime_ns=T0)
    w.add("d2f/c1", data=b"c1\n", mtime_ns=T0)
    w.add("d2f/sub/", DIR, mtime_ns=T0)
    w.add("d2f/sub/c2", data=b"c2\n", mtime_ns=T0)
    w.add("l2d", SYM, linkname="f2d", mtime_ns=T0)
    w.add("d2l/", DIR, mtime_ns=T0)
    w.add("d2l/c", data=b"c\n", mtime_ns=T0)
    w.add("f2l", data=b"file becomes link\n", mtime_ns=T0)
    w.add("l2f", SYM, linkname="nowhere", mtime_ns=T0)
    w.add("f2fifo", data=b"x", mtime_ns=T0)
    w.add("meta", data=b"same content\n", mode=0o600, uid=1, gid=1, mtime_ns=T0)
    w.add("dmeta/", DIR, mode=0o700, uid=3, gid=3, mtime_ns=T0)
    w.add("dmeta/child", data=b"child\n", mtime_ns=T0)
    l1 = done(b, w)
    b, w = layer()
    w.add("f2d/", DIR, mode=0o711, mtime_ns=T0 + 1)
    w.add("f2d/child", data=b"child\n", mtime_ns=T0 + 2)
    w.add("d2f", data=b"dir became file\n", mode=0o640, mtime_ns=T0 + 3)
    w.add("l2d/", DIR, mtime_ns=T0 + 4)
    w.add("d2l", SYM, linkname="f2d/child", mtime_ns=T0 + 5)
    w.add("f2l", SYM, linkname="d2f", mtime_ns=T0 + 6)
    w.add("l2f", data=b"was a dangling link\n", mtime_ns=T0 + 7)
    w.add("f2fifo", FIFO, mode=0o600, mtime_ns=T0 + 8)
    w.add("meta", data=b"same content\n", mode=0o4755, uid=2, gid=2, mtime_ns=T0 + 9)
    # directory entry over an existing directory: metadata replaced, children kept
    w.add("dmeta/", DIR, mode=0o751, uid=4, gid=4, mtime_ns=T0 + 10)
    # the same path twice in one layer: the last one wins
    w.add("dup", data=b"first copy, longer than the second\n", mtime_ns=T0 + 11)
    w.add("dup", data=b"second\n", mode=0o600, mtime_ns=T0 + 12)
    w.add("dupdir/", DIR, mode=0o700, mtime_ns=T0 + 13)
    w.add("dupdir/x", data=b"x\n", mtime_ns=T0 + 14)
    w.add("dupdir/", DIR, mode=0o755, uid=9, mtime_ns=T0 + 15)
    # the root's metadata from a later layer
    w.add("./", DIR, mode=0o750, uid=1, gid=2, mtime_ns=T0 + 16)
    l2 = done(b, w)
    return [l1, l2]


def fx_hardlinks():
    b, w = layer()
    w.add("./", DIR, mtime_ns=T0)
    w.add("base/", DIR, mtime_ns=T0)
    w.add("base/file1", data=b"one\n" * 1000, mode=0o640, uid=7, gid=8, mtime_ns=T0 + 1)
    w.add("base/file2", data=b"two v1\n", mtime_ns=T0 + 2)
    w.add("base/inl", HARD, linkname="base/file1", mtime_ns=T0)
    w.add("base/sym", SYM, linkname="file1", mode=0o777, mtime_ns=T0 + 3)
    w.add("base/sym-hard", HARD, linkname="base/sym", mtime_ns=T0)    # a hard link to a symlink
    w.add("base/fifo", FIFO, mode=0o600, mtime_ns=T0 + 4)
    w.add("base/fifo-hard", HARD, linkname="base/fifo", mtime_ns=T0)  # and to a FIFO
    # the other name of a file lives in a directory that later layers remove or replace
    w.add("gone/", DIR, mtime_ns=T0)
    w.add("gone/x", data=b"outlives its directory\n", mtime_ns=T0 + 5)
    w.add("keep-x", HARD, linkname="gone/x", mtime_ns=T0)
    w.add("replaced/", DIR, mtime_ns=T0)
    w.add("replaced/y", data=b"outlives the replacement\n", mtime_ns=T0 + 6)
    w.add("keep-y", HARD, linkname="replaced/y", mtime_ns=T0)
    l1 = done(b, w)
    b, w = layer()
    w.add("links/", DIR, mtime_ns=T0 + 10)
    w.add("links/h1", HARD, linkname="base/file1", mtime_ns=T0)     # to an earlier layer
    w.add("links/new", data=b"new\n", mtime_ns=T0 + 11)
    w.add("links/h2", HARD, linkname="links/new", mtime_ns=T0)      # same layer
    w.add("links/h2b", HARD, linkname="./links/new", mtime_ns=T0)   # "./" spelling
    w.add("base/", DIR, mtime_ns=T0 + 12)
    w.add("base/file2", data=b"two v2\n", mode=0o600, mtime_ns=T0 + 13)
    w.add("links/h3", HARD, linkname="base/file2", mtime_ns=T0)     # the new version
    # a link, then its target path written again in the same layer: the link keeps the old
    w.add("links/t1", data=b"t1 old\n", mtime_ns=T0 + 14)
    w.add("links/t1h", HARD, linkname="links/t1", mtime_ns=T0)
    w.add("links/t1", data=b"t1 new, longer\n", mtime_ns=T0 + 15)
    w.add(".wh.gone", mtime_ns=T0)
    w.add("replaced", data=b"a file now\n", mtime_ns=T0 + 16)
    l2 = done(b, w)
    b, w = layer()
    w.add("base/.wh.file1", mtime_ns=T0)   # h1 and inl survive with the content
    l3 = done(b, w)
    return [l1, l2, l3]


def fx_parents():
    b, w = layer()
    w.add("./", DIR, mtime_ns=T0)
    w.add("top/", DIR, mtime_ns=T0)
    w.add("top/x/y/z/file", data=b"deep\n", mtime_ns=T0 + 1)   # parents x, x/y, x/y/z missing
    w.add("nodir/link", SYM, linkname="../top", mtime_ns=T0 + 2)
    l1 = done(b, w)
    b, w = layer()
    w.add("later/a/b", data=b"parent missing in a later layer\n", mtime_ns=T0 + 4)
    w.add("top/x/y/new", data=b"parent from lower, no entry\n", mtime_ns=T0 + 5)
    l2 = done(b, w)
    return [l1, l2]


def fx_names():
    b, w = layer("pax")
    w.add("./", DIR, mtime_ns=T0)
    long_dir = "/".join(["d%02d-%s" % (i, "x" * 40) for i in range(8)])  # > 300 bytes
    parts = long_dir.split("/")
    for i in range(1, len(parts) + 1):
        w.add("/".join(parts[:i]) + "/", DIR, mtime_ns=T0)
    w.add(long_dir + "/pax-long-file", data=b"pax long\n", mtime_ns=T0 + 1)
    n255 = "n" * 251 + ".txt"
    assert len(n255) == 255
    w.add(n255, data=b"255 bytes name\n", mtime_ns=T0 + 2)
    w.add("u" * 255, SYM, linkname="t" * 1000, mtime_ns=T0 + 3)   # slow symlink, long target
    w.add("fastlink", SYM, linkname="short", mtime_ns=T0 + 4)
    w.add("link59", SYM, linkname="s" * 59, mtime_ns=T0)
    w.add("link60", SYM, linkname="s" * 60, mtime_ns=T0)
    w.add("link61", SYM, linkname="s" * 61, mtime_ns=T0)
    w.add("utf8-\u00e9t\u00e9-\u65e5\u672c", data=b"utf8\n", mtime_ns=T0)
    w.add("space and\ttab", data=b"ws\n", mtime_ns=T0)
    w.add("new\nline", data=b"nl\n", mtime_ns=T0)
    w.add(b"latin1-\xe9", data=b"not utf-8\n", mtime_ns=T0)
    w.add("%percent\\back", data=b"esc\n", mtime_ns=T0)
    w.add("h255", HARD, linkname=n255, mtime_ns=T0)
    l1 = done(b, w)
    b, w = layer("gnu")
    gdir = "/".join(["g%02d-%s" % (i, "y" * 50) for i in range(4)])
    gparts = gdir.split("/")
    for i in range(1, len(gparts) + 1):
        w.add("/".join(gparts[:i]) + "/", DIR, mtime_ns=T0)
    w.add(gdir + "/gnu-long-file", data=b"gnu long\n", mtime_ns=T0 + 5)
    w.add(gdir + "/gnu-long-link", SYM, linkname="../" * 40 + "target", mtime_ns=T0)
    w.add("g255" + "g" * 251, data=b"gnu 255\n", mtime_ns=T0)
    w.add(gdir + "/hardlong", HARD, linkname=gdir + "/gnu-long-file", mtime_ns=T0)
    w.add("biguid", data=b"big ids\n", uid=4000000000, gid=4294967294, mtime_ns=T0)  # base-256
    l2 = done(b, w)
    return [l1, l2]


def _chunks(spec):
    return [(o, (bytes([(o // 4096 + i) % 251 + 1 for i in range(64)]) * (n // 64 + 1))[:n])
            for o, n in spec]


def fx_sparse():
    b, w = layer("pax")
    w.add("./", DIR, mtime_ns=T0)
    w.add_sparse("pax-sparse", 10 * 2 ** 20, _chunks([(0, 4096), (2 ** 20, 512), (5 * 2 ** 20, 8192)]),
                 mtime_ns=T0 + 1)
    w.add_sparse("pax-tailhole", 3 * 2 ** 20, _chunks([(4096, 4096)]), mtime_ns=T0 + 2)
    w.add_sparse("pax-allhole", 2 ** 20, [], mtime_ns=T0 + 3)
    # 300 data extents separated by holes: an extent tree deeper than the inode's four slots
    w.add_sparse("fragmented", 600 * 8192, _chunks([(i * 8192 + 4096, 4096) for i in range(300)]),
                 mtime_ns=T0 + 4)
    # 2000 separate blocks: more extents than one index block holds (depth-2 tree)
    w.add_sparse("deep-extents", 2000 * 8192, _chunks([(i * 8192, 512) for i in range(2000)]),
                 mtime_ns=T0 + 7)
    w.add_sparse("unaligned", 100000, _chunks([(1, 512), (5000, 1024), (99990, 10)]), mtime_ns=T0)
    l1 = done(b, w)
    b, w = layer("gnu")
    w.add_sparse("oldgnu-sparse", 8 * 2 ** 20, _chunks([(0, 512), (2 ** 20, 4096), (3 * 2 ** 20, 1)]),
                 mtime_ns=T0 + 5, style="oldgnu")
    w.add_sparse("oldgnu-extended", 64 * 2 ** 20,
                 _chunks([(i * 2 ** 20, 4096) for i in range(60)]), mtime_ns=T0 + 6, style="oldgnu")
    l2 = done(b, w)
    return [l1, l2]


def fx_bigsparse():
    b, w = layer("pax")
    w.add("./", DIR, mtime_ns=T0)
    size = 5 * 2 ** 30
    w.add_sparse("sparse-5g", size, _chunks([(0, 65536), (2 ** 30, 4096), (4 * 2 ** 30 + 12345, 1024),
                                             (size - 4096, 4096)]), mtime_ns=T0 + 1)
    # a large file with real data: longer than one extent (32768 blocks = 128 MiB)
    w.add("dense-136m", data=bytes(range(256)) * (136 * 4096), mtime_ns=T0 + 2)
    return [done(b, w)]


def fx_bigdir():
    b, w = layer()
    w.add("./", DIR, mtime_ns=T0)
    w.add("big/", DIR, mtime_ns=T0 + 1)
    for i in range(50000):
        w.add("big/entry-%05d-%s" % (i, "q" * (i % 40)), data=b"" if i % 7 else b"%d\n" % i,
              mtime_ns=T0)
    w.add("big/sub/", DIR, mtime_ns=T0 + 2)   # a subdirectory among them
    return [done(b, w)]


def fx_attrs():
    b, w = layer("pax")
    w.add("./", DIR, mtime_ns=T0)
    w.add("caps", data=b"\x7fELF pretend\n", mode=0o755,
          xattrs={"security.capability": cap_v2((1 << 10) | (1 << 13))}, mtime_ns=T0 + 1)
    w.add("user-attrs", data=b"u\n", xattrs={"user.a": b"1", "user.empty": b"",
                                             "user.binary": bytes(range(256)),
                                             "trusted.t": b"trusted value"}, mtime_ns=T0 + 2)
    w.add("big-xattr", data=b"b\n", xattrs={"user.big": b"B" * 3000, "user.small": b"s"},
          mtime_ns=T0 + 3)
    w.add("many-xattrs", data=b"m\n", xattrs={"user.k%03d" % i: b"v" * i for i in range(40)},
          mtime_ns=T0)
    w.add("acl-file", data=b"acl\n", mode=0o640,
          xattrs={"system.posix_acl_access": acl([(1, 6, 0xffffffff), (2, 6, 1000),
                                                  (4, 4, 0xffffffff), (16, 4, 0xffffffff),
                                                  (32, 0, 0xffffffff)])}, mtime_ns=T0)
    w.add("acl-dir/", DIR, mode=0o750,
          xattrs={"system.posix_acl_access": acl([(1, 7, 0xffffffff), (4, 5, 0xffffffff),
                                                  (8, 5, 100), (16, 5, 0xffffffff),
                                                  (32, 0, 0xffffffff)]),
                  "system.posix_acl_default": acl([(1, 7, 0xffffffff), (4, 5, 0xffffffff),
                                                   (32, 5, 0xffffffff)])}, mtime_ns=T0)
    w.add("link-xattr", SYM, linkname="caps", xattrs={"trusted.onlink": b"l"}, mtime_ns=T0)
    w.add("dev/", DIR, mtime_ns=T0)
    w.add("dev/null", CHR, mode=0o666, devmajor=1, devminor=3, mtime_ns=T0)
    w.add("dev/loop0", BLK, mode=0o660, gid=6, devmajor=7, devminor=0, mtime_ns=T0)
    w.add("dev/bigdev", CHR, mode=0o600, devmajor=4000, devminor=1048575, mtime_ns=T0)
    w.add("dev/fifo", FIFO, mode=0o644, mtime_ns=T0)
    w.add("modes/", DIR, mtime_ns=T0)
    for m in (0o4755, 0o2755, 0o6755, 0o4000, 0o1755, 0o0, 0o777, 0o2710):
        w.add("modes/f%04o" % m, data=b"m\n", mode=m, mtime_ns=T0)
    w.add("modes/sticky/", DIR, mode=0o1777, mtime_ns=T0)
    w.add("modes/setgid-dir/", DIR, mode=0o2775, gid=50, mtime_ns=T0)
    w.add("ids/", DIR, mtime_ns=T0)
    w.add("ids/u65536", data=b"i\n", uid=65536, gid=65537, mtime_ns=T0)
    w.add("ids/u4000000000", data=b"i\n", uid=4000000000, gid=3000000000, mtime_ns=T0)
    w.add("ids/dir-big/", DIR, uid=2 ** 31, gid=2 ** 32 - 2, mtime_ns=T0)
    w.add("ids/link-big", SYM, linkname="x", uid=123456, gid=654321, mtime_ns=T0)
    w.add("times/", DIR, mtime_ns=T0)
    for name, ns in (("epoch", 0), ("ns", T0 + 999999999), ("y2038", 2 ** 31 * 10 ** 9 + 1),
                     ("y2100", 4102444800 * 10 ** 9 + 5), ("neg", -1000000000 * 10 ** 9 - 500000000),
                     ("one-ns", 1)):
        w.add("times/" + name, data=b"t\n", mtime_ns=ns)
    w.add("times/dir-ns/", DIR, mtime_ns=T0 + 424242)
    return [done(b, w)]


def fx_opqroot():
    b, w = layer()
    w.add("./", DIR, mtime_ns=T0)
    w.add("old/", DIR, mtime_ns=T0)
    w.add("old/file", data=b"old\n", mtime_ns=T0)
    w.add("oldfile", data=b"old\n", mtime_ns=T0)
    l1 = done(b, w)
    b, w = layer()
    w.add("./", DIR, mode=0o711, mtime_ns=T0 + 1)
    w.add("./.wh..wh..opq", mtime_ns=T0)      # the whole lower tree goes
    w.add("new", data=b"new\n", mtime_ns=T0 + 2)
    w.add("old/", DIR, mtime_ns=T0 + 3)       # a directory of the same name, empty now
    return [l1, done(b, w)]


def fx_aufs():
    # aufs metadata (.wh..wh.*) is not content (Docker skips it all)
    b, w = layer()
    w.add("./", DIR, mtime_ns=T0)
    w.add("a/", DIR, mtime_ns=T0)
    w.add("a/file", data=b"file\n", mtime_ns=T0)
    l1 = done(b, w)
    b, w = layer()
    w.add(".wh..wh.plnk/", DIR, mtime_ns=T0)
    w.add(".wh..wh.plnk/123.456", data=b"aufs\n", mtime_ns=T0)
    w.add("a/.wh..wh.aufs", data=b"", mtime_ns=T0)
    w.add("a/new", data=b"new\n", mtime_ns=T0 + 1)
    return [l1, done(b, w)]


def fx_noeoa():
    b, w = layer()
    w.add("./", DIR, mtime_ns=T0)
    w.add("first", data=b"first layer, no end-of-archive blocks\n", mtime_ns=T0)
    l1 = done(b, w, eoa=False)
    b, w = layer()
    w.add("second", data=b"x" * 1000, mtime_ns=T0)
    w.raw(b"\0" * 512)     # a single zero block only
    l2 = done(b, w, eoa=False)
    b, w = layer()
    w.add("third", data=b"", mtime_ns=T0)
    l3 = done(b, w, eoa=False)
    return [l1, l2, l3]


def fx_empty():
    b, w = layer()
    l1 = done(b, w)                       # only end-of-archive blocks
    b, w = layer()
    w.add("only", data=b"after an empty layer\n", mtime_ns=T0)
    return [l1, done(b, w)]


GOOD = {"whiteouts": fx_whiteouts, "replace": fx_replace, "hardlinks": fx_hardlinks,
        "parents": fx_parents, "names": fx_names, "sparse": fx_sparse, "bigsparse": fx_bigsparse,
        "bigdir": fx_bigdir, "attrs": fx_attrs, "opqroot": fx_opqroot, "aufs": fx_aufs, "noeoa": fx_noeoa,
        "empty": fx_empty}


# ---------------------------------------------------------------- bad input
# Each returns (layers, stored_override_for_last_layer_or_None, entry_name_in_error)
def bad_truncated_gzip():
    b, w = layer()
    w.add("payload.bin", data=os.urandom(256 * 1024), mtime_ns=T0)
    raw = done(b, w)
    gz = gzip.compress(raw, mtime=0)
    return [raw], ("gzip", gz[:len(gz) // 2]), "payload.bin"


def bad_truncated_tar():
    b, w = layer()
    w.add("ok", data=b"ok\n")
    w.add("cut.bin", data=b"z" * 100000)
    raw = done(b, w, eoa=False)
    return [raw[:512 * 3 + 5000]], None, "cut.bin"


def bad_corrupt_header():
    b, w = layer()
    w.add("fine", data=b"fine\n")
    w.add("badsum", data=b"bad\n", corrupt=True)
    return [done(b, w)], None, "badsum|fine"


def bad_name_too_long():
    b, w = layer()
    w.add("dir/", DIR)
    w.add("dir/" + "L" * 256, data=b"x")
    return [done(b, w)], None, "L{256}|LLLLLLLL"


def bad_nul_in_path():
    b, w = layer()
    w.add("nul", data=b"x", pax_extra=[("path", b"with\0nul")])
    return [done(b, w)], None, "with|nul"


def bad_empty_component():
    b, w = layer()
    w.add("a/", DIR)
    w.add("a//b", data=b"x")
    return [done(b, w)], None, "a//b"


def bad_hardlink_missing():
    b, w = layer()
    w.add("exists", data=b"x")
    w.add("dangling-hardlink", HARD, linkname="not-there")
    return [done(b, w)], None, "dangling-hardlink|not-there"


def bad_whiteout_missing():
    b, w = layer()
    w.add("d/", DIR)
    w.add("d/real", data=b"x")
    l1 = done(b, w)
    b, w = layer()
    w.add("d/.wh.ghost", data=b"")
    return [l1, done(b, w)], None, "ghost"


def bad_too_big():
    b, w = layer()
    w.add("huge.bin", data=b"\xa5" * (48 * 2 ** 20))
    return [done(b, w)], None, "huge.bin"


def bad_absurd_size():
    b, w = layer()
    w.add("absurd", size=2 ** 40)   # header claims 1 TiB, no data follows
    return [done(b, w, eoa=False)], None, "absurd"


def bad_control_chars_in_name():
    # the error names an entry whose name holds a newline and a terminal escape: the
    # message must stay one line and must not carry the raw escape to a terminal
    b, w = layer()
    w.add("ok", data=b"x")
    w.add("bad\nname\x1b[2J", HARD, linkname="missing\ttarget")
    return [done(b, w)], None, "bad"


def bad_garbage():
    return [os.urandom(4096)], None, ""


BAD = {"bad-truncated-gzip": bad_truncated_gzip, "bad-truncated-tar": bad_truncated_tar,
       "bad-corrupt-header": bad_corrupt_header, "bad-name-too-long": bad_name_too_long,
       "bad-nul-in-path": bad_nul_in_path, "bad-empty-component": bad_empty_component,
       "bad-hardlink-missing": bad_hardlink_missing, "bad-whiteout-missing": bad_whiteout_missing,
       "bad-too-big": bad_too_big, "bad-control-chars": bad_control_chars_in_name, "bad-absurd-size": bad_absurd_size, "bad-garbage": bad_garbage}


def split_tar(path, n):
    """The debootstrap tree as N layers split by top-level directory (round robin over the
    sorted top-level names), plus a last layer that deletes and replaces files."""
    src = tarfile.open(path)
    members = src.getmembers()

    def top(m):
        p = m.name[2:] if m.name.startswith("./") else m.name
        return p.split("/", 1)[0]
    tops = sorted({top(m) for m in members if top(m) not in ("", ".")})
    assign = {t: i % n for i, t in enumerate(tops)}
    outs = [io.BytesIO() for _ in range(n)]
    tfs = [tarfile.open(fileobj=o, mode="w", format=tarfile.PAX_FORMAT) for o in outs]
    for m in members:
        t = top(m)
        i = 0 if t in ("", ".") else assign[t]
        if m.islnk():   # hardlinks go with their target's layer or later
            i = max(i, assign.get(top(tarfile.TarInfo(m.linkname)), 0))
        tfs[i].addfile(m, src.extractfile(m) if m.isreg() else None)
    for t in tfs:
        t.close()
    layers = [o.getvalue() for o in outs]
    # the last layer: delete a file, a directory and a symlink, replace a file and a dir
    b, w = layer()
    names = {m.name for m in members}
    gone = [p for p in ("./etc/motd", "./usr/share/doc", "./etc/os-release", "./usr/share/man")
            if p in names]
    for p in gone:
        d, base = os.path.split(p)
        w.add(d + "/.wh." + base, mtime_ns=T0)
    w.add("./etc/hostname", data=b"replaced-by-upper-layer\n", mtime_ns=T0)
    w.add("./usr/share/man/", DIR, mtime_ns=T0)
    w.add("./usr/share/man/README", data=b"man pages removed\n", mtime_ns=T0)
    w.add("./var/log/", DIR, mode=0o755, mtime_ns=T0)
    w.add("./var/log/.wh..wh..opq", mtime_ns=T0)
    w.add("./var/log/fresh.log", data=b"log\n", mtime_ns=T0)
    layers.append(done(b, w))
    return layers


def main(argv):
    if len(argv) >= 2 and argv[1] == "list":
        print("\n".join(list(GOOD) + list(BAD)))
        return 0
    if len(argv) >= 3 and argv[1] == "platforms":
        # one index, three platforms, each with a file naming it
        plats = []
        for o, a in (("linux", "arm64"), ("linux", "amd64"), ("linux", "riscv64")):
            b, w = layer()
            w.add("./", DIR, mtime_ns=T0)
            w.add("platform", data=("%s/%s\n" % (o, a)).encode(), mtime_ns=T0)
            plats.append((o, a, [(done(b, w), "gzip", None)]))
        Layout(argv[2]).image(None, platforms=plats)
        return 0
    if len(argv) >= 4 and argv[1] == "fromtar":
        src, out = argv[2], argv[3]
        split = int(argv[argv.index("--split") + 1]) if "--split" in argv else 1
        how = argv[argv.index("--compress") + 1] if "--compress" in argv else "gzip"
        if split <= 1:
            with open(src, "rb") as f:
                raws = [f.read()]
        else:
            raws = split_tar(src, split)
        cycle = ["tar", "gzip", "zstd"]
        Layout(out).image([(r, cycle[i % 3] if how == "mixed" else how, None)
                           for i, r in enumerate(raws)])
        return 0
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    name, out = argv[1], argv[2]
    how = argv[argv.index("--compress") + 1] if "--compress" in argv else "mixed"
    cycle = ["tar", "gzip", "zstd"]

    def pick(i):
        return cycle[i % 3] if how == "mixed" else how
    if name in GOOD:
        raws = GOOD[name]()
        Layout(out).image([(r, pick(i), None) for i, r in enumerate(raws)])
    elif name in BAD:
        raws, override, _ = BAD[name]()
        specs = [(r, pick(i) if how != "mixed" else "tar", None) for i, r in enumerate(raws)]
        if override:
            specs[-1] = (raws[-1], override[0], override[1])
        Layout(out).image(specs)
    else:
        print("unknown fixture " + name, file=sys.stderr)
        return 2
    return 0


def bad_entry(name):
    """The entry an error about fixture NAME must mention (a grep -E pattern)."""
    return BAD[name]()[2]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "bad-entry":
        print(bad_entry(sys.argv[2]))
        sys.exit(0)
    sys.exit(main(sys.argv))
