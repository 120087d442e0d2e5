"""Alert analytics: cards shown, accepted and overridden per topic and drug, with SVG charts and CSV."""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pygal  # type: ignore[import-untyped]
from flask import Response, render_template, request
from markupsafe import Markup
from werkzeug.exceptions import BadRequest

from cds_hooks.cards import OVERRIDE_REASONS
from cds_hooks.console.pages import bp
from cds_hooks.feedback_store import AlertCounts, DayCounts, TopicCounts
from cds_hooks.state import service_state

# pygal appends to sys.meta_path a finder for its map plugins (unused here) that lacks find_spec:
# every failed import after it warns (ImportWarning, an error under warnings-as-errors).
sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, pygal.PluginImportFixer)]

__all__ = ["AlertRow", "alert_rows", "alerts", "alerts_csv", "day_series"]

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Overrides whose code is not one of the reasons the cards offer (or that carry none).
OTHER_REASON = "other"
REASON_CODES: tuple[str, ...] = (*(code for code, _ in OVERRIDE_REASONS), OTHER_REASON)
REASON_LABELS: dict[str, str] = {**dict(OVERRIDE_REASONS), OTHER_REASON: "Other or no coded reason"}
# pygal always adds an inline config <script>; the console's CSP would refuse it, and the
# charts need no script: the numbers are printed on the bars.
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)
_CSV_FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class AlertRow:
    """One topic and drug of the alert table and of the CSV."""

    topic: str
    kind: str
    drug: str
    shown: int
    accepted: int
    overridden: int
    # Overridden cards per code of REASON_CODES.
    reasons: dict[str, int]

    @property
    def override_rate(self) -> float:
        """Overridden cards per 100 shown."""
        return 100.0 * self.overridden / self.shown if self.shown else 0.0


def topic_kind(topic: str) -> str:
    """``guideline`` for a guideline id, else the prefix: ``pretest``, ``biomarker``, ``conflict``."""
    prefix, colon, _ = topic.partition(":")
    return prefix if colon else "guideline"


def percent(value: float) -> str:
    """``75``, ``66.7``: one decimal at most, none when whole."""
    return f"{value:.1f}".removesuffix(".0")


def _reasons(counts: TopicCounts) -> dict[str, int]:
    reasons = dict.fromkeys(REASON_CODES, 0)
    for code, count in counts.override_codes.items():
        reasons[code if code in reasons else OTHER_REASON] += count
    return reasons


def alert_rows(counts: AlertCounts) -> list[AlertRow]:
    """One row per topic and drug, the highest override rate first (then the most shown)."""
    rows = [
        AlertRow(
            topic=c.topic,
            kind=topic_kind(c.topic),
            drug=c.drug,
            shown=c.shown,
            accepted=c.accepted,
            overridden=c.overridden,
            reasons=_reasons(c),
        )
        for c in counts.topics
    ]
    return sorted(rows, key=lambda r: (-r.override_rate, -r.shown, r.topic, r.drug))


def day_series(days: Sequence[DayCounts]) -> list[DayCounts]:
    """Every day from the first to the last with cards, days without any as zeros."""
    if not days:
        return []
    by_day = {d.day: d for d in days}
    first, last = days[0].day, days[-1].day
    return [
        by_day.get(first + timedelta(n), DayCounts(day=first + timedelta(n)))
        for n in range((last - first).days + 1)
    ]


def _guideline_rates(rows: Iterable[AlertRow]) -> list[tuple[str, float]]:
    """Override rate per guideline (all its drugs together), highest first."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        if row.kind == "guideline":
            shown_overridden = totals.setdefault(row.topic, [0, 0])
            shown_overridden[0] += row.shown
            shown_overridden[1] += row.overridden
    rates = [(topic, 100.0 * o / s) for topic, (s, o) in totals.items() if s]
    return sorted(rates, key=lambda tr: (-tr[1], tr[0]))


def _svg(chart: pygal.Graph) -> Markup:
    return Markup(_SCRIPT.sub("", chart.render(is_unicode=True)))


def _chart_options(title: str, height: int) -> dict[str, object]:
    return {
        "title": title,
        "js": [],
        "disable_xml_declaration": True,
        "print_values": True,
        "height": height,
        "width": 800,
        "style": pygal.style.CleanStyle,
    }


def rate_chart(rates: Sequence[tuple[str, float]]) -> Markup:
    """Horizontal bars, one per guideline, the highest override rate at the top."""
    chart = pygal.HorizontalBar(
        **_chart_options("Override rate per guideline (%)", 120 + 36 * len(rates)),
        show_legend=False,
        range=(0, 100),
        value_formatter=lambda v: f"{percent(v)} %",
    )
    # pygal draws the first label at the bottom.
    chart.x_labels = [topic for topic, _ in reversed(rates)]
    chart.add("override rate", [rate for _, rate in reversed(rates)])
    return _svg(chart)


def day_chart(series: Sequence[DayCounts]) -> Markup:
    """Cards shown, accepted and overridden per day (by the day the card was shown)."""
    chart = pygal.Bar(
        **_chart_options("Cards per day (UTC, by day shown)", 420),
        x_label_rotation=30,
        legend_at_bottom=True,
        value_formatter=lambda v: f"{v:.0f}",
    )
    chart.x_labels = [d.day.isoformat() for d in series]
    chart.add("shown", [d.shown for d in series])
    chart.add("accepted", [d.accepted for d in series])
    chart.add("overridden", [d.overridden for d in series])
    return _svg(chart)


def _window() -> tuple[int, str | None]:
    raw = request.args.get("days", str(DEFAULT_DAYS))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DAYS:
        raise BadRequest(f"days must be a whole number from 1 to {MAX_DAYS}, e.g. ?days=30")
    topic = request.args.get("topic", "").strip() or None
    return int(raw), topic


def _counts(days: int, topic: str | None) -> AlertCounts:
    since = datetime.now(UTC) - timedelta(days=days)
    return service_state().feedback.alert_counts(since, topic)


@bp.get("/alerts")
def alerts() -> str:
    days, topic = _window()
    counts = _counts(days, topic)
    rows = alert_rows(counts)
    series = day_series(counts.days)
    rates = _guideline_rates(rows)
    return render_template(
        "console/alerts.html",
        days=days,
        topic=topic,
        rows=rows,
        series=series,
        reason_codes=REASON_CODES,
        reason_labels=REASON_LABELS,
        percent=percent,
        rate_svg=rate_chart(rates) if rates else None,
        day_svg=day_chart(series) if series else None,
        totals=_totals(rows),
    )


def _totals(rows: Sequence[AlertRow]) -> dict[str, int]:
    return {
        "shown": sum(r.shown for r in rows),
        "accepted": sum(r.accepted for r in rows),
        "overridden": sum(r.overridden for r in rows),
    }


def _cell(value: str) -> str:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    return "'" + value if value.startswith(_CSV_FORMULA_START) else value


@bp.get("/alerts.csv")
def alerts_csv() -> Response:
    days, topic = _window()
    rows = alert_rows(_counts(days, topic))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "topic",
            "kind",
            "drug",
            "shown",
            "accepted",
            "overridden",
            "override_rate_percent",
            *(f"override_{code}" for code in REASON_CODES),
        ]
    )
    for row in rows:
        writer.writerow(
            [
                _cell(row.topic),
                row.kind,
                _cell(row.drug),
                row.shown,
                row.accepted,
                row.overridden,
                percent(row.override_rate),
                *(row.reasons[code] for code in REASON_CODES),
            ]
        )
    name = f"pgx-alerts-{days}d-{datetime.now(UTC).date().isoformat()}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
