#!/usr/bin/env python3
"""tests/runner.py - boot the kernel in QEMU and turn the boot into a verdict.

Modes:
  test (default)  headless; read the serial console line by line, keep the raw
                  log, parse the kernel's KTAP output, print one line per case
                  (PASS/FAIL/SKIP) and end with `N passed, N failed, N skipped`.
                  Exit 0 iff nothing failed and the run finished.
  --expect TEXT   headless boot check: pass as soon as a console line contains
                  TEXT (e.g. `monitor: ready`), then kill QEMU.
  --bench         headless benchmark run (`bench.run=1`): no KTAP; echo every
                  console line that starts with `bench:` and pass when the
                  kernel prints `# bench: done` (and, with qemu_exit=1, then
                  exits QEMU with isa-debug-exit code 0).
  --init          headless run of a user program as the first process
                  (`init=/bin/prog ... qemu_exit=1` in --cmdline; make
                  run-user): echo the console from `init: starting` on, and
                  exit with the program's outcome as a shell reports it: its
                  exit status, 128+S if signal S killed it, 127 if it could
                  not be started; 125 (with a `runner:` line on stderr) if
                  the boot itself went wrong (panic, timeout, no init line).
  --script FILE   headless shell session (make run-script, tests/shell.script):
                  wait for the shell's prompt on the serial console, type
                  each command of FILE, and check what it printed before the
                  next prompt. FILE, one directive a line (`#` comments):
                    $ CMD        type CMD and Enter, wait for the prompt
                    & CMD        type CMD and Enter, do not wait
                    ^ K          1.5 s later, Ctrl-K (^ C: Ctrl-C), then wait
                                 for the prompt
                    > KEYS       1.5 s later, KEYS (\e, \r escapes); no wait
                                 (e.g. to drive vi)
                    . WHY        wait for the prompt (after `&` and `>`)
                    = TEXT       the output of the last CMD contains TEXT
                    ~ REGEX      ... a line of it matches REGEX (re.search)
                    ! TEXT       ... does not contain TEXT
                    prompt REGEX the prompt (default `# $`), searched in
                                 what has arrived (escapes removed); it must
                                 be the end, with nothing more for 0.3 s
                  Prints each command, its output and a PASS/FAIL line per
                  check; exit 0 iff every check passed and every prompt came.
  --interactive   QEMU with the serial console on this terminal (Ctrl-A X quits,
                  Ctrl-A C toggles the QEMU monitor).
  --gdb           like --interactive, but QEMU waits for gdb on :1234.

Each run builds its own ESP image and OVMF_VARS copy in a temporary directory,
so several runners (e.g. one per mutant) can run side by side.

  tests/runner.py --kernel build/kernel.elf --loader build/BOOTX64.EFI \\
      --smp 4 --mem 512M --timeout 240 \\
      --cmdline "ktest.run=1 qemu_exit=1 ktest.filter=pmm.*"

A run fails, with a one-line reason, when: a case prints `not ok`; a suite
prints fewer results than its `1..N` plan; the kernel prints `# ktest: error:
...` (e.g. a filter glob that selects no case); no case other than the
built-in `leaks` suite ran (passed or failed); a console line contains
`KERNEL PANIC`; a `BUG:` report that no test announced (tests tag the reports
they provoke on purpose `BUG (expected):`; an unexpected one during the suite
fails the case running at the time, outside the suite it stops the run); the
UEFI loader prints `loader: boot failed: <reason>` (the runner stops there,
instead of waiting in the firmware's shell); the KTAP output starts a second
time (the machine reset) or is cut off; the timeout expires; QEMU exits before
`# ktest: done` (status 0: a reset, -no-reboot turns it into an exit); or the
isa-debug-exit code (kernel writes 0 = pass, 1 = fail, QEMU exits with
2*code+1) disagrees with the parsed verdict. Every such failure is one `FAIL`
line and counts in the summary, so `failed == 0` iff the exit status is 0.

The default global timeout and per-case timeout scale with the number of
vCPUs per host core (see timeout_scale()); --timeout N overrides the first,
`ktest.timeout=S` in --cmdline the second.
"""

import argparse
import math
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import mkesp  # noqa: E402  (tools/mkesp.py)

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
DEBUG_EXIT_PORT = 0xF4

PANIC_MARKER = "KERNEL PANIC"
BUG_MARKER = "BUG:"
PANIC_CONTEXT_LINES = 40  # lines shown after the panic line
PANIC_GRACE_S = 15  # how long to keep reading after a panic, at most
PANIC_IDLE_S = 3  # ... and stop once the console is quiet this long
TAIL_LINES = 30  # log lines shown on a timeout or early exit
DONE_GRACE_S = 20  # after `# ktest: done`, wait this long for QEMU to exit
MAX_LINE = 64 * 1024
LOADER_CONTEXT_LINES = 30  # loader lines shown when it fails

# Timeouts scale with the emulation load (timeout_scale()): the defaults
# hold up to this many vCPUs per host core, and grow in proportion above.
BASE_TIMEOUT_S = 240  # global timeout of one headless run
BASE_CASE_TIMEOUT_S = 60  # the kernel's ktest.timeout default (tests/ktest.c)
VCPUS_PER_CORE = 2
LEAKS_SUITE = "leaks"  # the kernel's built-in last suite

# ---------------------------------------------------------------- KTAP parser

ANSI_RE = re.compile(r"\x1b(\[[0-9;?=<>]*[ -/]*[@-~]|[@-Z\\-_])")
ANSI_RE_B = re.compile(ANSI_RE.pattern.encode())
CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
VERSION_RE = re.compile(r"^K?TAP version (\d+)$")
PLAN_RE = re.compile(r"^1\.\.(\d+)\s*(?:#.*)?$")
RESULT_RE = re.compile(
    r"^(ok|not ok) (\d+)(?: (?:- )?([^#]*?))?\s*(?:#\s*(.*?))?\s*$")
SUBTEST_RE = re.compile(r"^# Subtest: (.+?)\s*$")
DIAG_NAME_RE = re.compile(r"^#\s*([A-Za-z0-9_.\-]+):(?:\s|$)")
DONE_RE = re.compile(r"^# ktest: done\s*$")
BENCH_RE = re.compile(r"^bench:")
BENCH_DONE_RE = re.compile(r"^# bench: done\s*$")
SUMMARY_RE = re.compile(
    r"^# ktest: (\d+) passed, (\d+) failed, (\d+) skipped\s*$")
