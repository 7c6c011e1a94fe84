#!/usr/bin/env python3
"""Host tests for tests/runner.py and tools/mkesp.py (python3 -m unittest).

The parser is fed canned console logs; the QEMU plumbing (timeout, exit codes,
panic capture, log file) is driven end to end with a fake `qemu` script that
prints a canned log and then exits or hangs.
"""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import runner  # noqa: E402

PASS_LOG = """\
BdsDxe: loading Boot0001 "UEFI QEMU HARDDISK QM00001" from PciRoot(0x0)
loader: kernel.elf 1234567 bytes, entry 0xffffffff80100000
[    0.000] cpu0: hello
KTAP version 1
1..2
    KTAP version 1
    # Subtest: pmm
    1..2
    ok 1 alloc_free
[    0.120] cpu1: online
    ok 2 poison
ok 1 pmm
    KTAP version 1
    # Subtest: smp
    1..3
    ok 1 ipi
    ok 2 call_function
    ok 3 pcid # SKIP no PCID on this CPU
ok 2 smp
# ktest: 4 passed, 0 failed, 1 skipped
# ktest: done
"""

FAIL_LOG = """\
KTAP version 1
1..3
    KTAP version 1
    # Subtest: pmm
    1..2
    ok 1 alloc_free
    not ok 2 poison
    # poison: KEXPECT_EQ failed at tests/test_pmm.c:42: a == b (3 vs 4)
not ok 1 pmm
    KTAP version 1
    # Subtest: heap
    1..2
    # big: allocating 2 MiB
    ok 1 small
    # big: KEXPECT_NE failed at tests/test_heap.c:7: p != NULL
    not ok 2 big
not ok 2 heap
    KTAP version 1
    # Subtest: smp
    1..1
    ok 1 something # SKIP no PCID on this CPU
ok 3 smp
# ktest: 2 passed, 2 failed, 1 skipped
# ktest: done
"""

PANIC_LOG = """\
KTAP version 1
1..1
    KTAP version 1
    # Subtest: paging
    1..3
    ok 1 map_unmap
KERNEL PANIC on cpu 2: page fault at 0xdead (write, not present)
  RIP: 0xffffffff80101234 <zap_pte_range+0x44>
  RSP: 0xffffc00000003f00
backtrace:
  #0 zap_pte_range+0x44
  #1 unmap_vmas+0x88
"""


def lines(text):
    return text.splitlines()


def parse(text, run_error=None):
    out = []
    p = runner.KtapParser(emit=out.append)
    for line in lines(text):
        p.feed(line)
    p.finish(run_error)
    return p, out


def names(results, status=None):
    return [r.name for r in results if status is None or r.status == status]


