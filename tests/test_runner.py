#!/usr/bin/env python3
"""Host tests for tests/runner.py, tools/mkesp.py and tools/mutants.py
(python3 -m unittest).

The parser is fed canned console logs; the QEMU plumbing (timeout, exit codes,
panic capture, log file) is driven end to end with a fake `qemu` script that
prints a canned log and then exits or hangs.
"""

import os
import shlex
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
        p, out = parse("KTAP version 1\n1..2\n    # Subtest: t\n    1..3\n"
                       "    ok 1 a # SKIP\n    ok 2 b #SKIP why not\n"
                       "    ok 3 c\n"
                       "ok 1 t\nok 2 whole # SKIP no APs\n# ktest: done\n")
        self.assertTrue(p.ok())
        self.assertEqual([runner.format_result(r)[0] for r in out],
                         ["SKIP t.a", "SKIP t.b (why not)", "PASS t.c",
                          "SKIP whole (no APs)"])

    def test_skipped_suite_without_cases(self):
        p, out = parse("KTAP version 1\n1..2\n    KTAP version 1\n"
                       "    # Subtest: smp\n    1..0\n"
                       "ok 1 smp # SKIP only one CPU\n"
                       "    # Subtest: pmm\n    1..1\n    ok 1 a\nok 2 pmm\n"
                       "# ktest: done\n")
        self.assertTrue(p.ok())
        self.assertEqual(runner.format_result(out[0]),
                         ["SKIP smp (only one CPU)"])

    def test_no_case_ran(self):
        # Only skips, and the built-in leaks suite: nothing was tested.
        p, out = parse("KTAP version 1\n1..2\n    # Subtest: smp\n    1..1\n"
                       "    ok 1 ipi # SKIP only one CPU\nok 1 smp\n"
                       "    # Subtest: leaks\n    1..2\n"
                       "    ok 1 no_leaked_pages\n    ok 2 no_use_after_free\n"
                       "ok 2 leaks\n# ktest: 2 passed, 0 failed, 1 skipped\n"
                       "# ktest: done\n")
        self.assertFalse(p.ok())
        self.assertEqual(p.errors, ["no test case ran (1 skipped)"])
        self.assertEqual((p.passed, p.failed, p.skipped), (2, 1, 1))
        p, out = parse("KTAP version 1\n1..0\n# ktest: done\n")
        self.assertEqual(p.errors, ["no test case ran"])

    def test_kernel_error_no_match(self):
        # The kernel refuses a filter glob that selects no case of its own.
        p, out = parse("[ 0.5] sfs: mounted\n"
                       "# ktest: error: filter 'nomatch' selects no test case\n"
                       "KTAP version 1\n1..0\n"
                       "# ktest: 0 passed, 1 failed, 0 skipped\n"
                       "# ktest: done\n")
        self.assertFalse(p.ok())
        self.assertEqual(p.errors, ["filter 'nomatch' selects no test case"])
        self.assertEqual(p.failed, 1)
        self.assertEqual(p.notes, [])
        self.assertEqual(p.runner_only, 0)  # the kernel's own verdict

    def test_ktap_restarts(self):
        # The machine reset in the middle of `cow` and ran everything again.
        first = ("KTAP version 1\n1..2\n    KTAP version 1\n"
                 "    # Subtest: cow\n    1..2\n    ok 1 basic\n")
        whole = ("KTAP version 1\n1..2\n    KTAP version 1\n"
                 "    # Subtest: cow\n    1..2\n    ok 1 basic\n"
                 "    ok 2 vmsplice\nok 1 cow\n    # Subtest: mm\n    1..1\n"
                 "    ok 1 teardown\nok 2 mm\n# ktest: done\n")
        p, out = parse(first + "[    0.000] kernel: booting\n" + whole)
        self.assertFalse(p.ok())
        self.assertTrue(p.done)
        self.assertEqual(p.errors, ["the KTAP output started again (did the "
                                    "machine reset?)"])
        self.assertEqual(p.restarted, 1)
        self.assertIn("incomplete: 1 of 2 results, the KTAP output started "
                      "again", out[1].reason)
        self.assertEqual(names(out), ["cow.basic", "cow", "cow.basic",
                                      "cow.vmsplice", "mm.teardown"])
        # Between two suites, too.
        p, out = parse(whole.replace("# ktest: done\n", "") + whole)
        self.assertEqual(p.errors, ["the KTAP output started again (did the "
                                    "machine reset?)"])

    def test_unexpected_bug_fails_the_running_case(self):
        text = PASS_LOG.replace(
            "    ok 2 poison\n",
            "BUG (expected): put_page on a free page: pfn 0x1 flags 0xc\n"
            "BUG (expected): at mm/pmm.c:273 on CPU 1\n"
            "    # poison: expected failure (provoked on purpose) at x.c:1\n"
            "    ok 2 poison\n")
        p, out = parse(text)
        self.assertTrue(p.ok())  # what the tests announced is no failure
        text = PASS_LOG.replace(
            "    ok 1 ipi\n",
            "[    2.000] BUG: use after free: page pfn 0x1234 written\n"
            "BUG: at mm/pmm.c:273 on CPU 1\n"
            "    ok 1 ipi\n")
        p, out = parse(text)
        self.assertFalse(p.ok())
        self.assertEqual((p.passed, p.failed, p.skipped), (3, 1, 1))
        ipi = [r for r in out if r.name == "smp.ipi"][0]
        self.assertEqual(format_lines(ipi), [
            "FAIL smp.ipi (unexpected BUG report: [    2.000] BUG: use after "
            "free: page pfn 0x1234 written (and 1 more))",
            "    BUG: at mm/pmm.c:273 on CPU 1"])
        self.assertEqual(names(out)[-2:], ["smp.call_function", "smp.pcid"])
        self.assertEqual(p.runner_only, 1)
        # A case that fails anyway keeps its own diagnostics as well.
        p, out = parse(FAIL_LOG.replace(
            "    not ok 2 poison\n", "BUG: bad\n    not ok 2 poison\n"))
        poison = [r for r in out if r.name == "pmm.poison"][0]
        self.assertEqual(poison.reason, "unexpected BUG report: BUG: bad")
        self.assertEqual(len(poison.diags), 1)
        self.assertEqual(p.failed, 2)
        # After a suite's last case: the suite; between suites: the run.
        p, out = parse(PASS_LOG.replace("ok 1 pmm\n", "BUG: x\nok 1 pmm\n")
                       .replace("ok 2 smp\n", "ok 2 smp\nBUG: y\n"))
        self.assertEqual([(r.name, r.reason) for r in out
                          if r.status == "fail"],
                         [("pmm", "unexpected BUG report: BUG: x")])
        self.assertEqual(p.errors, ["unexpected BUG report: BUG: y"])
        self.assertEqual(p.failed, 2)
        # KTAP diagnostics that mention BUG: are not reports.
        p, out = parse(PASS_LOG.replace(
            "    ok 2 poison\n", "    # poison: a BUG: line\n    ok 2 poison\n"))
        self.assertTrue(p.ok())

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
        # Inside the suite, a BUG report fails a case, not the whole run.
        self.assertIsNone(kind("BUG: kfree(0x1000): double free", True))
        self.assertIsNone(kind("    # expect a BUG: here"))
        self.assertIsNone(kind("ok 1 debug"))
        self.assertIsNone(kind("BUG (expected): at mm/pmm.c:1 on CPU 0"))
        self.assertTrue(runner.is_bug_report("BUG: kfree(0x1000)"))
        self.assertFalse(runner.is_bug_report("BUG (expected): kfree(0x1)"))
        self.assertFalse(runner.is_bug_report("    # x: BUG: y"))

    def test_loader_failure_lines(self):
        lf = runner.loader_failure
        self.assertEqual(lf("loader: boot failed: kernel.elf: not an ELF "
                            "file"), "kernel.elf: not an ELF file")
        self.assertEqual(lf("\x1b[0mloader: boot failed: x"), None)  # raw
        self.assertEqual(lf(runner.clean_line("\x1b[0mloader: boot failed: "
                                              "x")), "x")
        self.assertEqual(lf("loader: boot failed; returning to the firmware "
                            "in 3 s"), "")
        self.assertIsNone(lf("loader: kernel.elf: 1234 bytes"))
        self.assertIsNone(lf("    # t: loader: boot failed: x"))
        before = ["BdsDxe: starting", "loader: UEFI boot loader",
                  "loader: UEFI boot loader",
                  "loader: error: kernel.elf: 32-bit ELF (ELFCLASS32)",
                  "loader: error: kernel.elf: 32-bit ELF (ELFCLASS32)"]
        self.assertEqual(runner.loader_failure_reason("", before),
                         "loader: boot failed: kernel.elf: 32-bit ELF "
                         "(ELFCLASS32)")
        self.assertEqual(runner.loader_failure_reason("", []),
                         "loader: boot failed: (no reason printed)")
        self.assertEqual(runner.loader_lines(before), [
            "loader: UEFI boot loader",
            "loader: error: kernel.elf: 32-bit ELF (ELFCLASS32)"])

    def test_timeout_scale(self):
        ts = runner.timeout_scale
        self.assertEqual(ts(1, 2), 1)
        self.assertEqual(ts(4, 2), 1)
        self.assertEqual(ts(8, 2), 2)
        self.assertEqual(ts(16, 2), 4)
        self.assertEqual(ts(4, 1), 2)
        self.assertEqual(ts(16, 16), 1)
        self.assertEqual(runner.scaled(runner.BASE_TIMEOUT_S, ts(16, 2)), 960)
        wct = runner.with_case_timeout
        self.assertEqual(wct("ktest.run=1 qemu_exit=1", 1),
                         "ktest.run=1 qemu_exit=1")
        self.assertEqual(wct("ktest.run=1 qemu_exit=1", 2),
                         "ktest.run=1 qemu_exit=1 ktest.timeout=120")
        self.assertEqual(wct("", 4), "ktest.timeout=240")
        self.assertEqual(wct("ktest.run=1 ktest.timeout=30", 4),
                         "ktest.run=1 ktest.timeout=30")  # the user's

    def test_no_reboot_only_headless(self):
        class A:
            qemu, cpu, smp, mem = "qemu", "max", 4, "512M"
            ovmf_code, disk, display, qemu_arg = "code.fd", None, "none", []
        for mode, want in (("test", True), ("expect", True), ("bench", True),
                           ("interactive", False), ("gdb", False)):
            cmd = runner.qemu_command(A, "esp.img", "vars.fd", mode)
            self.assertEqual("-no-reboot" in cmd, want, mode)


