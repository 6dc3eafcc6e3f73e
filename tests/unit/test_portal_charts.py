"""Charts drawn as SVG: well-formed, accessible, escaped, styled without `style=`, and
carrying their figures as a table."""

from __future__ import annotations

from xml.etree import ElementTree

from invoicing.statuses import InvoiceStatus
from portal.charts import Marker, Series, bar_chart, column_chart, histogram_bins, nice_step
from portal.routes.operator import STATUS_FAMILIES

SVG = "{http://www.w3.org/2000/svg}"


def drawing(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 (markup we drew, not untrusted input)


def test_stacked_columns_are_an_accessible_image_with_a_table_of_their_figures() -> None:
    chart = column_chart(
        "weekly",
        "Factures <déposées>",
        "3 factures & plus",
        "Semaine du",
        ["05/01", "12/01"],
        [Series("Payées", "#146c2e", (2, 0)), Series("Rejetées", "#b3261e", (1, 0))],
        total="Total",
    )

    root = drawing(chart.svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "weekly-title weekly-desc"
    assert root.find(f"{SVG}title").text == "Factures <déposées>"
    assert root.find(f"{SVG}desc").text == "3 factures & plus"
    assert "style=" not in chart.svg
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [b.find(f"{SVG}title").text for b in bars] == [
        "05/01 — Payées : 2",
        "05/01 — Rejetées : 1",
    ]
    assert {b.get("fill") for b in bars} == {"#146c2e", "#b3261e"}
    assert chart.columns == ("Semaine du", "Payées", "Rejetées", "Total")
    assert chart.rows == (("05/01", "2", "1", "3"), ("12/01", "0", "0", "0"))


def test_markers_are_dashed_lines_labelled_above_the_columns() -> None:
    chart = column_chart(
        "delays",
        "Délais",
        "…",
        "Jours",
        ["0–5", "6–10", "11–15", "16–20"],
        [Series("Payées", "#146c2e", (1, 2, 3, 4))],
        markers=[Marker(2.0, "Délai légal : 10 j")],
    )
    root = drawing(chart.svg)
    [dashed] = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    columns_start, slot = 64.0, (720 - 64 - 8) / 4
    assert float(dashed.get("x1")) == columns_start + 2 * slot
    assert "Délai légal : 10 j" in [t.text for t in root.iter(f"{SVG}text")]
    assert chart.columns == ("Jours", "Payées")  # one series: no total column


def test_an_empty_chart_says_so() -> None:
    chart = column_chart(
        "none", "Rien", "Rien", "Semaine", ["05/01"], [Series("A", "#000", (0,))], empty="Aucune"
    )
    assert "Aucune" in [t.text for t in drawing(chart.svg).iter(f"{SVG}text")]
    bars = bar_chart("b", "Rien", "Rien", "Acheteur", [], Series("Montant", "#000", ()), empty="0")
    assert bars.rows == ()
    assert "0" in [t.text for t in drawing(bars.svg).iter(f"{SVG}text")]


def test_bars_cut_long_labels_in_the_drawing_but_not_in_the_table() -> None:
    name = "Établissement public de santé mentale de la Vallée (26750045200017)"
    chart = bar_chart(
        "buyers",
        "Retards",
        "…",
        "Acheteur",
        [name, "Ville (21750001600019)"],
        Series("Montant", "#8a4b00", (600.0, 0.0)),
        fmt=lambda v: f"{v:.2f} €",
    )
    texts = [t.text for t in drawing(chart.svg).iter(f"{SVG}text")]
    assert name not in texts and any(t.endswith("…") for t in texts)
    assert "600.00 €" in texts and "0.00 €" in texts
    assert chart.rows == ((name, "600.00 €"), ("Ville (21750001600019)", "0.00 €"))


def test_histogram_bins_end_on_multiples_of_their_width() -> None:
    counts = [(0, (1, 0)), (5, (1, 0)), (6, (0, 1)), (30, (2, 0)), (31, (0, 1)), (200, (1, 1))]
    bounds, sums = histogram_bins(counts, width=5, last=90, values=2)
    assert bounds[:2] == [(0, 5), (6, 10)]
    assert (bounds[5], bounds[6], bounds[-1]) == ((26, 30), (31, 35), (91, None))
    assert len(bounds) == 19
    assert (sums[0], sums[1], sums[5], sums[6], sums[-1]) == (
        [2, 0],
        [0, 1],
        [2, 0],
        [0, 1],
        [1, 1],
    )
    assert histogram_bins([], width=5, last=10, values=2)[1] == [[0, 0], [0, 0], [0, 0]]


def test_gridline_steps_are_round() -> None:
    assert [nice_step(n) for n in (0, 3, 7, 40, 950, 12_345)] == [1, 1, 2, 10, 500, 5000]


def test_every_invoice_status_is_drawn_in_exactly_one_family() -> None:
    drawn = [status for _, _, statuses in STATUS_FAMILIES for status in statuses]
    assert sorted(drawn) == sorted(InvoiceStatus)
