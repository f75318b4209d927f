"""The Virtual School's cases: why a child's PEP is one (a transition case by the rules,
or a complex case the Virtual School flagged), and the alert to the Virtual School's
channel for those with no PEP meeting booked N school days into the term."""

from __future__ import annotations

from datetime import date

from pep_model.child import Child
from pep_model.outbox import VIRTUAL_SCHOOL_CHANNEL, notice
from pep_model.pep import pep_id_for
from pep_model.rules import PepRules, transition_reasons
from pep_model.services import PepService
from pep_model.terms import Term
from pep_model.workflow import is_before_meeting

COMPLEX_CASE = "a complex case flagged by the Virtual School"


def virtual_school_reasons(child: Child, term: Term, rules: PepRules, today: date) -> list[str]:
    """Why the Virtual School takes part in this child's PEP this term; none: it need not."""
    reasons = transition_reasons(child, term, rules, today)
    if child.complex_case:
        reasons.append(COMPLEX_CASE)
    return reasons


async def alert_unscheduled(service: PepService, today: date | None = None) -> int:
    """Transition and complex cases with no PEP meeting scheduled N school days into
    the term: one alert per child per term to the Virtual School's channel."""
    today = today or service.clock.today()
    term = service.calendar.term_for(today)
    if term is None:
        return 0
    days = service.calendar.school_days_into(term, today)
    if days < service.rules.transition_alert_school_days:
        return 0
    now = service.clock.now()
    added = 0
    async with service.uow() as uow:
        children = await uow.children.list_all()
        peps = {p.child_id: p for p in await uow.peps.find(term_id=term.id)}
        booked = {m.child_id for m in await uow.meetings.find(term.id) if m.live}
        keys = {c.lcs_id: f"vs-unscheduled:{term.id}:{c.lcs_id}" for c in children}
        done = await uow.outbox.existing(list(keys.values()))
        for child in children:
            pep = peps.get(child.lcs_id)
            if (
                child.lcs_id in booked
                or keys[child.lcs_id] in done
                or (pep is not None and not is_before_meeting(pep.status))
            ):
                continue
            if not virtual_school_reasons(child, term, service.rules, today):
                continue
            await uow.outbox.add(
                notice(
                    keys[child.lcs_id],
                    VIRTUAL_SCHOOL_CHANNEL,
                    "virtual_school_unscheduled",
                    {"child_id": child.lcs_id, "term_id": term.id, "school_days": days},
                    pep_id=pep_id_for(child.lcs_id, term.id),
                ),
                now,
            )
            added += 1
        await uow.commit()
    return added
