#!/usr/bin/env python3
"""tools/selftest.py - prove end to end that the test harness never lies.

Boots the kernel through tests/runner.py in ways that must FAIL (a filter
that selects nothing, a failing case, a case that hangs, a RAM disk of
garbage, a kernel.elf that is not one, a command line that is too long) and
one that must pass with an expected failure inside it, one boot at a time,
and checks for each row the runner's exit status, its one-line reason, the
diagnostics of the failed case and, where it says so, the raw serial log.
Every row must also end in time (the runner's --timeout is the row's limit,
so a hang shows as `FAIL: timed out`), with a summary line that agrees with
the exit status. Prints one line per row:

    ok   kernel-text: exit 1, `FAIL: loader: boot failed: kernel.elf: ...`
    FAIL case-timeout: expected a line `PASS leaks.no_leaked_pages`, got ...

then `test-verdicts: N/N rows behaved (T s)`. Exit status 0 iff every row
behaved. The runner's output of each row is kept in DIR/<row>.out, its
serial log in DIR/<row>.log; the made-up kernels and RAM disks are DIR/*.

Usage (make test-verdicts does this):
    tools/selftest.py --kernel build/kernel.elf --loader build/BOOTX64.EFI \\
        --initrd build/initrd.img --dir build/selftest [--only ROW,ROW] \\
        [-- MORE RUNNER ARGS, e.g. --mem 512M --cpu max]
"""

import argparse
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "tests", "runner.py")
BASE_CMDLINE = "ktest.run=1 qemu_exit=1"
SUMMARY_RE = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")
CASE_RE = re.compile(r"^(PASS|FAIL|SKIP) ([A-Za-z0-9_]+\.[A-Za-z0-9_.\-]+)\b")
BACKTRACE_RE = re.compile(r"#\s+\[<0x[0-9a-f]+>\] \S+\+0x[0-9a-f]+")
SUITE_LIMIT_S = 90  # a boot that runs a few cases, at 2-3 CPUs
LOADER_LIMIT_S = 60  # a boot that the loader stops


def rel(path):
    r = os.path.relpath(path)
    return path if r.startswith("..") else r


# ------------------------------------------------------------------ inputs


def random_initrd(d):
    path = os.path.join(d, "initrd-random.img")
    with open(path, "wb") as f:
        f.write(os.urandom(4 << 20))
    return path, "4 MiB of os.urandom"


def tiny_initrd(d):
    path = os.path.join(d, "initrd-tiny.img")
    with open(path, "wb") as f:
        f.write(os.urandom(100))
    return path, "100 random bytes"


def text_kernel(d):
    path = os.path.join(d, "kernel-text.elf")
    with open(path, "wb") as f:
        f.write(b"hello")
    return path, "a file holding \"hello\""


def elf32_by_hand():
    """A minimal static i386 executable: one PT_LOAD, code `jmp $`."""
    base = 0x08048000
    code = b"\xeb\xfe"
    ehsize, phsize = 52, 32
    size = ehsize + phsize + len(code)
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)  # ELFCLASS32, LSB
    ehdr = ident + struct.pack(
        "<HHIIIIIHHHHHH", 2, 3, 1, base + ehsize + phsize, ehsize, 0, 0,
        ehsize, phsize, 1, 40, 0, 0)  # ET_EXEC, EM_386
    phdr = struct.pack("<IIIIIIII", 1, 0, base, base, size, size, 5,
                       0x1000)  # PT_LOAD, R+X
    return ehdr + phdr + code


def elf32_kernel(d):
    """gcc -m32 if it can (gcc-multilib, or just binutils' i386 support),
    else an ELF32 header written here."""
    path = os.path.join(d, "kernel-elf32.elf")
    src = os.path.join(d, "elf32.c")
    with open(src, "w") as f:
        f.write("void _start(void) { for (;;) ; }\n")
    try:
        if os.path.exists(path):
            os.unlink(path)
        r = subprocess.run(
            ["gcc", "-m32", "-nostdlib", "-static", "-o", path, src],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=60)
        if r.returncode == 0:
            with open(path, "rb") as f:
                if f.read(5) == b"\x7fELF\x01":
                    return path, "a 32-bit ELF from gcc -m32"
    except (OSError, subprocess.SubprocessError):
        pass
    with open(path, "wb") as f:
        f.write(elf32_by_hand())
    return path, "a 32-bit ELF header written by hand"


