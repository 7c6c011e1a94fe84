"""tools/compare/svg.py - build/compare.svg: the ratios of `make compare`'s
benchmark figures as a horizontal bar chart, hand-written SVG (no plotting
library on the host).

One row per figure, grouped under its program's name; a bar from 1.0 to the
ratio on a log2 scale clipped to [1/CLIP, CLIP] (a clipped bar ends in an
arrow head), the ratio written in a column on the right. Ratios are those of
stats.py: above 1 (right of the line at 1.0) this kernel is better. A dashed
line at 1/1.25 marks the flag threshold. One series per run (several runs
merged, e.g. at different SMP, give several thin bars per figure, one colour
per series); with one series, green is better, orange a bit worse, red
worse by more than 1.25x.
"""
import math
from xml.sax.saxutils import escape

import stats

CLIP = 8.0
WIDTH = 960
LABEL_X = 16
PLOT_L = 330
PLOT_R = 820
VALUE_X = 830
TOP = 88
BAR_H = 12
GROUP_H = 22
FONT = "font-family=\"DejaVu Sans, Arial, sans-serif\""
SERIES_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                  "#e377c2"]


def _x(r):
    lo, hi = math.log2(1 / CLIP), math.log2(CLIP)
    v = min(max(math.log2(r), lo), hi) if r > 0 else lo
    return PLOT_L + (v - lo) / (hi - lo) * (PLOT_R - PLOT_L)


def _colour(r):
    if r >= 1:
        return "#2e7d32"
    return "#ef6c00" if not stats.worse(r) else "#c62828"


def _short(s, n):
    return s if len(s) <= n else s[:n - 1] + "\u2026"


def chart(series, title):
    """The SVG text. series: [(label, rows)], rows as stats.compare_figures
    gives them (program, figure, ratio). Figures in order of first
    appearance, grouped by program."""
    order, seen = [], set()
    for _, rows in series:
        for r in rows:
            if (r["program"], r["figure"]) not in seen:
                seen.add((r["program"], r["figure"]))
                order.append((r["program"], r["figure"]))
    ratios = [{(r["program"], r["figure"]): r["ratio"] for r in rows}
              for _, rows in series]
    ns = max(len(series), 1)
    row_h = 6 + BAR_H * ns
    groups = []
    for prog, fig in order:
        if not groups or groups[-1][0] != prog:
            groups.append((prog, []))
        groups[-1][1].append(fig)
    legend_h = 20 if ns > 1 else 0
    plot_h = sum(GROUP_H + row_h * len(f) for _, f in groups) or row_h
    height = TOP + legend_h + plot_h + 52
    top = TOP + legend_h
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'viewBox="0 0 %d %d" %s font-size="12">' % (
               WIDTH, height, WIDTH, height, FONT),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>'
           % (LABEL_X, escape(title)),
           '<text x="%d" y="44" fill="#444">ratio per figure, above 1 (right '
           'of the black line): this kernel better. Linux/this for costs '
           '(cycles, ipis), this/Linux for rates (ops/s, MB/s).</text>'
           % LABEL_X,
           '<text x="%d" y="60" fill="#444">log scale clipped to [1/%g, %g] '
           '(arrow: clipped); dashed red line: %.2f = worse by %gx.</text>'
           % (LABEL_X, CLIP, CLIP, 1 / stats.WORSE_FACTOR,
              stats.WORSE_FACTOR)]
    if ns > 1:
        x = LABEL_X
        for i, (label, _) in enumerate(series):
            c = SERIES_COLOURS[i % len(SERIES_COLOURS)]
            out.append('<rect x="%d" y="%d" width="12" height="12" '
                       'fill="%s"/>' % (x, TOP - 14, c))
            out.append('<text x="%d" y="%d">%s</text>' % (
                x + 16, TOP - 4, escape(label)))
            x += 28 + 7 * len(label)
    bottom = top + plot_h
    # grid: powers of two, with their labels above and below the plot
    k = 1 / CLIP
    while k <= CLIP * 1.0001:
        x = _x(k)
        lab = ("1/%g" % (1 / k)) if k < 1 else "%g" % k
        strong = abs(k - 1) < 1e-9
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" '
                   'stroke-width="%s"/>' % (x, top - 4, x, bottom,
                                            "black" if strong else "#ccc",
                                            "1.5" if strong else "1"))
        for y in (top - 8, bottom + 16):
            out.append('<text x="%.1f" y="%d" text-anchor="middle" '
                       'fill="#444">%s</text>' % (x, y, lab))
        k *= 2
    xt = _x(1 / stats.WORSE_FACTOR)
    out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c62828" '
               'stroke-dasharray="4,3"/>' % (xt, top - 4, xt, bottom))
    out.append('<text x="%d" y="%d" fill="#444">ratio</text>' % (
        VALUE_X, top - 8))
    out.append('<text x="%.1f" y="%d" text-anchor="end" fill="#c62828">'
               '\u2190 this kernel worse</text>' % (_x(1.0) - 8, bottom + 36))
    out.append('<text x="%.1f" y="%d" fill="#2e7d32">this kernel better '
               '\u2192</text>' % (_x(1.0) + 8, bottom + 36))
    y = top
    x1 = _x(1.0)
    for prog, figs in groups:
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (
            LABEL_X, y + 16, escape(_short(prog, 40))))
        y += GROUP_H
        for fig in figs:
            out.append('<text x="%d" y="%d">%s</text>' % (
                LABEL_X + 14, y + row_h / 2 + 4, escape(_short(fig, 40))))
            vals = []
            for i, rs in enumerate(ratios):
                r = rs.get((prog, fig))
                by = y + 3 + i * BAR_H
                vals.append(stats.ratio_text(r) if r is not None else "n/a")
                if r is None:
                    continue
                c = SERIES_COLOURS[i % len(SERIES_COLOURS)] if ns > 1 \
                    else _colour(r)
                xr = _x(r)
                lo, hi = min(x1, xr), max(x1, xr)
                out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" '
                           'fill="%s"><title>%s %s: %s</title></rect>' % (
                               lo, by, max(hi - lo, 1), BAR_H - 2, c,
                               escape(prog), escape(fig),
                               stats.ratio_text(r)))
                if r > CLIP or r < 1 / CLIP:
                    tip = PLOT_R + 8 if r > CLIP else PLOT_L - 8
                    base = PLOT_R if r > CLIP else PLOT_L
                    out.append('<polygon points="%.1f,%d %.1f,%d %.1f,%.1f" '
                               'fill="%s"/>' % (base, by, base, by + BAR_H - 2,
                                                tip, by + (BAR_H - 2) / 2, c))
            out.append('<text x="%d" y="%d">%s</text>' % (
                VALUE_X + 8, y + row_h / 2 + 4, escape(" / ".join(vals))))
            y += row_h
    if not order:
        out.append('<text x="%d" y="%d">no benchmark figures</text>' % (
            PLOT_L, top + 14))
    out.append('</svg>')
    return "\n".join(out) + "\n"
