"""Charts drawn on the server as SVG: no script, no outside origin.

Each function takes plain numbers (amounts in cents) and returns SVG markup with a
<title> and <desc> for screen readers; every chart on a page also has its figures
in a table. Only pixel positions are computed here — amounts are shown formatted by
anbi.core.money, never rounded through a float. Colours come from classes in
app.css (the Content-Security-Policy allows no inline styles)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from anbi.core.money import format_dutch


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 2.5, 5 × 10^n at or above `value` (for an axis top)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 < value:
        magnitude *= 10
    candidates = [magnitude, magnitude * 2, magnitude * 5, magnitude * 10]
    if magnitude >= 2:  # 2.5 × 1 is no whole number
        candidates.insert(2, magnitude * 5 // 2)
    return next(c for c in candidates if c >= value)


def _scale(value: int, top: int, height: int) -> int:
    return (max(value, 0) * height) // top if top else 0


def _euros(cents: int) -> str:
    """An axis label: whole euros, Dutch notation, no cents."""
    text = format_dutch(cents - cents % 100 if cents >= 0 else cents)
    return text[:-3] if text.endswith(",00") else text


def _svg(width: int, height: int, title: str, desc: str, body: list[str], css_class: str) -> Markup:
    name = css_class.split()[-1]  # ids from the chart's own class: one chart of a kind per page
    return Markup(
        f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="t-{name} d-{name}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="t-{name}">{escape(title)}</title><desc id="d-{name}">{escape(desc)}</desc>'
        + "".join(body) + "</svg>"
    )


def month_comparison(current: Sequence[int], previous: Sequence[int], month_labels: Sequence[str], *,
                     title: str, desc: str, width: int = 640, height: int = 260) -> Markup:
    """This year's months as bars, last year's as a line over them."""
    left, right, top_pad, bottom = 70, 10, 10, 30
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = nice_ceiling(max([*current, *previous, 0]))
    slot = plot_w // max(len(month_labels), 1)
    body = []
    for i in range(5):
        value = top * i // 4
        y = top_pad + plot_h - _scale(value, top, plot_h)
        body.append(f'<line class="grid" x1="{left}" y1="{y}" x2="{width - right}" y2="{y}"/>')
        body.append(f'<text class="axis" x="{left - 6}" y="{y + 4}" text-anchor="end">{escape(_euros(value))}</text>')
    for i, label in enumerate(month_labels):
        x = left + i * slot
        value = current[i] if i < len(current) else 0
        h = _scale(value, top, plot_h)
        body.append(
            f'<rect class="bar current" x="{x + slot // 6}" y="{top_pad + plot_h - h}" width="{slot * 2 // 3}" height="{h}">'
            f'<title>{escape(label)}: {escape(format_dutch(value))}</title></rect>'
        )
        body.append(f'<text class="axis" x="{x + slot // 2}" y="{height - 10}" text-anchor="middle">{escape(label)}</text>')
    points = " ".join(
        f"{left + i * slot + slot // 2},{top_pad + plot_h - _scale(v, top, plot_h)}" for i, v in enumerate(previous)
    )
    if points:
        body.append(f'<polyline class="line previous" points="{points}"/>')
        for i, v in enumerate(previous):
            body.append(f'<circle class="dot previous" cx="{left + i * slot + slot // 2}" '
                        f'cy="{top_pad + plot_h - _scale(v, top, plot_h)}" r="3"/>')
    return _svg(width, height, title, desc, body, "months")


@dataclass(frozen=True)
class Bar:
    label: str
    value: int            # cents
    reference: int | None = None  # a marker, e.g. the budget, in cents
    warn: bool = False


def horizontal_bars(bars: Sequence[Bar], *, title: str, desc: str, css_class: str = "hbars",
                    width: int = 480, row: int = 28) -> Markup:
    """One bar per item, labelled, with an optional marker (a budget or a goal)."""
    label_w, value_w = 170, 100
    plot_w = width - label_w - value_w
    height = max(len(bars), 1) * row + 10
    top = nice_ceiling(max([b.value for b in bars] + [b.reference or 0 for b in bars] + [0]))
    body = []
    for i, bar in enumerate(bars):
        y = 5 + i * row
        w = _scale(bar.value, top, plot_w)
        label = bar.label if len(bar.label) <= 24 else bar.label[:23] + "…"
        body.append(f'<text class="label" x="{label_w - 8}" y="{y + row // 2 + 4}" text-anchor="end">{escape(label)}</text>')
        kind = "bar warn" if bar.warn else "bar"
        body.append(f'<rect class="{kind}" x="{label_w}" y="{y + 4}" width="{w}" height="{row - 10}">'
                    f'<title>{escape(bar.label)}: {escape(format_dutch(bar.value))}</title></rect>')
        if bar.reference is not None:
            x = label_w + _scale(bar.reference, top, plot_w)
            body.append(f'<line class="marker" x1="{x}" y1="{y + 1}" x2="{x}" y2="{y + row - 3}"/>')
        body.append(f'<text class="value" x="{width - 4}" y="{y + row // 2 + 4}" text-anchor="end">'
                    f'{escape(format_dutch(bar.value))}</text>')
    return _svg(width, height, title, desc, body, f"hbars {css_class}")
