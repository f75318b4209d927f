"""What a PEP document needs to know about one child's PEP for one term."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from pep_model.child import Child, School
from pep_model.pep import Pep
from pep_model.terms import Term

DEFAULT_AUTHORITY = "Northvale County Council"


@dataclass(frozen=True)
class FormData:
    child: Child
    school: School
    term: Term
    pep: Pep  # its sections prefill the form (carried targets, SEN status, entries so far)
    designated_teacher_name: str = ""
    social_worker_name: str = ""
    carer_name: str = ""
    authority_name: str = DEFAULT_AUTHORITY
    transition_reasons: list[str] = field(default_factory=list)  # empty: not a transition
    attendance_threshold: Decimal = Decimal(95)
    return_days: int = 5  # the form is returned within this many days of the meeting

    @property
    def carer(self) -> str:
        return self.carer_name or self.child.carer_name
