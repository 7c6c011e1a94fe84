#!/usr/bin/env python3
"""tools/mutants.py - mutation testing: show that the tests have teeth.

A *mutation* is a build switch (`make MUTATION=NAME` compiles the kernel with
-DMUTATION_NAME=1) that re-creates a historic bug. tests/mutants.txt lists
them, one a line:

    NAME  FILTER  description...

FILTER is the ktest.filter glob list (`tlb.*,gup.*`) of the tests expected to
catch the bug. For each mutation this script builds the mutant kernel in
BUILD/mutant-NAME/, boots it with tests/runner.py (ktest.filter=FILTER, log
in BUILD/mutant-NAME.log) and prints one verdict line:

    KILLED   NAME: how (tests failed / panic / timeout) and the failed tests
    SURVIVED NAME          every selected test passed: a test without teeth
    UNKNOWN  NAME          MUTATION_NAME appears in no kernel source
    NOOP     NAME          the mutant kernel is identical to the normal one
    NOTESTS  NAME          FILTER selects no test that passes normally
                           (or no case ran at all)
    INCONCLUSIVE NAME      the run passed, but some of its cases ended
                           `SKIP inconclusive: ...` (a race test that could
                           not provoke its race, e.g. the CPU dropped a stale
                           TLB entry early) in every one of 1 + RETRIES runs
    BUILD-FAILED NAME      the mutant does not compile (not a kill)
    ERROR    NAME          the runner itself failed (no ESP, no QEMU...)

then `N mutants, N killed, N survived` (plus the other outcomes when there
are any). Before the mutants, the normal kernel runs the union of the filters
once: if it does not pass, a kill would mean nothing, and the script stops.
Exit status 0 iff every mutant was killed.

Host rows: FILTER `host:TEST` names a host-side test of HOST_TESTS instead
of kernel tests (logic the emulator cannot exercise, e.g. PCID: the
ASID/generation code of arch/x86_64/asid.c against the tagged-TLB model of
tests/host/asid_model_test.c). Such a mutant is the host test compiled with
-DMUTATION_NAME=1 (HOST_CC, HOST_CFLAGS: --host-cc, --host-cflags) into
BUILD/mutant-NAME/TEST and run (output in BUILD/mutant-NAME.out): KILLED
when it exits non-zero (it names the seed and the broken check), SURVIVED
when it passes. MUTATION_NAME may also live in the host test's own sources
(a mutation of the kernel protocol it models); NOOP means the preprocessed
sources do not change. The normal host test must pass first.

A passing run with an inconclusive case is not a survival: that case might
have been the one to kill the mutant. Such a run is repeated (up to RETRIES
more times); a failing repeat is a kill, a clean pass a survival.

Usage (make mutants does this):
    tools/mutants.py --build build --kernel build/kernel.elf [--timeout 240] \\
        [--jobs 2] [--only NAME,...] [--host-cc gcc --host-cflags '...'] \\
        -- --loader build/BOOTX64.EFI --smp 4 ...
Arguments after `--` go to every tests/runner.py run. Without --timeout the
runner picks its default, counting the host cores shared by --jobs boots.
$MAKE is the make used to build the mutants.
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "tests", "runner.py")
SOURCE_DIRS = ("kernel", "mm", "arch", "drivers")
SOURCE_EXTS = (".c", ".h", ".asm", ".inc", ".S")
NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
FILTER_MAX_GLOBS = 16  # tests/ktest.c: filters[16]
FILTER_MAX_CHARS = 255  # tests/ktest.c: filter_buf[256]
BUILD_TAIL = 15  # lines of a failed build shown
RETRIES = 2  # more runs of a mutant whose passing run had inconclusive cases

# Host-side tests a row can name as FILTER `host:TEST`: the sources compiled
# together (from the repository root) and the arguments of a run.
HOST_PREFIX = "host:"
HOST_TESTS = {
    "asid_model_test": (("arch/x86_64/asid.c", "tests/host/asid_model_test.c"),
                        []),
}
# tests/host.mk's HOST_CFLAGS (make mutants passes the real ones).
DEFAULT_HOST_CFLAGS = ("-std=gnu11 -O1 -g -Wall -Wextra -Werror "
                       "-Wno-unused-parameter -fsanitize=address,undefined "
                       "-fno-sanitize-recover=all -I.")
HOST_TIMEOUT = 600  # seconds for one run of a host test (it takes a few)

# Runner output that means the run never tested anything (not a kill).
INFRA_ERRORS = ("FAIL: building the ESP image", "FAIL: disk image not found",
                "(install the ovmf package", "FAIL: interrupted",
                "(QEMU error?)")


class TableError(Exception):
    pass


class Mutant:
    def __init__(self, name, filt, desc, lineno):
        self.name = name
        self.filter = filt
        self.desc = desc
        self.lineno = lineno
        self.verdict = None  # KILLED, SURVIVED, UNKNOWN, ...
        self.detail = ""
        self.runs = 0  # boots of the mutant
        # host:TEST rows: the host test instead of kernel tests
        self.host = filt[len(HOST_PREFIX):] if filt.startswith(HOST_PREFIX) \
            else None

    def globs(self):
        return [g for g in self.filter.split(",") if g]


def parse_table(path):
    mutants, seen = [], {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            where = "%s:%d" % (path, lineno)
            if len(parts) < 3:
                raise TableError("%s: want `NAME  FILTER  description`, got "
                                 "%r" % (where, line))
            name, filt, desc = parts
            if not NAME_RE.match(name):
                raise TableError("%s: bad mutation name %r (A-Z, 0-9, _)" %
                                 (where, name))
            if name in seen:
                raise TableError("%s: %s already listed on line %d" %
                                 (where, name, seen[name]))
            seen[name] = lineno
            m = Mutant(name, filt, desc, lineno)
            if m.host is not None:
                if m.host not in HOST_TESTS:
                    raise TableError("%s: %s: no host test %r (known: %s)" %
                                     (where, name, m.host,
                                      ", ".join(sorted(HOST_TESTS))))
            elif not m.globs() or len(m.globs()) > FILTER_MAX_GLOBS or \
                    len(filt) > FILTER_MAX_CHARS:
                raise TableError("%s: filter %r: 1 to %d globs, at most %d "
                                 "characters (the kernel's limits)" %
                                 (where, filt, FILTER_MAX_GLOBS,
                                  FILTER_MAX_CHARS))
            mutants.append(m)
    return mutants


def check_table_limits(mutants, args):
    """--names-from and --filter-prefixes: a second table (user programs)
    re-kills the first table's mutations with its own kind of tests."""
    if args.names_from:
        known = {m.name for m in parse_table(args.names_from)}
        for m in mutants:
            if m.name not in known:
                raise TableError("%s:%d: %s is not a mutation of %s" % (
                    rel(args.table), m.lineno, m.name, rel(args.names_from)))
    if args.filter_prefixes:
        prefixes = tuple(p for p in args.filter_prefixes.split(",") if p)
        for m in mutants:
            bad = [g for g in ([m.filter] if m.host else m.globs())
                   if not g.startswith(prefixes)]
            if bad:
                raise TableError("%s:%d: %s: filter %s is not a %s case" % (
                    rel(args.table), m.lineno, m.name, ",".join(bad),
                    " or ".join(p + "*" for p in prefixes)))


