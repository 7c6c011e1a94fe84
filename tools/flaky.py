#!/usr/bin/env python3
"""tools/flaky.py - does `make test` pass every time on a busy host?

Runs `make test SMP=<n>` again and again (the plan: SMP:RUNS pairs, e.g.
`8:20 16:10`), one run at a time, while a background loop keeps another
QEMU busy (the load command, e.g. the runner booting the suite at 2 CPUs,
started again as soon as it ends). Prints one line per run and then the
tally, one line per SMP value:

    SMP=8: 20/20 passed (median 131 s, max 160 s)

The serial log (`.log`) and the runner's output (`.out`) of a failing run
are kept in LOG_DIR as smp<n>-run<k>.*; those of passing runs are deleted.
The load's last output is LOG_DIR/load.out (and load.log), a failing load
run's are kept as load-fail-<k>.*. Exit status 0 iff every measured run
passed (the load's own verdicts are reported, not counted).

Usage (make flaky does this):
    tools/flaky.py --plan '8:20 16:10' --log-dir build/flaky \\
        [--load-log build/flaky/load.log] -- LOAD COMMAND ...
Without a load command after `--` the runs are made on a quiet host. $MAKE
is the make that runs `make test`; the variables given to the outer make
(FILTER, CMDLINE, TIMEOUT, ...) reach it through MAKEFLAGS.
"""

import argparse
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.dont_write_bytecode = True
import mutants  # noqa: E402  (make_command: the sub-make without -j/jobserver)

SUMMARY_RE = re.compile(r"^\d+ passed, \d+ failed, \d+ skipped$")


def parse_plan(text):
    """`8:20 16:10` (or `8,16` with `default_runs`) -> [(smp, runs)]."""
    plan = []
    for word in re.split(r"[\s,]+", text.strip()):
        if not word:
            continue
        m = re.match(r"^(\d+)(?::(\d+))?$", word)
        if not m or int(m.group(1)) < 1 or (m.group(2) and
                                            int(m.group(2)) < 1):
            raise ValueError("bad plan entry %r (want SMP or SMP:RUNS)" %
                             word)
        plan.append((int(m.group(1)), int(m.group(2)) if m.group(2)
                     else None))
    if not plan:
        raise ValueError("empty plan")
    return plan


def default_runs(smp, runs):
    """FLAKY_RUNS runs up to 8 CPUs, half as many (rounded up) above."""
    return runs if smp <= 8 else (runs + 1) // 2


def why_failed(text):
    """The first run-level or case failure line of a runner output."""
    lines = text.splitlines()
    for prefix in ("FAIL: ", "FAIL "):
        for line in lines:
            if line.startswith(prefix):
                return line
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return "(no output)"


def summary(text):
    for line in reversed(text.splitlines()):
        if SUMMARY_RE.match(line.strip()):
            return line.strip()
    return None


class Load:
    """The background QEMU: `cmd` started again each time it ends."""

    def __init__(self, cmd, log_dir, load_log, out):
        self.cmd = cmd
        self.log_dir = log_dir
        self.load_log = load_log
        self.out = out
        self.stop = threading.Event()
        self.proc = None
        self.lock = threading.Lock()
        self.runs = self.passed = 0
        self.secs = []  # duration of each finished load run
        self.failed = []  # kept file names
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def start(self):
        if self.cmd:
            self.thread.start()

    def loop(self):
        outp = os.path.join(self.log_dir, "load.out")
        while not self.stop.is_set():
            with open(outp, "w") as f:
                with self.lock:
                    if self.stop.is_set():
                        return
                    self.proc = subprocess.Popen(
                        self.cmd, stdout=f, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL, cwd=ROOT)
                t0 = time.monotonic()
                status = self.proc.wait()
            if self.stop.is_set():
                return  # stopped by us: no verdict
            self.runs += 1
            self.secs.append(time.monotonic() - t0)
            if status == 0:
                self.passed += 1
                continue
            keep = os.path.join(self.log_dir, "load-fail-%d" % self.runs)
            os.replace(outp, keep + ".out")
            if self.load_log and os.path.exists(self.load_log):
                os.replace(self.load_log, keep + ".log")
            self.failed.append(keep)
            with open(keep + ".out", errors="replace") as f:
                why = why_failed(f.read())
            self.out("flaky: load run %d failed: %s (kept %s.out)" %
                     (self.runs, why, mutants.rel(keep)))
            if status < 0 or status >= 128 or self.runs > 3 and \
                    self.passed == 0:
                self.out("flaky: the load keeps failing; stopping it")
                return
            time.sleep(1)

    def finish(self):
        self.stop.set()
        with self.lock:
            p = self.proc
        if p is not None and p.poll() is None:
            p.terminate()  # the runner stops its QEMU on SIGTERM
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.thread.is_alive():
            self.thread.join(timeout=30)

    def describe(self):
        if not self.cmd:
            return "no load"
        what = "%d load run%s finished" % (self.runs,
                                             "s" * (self.runs != 1))
        if self.runs:
            what += " (median %.0f s), %d passed" % (
                statistics.median(self.secs), self.passed)
        if self.failed:
            what += "; failed: %s" % ", ".join(
                mutants.rel(k) + ".out" for k in self.failed)
        return what


