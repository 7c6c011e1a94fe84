#!/usr/bin/env python3
"""tools/compare/test_compare.py - host tests of make compare's tools
(make host-tests runs them): the cpio writer read back by a reader written
from the format's description, the sparse ext2 image rebuilt block for block,
the console-log parser and the check-by-check comparison, module
dependencies from a .modinfo section."""
import os
import shutil
import struct
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import cpio  # noqa: E402
import linux  # noqa: E402


def read_newc(data):
    """[(name, mode, rdev, body)] of a newc archive, checking alignment."""
    out, off = [], 0
    while True:
        assert off % 4 == 0, off
        assert data[off:off + 6] == b"070701", data[off:off + 6]
        f = [int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16)
             for i in range(13)]
        namesize, filesize = f[11], f[6]
        name = data[off + 110:off + 110 + namesize - 1].decode()
        assert data[off + 110 + namesize - 1] == 0
        off += 110 + namesize
        off += -off % 4
        body = data[off:off + filesize]
        off += filesize
        off += -off % 4
        if name == "TRAILER!!!":
            assert off == len(data)
            return out
        out.append((name, f[1], (f[9], f[10]), body))


class CpioTest(unittest.TestCase):
    def test_round_trip(self):
        w = cpio.Writer()
        w.chardev("dev/console", 5, 1)
        for n in range(1, 9):  # every alignment of name and data
            w.file("bin/p%s" % ("x" * n), b"y" * n, 0o755)
        got = read_newc(w.raw())
        self.assertEqual(got[0][0], "dev")
        self.assertEqual(got[0][1], 0o40755)
        self.assertEqual(got[1][:3], ("dev/console", 0o20600, (5, 1)))
        self.assertEqual(got[2][0], "bin")
        for n in range(1, 9):
            name, mode, _, body = got[2 + n]
            self.assertEqual((name, mode, body),
                             ("bin/p" + "x" * n, 0o100755, b"y" * n))

    def test_gzip(self):
        import gzip
        w = cpio.Writer()
        w.file("init", b"\x7fELF", 0o755)
        self.assertEqual(read_newc(gzip.decompress(w.gzip()))[0][0], "init")


class SparseTest(unittest.TestCase):
    @unittest.skipUnless(shutil.which("mke2fs") or
                         os.path.exists("/usr/sbin/mke2fs"), "no mke2fs")
    def test_rebuild(self):
        d = tempfile.mkdtemp()
        try:
            sparse = compare.ext2_sparse(d, 8)
            img = bytearray(8 << 20)
            off = 0
            while off < len(sparse):
                where, n = struct.unpack_from("<QI", sparse, off)
                img[where:where + n] = sparse[off + 12:off + 12 + n]
                off += 12 + n
            self.assertEqual(off, len(sparse))
            self.assertEqual(img[1024 + 56:1024 + 58], b"\x53\xef")  # magic
            self.assertLess(len(sparse), len(img) // 4)
        finally:
            shutil.rmtree(d)


LOG_THIS = """\
init: starting /bin/compare_init with 4 arguments
compare: kernel Linux 6.1.0
compare: root as the kernel booted it
compare: run 1/3 /bin/a
KTAP version 1
ok 1 same
ok 2 differs
ok 3 # SKIP not here
compare: exit 1 0 12
compare: run 2/3 /bin/b x
compare: exit 2 139 3
compare: run 3/3 /bin/c
ok 1 twice
compare: exit 3 0 1
compare: done 3
"""
LOG_LINUX = """\
compare: kernel Linux 6.1.0-57-amd64
compare: fact la57 no
compare: run 1/3 /bin/a
ok 1 same
\x1b[0mnot ok 2 differs\r
[   12.345678] ok 3 # SKIP not here
compare: exit 1 1 12
compare: run 2/3 /bin/b x
compare: exit 2 139 3
compare: run 3/3 /bin/c
ok 1 twice
ok 1 twice
compare: exit 3 0 1
"""


class ParseTest(unittest.TestCase):
    def parse(self, text):
        fd, path = tempfile.mkstemp()
        os.write(fd, text.encode())
        os.close(fd)
        try:
            return compare.parse_log(path)
        finally:
            os.unlink(path)

    def test_compare(self):
        a, b = self.parse(LOG_THIS), self.parse(LOG_LINUX)
        self.assertTrue(a["done"])
        self.assertFalse(b["done"])
        self.assertEqual(b["facts"], {"la57": "no"})
        self.assertEqual([c["status"] for c in a["runs"][1]["checks"]],
                         ["pass", "pass", "skip"])
        agree, d = compare.compare_run(a["runs"][1], b["runs"][1])
        self.assertFalse(agree)
        self.assertIn("exit status: this kernel 0, Linux 1", d)
        self.assertTrue(any(x.startswith("differs: this kernel pass, "
                                         "Linux fail") for x in d))
        self.assertFalse(any(x.startswith("same") for x in d))
        self.assertEqual(compare.compare_run(a["runs"][2], b["runs"][2]),
                         (True, []))
        agree, d = compare.compare_run(a["runs"][3], b["runs"][3])
        self.assertFalse(agree)  # a check printed twice: a stray process
        self.assertTrue(d[0].startswith("twice (#2): this kernel absent"))
        self.assertEqual(compare.cell(a["runs"][1]),
                         "exit 0, 2/3 ok (1 skip)")

    def test_select(self):
        chosen, unknown = compare.select("fault-d*,hello,nosuch")
        self.assertEqual([n for n, _ in chosen],
                         ["hello", "fault-de", "fault-db"])
        self.assertEqual(unknown, ["nosuch"])


class ModinfoTest(unittest.TestCase):
    def test_depends(self):
        self.assertEqual(linux._depends(b"\0license=GPL\0depends=jbd2,"
                                        b"mbcache,crc16\0name=ext4\0"),
                         ["jbd2", "mbcache", "crc16"])
        self.assertEqual(linux._depends(b"\0depends=\0name=brd\0"), [])


if __name__ == "__main__":
    unittest.main()