KTEST_ERROR_RE = re.compile(r"^# ktest: error: (.*?)\s*$")
LOADER_FAILED_RE = re.compile(r"(?:^|\s)loader: boot failed\b[:;,]?\s*(.*)$")
LOADER_LINE_RE = re.compile(r"(?:^|\s)(loader: .*)$")
LOADER_ERROR_RE = re.compile(r"^loader: (?:error|fatal): (.*)$")


def shortpath(path):
    """`path` relative to the current directory if it is below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def clean_line(raw):
    """A console line without ANSI escapes, control characters or CR."""
    return CTRL_RE.sub("", ANSI_RE.sub("", raw)).rstrip()


def panic_kind(line, in_suite=False):
    """"panic" or "bug" if this console line ends the run, else None.

    `KERNEL PANIC` always does. A `BUG:` report does outside the test suite
    (boot, after `# ktest: done`, a boot check). While the suite runs, the
    run goes on and KtapParser fails the case running at the time (see
    is_bug_report()): the reports a test provokes on purpose are printed
    `BUG (expected):`, which is not a `BUG:` line. KTAP `#` lines never
    count.
    """
    if line.lstrip().startswith("#"):
        return None
    if PANIC_MARKER in line:
        return "panic"
    if BUG_MARKER in line and not in_suite:
        return "bug"
    return None


def is_bug_report(line):
    """Is this (clean) console line a `BUG:` report? `#` lines are not."""
    return BUG_MARKER in line and not line.lstrip().startswith("#")


def loader_failure(line):
    """The reason if this (clean) line is the loader's `boot failed`, else
    None ("" when the line gives no reason)."""
    if line.lstrip().startswith("#"):
        return None
    m = LOADER_FAILED_RE.search(line)
    if not m:
        return None
    reason = m.group(1).strip()
    # The old form: `loader: boot failed; returning to the firmware in 3 s`.
    return "" if reason.startswith("returning to the firmware") else reason


def loader_failure_reason(reason, lines):
    """One line for a loader failure: its own reason, else its error lines
    (`loader: error: ...`) from `lines` (clean console lines before it)."""
    if reason:
        return "loader: boot failed: %s" % reason
    errors = []
    for line in lines:
        m = LOADER_LINE_RE.search(line)
        e = LOADER_ERROR_RE.match(m.group(1)) if m else None
        if e and e.group(1) not in errors:
            errors.append(e.group(1))
    return "loader: boot failed: %s" % ("; ".join(errors) if errors else
                                        "(no reason printed)")


def loader_lines(lines):
    """The loader's own lines among clean console lines, each once (a
    firmware that mirrors its console to the serial port doubles them)."""
    out = []
    for line in lines:
        m = LOADER_LINE_RE.search(line)
        if m and (not out or out[-1] != m.group(1)):
            out.append(m.group(1))
    return out[-LOADER_CONTEXT_LINES:]


class Result:
    def __init__(self, name, status, reason="", diags=None):
        self.name = name  # full dotted name: suite.case
        self.status = status  # "pass", "fail" or "skip"
        self.reason = reason  # SKIP reason, or why a FAIL is not a case
        self.diags = diags if diags is not None else []


class _Node:
    """An open KTAP block: the top level (depth 0) or a (sub)suite."""

    def __init__(self, depth, name=None):
        self.depth = depth
        self.name = name
        self.plan = None
        self.nresults = 0
        self.failed = 0  # failing results emitted for this node and below
        self.pre_diags = []  # (case name or None, text) awaiting a result
        self.last_fail = None  # FAIL result still collecting diagnostics
        self.held = []  # results held until the suite name is known
        self.bugs = []  # unexpected BUG reports for the next result here

    def fresh(self):
        return self.plan is None and self.nresults == 0


class KtapParser:
    """Streaming KTAP version 1 parser.

    feed() every console line (raw, it is cleaned here); results are passed
    to `emit(Result)` as soon as they are final (a FAIL waits for the
    diagnostics that follow it). Lines that are not KTAP are ignored. Call
    finish() once at the end of the stream.
    """

    def __init__(self, emit=None):
        self.emit_cb = emit
        self.results = []
        self.errors = []  # run-level failures (each one FAIL line)
        self.kernel_errors = []  # `# ktest: error: ...` lines
        self.notes = []
        self.restarted = 0  # times the KTAP output started again
        # Failures only the runner sees (unexpected BUG reports in cases the
        # kernel passed, no case run): the kernel's exit code cannot know.
        self.runner_only = 0
        self.started = False
        self.done = False
        self.kernel_summary = None  # (passed, failed, skipped) if printed
        self.stack = []
        self.finished = False

    # counts -----------------------------------------------------------
    def count(self, status):
        return sum(1 for r in self.results if r.status == status)

    @property
    def passed(self):
        return self.count("pass")

    @property
    def skipped(self):
        return self.count("skip")

    @property
    def failed(self):
        return self.count("fail") + len(self.errors)

    def ok(self):
        return self.finished and self.done and self.failed == 0

    # emission ---------------------------------------------------------
    def _emit(self, node, res):
        if node is not None and node.depth > 0 and node.name is None:
            node.held.append(res)
            return
        self.results.append(res)
        if self.emit_cb:
            self.emit_cb(res)

    def _set_name(self, node, name):
        node.name = name
        held, node.held = node.held, []
        for res in held:
            res.name = self._path(node, res.name)
            self._emit(node, res)

    def _path(self, node, case):
        names = [n.name or "?" for n in self.stack[1:node.depth + 1]]
        return ".".join(names + [case]) if case else ".".join(names)

    def _flush_fail(self, node):
        if node.last_fail is not None:
            res, node.last_fail = node.last_fail, None
            self._emit(node, res)

    def add_error(self, msg):
        """A run-level failure: printed as `FAIL: msg`, counted as failed."""
        self.errors.append(msg)

    def cases_run(self):
        """Results of cases that ran (passed or failed), `leaks` aside."""
        return [r for r in self.results if r.status in ("pass", "fail") and
                r.name != LEAKS_SUITE and
                not r.name.startswith(LEAKS_SUITE + ".")]

    def _bug_report(self, text):
        """An unexpected `BUG:` line while the suite runs: it fails the case
        running at the time (the next result of the innermost open suite),
        or the run if no suite is open."""
        top = self.stack[-1] if self.stack else None
        if top is None or top.depth == 0:
            self.add_error("unexpected BUG report: %s" % text)
            self.runner_only += 1
        else:
            top.bugs.append(text)

    def _apply_bugs(self, res, bugs):
        """Make `res` a failure caused by the unexpected BUG reports."""
        if not bugs:
            return
        if res.status != "fail":
            self.runner_only += 1
        why = "unexpected BUG report: %s" % bugs[0]
        if len(bugs) > 1:
            why += " (and %d more)" % (len(bugs) - 1)
        if res.status != "fail" or not res.reason:
            res.reason = why
        elif res.reason != why:
            res.reason += "; " + why
        res.status = "fail"
        res.diags = bugs[1:] + res.diags

    # structure --------------------------------------------------------
    def _push(self, depth, name=None):
        node = _Node(depth, name)
        self.stack.append(node)
        return node

    def _close_incomplete(self, node, why):
        """Pop `node` (the innermost one) that never got its result line."""
        self._flush_fail(node)
        if node.name is None:
            self._set_name(node, "?")
        name = self._path(node, "")
        plan = "?" if node.plan is None else node.plan
        res = Result(name, "fail", "incomplete: %d of %s results, %s" %
                     (node.nresults, plan, why),
                     [t for _, t in node.pre_diags])
        self._apply_bugs(res, node.bugs)
        node.bugs = []
        self.stack.pop()
        self._emit(None, res)
        if self.stack:
            self.stack[-1].failed += 1 + node.failed

    def _leaf(self, node, res_case, status, reason):
        self._flush_fail(node)
        node.nresults += 1
        diags = [t for n, t in node.pre_diags if n is None or n == res_case]
        node.pre_diags = [(n, t) for n, t in node.pre_diags
                          if n is not None and n != res_case]
        name = self._path(node, res_case) if node.name or node.depth == 0 \
            else res_case
        res = Result(name, status, reason, diags)
        self._apply_bugs(res, node.bugs)
        node.bugs = []
        status = res.status
        if status == "fail":
            node.failed += 1
            node.last_fail = res
        else:
            self._emit(node, res)

    def _close_suite(self, parent, child, name, status, reason):
        """The parent's result line for the child block `child`."""
        self._flush_fail(child)
        if child.name is None:
            self._set_name(child, name or "?")
        path = self._path(child, "")
        leftover = [t for _, t in child.pre_diags]
        self.stack.pop()
        parent.nresults += 1
        parent.failed += child.failed
        if child.plan is not None and child.nresults != child.plan:
            child_res = Result(path, "fail",
                               "plan 1..%d but %d results" %
                               (child.plan, child.nresults), leftover)
            parent.failed += 1
            self._emit(None, child_res)
        elif status == "skip" and child.nresults == 0:
            self._emit(None, Result(path, "skip", reason))
        elif status == "fail" and child.failed == 0:
            parent.failed += 1
            self._emit(None, Result(path, "fail", "suite reported not ok",
                                    leftover))
        elif child.plan is None and child.nresults == 0 and status != "skip":
            parent.failed += 1
            self._emit(None, Result(path, "fail", "suite printed no plan",
                                    leftover))
        if child.bugs:
            # After its last case, before its result: the suite's own work.
            res = Result(path, "pass")
            self._apply_bugs(res, child.bugs)
            parent.failed += 1
            self._emit(None, res)

    # lines --------------------------------------------------------------
    def feed(self, raw):
        line = clean_line(raw)
        if not line.strip():
            return
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()

        if not self.done and indent == 0:
            m = KTEST_ERROR_RE.match(body)
            if m:  # before the KTAP output (the run could not start) or not
                self.kernel_errors.append(m.group(1))
                self.add_error(m.group(1))
                return
        if self.started and not self.done and is_bug_report(line):
            self._bug_report(body)
            return
        if not self.started:
            # Firmware output may precede the first line on the same row.
            m = re.search(r"K?TAP version (\d+)$", body)
            if m and (indent == 0 or body == m.group(0)):
                self.started = True
                if m.group(1) != "1":
                    self.notes.append("KTAP version %s (expected 1)" %
                                      m.group(1))
                self._push(0)
            return
        if self.done or indent % 4:
            return
        depth = indent // 4
        top = self.stack[-1] if self.stack else None
        if top is None:
            if depth == 0 and VERSION_RE.match(body):
                self.add_error("KTAP output started a second time")
            return

        m = VERSION_RE.match(body)
        if m:
            if depth == top.depth + 1:
                self._push(depth)
            elif depth == top.depth and depth > 0 and top.fresh() \
                    and not top.held:
                pass  # `# Subtest:` came first
            elif depth == 0:
                self._restart()
            return

        m = SUBTEST_RE.match(body)
        if m:
            if depth == top.depth and depth > 0 and top.fresh() \
                    and top.name is None:
                self._set_name(top, m.group(1))
            elif depth == top.depth + 1:
                self._push(depth, m.group(1))
            return

        if depth == 0:
            if DONE_RE.match(body):
                self._on_done()
                return
            m = SUMMARY_RE.match(body)
            if m:
                self.kernel_summary = tuple(int(x) for x in m.groups())
                return

        # Results and plans one level below an open block open it implicitly
        # (KTAP producers may omit the header lines).
        if depth == top.depth + 1 and (PLAN_RE.match(body) or
                                       RESULT_RE.match(body)):
            top = self._push(depth)
        # A result at depth d closes any deeper blocks left open.
        if RESULT_RE.match(body):
            while len(self.stack) > depth + 2:
                self._close_incomplete(self.stack[-1],
                                       "its parent went on without it")
            top = self.stack[-1]
        if depth > top.depth + 1 or depth < top.depth - 1:
            return

        m = PLAN_RE.match(body)
        if m:
            if depth == top.depth:
                if top.plan is not None:
                    self.notes.append("second plan line ignored: %s" % body)
                else:
                    top.plan = int(m.group(1))
            return

        m = RESULT_RE.match(body)
        if m:
            ok, _num, name, directive = m.groups()
            name = (name or "").strip() or "#%s" % _num
            directive = (directive or "").strip()
            status, reason = ("pass" if ok == "ok" else "fail"), ""
            dm = re.match(r"(SKIP|TODO)\b\s*(.*)$", directive, re.I)
            if dm:
                status = "skip"
                reason = dm.group(2).strip()
                if dm.group(1).upper() == "TODO":
                    reason = "TODO " + reason if reason else "TODO"
            if depth == top.depth - 1:
                parent = self.stack[-2]
                self._close_suite(parent, top, name, status, reason)
            elif depth == top.depth:
                self._leaf(top, name, status, reason)
            return

        if body.startswith("#") and depth == top.depth:
            dn = DIAG_NAME_RE.match(body)
            case = dn.group(1) if dn else None
            lf = top.last_fail
            if lf is not None and (case is None or
                                   lf.name.endswith("." + case) or
                                   lf.name == case):
                lf.diags.append(body)
            else:
                top.pre_diags.append((case, body))

    def _restart(self):
        """`KTAP version` again at the top level: the kernel started over
        (a reset). A failure; what follows is parsed as a new stream."""
        self.restarted += 1
        self.add_error("the KTAP output started again (did the machine "
                       "reset?)")
        while len(self.stack) > 1:
            self._close_incomplete(self.stack[-1], "the KTAP output started "
                                   "again")
        self._flush_fail(self.stack[0])
        self.stack = []
        self._push(0)

    def _on_done(self):
        self.done = True
        while len(self.stack) > 1:
            self._close_incomplete(self.stack[-1], "`# ktest: done` came first")
        root = self.stack[0] if self.stack else None
        if root is not None:
            self._flush_fail(root)
            if root.plan is None:
                self.add_error("no top-level plan line (1..N)")
            elif root.nresults != root.plan:
                self.add_error("top-level plan 1..%d but %d suites reported" %
                            (root.plan, root.nresults))

    def finish(self, run_error=None):
        """End of the stream. `run_error`: why the run ended early, if so."""
        if self.finished:
            return
        self.finished = True
        while len(self.stack) > 1:
            self._close_incomplete(self.stack[-1], run_error or "run ended")
        if self.stack and not self.done:
            self._flush_fail(self.stack[0])
        if run_error:
            self.add_error(run_error)
        elif not self.started:
            self.add_error("no KTAP output (`KTAP version 1` never printed)")
        elif not self.done:
            self.add_error("the run ended before `# ktest: done`")
        elif self.failed == 0 and not self.cases_run():
            skipped = len([r for r in self.results if r.status == "skip"])
            self.add_error("no test case ran" + (
                " (%d skipped)" % skipped if skipped else ""))
            self.runner_only += 1
        if self.kernel_summary is not None:
            kp, kf, ks = self.kernel_summary
            if kf > 0 and self.failed == 0:
                self.add_error("kernel summary reports %d failed" % kf)
            mine = (self.passed, self.count("fail"), self.skipped)
            if mine != (kp, kf, ks) and not run_error and \
                    not self.kernel_errors and not self.runner_only:
                self.notes.append(
                    "kernel summary says %d passed, %d failed, %d skipped; "
                    "runner counted %d, %d, %d" % ((kp, kf, ks) + mine))


