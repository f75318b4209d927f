"""Quality assurance use cases on the fakes: into QA, grading, deciding, the rounds kept,
resubmission, `check my pep`, and who may do what."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pep_model.errors import NotAllowed, NotFound
from pep_model.people import Person
from pep_model.qa_service import QaAlreadyDecided
from pep_model.quality import (
    DOES_NOT_APPLY,
    RAG_SCALE,
    QaDecision,
    QaInvalid,
    QaPolicy,
    QaRound,
)
from pep_model.rules import PepRules
from pep_model.workflow import PepStatus
from tests.unit.fakes_after_meeting import InMemoryQaRepository
from tests.unit.qa_fixtures import (
    ADVISOR,
    AUTHORITY_COORDINATOR,
    COORDINATOR,
    DT,
    OTHER_COORDINATOR,
    OTHER_DT,
    STRANGER,
    SW,
    VSH,
    World,
    actor,
    confirmed,
    make_world,
    met_pep,
    returned_pep,
)


@pytest.fixture
def world() -> World:
    return make_world()


async def started(world: World, child_id: str = "LCS100001") -> str:
    pep_id = await returned_pep(world, child_id)
    await world.qa.start(pep_id)
    return pep_id


# ---- into QA ----------------------------------------------------------------------


async def test_a_returned_pep_goes_into_qa_with_its_pre_assessment(world: World) -> None:
    pep_id = await returned_pep(world)
    start = await world.qa.start(pep_id)
    assert start.started
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA
    assert [p.id for p in start.coordinators] == [COORDINATOR.id]
    pre = start.review.assessment
    assert {r.key for r in pre.results} >= {"child_voice", "smart_targets", "next_pep_recorded"}
    assert pre.suggested["voice"] == "green" and pre.suggested_overall == "green"
    # previous targets did not apply (nothing carried), so it is left ungraded
    assert "previous_targets" not in pre.suggested
    assert [e.action for e in world.factory.audit_entries(pep_id)][-1] == "qa.start"


async def test_starting_again_is_harmless_and_other_statuses_are_refused(world: World) -> None:
    pep_id = await returned_pep(world)
    await world.qa.start(pep_id)
    again = await world.qa.start(pep_id)
    assert not again.started and again.review.open
    draft = await met_pep(world, "LCS100003")
    with pytest.raises(NotAllowed, match="not returned"):
        await world.qa.start(draft)
    with pytest.raises(NotFound):
        await world.qa.start("LCS999999-2026-autumn")


async def test_nobody_for_the_school_falls_back_to_authority_wide_coordinators() -> None:
    world = make_world(with_coordinators=False)
    start = await world.qa.start(await returned_pep(world))
    assert [p.id for p in start.coordinators] == [AUTHORITY_COORDINATOR.id]


# ---- deciding ---------------------------------------------------------------------


async def test_approve_finalises_and_keeps_the_round(world: World) -> None:
    pep_id = await started(world)
    review = await world.qa.review(pep_id, actor(COORDINATOR))
    grades = {**review.assessment.suggested, "voice": "gold", "send": "Green"}
    outcome = await world.qa.decide(
        pep_id,
        actor(COORDINATOR),
        confirmed(grades),
        QaDecision.APPROVE,
        feedback="A clear, child-centred PEP.",
        expected_round=1,
    )
    assert world.factory.stored_pep(pep_id).status is PepStatus.FINALISED
    r = outcome.round
    assert (r.number, r.decision, r.overall, r.coordinator_id) == (
        1,
        QaDecision.APPROVE,
        "green",
        COORDINATOR.id,
    )
    assert r.grades["send"] == "green"
    assert [p.id for p in outcome.leads] == [DT.id]
    assert [x.number for x in (await world.qa.review(pep_id, actor(COORDINATOR))).history] == [1]
    audit = world.factory.audit_entries(pep_id)[-1]
    assert (audit.action, audit.actor_id, audit.after["status"]) == (
        "qa.approve",
        COORDINATOR.id,
        "finalised",
    )


async def test_return_needs_feedback_then_the_resubmission_comes_back(world: World) -> None:
    pep_id = await started(world)
    coordinator = actor(COORDINATOR)
    grades = {"voice": "amber", "targets": "amber", "attendance": "green"}
    with pytest.raises(QaInvalid) as no_feedback:
        await world.qa.decide(pep_id, coordinator, grades, QaDecision.RETURN)
    assert no_feedback.value.field == "feedback"
    first = await world.qa.decide(
        pep_id,
        coordinator,
        grades,
        QaDecision.RETURN,
        feedback="The child's voice needs their own words.",
    )
    assert first.round.overall == "amber"
    assert world.factory.stored_pep(pep_id).status is PepStatus.AMENDMENTS_REQUESTED
    with pytest.raises(QaInvalid, match="with the school"):
        await world.qa.decide(pep_id, coordinator, confirmed(grades), QaDecision.APPROVE)
    # the school sees the feedback, amends and sends it back
    feedback = await world.qa.feedback(pep_id, actor(DT))
    assert feedback.history[-1].feedback.startswith("The child's voice")
    await world.qa.resubmit(pep_id, actor(DT))
    assert world.factory.stored_pep(pep_id).status is PepStatus.RETURNED
    assert (await world.qa.start(pep_id)).started
    second = await world.qa.decide(
        pep_id,
        coordinator,
        confirmed({"voice": "green", "targets": "gold"}),
        QaDecision.APPROVE,
        expected_round=2,
    )
    assert second.round.number == 2
    history = (await world.qa.review(pep_id, coordinator)).history
    assert [(r.number, r.decision) for r in history] == [
        (1, QaDecision.RETURN),
        (2, QaDecision.APPROVE),
    ]
    with pytest.raises(QaInvalid, match="already approved"):
        await world.qa.decide(pep_id, coordinator, confirmed({"voice": "gold"}), QaDecision.APPROVE)


async def test_red_blocks_approval_and_an_override_cannot_lift_it(world: World) -> None:
    pep_id = await started(world)
    coordinator = actor(COORDINATOR)
    with pytest.raises(QaInvalid, match="cannot be approved") as red:
        await world.qa.decide(
            pep_id,
            coordinator,
            confirmed({"voice": "red", "targets": "gold"}),
            QaDecision.APPROVE,
            override="gold",
            override_reason="Fine",
        )
    assert red.value.field == "decision"
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA
    assert await world.qa.review(pep_id, coordinator) is not None
    assert not (await world.qa.review(pep_id, coordinator)).history


async def test_override_needs_a_reason_and_is_recorded(world: World) -> None:
    pep_id = await started(world)
    coordinator = actor(COORDINATOR)
    grades = {"voice": "green", "targets": "green", "carer": "green"}
    with pytest.raises(QaInvalid) as no_reason:
        await world.qa.decide(
            pep_id, coordinator, confirmed(grades), QaDecision.APPROVE, override="gold"
        )
    assert no_reason.value.field == "override_reason"
    outcome = await world.qa.decide(
        pep_id,
        coordinator,
        confirmed(grades),
        QaDecision.APPROVE,
        override="Gold",
        override_reason="Exceptional voice work",
    )
    assert (outcome.round.overall, outcome.round.computed) == ("gold", "green")
    assert outcome.round.override_reason == "Exceptional voice work"


async def test_blank_grades_are_left_ungraded_and_nothing_graded_is_refused(world: World) -> None:
    pep_id = await started(world)
    with pytest.raises(QaInvalid, match="at least one"):
        await world.qa.decide(pep_id, actor(COORDINATOR), confirmed({}), QaDecision.APPROVE)
    with pytest.raises(QaInvalid, match="not a grade"):
        await world.qa.decide(
            pep_id, actor(COORDINATOR), confirmed({"voice": "bronze"}), QaDecision.APPROVE
        )


async def test_approval_needs_a_confirmed_grade_for_every_section(world: World) -> None:
    """The pre-filled suggestions are not grades: 6 of 15 sections left as suggested
    (nothing chosen) refuses approval, naming them; nothing is recorded."""
    pep_id = await started(world)
    review = await world.qa.review(pep_id, actor(COORDINATOR))
    chosen = dict(list(confirmed(dict(review.assessment.suggested)).items())[:9])
    with pytest.raises(
        QaInvalid,
        match=r"6 of 15 sections have no grade you confirmed: "
        r"Transition plan, .*Next PEP meeting",
    ) as refused:
        await world.qa.decide(pep_id, actor(COORDINATOR), chosen, QaDecision.APPROVE)
    assert refused.value.field == "grades"
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA
    # a return for amendment needs no grade for every section
    back = await world.qa.decide(
        pep_id, actor(COORDINATOR), {"voice": "amber"}, QaDecision.RETURN, feedback="Amend"
    )
    assert back.round.decision is QaDecision.RETURN


async def test_accept_all_suggestions_is_a_deliberate_audited_act(world: World) -> None:
    pep_id = await started(world)
    coordinator = actor(COORDINATOR)
    review = await world.qa.review(pep_id, coordinator)
    accepted = await world.qa.accept_suggestions(pep_id, coordinator, {"voice": "gold"})
    assert accepted.choices["voice"] == "gold"  # a choice made stays
    assert len(accepted.filled) == 14 and "voice" not in accepted.filled
    for key in accepted.filled:
        assert accepted.choices[key] == review.assessment.suggested.get(key, DOES_NOT_APPLY)
    audit = world.factory.audit_entries(pep_id)[-1]
    assert (audit.action, audit.actor_id, audit.after["sections"]) == (
        "qa.accept_suggestions",
        COORDINATOR.id,
        list(accepted.filled),
    )
    outcome = await world.qa.decide(
        pep_id, coordinator, accepted.choices, QaDecision.APPROVE, expected_round=1
    )
    assert outcome.round.grades["voice"] == "gold"
    assert DOES_NOT_APPLY not in outcome.round.grades.values()


async def test_amber_blocks_approval_when_the_authority_says_so() -> None:
    world = make_world(PepRules(qa_amber_blocks_approval=True))
    assert world.qa.policy.amber_blocks_approval
    pep_id = await started(world)
    with pytest.raises(QaInvalid, match="Amber"):
        await world.qa.decide(
            pep_id,
            actor(COORDINATOR),
            confirmed({"voice": "amber", "send": "gold"}),
            QaDecision.APPROVE,
        )


async def test_a_configured_scale_is_used_throughout() -> None:
    world = make_world(PepRules(qa_grades=("green", "amber", "red")))
    assert world.qa.policy == QaPolicy.from_rules(PepRules(qa_grades=("green", "amber", "red")))
    pep_id = await started(world)
    with pytest.raises(QaInvalid, match="not a grade"):
        await world.qa.decide(
            pep_id, actor(COORDINATOR), confirmed({"voice": "gold"}), QaDecision.APPROVE
        )
    outcome = await world.qa.decide(
        pep_id, actor(COORDINATOR), confirmed({"voice": "green"}), QaDecision.APPROVE
    )
    assert outcome.round.overall == "green"


async def test_a_stale_card_cannot_decide_a_second_time(world: World) -> None:
    pep_id = await started(world)
    grades = {"voice": "amber", "targets": "amber"}
    first = await world.qa.decide(
        pep_id, actor(COORDINATOR), grades, QaDecision.RETURN, feedback="Amend", expected_round=1
    )
    # the same card pressed again: round 1 is recorded, nothing more
    with pytest.raises(QaAlreadyDecided) as twice:
        await world.qa.decide(
            pep_id,
            actor(COORDINATOR),
            grades,
            QaDecision.RETURN,
            feedback="Amend",
            expected_round=1,
        )
    assert twice.value.decided == first.round
    await world.qa.resubmit(pep_id, actor(DT))
    await world.qa.start(pep_id)
    with pytest.raises(QaAlreadyDecided) as stale:
        await world.qa.decide(
            pep_id,
            actor(AUTHORITY_COORDINATOR),
            confirmed({"voice": "green"}),
            QaDecision.APPROVE,
            expected_round=1,
        )
    assert stale.value.review.open and stale.value.review.next_round == 2
    assert len(await world.factory.qa.rounds(pep_id)) == 1
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA


async def test_two_coordinators_at_once_record_one_round(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second read 'no rounds yet' before the first committed: the store's unique
    (pep, round) key refuses it and nothing of theirs is kept."""
    pep_id = await started(world)
    await world.qa.decide(
        pep_id, actor(COORDINATOR), confirmed({"voice": "green"}), QaDecision.APPROVE
    )
    pep = world.factory.stored_pep(pep_id)
    world.factory.state.peps[pep_id] = replace(pep, status=PepStatus.IN_QA)

    async def no_rounds_yet(self: InMemoryQaRepository, pep: str) -> list[QaRound]:
        return []

    monkeypatch.setattr(InMemoryQaRepository, "rounds", no_rounds_yet)
    with pytest.raises(QaInvalid, match="decided this PEP meanwhile"):
        await world.qa.decide(
            pep_id, actor(AUTHORITY_COORDINATOR), confirmed({"voice": "gold"}), QaDecision.APPROVE
        )
    monkeypatch.undo()
    rounds = await world.factory.qa.rounds(pep_id)
    assert [r.coordinator_id for r in rounds] == [COORDINATOR.id]
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA  # rolled back


