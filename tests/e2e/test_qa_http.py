"""After the meeting, over signed HTTP as Teams drives it: the returned PEP goes to the
coordinator and the link advisor, QA returns it and the school resubmits, PP+ is decided,
the Virtual School Head sees the overview and exports the payment schedule — and each
role boundary holds.

bot/routing.py does not know these routes yet: the `wired` fixture adds them exactly as
the wiring lines in docs/qa-and-pp-workflow.md do (verbs, commands, file consent)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from bot.qa_routes import QaRoutes
from bot.server import DELIVERY, ROUTER
from bot.turn import Turn
from cards.pupil_premium import PP_APPROVE_AMOUNT, PP_EXPORT
from cards.quality import (
    FEEDBACK,
    QA_ACCEPT_ALL,
    QA_APPROVE,
    QA_OPEN,
    QA_RESUBMIT,
    QA_RETURN,
)
from pep_model.access import SYSTEM, Actor
from pep_model.people import Person
from pep_model.pep import pep_id_for
from pep_model.workflow import PepStatus
from tests.e2e.conftest import HARRIET, MARCUS, BotEnv
from tests.support.teams import BOT_ID, TENANT, actions, card_text, submit
from tests.unit.builders import complete_raw, meeting_raw

PEP_ID = pep_id_for("LCS100001", "2026-autumn")
LUCY = ("29:lucy", "aad-lucy")  # PEP coordinator for 999101
TARIQ = ("29:tariq", "aad-tariq")  # PEP coordinator for 999104 (another area)
GWEN = ("29:gwen", "aad-gwen")  # link education advisor for 999101
SIMON = ("29:simon", "aad-simon")  # education advisor for other schools
IMOGEN = ("29:imogen", "aad-imogen")  # Virtual School Head
STAFF = {
    LUCY: "lucy.harrowby@northvale.example",
    TARIQ: "tariq.benhamou@northvale.example",
    GWEN: "gwen.talbot-price@northvale.example",
    SIMON: "simon.edevane@northvale.example",
    IMOGEN: "imogen.stallard@northvale.example",
}
CONSENT = "application/vnd.microsoft.teams.card.file.consent"


def personal(who: tuple[str, str]) -> str:
    """The personal chat the stub connector creates for an Entra object id."""
    return f"a:personal-{who[1]}"


@pytest.fixture
async def wired(bot_env: BotEnv) -> QaRoutes:
    routes = bot_env.server.app[ROUTER].qa  # wired by bot.server.build_router
    assert routes is not None
    async with bot_env.container.uow() as uow:  # staff known to Teams (as after sign-in)
        for (_, aad), email in STAFF.items():
            found = await uow.people.get(email)
            assert found is not None
            await uow.people.upsert(replace(found, entra_object_id=aad))
        await uow.commit()
    return routes


async def deliver(env: BotEnv, messages: list[Any]) -> None:
    """What the return use case's turn does with on_pep_returned's messages."""
    turn = Turn(type="event", service_url=env.service_url, bot_id=BOT_ID, tenant_id=TENANT)
    for message in messages:
        await env.server.app[DELIVERY].send(turn, message)


async def returned(env: BotEnv) -> None:
    """Harriet's PEP for LCS100001, completed, met and returned (setup, not under test)."""
    c = env.container
    async with c.uow() as uow:
        harriet: Person | None = await uow.people.find(entra_object_id=HARRIET[1])
        assert harriet is not None
        assignments = tuple(await uow.people.assignments(harriet.id))
    lead = Actor(harriet, assignments)

    async def fill(raw: dict[str, dict[str, Any]]) -> None:
        for key, values in raw.items():
            pep = (await c.service.get(PEP_ID, lead)).pep
            outcome = await c.service.record_section(PEP_ID, key, values, lead, pep.version)
            assert outcome.saved, outcome.errors

    await c.service.open_pep("LCS100001", "2026-autumn")
    await fill(complete_raw())
    await c.service.start_meeting(PEP_ID, lead)
    await fill(meeting_raw())
    _, problems = await c.service.finish_meeting(PEP_ID, lead)
    assert not problems
    async with c.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
        assert pep is not None
        version = pep.version
        pep.status = PepStatus.RETURNED
        await uow.peps.save(pep, version)
        await uow.commit()


def card_of(body: Mapping[str, Any]) -> dict[str, Any]:
    assert body["statusCode"] == 200, body
    assert body["type"] == "application/vnd.microsoft.card.adaptive", body
    return dict(body["value"])


def value(verb: str, **data: Any) -> dict[str, Any]:
    return {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}


