#!/usr/bin/env python3
"""tools/compare/compare.py - `make compare` (tests/compare.mk): the same
static programs on this kernel and on Debian's Linux 6.1, in the same QEMU
machine (q35, the same -cpu, -smp, -m, TCG with a thread per vCPU, OVMF),
one boot per kernel running every selected program in turn.

  1. Linux: tools/compare/linux.py fetches the package linux-image-amd64
     depends on (apt-get download + dpkg-deb -x into build/linux/, cached).
  2. Linux's initramfs (build/compare/initramfs.cpio.gz, written by
     tools/compare/cpio.py): /init = build/user/compare_init
     (tests/user/compare_init.c), /dev/console, /bin = build/user/* (the
     programs of tests/user.mk and tests/user/bench/), the modules brd
     (/dev/ram0) and ext4 with its dependencies (Debian builds ext2 support
     into ext4: CONFIG_EXT2_FS unset, CONFIG_EXT4_USE_FOR_EXT2=y, ext4=m),
     /ext2.sparse: an ext2 image of RD_SIZE MiB made by the host's mke2fs
     (its non-zero blocks only), which compare_init writes to /dev/ram0 and
     makes the programs' root: the files the programs create in "/" live on
     a block-device file system (page cache, writeback, O_DIRECT), the
     closest to this kernel's SFS on its RAM disk. Linux's tmpfs is no
     match: no O_DIRECT before 6.6, no writeback.
     Linux boots with `console=ttyS0 transparent_hugepage=never
     mitigations=off quiet panic=-1 -- -t LIMIT -f /compare.list`.
  3. This kernel: a copy of the initrd (build/compare/initrd.img, SFS,
     tools/mkfs_sfs) with /bin/compare_init and /compare.list, booted by
     tests/runner.py --init with `init=/bin/compare_init qemu_exit=1
     ramdisk.size=RD_SIZE -- -t LIMIT -f /compare.list`.
  4. The console of each boot is kept (build/compare/{this,linux}.log);
     compare_init's `compare: run/exit` lines delimit each program's output,
     whose KTAP lines are compared by their text. While a boot runs, each
     `compare: run/exit` line is shown as it arrives (which kernel, which
     program, how many left; the exit status, seconds and figures of each).
     One table, the checks that differ.
  5. The benchmarks (tools/compare/stats.py): every "bench: FIGURE: VALUE
     UNIT" line of a program is one repetition of FIGURE. Per figure and per
     kernel, the median of the repetitions and their spread (half the
     min-max range, in percent of the median: "median ±S%"); the ratio of
     the two medians, ABOVE 1 WHEN THIS KERNEL IS BETTER: Linux/this for
     costs (cycles, ipis), this/Linux for rates (ops/s, MB/s); a figure
     where this kernel is worse by more than 1.25x (ratio < 0.8) is flagged
     WORSE. A second table, after the functional one.
  6. Files: build/compare.json (configuration, every program's raw result
     with its bench lines, and "benchmarks": per figure the raw repetitions
     and the aggregates of each kernel, the ratio, the flag);
     build/compare.svg (tools/compare/svg.py), a bar chart of the ratios,
     one bar per figure grouped by program, the SMP count in the title.
     `compare.py --chart OUT.svg A.json B.json ...` draws the runs of
     several compare.json (e.g. SMP=1, 2, 4) on one chart.

Exit status: 0 when both boots ran every program (differences are the
result, not an error), 1 when a boot failed, 2 on a usage or set-up error.
"""
import argparse
import fnmatch
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import cpio  # noqa: E402
import linux  # noqa: E402
import programs  # noqa: E402
import stats  # noqa: E402
import svg  # noqa: E402

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
DEBUG_EXIT_PORT = 0xF4
LINUX_APPEND = "console=ttyS0 transparent_hugepage=never mitigations=off " \
    "quiet panic=-1"
LINUX_MODULES = ["brd", "crc32c_generic", "ext4"]
KERNELS = (("this", "this kernel"), ("linux", "Linux"))