def format_result(res):
    """The lines printed for one result."""
    if res.status == "pass":
        return ["PASS %s" % res.name]
    if res.status == "skip":
        return ["SKIP %s (%s)" % (res.name, res.reason) if res.reason
                else "SKIP %s" % res.name]
    head = "FAIL %s" % res.name
    if res.reason:
        head += " (%s)" % res.reason
    return [head] + ["    " + d for d in res.diags]


def summary_line(passed, failed, skipped):
    return "%d passed, %d failed, %d skipped" % (passed, failed, skipped)


# ---------------------------------------------------------------- timeouts


def host_cores():
    """Host CPUs this process may run on (its affinity, else cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def timeout_scale(smp, cores):
    """How much longer than the defaults the timeouts must be.

    Under TCG each vCPU is a host thread: with more vCPUs than host cores a
    guest second of contended work takes more host time, and a vCPU holding
    a lock may not run at all for a while. 1 up to VCPUS_PER_CORE vCPUs per
    host core, then in proportion: on 2 host cores, 4 CPUs 1x (240 s), 8
    CPUs 2x (480 s), 16 CPUs 4x (960 s). Generous on purpose: a timeout only
    has to catch a hang.
    """
    return max(1.0, float(smp) / (VCPUS_PER_CORE * max(1, cores)))


def scaled(base, scale):
    return int(math.ceil(base * scale))


def has_option(cmdline, key):
    """Does the kernel command line set `key=`?"""
    return re.search(r"(^|\s)%s=" % re.escape(key), cmdline) is not None


def with_case_timeout(cmdline, scale):
    """The command line with the kernel's per-case timeout (ktest.timeout,
    guest seconds) scaled like the global one, unless it sets its own."""
    if scale <= 1 or has_option(cmdline, "ktest.timeout"):
        return cmdline
    return (cmdline.strip() + " " if cmdline.strip() else "") + \
        "ktest.timeout=%d" % scaled(BASE_CASE_TIMEOUT_S, scale)


# ---------------------------------------------------------------- QEMU


def _set_pdeathsig():
    """In the child: die with the runner, so no QEMU is ever left behind."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    # Own process group: a Ctrl-C on the terminal reaches the runner, which
    # then stops QEMU itself.
    os.setpgid(0, 0)