async def press(
    env: BotEnv,
    who: tuple[str, str],
    card: dict[str, Any],
    verb: str,
    typed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return card_of(
        await env.invoke(
            who, personal(who), submit(card, verb, typed), conversation_type="personal"
        )
    )


async def test_qa_and_pp_after_the_meeting(bot_env: BotEnv, wired: QaRoutes) -> None:
    env = bot_env
    await returned(env)
    await deliver(env, await wired.on_pep_returned(PEP_ID, returned_by="harriet"))
    [qa] = env.connector.cards(personal(LUCY))
    [pp] = env.connector.cards(personal(GWEN))
    assert not env.connector.cards(personal(TARIQ)) and not env.connector.cards(personal(SIMON))
    assert "Fenwick" not in str(qa) and "AF" in card_text(qa)

    # another area's coordinator, the school and a stranger cannot open or decide it
    for who in (TARIQ, HARRIET, MARCUS):
        refused = card_of(
            await env.invoke(
                who, personal(who), value(QA_OPEN, pep_id=PEP_ID), conversation_type="personal"
            )
        )
        assert "Not available" in card_text(refused)
        refused = card_of(
            await env.invoke(
                who, personal(who), submit(qa, QA_APPROVE), conversation_type="personal"
            )
        )
        assert "Not available" in card_text(refused)

    # QA returns it with feedback; Harriet is told and sends it back; QA approves
    answer = await press(
        env,
        LUCY,
        qa,
        QA_RETURN,
        {FEEDBACK: "Add the child's own words.", "g.voice": "amber", "g.carer": "amber"},
    )
    assert "Returned for amendment" in card_text(answer)
    amendment = env.connector.cards(personal(HARRIET))[-1]
    assert "Add the child's own words." in card_text(amendment)
    await press(env, HARRIET, amendment, QA_RESUBMIT)
    again = env.connector.cards(personal(LUCY))[-1]
    assert "Round 1" in card_text(again)
    accepted = await press(env, LUCY, again, QA_ACCEPT_ALL)  # every grade confirmed
    approved = await press(env, LUCY, accepted, QA_APPROVE)
    assert "Approved: the PEP is finalised" in card_text(approved)
    assert "approved and finalised" in card_text(env.connector.cards(personal(HARRIET))[-1])

    # PP+: only the link advisor decides; the school hears the outcome
    for who in (SIMON, LUCY, HARRIET):
        refused = card_of(
            await env.invoke(
                who, personal(who), submit(pp, PP_APPROVE_AMOUNT), conversation_type="personal"
            )
        )
        assert "Not available" in card_text(refused)
    decided = await press(
        env,
        GWEN,
        pp,
        PP_APPROVE_AMOUNT,
        {"pp.amount": "275", "pp.reason": "The tutor's rate is lower"},
    )
    assert "Approved £275.00 of the £300.00 requested" in card_text(decided)
    assert "The tutor's rate is lower" in card_text(env.connector.cards(personal(HARRIET))[-1])

    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
        assert pep is not None and pep.status is PepStatus.FINALISED
        assert [r.number for r in await uow.qa.rounds(PEP_ID)] == [1, 2]


async def test_the_head_sees_the_overview_and_exports_the_schedule(
    bot_env: BotEnv, wired: QaRoutes
) -> None:
    env = bot_env
    await returned(env)
    await deliver(env, await wired.on_pep_returned(PEP_ID))
    [pp] = env.connector.cards(personal(GWEN))
    await press(env, GWEN, pp, PP_APPROVE_AMOUNT, {"pp.amount": "300"})
    # overview: the head, not the school
    await env.send(IMOGEN, personal(IMOGEN), text="overview")
    overview = env.connector.cards(personal(IMOGEN))[-1]
    assert "Overview — Autumn term 2026" in card_text(overview)
    await env.send(HARRIET, personal(HARRIET), text="overview")
    assert "'overview' is for the Virtual School" in card_text(
        env.connector.cards(personal(HARRIET))[-1]
    )
    # the payment schedule, exported and frozen, offered as files
    await env.send(IMOGEN, personal(IMOGEN), text="pp+ schedule")
    schedule = env.connector.cards(personal(IMOGEN))[-1]
    assert actions(schedule, PP_EXPORT)
    exported = await press(env, IMOGEN, schedule, PP_EXPORT)
    assert "Exported and frozen" in card_text(exported)
    offers = [a for conv, a in env.connector.attachments(CONSENT) if conv == personal(IMOGEN)]
    assert [o["name"].rsplit(".", 1)[-1] for o in offers] == ["csv", "docx"]
    offer = offers[0]
    consent = {
        "type": "fileUpload",
        "action": "accept",
        "context": offer["content"]["acceptContext"],
        "uploadInfo": {
            "name": offer["name"],
            "uploadUrl": f"{env.service_url}/upload/{offer['name']}",
            "contentUrl": "https://contoso.invalid/s.csv",
            "uniqueId": "1",
            "fileType": "csv",
        },
    }
    await env.send(
        IMOGEN, personal(IMOGEN), type="invoke", name="fileConsent/invoke", value=consent
    )
    rows = list(csv.DictReader(io.StringIO(env.connector.uploads[offer["name"]].decode())))
    held = [(r["lcs_id"], r["amount_gbp"]) for r in rows if r["row_type"] == "held"]
    assert held == [("LCS100001", "300.00")]  # the PEP is not finalised yet
    # the frozen schedule does not change: the export again offers the same bytes
    frozen = (await wired.pupil_premium.pp.export("2026-autumn", SYSTEM)).frozen
    assert frozen.csv.encode() == env.connector.uploads[offer["name"]]
    # someone else accepting the offer gets nothing
    await env.send(
        GWEN,
        personal(GWEN),
        type="invoke",
        name="fileConsent/invoke",
        value={
            **consent,
            "uploadInfo": {**consent["uploadInfo"], "uploadUrl": f"{env.service_url}/upload/x"},
        },
    )
    assert "x" not in env.connector.uploads
