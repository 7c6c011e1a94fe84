#!/usr/bin/env python3
"""tools/compare/test_compare.py - host tests of make compare's tools
(make host-tests runs them): the cpio writer read back by a reader written
from the format's description, the sparse ext2 image rebuilt block for block,
the console-log parser and the check-by-check comparison, module
dependencies from a .modinfo section; the benchmark figures (stats.py):
median and spread, the ratio's direction for each unit, the WORSE flag, the
table, build/compare.json and build/compare.svg of two fake logs."""
import argparse
import io
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import cpio  # noqa: E402
import linux  # noqa: E402
import stats  # noqa: E402
import svg  # noqa: E402


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


class StatsTest(unittest.TestCase):
    def test_median_spread(self):
        a = stats.aggregate([5.0, 1.0, 4.0, 2.0, 3.0])
        self.assertEqual((a["n"], a["median"], a["min"], a["max"]),
                         (5, 3.0, 1.0, 5.0))
        self.assertAlmostEqual(a["spread_pct"], 100 * (5 - 1) / 2 / 3)
        self.assertEqual(a["values"], [5.0, 1.0, 4.0, 2.0, 3.0])  # as run
        self.assertEqual(stats.aggregate([4.0, 1.0, 2.0, 3.0])["median"], 2.5)
        self.assertEqual(stats.aggregate([7.0])["spread_pct"], 0.0)
        self.assertEqual(stats.aggregate([0.0, 0.0])["spread_pct"], 0.0)
        self.assertIsNone(stats.aggregate([0.0, 0.0, 1.0])["spread_pct"])
        self.assertIsNone(stats.aggregate([]))

    def test_ratio_direction(self):
        # this kernel twice as good in every case: the ratio is 2
        self.assertEqual(stats.ratio("cycles", 100.0, 200.0), 2.0)
        self.assertEqual(stats.ratio("ipis", 1.0, 2.0), 2.0)
        self.assertEqual(stats.ratio("ops/s", 2e6, 1e6), 2.0)
        self.assertEqual(stats.ratio("MB/s", 300.0, 150.0), 2.0)
        # and twice as bad: 0.5
        self.assertEqual(stats.ratio("cycles", 200.0, 100.0), 0.5)
        self.assertEqual(stats.ratio("ops/s", 1e6, 2e6), 0.5)
        self.assertEqual(stats.ratio("ipis", 0.0, 1.0), math.inf)
        self.assertEqual(stats.ratio("ipis", 0.0, 0.0), 1.0)
        self.assertEqual(stats.ratio("MB/s", 5.0, 0.0), math.inf)
        self.assertEqual(stats.ratio("cycles/call", 100.0, 200.0), 2.0)
        self.assertIsNone(stats.ratio("ns", 1.0, 2.0))
        self.assertIsNone(stats.ratio("cycles", None, 2.0))

    def test_flag(self):
        self.assertFalse(stats.worse(1.0))
        self.assertFalse(stats.worse(0.8))  # exactly 1.25x worse: not more
        self.assertTrue(stats.worse(0.79))
        self.assertTrue(stats.worse(0.0))
        self.assertFalse(stats.worse(None))
        self.assertFalse(stats.worse(math.inf))
        # 1.3x the cycles of Linux, 1.2x less throughput
        self.assertTrue(stats.worse(stats.ratio("cycles", 130.0, 100.0)))
        self.assertFalse(stats.worse(stats.ratio("ops/s", 100.0, 120.0)))

    def test_num(self):
        self.assertEqual([stats.num(x) for x in (
            0.0123, 1.5, 12.25, 456.0, 9096.0, 52000.0, 999999.0, 7.3e6,
            1.234e12)], ["0.0123", "1.50", "12.2", "456", "9096", "52.0k",
                         "1.00M", "7.30M", "1.23T"])

    def test_figures(self):
        run = {"bench": [
            {"figure": "f", "value": "10", "unit": "cycles"},
            {"figure": "f", "value": "12.5", "unit": "cycles (median of 7)"},
            {"figure": "g", "value": "mmap", "unit": "failed (ENOMEM)"},
            {"figure": "f", "value": "11", "unit": "ops/s"}],
            "lines": ["# tsc_hz 2400000000", "bench: f: 10 cycles"]}
        f = stats.figures(run)
        self.assertEqual(list(f), ["f", "g"])
        self.assertEqual(f["f"]["values"], [10.0, 12.5])
        self.assertEqual(f["f"]["bad"], ["11 ops/s"])
        self.assertEqual(f["g"]["values"], [])
        self.assertEqual(stats.tsc_hz(run), 2.4e9)
        self.assertIsNone(stats.tsc_hz({"lines": []}))