# -------------------------------------------------------------------- rows


class Row:
    """One boot and what it must show.

    out: substrings that must be lines of the runner's output (a line
    starts with it); diag: {case: [substring or regex]} that must appear in
    the diagnostics printed under `FAIL case`; order: output lines (by
    prefix) that must come in this order; log / log_not: substrings that
    must (not) be in the raw serial log."""

    def __init__(self, name, cmdline, status=1, smp=2, limit=SUITE_LIMIT_S,
                 kernel=None, initrd=None, out=(), diag=None, order=(),
                 log=(), log_not=(), seen=None):
        self.name = name
        self.cmdline = cmdline
        self.status = status
        self.smp = smp
        self.limit = limit
        self.kernel = kernel  # None: the built one; else f(dir) -> path
        self.initrd = initrd
        self.out = list(out)
        self.diag = diag or {}
        self.order = list(order)
        self.log = list(log)
        self.log_not = list(log_not)
        self.seen = seen  # what the ok line shows: an output line prefix


ROWS = [
    Row("filter-nomatch", "ktest.filter=nomatch",
        out=["FAIL: filter 'nomatch' selects no test case"]),
    Row("filter-partial", "ktest.filter=pmm.alloc_free_orders,nosuch.*",
        out=["FAIL: filter 'nosuch.*' selects no test case"]),
    Row("case-failure", "ktest.filter=ktest.deliberate_failure",
        out=["FAIL ktest.deliberate_failure"],
        diag={"ktest.deliberate_failure": ["at tests/test_ktest.c:"]}),
    Row("case-timeout",
        "ktest.timeout=4 "
        "ktest.filter=ktest.deliberate_timeout,pmm.alloc_free_orders",
        smp=3,
        out=["FAIL ktest.deliberate_timeout", "PASS pmm.alloc_free_orders",
             "PASS leaks.no_leaked_pages"],
        diag={"ktest.deliberate_timeout": ["timed out after 4 s",
                                           BACKTRACE_RE]},
        order=["FAIL ktest.deliberate_timeout",
               "PASS pmm.alloc_free_orders", "PASS leaks.no_leaked_pages"]),
    Row("initrd-random", "ktest.filter=fs.initrd_files",
        initrd=random_initrd,
        out=["FAIL fs.initrd_files"],
        diag={"fs.initrd_files": ["does not mount"]}),
    Row("initrd-tiny", "ktest.filter=fs.initrd_files",
        initrd=tiny_initrd,
        out=["FAIL fs.initrd_files"],
        log=["smaller than one 512-byte sector"]),
    Row("kernel-text", "", kernel=text_kernel, limit=LOADER_LIMIT_S,
        out=["FAIL: loader: boot failed:"]),
    Row("kernel-elf32", "", kernel=elf32_kernel, limit=LOADER_LIMIT_S,
        out=["FAIL: loader: boot failed:"],
        diag={"run": ["not an x86-64 ELF"]}),
    Row("cmdline-long", "x" * 5000, limit=LOADER_LIMIT_S,
        out=["FAIL: loader: boot failed: cmdline.txt is"]),
    Row("expected-failure-passes", "ktest.filter=ktest.expectations_count",
        status=0,
        out=["PASS ktest.expectations_count", "PASS leaks.no_leaked_pages"],
        log=["expected failure"], log_not=["EXPECTATION FAILED"],
        seen="PASS ktest.expectations_count"),
]


# ----------------------------------------------------------------- checking


