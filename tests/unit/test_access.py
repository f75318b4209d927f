"""Who may see and do what for which child: least privilege, nothing by default."""

from __future__ import annotations

import pytest

from pep_model.access import SYSTEM, Actor, Capability
from pep_model.child import Child
from pep_model.people import Assignment, Person, Role

C = Capability
ALL = frozenset(Capability)


def test_a_social_worker_sees_their_caseload_only(
    sw: Actor, child: Child, other_school_child: Child, other_caseload_child: Child
) -> None:
    assert sw.can(C.VIEW, child) and sw.can(C.VIEW, other_school_child)
    assert sw.capabilities(other_caseload_child) == frozenset()


def test_a_social_worker_edits_leads_and_schedules(sw: Actor, child: Child) -> None:
    assert sw.capabilities(child) == {C.VIEW, C.VIEW_MEETING, C.EDIT, C.LEAD_MEETING, C.SCHEDULE}


def test_a_designated_teacher_sees_their_schools_children_only(
    dt: Actor, other_dt: Actor, child: Child, other_caseload_child: Child, other_school_child: Child
) -> None:
    assert dt.capabilities(child) == {C.VIEW, C.VIEW_MEETING, C.EDIT, C.LEAD_MEETING}
    assert dt.can(C.EDIT, other_caseload_child)
    assert dt.capabilities(other_school_child) == frozenset()
    assert other_dt.capabilities(child) == frozenset()
    assert other_dt.can(C.EDIT, other_school_child)


def test_virtual_school_staff_see_every_child_but_do_not_edit(
    vso: Actor, children: list[Child]
) -> None:
    for c in children:
        assert vso.capabilities(c) == {C.VIEW, C.VIEW_MEETING, C.OVERVIEW}
    assert vso.has_overview()


@pytest.mark.parametrize("who", ["carer", "child_actor"])
def test_carer_and_child_only_see_the_meeting_of_their_own_child(
    request: pytest.FixtureRequest,
    who: str,
    child: Child,
    other_caseload_child: Child,
    other_school_child: Child,
) -> None:
    actor: Actor = request.getfixturevalue(who)
    assert actor.capabilities(child) == {C.VIEW_MEETING}
    assert not actor.can(C.VIEW, child)
    assert actor.capabilities(other_caseload_child) == frozenset()
    assert actor.capabilities(other_school_child) == frozenset()
    assert not actor.has_overview()


def test_nobody_else_can_do_anything(stranger: Actor, children: list[Child]) -> None:
    assert all(stranger.capabilities(c) == frozenset() for c in children)
    assert not stranger.has_overview()
    assert Actor(person=None).capabilities(children[0]) == frozenset()


def test_a_carer_assigned_to_a_school_gets_nothing_there(child: Child) -> None:
    person = Person("carer@example.org", "A Carer")
    for role in (Role.CARER, Role.CHILD):
        actor = Actor(person, (Assignment(person.id, role, school_urn=child.school_urn),))
        assert actor.capabilities(child) == frozenset()


def test_an_authority_wide_assignment_counts_only_for_authority_roles(child: Child) -> None:
    person = Person("x@northvale.example", "X")
    for role in (Role.SOCIAL_WORKER, Role.DESIGNATED_TEACHER, Role.CARER, Role.PEP_LEAD):
        assert Actor(person, (Assignment(person.id, role),)).capabilities(child) == frozenset()
    coordinator = Actor(person, (Assignment(person.id, Role.PEP_COORDINATOR),))
    assert coordinator.capabilities(child) == {C.VIEW, C.QA}


def test_assignments_add_up(child: Child, other_school_child: Child) -> None:
    person = Person("both@northvale.example", "Both")
    actor = Actor(
        person,
        (
            Assignment(person.id, Role.BUSINESS_SUPPORT),
            Assignment(person.id, Role.SOCIAL_WORKER, child_id=child.lcs_id),
        ),
    )
    assert C.SEND_PACKS in actor.capabilities(other_school_child)
    assert actor.capabilities(child) >= {C.SEND_PACKS, C.EDIT}
    assert actor.roles_for(child) == {Role.BUSINESS_SUPPORT, Role.SOCIAL_WORKER}
    assert actor.roles_for(other_school_child) == {Role.BUSINESS_SUPPORT}


def test_visible_lists_only_the_children_an_actor_may_see(
    sw: Actor, dt: Actor, vso: Actor, carer: Actor, stranger: Actor, children: list[Child]
) -> None:
    ids = {
        name: [c.lcs_id for c in actor.visible(children)]
        for name, actor in [
            ("sw", sw),
            ("dt", dt),
            ("vso", vso),
            ("carer", carer),
            ("stranger", stranger),
        ]
    }
    assert ids == {
        "sw": ["LCS100001", "LCS100002"],
        "dt": ["LCS100001", "LCS100003"],
        "vso": ["LCS100001", "LCS100002", "LCS100003"],
        "carer": [],
        "stranger": [],
    }
    assert [c.lcs_id for c in carer.visible(children, C.VIEW_MEETING)] == ["LCS100001"]


def test_the_system_actor_may_do_everything(child: Child) -> None:
    assert SYSTEM.capabilities(child) == ALL
    assert SYSTEM.id == "system" and SYSTEM.has_overview()


def test_an_actor_is_known_by_their_person_id(sw: Actor) -> None:
    assert sw.id == "rachel.donnelly@northvale.example"
    assert Actor(person=None).id == "unknown"
