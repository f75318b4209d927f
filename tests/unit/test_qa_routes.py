"""bot/qa_routes.py on the fakes: what Teams would send in, what goes out to whom, and
every card checked against the Adaptive Card 1.5 schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot import commands
from bot.after_meeting import AfterMeeting, Reach
from bot.qa_routes import QaRoutes
from bot.turn import Outgoing, Reply, Turn, command_text
from cards import quality as qc
from cards.pupil_premium import PP_APPROVE, PP_APPROVE_AMOUNT, PP_DECLINE, PP_EXPORT, PP_OPEN
from pep_model.errors import NotAllowed
from pep_model.people import Person
from pep_model.workflow import PepStatus
from tests.support.card_check import schema_errors
from tests.support.teams import actions, card_text, inputs, submit
from tests.unit.qa_fixtures import (
    ADVISOR,
    COORDINATOR,
    DT,
    OTHER_DT,
    STRANGER,
    TERM,
    VSH,
    VSO,
    World,
    actor,
    make_world,
    met_pep,
    returned_pep,
)


class Uploads:
    def __init__(self) -> None:
        self.files: list[tuple[str, bytes]] = []

    async def __call__(self, url: str, content: bytes) -> None:
        self.files.append((url, content))


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def uploads() -> Uploads:
    return Uploads()


@pytest.fixture
def routes(world: World, uploads: Uploads) -> QaRoutes:
    reach = Reach(world.factory, world.clock, "bs@northvale.example", ("bs@northvale.example",))
    return QaRoutes(AfterMeeting(world.qa, world.pp, world.overview, reach=reach), uploads)


def turn(
    who: Person,
    *,
    personal: bool = True,
    kind: str = "invoke",
    value: Any = None,
    name: str = "adaptiveCard/action",
) -> Turn:
    return Turn(
        type=kind,
        name=name if kind == "invoke" else "",
        user_id=f"29:{who.email}",
        aad_object_id=who.entra_object_id or "",
        conversation_id="a:chat",
        conversation_type="personal" if personal else "groupChat",
        value=value,
    )


async def press(
    routes: QaRoutes,
    who: Person,
    card: dict[str, Any],
    verb: str,
    typed: dict[str, Any] | None = None,
    **kw: Any,
) -> Reply:
    value = submit(card, verb, typed, **kw)
    data = value["action"]["data"]
    reply = await routes.verbs()[verb](turn(who, value=value), actor(who), data)
    for c in cards_in(reply):
        assert schema_errors(c) == [], verb
    return reply


def ic(reply: Reply) -> dict[str, Any]:
    """The card answering the invoke."""
    assert reply.invoke_card is not None
    return reply.invoke_card


def cards_in(reply: Reply) -> list[dict[str, Any]]:
    out = [reply.invoke_card] if reply.invoke_card else []
    return out + [m.card for m in reply.messages if m.card]


def to(messages: list[Outgoing], who: Person) -> list[dict[str, Any]]:
    return [m.card for m in messages if m.to_user_id == who.entra_object_id and m.card]


# ---- a PEP is returned -----------------------------------------------------------------


async def test_a_returned_pep_sends_qa_and_pp_cards(world: World, routes: QaRoutes) -> None:
    pep_id = await returned_pep(world)
    out = await routes.on_pep_returned(pep_id, returned_by=DT.id)
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA
    [qa_card] = to(out, COORDINATOR)
    [pp_card] = to(out, ADVISOR)
    assert len(out) == 2
    for c in (qa_card, pp_card):
        assert schema_errors(c) == []
        assert "Fenwick" not in json.dumps(c)  # initials and LCS id only
    assert actions(qa_card, qc.QA_APPROVE) and actions(pp_card, PP_APPROVE)
    assert inputs(qa_card)["g.voice"] == ""  # suggested, not chosen: the coordinator does
    assert "Suggested from the record: Green" in card_text(qa_card)
    assert await routes.on_pep_returned(pep_id) == []  # nothing new the second time


# ---- quality assurance through the card ----------------------------------------------------


async def test_the_whole_qa_cycle_through_cards(world: World, routes: QaRoutes) -> None:
    pep_id = await returned_pep(world)
    [card] = to(await routes.on_pep_returned(pep_id), COORDINATOR)
    # change two grades and work out the overall grade
    worked = await press(
        routes, COORDINATOR, card, qc.QA_CALCULATE, {"g.voice": "amber", "g.targets": "amber"}
    )
    assert "Overall grade: Amber" in card_text(ic(worked))
    assert inputs(ic(worked))["g.voice"] == "amber"  # typing kept
    # return without feedback: refused beside the feedback box, grades kept
    refused = await press(routes, COORDINATOR, ic(worked), qc.QA_RETURN)
    assert "say what the school should amend" in card_text(ic(refused))
    assert inputs(ic(refused))["g.targets"] == "amber"
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA
    returned = await press(
        routes, COORDINATOR, ic(refused), qc.QA_RETURN, {qc.FEEDBACK: "Please add Ada's own words."}
    )
    assert "Returned for amendment" in card_text(ic(returned))
    [amend] = to(returned.messages, DT)
    assert "Please add Ada's own words." in card_text(amend)
    assert actions(amend, qc.SECTION_OPEN)
    # the school sends it back; it comes back to the coordinator
    back = await press(routes, DT, amend, qc.QA_RESUBMIT)
    [again] = to(back.messages, COORDINATOR)
    assert "Round 1" in card_text(again)
    # approving as suggested, with nothing confirmed, is refused and names the sections
    unconfirmed = await press(routes, COORDINATOR, again, qc.QA_APPROVE)
    assert "15 of 15 sections have no grade you confirmed" in card_text(ic(unconfirmed))
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA
    assert not unconfirmed.messages
    accepted = await press(routes, COORDINATOR, again, qc.QA_ACCEPT_ALL)
    assert "Suggestions accepted for 15 sections" in card_text(ic(accepted))
    assert inputs(ic(accepted))["g.voice"] == "green"
    assert world.factory.audit_entries(pep_id)[-1].action == "qa.accept_suggestions"
    approved = await press(routes, COORDINATOR, ic(accepted), qc.QA_APPROVE)
    assert "finalised" in card_text(ic(approved))
    [done] = to(approved.messages, DT)
    assert "approved and finalised" in card_text(done)
    assert world.factory.stored_pep(pep_id).status is PepStatus.FINALISED
    # the old card cannot decide again
    stale = await press(routes, COORDINATOR, ic(accepted), qc.QA_APPROVE)
    assert "Already decided by you at" in card_text(ic(stale))
    assert "round 2, approved and finalised" in card_text(ic(stale))
    assert not stale.messages  # the school is not told twice


async def test_an_override_without_a_reason_is_shown_beside_the_reason(
    world: World, routes: QaRoutes
) -> None:
    pep_id = await returned_pep(world)
    [card] = to(await routes.on_pep_returned(pep_id), COORDINATOR)
    accepted = await press(routes, COORDINATOR, card, qc.QA_ACCEPT_ALL)
    reply = await press(routes, COORDINATOR, ic(accepted), qc.QA_APPROVE, {qc.OVERRIDE: "gold"})
    text = card_text(ic(reply))
    assert "give a reason for grading Gold overall instead of Green" in text
    assert inputs(ic(reply))[qc.OVERRIDE] == "gold"
    assert world.factory.stored_pep(pep_id).status is PepStatus.IN_QA


async def test_another_coordinator_cannot_open_or_decide(world: World, routes: QaRoutes) -> None:
    pep_id = await returned_pep(world, "LCS100002")
    out = await routes.on_pep_returned(pep_id)
    assert to(out, COORDINATOR) == []  # not their school
    with pytest.raises(NotAllowed):
        await routes.qa_open(turn(COORDINATOR), actor(COORDINATOR), {"pep_id": pep_id})
    with pytest.raises(NotAllowed):
        await routes.qa_approve(
            turn(COORDINATOR), actor(COORDINATOR), {"pep_id": pep_id, "g.voice": "gold"}
        )


# ---- Pupil Premium Plus through the card -----------------------------------------------------


async def test_pp_decisions_through_cards(world: World, routes: QaRoutes) -> None:
    pep_id = await returned_pep(world)
    [card] = to(await routes.on_pep_returned(pep_id), ADVISOR)
    bad = await press(routes, ADVISOR, card, PP_APPROVE_AMOUNT, {"pp.amount": "lots"})
    assert "enter an amount in pounds" in card_text(ic(bad))
    assert inputs(ic(bad))["pp.amount"] == "lots"
    no_reason = await press(routes, ADVISOR, card, PP_DECLINE)
    assert "give a reason for declining" in card_text(ic(no_reason))
    less = await press(
        routes,
        ADVISOR,
        card,
        PP_APPROVE_AMOUNT,
        {"pp.amount": "£250", "pp.reason": "The tutor costs less"},
    )
    assert "Approved £250.00 of the £300.00 requested" in card_text(ic(less))
    [told] = to(less.messages, DT)
    assert "The tutor costs less" in card_text(told)
    reopened = await press(routes, ADVISOR, ic(less), PP_OPEN)
    assert inputs(ic(reopened))["pp.amount"] == "250.00"
    full = await press(routes, ADVISOR, ic(reopened), PP_APPROVE)
    assert "Approved £300.00" in card_text(ic(full))


async def test_an_advisor_for_another_school_cannot_decide(world: World, routes: QaRoutes) -> None:
    pep_id = await returned_pep(world, "LCS100002")
    await routes.on_pep_returned(pep_id)
    with pytest.raises(NotAllowed):
        await routes.pupil_premium.pp_approve(
            turn(ADVISOR), actor(ADVISOR), {"request_id": f"{pep_id}-pp1"}
        )


# ---- commands ------------------------------------------------------------------------------


async def command(routes: QaRoutes, who: Person, text: str, personal: bool = True) -> Reply | None:
    """The command as the Router runs it (where it may answer, whose it is)."""
    reply = await commands.dispatch(
        routes.commands(),
        turn(who, kind="message", personal=personal),
        actor(who),
        command_text(text),
    )
    for c in cards_in(reply) if reply else []:
        assert schema_errors(c) == [], text
    return reply


async def test_check_my_pep(world: World, routes: QaRoutes) -> None:
    await world.peps.open_pep("LCS100001", TERM)
    chooser = await command(routes, DT, "check my pep")
    assert chooser is not None
    assert "Which child's PEP" in card_text(chooser.messages[0].card or {})
    one = await command(routes, OTHER_DT, "<at>PEP Companion</at> Check my PEP")
    assert one is not None  # one child, no PEP opened yet
    assert "open LCS100002" in card_text(one.messages[0].card or {})
    direct = await command(routes, DT, "check my pep lcs100001")
    assert direct is not None and "Check my PEP" in card_text(direct.messages[0].card or {})
    with pytest.raises(NotAllowed):
        await command(routes, OTHER_DT, "check my pep LCS100001")


async def test_lists_for_coordinators_and_advisors(world: World, routes: QaRoutes) -> None:
    pep_id = await returned_pep(world)
    await routes.on_pep_returned(pep_id)
    qa = await command(routes, COORDINATOR, "qa")
    assert qa is not None and pep_id in card_text(qa.messages[0].card or {})
    pp = await command(routes, ADVISOR, "pp+")
    assert pp is not None and "1 request, £300.00" in card_text(pp.messages[0].card or {})
    not_theirs = await command(routes, DT, "pp+")  # told whose command it is
    assert not_theirs is not None and "'pp+' is for education advisors" in card_text(
        not_theirs.messages[0].card or {}
    )


async def test_overview_and_schedule_commands_and_their_boundaries(
    world: World, routes: QaRoutes
) -> None:
    await met_pep(world)
    overview = await command(routes, VSO, "overview")
    assert overview is not None and "Overview — Autumn term 2026" in card_text(
        overview.messages[0].card or {}
    )
    schedule = await command(routes, VSH, "pp+ schedule 2026-autumn")
    assert schedule is not None
    assert "Export for finance" in card_text(schedule.messages[0].card or {})
    officer = await command(routes, VSO, "payment schedule")
    assert officer is not None
    assert "Export for finance" not in card_text(officer.messages[0].card or {})
    for who in (DT, COORDINATOR, ADVISOR, STRANGER):
        refused = await command(routes, who, "overview")
        assert refused is not None and "'overview' is for the Virtual School" in card_text(
            refused.messages[0].card or {}
        )
    group = await command(routes, VSH, "overview", personal=False)
    assert group is not None and "personal chat" in card_text(group.messages[0].card or {})
    other = await command(routes, VSH, "my peps")  # not one of this room's commands
    assert other is not None and "didn't understand" in card_text(other.messages[0].card or {})


# ---- the schedule export and its files -----------------------------------------------------------


async def test_export_offers_the_files_and_accepting_uploads_the_frozen_bytes(
    world: World, routes: QaRoutes, uploads: Uploads
) -> None:
    pep_id = await returned_pep(world)
    [card] = to(await routes.on_pep_returned(pep_id), ADVISOR)
    await press(routes, ADVISOR, card, PP_APPROVE)
    schedule = await command(routes, VSH, "pp+ schedule")
    assert schedule is not None
    exported = await press(routes, VSH, schedule.messages[0].card or {}, PP_EXPORT)
    offers = [m.attachment for m in exported.messages if m.attachment]
    assert [o["name"] for o in offers] == [
        "pupil-premium-plus-schedule-2026-autumn.csv",
        "pupil-premium-plus-schedule-2026-autumn.docx",
    ]
    assert "Exported and frozen" in card_text(ic(exported) or {})
    frozen = world.factory.state.pp_schedules[TERM]
    for offer, expected in zip(offers, (frozen.csv.encode(), frozen.document), strict=True):
        context = offer["content"]["acceptContext"]
        value = {
            "action": "accept",
            "context": context,
            "uploadInfo": {
                "uploadUrl": "https://upload.example/x",
                "name": offer["name"],
                "contentUrl": "https://files.example/x",
                "uniqueId": "u1",
            },
        }
        reply = await routes.file_consent(
            turn(VSH, value=value, name="fileConsent/invoke"), actor(VSH)
        )
        assert reply is not None and reply.messages[0].attachment is not None
        assert uploads.files[-1] == ("https://upload.example/x", expected)
        with pytest.raises(NotAllowed):
            await routes.file_consent(turn(VSO, value=value, name="fileConsent/invoke"), actor(VSO))
    declined = await routes.file_consent(
        turn(VSH, value={"action": "decline", "context": offers[0]["content"]["acceptContext"]}),
        actor(VSH),
    )
    assert declined is not None and "haven't saved" in declined.messages[0].text
    assert (
        await routes.file_consent(turn(VSH, value={"context": {"pep_id": pep_id}}), actor(VSH))
        is None
    )  # someone else's file offer


async def test_the_overview_csv_is_offered_to_virtual_school_staff(
    world: World, routes: QaRoutes, uploads: Uploads
) -> None:
    reply = await routes.overviews.overview_export(turn(VSO), actor(VSO), {"term_id": TERM})
    [offer] = [m.attachment for m in reply.messages if m.attachment]
    value = {
        "action": "accept",
        "context": offer["content"]["acceptContext"],
        "uploadInfo": {"uploadUrl": "https://upload.example/o"},
    }
    await routes.file_consent(turn(VSO, value=value), actor(VSO))
    assert uploads.files[-1][1].startswith(b"term_id,item,lcs_id")
    with pytest.raises(NotAllowed):
        await routes.overviews.overview_export(turn(DT), actor(DT), {"term_id": TERM})


def test_settings_reach_the_rules() -> None:
    from bot.after_meeting import with_qa_settings
    from bot.settings import Settings
    from pep_model.rules import PepRules

    settings = Settings(
        _env_file=None,
        qa_grades=["Green", "Amber", "Red"],  # type: ignore[call-arg]
        qa_amber_blocks_approval=True,
        qa_voice_min_words=6,
        pupil_premium_needs_finalised_pep=False,
    )
    rules = with_qa_settings(PepRules(), settings)
    assert (
        rules.qa_grades,
        rules.qa_amber_blocks_approval,
        rules.qa_voice_min_words,
        rules.payment_needs_finalised_pep,
    ) == (("green", "amber", "red"), True, 6, False)
    with pytest.raises(ValueError, match="three or more"):
        with_qa_settings(
            PepRules(),
            Settings(
                _env_file=None,  # type: ignore[call-arg]
                qa_grades=["pass", "fail"],
            ),
        )