def display_args(qemu, choice):
    """-display for interactive runs: `auto`, `none`, or a QEMU backend.

    auto: a gtk (or sdl) window when there is a graphical session and QEMU
    has the backend (Debian: qemu-system-gui), else no window.
    """
    if choice not in (None, "", "auto"):
        return ["-display", choice]
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        try:
            have = subprocess.run([qemu, "-display", "help"],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True,
                                  timeout=30).stdout.split()
        except (OSError, subprocess.SubprocessError):
            have = []
        for backend in ("gtk", "sdl"):
            if backend in have:
                return ["-display", backend]
    return ["-display", "none"]


def qemu_command(args, disk, vars_copy, mode):
    cmd = [args.qemu,
           "-machine", "q35",
           "-cpu", args.cpu,
           "-smp", str(args.smp),
           "-m", args.mem,
           "-accel", "tcg,thread=multi",
           "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" %
           args.ovmf_code,
           "-drive", "if=pflash,format=raw,unit=1,file=%s" % vars_copy,
           "-drive", "if=none,id=esp,format=raw,file=%s%s" %
           (disk, ",snapshot=on" if args.disk else ""),
           "-device", "ide-hd,drive=esp,bus=ide.0,bootindex=0",
           "-device", "isa-debug-exit,iobase=0x%x,iosize=0x04" %
           DEBUG_EXIT_PORT,
           "-nic", "none"]
    if mode in ("test", "expect", "bench", "init", "script"):
        # A reset (triple fault, the monitor's `reboot`) ends a headless run
        # (QEMU exits with status 0) instead of booting again unseen.
        cmd += ["-no-reboot", "-display", "none", "-serial", "stdio",
                "-monitor", "none", "-parallel", "none"]
    else:
        # Interactive: `reboot` really reboots.
        cmd += display_args(args.qemu, args.display)
        cmd += ["-serial", "mon:stdio"]
        if mode == "gdb":
            cmd += ["-s", "-S"]
    cmd += args.qemu_arg
    return cmd


