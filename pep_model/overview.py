"""The Virtual School's overview of a term: one pass over lean rows, no per-child lookups.

The store builds an `OverviewRow` per child per term (a child with no PEP opened for
the term has a row with status None); rows of other terms only make a child known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from pep_model.csv_cells import csv_text
from pep_model.money import pounds
from pep_model.quality import DEFAULT_SCALE, GradeScale
from pep_model.terms import Term
from pep_model.workflow import PepStatus, is_before_meeting


@dataclass(frozen=True, slots=True)
class OverviewRow:
    child_id: str
    term_id: str
    school_urn: str
    year_group: int
    status: PepStatus | None = None  # None: no PEP opened for the term
    transition: bool = False
    complex_case: bool = False
    meeting_starts_at: datetime | None = None
    meeting_held_on: date | None = None
    return_due: date | None = None
    qa_overall: str | None = None
    pp_requested_pence: int = 0
    pp_approved_pence: int = 0
    pp_paid_pence: int = 0
    virtual_school_attending: bool = False


@dataclass(frozen=True)
class OverdueReturn:
    child_id: str
    school_urn: str
    return_due: date
    days_overdue: int


@dataclass(frozen=True)
class TransitionCase:
    child_id: str
    school_urn: str
    year_group: int
    transition: bool
    complex_case: bool
    meeting_starts_at: datetime | None
    virtual_school_attending: bool


@dataclass(frozen=True)
class Overview:
    term_id: str
    today: date
    children: int
    peps: int
    no_meeting_scheduled: tuple[str, ...]  # child ids
    overdue_returns: tuple[OverdueReturn, ...]
    awaiting_qa: tuple[str, ...]  # returned, QA not started
    in_qa: tuple[str, ...]
    status_counts: Mapping[str, int]  # every status, in workflow order
    grade_counts: Mapping[str, int]  # every grade on the scale, best first
    pp_requested_pence: int
    pp_approved_pence: int
    pp_paid_pence: int
    transition_cases: tuple[TransitionCase, ...]

    @property
    def transition_without_virtual_school(self) -> int:
        return sum(1 for c in self.transition_cases if not c.virtual_school_attending)


_RETURNED, _IN_QA, _AWAITING = PepStatus.RETURNED, PepStatus.IN_QA, PepStatus.AWAITING_RETURN
_MET = frozenset(s for s in PepStatus if not is_before_meeting(s))  # the meeting has begun


def build_overview(
    rows: Iterable[OverviewRow], today: date, term: Term, scale: GradeScale = DEFAULT_SCALE
) -> Overview:
    term_id = term.id
    children: set[str] = set()
    scheduled: set[str] = set()
    overdue: list[OverdueReturn] = []
    awaiting_qa: list[str] = []
    in_qa: list[str] = []
    transitions: list[TransitionCase] = []
    statuses: dict[PepStatus, int] = dict.fromkeys(PepStatus, 0)
    grades: dict[str, int] = dict.fromkeys(scale.grades, 0)
    peps = requested = approved = paid = 0
    for r in rows:
        children.add(r.child_id)
        if r.term_id != term_id:
            continue
        status = r.status
        if status is not None:
            peps += 1
            statuses[status] += 1
            if r.meeting_starts_at is not None or r.meeting_held_on is not None or status in _MET:
                scheduled.add(r.child_id)
            if status is _AWAITING and r.return_due is not None and r.return_due < today:
                overdue.append(
                    OverdueReturn(
                        r.child_id, r.school_urn, r.return_due, (today - r.return_due).days
                    )
                )
            elif status is _IN_QA:
                in_qa.append(r.child_id)
            elif status is _RETURNED:
                awaiting_qa.append(r.child_id)
        if r.qa_overall is not None:
            grades[r.qa_overall] = grades.get(r.qa_overall, 0) + 1
        requested += r.pp_requested_pence
        approved += r.pp_approved_pence
        paid += r.pp_paid_pence
        if r.transition or r.complex_case:
            transitions.append(
                TransitionCase(
                    r.child_id,
                    r.school_urn,
                    r.year_group,
                    r.transition,
                    r.complex_case,
                    r.meeting_starts_at,
                    r.virtual_school_attending,
                )
            )
    overdue.sort(key=lambda o: (o.return_due, o.child_id))
    transitions.sort(key=lambda c: c.child_id)
    known = {g: grades.pop(g) for g in scale.grades}
    known.update(sorted(grades.items()))  # grades not on the scale, after it
    return Overview(
        term_id,
        today,
        len(children),
        peps,
        tuple(sorted(children - scheduled)),
        tuple(overdue),
        tuple(sorted(awaiting_qa)),
        tuple(sorted(in_qa)),
        MappingProxyType({s.value: n for s, n in statuses.items()}),
        MappingProxyType(known),
        requested,
        approved,
        paid,
        tuple(transitions),
    )


OVERVIEW_COLUMNS = ("term_id", "item", "lcs_id", "school_urn", "detail", "value")


def overview_csv(overview: Overview) -> str:
    """Totals first, then a row per child in each list. Same overview, same bytes;
    every cell escaped by csv_text."""
    t = overview.term_id
    rows: list[tuple[object, ...]] = [OVERVIEW_COLUMNS]
    rows.append((t, "as_of", "", "", "", overview.today.isoformat()))
    rows.append((t, "children", "", "", "", overview.children))
    rows.append((t, "peps", "", "", "", overview.peps))
    for status, n in overview.status_counts.items():
        rows.append((t, "status", "", "", status, n))
    for grade, n in overview.grade_counts.items():
        rows.append((t, "qa_grade", "", "", grade, n))
    for item, pence in (
        ("pp_requested_gbp", overview.pp_requested_pence),
        ("pp_approved_gbp", overview.pp_approved_pence),
        ("pp_paid_gbp", overview.pp_paid_pence),
    ):
        rows.append((t, item, "", "", "", pounds(pence)))
    for child in overview.no_meeting_scheduled:
        rows.append((t, "no_meeting_scheduled", child, "", "", ""))
    for o in overview.overdue_returns:
        rows.append(
            (
                t,
                "overdue_return",
                o.child_id,
                o.school_urn,
                o.return_due.isoformat(),
                o.days_overdue,
            )
        )
    for child in overview.awaiting_qa:
        rows.append((t, "awaiting_qa", child, "", "", ""))
    for child in overview.in_qa:
        rows.append((t, "in_qa", child, "", "", ""))
    for c in overview.transition_cases:
        kind = "+".join(
            k for k, on in (("transition", c.transition), ("complex", c.complex_case)) if on
        )
        rows.append(
            (
                t,
                "transition_case",
                c.child_id,
                c.school_urn,
                kind,
                "virtual_school_attending"
                if c.virtual_school_attending
                else "virtual_school_not_attending",
            )
        )
    return csv_text(rows)
