"""In-memory fakes of the after-the-meeting ports (QA rounds, staff, PP+, the overview),
used by tests/unit/fakes.py's unit of work. Same journal discipline as the other fakes:
writes go to the shared state at once and are undone if the unit of work is left
without commit; a second round with the same number fails like the unique key does.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pep_model.errors import StaleVersion
from pep_model.overview_service import OverviewFacts
from pep_model.people import Person, Role
from pep_model.pupil_premium import ApprovalRecord, PupilPremiumRequest
from pep_model.pupil_premium_service import FrozenSchedule, StoredRequest
from pep_model.quality import QaRound
from pep_model.workflow import PepStatus

if TYPE_CHECKING:
    from tests.unit.fakes import InMemoryState, _Journal


class InMemoryQaRepository:
    def __init__(self, state: InMemoryState, journal: _Journal) -> None:
        self._state = state
        self._journal = journal

    async def rounds(self, pep_id: str) -> list[QaRound]:
        return [r for (p, _), r in sorted(self._state.qa_rounds.items()) if p == pep_id]

    async def add_round(self, pep_id: str, term_id: str, qa_round: QaRound) -> None:
        key = (pep_id, qa_round.number)
        if key in self._state.qa_rounds:
            raise StaleVersion(f"QA round {qa_round.number} of {pep_id} is already recorded")
        self._journal.set(self._state.qa_rounds, key, qa_round)

    async def with_status(self, statuses: Sequence[PepStatus]) -> list[tuple[str, str, PepStatus]]:
        return [
            (p.id, p.child_id, p.status)
            for _, p in sorted(self._state.peps.items())
            if p.status in statuses
        ]


class InMemoryStaffDirectory:
    def __init__(self, state: InMemoryState, journal: _Journal | None = None) -> None:
        self._state = state

    async def authority_wide(self, role: Role) -> list[Person]:
        ids = sorted(
            {
                a.person_id
                for a in self._state.assignments
                if a.role == role and not a.child_id and not a.school_urn
            }
        )
        return [self._state.people[i] for i in ids if i in self._state.people]


class InMemoryPupilPremiumRepository:
    def __init__(self, state: InMemoryState, journal: _Journal) -> None:
        self._state = state
        self._journal = journal

    def _all(self) -> list[StoredRequest]:
        return [copy.deepcopy(s) for _, s in sorted(self._state.pp_requests.items())]

    async def get(self, request_id: str) -> StoredRequest | None:
        stored = self._state.pp_requests.get(request_id)
        return copy.deepcopy(stored) if stored is not None else None

    async def for_pep(self, pep_id: str) -> list[StoredRequest]:
        return sorted(
            (s for s in self._all() if s.request.pep_id == pep_id), key=lambda s: s.request.index
        )

    async def put(self, request: PupilPremiumRequest, received_at: datetime) -> None:
        old = self._state.pp_requests.get(request.id)
        self._journal.set(
            self._state.pp_requests,
            request.id,
            StoredRequest(request, received_at, version=old.version + 1 if old else 1),
        )

    async def withdraw(self, request_id: str) -> None:
        stored = self._state.pp_requests[request_id]
        self._journal.set(
            self._state.pp_requests,
            request_id,
            StoredRequest(stored.request, stored.received_at, True, version=stored.version + 1),
        )

    async def open_requests(self) -> list[StoredRequest]:
        return [s for s in self._all() if not s.withdrawn and s.decision is None]

    async def decisions(self, child_id: str, term_id: str) -> list[ApprovalRecord]:
        return [
            s.decision
            for s in self._all()
            if s.decision is not None
            and not s.withdrawn
            and s.request.child_id == child_id
            and s.request.term_id == term_id
        ]

    async def save_decision(self, record: ApprovalRecord, version: int) -> bool:
        stored = self._state.pp_requests[record.request_id]
        if stored.version != version:
            return False
        self._journal.set(
            self._state.pp_requests,
            record.request_id,
            replace(stored, decision=record, version=version + 1),
        )
        return True

    async def lock_term(self, term_id: str) -> datetime | None:
        if term_id not in self._state.pp_schedules:
            self._journal.set(self._state.pp_schedules, term_id, None)
        return await self.frozen_at(term_id)

    async def frozen_at(self, term_id: str) -> datetime | None:
        frozen = self._state.pp_schedules.get(term_id)
        return frozen.frozen_at if frozen is not None else None

    async def for_schedule(self, term_id: str) -> tuple[list[ApprovalRecord], set[str]]:
        records = [
            s.decision
            for s in self._all()
            if s.decision is not None
            and not s.withdrawn
            and s.decision.approved_pence > 0
            and (s.decision.pays_in_term_id == term_id or term_id in s.decision.held_in_term_ids)
        ]
        finalised = {
            r.pep_id
            for r in records
            if (pep := self._state.peps.get(r.pep_id)) is not None
            and pep.status is PepStatus.FINALISED
        }
        return records, finalised

    async def move(self, records: Sequence[ApprovalRecord]) -> None:
        for record in records:
            stored = self._state.pp_requests[record.request_id]
            assert stored.decision is not None
            moved = replace(
                stored.decision,
                pays_in_term_id=record.pays_in_term_id,
                held_in_term_ids=record.held_in_term_ids,
            )
            self._journal.set(
                self._state.pp_requests, record.request_id, replace(stored, decision=moved)
            )

    async def freeze(self, frozen: FrozenSchedule) -> None:
        if self._state.pp_schedules.get(frozen.term_id) is None:
            self._journal.set(self._state.pp_schedules, frozen.term_id, frozen)

    async def frozen(self, term_id: str) -> FrozenSchedule | None:
        return self._state.pp_schedules.get(term_id)


class InMemoryOverviewRepository:
    """The same facts the SQL projection gives, computed from the state."""

    def __init__(self, state: InMemoryState, journal: _Journal | None = None) -> None:
        self._state = state

    async def facts(self, term_id: str) -> list[OverviewFacts]:
        state = self._state
        out = []
        meetings: dict[str, Any] = getattr(state, "meetings", {}) or {}
        for lcs_id, child in sorted(state.children.items()):
            pep = state.peps.get(f"{lcs_id}-{term_id}")
            facts = OverviewFacts(
                lcs_id,
                child.school_urn,
                child.year_group.number,
                child.school_start_date,
                child.transition_flag,
                child.complex_case,
            )
            if pep is None:
                out.append(facts)
                continue
            meeting = meetings.get(pep.id)
            if meeting is not None:
                live = str(getattr(meeting, "status", "")) == "scheduled"
                starts = meeting.starts_at if live else None
                attending = live and bool(getattr(meeting, "virtual_school_attending", ()))
            else:
                linked = pep.meeting.starts_at if pep.meeting else ""
                starts = datetime.fromisoformat(linked) if linked else None
                attending = False
            rounds = sorted((n, r) for (p, n), r in state.qa_rounds.items() if p == pep.id)
            requested = approved = paid = 0
            for stored in state.pp_requests.values():
                if stored.request.pep_id != pep.id or stored.withdrawn:
                    continue
                requested += stored.request.amount_pence
                d = stored.decision
                if d is None:
                    continue
                approved += d.approved_pence
                frozen = state.pp_schedules.get(d.pays_in_term_id)
                if frozen is not None and d.decided_at <= frozen.frozen_at:
                    paid += d.approved_pence
            out.append(
                replace(
                    facts,
                    status=pep.status,
                    meeting_starts_at=starts,
                    meeting_held_on=pep.meeting_held_on,
                    return_due=pep.return_due,
                    qa_overall=rounds[-1][1].overall if rounds else None,
                    pp_requested_pence=requested,
                    pp_approved_pence=approved,
                    pp_paid_pence=paid,
                    virtual_school_attending=attending,
                )
            )
        return out