class Session:
    """One headless QEMU run: serial lines in, raw log out."""

    def __init__(self, cmd, log_path, stderr_path, stdin=subprocess.DEVNULL):
        self.log = open(log_path, "wb")
        self.stderr_file = open(stderr_path, "wb")
        self.stderr_path = stderr_path
        self.proc = subprocess.Popen(cmd, stdin=stdin,
                                     stdout=subprocess.PIPE,
                                     stderr=self.stderr_file,
                                     preexec_fn=_set_pdeathsig)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.eof = False
        self.lines = []  # every decoded console line, for context
        self.start = time.monotonic()

    def elapsed(self):
        return time.monotonic() - self.start

    def read_lines(self, deadline):
        """Console lines that arrive before `deadline` (monotonic time).

        Returns [] at the deadline; sets self.eof when QEMU closed stdout.
        """
        out = []
        while not out and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not self.sel.select(min(left, 1.0)):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                self.eof = True
                if self.buf:
                    out.append(self.buf)
                    self.buf = b""
                break
            self.buf += chunk
            while b"\n" in self.buf or len(self.buf) > MAX_LINE:
                i = self.buf.find(b"\n")
                i = MAX_LINE if i < 0 else i + 1
                out.append(self.buf[:i])
                self.buf = self.buf[i:]
        # The log keeps every byte but terminal escape sequences (OVMF's
        # would clear the screen of whoever cats the log).
        for b in out:
            self.log.write(ANSI_RE_B.sub(b"", b))
        self.log.flush()
        lines = [b.decode("utf-8", "replace").rstrip("\r\n") for b in out]
        self.lines.extend(lines)
        return lines

    def read_raw(self, deadline):
        """--script: whatever bytes arrive before `deadline` (text, raw:
        no line splitting; '' at the deadline or EOF), logged as they come."""
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return ""
            if not self.sel.select(min(left, 1.0)):
                continue
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                self.eof = True
                return ""
            self.log.write(ANSI_RE_B.sub(b"", chunk))
            self.log.flush()
            return chunk.decode("utf-8", "replace")
        return ""

    def read_until(self, deadline):
        """--script: everything that arrives before `deadline` (a pause
        that keeps logging; read_raw returns at the first chunk)."""
        got = ""
        while not self.eof and time.monotonic() < deadline:
            got += self.read_raw(deadline)
        return got

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=max(timeout, 0))
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self):
        self.kill()
        if self.buf:  # a last line without its newline
            self.log.write(ANSI_RE_B.sub(b"", self.buf))
        self.sel.close()
        self.proc.stdout.close()
        self.log.close()
        self.stderr_file.close()

    def qemu_stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def tail(self, n=TAIL_LINES):
        return [clean_line(x) for x in self.lines[-n:]]


def describe_exit(status):
    if status is None:
        return "still running"
    if status < 0:
        return "killed by signal %d" % -status
    if status == 0:
        return ("status 0: a reset or triple fault (-no-reboot turns it into "
                "an exit) or an ACPI power-off")
    if status % 2 == 1:
        return "status %d: isa-debug-exit code %d" % (status, status >> 1)
    return "status %d (QEMU error?)" % status


class Printer:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def __call__(self, *lines):
        for line in lines:
            print(line, file=self.stream)
        self.stream.flush()

    def result(self, res):
        self(*format_result(res))

    def block(self, title, lines):
        self(title)
        self(*["  | " + x for x in lines])