# ------------------------------------------------------------ source check

C_COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
ASM_COMMENT_RE = re.compile(r";[^\n]*")


def _uncommented(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    rx = ASM_COMMENT_RE if path.endswith((".asm", ".inc")) else C_COMMENT_RE
    return rx.sub(" ", text)


def source_texts():
    """{path: text without comments} of the kernel sources."""
    texts = {}
    for d in SOURCE_DIRS:
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, d)):
            for fn in sorted(files):
                if not fn.endswith(SOURCE_EXTS):
                    continue
                path = os.path.join(dirpath, fn)
                texts[os.path.relpath(path, ROOT)] = _uncommented(path)
    return texts


def host_texts(test):
    """{path: text without comments} of a host test's own sources."""
    return {p: _uncommented(os.path.join(ROOT, p)) for p in HOST_TESTS[test][0]}


def where_used(name, texts):
    rx = re.compile(r"\bMUTATION_%s\b" % name)
    return [p for p, t in sorted(texts.items()) if rx.search(t)]


# ------------------------------------------------------------ helpers

class Out:
    """Line printer shared by the worker threads."""

    def __init__(self):
        self.lock = threading.Lock()

    def __call__(self, *lines):
        with self.lock:
            for line in lines:
                print(line)
            sys.stdout.flush()


