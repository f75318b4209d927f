"""Who may see and do what for which child. Least privilege: nothing by default."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pep_model.child import Child
from pep_model.people import Assignment, Person, Role


class Capability(StrEnum):
    VIEW = "view"  # the whole PEP
    VIEW_MEETING = "view_meeting"  # the in-meeting, read-only view of the walkthrough
    EDIT = "edit"  # complete sections before and during the meeting
    LEAD_MEETING = "lead_meeting"  # run the walkthrough, finish the meeting, return
    SCHEDULE = "schedule"  # schedule the PEP meeting
    QA = "qa"  # quality-assure a returned PEP
    APPROVE_PUPIL_PREMIUM = "approve_pupil_premium"
    OVERVIEW = "overview"  # the authority-wide view (not per child)
    SEND_PACKS = "send_packs"


_GRANTS: dict[Role, frozenset[Capability]] = {
    Role.SOCIAL_WORKER: frozenset(
        {
            Capability.VIEW,
            Capability.VIEW_MEETING,
            Capability.EDIT,
            Capability.LEAD_MEETING,
            Capability.SCHEDULE,
        }
    ),
    Role.DESIGNATED_TEACHER: frozenset(
        {Capability.VIEW, Capability.VIEW_MEETING, Capability.EDIT, Capability.LEAD_MEETING}
    ),
    Role.PEP_LEAD: frozenset(
        {Capability.VIEW, Capability.VIEW_MEETING, Capability.EDIT, Capability.LEAD_MEETING}
    ),
    Role.CARER: frozenset({Capability.VIEW_MEETING}),
    Role.CHILD: frozenset({Capability.VIEW_MEETING}),
    Role.VIRTUAL_SCHOOL_OFFICER: frozenset(
        {Capability.VIEW, Capability.VIEW_MEETING, Capability.OVERVIEW}
    ),
    Role.VIRTUAL_SCHOOL_HEAD: frozenset(
        {Capability.VIEW, Capability.VIEW_MEETING, Capability.OVERVIEW}
    ),
    Role.BUSINESS_SUPPORT: frozenset({Capability.VIEW, Capability.SEND_PACKS}),
    Role.PEP_COORDINATOR: frozenset({Capability.VIEW, Capability.QA}),
    Role.EDUCATION_ADVISOR: frozenset({Capability.VIEW, Capability.APPROVE_PUPIL_PREMIUM}),
}

# Roles whose authority-wide assignment is meaningful; a carer or child is always per child.
_AUTHORITY_ROLES = {
    Role.VIRTUAL_SCHOOL_OFFICER,
    Role.VIRTUAL_SCHOOL_HEAD,
    Role.BUSINESS_SUPPORT,
    Role.PEP_COORDINATOR,
    Role.EDUCATION_ADVISOR,
}


def _covers(a: Assignment, child: Child) -> bool:
    if a.child_id:
        return a.child_id == child.lcs_id
    if a.school_urn:
        return a.school_urn == child.school_urn and a.role not in (Role.CARER, Role.CHILD)
    return a.role in _AUTHORITY_ROLES


@dataclass(frozen=True)
class Actor:
    """Someone acting, with every assignment they hold. `system` is a scheduled job."""

    person: Person | None
    assignments: tuple[Assignment, ...] = ()
    system: bool = False

    @property
    def id(self) -> str:
        if self.system:
            return "system"
        return self.person.id if self.person else "unknown"

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(a.role for a in self.assignments)

    def capabilities(self, child: Child) -> frozenset[Capability]:
        if self.system:
            return frozenset(Capability)
        granted: set[Capability] = set()
        for a in self.assignments:
            if _covers(a, child):
                granted |= _GRANTS[a.role]
        return frozenset(granted)

    def can(self, capability: Capability, child: Child) -> bool:
        return capability in self.capabilities(child)

    def roles_for(self, child: Child) -> frozenset[Role]:
        return frozenset(a.role for a in self.assignments if _covers(a, child))

    def has_overview(self) -> bool:
        return self.system or any(Capability.OVERVIEW in _GRANTS[a.role] for a in self.assignments)

    def visible(
        self, children: Iterable[Child], capability: Capability = Capability.VIEW
    ) -> list[Child]:
        return [c for c in children if self.can(capability, c)]


SYSTEM = Actor(person=None, system=True)