def run_headless(args, cmd, out):
    """Test, expect or bench mode. Returns the exit status for the runner."""
    log_path = args.log
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    parser = KtapParser(emit=out.result)
    expect = args.expect
    bench = args.bench
    ktap = expect is None and not bench
    figures = 0  # `bench:` lines seen
    sess = Session(cmd, log_path, os.path.join(args.tmpdir, "qemu.stderr"))
    deadline = sess.start + args.timeout
    run_error = None
    panic_ctx = None
    panic_what = None
    loader_ctx = None  # the loader's lines, when it failed
    exit_status = None
    seen_marker = False
    done_at = None
    try:
        while True:
            if done_at is not None:
                grace = args.exit_grace if args.qemu_exit else 1
                limit = min(deadline, done_at + grace)
            else:
                limit = deadline
            lines = sess.read_lines(limit)
            for i, line in enumerate(lines):
                in_suite = ktap and parser.started and not parser.done
                text = clean_line(line)
                kind = panic_kind(text, in_suite)
                if kind:
                    panic_what = "kernel panic" if kind == "panic" else \
                        "kernel BUG outside the test suite"
                    panic_ctx = [clean_line(x) for x in lines[i:]]
                    break
                reason = None if in_suite else loader_failure(text)
                if reason is not None:
                    # The firmware would now wait in its shell: stop here.
                    upto = len(sess.lines) - len(lines) + i + 1
                    before = [clean_line(x) for x in sess.lines[:upto]]
                    run_error = loader_failure_reason(reason, before)
                    loader_ctx = loader_lines(before)
                    break
                if bench:
                    text = clean_line(line).strip()
                    if BENCH_RE.match(text):
                        figures += 1
                        out(text)
                    elif BENCH_DONE_RE.match(text) and done_at is None:
                        done_at = time.monotonic()
                elif ktap:
                    parser.feed(line)
                elif expect in line:
                    seen_marker = True
                    break
            if panic_ctx or seen_marker or loader_ctx is not None:
                break
            if ktap and parser.done and done_at is None:
                done_at = time.monotonic()
            if sess.eof:
                exit_status = sess.wait(10)
                break
            if not lines and time.monotonic() >= limit:
                break
        elapsed = sess.elapsed()

        if panic_ctx is not None:
            # Keep reading the panic report (registers, backtrace).
            pdl = min(deadline, time.monotonic() + PANIC_GRACE_S)
            while len(panic_ctx) <= PANIC_CONTEXT_LINES and not sess.eof:
                more = sess.read_lines(min(pdl, time.monotonic() +
                                           PANIC_IDLE_S))
                if not more:
                    break
                panic_ctx += [clean_line(x) for x in more]
            panic_ctx = panic_ctx[:PANIC_CONTEXT_LINES + 1]
            sess.kill()
            run_error = "%s after %.0f s" % (panic_what, elapsed)
        elif loader_ctx is not None:
            sess.kill()
        elif seen_marker:
            sess.kill()
        elif sess.eof:
            if exit_status is None:
                sess.kill()
            if expect is not None:
                run_error = "QEMU exited (%s) before %r was printed" % (
                    describe_exit(exit_status), expect)
            elif bench:
                if done_at is None:
                    run_error = ("QEMU exited (%s) before `# bench: done`" %
                                 describe_exit(exit_status))
                elif args.qemu_exit and exit_status != 1:
                    run_error = ("QEMU exited with %s after `# bench: done`, "
                                 "not with isa-debug-exit code 0" %
                                 describe_exit(exit_status))
            elif not parser.done:
                run_error = ("QEMU exited (%s) before `# ktest: done`" %
                             describe_exit(exit_status))
        elif done_at is not None:
            # `# ktest: done` (`# bench: done`) seen, QEMU still running.
            sess.kill()
            if args.qemu_exit:
                run_error = ("the kernel printed `# %s: done` but did not "
                             "exit QEMU within %d s (qemu_exit=1)" %
                             ("bench" if bench else "ktest", args.exit_grace))
        else:
            sess.kill()
            run_error = "timed out after %d s" % args.timeout
    finally:
        sess.close()

    if expect is not None:
        if seen_marker and run_error is None:
            out("PASS boot (%r after %.0f s)" % (expect, elapsed))
            counts = (1, 0, 0)
        else:
            counts = (0, 1, 0)
    elif bench:
        if run_error is None and figures == 0:
            out("FAIL: `# bench: done` but no `bench:` figures (does the "
                "bench.filter match a benchmark?)")
            counts = (0, 1, 0)
        elif run_error is None:
            out("PASS bench (%d figures after %.0f s)" % (figures, elapsed))
            counts = (1, 0, 0)
        else:
            counts = (0, 1, 0)
    else:
        parser.finish(run_error)
        # Cross-check the isa-debug-exit code with the parsed verdict.
        if run_error is None and exit_status is not None and parser.done:
            verdict_pass = parser.failed - parser.runner_only == 0
            if exit_status in (1, 3):
                code_pass = exit_status == 1
                if code_pass != verdict_pass:
                    parser.add_error(
                        "isa-debug-exit says %s (QEMU status %d) but the "
                        "KTAP output says %s" %
                        ("pass" if code_pass else "fail", exit_status,
                         "pass" if verdict_pass else "fail"))
            elif args.qemu_exit:
                parser.add_error("QEMU exited with %s after `# ktest: done`, "
                              "not through isa-debug-exit" %
                              describe_exit(exit_status))
        counts = (parser.passed, parser.failed, parser.skipped)
        for note in parser.notes:
            out("note: %s" % note)
        for err in parser.errors:
            if err != run_error:
                out("FAIL: %s" % err)

    if run_error is not None:
        out("FAIL: %s" % run_error)
        if panic_ctx is not None:
            out.block("panic report (%d lines):" % len(panic_ctx), panic_ctx)
        elif loader_ctx is not None:
            out.block("loader output (%d lines):" % len(loader_ctx),
                      loader_ctx)
        else:
            out.block("last %d console lines:" % TAIL_LINES, sess.tail())
        err = sess.qemu_stderr()
        if err and not panic_ctx and loader_ctx is None:
            out.block("QEMU stderr:", err.splitlines()[-TAIL_LINES:])
    out("log: %s" % shortpath(log_path))
    out(summary_line(*counts))
    return 0 if counts[1] == 0 else 1


INIT_START_RE = re.compile(r"^init: starting ")
INIT_EXIT_RE = re.compile(r"^init: (\S+) exited with status (\d+)\s*$")
INIT_KILLED_RE = re.compile(r"^init: (\S+) killed by signal (\d+)\b")
INIT_CANNOT_RE = re.compile(r"^init: cannot run ")
INIT_BOOT_FAILED = 125


def init_outcome(line):
    """The shell-style exit code an `init:` console line reports, or None."""
    m = INIT_EXIT_RE.match(line)
    if m:
        return int(m.group(2))
    m = INIT_KILLED_RE.match(line)
    if m:
        return 128 + int(m.group(2))
    if INIT_CANNOT_RE.match(line):
        return 127
    return None


def run_init(args, cmd):
    """--init: echo the program's console, return its outcome (see above)."""
    sess = Session(cmd, args.log, os.path.join(args.tmpdir, "qemu.stderr"))
    deadline = sess.start + args.timeout
    echo = False
    outcome = None
    error = None
    try:
        while outcome is None and error is None:
            lines = sess.read_lines(deadline)
            for line in lines:
                text = clean_line(line)
                if panic_kind(text):
                    error = "kernel panic: %s" % text
                    break
                if not echo and INIT_START_RE.match(text):
                    echo = True
                if echo:
                    print(line, flush=True)
                outcome = init_outcome(text)
                if outcome is not None:
                    break
            if outcome is None and error is None:
                if sess.eof:
                    error = "QEMU exited (%s) before init ended" % \
                        describe_exit(sess.wait(10))
                elif not lines and time.monotonic() >= deadline:
                    error = "timed out after %d s" % args.timeout
        if outcome is not None and args.qemu_exit:
            status = sess.wait(args.exit_grace)
            want = 1 if outcome == 0 else 3
            if status != want:
                error = "QEMU exited with %s, expected isa-debug-exit " \
                    "status %d" % (describe_exit(status), want)
    finally:
        sess.close()
    if error is not None:
        print("runner: %s (log: %s)" % (error, shortpath(args.log)),
              file=sys.stderr)
        for x in sess.tail(10):
            print("runner:   | %s" % x, file=sys.stderr)
        return INIT_BOOT_FAILED
    return outcome


def replay(path, out):
    """--parse: the verdict of a saved console log, without QEMU."""
    parser = KtapParser(emit=out.result)
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    lines = data.splitlines()
    run_error = None
    for i, line in enumerate(lines):
        in_suite = parser.started and not parser.done
        text = clean_line(line)
        kind = panic_kind(text, in_suite)
        if kind:
            run_error = "kernel panic" if kind == "panic" else \
                "kernel BUG outside the test suite"
            out.block("%s report:" % run_error, [
                clean_line(x) for x in lines[i:i + PANIC_CONTEXT_LINES + 1]])
            break
        reason = None if in_suite else loader_failure(text)
        if reason is not None:
            before = [clean_line(x) for x in lines[:i + 1]]
            run_error = loader_failure_reason(reason, before)
            ctx = loader_lines(before)
            out.block("loader output (%d lines):" % len(ctx), ctx)
            break
        parser.feed(line)
    if run_error is None and not parser.done:
        run_error = "the log ends before `# ktest: done`"
    parser.finish(run_error)
    for note in parser.notes:
        out("note: %s" % note)
    for err in parser.errors:
        out("FAIL: %s" % err)
    out(summary_line(parser.passed, parser.failed, parser.skipped))
    return 0 if parser.failed == 0 else 1


