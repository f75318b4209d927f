"""The Virtual School's overview of a term, on a hand-built set and at authority scale."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime

import pytest

from pep_model.overview import OVERVIEW_COLUMNS, OverviewRow, build_overview, overview_csv
from pep_model.quality import RAG_SCALE
from pep_model.terms import Term, default_calendar
from pep_model.workflow import PepStatus

TODAY = date(2026, 11, 16)
AUTUMN = "2026-autumn"
MEETING = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def term() -> Term:
    return default_calendar().get(AUTUMN)


def hand_built() -> list[OverviewRow]:
    S = PepStatus
    return [
        # not scheduled: no PEP yet, a PEP with no meeting, and a child seen only last term
        OverviewRow("C01", AUTUMN, "100001", 7, None, transition=True),
        OverviewRow("C02", AUTUMN, "100001", 8, S.IN_PROGRESS),
        OverviewRow("C03", "2026-summer", "100002", 4, S.FINALISED, qa_overall="gold"),
        # scheduled, Virtual School attending a complex case
        OverviewRow(
            "C04",
            AUTUMN,
            "100002",
            4,
            S.READY_FOR_MEETING,
            complex_case=True,
            meeting_starts_at=MEETING,
            virtual_school_attending=True,
            pp_requested_pence=30_000,
        ),
        # met; overdue, due today (not overdue), no due date
        OverviewRow(
            "C05",
            AUTUMN,
            "100001",
            9,
            S.AWAITING_RETURN,
            meeting_held_on=date(2026, 11, 2),
            return_due=date(2026, 11, 7),
        ),
        OverviewRow(
            "C06",
            AUTUMN,
            "100001",
            9,
            S.AWAITING_RETURN,
            meeting_held_on=date(2026, 11, 11),
            return_due=TODAY,
        ),
        OverviewRow("C07", AUTUMN, "100003", 12, S.AWAITING_RETURN, transition=True),
        # returned, in QA, amendments, finalised with grades and PP+
        OverviewRow("C08", AUTUMN, "100003", 10, S.RETURNED, pp_requested_pence=10_000),
        OverviewRow(
            "C09",
            AUTUMN,
            "100003",
            10,
            S.IN_QA,
            meeting_held_on=date(2026, 10, 1),
            pp_requested_pence=55_000,
            pp_approved_pence=40_000,
        ),
        OverviewRow("C10", AUTUMN, "100001", 3, S.AMENDMENTS_REQUESTED, qa_overall="amber"),
        OverviewRow(
            "C11",
            AUTUMN,
            "100001",
            3,
            S.FINALISED,
            qa_overall="gold",
            pp_requested_pence=25_050,
            pp_approved_pence=25_050,
            pp_paid_pence=25_050,
        ),
        OverviewRow(
            "C12",
            AUTUMN,
            "100002",
            0,
            S.FINALISED,
            qa_overall="green",
            transition=True,
            complex_case=True,
            meeting_starts_at=MEETING,
        ),
        # last term's row of a child also seen this term counts once
        OverviewRow(
            "C11", "2026-summer", "100001", 2, S.FINALISED, qa_overall="red", pp_paid_pence=99_999
        ),
    ]


def test_overview_counts_on_a_hand_built_set(term: Term) -> None:
    o = build_overview(hand_built(), TODAY, term)
    assert (o.term_id, o.children, o.peps) == (AUTUMN, 12, 10)
    assert o.no_meeting_scheduled == ("C01", "C02", "C03")
    assert [(r.child_id, r.days_overdue) for r in o.overdue_returns] == [("C05", 9)]
    assert (o.awaiting_qa, o.in_qa) == (("C08",), ("C09",))
    assert o.status_counts["awaiting_return"] == 3
    assert o.status_counts["finalised"] == 2
    assert o.status_counts["draft"] == 0
    assert dict(o.grade_counts) == {"gold": 1, "green": 1, "amber": 1, "red": 0}
    assert (o.pp_requested_pence, o.pp_approved_pence, o.pp_paid_pence) == (120_050, 65_050, 25_050)
    cases = {c.child_id: c for c in o.transition_cases}
    assert list(cases) == ["C01", "C04", "C07", "C12"]
    assert cases["C04"].virtual_school_attending and cases["C04"].complex_case
    assert o.transition_without_virtual_school == 3


def test_grades_off_the_scale_are_counted_after_it(term: Term) -> None:
    rows = [
        OverviewRow("A", AUTUMN, "1", 5, PepStatus.FINALISED, qa_overall="gold"),
        OverviewRow("B", AUTUMN, "1", 5, PepStatus.FINALISED, qa_overall="green"),
    ]
    assert list(build_overview(rows, TODAY, term, RAG_SCALE).grade_counts.items()) == [
        ("green", 1),
        ("amber", 0),
        ("red", 0),
        ("gold", 1),
    ]


def test_overview_csv(term: Term) -> None:
    text = overview_csv(build_overview(hand_built(), TODAY, term))
    lines = text.splitlines()
    assert lines[0] == ",".join(OVERVIEW_COLUMNS)
    assert f"{AUTUMN},children,,,,12" in lines
    assert f"{AUTUMN},pp_approved_gbp,,,,650.50" in lines
    assert f"{AUTUMN},qa_grade,,,gold,1" in lines
    assert f"{AUTUMN},overdue_return,C05,100001,2026-11-07,9" in lines
    assert (
        f"{AUTUMN},transition_case,C12,100002,transition+complex,"
        "virtual_school_not_attending" in lines
    )
    shuffled = hand_built()
    random.Random(3).shuffle(shuffled)
    assert overview_csv(build_overview(shuffled, TODAY, term)) == text


def authority(children: int = 5_000) -> list[OverviewRow]:
    rnd = random.Random(2026)
    statuses: list[PepStatus | None] = [*PepStatus, None]
    grades = [None, "gold", "green", "amber", "red"]
    return [
        OverviewRow(
            f"LCS{c:06d}",
            t,
            f"1{c % 400:05d}",
            rnd.randint(0, 13),
            rnd.choice(statuses),
            rnd.random() < 0.1,
            rnd.random() < 0.05,
            MEETING if rnd.random() < 0.7 else None,
            None,
            date(2026, 11, rnd.randint(1, 30)),
            rnd.choice(grades),
            rnd.randint(0, 55_000),
            rnd.randint(0, 55_000),
            0,
            rnd.random() < 0.5,
        )
        for c in range(children)
        for t in ("2026-spring", "2026-summer", AUTUMN)
    ]


def test_overview_of_5000_children_and_15000_peps_is_fast(term: Term) -> None:
    rows = authority()
    best = min(_timed(rows, term) for _ in range(5))
    overview = build_overview(rows, TODAY, term)
    assert overview.children == 5_000
    assert 0 < overview.peps <= 5_000
    assert best < 0.05, f"{best * 1000:.1f} ms"  # about 4 ms measured; generous for CI


def _timed(rows: list[OverviewRow], term: Term) -> float:
    start = time.perf_counter()
    build_overview(rows, TODAY, term)
    return time.perf_counter() - start
