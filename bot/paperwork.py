"""Gathers what a Word document about one PEP needs (child, school, people, rules), and
renders the new-term form from it (the CLI's `forms new-term`, the term-start packs)."""

from __future__ import annotations

from forms.form_data import FormData
from forms.new_term import render_new_term_form
from pep_model.errors import NotFound
from pep_model.people import Role
from pep_model.pep import Pep, document_name
from pep_model.ports import UnitOfWork
from pep_model.rules import transition_reasons
from pep_model.services import PepService
from pep_model.term_start import FormRenderer


async def form_data(
    uow: UnitOfWork, service: PepService, pep: Pep, authority_name: str
) -> FormData:
    child = await uow.children.get(pep.child_id)
    if child is None:
        raise NotFound(f"There is no child {pep.child_id}.")
    school = await uow.children.get_school(child.school_urn)
    if school is None:
        raise NotFound(f"There is no school {child.school_urn}.")
    term = service.calendar.get(pep.term_id)

    async def names(role: Role, by_school: bool = False) -> str:
        people = (
            await uow.people.people_for_school(child.school_urn, role)
            if by_school
            else await uow.people.people_for_child(child.lcs_id, role)
        )
        return ", ".join(p.name for p in people)

    return FormData(
        child=child,
        school=school,
        term=term,
        pep=pep,
        designated_teacher_name=await names(Role.DESIGNATED_TEACHER, by_school=True),
        social_worker_name=await names(Role.SOCIAL_WORKER),
        carer_name=child.carer_name or await names(Role.CARER),
        authority_name=authority_name,
        transition_reasons=transition_reasons(child, term, service.rules, service.clock.today()),
        attendance_threshold=service.rules.attendance_threshold,
    )


def form_renderer(service: PepService, authority_name: str) -> FormRenderer:
    """The new-term Word form of a PEP: (file name, .docx bytes)."""

    async def render(uow: UnitOfWork, pep: Pep) -> tuple[str, bytes]:
        data = await form_data(uow, service, pep, authority_name)
        return document_name(pep.child_id, pep.term_id), render_new_term_form(data)

    return render