SCRIPT_PROMPT_DEFAULT = r"# $"
SCRIPT_CMD_TIMEOUT_S = 60
SCRIPT_SETTLE_S = 0.3
SCRIPT_KEY_PAUSE_S = 0.5  # `> KEYS`: the pause before they are typed
SCRIPT_CTRL_DELAY_S = 1.5  # `^ K`: how long the program runs before the key


def parse_script(path):
    """--script FILE: [(kind, arg)], kind in '$ = ~ ! & ^ > . prompt'."""
    steps = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith("prompt "):
                steps.append(("prompt", line[7:]))
            elif line[:2] in ("$ ", "= ", "~ ", "! ", "& ", "^ ", "> ", ". "):
                steps.append((line[0], line[2:]))
            else:
                raise ValueError("%s:%d: not a directive: %r" % (path, n, line))
    return steps


def script_text(raw):
    """Console text for the checks: escapes, CRs and backspaced
    characters removed."""
    text = ANSI_RE.sub("", raw).replace("\r", "")
    out = []
    for ch in text:
        if ch in "\b\x7f":
            if out and out[-1] != "\n":
                out.pop()
        elif ch == "\n" or ch == "\t" or ch >= " ":
            out.append(ch)
    return "".join(out)


def run_script(args, cmd, out):
    """--script: a shell session typed into the serial console."""
    try:
        steps = parse_script(args.script)
    except (OSError, ValueError) as e:
        out("FAIL: %s" % e, summary_line(0, 1, 0))
        return 1
    sess = Session(cmd, args.log, os.path.join(args.tmpdir, "qemu.stderr"),
                   stdin=subprocess.PIPE)
    prompt = re.compile(SCRIPT_PROMPT_DEFAULT)
    passed = failed = 0
    buf = ""  # console text since the last command was typed

    def wait_prompt(deadline):
        nonlocal buf
        while True:
            text = script_text(buf)
            if prompt.search(text):
                # the prompt is the last thing only if nothing follows it
                # for a moment (a line like "# x" can arrive cut after "# ")
                more = sess.read_raw(time.monotonic() + SCRIPT_SETTLE_S)
                if not more:
                    return text
                buf += more
                continue
            if time.monotonic() >= deadline or sess.eof:
                return None
            if "KERNEL PANIC" in buf:
                return None
            buf += sess.read_raw(deadline)

    def fail(msg):
        nonlocal failed
        failed += 1
        out("FAIL: %s" % msg)

    output = None
    try:
        i = 0
        # the first prompt: the boot, init, the shell
        while i < len(steps) and steps[i][0] == "prompt":
            prompt = re.compile(steps[i][1])
            i += 1
        if wait_prompt(sess.start + args.timeout) is None:
            fail("no shell prompt (%s) after %d s" % (prompt.pattern, args.timeout))
            for x in sess.tail(15):
                out("runner:   | %s" % clean_line(x))
            tail = script_text(buf).splitlines()[-10:]
            for x in tail:
                out("runner:   | %s" % x)
            i = len(steps)
        for kind, arg in steps[i:]:
            if kind == "prompt":
                prompt = re.compile(arg)
            elif kind == "&":  # typed; the next `^ K` ends it
                out("& %s" % arg)
                buf = ""
                sess.proc.stdin.write(arg.encode() + b"\r")
                sess.proc.stdin.flush()
            elif kind == ">":  # keys for the program `&` started; no wait
                out("> %s" % arg)
                # a real pause: keys sent back to back would arrive as one
                # burst (an ESC then ':' within 50 ms is an unknown escape
                # sequence to busybox's read_key, which drops them all)
                buf += sess.read_until(time.monotonic() + SCRIPT_KEY_PAUSE_S)
                sess.proc.stdin.write(arg.replace("\\e", "\\x1b").encode().decode(
                    "unicode_escape").encode("latin-1"))
                sess.proc.stdin.flush()
            elif kind in ("$", "^", "."):
                if kind == "^":  # Ctrl-K for the program `&` started
                    out("^ %s" % arg)
                    buf += sess.read_until(time.monotonic() + SCRIPT_CTRL_DELAY_S)
                    sess.proc.stdin.write(bytes([ord(arg[0].upper()) & 0x1f]))
                elif kind == ".":  # the prompt after `&` and `>`
                    out(". %s" % arg)
                else:
                    out("$ %s" % arg)
                    buf = ""
                    sess.proc.stdin.write(arg.encode() + b"\r")
                sess.proc.stdin.flush()
                text = wait_prompt(time.monotonic() + SCRIPT_CMD_TIMEOUT_S)
                if text is None:
                    fail("no prompt after `%s` within %d s" % (arg, SCRIPT_CMD_TIMEOUT_S))
                    for x in script_text(buf).splitlines()[-10:]:
                        out("runner:   | %s" % x)
                    break
                # drop the echoed command (the first line) and the prompt
                body = text.split("\n", 1)[1] if "\n" in text else ""
                lines = body.split("\n")
                output = "\n".join(lines[:-1])
                for x in lines[:-1]:
                    out("  | %s" % x)
            else:
                if output is None:
                    fail("a check before the first command: %s %s" % (kind, arg))
                    continue
                if kind == "=":
                    ok = arg in output
                elif kind == "!":
                    ok = arg not in output
                else:
                    ok = any(re.search(arg, x) for x in output.split("\n"))
                if ok:
                    passed += 1
                    out("PASS: %s %s" % (kind, arg))
                else:
                    fail("%s %s" % (kind, arg))
    finally:
        try:
            sess.proc.stdin.close()
        except OSError:
            pass
        sess.close()
    out(summary_line(passed, failed, 0))
    return 0 if failed == 0 else 1


