#!/usr/bin/env python3
"""tools/compare/cpio.py - a gzip'd newc cpio archive, the format of a
Linux initramfs (Documentation/driver-api/early-userspace/buffer-format.rst),
written without the cpio tool.

Each member: the header "070701" and 13 fields of 8 hex digits (ino, mode,
uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
namesize with its NUL, check = 0), the name and its NUL padded to a multiple
of 4 bytes, the data padded likewise; the archive ends with the member
"TRAILER!!!". Directories must come before their contents (the kernel's
unpacker creates each name as it comes). Names have no leading "/".

    w = Writer()
    w.dir("dev"); w.chardev("dev/console", 5, 1, 0o600)
    w.file("init", open("compare_init", "rb").read(), 0o755)
    open("initramfs.cpio.gz", "wb").write(w.gzip())

As a script: cpio.py OUT.cpio.gz DEST=HOSTPATH... (files; parent
directories are made as needed), for trying it by hand.
"""
import gzip
import stat
import sys


class Writer:
    def __init__(self, mtime=0):
        self.parts = []
        self.ino = 721
        self.mtime = mtime
        self.dirs = set()

    def _member(self, name, mode, data=b"", nlink=1, rdev=(0, 0)):
        name = name.strip("/")
        assert name, "empty name"
        nameb = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, nlink, self.mtime, len(data),
                  0, 0, rdev[0], rdev[1], len(nameb), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.parts.append(hdr + nameb)
        self.parts.append(b"\0" * (-(len(hdr) + len(nameb)) % 4))
        self.parts.append(data)
        self.parts.append(b"\0" * (-len(data) % 4))

    def _parents(self, name):
        bits = name.strip("/").split("/")[:-1]
        for i in range(1, len(bits) + 1):
            self.dir("/".join(bits[:i]))

    def dir(self, name, perm=0o755):
        name = name.strip("/")
        if name in self.dirs:
            return
        self._parents(name)
        self.dirs.add(name)
        self._member(name, stat.S_IFDIR | perm, nlink=2)

    def file(self, name, data, perm=0o644):
        self._parents(name)
        self._member(name, stat.S_IFREG | perm, data)

    def chardev(self, name, major, minor, perm=0o600):
        self._parents(name)
        self._member(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def raw(self):
        trailer = Writer()
        trailer.ino = 0
        trailer._member("TRAILER!!!", 0)
        return b"".join(self.parts + trailer.parts)

    def gzip(self):
        return gzip.compress(self.raw(), compresslevel=6, mtime=0)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    w = Writer()
    for spec in argv[2:]:
        dest, _, src = spec.partition("=")
        with open(src, "rb") as f:
            w.file(dest, f.read(), 0o755)
    with open(argv[1], "wb") as f:
        f.write(w.gzip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