def format_lines(res):
    return runner.format_result(res)


# boot/console.c decides whether the loader writes COM1 itself or the
# firmware console already reaches it (OVMF's does; a PC whose console is
# the screen only does not). This harness compiles it for the host with a
# mock of the boot services and the ConOut variable, and prints the answer
# of conout_reaches_com1() for each machine.
CONSOLE_HARNESS = r"""
#include "boot/console.c"
#include <stdio.h>
#include <string.h>

static EFI_GUID g_dp = EFI_DEVICE_PATH_PROTOCOL_GUID;
static EFI_GUID g_text = EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL_GUID;
static EFI_GUID g_dev = CONSOLE_OUT_DEVICE_GUID;

struct mock { UINT8 path[256]; int has_path, text, marked; };
static struct mock hs[8], splitter;
static int nh, have_var;
static UINT8 var[512];
static UINTN var_len;

static int same(EFI_GUID *a, EFI_GUID *b) { return !memcmp(a, b, sizeof(*a)); }

static EFI_STATUS EFIAPI m_handle_protocol(EFI_HANDLE h, EFI_GUID *g, void **out)
{
	struct mock *m = h;
	if ((same(g, &g_dp) && m->has_path) || (same(g, &g_text) && m->text) ||
	    (same(g, &g_dev) && m->marked)) {
		*out = same(g, &g_dp) ? (void *)m->path : (void *)m;
		return EFI_SUCCESS;
	}
	return EFI_UNSUPPORTED;
}

static EFI_STATUS EFIAPI m_locate(EFI_LOCATE_SEARCH_TYPE t, EFI_GUID *g, void *key,
				  UINTN *n, EFI_HANDLE **buf)
{
	static EFI_HANDLE list[8];
	UINTN k = 0;
	for (int i = 0; i < nh; i++)
		if (hs[i].text)
			list[k++] = &hs[i];
	if (!k)
		return EFI_NOT_FOUND;
	*n = k;
	*buf = list;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI m_free(void *p) { return EFI_SUCCESS; }

static EFI_STATUS EFIAPI m_getvar(CHAR16 *name, EFI_GUID *g, UINT32 *attr, UINTN *size,
				  void *data)
{
	if (!have_var)
		return EFI_NOT_FOUND;
	memcpy(data, var, var_len);
	*size = var_len;
	return EFI_SUCCESS;
}

/* Device path nodes. */
static UINTN node(UINT8 *p, UINTN off, UINT8 type, UINT8 sub, const void *d, UINTN n)
{
	p[off] = type, p[off + 1] = sub, p[off + 2] = (UINT8)(4 + n), p[off + 3] = 0;
	if (n)
		memcpy(p + off + 4, d, n);
	return off + 4 + n;
}
static UINTN acpi(UINT8 *p, UINTN off, UINT32 pnp, UINT32 uid)
{
	UINT32 d[2] = { EISA_PNP_ID(pnp), uid };
	return node(p, off, ACPI_DEVICE_PATH, ACPI_DP, d, sizeof(d));
}
static UINTN pci(UINT8 *p, UINTN off, UINT8 dev, UINT8 fn)
{
	UINT8 d[2] = { fn, dev };
	return node(p, off, 1, 1, d, 2);
}
static UINTN uart(UINT8 *p, UINTN off)
{
	UINT8 d[15] = { 0 };
	return node(p, off, MESSAGING_DEVICE_PATH, MSG_UART_DP, d, sizeof(d));
}
static UINTN end(UINT8 *p, UINTN off, int last)
{
	return node(p, off, 0x7f, last ? 0xff : 0x01, NULL, 0);
}
/* PciRoot(0)/Pci(0x1F,0)/Serial(uid)/Uart/VenMsg */
static UINTN serial(UINT8 *p, UINTN off, UINT32 uid)
{
	UINT8 ven[16] = { 0 };
	off = pci(p, acpi(p, off, 0x0A03, 0), 0x1F, 0);
	return node(p, uart(p, acpi(p, off, 0x0501, uid)), MESSAGING_DEVICE_PATH, 10, ven, 16);
}
/* PciRoot(0)/Pci(0x16,3)/Uart: an AMT serial-over-LAN port, not COM1 */
static UINTN pci_uart(UINT8 *p, UINTN off)
{
	return uart(p, pci(p, acpi(p, off, 0x0A03, 0), 0x16, 3));
}
/* PciRoot(0)/Pci(2,0)/AcpiAdr: the screen */
static UINTN screen(UINT8 *p, UINTN off)
{
	UINT32 adr = 0x80010100;
	return node(p, pci(p, acpi(p, off, 0x0A03, 0), 2, 0), ACPI_DEVICE_PATH, 3, &adr, 4);
}

/* ADD(marked, path built at p): a text-output handle. */
#define ADD(marked, build)                       \
	do {                                     \
		UINT8 *p = add(marked)->path;    \
		end(p, build, 1);                \
	} while (0)

static struct mock *add(int marked)
{
	struct mock *m = &hs[nh++];
	memset(m, 0, sizeof(*m));
	m->has_path = m->text = 1;
	m->marked = marked;
	return m;
}

static EFI_BOOT_SERVICES bs;
static EFI_RUNTIME_SERVICES rt;
static EFI_SYSTEM_TABLE st;

static void check(const char *name)
{
	printf("%s %d\n", name, conout_reaches_com1(&st));
	nh = 0, have_var = 0, st.ConsoleOutHandle = &splitter;
	memset(&splitter, 0, sizeof(splitter));
}

int main(void)
{
	bs.HandleProtocol = m_handle_protocol;
	bs.LocateHandleBuffer = m_locate;
	bs.FreePool = m_free;
	rt.GetVariable = m_getvar;
	st.BootServices = &bs, st.RuntimeServices = &rt, st.ConsoleOutHandle = &splitter;

	ADD(1, screen(p, 0));
	ADD(1, serial(p, 0, 0));
	check("ovmf");
	ADD(1, screen(p, 0));
	ADD(0, serial(p, 0, 0));
	check("screen_only");
	ADD(1, screen(p, 0));
	check("screen_no_uart");
	ADD(1, serial(p, 0, 1));
	check("com2");
	ADD(1, pci_uart(p, 0));
	check("pci_uart");
	ADD(0, serial(p, 0, 0));
	have_var = 1, var_len = end(var, serial(var, end(var, screen(var, 0), 0), 0), 1);
	check("unmarked_var_com1");
	ADD(0, serial(p, 0, 0));
	have_var = 1, var_len = end(var, screen(var, 0), 1);
	check("unmarked_var_screen");
	ADD(0, screen(p, 0));
	have_var = 1, var_len = end(var, serial(var, 0, 0), 1);
	check("unmarked_no_com1_handle");
	splitter.has_path = 1;
	end(splitter.path, serial(splitter.path, 0, 0), 1);
	check("single_device");
	UINT8 *m = add(1)->path;
	m[0] = 2, m[1] = 1, m[2] = 0, m[3] = 0; /* length 0 */
	check("malformed");
	/* The variable ends inside the UART node. */
	have_var = 1;
	var_len = uart(var, acpi(var, pci(var, acpi(var, 0, 0x0A03, 0), 0x1F, 0), 0x0501, 0)) - 3;
	ADD(0, serial(p, 0, 0));
	check("var_cut_short");
	return 0;
}
"""