def glob_re(glob):
    """The kernel's glob_match (`*`, `?`) as a regex."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else
                              re.escape(c) for c in glob) + r"\Z")


def rel(path):
    r = os.path.relpath(path)
    return path if r.startswith("..") else r


def tail(path, n):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


_procs = set()
_procs_lock = threading.Lock()


def run_logged(cmd, out_path, env=None, timeout=None):
    """Run cmd with stdout+stderr into out_path; return (status, text).
    With a timeout, a command still running then is killed: status None."""
    with open(out_path, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
        with _procs_lock:
            _procs.add(proc)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            status = None
        finally:
            with _procs_lock:
                _procs.discard(proc)
    with open(out_path, errors="replace") as f:
        return status, f.read()


def stop_children():
    with _procs_lock:
        procs = list(_procs)
    for p in procs:
        if p.poll() is None:
            p.terminate()  # the runner stops its QEMU on SIGTERM
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def host_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# ------------------------------------------------------------ build

def make_command():
    """The make for the mutant builds, and its environment.

    The recipe does not name $(MAKE), so that `make -n mutants` only prints
    it: the sub-make gets no jobserver, and runs -jN on its own.
    """
    make = shlex.split(os.environ.get("MAKE") or "make")
    flags = os.environ.get("MAKEFLAGS", "")
    opts, sep, assigns = flags.partition(" -- ")
    if not sep and flags.startswith("-- "):
        opts, assigns, sep = "", flags[3:], " -- "
    opts = [w for w in opts.split()
            if not re.match(r"^(-j\d*|--jobserver.*)$", w)]
    env = dict(os.environ, MAKEFLAGS=" ".join(opts) + sep + assigns)
    env.pop("MFLAGS", None)
    return make + ["-j%d" % (os.cpu_count() or 1)], env


def loadable_image(elf, tmp_bin):
    """The bytes the loader would load from `elf` (every PT_LOAD section)."""
    try:
        subprocess.run(["objcopy", "-O", "binary", elf, tmp_bin], check=True,
                       cwd=ROOT)
        with open(tmp_bin, "rb") as f:
            return f.read()
    finally:
        if os.path.exists(tmp_bin):
            os.unlink(tmp_bin)


# The kernel's object directories under BUILD (the loader, the host tools
# and the user programs are not part of a mutant).
KERNEL_OBJ_DIRS = ("arch", "kernel", "mm", "drivers", "tests")


def dep_files(dfile):
    """The file names a make dependency file (.d) lists."""
    with open(dfile, errors="replace") as f:
        words = f.read().replace("\\\n", " ").split()
    return {w.rstrip(":") for w in words}


def seed_from_normal(m, args, bdir):
    """Start the mutant's build from copies of the normal kernel's objects,
    less every object built from a file that mentions MUTATION_NAME (the
    .d files say which): make then compiles only those few (the Makefile
    does not track CFLAGS, so the copies, newer than their sources, stay).
    Any mentioned file that no .d lists: no seed, a full build."""
    if os.path.exists(os.path.join(bdir, "kernel.elf")) or \
            os.path.exists(os.path.join(bdir, "kernel")):
        return  # built before: make knows what is stale
    files = set(getattr(m, "files", None) or [])
    if not files:
        return
    tmp = bdir + ".seed"
    if os.path.exists(tmp):
        subprocess.run(["rm", "-rf", tmp], check=False)
    covered, stale = set(), []
    os.makedirs(tmp)
    for d in KERNEL_OBJ_DIRS:
        src = os.path.join(args.build, d)
        # cp -a keeps the timestamps (copies newer than their sources)
        if os.path.isdir(src) and subprocess.run(
                ["cp", "-a", src, os.path.join(tmp, d)],
                check=False).returncode:
            subprocess.run(["rm", "-rf", tmp], check=False)
            return
    for root, _, names in os.walk(tmp):
        for n in names:
            if not n.endswith(".d"):
                continue
            hit = dep_files(os.path.join(root, n)) & files
            if hit:
                covered |= hit
                stale.append(os.path.join(root, n[:-2] + ".o"))
    if covered != files:
        subprocess.run(["rm", "-rf", tmp], check=False)
        return
    for o in stale:
        if os.path.exists(o):
            os.unlink(o)
    for d in os.listdir(tmp):
        os.rename(os.path.join(tmp, d), os.path.join(bdir, d))
    os.rmdir(tmp)


def build(m, args):
    """Build the mutant; returns True when it is ready to run."""
    bdir = os.path.join(args.build, "mutant-" + m.name)
    m.kernel = os.path.join(bdir, "kernel.elf")
    m.log = os.path.join(args.build, "mutant-%s.log" % m.name)
    m.out = os.path.join(args.build, "mutant-%s.out" % m.name)
    blog = os.path.join(args.build, "mutant-%s.build.log" % m.name)
    os.makedirs(bdir, exist_ok=True)
    seed_from_normal(m, args, bdir)
    make, env = make_command()
    cmd = make + ["--no-print-directory", "BUILD=" + bdir,
                  "MUTATION=" + m.name, m.kernel]
    status, text = run_logged(cmd, blog, env)
    if status != 0:
        m.verdict = "BUILD-FAILED"
        lines = [x for x in text.splitlines() if x.strip() and
                 not re.match(r"^  (CC|NASM) ", x)][-BUILD_TAIL:]
        m.detail = "make exited with status %d (%s)" % (status, rel(blog))
        m.report = ["  | " + x for x in lines]
        return False
    try:
        same = loadable_image(m.kernel, m.kernel + ".bin") == \
            loadable_image(args.kernel, m.kernel + ".normal.bin")
    except (OSError, subprocess.CalledProcessError) as e:
        m.verdict, m.detail = "BUILD-FAILED", "objcopy: %s" % e
        return False
    if same:
        m.verdict = "NOOP"
        m.detail = ("the mutant kernel is identical to the normal one "
                    "(MUTATION_%s changes no code)" % m.name)
        return False
    return True


# ------------------------------------------------------------ host rows

def host_compile_cmd(args, test, out, name=None):
    """The command that builds host test `test` (mutated by `name`)."""
    return shlex.split(args.host_cc) + shlex.split(args.host_cflags) + \
        (["-DMUTATION_%s=1" % name] if name else []) + \
        list(HOST_TESTS[test][0]) + ["-o", out]


def host_preprocessed(args, test, name=None):
    """The host test's sources after the preprocessor (mutated by name)."""
    flags = [f for f in shlex.split(args.host_cflags)
             if f.startswith(("-I", "-D", "-U", "-std"))]
    text = b""
    for src in HOST_TESTS[test][0]:
        cmd = shlex.split(args.host_cc) + flags + \
            (["-DMUTATION_%s=1" % name] if name else []) + ["-E", "-P", src]
        text += subprocess.run(cmd, cwd=ROOT, check=True,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL).stdout
    return text


