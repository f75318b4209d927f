"""Gathers what a Word document about one PEP needs (child, school, people, rules)."""

from __future__ import annotations

from forms.form_data import FormData
from pep_model.errors import NotFound
from pep_model.people import Role
from pep_model.pep import Pep
from pep_model.ports import UnitOfWork
from pep_model.rules import transition_reasons
from pep_model.services import PepService


async def form_data(uow: UnitOfWork, service: PepService, pep: Pep,
                    authority_name: str) -> FormData:
    child = await uow.children.get(pep.child_id)
    if child is None:
        raise NotFound(f"There is no child {pep.child_id}.")
    school = await uow.children.get_school(child.school_urn)
    if school is None:
        raise NotFound(f"There is no school {child.school_urn}.")
    term = service.calendar.get(pep.term_id)

    async def names(role: Role, by_school: bool = False) -> str:
        people = (await uow.people.people_for_school(child.school_urn, role) if by_school
                  else await uow.people.people_for_child(child.lcs_id, role))
        return ", ".join(p.name for p in people)

    return FormData(
        child=child, school=school, term=term, pep=pep,
        designated_teacher_name=await names(Role.DESIGNATED_TEACHER, by_school=True),
        social_worker_name=await names(Role.SOCIAL_WORKER),
        carer_name=child.carer_name or await names(Role.CARER),
        authority_name=authority_name,
        transition_reasons=transition_reasons(child, term, service.rules,
                                              service.clock.today()),
        attendance_threshold=service.rules.attendance_threshold,
    )