# ---- who may ----------------------------------------------------------------------


@pytest.mark.parametrize("who", [OTHER_COORDINATOR, DT, SW, ADVISOR, VSH, STRANGER])
async def test_only_a_coordinator_for_the_childs_school_grades(world: World, who: Person) -> None:
    pep_id = await started(world)
    with pytest.raises(NotAllowed):
        await world.qa.review(pep_id, actor(who))
    with pytest.raises(NotAllowed):
        await world.qa.decide(pep_id, actor(who), confirmed({"voice": "gold"}), QaDecision.APPROVE)
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA


async def test_an_authority_wide_coordinator_may_grade_any_school(world: World) -> None:
    pep_id = await started(world, "LCS100002")
    outcome = await world.qa.decide(
        pep_id, actor(AUTHORITY_COORDINATOR), confirmed({"voice": "green"}), QaDecision.APPROVE
    )
    assert outcome.round.coordinator_id == AUTHORITY_COORDINATOR.id
    assert [p.id for p in outcome.leads] == [OTHER_DT.id]


async def test_the_queue_lists_only_the_coordinators_schools(world: World) -> None:
    mine = await started(world, "LCS100001")
    theirs = await started(world, "LCS100002")
    assert [i.pep_id for i in await world.qa.queue(actor(COORDINATOR))] == [mine]
    assert [i.pep_id for i in await world.qa.queue(actor(OTHER_COORDINATOR))] == [theirs]
    assert [i.pep_id for i in await world.qa.queue(actor(AUTHORITY_COORDINATOR))] == [mine, theirs]
    assert await world.qa.queue(actor(DT)) == []