# The suite is what can flake; the host tests are deterministic and
# `make flaky` runs them once before the first run (FLAKY_TARGET=test
# repeats them too).
TARGET = os.environ.get("FLAKY_TARGET") or "test-kernel"


def run_test(make, env, smp, k, nruns, log_dir, extra_vars):
    """One `make test`: (passed, seconds, one-line result, kept base)."""
    base = os.path.join(log_dir, "smp%d-run%02d" % (smp, k))
    log, outp = base + ".log", base + ".out"
    cmd = make + ["--no-print-directory", TARGET, "SMP=%d" % smp,
                  "TEST_LOG=" + log] + extra_vars
    t0 = time.monotonic()
    with open(outp, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
        try:
            status = proc.wait()
        except BaseException:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    secs = time.monotonic() - t0
    with open(outp, errors="replace") as f:
        text = f.read()
    if status == 0:
        for path in (log, outp):
            if os.path.exists(path):
                os.unlink(path)
        return True, secs, summary(text) or "passed", None
    return False, secs, why_failed(text), base


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    load_cmd = []
    if "--" in argv:
        i = argv.index("--")
        argv, load_cmd = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(
        description="Run `make test` many times under load; print the "
        "tally.")
    ap.add_argument("--plan", default="8 16",
                    help="SMP values, each SMP or SMP:RUNS (default "
                    "'%(default)s')")
    ap.add_argument("--runs", type=int, default=20,
                    help="runs of an SMP value given without :RUNS, up to "
                    "8 CPUs; above, half as many (default %(default)s)")
    ap.add_argument("--log-dir", default=os.path.join("build", "flaky"))
    ap.add_argument("--load-log", default=None,
                    help="the serial log the load command writes (kept "
                    "when a load run fails)")
    args = ap.parse_args(argv)
    try:
        plan = [(smp, runs or default_runs(smp, args.runs))
                for smp, runs in parse_plan(args.plan)]
    except ValueError as e:
        print("flaky: %s" % e)
        return 2
    os.makedirs(args.log_dir, exist_ok=True)
    out = mutants.Out()
    make, env = mutants.make_command()

    total = sum(r for _, r in plan)
    out("flaky: %s, %d runs of `make %s`, one at a time; load: %s" % (
        ", ".join("SMP=%d x%d" % p for p in plan), total, TARGET,
        " ".join(shlex.quote(a) for a in load_cmd) if load_cmd
        else "none"))
    load = Load(load_cmd, args.log_dir, args.load_log, out)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    results = {}  # smp -> [(passed, secs)]
    loadavg = []
    t_start = time.monotonic()
    try:
        load.start()
        for smp, runs in plan:
            for k in range(1, runs + 1):
                ok, secs, what, kept = run_test(make, env, smp, k, runs,
                                                args.log_dir, [])
                results.setdefault(smp, []).append((ok, secs))
                try:
                    loadavg.append(os.getloadavg()[0])
                except OSError:
                    pass
                line = "SMP=%d run %d/%d: %s in %.0f s: %s" % (
                    smp, k, runs, "PASS" if ok else "FAIL", secs, what)
                if kept:
                    line += " (kept %s.log, .out)" % mutants.rel(kept)
                out(line)
    except (KeyboardInterrupt, SystemExit):
        load.finish()
        out("flaky: interrupted")
        return 130
    load.finish()

    out("flaky: done in %.0f min; %s; host load average (1 min) after the "
        "runs: %s" % ((time.monotonic() - t_start) / 60, load.describe(),
                      "%.1f to %.1f" % (min(loadavg), max(loadavg))
                      if loadavg else "?"))
    all_ok = True
    for smp, runs in plan:
        res = results.get(smp, [])
        npass = sum(1 for ok, _ in res if ok)
        all_ok &= npass == runs
        times = [s for _, s in res]
        out("SMP=%d: %d/%d passed (median %.0f s, max %.0f s)" % (
            smp, npass, runs, statistics.median(times), max(times)))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