@unittest.skipUnless(shutil.which("gcc") and
                     os.path.isfile("/usr/include/efi/efi.h"),
                     "needs gcc and gnu-efi")
class LoaderConsoleTest(unittest.TestCase):
    def test_conout_reaches_com1(self):
        tmp = tempfile.mkdtemp(prefix="test-console-")
        try:
            src = os.path.join(tmp, "harness.c")
            exe = os.path.join(tmp, "harness")
            with open(src, "w") as f:
                f.write(CONSOLE_HARNESS)
            root = os.path.dirname(HERE)
            subprocess.run(
                ["gcc", "-std=gnu11", "-O1", "-g", "-Wall", "-Werror",
                 "-Wno-unused-function", "-fshort-wchar",
                 "-DGNU_EFI_USE_MS_ABI", "-fsanitize=address,undefined",
                 "-fno-sanitize-recover=all", "-I/usr/include/efi",
                 "-I/usr/include/efi/x86_64", "-I" + root, src, "-o", exe],
                check=True, cwd=root)
            got = subprocess.run([exe], stdout=subprocess.PIPE, text=True,
                                 check=True).stdout.split()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(dict(zip(got[::2], got[1::2])), {
            "ovmf": "1",  # the console has COM1's terminal: don't write twice
            "screen_only": "0",  # a terminal on COM1 exists, not in ConOut
            "screen_no_uart": "0",
            "com2": "0",
            "pci_uart": "0",
            "unmarked_var_com1": "1",  # no EDK II marks: the ConOut variable
            "unmarked_var_screen": "0",
            "unmarked_no_com1_handle": "0",  # listed, but not connected
            "single_device": "1",
            "malformed": "0",
            "var_cut_short": "0",
        })


sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import mutants  # noqa: E402  (tools/mutants.py)
import flaky  # noqa: E402  (tools/flaky.py)

# A fake `make` for tools/flaky.py: `make test SMP=n TEST_LOG=path`. Fails
# the 2nd run at SMP=16; records every call and the MAKEFLAGS it got.
FAKE_MAKE = r'''#!/usr/bin/env python3
import os, sys
args = dict(a.split("=", 1) for a in sys.argv[1:] if "=" in a)
calls = os.environ["FAKE_MAKE_CALLS"]
with open(calls, "a") as f:
    f.write("%s %s\n" % (" ".join(sys.argv[1:]), os.environ.get("MAKEFLAGS")))
n = sum(1 for line in open(calls) if "SMP=16" in line)
with open(args["TEST_LOG"], "w") as f:
    f.write("KTAP version 1\n")
if args["SMP"] == "16" and n == 2:
    print("PASS pmm.a\nFAIL pmm.b\nFAIL: timed out after 9 s\n"
          "1 passed, 2 failed, 0 skipped")
    sys.exit(2)
print("PASS pmm.a\n1 passed, 0 failed, 0 skipped")
'''


class FlakyTest(unittest.TestCase):
    """tools/flaky.py, with a fake make and a `sleep` as the load."""

    def test_plan(self):
        self.assertEqual(flaky.parse_plan("8 16"), [(8, None), (16, None)])
        self.assertEqual(flaky.parse_plan("8:3,16:1"), [(8, 3), (16, 1)])
        for bad in ("", "x", "8:0", "0"):
            self.assertRaises(ValueError, flaky.parse_plan, bad)
        self.assertEqual([flaky.default_runs(s, 20) for s in (4, 8, 16)],
                         [20, 20, 10])
        self.assertEqual(flaky.default_runs(16, 1), 1)

    def test_runs_and_tally(self):
        tmp = tempfile.mkdtemp(prefix="test-flaky-")
        try:
            make = os.path.join(tmp, "make")
            with open(make, "w") as f:
                f.write(FAKE_MAKE)
            os.chmod(make, stat.S_IRWXU)
            calls = os.path.join(tmp, "calls")
            logs = os.path.join(tmp, "logs")
            env = dict(os.environ, MAKE=make, FAKE_MAKE_CALLS=calls,
                       MAKEFLAGS="s -j2 --jobserver-auth=3,4 -- FILTER=pmm.*")
            t0 = time.monotonic()
            proc = subprocess.run(
                [sys.executable, os.path.join(os.path.dirname(HERE), "tools",
                                              "flaky.py"),
                 "--plan", "8 16", "--runs", "3", "--log-dir", logs, "--",
                 "sleep", "300"], env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, timeout=120)
            out = proc.stdout
            self.assertEqual(proc.returncode, 1, out)
            self.assertLess(time.monotonic() - t0, 60)  # the load stopped
            body = out.splitlines()
            self.assertTrue(body[-2].startswith("SMP=8: 3/3 passed"), out)
            self.assertTrue(body[-1].startswith("SMP=16: 1/2 passed"), out)
            self.assertIn("SMP=16 run 2/2: FAIL", out)
            self.assertIn("FAIL: timed out after 9 s (kept ", out)
            # Only the failing run's files are kept.
            self.assertEqual(sorted(os.listdir(logs)),
                             ["load.out", "smp16-run02.log",
                              "smp16-run02.out"])
            with open(calls) as f:
                lines = f.read().splitlines()
            self.assertEqual(len(lines), 5)
            self.assertIn("test-kernel SMP=8 TEST_LOG=", lines[0])
            # No jobserver of the outer make; its variables passed on.
            self.assertNotIn("jobserver", lines[0])
            self.assertIn("-- FILTER=pmm.*", lines[0])
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