class ParserTest(unittest.TestCase):
    def test_all_pass(self):
        p, out = parse(PASS_LOG)
        self.assertTrue(p.ok())
        self.assertEqual((p.passed, p.failed, p.skipped), (4, 0, 1))
        self.assertEqual(names(out), ["pmm.alloc_free", "pmm.poison",
                                      "smp.ipi", "smp.call_function",
                                      "smp.pcid"])
        self.assertEqual(out[-1].status, "skip")
        self.assertEqual(out[-1].reason, "no PCID on this CPU")
        self.assertEqual(p.kernel_summary, (4, 0, 1))
        self.assertEqual(p.notes, [])

    def test_failure_and_diagnostics(self):
        p, out = parse(FAIL_LOG)
        self.assertFalse(p.ok())
        self.assertEqual((p.passed, p.failed, p.skipped), (2, 2, 1))
        self.assertEqual(names(out, "fail"), ["pmm.poison", "heap.big"])
        poison = out[1]
        self.assertEqual(poison.diags, [
            "# poison: KEXPECT_EQ failed at tests/test_pmm.c:42: a == b "
            "(3 vs 4)"])
        big = [r for r in out if r.name == "heap.big"][0]
        self.assertEqual(len(big.diags), 2)  # both diagnostics before it
        self.assertEqual(format_lines(poison), [
            "FAIL pmm.poison",
            "    # poison: KEXPECT_EQ failed at tests/test_pmm.c:42: a == b "
            "(3 vs 4)"])
        self.assertEqual(p.errors, [])

    def test_unprefixed_diag_after_failure(self):
        p, out = parse("KTAP version 1\n1..1\n    # Subtest: a\n    1..2\n"
                       "    not ok 1 x\n    # expected 1, got 2\n"
                       "    ok 2 y\nnot ok 1 a\n# ktest: done\n")
        self.assertEqual([(r.name, r.status) for r in out],
                         [("a.x", "fail"), ("a.y", "pass")])
        self.assertEqual(out[0].diags, ["# expected 1, got 2"])
        self.assertEqual(p.failed, 1)

    def test_skip_formats(self):
        p, out = parse("KTAP version 1\n1..2\n    # Subtest: t\n    1..2\n"
                       "    ok 1 a # SKIP\n    ok 2 b #SKIP why not\n"
                       "ok 1 t\nok 2 whole # SKIP no APs\n# ktest: done\n")
        self.assertTrue(p.ok())
        self.assertEqual([runner.format_result(r)[0] for r in out],
                         ["SKIP t.a", "SKIP t.b (why not)",
                          "SKIP whole (no APs)"])

    def test_skipped_suite_without_cases(self):
        p, out = parse("KTAP version 1\n1..1\n    KTAP version 1\n"
                       "    # Subtest: smp\n    1..0\n"
                       "ok 1 smp # SKIP only one CPU\n# ktest: done\n")
        self.assertTrue(p.ok())
        self.assertEqual(runner.format_result(out[0]),
                         ["SKIP smp (only one CPU)"])

    def test_suite_level_failure(self):
        # All cases pass, but the suite itself fails (e.g. a page leak).
        p, out = parse("KTAP version 1\n1..1\n    # Subtest: pmm\n    1..1\n"
                       "    ok 1 a\n    # leak: 3 pages not freed\n"
                       "not ok 1 pmm\n# ktest: done\n")
        self.assertFalse(p.ok())
        self.assertEqual(p.failed, 1)
        self.assertEqual(out[-1].name, "pmm")
        self.assertEqual(out[-1].diags, ["# leak: 3 pages not freed"])

    def test_short_suite_plan(self):
        p, out = parse("KTAP version 1\n1..1\n    # Subtest: pmm\n    1..3\n"
                       "    ok 1 a\n    ok 2 b\nok 1 pmm\n# ktest: done\n")
        self.assertFalse(p.ok())
        self.assertEqual((p.passed, p.failed), (2, 1))
        self.assertIn("plan 1..3 but 2 results", out[-1].reason)

    def test_short_top_level_plan(self):
        p, out = parse("KTAP version 1\n1..3\n    # Subtest: pmm\n    1..1\n"
                       "    ok 1 a\nok 1 pmm\n# ktest: done\n")
        self.assertFalse(p.ok())
        self.assertEqual(p.errors, ["top-level plan 1..3 but 1 suites "
                                    "reported"])

    def test_truncated_run(self):
        text = "\n".join(lines(FAIL_LOG)[:14])  # stops inside `heap`
        p, out = parse(text)
        self.assertFalse(p.ok())
        self.assertEqual(names(out, "fail"), ["pmm.poison", "heap"])
        self.assertIn("incomplete: 1 of 2 results", out[-1].reason)
        self.assertEqual(p.errors, ["the run ended before `# ktest: done`"])
        self.assertEqual(p.failed, 3)

    def test_no_ktap(self):
        p, out = parse("BdsDxe: failed to load Boot0001\n")
        self.assertFalse(p.ok())
        self.assertEqual(out, [])
        self.assertEqual(p.failed, 1)
        self.assertIn("no KTAP output", p.errors[0])

    def test_noise_escapes_and_interleaved_logs(self):
        self.assertEqual(runner.clean_line("\x1b[2J\x1b[01;01H\x1b[=3hBds\r"),
                         "Bds")
        text = ("\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: starting\r\n"
                "\x1b[0m\x1b[37m\x1b[40mKTAP version 1\r\n1..1\r\n"
                "    KTAP version 1\r\n    # Subtest: sched\r\n    1..1\r\n"
                "[    1.000] sched: cpu3 idle\r\n"
                "  ok this is not ktap\r\n"
                "    ok 1 yield\r\nok 1 sched\r\n# ktest: done\r\n")
        p, out = parse(text)
        self.assertTrue(p.ok())
        self.assertEqual(names(out), ["sched.yield"])

    def test_kernel_summary_disagrees(self):
        p, out = parse("KTAP version 1\n1..1\nok 1 a\n"
                       "# ktest: 0 passed, 1 failed, 0 skipped\n"
                       "# ktest: done\n")
        self.assertFalse(p.ok())
        self.assertIn("kernel summary reports 1 failed", p.errors[0])

    def test_header_order_and_missing_headers(self):
        # `# Subtest:` before `KTAP version`, and a suite with no headers
        # (named by its result line).
        p, out = parse("KTAP version 1\n1..2\n    # Subtest: a\n"
                       "    KTAP version 1\n    1..1\n    ok 1 x\nok 1 a\n"
                       "    1..1\n    not ok 1 y\nnot ok 2 b\n"
                       "# ktest: done\n")
        self.assertEqual([(r.name, r.status) for r in out],
                         [("a.x", "pass"), ("b.y", "fail")])
        self.assertEqual(p.failed, 1)

    def test_deeper_nesting(self):
        p, out = parse("KTAP version 1\n1..1\n    # Subtest: mm\n    1..1\n"
                       "        # Subtest: cow\n        1..1\n"
                       "        ok 1 reuse\n    ok 1 cow\nok 1 mm\n"
                       "# ktest: done\n")
        self.assertTrue(p.ok())
        self.assertEqual(names(out), ["mm.cow.reuse"])

    def test_panic_lines(self):
        kind = runner.panic_kind
        self.assertEqual(kind("KERNEL PANIC on CPU 0: x"), "panic")
        self.assertEqual(kind("KERNEL PANIC on CPU 0: x", True), "panic")
        self.assertEqual(kind("[ 1.0] BUG: bad page state"), "bug")
        # Inside the suite, BUG reports belong to the kernel's tests.
        self.assertIsNone(kind("BUG: kfree(0x1000): double free", True))
        self.assertIsNone(kind("    # expect a BUG: here"))
        self.assertIsNone(kind("ok 1 debug"))


