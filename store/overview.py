"""The overview's lean projection: one row per child for a term, in one query.

No PEP content is read: the PEP's status and dates come from a covering index
(ix_peps_overview), the meeting's start and the Virtual School's attendance from the
meetings table (a cancelled meeting counts as none), the latest QA grade from a grouped
subquery, and the PP+ sums are aggregated by the database.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import String, and_, case, cast, func, select, type_coerce

from pep_model.meetings import MeetingStatus
from pep_model.overview_service import OverviewFacts
from pep_model.workflow import PepStatus
from store.connection import StoreConnection
from store.tables import children, meetings, peps, pp_requests, pp_schedules, qa_rounds

# the status column's text as PepStatus; no row: no PEP opened for the term
_STATUSES: dict[str | None, PepStatus | None] = {None: None, **{s.value: s for s in PepStatus}}


def _day(value: date | str | None) -> date | None:
    """A DATE column read without SQLAlchemy's per-row processing: asyncpg gives a date,
    SQLite the ISO text (parsed here in C, several times faster)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _plain(column: Any) -> Any:
    return type_coerce(column, String)


def overview_query(term_id: str) -> Any:
    latest = (
        select(qa_rounds.c.pep_id, func.max(qa_rounds.c.number).label("number"))
        .where(qa_rounds.c.term_id == term_id)
        .group_by(qa_rounds.c.pep_id)
        .subquery("latest")
    )
    grade = (
        select(qa_rounds.c.pep_id, qa_rounds.c.overall)
        .join(
            latest,
            and_(latest.c.pep_id == qa_rounds.c.pep_id, latest.c.number == qa_rounds.c.number),
        )
        .subquery("grade")
    )
    r, s = pp_requests.c, pp_schedules.c
    paid = case(
        (
            and_(
                s.frozen_at.is_not(None),
                r.decided_at <= s.frozen_at,
                r.pays_in_term_id == s.term_id,
            ),
            func.coalesce(r.approved_pence, 0),
        ),
        else_=0,
    )
    money = (
        select(
            r.pep_id,
            func.sum(r.amount_pence).label("requested"),
            func.sum(func.coalesce(r.approved_pence, 0)).label("approved"),
            func.sum(paid).label("paid"),
        )
        .select_from(pp_requests.outerjoin(pp_schedules, s.term_id == r.pays_in_term_id))
        .where(r.term_id == term_id, r.withdrawn.is_(False))
        .group_by(r.pep_id)
        .subquery("money")
    )
    c, p, m = children.c, peps.c, meetings.c
    live = m.status == MeetingStatus.SCHEDULED.value
    # the attending list is JSON: '[]' (or null) when nobody from the Virtual School goes
    attending = case(
        (and_(live, cast(m.virtual_school_attending, String).not_in(("[]", "null"))), 1), else_=0
    )
    return (
        select(
            c.lcs_id,
            c.school_urn,
            c.year_group,
            _plain(c.school_start_date),
            c.transition_flag,
            c.complex_case,
            p.status,
            _plain(p.meeting_held_on),
            _plain(p.return_due),
            case((live, m.starts_at), else_=None).label("scheduled_start"),
            attending.label("attending"),
            grade.c.overall,
            money.c.requested,
            money.c.approved,
            money.c.paid,
        )
        .select_from(
            children.outerjoin(peps, and_(p.child_id == c.lcs_id, p.term_id == term_id))
            .outerjoin(meetings, m.pep_id == p.id)
            .outerjoin(grade, grade.c.pep_id == p.id)
            .outerjoin(money, money.c.pep_id == p.id)
        )
        .order_by(c.lcs_id)
    )


class SqlOverviewRepository:
    def __init__(self, db: StoreConnection) -> None:
        self.db = db

    async def facts(self, term_id: str) -> list[OverviewFacts]:
        rows = await self.db.read(overview_query(term_id))
        out = []
        for row in rows.all():
            (
                lcs_id,
                urn,
                year,
                started,
                flag,
                complex_case,
                status,
                held,
                due,
                scheduled,
                attending,
                overall,
                requested,
                approved,
                paid,
            ) = tuple(row)
            out.append(
                OverviewFacts(
                    lcs_id,
                    urn,
                    year,
                    _day(started),
                    bool(flag),
                    bool(complex_case),
                    _STATUSES[status],
                    scheduled,
                    _day(held),
                    _day(due),
                    overall,
                    int(requested or 0),
                    int(approved or 0),
                    int(paid or 0),
                    bool(attending),
                )
            )
        return out