MUT_KILLED = """\
runner: build/mutant-X/kernel.elf, 4 CPUs, 512M, timeout 240 s, cmdline ''
PASS fs.initrd_files
FAIL fs.nadav_race_madvise
    # nadav_race_madvise: EXPECTATION FAILED at tests/test_fs.c:1: lost
log: build/mutant-X.log
1 passed, 1 failed, 0 skipped
"""
MUT_PASSED = """\
PASS fs.nadav_race_madvise
PASS fs.nadav_race_munmap
PASS leaks.no_leaked_pages
log: build/mutant-X.log
3 passed, 0 failed, 0 skipped
"""
MUT_INCONCLUSIVE = """\
SKIP fs.nadav_race_madvise (inconclusive: the CPU dropped the stale TLB \
entry early, 5 tries)
SKIP fs.nadav_race_munmap (inconclusive: stale entry gone)
PASS leaks.no_leaked_pages
FAIL: no test case ran (2 skipped)
log: build/mutant-X.log
1 passed, 1 failed, 2 skipped
"""


class MutantsTest(unittest.TestCase):
    """tools/mutants.py: verdicts of runner outputs, retries, the tally."""

    def test_classify(self):
        c = mutants.classify
        self.assertEqual(c(1, MUT_KILLED, 12)[0], "KILLED")
        self.assertIn("fs.nadav_race_madvise", c(1, MUT_KILLED, 12)[1])
        self.assertEqual(c(0, MUT_PASSED, 12),
                         ("SURVIVED", "3 passed (12 s)"))
        v, detail = c(1, MUT_INCONCLUSIVE, 12)
        self.assertEqual(v, "INCONCLUSIVE")
        self.assertIn("2 inconclusive: fs.nadav_race_madvise (the CPU "
                      "dropped the stale TLB entry early, 5 tries), "
                      "fs.nadav_race_munmap", detail)
        # A pass with one case inconclusive: that case might have killed it.
        mixed = MUT_PASSED.replace(
            "PASS fs.nadav_race_munmap",
            "SKIP fs.nadav_race_munmap (inconclusive: gone)")
        self.assertEqual(c(0, mixed, 1)[0], "INCONCLUSIVE")
        # An ordinary SKIP is no reason to doubt a survival.
        plain = MUT_PASSED.replace(
            "PASS fs.nadav_race_munmap",
            "SKIP fs.nadav_race_munmap (no PCID)")
        self.assertEqual(c(0, plain, 1)[0], "SURVIVED")
        # No case ran, none inconclusive: not a kill either.
        self.assertEqual(c(1, "PASS leaks.no_leaked_pages\n"
                           "FAIL: no test case ran\n", 1)[0], "NOTESTS")
        # A failed case next to inconclusive ones is a kill.
        killed = MUT_INCONCLUSIVE.replace(
            "PASS leaks.no_leaked_pages", "FAIL leaks.no_leaked_pages")
        self.assertEqual(c(1, killed, 1)[0], "KILLED")

    def run_with(self, outputs):
        m = mutants.Mutant("RMAP_BEFORE_FLUSH", "fs.nadav_race_*", "d", 1)
        m.log = "build/mutant-RMAP_BEFORE_FLUSH.log"
        boots = list(outputs)

        def boot(mut, args):
            return boots.pop(0) + (10.0,)
        mutants.run_mutant(m, None, boot=boot)
        return m, len(outputs) - len(boots)

    def test_retry_inconclusive(self):
        inc = (1, MUT_INCONCLUSIVE)
        m, boots = self.run_with([inc, inc, inc, (1, MUT_KILLED)])
        self.assertEqual((m.verdict, boots, m.runs), ("INCONCLUSIVE", 3, 3))
        self.assertIn("the same in all 3 runs", m.detail)
        m, boots = self.run_with([inc, (1, MUT_KILLED)])
        self.assertEqual((m.verdict, boots), ("KILLED", 2))
        self.assertIn("run 2 of 3", m.detail)
        m, boots = self.run_with([inc, inc, (0, MUT_PASSED)])
        self.assertEqual((m.verdict, boots), ("SURVIVED", 3))
        m, boots = self.run_with([(1, MUT_KILLED), inc])
        self.assertEqual((m.verdict, boots, m.runs), ("KILLED", 1, 1))

    def test_tally(self):
        ms = []
        for name, verdict in (("A", "KILLED"), ("B", "INCONCLUSIVE")):
            m = mutants.Mutant(name, "x.*", "d", 1)
            m.verdict = verdict
            ms.append(m)
        lines, status = mutants.tally(ms)
        self.assertEqual(status, 1)
        self.assertEqual(lines[0], "2 mutants, 1 killed, 0 survived, "
                         "1 inconclusive")
        self.assertIn("B neither killed nor survived", lines[1])
        lines, status = mutants.tally(ms[:1])
        self.assertEqual((lines, status), (["1 mutants, 1 killed, 0 "
                                            "survived"], 0))

    def test_host_rows(self):
        tmp = tempfile.mkdtemp(prefix="test-mutants-")
        try:
            table = os.path.join(tmp, "mutants.txt")
            with open(table, "w") as f:
                f.write("# comment\nA  tlb.*  kernel row\n"
                        "B  host:asid_model_test  host row (R7)\n")
            a, b = mutants.parse_table(table)
            self.assertEqual((a.host, b.host), (None, "asid_model_test"))
            with open(table, "w") as f:
                f.write("C  host:no_such_test  d\n")
            with self.assertRaises(mutants.TableError):
                mutants.parse_table(table)
        finally:
            shutil.rmtree(tmp)

        class A:
            host_cc, host_cflags = "gcc", "-O1 -I."
        cmd = mutants.host_compile_cmd(A, "asid_model_test", "out", "X_Y")
        self.assertEqual(cmd[:3], ["gcc", "-O1", "-I."])
        self.assertIn("-DMUTATION_X_Y=1", cmd)
        self.assertIn("arch/x86_64/asid.c", cmd)
        self.assertEqual(cmd[-2:], ["-o", "out"])
        self.assertNotIn("-DMUTATION_X_Y=1",
                         mutants.host_compile_cmd(A, "asid_model_test", "o"))

        c = mutants.classify_host
        v, d = c("asid_model_test", 1,
                 "FAIL seed=0x5 step=3 (1 cpus)\n  R7: stale slot\n"
                 "last events:\n", 2)
        self.assertEqual(v, "KILLED")
        self.assertIn("FAIL seed=0x5 step=3 (1 cpus): R7: stale slot", d)
        self.assertEqual(c("asid_model_test", 0, "asid_model_test: ok\n",
                           2)[0], "SURVIVED")
        v, d = c("asid_model_test", None, "", 600)
        self.assertEqual(v, "KILLED")
        self.assertIn("timeout", d)
        v, d = c("asid_model_test", 1, "x\n==1==ERROR: AddressSanitizer: "
                 "heap-buffer-overflow\n", 1)
        self.assertIn("AddressSanitizer", d)

    def test_runner_cmd(self):
        class A:
            timeout, runner_args = None, ["--smp", "4"]
        cmd = mutants.runner_cmd(A, "k.elf", "tlb.*", "x.log", 1)
        self.assertNotIn("--timeout", cmd)
        self.assertEqual(cmd[cmd.index("--host-cores") + 1], "1")
        A.timeout = 99
        cmd = mutants.runner_cmd(A, "k.elf", "tlb.*", "x.log")
        self.assertEqual(cmd[cmd.index("--timeout") + 1], "99")
        self.assertNotIn("--host-cores", cmd)


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
                   timeout=20, disk=True, smp=2):
        logsrc = os.path.join(self.tmp, "canned.log")
        with open(logsrc, "w") as f:
            f.write(log_text)
        env = dict(os.environ, FAKE_QEMU_LOG=logsrc,
                   FAKE_QEMU_EXIT=str(exit_code), FAKE_QEMU_SLEEP=str(sleep),
                   FAKE_QEMU_ARGS=self.argsfile)
        cmd = [sys.executable, os.path.join(HERE, "runner.py"),
               "--qemu", self.qemu, "--log", self.log,
               "--smp", str(smp), "--cmdline", "ktest.run=1 qemu_exit=1"]
        if timeout is not None:
            cmd += ["--timeout", str(timeout)]
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

    def test_bugs_in_suite(self):
        text = PASS_LOG.replace(
            "    ok 2 poison\n",
            "BUG (expected): use after free: page pfn 0x1234 written after "
            "it was freed\n"
            "    ok 2 poison\n")
        rc, out = self.run_runner(text, exit_code=1)
        self.assertEqual(rc, 0, out)
        # One nobody expected fails the case running at the time; the run
        # goes on to the end, and the kernel's exit code (pass) is no
        # contradiction.
        text = PASS_LOG.replace(
            "    ok 2 poison\n",
            "BUG: use after free: page pfn 0x1234 written after it was freed\n"
            "    ok 2 poison\n")
        rc, out = self.run_runner(text, exit_code=1)
        self.assertEqual(rc, 1, out)
        body = out.splitlines()
        self.assertIn("FAIL pmm.poison (unexpected BUG report: BUG: use after "
                      "free: page pfn 0x1234 written after it was freed)",
                      body)
        self.assertIn("PASS smp.call_function", body)
        self.assertNotIn("isa-debug-exit", out)
        self.assertNotIn("FAIL:", out)
        self.assertEqual(body[-1], "3 passed, 1 failed, 1 skipped")
        # ... but a BUG during boot, before the suite, is fatal.
        rc, out = self.run_runner("BUG: at kernel/main.c:10 on CPU 0\n" +
                                  PASS_LOG, exit_code=1, sleep=60)
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL: kernel BUG outside the test suite", out)

    def test_no_match_filter(self):
        text = ("# ktest: error: filter 'nomatch' selects no test case\n"
                "KTAP version 1\n1..0\n# ktest: 0 passed, 1 failed, 0 skipped\n"
                "# ktest: done\n")
        rc, out = self.run_runner(text, exit_code=3)
        self.assertEqual(rc, 1, out)
        body = out.splitlines()
        self.assertEqual([x for x in body if x.startswith("FAIL")],
                         ["FAIL: filter 'nomatch' selects no test case"])
        self.assertEqual(body[-1], "0 passed, 1 failed, 0 skipped")
        # An older kernel that runs just the leaks suite and says pass.
        text = ("KTAP version 1\n1..1\n    # Subtest: leaks\n    1..1\n"
                "    ok 1 no_leaked_pages\nok 1 leaks\n# ktest: done\n")
        rc, out = self.run_runner(text, exit_code=1)
        self.assertEqual(rc, 1, out)
        body = out.splitlines()
        self.assertEqual([x for x in body if x.startswith("FAIL")],
                         ["FAIL: no test case ran"])
        self.assertEqual(body[-1], "1 passed, 1 failed, 0 skipped")

    def test_loader_failure(self):
        # The loader gives up; OVMF then waits in its shell forever.
        text = ("\x1b[2J\x1b[01;01HBdsDxe: starting Boot0001\r\n"
                "loader: UEFI boot loader, boot_info v1\r\n"
                "loader: error: kernel.elf: not an ELF file (bad magic "
                "7f 45 4c 47)\r\n"
                "loader: boot failed: kernel.elf: not an ELF file (bad magic "
                "7f 45 4c 47)\r\n"
                "loader: returning to the firmware in 3 s\r\n"
                "\x1b[0mShell> \r\n")
        for extra in ([], ["--expect", "monitor: ready"]):
            rc, out = self.run_runner(text, sleep=60, timeout=40,
                                      extra=extra)
            self.assertEqual(rc, 1, out)
            self.assertLess(self.elapsed, 20)  # did not wait for the timeout
            body = out.splitlines()
            self.assertEqual([x for x in body if x.startswith("FAIL")],
                             ["FAIL: loader: boot failed: kernel.elf: not an "
                              "ELF file (bad magic 7f 45 4c 47)"])
            i = body.index("loader output (3 lines):")
            self.assertEqual(body[i + 1], "  | loader: UEFI boot loader, "
                             "boot_info v1")
            self.assertNotIn("\x1b", out)
            self.assertEqual(body[-1], "0 passed, 1 failed, 0 skipped")
            self.assertFalse(self.qemu_alive())
        # An older loader: `boot failed; returning ...`, every line twice.
        old = ("loader: UEFI boot loader\nloader: UEFI boot loader\n"
               "loader: error: \\kernel.elf not found on the boot volume\n"
               "loader: error: \\kernel.elf not found on the boot volume\n"
               "loader: boot failed; returning to the firmware in 3 s\n"
               "loader: boot failed; returning to the firmware in 3 s\n")
        rc, out = self.run_runner(old, sleep=60, timeout=40)
        self.assertEqual(rc, 1, out)
        self.assertLess(self.elapsed, 20)
        self.assertIn("FAIL: loader: boot failed: \\kernel.elf not found on "
                      "the boot volume\n", out)
        # And a saved log says the same.
        path = os.path.join(self.tmp, "saved.log")
        with open(path, "w") as f:
            f.write(text)
        proc = subprocess.run([sys.executable, os.path.join(HERE, "runner.py"),
                               "--parse", path], stdout=subprocess.PIPE,
                              text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("FAIL: loader: boot failed: kernel.elf: not an ELF "
                      "file", proc.stdout)

    def test_restart(self):
        # The machine resets without QEMU exiting (e.g. an older runner
        # without -no-reboot): the KTAP output starts over.
        text = "\n".join(lines(PASS_LOG)[:10]) + "\n" + PASS_LOG
        rc, out = self.run_runner(text, exit_code=1)
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL: the KTAP output started again (did the machine "
                      "reset?)", out)
        self.assertIn("FAIL pmm (incomplete: 1 of 2 results, the KTAP output "
                      "started again)", out)

    def test_print_cmd(self):
        rc, out = self.run_runner(PASS_LOG, extra=["--print-cmd"])
        self.assertEqual(rc, 0, out)
        self.assertFalse(os.path.exists(self.argsfile))  # QEMU never ran
        cmd = shlex.split(out.strip())
        self.assertEqual(cmd[0], self.qemu)
        self.assertIn("-no-reboot", cmd)
        self.assertIn("isa-debug-exit,iobase=0xf4,iosize=0x04", cmd)
        # Interactive: no -no-reboot (the monitor's `reboot` reboots).
        rc, out = self.run_runner(PASS_LOG, extra=["--print-cmd",
                                                   "--interactive"])
        self.assertEqual(rc, 0, out)
        self.assertNotIn("-no-reboot", shlex.split(out.strip()))
        self.assertFalse(os.path.exists(self.argsfile))

    def test_default_timeout_scales(self):
        rc, out = self.run_runner(PASS_LOG, timeout=None, smp=16,
                                  extra=["--host-cores", "2"])
        self.assertEqual(rc, 0, out)
        self.assertIn(", timeout 960 s (16 vCPUs on 2 host cores),",
                      out.splitlines()[0])
        rc, out = self.run_runner(PASS_LOG, timeout=None, smp=4,
                                  extra=["--host-cores", "2"])
        self.assertIn(", timeout 240 s,", out.splitlines()[0])
        rc, out = self.run_runner(PASS_LOG, timeout=33, smp=16,
                                  extra=["--host-cores", "2"])
        self.assertIn(", timeout 33 s,", out.splitlines()[0])

    def test_hang(self):
        # OVMF opens the log with escape codes: neither the log nor what
        # the runner prints keeps them (they would clear a reader's screen).
        text = "\x1b[2J\x1b[01;01H\x1b[=3h" + \
            "\n".join(lines(PASS_LOG)[:10]) + "\n"
        rc, out = self.run_runner(text, sleep=60, timeout=2)
        self.assertEqual(rc, 1, out)
        self.assertLess(self.elapsed, 20)
        self.assertIn("FAIL: timed out after 2 s", out)
        self.assertIn("last 30 console lines:", out)
        self.assertNotIn("\x1b", out)
        self.assertIn("  | BdsDxe: loading Boot0001", out)
        self.assertIn("  |     ok 1 alloc_free", out)
        with open(self.log) as f:
            logged = f.read()
        self.assertNotIn("\x1b", logged)
        self.assertTrue(logged.startswith("BdsDxe: loading Boot0001"), logged[:80])
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


class InitOutcomeTest(unittest.TestCase):
    """--init: the `init:` console line becomes a shell-style exit code."""

    def test_outcomes(self):
        f = runner.init_outcome
        self.assertEqual(f("init: /bin/x exited with status 0"), 0)
        self.assertEqual(f("init: /bin/x exited with status 3"), 3)
        self.assertEqual(f("init: /bin/x killed by signal 11 (SIGSEGV)"), 139)
        self.assertEqual(f("init: cannot run /bin/x: ENOENT (-2)"), 127)
        self.assertIsNone(f("init: starting /bin/x with 0 arguments"))
        self.assertIsNone(f("user: init: /bin/x exited with status 0"))


if __name__ == "__main__":
    unittest.main()
