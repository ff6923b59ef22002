"""Quality-against-steps curves as a self-contained SVG: per group (a training variant) a thick line of the
mean over seeds and thin dashed lines of each seed with their 95% intervals as whiskers, and a dotted line
at the chance level. Used by the ablation page (cyclegan/ablation/report.py)."""
import math

from .html import escape
from .plot import COLORS, frame, svg_head

# tab10, then its light companions: 20 groups before a colour repeats
PALETTE = COLORS + ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
                    "#dbdb8d", "#9edae5"]


def _finite(v):
    return v is not None and math.isfinite(v)


def curves_svg(groups, title, xlabel="training steps", ylabel="", reference=None, width=760, height=400):
    """groups: [{"name", "mean": [(x, y)], "seeds": {seed: [(x, y, lo, hi)]}}]; reference: a y drawn dotted.
    Every label is escaped; points with a None y are skipped; the chart grows to fit its legend."""
    left, right, top, bottom = 56, 170, 30, 40
    height = max(height, top + bottom + 16 * len(groups) + 10)
    pw, ph = width - left - right, height - top - bottom
    xs = [p[0] for g in groups for pts in [g["mean"], *g["seeds"].values()] for p in pts]
    ys = [v for g in groups for pts in g["seeds"].values() for p in pts for v in p[1:] if _finite(v)]
    ys += [p[1] for g in groups for p in g["mean"] if _finite(p[1])] + ([reference] if reference is not None else [])
    out = svg_head(width, height, title, left)
    if not xs or not ys:
        out.append(f'<text x="{left + 10}" y="{top + ph / 2}" font-size="13" font-family="sans-serif">'
                   f'no evaluations yet</text></svg>')
        return "\n".join(out)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1 = x1 if x1 > x0 else x0 + 1.0
    y0, y1 = (y0 - 0.02, y1 + 0.02) if y1 > y0 else (y0 - 0.5, y1 + 0.5)
    px, py = frame(out, (x0, x1, y0, y1), (left, top, pw, ph), height, xlabel)
    if ylabel:
        out.append(f'<text x="14" y="{top + ph / 2}" font-size="12" text-anchor="middle" font-family="sans-serif" '
                   f'transform="rotate(-90 14 {top + ph / 2})">{escape(ylabel)}</text>')
    if reference is not None:
        out.append(f'<line class="reference" x1="{left}" x2="{left + pw}" y1="{py(reference):.1f}" '
                   f'y2="{py(reference):.1f}" stroke="#999" stroke-dasharray="2,3"/>')
    for i, g in enumerate(groups):
        color = PALETTE[i % len(PALETTE)]
        for seed, pts in g["seeds"].items():
            line = [f"{px(x):.1f},{py(y):.1f}" for x, y, *_ in pts if _finite(y)]
            if line:
                out.append(f'<polyline class="seed" data-seed="{escape(seed)}" fill="none" stroke="{color}" '
                           f'stroke-width="1" stroke-dasharray="4,3" opacity="0.6" points="{" ".join(line)}"/>')
            for x, y, lo, hi in pts:
                if _finite(lo) and _finite(hi):
                    out.append(f'<line class="ci" x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{py(lo):.1f}" '
                               f'y2="{py(hi):.1f}" stroke="{color}" stroke-width="1" opacity="0.35"/>')
        mean = [(px(x), py(y)) for x, y in g["mean"] if _finite(y)]
        if len(mean) > 1:
            out.append(f'<polyline class="mean" fill="none" stroke="{color}" stroke-width="2.5" '
                       f'points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in mean)}"/>')
        for a, b in mean:
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{color}"/>')
        ly = top + 14 + 16 * i
        out.append(f'<line x1="{left + pw + 10}" x2="{left + pw + 30}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="3"/>')
        out.append(f'<text x="{left + pw + 36}" y="{ly}" font-size="12" '
                   f'font-family="sans-serif">{escape(g["name"])}</text>')
    out.append("</svg>")
    return "\n".join(out)