def run_interactive(args, cmd, mode):
    if mode == "gdb":
        print("runner: QEMU is waiting for gdb on localhost:1234. In another "
              "terminal:\n    gdb %s -ex 'target remote :1234'\n"
              "runner: Ctrl-A X quits QEMU, Ctrl-A C toggles its monitor." %
              shortpath(args.kernel), file=sys.stderr)
    else:
        print("runner: serial console below; Ctrl-A X quits QEMU, Ctrl-A C "
              "toggles its monitor.", file=sys.stderr)
    sys.stderr.flush()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(cmd)
    finally:
        signal.signal(signal.SIGINT, old)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Boot the kernel in QEMU (q35 + OVMF) and report.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", default="build/kernel.elf")
    ap.add_argument("--loader", default="build/BOOTX64.EFI")
    ap.add_argument("--initrd", default=None, help="RAM-disk image")
    ap.add_argument("--disk", default=None,
                    help="boot this disk image (read-only snapshot) instead "
                    "of building an ESP from --kernel/--loader")
    ap.add_argument("--smp", type=int, default=4)
    ap.add_argument("--mem", default="512M")
    ap.add_argument("--cpu", default=os.environ.get("QEMU_CPU") or "max",
                    help="QEMU -cpu model (default: max)")
    ap.add_argument("--timeout", type=int, default=None,
                    help="global timeout in seconds (headless modes; "
                    "default %d s, longer with more than %d vCPUs per host "
                    "core)" % (BASE_TIMEOUT_S, VCPUS_PER_CORE))
    ap.add_argument("--host-cores", type=int, default=None, metavar="N",
                    help="host cores this run may count on, for the default "
                    "timeouts (default: the CPUs the runner may use; lower "
                    "it when other emulators run at the same time)")
    ap.add_argument("--cmdline", default="", help="kernel command line")
    ap.add_argument("--log", default=None,
                    help="raw serial log (default: build/test-<smp>cpu.log)")
    ap.add_argument("--expect", default=None, metavar="TEXT",
                    help="boot check: pass when a console line contains TEXT")
    ap.add_argument("--bench", action="store_true",
                    help="benchmark run: print the `bench:` lines, pass on "
                    "`# bench: done` (no KTAP)")
    ap.add_argument("--init", action="store_true",
                    help="run the init= program of --cmdline; exit with its "
                    "outcome (status, 128+signal)")
    ap.add_argument("--parse", default=None, metavar="LOG",
                    help="no QEMU: print the verdict of a saved console log")
    ap.add_argument("--script", default=None, metavar="FILE",
                    help="type the shell session of FILE into the serial "
                    "console and check its output (see above)")
    ap.add_argument("--interactive", action="store_true")
    ap.add_argument("--gdb", action="store_true")
    ap.add_argument("--display", default=os.environ.get("QEMU_DISPLAY", ""),
                    help="interactive display: auto (default), none, gtk, "
                    "sdl, curses")
    ap.add_argument("--qemu", default=os.environ.get("QEMU") or
                    "qemu-system-x86_64")
    ap.add_argument("--qemu-arg", action="append", default=[],
                    help="extra QEMU argument (repeat)")
    ap.add_argument("--ovmf-code", default=OVMF_CODE)
    ap.add_argument("--ovmf-vars", default=OVMF_VARS)
    ap.add_argument("--exit-grace", type=int, default=DONE_GRACE_S,
                    help="with qemu_exit=1: seconds to wait for QEMU to exit "
                    "after `# ktest: done` or `# bench: done` (default "
                    "%(default)s)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (ESP image, VARS)")
    ap.add_argument("--print-cmd", action="store_true",
                    help="print the QEMU command line and exit (with --keep "
                    "the ESP image it names stays)")
    args = ap.parse_args(argv)
    args.host_cores = max(1, args.host_cores or host_cores())
    args.scale = timeout_scale(args.smp, args.host_cores)
    args.timeout_auto = args.timeout is None
    if args.timeout is None:
        args.timeout = scaled(BASE_TIMEOUT_S, args.scale)
    args.qemu_exit = bool(re.search(r"(^|\s)qemu_exit=1(\s|$)", args.cmdline))
    if args.log is None:
        if args.bench:
            name = "bench-%dcpu" % args.smp
        elif args.init:
            name = "run-user"
        elif args.script is not None:
            name = "script"
        elif args.expect is not None:
            name = "test-image"
        else:
            name = "test-%dcpu" % args.smp
        args.log = os.path.join("build", name + ".log")
    return args


def main(argv=None):
    args = parse_args(argv)
    mode = "gdb" if args.gdb else "interactive" if args.interactive else \
        "script" if args.script is not None else \
        "expect" if args.expect is not None else \
        "bench" if args.bench else "init" if args.init else "test"
    out = Printer()
    if args.parse:
        return replay(args.parse, out)
    for f in (args.ovmf_code, args.ovmf_vars):
        if not os.path.isfile(f):
            out("FAIL: %s not found (install the ovmf package: "
                "tools/deps.sh)" % f, summary_line(0, 1, 0))
            return 1

    if mode == "test" and not args.disk:
        args.cmdline = with_case_timeout(args.cmdline, args.scale)

    args.tmpdir = tempfile.mkdtemp(prefix="ktest-qemu-")

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        if args.disk:
            if not os.path.isfile(args.disk):
                out("FAIL: disk image not found: %s" % args.disk,
                    summary_line(0, 1, 0))
                return 1
            disk = os.path.abspath(args.disk)
        else:
            disk = os.path.join(args.tmpdir, "esp.img")
            try:
                mkesp.build_esp(disk, args.loader, args.kernel, args.cmdline,
                                args.initrd or None)
            except mkesp.EspError as e:
                out("FAIL: building the ESP image: %s" % e,
                    summary_line(0, 1, 0))
                return 1
        vars_copy = os.path.join(args.tmpdir, "OVMF_VARS.fd")
        shutil.copyfile(args.ovmf_vars, vars_copy)
        cmd = qemu_command(args, disk, vars_copy, mode)
        if args.print_cmd:
            print(shlex.join(cmd))
            if not args.keep:
                print("runner: (the ESP image and OVMF_VARS copy it names "
                      "are deleted now; --keep keeps them)", file=sys.stderr)
            return 0
        if mode in ("interactive", "gdb"):
            return run_interactive(args, cmd, mode)
        if mode == "init":
            return run_init(args, cmd)
        if mode == "script":
            return run_script(args, cmd, out)
        what = "boot check, waiting for %r" % args.expect \
            if mode == "expect" else "%scmdline %r" % (
                "benchmarks, " if mode == "bench" else "", args.cmdline)
        how_long = "timeout %d s" % args.timeout
        if args.timeout_auto and args.scale > 1:
            how_long += " (%d vCPUs on %d host cores)" % (args.smp,
                                                          args.host_cores)
        out("runner: %s, %d CPUs, %s, %s, %s" %
            (shortpath(args.disk or args.kernel), args.smp, args.mem,
             how_long, what))
        return run_headless(args, cmd, out)
    except KeyboardInterrupt:
        out("FAIL: interrupted", summary_line(0, 1, 0))
        return 130
    finally:
        if args.keep:
            print("runner: kept %s" % args.tmpdir, file=sys.stderr)
        else:
            shutil.rmtree(args.tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