class Output:
    """The runner's output of one boot, parsed."""

    def __init__(self, text):
        self.lines = text.splitlines()
        self.cases = {}  # name -> (verdict, [diagnostic lines], index)
        self.run_fails = []  # `FAIL: reason` lines
        self.summary = None
        current = None
        for i, line in enumerate(self.lines):
            m = CASE_RE.match(line)
            if m:
                current = [] if m.group(1) == "FAIL" else None
                diag = current if current is not None else []
                self.cases[m.group(2)] = (m.group(1), diag, i)
                continue
            if line.startswith("FAIL: "):
                self.run_fails.append(line)
                current = None
                continue
            if current is not None and line.startswith("    "):
                current.append(line.strip())
                continue
            current = None
            s = SUMMARY_RE.match(line.strip())
            if s:
                self.summary = tuple(int(x) for x in s.groups())

    def index(self, prefix):
        for i, line in enumerate(self.lines):
            if line.startswith(prefix):
                return i
        return None

    def diag(self, case):
        """Diagnostics of a failed case; "run": the lines after the first
        `FAIL:` line (e.g. the loader's output)."""
        if case == "run":
            i = self.index("FAIL: ")
            return [] if i is None else [x.strip() for x in self.lines[i:]]
        return self.cases.get(case, (None, [], None))[1]

    def got(self, status, secs):
        """A short description of what happened."""
        what = ["exit %s" % status]
        first = self.run_fails[:1] or [
            line for line in self.lines if line.startswith("FAIL ")][:1]
        if first:
            what.append("`%s`" % first[0])
        elif self.summary:
            what.append("`%d passed, %d failed, %d skipped`" % self.summary)
        elif not self.lines:
            what.append("no output")
        what.append("after %.0f s" % secs)
        return ", ".join(what)


def matches(pattern, lines):
    for line in lines:
        if (pattern.search(line) if hasattr(pattern, "search")
                else pattern in line):
            return line
    return None


def show(pattern):
    return "/%s/" % pattern.pattern if hasattr(pattern, "pattern") \
        else "`%s`" % pattern


def check(row, status, secs, out, log_text):
    """(None, seen) if the row behaved, else (expected, None)."""
    seen = []
    if status != row.status:
        return "exit %d" % row.status, None
    if matches("FAIL: timed out", out.lines):
        return "an end before the runner's timeout (%d s)" % row.limit, None
    if secs > row.limit:
        return "an end within %d s" % row.limit, None
    if out.summary is None or out.lines[-1].strip() != \
            "%d passed, %d failed, %d skipped" % out.summary:
        return "a last line `N passed, N failed, N skipped`", None
    if (out.summary[1] == 0) != (status == 0):
        return "a summary (%d failed) that agrees with exit %d" % (
            out.summary[1], status), None
    for prefix in row.out:
        i = out.index(prefix)
        if i is None:
            return "a line `%s`" % prefix, None
    for case, pats in row.diag.items():
        lines = out.diag(case)
        for p in pats:
            hit = matches(p, lines)
            if hit is None:
                return "%s in the diagnostics of %s" % (show(p), case), None
            if case != "run" or p not in row.out:
                seen.append(hit.lstrip("# |").strip())
    last = -1
    for prefix in row.order:
        i = out.index(prefix)
        if i is None or i < last:
            return "the lines in this order: %s" % ", ".join(
                "`%s`" % x for x in row.order), None
        last = i
    for s in row.log:
        hit = matches(s, log_text.splitlines())
        if hit is None:
            return "`%s` in the serial log" % s, None
        seen.append("log: " + hit.strip().lstrip("# ").strip())
    for s in row.log_not:
        hit = matches(s, log_text.splitlines())
        if hit is not None:
            return "no `%s` in the serial log (it has: %s)" % (
                s, hit.strip()), None
    key = row.seen or (row.out[0] if row.out else None)
    first = [line for line in out.lines if key and line.startswith(key)]
    head = ["exit %d" % status]
    if first:
        head.append("`%s`" % first[0])
    if row.order:
        head.append("then " + ", ".join("`%s`" % x for x in row.order[1:]))
    for x in seen:
        if "`%s`" % x not in head:
            head.append("`%s`" % x)
    return None, ", ".join(head) + " (%.0f s" % secs


# ------------------------------------------------------------------ running