ANSI_RE = re.compile(r"\x1b(\[[0-9;?=<>]*[ -/]*[@-~]|[@-Z\\-_])")
CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
RUN_RE = re.compile(r"^compare: run (\d+)/(\d+) (.*)$")
EXIT_RE = re.compile(r"^compare: exit (\d+) (\d+) (\d+)\s*$")
DONE_RE = re.compile(r"^compare: done (\d+)\s*$")
KERNEL_RE = re.compile(r"^compare: kernel (.*)$")
ROOT_RE = re.compile(r"^compare: root (.*)$")
FACT_RE = re.compile(r"^compare: fact (\S+) (.*)$")
WARN_RE = re.compile(r"^compare: (warning: .*|cannot run .*)$")
RESULT_RE = re.compile(r"^(ok|not ok) (\d+)(?: (?:- )?([^#]*?))?\s*"
                       r"(?:#\s*(.*?))?\s*$")
BENCH_RE = re.compile(r"^bench: ([^:]+): (\S+)\s*(.*)$")
PANIC_RE = re.compile(r"Kernel panic|KERNEL PANIC")
TS_RE = re.compile(r"^\[\s*\d+\.\d+\] ")  # a Linux printk time stamp


def clean(line):
    return CTRL_RE.sub("", ANSI_RE.sub("", line)).rstrip()


