"""The rules of a consultation's terms, its clocks and its ranking (pure functions)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from procurement.model import (
    Address,
    BuyerContact,
    Consultation,
    Criterion,
    CriterionKind,
    Lot,
    MinimumPeriods,
    Procedure,
    ReviewBody,
    StandstillPeriods,
    check_consultation,
    deadline_after_amendment,
    is_late,
    rank,
    standstill_end,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PARIS = Address("1 place de l'Hôtel de Ville", "Paris", "75004", "FR101")
TERMS = Consultation(
    buyer_siret="11000201100044",
    reference="AO-2026-1",
    title="Entretien des espaces verts",
    description="",
    procedure=Procedure.OPEN,
    cpv_codes=("77310000-6",),
    lots=(Lot(1, "Parcs", Decimal("120000")), Lot(2, "Squares", Decimal("30000.50"))),
    criteria=(
        Criterion("Prix", 60, CriterionKind.PRICE),
        Criterion("Valeur technique", 40),
    ),
    questions_deadline=NOW + timedelta(days=25),
    submission_deadline=NOW + timedelta(days=31),
    contact=BuyerContact("Achats", "achats@ville.example"),
    buyer_address=PARIS,
    review_body=ReviewBody("Tribunal administratif de Paris", "17750111100005", PARIS),
)
PERIODS = MinimumPeriods()


def fields(terms: Consultation) -> set[str]:
    return {problem.field for problem in check_consultation(terms, NOW, PERIODS)}


def test_valid_terms_have_no_problem() -> None:
    assert check_consultation(TERMS, NOW, PERIODS) == []
    assert TERMS.estimated_value == Decimal("150000.50")
    assert TERMS.workflow_id == "consultation:11000201100044:AO-2026-1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"criteria": (Criterion("Prix", 50, CriterionKind.PRICE), Criterion("Délai", 40))},
            "criteria",
        ),
        ({"criteria": (Criterion("Valeur technique", 100),)}, "criteria"),
        ({"criteria": ()}, "criteria"),
        ({"cpv_codes": ("7731000",)}, "cpv_codes"),
        ({"cpv_codes": ()}, "cpv_codes"),
        ({"lots": (Lot(1, "A", Decimal(1)), Lot(1, "B", Decimal(1)))}, "lots"),
        ({"lots": ()}, "lots"),
        ({"reference": "AO 2026/1"}, "reference"),
        ({"title": " "}, "title"),
        ({"buyer_address": None}, "buyer_address"),
        ({"review_body": None}, "review_body"),
        ({"questions_deadline": NOW + timedelta(days=40)}, "questions_deadline"),
        ({"questions_deadline": NOW}, "questions_deadline"),
    ],
)
def test_each_broken_rule_is_named(change: dict, field: str) -> None:
    assert fields(replace(TERMS, **change)) == {field}


def test_the_minimum_period_depends_on_the_procedure() -> None:
    short = replace(
        TERMS,
        questions_deadline=NOW + timedelta(days=5),
        submission_deadline=NOW + timedelta(days=10),
    )
    assert fields(short) == {"submission_deadline"}
    assert fields(replace(short, procedure=Procedure.ADAPTED)) == set()
    strict_mapa = replace(PERIODS, adapted=timedelta(days=15))
    problems = check_consultation(replace(short, procedure=Procedure.ADAPTED), NOW, strict_mapa)
    assert [p.message for p in problems] == [
        "at least 15 days from publication to the submission deadline (adapted procedure)"
    ]


def test_a_bid_at_the_deadline_instant_is_late() -> None:
    deadline = NOW
    assert not is_late(deadline - timedelta(microseconds=1), deadline)
    assert is_late(deadline, deadline)
    assert is_late(deadline + timedelta(seconds=1), deadline)


def test_an_amendment_leaves_candidates_the_notice_period() -> None:
    deadline = NOW + timedelta(days=10)
    notice = timedelta(days=6)
    assert deadline_after_amendment(deadline, NOW, notice) == deadline
    late = NOW + timedelta(days=7)
    assert deadline_after_amendment(deadline, late, notice) == late + notice


def test_standstill_is_eleven_days_sixteen_on_paper_none_for_a_mapa() -> None:
    periods = StandstillPeriods()
    assert standstill_end(Procedure.OPEN, NOW, True, periods) == NOW + timedelta(days=11)
    assert standstill_end(Procedure.RESTRICTED, NOW, False, periods) == NOW + timedelta(days=16)
    assert standstill_end(Procedure.ADAPTED, NOW, True, periods) is None


def test_ranking_weighs_scores_and_flags_ties() -> None:
    scores = {
        "b": {"Prix": Decimal(80), "Valeur technique": Decimal(70)},  # 76
        "a": {"Prix": Decimal(70), "Valeur technique": Decimal(85)},  # 76
        "c": {"Prix": Decimal(90), "Valeur technique": Decimal(90)},  # 90
        "d": {"Prix": Decimal(10), "Valeur technique": Decimal(20)},  # 14
    }
    ranked = rank(TERMS.criteria, scores)
    assert [(r.bid_id, str(r.total), r.rank, r.tied) for r in ranked] == [
        ("c", "90.00", 1, False),
        ("a", "76.00", 2, True),
        ("b", "76.00", 2, True),
        ("d", "14.00", 4, False),
    ]


def test_ranking_refuses_missing_or_out_of_range_scores() -> None:
    with pytest.raises(ValueError, match="no score for Valeur technique"):
        rank(TERMS.criteria, {"a": {"Prix": Decimal(50)}})
    with pytest.raises(ValueError, match="out of 100"):
        rank(TERMS.criteria, {"a": {"Prix": Decimal(101), "Valeur technique": Decimal(0)}})