def fake_log(kernel, chosen, figs):
    """A console log of compare_init running CHOSEN; figs: {program:
    [(figure, unit, [values])]}."""
    out = ["compare: kernel %s" % kernel]
    for i, (name, argv) in enumerate(chosen, 1):
        out.append("compare: run %d/%d %s" % (i, len(chosen), " ".join(argv)))
        out.append("# tsc_hz 2400000000")
        if name == "hello":
            out.append("ok 1 hello")
        for fig, unit, values in figs.get(name, []):
            for v in values:
                out.append("[    1.000000] bench: %s: %s %s" % (fig, v, unit)
                           if "Linux" in kernel else
                           "bench: %s: %s %s" % (fig, v, unit))
        out.append("compare: exit %d 0 %d" % (i, 100 * i))
    out.append("compare: done %d" % len(chosen))
    return "\n".join(out) + "\n"


class BenchReportTest(unittest.TestCase):
    CHOSEN = [("hello", ["/bin/hello"]),
              ("faults", ["/bin/bench/faults", "4"]),
              ("calls", ["/bin/bench/calls"])]
    THIS = {"faults": [("anon_4t", "ops/s", [100, 90, 110, 95, 105]),
                       ("shoot_ipis", "ipis", [0, 0, 0])],
            "calls": [("getpid", "cycles", [300, 310, 290, 305, 295]),
                      ("pipe", "MB/s", [1000, 1000, 1000]),
                      ("odd", "ns", [5])]}
    LINUX = {"faults": [("anon_4t", "ops/s", [200, 210, 190, 205, 195]),
                        ("shoot_ipis", "ipis", [1, 1, 1])],
             "calls": [("getpid", "cycles", [600, 600, 600, 600, 600]),
                       ("pipe", "MB/s", [1100, 1100, 1100]),
                       ("odd", "ns", [6]),
                       ("linux_only", "cycles", [1])]}

    def setUp(self):
        self.d = tempfile.mkdtemp()
        os.makedirs(os.path.join(self.d, "compare"))
        self.logs = {}
        for k, kern, figs in (("this", "this kernel", self.THIS),
                              ("linux", "Linux 6.1.0-1-amd64", self.LINUX)):
            p = os.path.join(self.d, "compare", k + ".log")
            with open(p, "w") as f:
                f.write(fake_log(kern, self.CHOSEN, figs))
            self.logs[k] = compare.parse_log(p)

    def tearDown(self):
        shutil.rmtree(self.d)

    def test_report(self):
        args = argparse.Namespace(
            build=self.d, outdir=os.path.join(self.d, "compare"), smp=4,
            mem="512M", cpu="max", rd_size=64, limit=300, tests="")
        text = []
        status = compare.summarize(args, self.CHOSEN, self.logs,
                                   {"release": "6.1.0-1-amd64"}, {}, {},
                                   ["this", "linux"], 1.0, out=text.append)
        self.assertEqual(status, 0)
        out = "\n".join(text)
        self.assertNotIn("not done yet", out)
        i = out.index("Functional comparison")
        j = out.index("ratio > 1: this kernel is better")
        self.assertLess(i, j)  # the benchmark table after the functional one
        rows = {l.split()[0]: l for l in out[j:].splitlines()
                if l.startswith("  ")}
        self.assertRegex(rows["anon_4t"], r"ops/s +100 ±10% +200 ±5.0% +"
                         r"0\.50  WORSE")
        self.assertRegex(rows["getpid"], r"cycles +300 ±3.3% +600 ±0.0% +"
                         r"2\.00$")
        self.assertRegex(rows["pipe"], r"0\.91$")  # 1.1x worse: no flag
        self.assertRegex(rows["shoot_ipis"], r" inf$")
        self.assertRegex(rows["odd"], r" -  \(unit 'ns': no ratio\)")
        self.assertRegex(rows["linux_only"], r"only on Linux")
        self.assertIn("6 figures, 4 with a ratio, 1 flagged WORSE", out)
        for l in text:  # the tables fit in 100 columns
            if not l.startswith("compare: "):
                self.assertLessEqual(len(l), 100, l)

        with open(os.path.join(self.d, "compare.json")) as f:
            doc = json.load(f)
        self.assertIn("programs", doc)  # the functional part is kept
        self.assertEqual(doc["programs"][0]["name"], "hello")
        self.assertEqual(doc["kernels"]["this"]["tsc_hz"], 2.4e9)
        b = {(r["program"], r["figure"]): r for r in doc["benchmarks"]}
        r = b[("faults", "anon_4t")]
        self.assertEqual(r["this"]["values"], [100, 90, 110, 95, 105])
        self.assertEqual(r["linux"]["values"], [200, 210, 190, 205, 195])
        self.assertEqual((r["this"]["median"], r["linux"]["median"],
                          r["this"]["min"], r["this"]["max"]),
                         (100, 200, 90, 110))
        self.assertEqual((r["ratio"], r["worse"], r["direction"]),
                         (0.5, True, "rate"))
        self.assertEqual(b[("faults", "shoot_ipis")]["ratio"], "inf")
        self.assertEqual(b[("calls", "getpid")]["direction"], "cost")
        self.assertIsNone(b[("calls", "linux_only")]["this"])
        self.assertEqual(len(doc["programs"][1]["linux"]["bench"]), 8)

        tree = ET.parse(os.path.join(self.d, "compare.svg"))
        root = tree.getroot()
        self.assertEqual(root.tag, "{http://www.w3.org/2000/svg}svg")
        texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
        self.assertIn("-smp 4", texts[0])
        for want in ("faults", "calls", "anon_4t", "getpid", "0.50", "2.00",
                     "inf", "n/a"):
            self.assertIn(want, texts)
        bars = [e for e in root.iter("{http://www.w3.org/2000/svg}rect")
                if e.find("{http://www.w3.org/2000/svg}title") is not None]
        self.assertEqual(len(bars), 4)  # the figures with a ratio

        # --chart: two runs on one chart, two series
        p2 = os.path.join(self.d, "b.json")
        doc["config"]["smp"] = 1
        with open(p2, "w") as f:
            json.dump(doc, f)
        outp = os.path.join(self.d, "m.svg")
        saved, sys.stdout = sys.stdout, io.StringIO()
        try:
            compare.merge_charts(outp, [os.path.join(self.d, "compare.json"),
                                        p2])
        finally:
            sys.stdout = saved
        root = ET.parse(outp).getroot()
        bars = [e for e in root.iter("{http://www.w3.org/2000/svg}rect")
                if e.find("{http://www.w3.org/2000/svg}title") is not None]
        self.assertEqual(len(bars), 8)
        self.assertIn("-smp 4, 1", root.find(
            "{http://www.w3.org/2000/svg}text").text)

    def test_no_bench(self):
        args = argparse.Namespace(
            build=self.d, outdir=os.path.join(self.d, "compare"), smp=2,
            mem="512M", cpu="max", rd_size=64, limit=300, tests="")
        text = []
        chosen = self.CHOSEN[:1]
        compare.summarize(args, chosen, self.logs, None, {}, {},
                          ["this", "linux"], 1.0, out=text.append)
        self.assertIn("Benchmarks: no figures", "\n".join(text))
        ET.parse(os.path.join(self.d, "compare.svg"))

    def test_progress(self):
        seen = []
        p = compare.Progress("Linux, boot 2/2", out=seen.append)
        for line in fake_log("Linux", self.CHOSEN, self.LINUX).splitlines():
            p.feed(line)
        self.assertEqual(seen[0], "compare: [Linux, boot 2/2] 1/3 /bin/hello"
                         " (2 left after it)")
        self.assertEqual(seen[3], "compare: [Linux, boot 2/2] 2/3 exit 0, "
                         "0.2 s, 8 figure lines")
        self.assertEqual(len(seen), 6)

    def test_svg_escapes(self):
        rows = [{"program": "a<b>&c", "figure": "f\"1", "ratio": 0.01},
                {"program": "a<b>&c", "figure": "g", "ratio": 100.0}]
        root = ET.fromstring(svg.chart([("x", rows)], "t & <u>").encode())
        self.assertEqual(root.find("{http://www.w3.org/2000/svg}text").text,
                         "t & <u>")
        self.assertEqual(len(root.findall(
            "{http://www.w3.org/2000/svg}polygon")), 2)  # both clipped


class ModinfoTest(unittest.TestCase):
    def test_depends(self):
        self.assertEqual(linux._depends(b"\0license=GPL\0depends=jbd2,"
                                        b"mbcache,crc16\0name=ext4\0"),
                         ["jbd2", "mbcache", "crc16"])
        self.assertEqual(linux._depends(b"\0depends=\0name=brd\0"), [])


if __name__ == "__main__":
    unittest.main()
