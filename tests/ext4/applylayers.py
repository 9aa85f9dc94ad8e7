#!/usr/bin/env python3
"""The expectation for the ext4 unpacker, computed independently of it.

  applylayers.py LAYOUT DEST [--tag latest] [--implicit FILE]

Applies the layers of the image LAYOUT:tag (an OCI image layout directory) in order
into DEST, an empty directory (use a tmpfs). GNU tar extracts the content (numeric
owners, permissions, xattrs including POSIX ACLs and capabilities, sparse files); this
script applies the OCI rules around it (GNU tar's --acls is for the SCHILY.acl text
form; OCI layers carry ACLs as SCHILY.xattr.system.posix_acl_*, which --xattrs applies), before each layer is extracted and only
against what the lower layers left:
  - `D/.wh.NAME` deletes D/NAME, `D/.wh..wh..opq` deletes D's children;
  - an entry that is not a directory replaces whatever was at its path, and a
    directory replaces a non-directory (a directory over a directory keeps the
    children, takes the new metadata);
  - a parent with no entry of its own is created 0755 root:root; its mtime is
    not defined, so its path is written to FILE (--implicit) for treesum.py;
  - a directory's mtime is the one of the last entry describing it (GNU tar would
    leave "now" on a lower directory that a later layer adds to).
Whiteout entries themselves never appear, nor aufs metadata: any entry with a path
component starting with `.wh..wh.` (other than the opaque marker), e.g. `.wh..wh.plnk/N`. Entries are listed with Python's tarfile,
extracted with GNU tar: two readers that must agree (an entry one of them does not
see makes the tree compare fail).
"""
import json
from decimal import Decimal, ROUND_FLOOR
import os
import shutil
import stat
import subprocess
import sys
import tarfile

WH = ".wh."
OPQ = ".wh..wh..opq"
AUFS = ".wh..wh."


def norm(name):
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts)


def layers_of(layout, tag):
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            break
    else:
        raise SystemExit("no image tagged %s in %s" % (tag, layout))

    def blob(d):
        return os.path.join(layout, "blobs", d.split(":")[0], d.split(":")[1])
    with open(blob(m["digest"])) as f:
        manifest = json.load(f)
    return [(blob(l["digest"]), l["mediaType"]) for l in manifest["layers"]]


def open_stream(path, media):
    """A decompressing reader process for the layer (gzip -dc / zstd -dc / cat)."""
    if media.endswith("+gzip") or media.endswith(".gzip"):
        cmd = ["gzip", "-dc", path]
    elif media.endswith("+zstd"):
        cmd = ["zstd", "-dcq", path]
    else:
        cmd = ["cat", path]
    return cmd


def list_entries(path, media):
    p = subprocess.Popen(open_stream(path, media), stdout=subprocess.PIPE)
    out = []
    with tarfile.open(fileobj=p.stdout, mode="r|", encoding="utf-8", errors="surrogateescape") as t:
        for m in t:
            name = m.name
            if m.type == tarfile.GNUTYPE_SPARSE or "GNU.sparse.name" in m.pax_headers:
                name = m.pax_headers.get("GNU.sparse.name", m.name)
            if "mtime" in m.pax_headers:
                ns = int((Decimal(m.pax_headers["mtime"]) * 10 ** 9).to_integral_value(ROUND_FLOOR))
            else:
                ns = int(m.mtime) * 10 ** 9
            name = norm(name)
            if any(c.startswith(AUFS) for c in name.split("/")) and os.path.basename(name) != OPQ:
                continue     # aufs metadata (.wh..wh.plnk/... and the like) is not content
            out.append((name, m.isdir(), ns))
    if p.wait() != 0:
        raise SystemExit("decompressing %s failed" % path)
    return out


def lexists(p):
    return os.path.lexists(p)


def remove(p):
    st = os.lstat(p)
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(p)
    else:
        os.unlink(p)


