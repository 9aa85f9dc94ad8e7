"""A small tar writer for test fixtures (ustar, PAX, GNU long names, GNU sparse).

Written for the ext4 tests: unlike Python's tarfile it can write exactly the odd
shapes layers have in the wild (binary xattrs, old GNU and PAX 1.0 sparse files,
huge uids, nanosecond and negative mtimes, missing end-of-archive blocks) and
deliberately broken headers for the bad-input tests.
"""
from decimal import Decimal
import os

BLOCK = 512

REG, HARD, SYM, CHR, BLK, DIR, FIFO = b"0", b"1", b"2", b"3", b"4", b"5", b"6"


def _pad(n):
    return (-n) % BLOCK


def _octal(value, width, gnu):
    """Numeric header field; base-256 when octal does not fit and gnu is set."""
    if 0 <= value < 8 ** (width - 1):
        return ("%0*o" % (width - 1, value)).encode() + b"\0"
    if not gnu:
        return None
    if value < 0:
        value += 256 ** width  # two's complement, lead byte 0xff
        return value.to_bytes(width, "big")
    return bytes([0x80]) + value.to_bytes(width - 1, "big")


def _record(key, value):
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    if isinstance(key, str):
        key = key.encode()
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n).encode()) + len(body) != n:
        n = len(str(n).encode()) + len(body)
    return str(n).encode() + body


def ns_str(ns):
    """Decimal seconds for a PAX time record from integer nanoseconds (exact)."""
    d = Decimal(ns) / Decimal(10 ** 9)
    s = format(d.normalize(), "f")
    return s