def build_host(m, args):
    """Build a host-row mutant; returns True when it is ready to run."""
    bdir = os.path.join(args.build, "mutant-" + m.name)
    m.binary = os.path.join(bdir, m.host)
    m.out = m.log = os.path.join(args.build, "mutant-%s.out" % m.name)
    blog = os.path.join(args.build, "mutant-%s.build.log" % m.name)
    os.makedirs(bdir, exist_ok=True)
    status, text = run_logged(host_compile_cmd(args, m.host, m.binary,
                                               m.name), blog)
    if status != 0:
        m.verdict = "BUILD-FAILED"
        m.detail = "%s exited with status %s (%s)" % (
            shlex.split(args.host_cc)[0], status, rel(blog))
        m.report = ["  | " + x for x in text.splitlines()[-BUILD_TAIL:]]
        return False
    try:
        same = host_preprocessed(args, m.host, m.name) == \
            host_preprocessed(args, m.host)
    except (OSError, subprocess.CalledProcessError) as e:
        m.verdict, m.detail = "BUILD-FAILED", "preprocessor: %s" % e
        return False
    if same:
        m.verdict = "NOOP"
        m.detail = ("the mutated sources of %s are identical to the normal "
                    "ones (MUTATION_%s changes no code)" % (m.host, m.name))
        return False
    return True