def main(argv):
    layout, dest = argv[1], argv[2]
    tag = argv[argv.index("--tag") + 1] if "--tag" in argv else "latest"
    implicit_out = argv[argv.index("--implicit") + 1] if "--implicit" in argv else None
    dest = os.path.abspath(dest)
    if os.listdir(dest):
        raise SystemExit(dest + " is not empty")
    implicit = {""}          # the root until a layer describes it
    os.chmod(dest, 0o755)
    os.chown(dest, 0, 0)
    for blob_path, media in layers_of(layout, tag):
        entries = list_entries(blob_path, media)
        described = {n for n, _, _ in entries if not os.path.basename(n).startswith(WH)}
        # directory mtimes the whiteouts and the extraction will disturb: every ancestor
        # of an entry that this layer does not describe itself
        keep = {}
        for name, _, _ in entries:
            d = name
            while d:
                d = os.path.dirname(d)
                full = os.path.join(dest, d) if d else dest
                if d not in described and d not in keep and os.path.isdir(full) \
                        and not os.path.islink(full):
                    keep[d] = os.lstat(full).st_mtime_ns
        # 1. whiteouts and replacements, against the lower layers only
        for name, isdir, _ in entries:
            d, base = os.path.split(name)
            if base == OPQ:
                full = os.path.join(dest, d)
                if os.path.isdir(full) and not os.path.islink(full):
                    for c in os.listdir(full):
                        remove(os.path.join(full, c))
            elif base.startswith(WH):
                target = os.path.join(dest, d, base[len(WH):])
                if lexists(target):
                    remove(target)
        seen = set()
        for name, isdir, _ in entries:
            if os.path.basename(name).startswith(WH) or not name or name in seen:
                continue
            seen.add(name)   # a later duplicate in the same layer is GNU tar's business
            full = os.path.join(dest, name)
            if lexists(full):
                st = os.lstat(full)
                if not (isdir and stat.S_ISDIR(st.st_mode)):
                    remove(full)
        # parents no entry describes: created like a container runtime does
        for name in sorted(described):
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                p = "/".join(parts[:i])
                if p in described:
                    continue
                full = os.path.join(dest, p)
                if not lexists(full):
                    os.makedirs(full)   # described ancestors get their metadata from tar
                    os.chmod(full, 0o755)
                    implicit.add(p)
        for p in described:
            implicit.discard(p)
        # 2. GNU tar extracts the layer
        dec = open_stream(blob_path, media)
        reader = subprocess.Popen(dec, stdout=subprocess.PIPE)
        r = subprocess.run(["tar", "-x", "-f", "-", "-C", dest, "--numeric-owner", "--same-owner",
                            "--same-permissions", "--xattrs", "--xattrs-include=*",
                            "--no-recursion", "--exclude=.wh.*", "--warning=no-timestamp",
                            "--warning=no-alone-zero-block"],
                           stdin=reader.stdout, stderr=subprocess.PIPE)
        reader.stdout.close()
        if reader.wait() != 0 or r.returncode != 0:
            raise SystemExit("GNU tar failed on %s: %s" % (blob_path, r.stderr.decode(errors="replace")))
        if r.stderr.strip():
            raise SystemExit("GNU tar complained on %s: %s" % (blob_path, r.stderr.decode(errors="replace")))
        # GNU tar sets a directory's times when it leaves it, and a later entry (a hardlink
        # back into it) can change them again: the last entry describing a directory wins
        last = {}
        for name, isdir, ns in entries:
            if isdir:
                last[name] = ns
            elif name in last:
                del last[name]
        keep.update(last)
        for d, ns in keep.items():
            full = os.path.join(dest, d) if d else dest
            if os.path.isdir(full):
                st = os.lstat(full)
                os.utime(full, ns=(st.st_atime_ns, ns), follow_symlinks=False)
    if implicit_out:
        with open(implicit_out, "wb") as f:
            for p in sorted(implicit):
                f.write(os.fsencode(p or ".") + b"\0")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