def say(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------- selection

def select(tests):
    """[(name, argv)] of PROGRAMS + BENCHMARKS named by TESTS (all if empty)."""
    every = programs.PROGRAMS + programs.BENCHMARKS
    if not tests:
        return every, []
    pats = [t.strip() for t in tests.split(",") if t.strip()]
    chosen = [p for p in every if any(fnmatch.fnmatchcase(p[0], pat)
                                      for pat in pats)]
    unknown = [pat for pat in pats if not any(
        fnmatch.fnmatchcase(p[0], pat) for p in every)]
    return chosen, unknown


# ---------------------------------------------------------------- images

def user_files(build):
    """{guest path: host path} of build/user/* and build/user/bench/*."""
    out = {}
    for sub, guest in (("user", "/bin"), (os.path.join("user", "bench"),
                                          "/bin/bench")):
        d = os.path.join(build, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                out["%s/%s" % (guest, name)] = p
    return out


def list_text(chosen):
    return "".join(" ".join(argv) + "\n" for _, argv in chosen)


def ext2_sparse(workdir, size_mib):
    """The non-zero blocks of a fresh ext2 image (bin, dev, proc, tmp made),
    as compare_init reads them: u64 offset, u32 length, data. None when the
    host has no mke2fs."""
    mke2fs = shutil.which("mke2fs") or (
        "/usr/sbin/mke2fs" if os.path.exists("/usr/sbin/mke2fs") else None)
    if not mke2fs:
        return None
    tree = os.path.join(workdir, "ext2.d")
    shutil.rmtree(tree, ignore_errors=True)
    for d in ("bin", "dev", "proc", "tmp"):
        os.makedirs(os.path.join(tree, d))
    img = os.path.join(workdir, "ext2.img")
    if os.path.exists(img):
        os.unlink(img)
    r = subprocess.run([mke2fs, "-q", "-F", "-t", "ext2", "-b", "4096",
                        "-m", "0", "-E", "root_owner=0:0", "-d", tree, img,
                        "%dM" % size_mib], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        say("compare: warning: mke2fs failed: %s" % r.stdout.strip())
        return None
    out = []
    block = 4096
    with open(img, "rb") as f:
        off = 0
        run_start, run = None, []
        while True:
            b = f.read(block)
            if not b:
                break
            if b.count(0) != len(b):
                if run_start is None:
                    run_start = off
                run.append(b)
            elif run_start is not None:
                data = b"".join(run)
                out.append(struct.pack("<QI", run_start, len(data)) + data)
                run_start, run = None, []
            off += len(b)
        if run_start is not None:
            data = b"".join(run)
            out.append(struct.pack("<QI", run_start, len(data)) + data)
    os.unlink(img)
    shutil.rmtree(tree, ignore_errors=True)
    return b"".join(out)


def linux_initramfs(build, workdir, info, chosen, rd_mib, limit):
    w = cpio.Writer()
    for d in ("dev", "proc", "tmp", "bin", "lib/modules"):
        w.dir(d)
    w.chardev("dev/console", 5, 1, 0o600)
    with open(os.path.join(build, "user", "compare_init"), "rb") as f:
        w.file("init", f.read(), 0o755)
    for guest, host in user_files(build).items():
        with open(host, "rb") as f:
            w.file(guest, f.read(), 0o755)
    w.file("compare.list", list_text(chosen).encode())
    mods = linux.modules(info, LINUX_MODULES)
    lines = []
    for name, data in mods:
        w.file("lib/modules/%s.ko" % name, data)
        params = " rd_nr=1 rd_size=%d" % (rd_mib * 1024) if name == "brd" \
            else ""
        lines.append("/lib/modules/%s.ko%s\n" % (name, params))
    w.file("compare.modules", "".join(lines).encode())
    image = ext2_sparse(workdir, rd_mib)
    if image is not None:
        w.file("ext2.sparse", image)
    path = os.path.join(workdir, "initramfs.cpio.gz")
    with open(path, "wb") as f:
        f.write(w.gzip())
    return path, [n for n, _ in mods], image is not None


def our_initrd(build, workdir, chosen):
    """A copy of the initrd of make test with compare_init and the list."""
    mkfs = os.path.join(build, "host", "mkfs_sfs")
    lst = os.path.join(workdir, "compare.list")
    with open(lst, "w") as f:
        f.write(list_text(chosen))
    files = user_files(build)
    total = sum(os.path.getsize(p) for p in files.values())
    size_kib = (12288 + total // 1024 + 1024) // 4 * 4
    specs = ["%s:%s" % (host, guest) for guest, host in files.items()]
    initrd_d = os.path.join(build, "initrd.d")
    for extra in ("hello.txt", "pattern.bin"):
        p = os.path.join(initrd_d, extra)
        if os.path.exists(p):
            specs.append("%s:/%s" % (p, extra))
    specs.append("%s:/compare.list" % lst)
    out = os.path.join(workdir, "initrd.img")
    r = subprocess.run([mkfs, out + ".tmp", str(size_kib), "--max-size",
                        "16G", "--mkdir", "/docs"] + specs,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode:
        raise RuntimeError("mkfs_sfs failed: %s" % r.stdout.strip())
    os.rename(out + ".tmp", out)
    return out


# ---------------------------------------------------------------- boots

class Progress:
    """Shows compare_init's lines as they arrive: `[KERNEL] I/N PROGRAM
    (K left)` before a program, `[KERNEL] I/N exit S, T s, F figures` after
    it; warnings and panics."""

    def __init__(self, label, out=None):
        self.label = label
        self.out = out or say
        self.figures = 0
        self.total = "?"

    def feed(self, text):
        m = RUN_RE.match(text)
        if m:
            i, n = int(m.group(1)), int(m.group(2))
            self.figures = 0
            self.total = n
            self.out("compare: [%s] %d/%d %s (%d left after it)" %
                     (self.label, i, n, m.group(3), n - i))
            return
        m = EXIT_RE.match(text)
        if m:
            self.out("compare: [%s] %s/%s exit %s, %.1f s%s" % (
                self.label, m.group(1), self.total,
                m.group(2), int(m.group(3)) / 1000.0,
                ", %d figure lines" % self.figures if self.figures else ""))
            return
        if BENCH_RE.match(TS_RE.sub("", text)):
            self.figures += 1
        elif WARN_RE.match(text) or PANIC_RE.search(text):
            self.out("compare: [%s] %s" % (self.label, text))


def stream(cmd, log_path, label, timeout, done_re=DONE_RE):
    """Run CMD, its output to LOG_PATH, progress on stdout. (status, error)."""
    prog = Progress(label)
    start = time.monotonic()
    err = None
    with open(log_path, "wb") as log:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        try:
            import selectors
            sel = selectors.DefaultSelector()
            sel.register(p.stdout, selectors.EVENT_READ)
            buf = b""
            while True:
                left = timeout - (time.monotonic() - start)
                if left <= 0:
                    err = "timed out after %d s" % timeout
                    break
                if not sel.select(min(left, 5)):
                    continue
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                log.write(chunk)
                log.flush()
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    prog.feed(clean(line.decode("utf-8", "replace")))
            status = p.wait(timeout=30) if err is None else None
        finally:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, 9)
                except OSError:
                    pass
                p.wait()
    return status, err


def boot_this(args, initrd, limit):
    cmd = [sys.executable, os.path.join(ROOT, "tests", "runner.py"), "--init",
           "--kernel", os.path.join(args.build, "kernel.elf"),
           "--loader", os.path.join(args.build, "BOOTX64.EFI"),
           "--initrd", initrd, "--smp", str(args.smp), "--mem", args.mem,
           "--cpu", args.cpu, "--timeout", str(args.boot_timeout),
           "--log", os.path.join(args.outdir, "this.log"),
           "--cmdline", "init=/bin/compare_init qemu_exit=1 ramdisk.size=%dM %s"
           "-- -t %d -f /compare.list" % (
               args.rd_size, args.this_cmdline + " " if args.this_cmdline else "",
               limit)]
    cmd += ["--qemu-arg=%s" % a for a in args.qemu_arg]
    status, err = stream(cmd, os.path.join(args.outdir, "this.stdout"),
                         "this kernel" + args.boot_label.get("this", ""),
                         args.boot_timeout + 60)
    if err is None and status not in (0,):
        err = "tests/runner.py --init exited %s (see %s)" % (
            status, os.path.join(args.outdir, "this.log"))
    return err, status


def boot_linux(args, info, initramfs, limit):
    tmp = tempfile.mkdtemp(prefix="compare-")
    try:
        vars_copy = os.path.join(tmp, "vars.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        cmd = [args.qemu, "-machine", "q35", "-cpu", args.cpu,
               "-smp", str(args.smp), "-m", args.mem,
               "-accel", "tcg,thread=multi",
               "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" %
               OVMF_CODE,
               "-drive", "if=pflash,format=raw,unit=1,file=%s" % vars_copy,
               "-device", "isa-debug-exit,iobase=0x%x,iosize=0x04" %
               DEBUG_EXIT_PORT,
               "-nic", "none", "-no-reboot", "-display", "none",
               "-serial", "stdio", "-monitor", "none", "-parallel", "none",
               "-kernel", info["vmlinuz"], "-initrd", initramfs,
               "-append", "%s -- -t %d -f /compare.list" %
               (LINUX_APPEND, limit)] + args.qemu_arg
        with open(os.path.join(args.outdir, "linux.cmd"), "w") as f:
            f.write(" ".join(cmd) + "\n")
        status, err = stream(cmd, os.path.join(args.outdir, "linux.log"),
                             "Linux" + args.boot_label.get("linux", ""),
                             args.boot_timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if err is None and status != 1:
        err = "QEMU exited with status %s, not through isa-debug-exit " \
            "code 0 (see %s)" % (status, os.path.join(args.outdir,
                                                      "linux.log"))
    return err, status


# ---------------------------------------------------------------- parsing

def parse_log(path):
    """The runs of a console log: {idx: run}, plus kernel, root, done."""
    res = {"kernel": None, "root": None, "done": False, "warnings": [],
           "runs": {}, "panic": None, "facts": {}}
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return res
    cur = None
    for raw in data.splitlines():
        text = clean(raw)
        if PANIC_RE.search(text) and res["panic"] is None:
            res["panic"] = text
        m = KERNEL_RE.match(text)
        if m:
            res["kernel"] = m.group(1)
            continue
        m = ROOT_RE.match(text)
        if m:
            res["root"] = m.group(1)
            continue
        m = FACT_RE.match(text)
        if m:
            res["facts"][m.group(1)] = m.group(2)
            continue
        m = RUN_RE.match(text)
        if m:
            cur = {"index": int(m.group(1)), "command": m.group(3),
                   "status": None, "ms": None, "lines": [], "checks": [],
                   "bench": []}
            res["runs"][cur["index"]] = cur
            continue
        m = EXIT_RE.match(text)
        if m and cur is not None and int(m.group(1)) == cur["index"]:
            cur["status"] = int(m.group(2))
            cur["ms"] = int(m.group(3))
            cur = None
            continue
        if DONE_RE.match(text):
            res["done"] = True
            continue
        m = WARN_RE.match(text)
        if m:
            res["warnings"].append(m.group(1))
        if cur is None:
            continue
        cur["lines"].append(text)
        body = TS_RE.sub("", text)
        m = RESULT_RE.match(body)
        if m:
            directive = m.group(4) or ""
            status = "skip" if directive.upper().startswith("SKIP") else \
                ("pass" if m.group(1) == "ok" else "fail")
            cur["checks"].append({"n": int(m.group(2)),
                                  "what": (m.group(3) or "").strip(),
                                  "status": status, "line": body})
        m = BENCH_RE.match(body)
        if m:
            cur["bench"].append({"figure": m.group(1), "value": m.group(2),
                                 "unit": m.group(3)})
    return res


def keyed(checks):
    """{check text: status}; a repeated text gets ' (#k)'."""
    out, seen = {}, {}
    for c in checks:
        k = c["what"] or "#%d" % c["n"]
        seen[k] = seen.get(k, 0) + 1
        if seen[k] > 1:
            k = "%s (#%d)" % (k, seen[k])
        out[k] = c
    return out


def cell(run):
    if run is None:
        return "not run"
    if run["status"] is None:
        return "no exit (boot ended)"
    s = "exit %d" % run["status"]
    if run["checks"]:
        ok = sum(c["status"] == "pass" for c in run["checks"])
        s += ", %d/%d ok" % (ok, len(run["checks"]))
        sk = sum(c["status"] == "skip" for c in run["checks"])
        if sk:
            s += " (%d skip)" % sk
    return s


def compare_run(a, b):
    """(agree, [difference lines]) of one program's runs."""
    diffs = []
    if a is None or b is None or a["status"] is None or b["status"] is None:
        return False, ["did not run to the end on %s" % " and ".join(
            lab for (k, lab), r in zip(KERNELS, (a, b))
            if r is None or r["status"] is None)]
    if a["status"] != b["status"]:
        diffs.append("exit status: this kernel %d, Linux %d" %
                     (a["status"], b["status"]))
    ka, kb = keyed(a["checks"]), keyed(b["checks"])
    for k in list(ka) + [k for k in kb if k not in ka]:
        ca, cb = ka.get(k), kb.get(k)
        sa = ca["status"] if ca else "absent"
        sb = cb["status"] if cb else "absent"
        if sa != sb:
            diffs.append("%s: this kernel %s, Linux %s%s%s" % (
                k, sa, sb,
                "\n      this:  %s" % ca["line"] if ca else "",
                "\n      Linux: %s" % cb["line"] if cb else ""))
    return not diffs, diffs


def table(rows, headers):
    widths = [max(len(str(r[i])) for r in rows + [headers])
              for i in range(len(headers))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    out = [fmt % tuple(headers), fmt % tuple("-" * w for w in widths)]
    out += [fmt % tuple(r) for r in rows]
    return [l.rstrip() for l in out]


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--smp", type=int, default=4)
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--cpu", default="max,la57=off",
                    help="QEMU -cpu of both boots (la57=off: Linux would "
                    "use 5-level paging, this kernel has 4 levels)")
    ap.add_argument("--tests", default="",
                    help="comma-separated names or globs (see --list)")
    ap.add_argument("--run", default="",
                    help="extra programs to run, not in programs.py: "
                    "'/bin/x a b ; /bin/y' (named run-1, run-2, ...)")
    ap.add_argument("--rd-size", type=int, default=64,
                    help="MiB of the RAM disk of both kernels")
    ap.add_argument("--limit", type=int, default=300,
                    help="seconds a program may take before it is killed")
    ap.add_argument("--boot-timeout", type=int, default=1800)
    ap.add_argument("--this-cmdline", default=os.environ.get("THIS_CMDLINE", ""),
                    help="extra command-line words for this kernel (e.g. "
                    "spinlock=fair)")
    ap.add_argument("--kernels", default="this,linux",
                    help="which to boot: this,linux (the other's log is "
                    "read from the last run)")
    ap.add_argument("--qemu", default=os.environ.get("QEMU") or
                    "qemu-system-x86_64")
    ap.add_argument("--qemu-arg", action="append", default=[])
    ap.add_argument("--list", action="store_true",
                    help="the programs and the skipped ones, then exit")
    ap.add_argument("--chart", nargs="+", metavar=("OUT.svg", "JSON"),
                    help="draw the benchmark ratios of several compare.json "
                    "(e.g. runs at different SMP) into OUT.svg, then exit")
    args = ap.parse_args()

    if args.chart:
        if len(args.chart) < 2:
            say("compare: --chart OUT.svg A.json [B.json ...]")
            return 2
        return merge_charts(args.chart[0], args.chart[1:])

    if args.list:
        for name, argv in programs.PROGRAMS + programs.BENCHMARKS:
            say("%-20s %s" % (name, " ".join(argv)))
        for name, why in programs.SKIPPED:
            say("%-20s skipped: %s" % (name, why))
        return 0
    extra = [w.split() for w in args.run.split(";") if w.split()]
    if extra and not args.tests:
        chosen, unknown = [], []
    else:
        chosen, unknown = select(args.tests)
    chosen += [("run-%d" % i, argv) for i, argv in enumerate(extra, 1)]
    if unknown:
        say("compare: TESTS names nothing for %s (make compare-list shows "
            "the names)" % ", ".join(unknown))
        return 2
    if not chosen:
        say("compare: no program selected")
        return 2
    args.outdir = os.path.join(args.build, "compare")
    os.makedirs(args.outdir, exist_ok=True)
    boots = [k.strip() for k in args.kernels.split(",") if k.strip()]
    nb = [k for k, _ in KERNELS if k in boots]
    args.boot_label = {k: ", boot %d/%d" % (i, len(nb))
                       for i, k in enumerate(nb, 1)} if len(nb) > 1 else {}

    try:
        info = linux.fetch(os.path.join(args.build, "linux"), log=say)
    except linux.FetchError as e:
        say("compare: cannot get Debian's Linux kernel:\n%s" % e)
        return 2
    say("compare: Linux %s (%s); %d programs; -smp %d -m %s -cpu %s" %
        (info["release"], info["package"], len(chosen), args.smp, args.mem,
         args.cpu))

    errors, statuses = {}, {}
    t0 = time.monotonic()
    if "this" in boots:
        initrd = our_initrd(args.build, args.outdir, chosen)
        say("compare: booting this kernel (log %s)" %
            os.path.join(args.outdir, "this.log"))
        errors["this"], statuses["this"] = boot_this(args, initrd, args.limit)
    if "linux" in boots:
        initramfs, mods, have_ext2 = linux_initramfs(
            args.build, args.outdir, info, chosen, args.rd_size, args.limit)
        say("compare: booting Linux (modules %s; root %s; log %s)" % (
            ", ".join(mods), "ext2 on brd" if have_ext2 else
            "initramfs (no mke2fs on the host)",
            os.path.join(args.outdir, "linux.log")))
        errors["linux"], statuses["linux"] = boot_linux(args, info, initramfs,
                                                        args.limit)
    elapsed = time.monotonic() - t0

    logs = {k: parse_log(os.path.join(args.outdir, k + ".log"))
            for k, _ in KERNELS}
    return summarize(args, chosen, logs, info, errors, statuses, boots,
                     elapsed)


def bench_rows(results):
    """stats.compare_figures() of every program that printed bench lines."""
    rows = []
    for r in results:
        rows += stats.compare_figures(r["name"], r["this"], r["linux"])
    return rows


def summarize(args, chosen, logs, info, errors, statuses, boots, elapsed,
              out=say):
    """The tables, build/compare.json and build/compare.svg of two parsed
    logs; the exit status."""
    rows, diffs, results = [], [], []
    for i, (name, argv) in enumerate(chosen, 1):
        runs = {}
        for k, _ in KERNELS:
            r = logs[k]["runs"].get(i)
            if r is not None and r["command"] != " ".join(argv):
                r = None  # a log of another selection
            runs[k] = r
        agree, d = compare_run(runs["this"], runs["linux"])
        rows.append((name, cell(runs["this"]), cell(runs["linux"]),
                     "yes" if agree else "NO"))
        if d:
            diffs.append((name, d))
        results.append({"name": name, "argv": argv, "agree": agree,
                        "differences": d, "this": runs["this"],
                        "linux": runs["linux"]})
    for name, why in programs.SKIPPED:
        rows.append((name, "skipped", "skipped", "-"))

    out("")
    out("Functional comparison (%s: %s; Linux: %s)" % (
        "this kernel", logs["this"]["kernel"] or "?",
        logs["linux"]["kernel"] or "?"))
    out("Linux's root: %s; %s" % (
        logs["linux"]["root"] or "the initramfs (see the warnings)",
        ", ".join("%s %s" % kv for kv in sorted(logs["linux"]["facts"].items()))
        or "no facts"))
    for line in table(rows, ("program", "this kernel", "Linux", "agree?")):
        out(line)
    agreeing = sum(r["agree"] for r in results)
    out("%d of %d programs agree; %d skipped" %
        (agreeing, len(results), len(programs.SKIPPED)))
    if diffs:
        out("")
        out("Differences:")
        for name, d in diffs:
            out("  %s:" % name)
            for x in d:
                out("    %s" % x)
    for k, label in KERNELS:
        for w in logs[k]["warnings"]:
            out("compare: [%s] %s" % (label, w))
        if logs[k]["panic"]:
            out("compare: [%s] %s" % (label, logs[k]["panic"]))

    brows = bench_rows(results)
    tsc = {}
    for k, _ in KERNELS:
        hz = [stats.tsc_hz(r[k]) for r in results]
        hz = sorted(set(h for h in hz if h))
        tsc[k] = hz[0] if len(hz) == 1 else (hz or None)
    out("")
    if brows:
        known = ["%s TSC %s" % (lab, "%.0f MHz" % (tsc[k] / 1e6)
                                if isinstance(tsc[k], float) else
                                "/".join("%.0f" % (h / 1e6) for h in tsc[k]))
                 for k, lab in KERNELS if tsc[k]]
        out("Benchmarks at -smp %d, -m %s%s" % (
            args.smp, args.mem, " (%s)" % "; ".join(known) if known else ""))
        cmds = {r["name"]: " ".join(r["argv"]) for r in results}
        for line in stats.bench_table(brows, cmds):
            out(line)
    else:
        out("Benchmarks: no figures (no selected program printed a "
            "`bench: FIGURE: VALUE UNIT` line)")
    for k, label in KERNELS:
        if errors.get(k):
            out("compare: %s: boot failed: %s" % (label, errors[k]))
        elif k in boots and not logs[k]["done"]:
            out("compare: %s: the boot ended before `compare: done` "
                "(status %s; see %s)" % (label, statuses.get(k), os.path.join(
                    args.outdir, k + ".log")))
    doc = {"config": {"smp": args.smp, "mem": args.mem, "cpu": args.cpu,
                      "rd_size_mib": args.rd_size, "limit_s": args.limit,
                      "tests": args.tests, "linux": info,
                      "linux_append": LINUX_APPEND, "seconds": elapsed},
           "kernels": {k: {"kernel": logs[k]["kernel"],
                           "root": logs[k]["root"],
                           "done": logs[k]["done"],
                           "warnings": logs[k]["warnings"],
                           "panic": logs[k]["panic"],
                           "facts": logs[k]["facts"],
                           "tsc_hz": tsc[k],
                           "error": errors.get(k),
                           "status": statuses.get(k)} for k, _ in KERNELS},
           "programs": results,
           "skipped": [{"name": n, "reason": w} for n, w in programs.SKIPPED],
           "benchmark_rules": {
               "median": "of the repetitions (mean of the middle two for an "
               "even count)",
               "spread_pct": "half of max - min, in percent of the median",
               "ratio": "above 1 = this kernel better: linux/this for "
               "costs (%s), this/linux for rates (%s)" % (
                   ", ".join(stats.COSTS), ", ".join(stats.RATES)),
               "worse": "ratio < 1/%g" % stats.WORSE_FACTOR},
           "benchmarks": brows}
    json_path = os.path.join(args.build, "compare.json")
    with open(json_path, "w") as f:
        json.dump(stats.jsonable(doc), f, indent=1)
    svg_path = os.path.join(args.build, "compare.svg")
    with open(svg_path, "w") as f:
        f.write(svg.chart([("-smp %d" % args.smp, brows)],
                          chart_title(info, args.smp)))
    out("compare: %s, %s, logs in %s/ (%.0f s)" % (
        json_path, svg_path, args.outdir, elapsed))
    return 1 if any(errors.get(k) for k in boots) or not all(
        logs[k]["done"] for k in boots) else 0


def chart_title(info, smp):
    return "make compare: this kernel vs Linux %s, -smp %s" % (
        (info or {}).get("release") or "6.1", smp)


def merge_charts(out_path, json_paths):
    """--chart: one SVG of the benchmark ratios of several compare.json
    (one series each, named by its SMP count)."""
    series, info, smps = [], None, []
    for p in json_paths:
        with open(p) as f:
            doc = json.load(f)
        rows = [dict(r, ratio=(float(r["ratio"]) if isinstance(
            r.get("ratio"), str) else r.get("ratio")))
            for r in doc.get("benchmarks", [])]
        smp = doc.get("config", {}).get("smp")
        info = info or doc.get("config", {}).get("linux")
        smps.append(str(smp))
        series.append(("-smp %s (%s)" % (smp, os.path.basename(p)), rows))
    with open(out_path, "w") as f:
        f.write(svg.chart(series, chart_title(info, ", ".join(smps))))
    say("compare: %s (%d runs)" % (out_path, len(series)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
