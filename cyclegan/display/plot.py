"""Loss curves as a self-contained SVG picture (no matplotlib): one line per loss against epoch."""
import math

from cyclegan.display.html import escape

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
          "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _nice_ticks(lo, hi, n=5):
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + 1.0
    raw_step = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw_step))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw_step)
    start = math.ceil(lo / step) * step
    ticks, t = [], start
    while t <= hi + 1e-12 and len(ticks) < 50:
        ticks.append(round(t, 12))
        t += step
    return ticks


def svg_head(width, height, title, left):
    """The opening lines of a chart: the svg element, a white background and the title (escaped)."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
            f'<text x="{left}" y="18" font-size="14" font-family="sans-serif">{escape(title)}</text>']


def frame(out, bounds, box, height, xlabel):
    """Append the plot frame, grid, tick labels and x label to `out`; returns the (px, py) data->pixel maps.
    bounds = (x0, x1, y0, y1) with x1 > x0 and y1 > y0; box = (left, top, plot width, plot height)."""
    x0, x1, y0, y1 = bounds
    left, top, pw, ph = box

    def px(x):
        return left + (x - x0) / (x1 - x0) * pw

    def py(y):
        return top + ph - (y - y0) / (y1 - y0) * ph

    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    for t in _nice_ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" font-size="11" text-anchor="end" '
                   f'font-family="sans-serif">{t:g}</text>')
    for t in _nice_ticks(x0, x1):
        out.append(f'<text x="{px(t):.1f}" y="{top + ph + 16}" font-size="11" text-anchor="middle" '
                   f'font-family="sans-serif">{t:g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 6}" font-size="12" text-anchor="middle" '
               f'font-family="sans-serif">{escape(xlabel)}</text>')
    return px, py


def loss_svg(xs, series, width=720, height=360, title="Training losses", xlabel="epoch"):
    """SVG markup for `series` (name -> list of y, same length as xs); all text escaped."""
    left, right, top, bottom = 56, 150, 30, 40
    pw, ph = width - left - right, height - top - bottom
    ys = [y for vals in series.values() for y in vals if y is not None and math.isfinite(y)]
    out = svg_head(width, height, title, left)
    if not xs or not ys:
        out.append(f'<text x="{left + 10}" y="{top + ph / 2}" font-size="13" '
                   'font-family="sans-serif">no losses recorded yet</text></svg>')
        return "\n".join(out)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 <= x0:
        x1 = x0 + 1.0
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    px, py = frame(out, (x0, x1, y0, y1), (left, top, pw, ph), height, xlabel)
    for i, (name, vals) in enumerate(series.items()):
        color = COLORS[i % len(COLORS)]
        pts = [f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, vals)
               if y is not None and math.isfinite(y)]
        if len(pts) == 1:
            cx, cy = pts[0].split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/>')
        elif pts:
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(pts)}"/>')
        ly = top + 14 + 16 * i
        out.append(f'<line x1="{left + pw + 10}" x2="{left + pw + 30}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{left + pw + 36}" y="{ly}" font-size="12" '
                   f'font-family="sans-serif">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


QUALITY_SERIES = {"c2st_A": "C2ST fake A vs real A", "c2st_B": "C2ST fake B vs real B",
                  "cycle_l1_A": "cycle L1 A", "cycle_l1_B": "cycle L1 B",
                  "color_A": "colour dist A / 100", "color_B": "colour dist B / 100"}


def quality_series(records):
    """eval_log.jsonl records -> (epochs, {label: values}) on one [0, 1]-ish scale (colour distance / 100)."""
    xs = [float(r["epoch"]) for r in records]
    series = {}
    for key, label in QUALITY_SERIES.items():
        scale = 100.0 if key.startswith("color") else 1.0
        vals = [r.get(key) for r in records]
        if any(v is not None for v in vals):
            series[label] = [float("nan") if v is None else float(v) / scale for v in vals]
    return xs, series
