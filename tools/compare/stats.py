"""tools/compare/stats.py - the benchmark figures of `make compare`:
repetitions aggregated per kernel, the ratio of the two kernels, the table.

The contract with the programs of tests/user/bench/: once per repetition of
a figure, a line

    bench: FIGURE: VALUE UNIT

FIGURE without spaces or colons, VALUE a decimal number, UNIT one of
    cycles   a cost per operation (TSC cycles read by the program): lower
             is better
    ipis     IPIs per call (informational): lower is better
    ops/s    a rate: higher is better
    MB/s     a rate: higher is better
(anything after the unit is ignored: /bin/ubench's "(median of 7, ...)";
"cycles/WHAT", as /bin/ubench prints, is a cost like cycles).
Lines starting with '#' are comments; "# tsc_hz N" gives the TSC frequency.

Aggregate of one figure on one kernel: the MEDIAN of its repetitions (the
middle one; the mean of the two middle ones for an even count), and its
SPREAD: half the min-max range as a percentage of the median, printed
"median ±S%": every repetition lies within the median ± 2S%, and a
symmetric spread lies within ±S%. min and max are kept in compare.json.

Ratio of a figure, so that ABOVE 1 MEANS THIS KERNEL IS BETTER:
    costs (cycles, ipis):   Linux / this kernel
    rates (ops/s, MB/s):    this kernel / Linux
A figure where this kernel is worse by more than WORSE_FACTOR (1.25x), i.e.
whose ratio is below 1/1.25 = 0.8, is flagged. A zero cost on this kernel
against a non-zero one on Linux is an infinite ratio ("inf"); zero against
zero is 1. An unknown unit, a unit that differs between the kernels or a
figure missing on one of them has no ratio.
"""
import math
import re

WORSE_FACTOR = 1.25
COSTS = ("cycles", "ipis")
RATES = ("ops/s", "MB/s")
NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
TSC_RE = re.compile(r"^#\s*tsc_hz\s+(\d+(?:\.\d*)?)\s*$")


def direction(unit):
    """'cost', 'rate' or None (an unknown unit: no ratio)."""
    if unit in COSTS or unit.startswith("cycles/"):
        return "cost"
    if unit in RATES:
        return "rate"
    return None


def median(values):
    v = sorted(values)
    n = len(v)
    if not n:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def aggregate(values):
    """{n, values, median, min, max, spread_pct} of a figure's repetitions
    (spread_pct: half of max - min, in percent of the median; None when the
    median is 0). None for no values."""
    if not values:
        return None
    med = median(values)
    lo, hi = min(values), max(values)
    spread = 100.0 * (hi - lo) / 2.0 / abs(med) if med else \
        (0.0 if hi == lo else None)
    return {"n": len(values), "values": list(values), "median": med,
            "min": lo, "max": hi, "spread_pct": spread}


def ratio(unit, this, linux):
    """The ratio of two medians, above 1 when this kernel is better (see the
    module's docstring); None when it has none."""
    d = direction(unit)
    if d is None or this is None or linux is None:
        return None
    num, den = (linux, this) if d == "cost" else (this, linux)
    if den == 0:
        return 1.0 if num == 0 else math.inf
    return num / den


def worse(r):
    """Is this kernel worse than Linux by more than WORSE_FACTOR?"""
    return r is not None and r * WORSE_FACTOR < 1.0


def figures(run):
    """{figure: {"unit", "values", "bad"}} of one run's bench lines, in the
    order they first appear (parse_log's run["bench"]: figure, value,
    unit-and-rest). A value that is not a number goes to "bad"."""
    out = {}
    for b in run.get("bench", []) if run else []:
        unit = (b["unit"].split() or [""])[0]
        f = out.setdefault(b["figure"].strip(),
                           {"unit": unit, "values": [], "bad": []})
        if NUM_RE.match(b["value"]) and f["unit"] == unit:
            f["values"].append(float(b["value"]))
        else:
            f["bad"].append("%s %s" % (b["value"], b["unit"]))
    return out


def tsc_hz(run):
    """The "# tsc_hz N" of a run's lines, or None."""
    for line in run.get("lines", []) if run else []:
        m = TSC_RE.match(line)
        if m:
            return float(m.group(1))
    return None