def host_verdict_line(text):
    """The line of a failed host test's output that says why."""
    lines = [x.strip() for x in text.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith("FAIL"):
            why = lines[i + 1] if i + 1 < len(lines) else ""
            return "%s: %s" % (line, why) if why else line
    for line in lines:
        if "Sanitizer" in line or "runtime error" in line:
            return line
    return lines[-1] if lines else "no output"


def classify_host(test, status, text, elapsed):
    """(verdict, detail) of one run of a host-row mutant."""
    if status is None:
        return "KILLED", "host %s: timeout after %.0f s" % (test, elapsed)
    if status == 0:
        first = text.splitlines()[0] if text.strip() else ""
        return "SURVIVED", "host %s passed: %s (%.0f s)" % (test, first,
                                                            elapsed)
    return "KILLED", "host %s failed (status %d): %s (%.0f s)" % (
        test, status, host_verdict_line(text), elapsed)


def run_host(m, args, timeout=HOST_TIMEOUT):
    """Run a host-row mutant once (the test is deterministic)."""
    t0 = time.monotonic()
    status, text = run_logged([m.binary] + list(HOST_TESTS[m.host][1]),
                              m.out, timeout=timeout)
    m.runs = 1
    m.verdict, m.detail = classify_host(m.host, status, text,
                                        time.monotonic() - t0)
    if m.verdict == "SURVIVED":
        m.detail += "; output %s" % rel(m.out)


def host_baseline(tests, args, out):
    """Build and run each host test unmutated: True if all pass."""
    for test in tests:
        bdir = os.path.join(args.build, "mutants-host")
        os.makedirs(bdir, exist_ok=True)
        binary = os.path.join(bdir, test)
        outp = os.path.join(bdir, test + ".out")
        t0 = time.monotonic()
        status, text = run_logged(host_compile_cmd(args, test, binary),
                                  outp)
        if status == 0:
            status, text = run_logged([binary] + list(HOST_TESTS[test][1]),
                                      outp, timeout=HOST_TIMEOUT)
        if status != 0:
            out("", "FAIL: the normal host test %s does not pass, so a kill "
                "would prove nothing. Its output (%s):" % (test, rel(outp)),
                *["  | " + x for x in text.splitlines()[-20:]])
            return False
        out("baseline: host %s passed in %.0f s" % (test,
                                                    time.monotonic() - t0))
    return True


# ------------------------------------------------------------ runs

def runner_cmd(args, kernel, filt, log, cores=None):
    cmd = [sys.executable, RUNNER, "--kernel", kernel]
    if args.timeout is not None:
        cmd += ["--timeout", str(args.timeout)]
    if cores is not None:
        cmd += ["--host-cores", str(cores)]
    extra = " " + args.cmdline if getattr(args, "cmdline", "") else ""
    return cmd + ["--cmdline", "ktest.run=1 qemu_exit=1 ktest.filter=" + filt + extra,
                  "--log", log] + args.runner_args


RESULT_LINE_RE = re.compile(r"^(PASS|FAIL|SKIP) (\S+)(?: \((.*)\))?\s*$")
INCONCLUSIVE_RE = re.compile(r"^inconclusive\b:?\s*(.*)$", re.I)


class RunOutput:
    """What one runner output says: case names by outcome, run errors."""

    def __init__(self):
        self.passed, self.failed, self.errors = [], [], []
        self.skipped = []  # (name, reason)
        self.panic = None

    def inconclusive(self):
        """[(name, why)] of the cases skipped as inconclusive."""
        out = []
        for name, reason in self.skipped:
            m = INCONCLUSIVE_RE.match(reason or "")
            if m:
                out.append((name, m.group(1)))
        return out


def parse_runner_output(text):
    """A RunOutput of the runner's stdout."""
    o = RunOutput()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = RESULT_LINE_RE.match(line)
        if m and m.group(1) == "PASS":
            o.passed.append(m.group(2))
        elif m and m.group(1) == "SKIP":
            o.skipped.append((m.group(2), m.group(3) or ""))
        elif m and m.group(1) == "FAIL":
            # A suite cut short (panic, timeout) is `FAIL suite (incomplete:`
            o.failed.append(m.group(2) + (" (incomplete)" if "(incomplete:"
                                          in line else ""))
        elif line.startswith("FAIL: "):
            o.errors.append(line[6:])
        elif line.startswith("panic report") and i + 1 < len(lines):
            o.panic = lines[i + 1].lstrip(" |")
    return o


def classify(status, text, elapsed):
    """(verdict, detail) of one mutant run."""
    o = parse_runner_output(text)
    passed, failed, errors, panic = o.passed, o.failed, o.errors, o.panic
    if any(e in text for e in INFRA_ERRORS):
        bad = [e for e in errors] or ["runner status %d" % status]
        return "ERROR", "the run did not test anything: " + bad[-1]
    # The runner fails a run in which no case ran (all skipped): no kill.
    nothing_ran = not failed and errors and \
        all(e.startswith("no test case ran") for e in errors)
    if status == 0 or nothing_ran:
        inc = o.inconclusive()
        if inc:
            return "INCONCLUSIVE", "%d passed, %d inconclusive: %s (%.0f s)" % (
                len(passed), len(inc), ", ".join(
                    "%s (%s)" % (n, w) if w else n for n, w in inc[:4]) +
                (", ..." if len(inc) > 4 else ""), elapsed)
        if status != 0:
            return "NOTESTS", "no test case ran (%.0f s)" % elapsed
        return "SURVIVED", "%d passed (%.0f s)" % (len(passed), elapsed)
    why = None
    for e in errors:
        if e.startswith("kernel panic") or e.startswith("kernel BUG"):
            why = "panic" + (" (%s)" % panic if panic else "")
        elif e.startswith("timed out"):
            why = e.replace("timed out", "timeout", 1)
        elif why is None:
            why = "crash: " + e
    if why is None:
        why = "tests failed"
    detail = why
    if failed:
        shown = failed[:8] + (["..."] if len(failed) > 8 else [])
        detail += ("; " if why != "tests failed" else ": ") + \
            ", ".join(shown)
    return "KILLED", "%s (%.0f s)" % (detail, elapsed)


def boot_mutant(m, args):
    """One boot of the mutant: (runner status, runner output, seconds)."""
    t0 = time.monotonic()
    status, text = run_logged(runner_cmd(args, m.kernel, m.filter, m.log,
                                         getattr(args, "host_cores", None)),
                              m.out)
    return status, text, time.monotonic() - t0


def run_mutant(m, args, boot=boot_mutant, retries=RETRIES):
    """Boot the mutant, again while its verdict is INCONCLUSIVE."""
    for attempt in range(1 + retries):
        status, text, elapsed = boot(m, args)
        m.runs = attempt + 1
        m.verdict, m.detail = classify(status, text, elapsed)
        if m.verdict != "INCONCLUSIVE":
            break
    if m.runs > 1:
        m.detail += "; run %d of %d" % (m.runs, 1 + retries) \
            if m.verdict != "INCONCLUSIVE" else \
            "; the same in all %d runs" % m.runs
    if m.verdict in ("SURVIVED", "INCONCLUSIVE", "NOTESTS"):
        m.detail += "; log %s" % rel(m.log)
    elif m.verdict == "ERROR":
        m.report = ["  | " + x for x in text.splitlines()[-10:]]


def filter_chunks(globs):
    """The globs as ktest.filter values within the kernel's limits."""
    chunks, cur = [], []
    for g in globs:
        if cur and (len(cur) == FILTER_MAX_GLOBS or
                    len(",".join(cur + [g])) > FILTER_MAX_CHARS):
            chunks.append(",".join(cur))
            cur = []
        cur.append(g)
    if cur:
        chunks.append(",".join(cur))
    return chunks


def baseline(mutants, args, out):
    """Run the union of the filters on the normal kernel.

    Returns the set of passing test names, or None if the run failed.
    """
    globs = []
    for m in mutants:
        globs += [g for g in m.globs() if g not in globs]
    passed = set()
    for i, filt in enumerate(filter_chunks(globs)):
        log = os.path.join(args.build, "mutants-baseline%s.log" %
                           ("-%d" % i if i else ""))
        outp = log[:-4] + ".out"
        out("baseline: normal kernel, ktest.filter=%s" % filt)
        t0 = time.monotonic()
        status, text = run_logged(runner_cmd(args, args.kernel, filt, log),
                                  outp)
        o = parse_runner_output(text)
        # Inconclusive cases count as tests of the filter: they may well
        # run next time.
        p = o.passed + [n for n, _ in o.inconclusive()]
        if status != 0:
            out("", "FAIL: the normal kernel does not pass the mutants' "
                "tests, so a kill would prove nothing. Runner output "
                "(%s):" % rel(outp), *["  | " + x for x in text.splitlines()])
            return None
        out("baseline: %d passed in %.0f s" % (len(p),
                                               time.monotonic() - t0))
        passed.update(p)
    return passed


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    runner_args = []
    if "--" in argv:
        i = argv.index("--")
        argv, runner_args = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(
        description="Build and run every mutant of tests/mutants.txt.")
    ap.add_argument("--table", default=os.path.join(ROOT, "tests",
                                                    "mutants.txt"))
    ap.add_argument("--names-from", default=None, metavar="TABLE",
                    help="every NAME of --table must be a row of TABLE too "
                    "(tests/mutants-user.txt: the mutations of "
                    "tests/mutants.txt, killed again by user programs)")
    ap.add_argument("--filter-prefixes", default=None, metavar="P,...",
                    help="every FILTER glob must start with one of these "
                    "(e.g. races.,user.: user-program cases only)")
    ap.add_argument("--build", default="build",
                    help="build directory (mutants go to BUILD/mutant-NAME)")
    ap.add_argument("--kernel", default=None,
                    help="the normal kernel (default BUILD/kernel.elf)")
    ap.add_argument("--timeout", type=int, default=None,
                    help="runner timeout per boot, seconds (default: the "
                    "runner's, for the host cores each concurrent boot has)")
    ap.add_argument("--cmdline", default="",
                    help="more kernel command-line words for every boot "
                         "(make passes ramdisk.size=, as make test does)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="mutants booted at the same time (default 2)")
    ap.add_argument("--only", default="",
                    help="comma-separated names: run only these mutants")
    ap.add_argument("--host-cc", default="gcc",
                    help="compiler of host-row mutants (default gcc)")
    ap.add_argument("--host-cflags", default=DEFAULT_HOST_CFLAGS,
                    help="its flags (default: tests/host.mk's HOST_CFLAGS)")
    args = ap.parse_args(argv)
    args.runner_args = runner_args
    args.kernel = args.kernel or os.path.join(args.build, "kernel.elf")
    args.jobs = max(1, args.jobs)
    out = Out()
    t_start = time.monotonic()

    try:
        mutants = parse_table(args.table)
        check_table_limits(mutants, args)
    except (OSError, TableError) as e:
        out("mutants: %s" % e)
        return 2
    if args.only:
        want = [x for x in re.split(r"[,\s]+", args.only) if x]
        names = {m.name for m in mutants}
        missing = [x for x in want if x not in names]
        if missing:
            out("mutants: not in %s: %s" % (rel(args.table),
                                             ", ".join(missing)))
            return 2
        mutants = [m for m in mutants if m.name in want]
    if not mutants:
        out("mutants: %s lists no mutation" % rel(args.table))
        return 2
    if not os.path.isfile(args.kernel):
        out("mutants: the normal kernel %s is missing (make all)" %
            rel(args.kernel))
        return 2

    def show(m):
        out("%-8s %s%s" % (m.verdict, m.name,
                           ": " + m.detail if m.detail else ""),
            *getattr(m, "report", []))

    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    try:
        # 1. Every name must switch something on in the sources.
        texts = source_texts()
        for m in mutants:
            where = dict(texts, **host_texts(m.host)) if m.host else texts
            m.files = where_used(m.name, where)
            if not m.files:
                m.verdict = "UNKNOWN"
                m.detail = ("MUTATION_%s is not used in %s (outside "
                            "comments)" % (m.name, ", ".join(
                                [d + "/" for d in SOURCE_DIRS] +
                                (list(HOST_TESTS[m.host][0]) if m.host
                                 else []))))
                show(m)

        # 2. Build the mutants (quick: one at a time, make runs in parallel).
        todo = [m for m in mutants if m.verdict is None]
        if todo:
            out("building %d mutant%s in %s/mutant-*" %
                (len(todo), "s" * (len(todo) != 1), rel(args.build)))
        for m in todo:
            if not (build_host(m, args) if m.host else build(m, args)):
                show(m)
        todo = [m for m in todo if m.verdict is None]

        # 3. The normal kernel must pass the same tests, and each filter
        #    must select at least one of them; the host tests must pass.
        hosts = sorted({m.host for m in todo if m.host})
        if hosts and not host_baseline(hosts, args, out):
            return 1
        kernel_todo = [m for m in todo if not m.host]
        if kernel_todo:
            passed = baseline(kernel_todo, args, out)
            if passed is None:
                return 1
            for m in kernel_todo:
                if not any(glob_re(g).match(t) for g in m.globs()
                           for t in passed):
                    m.verdict = "NOTESTS"
                    m.detail = ("ktest.filter=%s selects no test that passes "
                                "on the normal kernel" % m.filter)
                    show(m)
            todo = [m for m in todo if m.verdict is None]

        # 4. Boot the mutants, args.jobs at a time.
        if todo:
            jobs = min(args.jobs, len(todo))
            if jobs > 1:
                # Boots side by side share the host: default timeouts for
                # the cores each one gets.
                args.host_cores = max(1, host_cores() // jobs)
            out("running %d mutant%s, %d at a time, %s" %
                (len(todo), "s" * (len(todo) != 1), jobs,
                 "timeout %d s each" % args.timeout if args.timeout else
                 "the runner's timeout for %d host core%s each" % (
                     args.host_cores, "s" * (args.host_cores != 1))
                 if jobs > 1 else "the runner's timeout"))
            with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
                futs = {pool.submit(run_host if m.host else run_mutant, m,
                                    args): m for m in todo}
                for fut in concurrent.futures.as_completed(futs):
                    fut.result()
                    show(futs[fut])
    except (KeyboardInterrupt, SystemExit):
        stop_children()
        out("mutants: interrupted")
        return 130

    lines, status = tally(mutants)
    out("mutants: done in %.0f s" % (time.monotonic() - t_start), *lines)
    return status


def tally(mutants):
    """The closing lines and the exit status: 0 iff every mutant was
    killed."""
    counts = {}
    for m in mutants:
        counts[m.verdict] = counts.get(m.verdict, 0) + 1
    line = "%d mutants, %d killed, %d survived" % (
        len(mutants), counts.get("KILLED", 0), counts.get("SURVIVED", 0))
    for v, what in (("INCONCLUSIVE", "inconclusive"),
                    ("BUILD-FAILED", "failed to build"),
                    ("UNKNOWN", "unknown"), ("NOOP", "no-op"),
                    ("NOTESTS", "without tests"), ("ERROR", "errors")):
        if counts.get(v):
            line += ", %d %s" % (counts[v], what)
    lines = [line]
    inc = [m.name for m in mutants if m.verdict == "INCONCLUSIVE"]
    if inc:
        lines.append("mutants: not a pass: %s neither killed nor survived: "
                     "some of their race tests could not provoke the race "
                     "(`SKIP inconclusive`) in %d runs each. Run them again "
                     "(make mutants MUTANTS=%s) or on another CPU model." %
                     (", ".join(inc), 1 + RETRIES, ",".join(inc)))
    return lines, 0 if counts.get("KILLED", 0) == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
