"""Charts drawn on the server as SVG: no script, readable by a screen reader (each bar carries
its figure as a title and the chart a text alternative), printable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from yidi_console.views import yuan


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    """Fen, or a count when the chart says so."""


def bar_chart(title: str, bars: Sequence[Bar], *, money: bool = True, width: int = 640) -> str:
    """Horizontal bars, negative ones to the left of a zero line (net positions)."""

    def shown(value: int) -> str:
        return f"{yuan(value)} 元" if money else f"{value:,}"

    row, label_w, pad = 28, 200, 10
    height = row * max(len(bars), 1) + 2 * pad
    lowest = min([0, *(b.value for b in bars)])
    highest = max([0, *(b.value for b in bars)])
    span = (highest - lowest) or 1
    plot = width - label_w - 2 * pad - 110
    zero_x = label_w + pad + plot * (-lowest) / span
    summary = "；".join(f"{b.label} {shown(b.value)}" for b in bars) or "无数据"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" aria-label="{escape(title)}：{escape(summary)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, b in enumerate(bars):
        y = pad + i * row
        length = plot * abs(b.value) / span
        x = zero_x - length if b.value < 0 else zero_x
        colour = "#b3261e" if b.value < 0 else "#1f5fa8"
        parts.append(
            f'<text x="{label_w}" y="{y + 18}" text-anchor="end" font-size="13">'
            f"{escape(b.label)}</text>"
            f'<rect x="{x:.1f}" y="{y + 4}" width="{max(length, 1):.1f}" height="18"'
            f' fill="{colour}"><title>{escape(b.label)}：{shown(b.value)}</title></rect>'
            f'<text x="{max(x + length, zero_x) + 6:.1f}" y="{y + 18}" font-size="12">'
            f"{shown(b.value)}</text>"
        )
    parts.append(
        f'<line x1="{zero_x:.1f}" y1="{pad}" x2="{zero_x:.1f}" y2="{height - pad}"'
        ' stroke="#444" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return "".join(parts)