class Writer:
    def __init__(self, f, fmt="pax"):
        assert fmt in ("pax", "gnu", "ustar")
        self.f = f
        self.fmt = fmt
        self.written = 0

    def _w(self, b):
        self.f.write(b)
        self.written += len(b)

    def _header(self, name, typ, mode=0o644, uid=0, gid=0, size=0, mtime=0, linkname=b"",
                devmajor=0, devminor=0, gnu_sparse=None, realsize=0, corrupt=False):
        h = bytearray(BLOCK)
        gnu = self.fmt == "gnu"
        h[0:min(len(name), 100)] = name[:100]
        for off, width, val in ((100, 8, mode), (108, 8, uid), (116, 8, gid), (124, 12, size),
                                (136, 12, mtime), (329, 8, devmajor), (337, 8, devminor)):
            enc = _octal(val, width, gnu)
            if enc is None:
                enc = _octal(0, width, False)  # real value travels in a PAX record
            h[off:off + width] = enc
        h[156:157] = typ
        h[157:157 + len(linkname[:100])] = linkname[:100]
        if gnu:
            h[257:265] = b"ustar  \0"
        else:
            h[257:263] = b"ustar\0"
            h[263:265] = b"00"
        h[265:269] = b"root"
        h[297:301] = b"root"
        if gnu_sparse is not None:
            first, extended = gnu_sparse
            for i, (o, n) in enumerate(first):
                base = 386 + i * 24
                h[base:base + 12] = _octal(o, 12, True)
                h[base + 12:base + 24] = _octal(n, 12, True)
            h[482] = 1 if extended else 0
            h[483:495] = _octal(realsize, 12, True)
        h[148:156] = b"        "
        csum = sum(h)
        if corrupt:
            csum += 1
        h[148:156] = ("%06o" % csum).encode() + b"\0 "
        self._w(bytes(h))

    def _pax(self, records, name, typ=b"x"):
        data = b"".join(_record(k, v) for k, v in records)
        self._header((b"PaxHeaders/" + os.path.basename(name))[:100], typ, size=len(data))
        self._w(data + b"\0" * _pad(len(data)))

    def _gnu_long(self, typ, value):
        data = value + b"\0"
        self._header(b"././@LongLink", typ, size=len(data))
        self._w(data + b"\0" * _pad(len(data)))

    def add(self, name, typ=REG, data=b"", mode=None, uid=0, gid=0, mtime_ns=0, linkname=b"",
            devmajor=0, devminor=0, xattrs=None, corrupt=False, size=None, pax_extra=None):
        """Add one entry. name/linkname: bytes or str. data: bytes (regular files)."""
        if isinstance(name, str):
            name = name.encode("utf-8", "surrogateescape")
        if isinstance(linkname, str):
            linkname = linkname.encode("utf-8", "surrogateescape")
        if mode is None:
            mode = 0o755 if typ == DIR else 0o644
        if size is None:
            size = len(data) if typ == REG else 0
        sec = mtime_ns // 10 ** 9
        records = []
        gnu = self.fmt == "gnu"
        if self.fmt == "pax":
            if len(name) > 100 or not name.isascii():
                records.append(("path", name))
            if len(linkname) > 100 or not linkname.isascii():
                records.append(("linkpath", linkname))
            if mtime_ns % 10 ** 9 or sec < 0 or sec >= 8 ** 11:
                records.append(("mtime", ns_str(mtime_ns)))
            if uid >= 8 ** 7:
                records.append(("uid", str(uid)))
            if gid >= 8 ** 7:
                records.append(("gid", str(gid)))
            if size >= 8 ** 11:
                records.append(("size", str(size)))
            for k, v in sorted((xattrs or {}).items()):
                records.append(("SCHILY.xattr." + k, v))
        elif gnu:
            if len(linkname) > 100:
                self._gnu_long(b"K", linkname)
            if len(name) > 100:
                self._gnu_long(b"L", name)
            assert not xattrs, "xattrs need the pax format"
        else:
            assert len(name) <= 100 and len(linkname) <= 100 and not xattrs
        records += list(pax_extra or [])
        if records:
            self._pax(records, name)
        hdr_mtime = sec if (gnu or 0 <= sec < 8 ** 11) else 0
        self._header(name, typ, mode, uid, gid, size, hdr_mtime, linkname, devmajor, devminor,
                     corrupt=corrupt)
        if typ == REG:
            self._w(data)
            self._w(b"\0" * _pad(len(data)))

    def add_sparse(self, name, realsize, chunks, mode=0o644, mtime_ns=0, style="pax1"):
        """A sparse regular file: chunks is a list of (offset, bytes) in increasing order.
        style: "pax1" (PAX GNU.sparse 1.0, what GNU tar --format=posix writes) or
        "oldgnu" (type 'S' with extension headers)."""
        if isinstance(name, str):
            name = name.encode()
        chunks = list(chunks)
        # GNU tar pads each stored region to 512 bytes, libarchive and Go read them back to
        # back: only the last region may have a length that is not a multiple of 512
        assert all(len(c) % BLOCK == 0 for _, c in chunks[:-1]), "ambiguous sparse layout"
        if not chunks or chunks[-1][0] + len(chunks[-1][1]) < realsize:
            chunks.append((realsize, b""))   # a trailing hole: GNU tar's (size, 0) terminator
        data = b"".join(c for _, c in chunks)
        sec = mtime_ns // 10 ** 9
        if style == "pax1":
            mp = ("%d\n" % len(chunks)).encode()
            for o, c in chunks:
                mp += ("%d\n%d\n" % (o, len(c))).encode()
            mp += b"\0" * _pad(len(mp))
            records = [("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"),
                       ("GNU.sparse.name", name), ("GNU.sparse.realsize", str(realsize))]
            if mtime_ns % 10 ** 9:
                records.append(("mtime", ns_str(mtime_ns)))
            self._pax(records, name)
            hname = b"GNUSparseFile.0/" + os.path.basename(name)
            total = len(mp) + len(data)
            self._header(hname[:100], REG, mode, 0, 0, total, sec)
            self._w(mp)
        else:
            assert self.fmt == "gnu"
            if len(name) > 100:
                self._gnu_long(b"L", name)
            m = [(o, len(c)) for o, c in chunks]
            first, rest = m[:4], m[4:]
            self._header(name, b"S", mode, 0, 0, len(data), sec, gnu_sparse=(first, bool(rest)),
                         realsize=realsize)
            while rest:
                ext = bytearray(BLOCK)
                part, rest = rest[:21], rest[21:]
                for i, (o, n) in enumerate(part):
                    ext[i * 24:i * 24 + 12] = _octal(o, 12, True)
                    ext[i * 24 + 12:i * 24 + 24] = _octal(n, 12, True)
                ext[504] = 1 if rest else 0
                self._w(bytes(ext))
        self._w(data)
        self._w(b"\0" * _pad(len(data)))

    def raw(self, b):
        self._w(b)

    def close(self, eoa=True):
        if eoa:
            self._w(b"\0" * (2 * BLOCK))
