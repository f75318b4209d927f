"""People, their roles, and what they are assigned to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    SOCIAL_WORKER = "social_worker"
    DESIGNATED_TEACHER = "designated_teacher"
    PEP_LEAD = "pep_lead"
    CARER = "carer"
    CHILD = "child"
    VIRTUAL_SCHOOL_OFFICER = "virtual_school_officer"
    VIRTUAL_SCHOOL_HEAD = "virtual_school_head"
    BUSINESS_SUPPORT = "business_support"
    PEP_COORDINATOR = "pep_coordinator"
    EDUCATION_ADVISOR = "education_advisor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.SOCIAL_WORKER: "Social worker",
    Role.DESIGNATED_TEACHER: "Designated teacher",
    Role.PEP_LEAD: "PEP lead",
    Role.CARER: "Carer",
    Role.CHILD: "Child or young person",
    Role.VIRTUAL_SCHOOL_OFFICER: "Virtual School officer",
    Role.VIRTUAL_SCHOOL_HEAD: "Virtual School Head",
    Role.BUSINESS_SUPPORT: "Business Support",
    Role.PEP_COORDINATOR: "PEP coordinator",
    Role.EDUCATION_ADVISOR: "Education advisor",
}


def person_id_for(email: str) -> str:
    """People are keyed by their lower-cased email address."""
    return email.strip().lower()


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    entra_object_id: str | None = None

    @property
    def id(self) -> str:
        return person_id_for(self.email)


@dataclass(frozen=True)
class Assignment:
    """A person holds a role for one child, for one school, or for the whole authority.

    Exactly one scope applies: child_id, else school_urn, else the authority.
    """

    person_id: str
    role: Role
    child_id: str | None = None
    school_urn: str | None = None

    @property
    def scope(self) -> str:
        if self.child_id:
            return f"child:{self.child_id}"
        if self.school_urn:
            return f"school:{self.school_urn}"
        return "authority"
