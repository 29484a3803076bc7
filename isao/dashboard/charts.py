"""Bar charts drawn on the server as inline SVG: no chart library, no script, and the same numbers as a
table for screen readers (the SVG itself is one labelled image; each bar's ``<title>`` is a tooltip).
Every piece goes through ``Markup.format``, which escapes what it is given."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

WIDTH, HEIGHT, AXIS = 300.0, 90.0, 14.0
"""viewBox units: the bars' area is WIDTH × HEIGHT, the labels below take AXIS."""

_SVG = Markup('<svg viewBox="0 0 {width:g} {height:g}" role="img" aria-label="{summary}" focusable="false">')
_AXIS = Markup('<line class="axis" x1="0" y1="{y:g}" x2="{width:g}" y2="{y:g}"/>')
_BAR = Markup(
    '<g><title>{label}: {value}</title><rect class="hit" fill="transparent" x="{x:.2f}" y="0"'
    ' width="{slot:.2f}" height="{full:g}"/><rect class="{css}" x="{bar_x:.2f}" y="{top:.2f}"'
    ' width="{bar_width:.2f}" height="{height:.2f}"/></g>'
)
_LABEL = Markup('<text x="{x:.2f}" y="{y:g}" text-anchor="middle">{label}</text>')
_ROW = Markup('<tr><th scope="row">{label}</th><td class="num">{value}</td></tr>')
_TABLE = Markup(
    '<table class="visually-hidden"><caption>{title}, {period}</caption><thead><tr>'
    '<th scope="col">From (UTC)</th><th scope="col">{heading}</th></tr></thead><tbody>{rows}</tbody></table>'
)
_FIGURE = Markup(
    '<figure class="chart"><figcaption><span class="chart-title">{title}</span>'
    ' <span class="chart-total">{total}</span></figcaption>{svg}{table}</figure>'
)


def bars(
    buckets: Sequence[tuple[str, int]],
    *,
    title: str,
    unit: tuple[str, str],
    period: str,
    tone: str = "",
    labels_every: int = 3,
) -> Markup:
    """A ``<figure>``: caption with the total, the SVG bars, and a visually hidden table of every bucket.
    ``unit`` is (singular, plural): "1 record", "2 records"."""
    total = sum(value for _, value in buckets)
    peak = max((value for _, value in buckets), default=0)
    summary = f"{title}, {period}: {counted(total, unit)} in total"
    if peak:
        busiest = next(label for label, value in buckets if value == peak)
        summary += f", most ({peak}) at {busiest}"
    slot, css = WIDTH / max(1, len(buckets)), f"bar {tone}".strip()
    parts = [
        _SVG.format(width=WIDTH, height=HEIGHT + AXIS, summary=summary),
        _AXIS.format(y=HEIGHT, width=WIDTH),
    ]
    for index, (label, value) in enumerate(buckets):
        x, height = index * slot, (HEIGHT * value / peak if peak else 0.0)
        parts.append(
            _BAR.format(
                label=label, value=counted(value, unit), x=x, slot=slot, full=HEIGHT, css=css,
                bar_x=x + slot * 0.15, top=HEIGHT - height, bar_width=slot * 0.7, height=height,
            )
        )  # fmt: skip
        if index % labels_every == 0:
            parts.append(_LABEL.format(x=x + slot / 2, y=HEIGHT + AXIS - 3, label=label))
    parts.append(Markup("</svg>"))
    rows = Markup("").join(_ROW.format(label=label, value=value) for label, value in buckets)
    table = _TABLE.format(title=title, period=period, heading=unit[1].capitalize(), rows=rows)
    return _FIGURE.format(title=title, total=counted(total, unit), svg=Markup("").join(parts), table=table)


def counted(value: int, unit: tuple[str, str]) -> str:
    return f"{value} {unit[0] if value == 1 else unit[1]}"