def compare_figures(program, this_run, linux_run):
    """[{program, figure, unit, direction, this, linux, ratio, worse, note}]
    of one program: this and linux are aggregate()s (or None)."""
    a, b = figures(this_run), figures(linux_run)
    out = []
    for name in list(a) + [n for n in b if n not in a]:
        fa, fb = a.get(name), b.get(name)
        ua = fa["unit"] if fa else None
        ub = fb["unit"] if fb else None
        unit = ua or ub
        aa = aggregate(fa["values"]) if fa else None
        ab = aggregate(fb["values"]) if fb else None
        note = []
        if fa is None or fb is None:
            note.append("only on %s" % ("Linux" if fa is None
                                         else "this kernel"))
        elif ua != ub:
            note.append("units differ: %s, %s" % (ua, ub))
        elif direction(unit) is None:
            note.append("unit %r: no ratio" % unit)
        for lab, f in (("this kernel", fa), ("Linux", fb)):
            if f and f["bad"]:
                note.append("%s: %d bad value(s): %s" % (
                    lab, len(f["bad"]), f["bad"][0]))
        r = None if ua != ub else ratio(unit, aa and aa["median"],
                                        ab and ab["median"])
        out.append({"program": program, "figure": name, "unit": unit,
                    "units": [ua, ub], "direction": direction(unit),
                    "this": aa, "linux": ab, "ratio": r, "worse": worse(r),
                    "note": "; ".join(note)})
    return out


# ---------------------------------------------------------------- text

def num(v):
    """A number in 3-4 significant digits: 1.23, 12.3, 456, 7890, 12.3k,
    456k, 4.56M."""
    if v is None:
        return "-"
    if math.isinf(v):
        return "inf"
    a = abs(v)
    for lim, div, suf in ((999.5e9, 1e12, "T"), (999.5e6, 1e9, "G"),
                          (999.5e3, 1e6, "M"), (1e4, 1e3, "k")):
        if a >= lim:
            x = v / div
            if abs(x) >= 999.5:
                return "%.0f%s" % (x, suf)
            return ("%#.3g" % x).rstrip(".") + suf
    if a >= 100 or v == int(v):
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def cell(agg, unit=None):
    """'median ±S%' (+ ' UNIT' when given), '-' for no figure."""
    if agg is None:
        return "-"
    s = num(agg["median"])
    if agg["n"] > 1:
        s += " ±%s%%" % ("?" if agg["spread_pct"] is None else
                         "%.0f" % agg["spread_pct"]
                         if agg["spread_pct"] >= 10 else
                         "%.1f" % agg["spread_pct"])
    if unit:
        s += " " + unit
    return s


def ratio_text(r):
    if r is None:
        return "-"
    if math.isinf(r):
        return "inf"
    return "%.2f" % r if r < 100 else "%.0f" % r


HEADER = [
    "Each figure: the median of its repetitions ± half their min-max "
    "range",
    "(in % of the median). ratio > 1: this kernel is better (Linux/this for "
    "costs:",
    "cycles, ipis; this/Linux for rates: ops/s, MB/s). WORSE: this kernel "
    "worse",
    "by more than %gx (ratio < %.2f)." % (WORSE_FACTOR, 1 / WORSE_FACTOR),
]


def bench_table(rows, commands=None):
    """The lines of the benchmark table of compare_figures()'s rows (of
    several programs, in order). commands: {program: its command line}, shown
    on the program's header line."""
    commands = commands or {}
    body, last = [], None
    for r in rows:
        if r["program"] != last:
            last = r["program"]
            body.append((None, "%s%s" % (last, (": " + commands[last])
                                         if last in commands else "")))
        same = r["units"][0] == r["units"][1] or None in r["units"]
        body.append(("  " + r["figure"], r["unit"] if same else "",
                     cell(r["this"], None if same else r["units"][0]),
                     cell(r["linux"], None if same else r["units"][1]),
                     ratio_text(r["ratio"]),
                     "WORSE" if r["worse"] else "",
                     r["note"]))
    heads = ("figure", "unit", "this kernel", "Linux", "ratio", "", "")
    cols = [r for r in body if r[0] is not None]
    widths = [max([len(heads[i])] + [len(c[i]) for c in cols])
              for i in range(5)]

    def fmt(c):
        line = "  ".join([c[0].ljust(widths[0]), c[1].ljust(widths[1]),
                          c[2].rjust(widths[2]), c[3].rjust(widths[3]),
                          c[4].rjust(widths[4]), c[5]])
        return line.rstrip() + ("  (%s)" % c[6] if c[6] else "")
    out = list(HEADER)
    out.append(fmt(heads))
    out.append(fmt(tuple("-" * w for w in widths) + ("", "")))
    for c in body:
        out.append(c[1] if c[0] is None else fmt(c))
    n = sum(r["ratio"] is not None for r in rows)
    bad = [r for r in rows if r["worse"]]
    out.append("%d figures, %d with a ratio, %d flagged WORSE" % (
        len(rows), n, len(bad)))
    g = geomean(rows)
    if g is not None:
        out.append("geometric mean of the ratios of costs in cycles and of "
                   "rates: %.2f" % g)
    return out


def geomean(rows):
    """The geometric mean of the finite, positive ratios, IPI counts left
    out (informational); None without any."""
    rs = [r["ratio"] for r in rows if r["unit"] != "ipis" and
          r["ratio"] is not None and 0 < r["ratio"] < math.inf]
    if not rs:
        return None
    return math.exp(sum(math.log(x) for x in rs) / len(rs))


def jsonable(x):
    """x with infinite floats as the string "inf" (JSON has no infinity)."""
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    return x