class Runner:
    def __init__(self, args, extra):
        self.args = args
        self.extra = extra
        self.proc = None

    def run(self, row):
        d = self.args.dir
        kernel, initrd, made = self.args.kernel, self.args.initrd, None
        if row.kernel:
            kernel, made = row.kernel(d)
        if row.initrd:
            initrd, made = row.initrd(d)
        log = os.path.join(d, row.name + ".log")
        outp = os.path.join(d, row.name + ".out")
        for p in (log, outp):
            if os.path.exists(p):
                os.unlink(p)
        cmdline = (BASE_CMDLINE + " " + row.cmdline).strip()
        cmd = [sys.executable, RUNNER, "--kernel", kernel,
               "--loader", self.args.loader]
        if initrd:
            cmd += ["--initrd", initrd]
        cmd += self.extra + ["--smp", str(row.smp),
                             "--timeout", str(row.limit),
                             "--cmdline", cmdline, "--log", log]
        t0 = time.monotonic()
        with open(outp, "w") as f:
            self.proc = subprocess.Popen(
                cmd, stdout=f, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=ROOT)
            try:
                status = self.proc.wait(timeout=row.limit + 60)
            except subprocess.TimeoutExpired:
                self.stop()
                status = "killed (the runner overran its --timeout)"
            finally:
                self.proc = None
        secs = time.monotonic() - t0
        with open(outp, errors="replace") as f:
            out = Output(f.read())
        try:
            with open(log, "rb") as f:
                log_text = f.read().decode("utf-8", "replace")
        except OSError:
            log_text = ""
        if isinstance(status, int):
            expected, seen = check(row, status, secs, out, log_text)
        else:
            expected, seen = "exit %d" % row.status, None
        if expected is None:
            seen += "; kernel.elf: %s)" % made if row.kernel else \
                "; initrd: %s)" % made if row.initrd else ")"
            return True, "ok   %s: %s" % (row.name, seen), secs
        return False, "FAIL %s: expected %s, got %s (see %s, %s)" % (
            row.name, expected, out.got(status, secs), rel(outp),
            rel(log)), secs

    def stop(self):
        p = self.proc
        if p is not None and p.poll() is None:
            p.terminate()  # the runner stops its QEMU on SIGTERM
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(
        description="Boots that must fail, each with its reason: prove "
        "the test harness never lies.")
    ap.add_argument("--kernel", default="build/kernel.elf")
    ap.add_argument("--loader", default="build/BOOTX64.EFI")
    ap.add_argument("--initrd", default=None)
    ap.add_argument("--dir", default=os.path.join("build", "selftest"))
    ap.add_argument("--only", default="",
                    help="run only these rows (comma-separated)")
    ap.add_argument("--list", action="store_true", help="list the rows")
    args = ap.parse_args(argv)
    if args.list:
        for row in ROWS:
            print("%-24s smp=%d exit %d  %s" % (row.name, row.smp,
                                                row.status, row.cmdline[:60]))
        return 0
    rows = ROWS
    if args.only.strip():
        want = [w for w in re.split(r"[\s,]+", args.only.strip()) if w]
        names = [r.name for r in ROWS]
        unknown = [w for w in want if w not in names]
        if unknown:
            print("test-verdicts: unknown row%s %s (rows: %s)" % (
                "s" * (len(unknown) > 1), ", ".join(unknown),
                ", ".join(names)))
            return 2
        rows = [r for r in ROWS if r.name in want]
    for p in (args.kernel, args.loader, args.initrd):
        if p and not os.path.isfile(p):
            print("test-verdicts: %s not found (make all)" % p)
            return 2
    if shutil.which("qemu-system-x86_64") is None and \
            not any(a.startswith("--qemu") for a in extra):
        print("test-verdicts: qemu-system-x86_64 not found (make deps)")
        return 2
    os.makedirs(args.dir, exist_ok=True)
    args.kernel, args.loader = (os.path.abspath(args.kernel),
                                os.path.abspath(args.loader))
    args.initrd = os.path.abspath(args.initrd) if args.initrd else None
    args.dir = os.path.abspath(args.dir)

    runner = Runner(args, extra)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    print("test-verdicts: %d boots that must end as expected, one at a "
          "time; outputs and logs in %s" % (len(rows), rel(args.dir)))
    sys.stdout.flush()
    t0 = time.monotonic()
    good = 0
    try:
        for row in rows:
            ok, line, _ = runner.run(row)
            good += ok
            print(line)
            sys.stdout.flush()
    except (KeyboardInterrupt, SystemExit):
        runner.stop()
        print("test-verdicts: interrupted")
        return 130
    print("test-verdicts: %d/%d rows behaved (%.0f s)" % (
        good, len(rows), time.monotonic() - t0))
    return 0 if good == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