def format_lines(res):
    return runner.format_result(res)


FAKE_QEMU = r'''#!/usr/bin/env python3
import os, sys, time
with open(os.environ["FAKE_QEMU_ARGS"], "w") as f:
    f.write("\n".join(sys.argv[1:]) + "\n")
    f.write("pid=%d\n" % os.getpid())
with open(os.environ["FAKE_QEMU_LOG"], "rb") as f:
    data = f.read()
for line in data.splitlines(True):
    sys.stdout.buffer.write(line)
    sys.stdout.buffer.flush()
time.sleep(float(os.environ.get("FAKE_QEMU_SLEEP", "0")))
sys.exit(int(os.environ.get("FAKE_QEMU_EXIT", "1")))
'''


class EndToEndTest(unittest.TestCase):
    """runner.py driven as a program, with a fake QEMU."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test-runner-")
        self.qemu = os.path.join(self.tmp, "qemu")
        with open(self.qemu, "w") as f:
            f.write(FAKE_QEMU)
        os.chmod(self.qemu, stat.S_IRWXU)
        self.disk = os.path.join(self.tmp, "disk.img")
        open(self.disk, "wb").close()
        self.log = os.path.join(self.tmp, "test.log")
        self.argsfile = os.path.join(self.tmp, "args")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_runner(self, log_text, exit_code=1, sleep=0, extra=(),
                   timeout=20, disk=True):
        logsrc = os.path.join(self.tmp, "canned.log")
        with open(logsrc, "w") as f:
            f.write(log_text)
        env = dict(os.environ, FAKE_QEMU_LOG=logsrc,
                   FAKE_QEMU_EXIT=str(exit_code), FAKE_QEMU_SLEEP=str(sleep),
                   FAKE_QEMU_ARGS=self.argsfile)
        cmd = [sys.executable, os.path.join(HERE, "runner.py"),
               "--qemu", self.qemu, "--log", self.log,
               "--timeout", str(timeout), "--smp", "2",
               "--cmdline", "ktest.run=1 qemu_exit=1"]
        if disk:
            cmd += ["--disk", self.disk]
        cmd += list(extra)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              timeout=120)
        self.elapsed = time.monotonic() - t0
        return proc.returncode, proc.stdout

    def qemu_args(self):
        with open(self.argsfile) as f:
            return f.read().splitlines()

    def test_pass(self):
        rc, out = self.run_runner(PASS_LOG, exit_code=1)
        self.assertEqual(rc, 0, out)
        body = out.splitlines()
        self.assertEqual(body[-1], "4 passed, 0 failed, 1 skipped")
        self.assertIn("PASS pmm.alloc_free", body)
        self.assertIn("SKIP smp.pcid (no PCID on this CPU)", body)
        self.assertTrue(body[-2].startswith("log: "))
        with open(self.log) as f:
            self.assertEqual(f.read(), PASS_LOG)  # raw log kept
        args = self.qemu_args()
        for want in ("q35", "tcg,thread=multi", "-no-reboot",
                     "isa-debug-exit,iobase=0xf4,iosize=0x04"):
            self.assertIn(want, args)
        self.assertEqual(args[args.index("-smp") + 1], "2")

    def test_fail(self):
        rc, out = self.run_runner(FAIL_LOG, exit_code=3)
        self.assertEqual(rc, 1, out)
        body = out.splitlines()
        self.assertEqual(body[-1], "2 passed, 2 failed, 1 skipped")
        i = body.index("FAIL pmm.poison")
        self.assertTrue(body[i + 1].startswith("    # poison: KEXPECT_EQ"))

    def test_exit_code_mismatch(self):
        rc, out = self.run_runner(PASS_LOG, exit_code=3)
        self.assertEqual(rc, 1, out)
        self.assertIn("isa-debug-exit says fail", out)
        self.assertEqual(out.splitlines()[-1],
                         "4 passed, 1 failed, 1 skipped")
        rc, out = self.run_runner(FAIL_LOG, exit_code=1)
        self.assertEqual(rc, 1, out)
        self.assertIn("isa-debug-exit says pass", out)

    def test_panic(self):
        rc, out = self.run_runner(PANIC_LOG, sleep=60, timeout=30)
        self.assertEqual(rc, 1, out)
        self.assertLess(self.elapsed, 25)  # did not wait for the timeout
        self.assertIn("FAIL: kernel panic", out)
        self.assertIn("  | KERNEL PANIC on cpu 2: page fault at 0xdead", out)
        self.assertIn("  |   #1 unmap_vmas+0x88", out)
        self.assertIn("FAIL paging (incomplete: 1 of 3 results", out)
        self.assertEqual(out.splitlines()[-1], "1 passed, 2 failed, 0 skipped")
        self.assertFalse(self.qemu_alive())

    def test_expected_bugs_in_suite(self):
        text = PASS_LOG.replace(
            "    ok 2 poison\n",
            "BUG: use after free: page pfn 0x1234 written after it was freed\n"
            "    ok 2 poison\n")
        rc, out = self.run_runner(text, exit_code=1)
        self.assertEqual(rc, 0, out)
        # ... but a BUG during boot, before the suite, is fatal.
        rc, out = self.run_runner("BUG: at kernel/main.c:10 on CPU 0\n" +
                                  PASS_LOG, exit_code=1, sleep=60)
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL: kernel BUG outside the test suite", out)

    def test_hang(self):
        text = "\n".join(lines(PASS_LOG)[:10]) + "\n"
        rc, out = self.run_runner(text, sleep=60, timeout=2)
        self.assertEqual(rc, 1, out)
        self.assertLess(self.elapsed, 20)
        self.assertIn("FAIL: timed out after 2 s", out)
        self.assertIn("last 30 console lines:", out)
        self.assertIn("  |     ok 1 alloc_free", out)
        self.assertIn("FAIL pmm (incomplete: 1 of 2 results", out)
        self.assertEqual(out.splitlines()[-1], "1 passed, 2 failed, 0 skipped")
        self.assertFalse(self.qemu_alive())

    def test_early_exit(self):
        text = "\n".join(lines(PASS_LOG)[:10]) + "\n"
        rc, out = self.run_runner(text, exit_code=0)
        self.assertEqual(rc, 1, out)
        self.assertIn("QEMU exited (status 0: a reset or triple fault", out)

    def test_done_without_exit(self):
        # qemu_exit=1 asked for, the kernel said done but never exited.
        rc, out = self.run_runner(PASS_LOG, sleep=60, timeout=40,
                                  extra=["--exit-grace", "1"])
        self.assertEqual(rc, 1, out)
        self.assertIn("did not exit QEMU within 1 s", out)
        self.assertLess(self.elapsed, 15)

    def test_expect_mode(self):
        text = "BdsDxe: loading\nkernel: hello\nmonitor: ready\nmore\n"
        rc, out = self.run_runner(text, sleep=60, timeout=30,
                                  extra=["--expect", "monitor: ready"])
        self.assertEqual(rc, 0, out)
        self.assertLess(self.elapsed, 20)
        self.assertEqual(out.splitlines()[-1], "1 passed, 0 failed, 0 skipped")
        rc, out = self.run_runner("kernel: hello\n", sleep=60, timeout=2,
                                  extra=["--expect", "monitor: ready"])
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL: timed out after 2 s", out)

    def test_bench_mode(self):
        text = ("BdsDxe: loading\nkernel: hello\n"
                "bench: munmap_1page: 4210 ns/op (4 cpus)\n"
                "[    1.000] cpu1: noise\n"
                "\x1b[0mbench: ipi_round_trip: 9.5 us\n# bench: done\n")
        bench = ["--bench", "--cmdline", "bench.run=1 qemu_exit=1"]
        rc, out = self.run_runner(text, exit_code=1, extra=bench)
        self.assertEqual(rc, 0, out)
        body = out.splitlines()
        self.assertIn("bench: munmap_1page: 4210 ns/op (4 cpus)", body)
        self.assertIn("bench: ipi_round_trip: 9.5 us", body)
        self.assertNotIn("noise", out)
        self.assertIn("PASS bench (2 figures", out)
        self.assertEqual(body[-1], "1 passed, 0 failed, 0 skipped")
        # The kernel exits with code 1: a benchmark failed.
        rc, out = self.run_runner(text, exit_code=3, extra=bench)
        self.assertEqual(rc, 1, out)
        self.assertIn("not with isa-debug-exit code 0", out)
        # QEMU exits before `# bench: done`.
        rc, out = self.run_runner(text.replace("# bench: done\n", ""),
                                  exit_code=1, extra=bench)
        self.assertEqual(rc, 1, out)
        self.assertIn("before `# bench: done`", out)
        # Done, but not a single figure (a filter that matches nothing).
        rc, out = self.run_runner("kernel: hello\n# bench: done\n",
                                  exit_code=1, extra=bench)
        self.assertEqual(rc, 1, out)
        self.assertIn("no `bench:` figures", out)
        # A panic or a BUG report fails the run.
        rc, out = self.run_runner(text.replace(
            "# bench: done", "BUG: at mm/tlb.c:10 on CPU 1"), sleep=60,
            timeout=30, extra=bench)
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL: kernel BUG", out)
        self.assertLess(self.elapsed, 25)

    @unittest.skipUnless(shutil.which("mkfs.fat") and shutil.which("mcopy"),
                         "needs dosfstools and mtools")
    def test_builds_esp(self):
        kernel = os.path.join(self.tmp, "kernel.elf")
        loader = os.path.join(self.tmp, "BOOTX64.EFI")
        for path, size in ((kernel, 5000), (loader, 3000)):
            with open(path, "wb") as f:
                f.write(os.urandom(size))
        rc, out = self.run_runner(PASS_LOG, disk=False, extra=[
            "--kernel", kernel, "--loader", loader, "--keep"])
        self.assertEqual(rc, 0, out)
        args = self.qemu_args()
        esp = [a for a in args if a.startswith("if=none,id=esp")][0]
        img = esp.split("file=")[1]
        self.assertFalse(img.startswith(self.tmp))  # a private temp dir
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
        cmdline = subprocess.run(["mtype", "-i", img, "::/cmdline.txt"],
                                 env=env, stdout=subprocess.PIPE, text=True,
                                 check=True).stdout
        self.assertEqual(cmdline, "ktest.run=1 qemu_exit=1\n")
        efi = subprocess.run(["mtype", "-i", img, "::/EFI/BOOT/BOOTX64.EFI"],
                             env=env, stdout=subprocess.PIPE,
                             check=True).stdout
        with open(loader, "rb") as f:
            self.assertEqual(efi, f.read())
        shutil.rmtree(os.path.dirname(img))

    def test_missing_kernel(self):
        rc, out = self.run_runner(PASS_LOG, disk=False, extra=[
            "--kernel", "/nonexistent/kernel.elf",
            "--loader", "/nonexistent/BOOTX64.EFI"])
        self.assertEqual(rc, 1)
        self.assertIn("not found", out)
        self.assertEqual(out.splitlines()[-1], "0 passed, 1 failed, 0 skipped")

    def test_parse_saved_log(self):
        path = os.path.join(self.tmp, "saved.log")
        for text, rc_want, last in ((PASS_LOG, 0, "4 passed, 0 failed, "
                                     "1 skipped"),
                                    (FAIL_LOG, 1, "2 passed, 2 failed, "
                                     "1 skipped"),
                                    (PANIC_LOG, 1, "1 passed, 2 failed, "
                                     "0 skipped")):
            with open(path, "w") as f:
                f.write(text)
            proc = subprocess.run([sys.executable,
                                   os.path.join(HERE, "runner.py"),
                                   "--parse", path], stdout=subprocess.PIPE,
                                  text=True)
            self.assertEqual(proc.returncode, rc_want, proc.stdout)
            self.assertEqual(proc.stdout.splitlines()[-1], last)

    def qemu_alive(self):
        pid = [int(x[4:]) for x in self.qemu_args() if x.startswith("pid=")][0]
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split()[2] != "Z"
        except OSError:
            return False


if __name__ == "__main__":
    unittest.main()
