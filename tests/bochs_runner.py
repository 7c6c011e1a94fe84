#!/usr/bin/env python3
"""tests/bochs_runner.py - boot a BIOS ISO (make iso) under Bochs, or under
QEMU with SeaBIOS, and turn the serial log into a verdict.

  tests/bochs_runner.py --iso build/boot-test.iso --cpu corei7_skylake_x \\
      --smp 4 --mem 512 --timeout 900 --log build/test-bochs-4cpu.log
  tests/bochs_runner.py --qemu --iso build/boot-qemu.iso --smp 4 ...

Bochs (Debian's build, 2.7) has no headless display and no exit device, so:
the bochsrc written here uses `display_library: term` (stdin /dev/null,
stdout to a file, no controlling terminal: the run never touches yours),
COM1 goes to the log file, and the debugger runs the rc file `c`, `quit`.
The runner polls the log and stops Bochs with SIGKILL (it ignores SIGTERM)
once the kernel prints `# ktest: done` (then the summary), `monitor: ready`
(with --expect), a panic, or `loader: boot failed`, or when the timeout
expires. The verdict is `tests/runner.py --parse LOG`'s, whose exit status
this script returns; a timeout, an early emulator exit or a boot failure is
one more FAIL line here. The whole Bochs log (its own messages, not the
guest's) is kept beside the serial log as LOG.bochs.

Time in Bochs: `clock: sync=none` makes guest time follow the instruction
count, `ips` instructions per guest second per CPU, whatever the host load,
so runs are reproducible. --ips sets it (default 50 M: the TSC then runs at
50 MHz); a lower value makes guest sleeps and timeouts cheaper in host time,
a higher one gives CPU-bound tests more work per guest second.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

ANSI_RE = re.compile(r"\x1b(\[[0-9;?=<>]*[ -/]*[@-~]|[@-Z\\-_])")
CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
DONE_RE = re.compile(r"^# ktest: done\s*$")
SUMMARY_RE = re.compile(r"^# ktest: \d+ passed, \d+ failed, \d+ skipped")
PANIC_MARKER = "KERNEL PANIC"
LOADER_FAIL_MARKER = "loader: boot failed"
POLL_S = 0.5
PANIC_IDLE_S = 3  # after a panic: stop once the log is quiet this long
PANIC_GRACE_S = 15  # ... or after this long
DONE_GRACE_S = 10  # after `# ktest: done`: wait at most this long for the summary
TAIL_LINES = 30

BOCHS_BIOS = "/usr/share/bochs/BIOS-bochs-latest"
BOCHS_VGABIOS = "/usr/share/vgabios/vgabios.bin"


def bochsrc(args, serial, bochs_log):
    """The Bochs configuration for one run."""
    return "\n".join([
        "# written by tests/bochs_runner.py",
        "megs: %d" % args.mem,
        "cpu: model=%s, count=%d, ips=%d, reset_on_triple_fault=0"
        % (args.cpu, args.smp, args.ips),
        "romimage: file=%s" % BOCHS_BIOS,
        "vgaromimage: file=%s" % BOCHS_VGABIOS,
        "ata0-master: type=cdrom, path=%s, status=inserted" % args.iso,
        "boot: cdrom",
        "com1: enabled=1, mode=file, dev=%s" % serial,
        "display_library: term",
        "clock: sync=none, time0=utc",
        "speaker: enabled=0",
        "log: %s" % bochs_log,
        "panic: action=fatal",
        "error: action=report",
        "info: action=ignore",
        "debugger_log: -",
        "",
    ])


def qemu_cmd(args, serial):
    return [args.qemu_bin, "-machine", "q35", "-cpu", args.qemu_cpu,
            "-smp", str(args.smp), "-m", "%dM" % args.mem,
            "-cdrom", args.iso, "-boot", "d",
            "-display", "none", "-serial", "file:%s" % serial,
            "-monitor", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return [CTRL_RE.sub("", ANSI_RE.sub("", ln)).rstrip()
            for ln in data.replace("\r\n", "\n").split("\n")]


def watch(proc, serial, args):
    """Poll the serial log until the run is over. Returns (reason, seconds)."""
    t0 = time.monotonic()
    done_at = panic_at = None
    last_size, last_change = -1, t0
    while True:
        time.sleep(POLL_S)
        now = time.monotonic()
        lines = read_lines(serial)
        size = sum(len(x) for x in lines)
        if size != last_size:
            last_size, last_change = size, now
        text = [x.strip() for x in lines]
        if proc.poll() is not None:
            return ("exited", now - t0)
        if args.expect and any(args.expect in x for x in text):
            return ("expect", now - t0)
        if any(LOADER_FAIL_MARKER in x for x in text):
            time.sleep(1)
            return ("loader", now - t0)
        if panic_at is None and any(PANIC_MARKER in x for x in text):
            panic_at = now
        if panic_at is not None and (now - last_change >= PANIC_IDLE_S
                                     or now - panic_at >= PANIC_GRACE_S):
            return ("panic", now - t0)
        if done_at is None and any(DONE_RE.match(x) for x in text):
            done_at = now
        if done_at is not None and (any(SUMMARY_RE.match(x) for x in text)
                                    or now - done_at >= DONE_GRACE_S):
            time.sleep(1)  # let the last lines reach the file
            return ("done", now - t0)
        if now - t0 >= args.timeout:
            return ("timeout", now - t0)


def kill(proc):
    """SIGKILL the emulator's whole process group (Bochs ignores SIGTERM;
    Debian's `bochs` is a wrapper script around bochs-bin)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def run(args):
    name = "QEMU (SeaBIOS)" if args.qemu else "Bochs"
    for f in [args.iso] + ([] if args.qemu else [BOCHS_BIOS, BOCHS_VGABIOS]):
        if not os.path.exists(f):
            print("FAIL: %s not found" % f)
            return 1
    tmp = tempfile.mkdtemp(prefix="bochs-runner-")
    args.iso = os.path.abspath(args.iso)
    log = os.path.abspath(args.log)
    os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
    if os.path.exists(log):
        os.unlink(log)
    try:
        if args.qemu:
            cmd = qemu_cmd(args, log)
        else:
            rc = os.path.join(tmp, "bochsrc")
            with open(rc, "w") as f:
                f.write(bochsrc(args, log, os.path.join(tmp, "bochs.log")))
            cmds = os.path.join(tmp, "debugger.rc")
            with open(cmds, "w") as f:
                f.write("c\nquit\n")
            cmd = [args.bochs, "-q", "-f", rc, "-rc", cmds]
        if args.print_cmd:
            print(" ".join(cmd))
            if not args.qemu:
                print(open(rc).read(), end="")
            return 0
        print("%s: %s, %s%d CPUs, %d MiB, timeout %d s%s" % (
            name.split()[0].lower(), os.path.relpath(args.iso),
            "" if args.qemu else args.cpu + ", ", args.smp, args.mem,
            args.timeout, "" if args.qemu else ", %d M ips" % (args.ips // 1000000)))
        sys.stdout.flush()
        out = open(os.path.join(tmp, "emulator.out"), "wb")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, cwd=tmp,
                                start_new_session=True,
                                env=dict(os.environ, TERM="dumb"))
        try:
            reason, secs = watch(proc, log, args)
        finally:
            kill(proc)
            out.close()
        if not args.qemu:
            shutil.copy(os.path.join(tmp, "bochs.log"), log + ".bochs")
        return verdict(args, name, reason, secs, log, tmp)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept: %s" % tmp)


def verdict(args, name, reason, secs, log, tmp):
    if not os.path.exists(log):
        open(log, "w").close()
    lines = read_lines(log)
    print("%s: stopped after %.0f s (%s)" % (name, secs, {
        "done": "`# ktest: done`", "expect": "found %r" % args.expect,
        "panic": "kernel panic", "loader": "loader failure",
        "timeout": "timed out", "exited": "the emulator exited"}[reason]))
    extra_fail = None
    if reason == "timeout":
        extra_fail = "timed out after %d s" % args.timeout
    elif reason == "loader":
        extra_fail = next(x.strip() for x in lines if LOADER_FAIL_MARKER in x)
    elif reason == "exited" and not any(DONE_RE.match(x.strip()) for x in lines):
        extra_fail = "%s exited before the end of the run" % name
    if args.expect:
        if reason == "expect":
            print("PASS: found %r" % args.expect)
            print("log: %s" % os.path.relpath(log))
            return 0
        extra_fail = extra_fail or "%r never appeared" % args.expect
    if extra_fail:
        print("FAIL: %s; last console lines:" % extra_fail)
        for x in [x for x in lines if x.strip()][-TAIL_LINES:]:
            print("    " + x)
        emu = read_lines(os.path.join(tmp, "emulator.out"))
        tail = [x for x in emu if x.strip() and "\x1b" not in x][-10:]
        if tail:
            print("%s output:" % name)
            for x in tail:
                print("    " + x)
        if args.expect or reason == "loader":
            print("log: %s" % os.path.relpath(log))
            return 1
    sys.stdout.flush()
    rc = subprocess.call([sys.executable, os.path.join(HERE, "runner.py"),
                          "--parse", log])
    return rc if not extra_fail else (rc or 1)


def mebibytes(text):
    """'512', '512M' or '5G' -> MiB."""
    m = re.fullmatch(r"(\d+)([MmGg]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("not a size in MiB: %r" % text)
    return int(m.group(1)) * (1024 if m.group(2) in ("G", "g") else 1)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iso", required=True)
    ap.add_argument("--log", default="build/test-bochs.log")
    ap.add_argument("--smp", type=int, default=4)
    ap.add_argument("--mem", type=mebibytes, default=512,
                    help="MiB (512, 512M, 5G)")
    ap.add_argument("--timeout", type=int, default=900, help="host seconds")
    ap.add_argument("--cpu", default="corei7_skylake_x", help="Bochs CPU model")
    ap.add_argument("--ips", type=int, default=50000000,
                    help="Bochs instructions per guest second (default 50 M)")
    ap.add_argument("--bochs", default=os.environ.get("BOCHS") or "bochs")
    ap.add_argument("--qemu", action="store_true",
                    help="boot the ISO in QEMU (q35, SeaBIOS) instead")
    ap.add_argument("--qemu-bin", default="qemu-system-x86_64")
    ap.add_argument("--qemu-cpu", default="max")
    ap.add_argument("--expect", default=None, metavar="TEXT",
                    help="boot check: pass once a console line contains TEXT")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (bochsrc, outputs)")
    ap.add_argument("--print-cmd", action="store_true",
                    help="print the command (and bochsrc) and exit")
    return ap.parse_args(argv)


if __name__ == "__main__":
    sys.exit(run(parse_args(sys.argv[1:])))