async def test_only_the_school_resubmits_and_only_after_a_return(world: World) -> None:
    pep_id = await started(world)
    with pytest.raises(NotAllowed, match="only a PEP returned"):
        await world.qa.resubmit(pep_id, actor(DT))
    await world.qa.decide(
        pep_id,
        actor(COORDINATOR),
        {"voice": "amber", "send": "amber"},
        QaDecision.RETURN,
        feedback="Amend",
    )
    for outsider in (OTHER_DT, COORDINATOR, STRANGER):
        with pytest.raises(NotAllowed):
            await world.qa.resubmit(pep_id, actor(outsider))
        with pytest.raises(NotAllowed):
            await world.qa.feedback(pep_id, actor(outsider))


# ---- check my pep -------------------------------------------------------------------


async def test_check_my_pep_on_a_draft(world: World) -> None:
    pep = await world.peps.open_pep("LCS100001", "2026-autumn")
    pre = await world.qa.check(pep.id, actor(DT))
    assert pre.meeting_pending
    unmet = {r.key for r in pre.unmet}
    assert {"child_voice", "smart_targets", "attendees_recorded"} <= unmet
    assert pre.suggested["voice"] == "red" and pre.suggested_overall == "red"
    assert world.factory.stored_pep(pep.id).status is PepStatus.DRAFT  # nothing recorded
    assert not world.factory.state.qa_rounds


@pytest.mark.parametrize("who", [OTHER_DT, COORDINATOR, ADVISOR, STRANGER])
async def test_check_my_pep_is_for_the_childs_school_only(world: World, who: Person) -> None:
    pep = await world.peps.open_pep("LCS100001", "2026-autumn")
    with pytest.raises(NotAllowed):
        await world.qa.check(pep.id, actor(who))


def test_the_policy_comes_from_the_authoritys_rules() -> None:
    assert QaPolicy.from_rules(PepRules()) == QaPolicy()
    rag = QaPolicy.from_rules(
        PepRules(
            qa_grades=("Green", "amber", "red"), qa_amber_blocks_approval=True, qa_voice_min_words=5
        )
    )
    assert rag == QaPolicy(RAG_SCALE, amber_blocks_approval=True, voice_min_words=5)
    with pytest.raises(ValueError, match="three or more"):
        QaPolicy.from_rules(PepRules(qa_grades=("pass", "fail")))
