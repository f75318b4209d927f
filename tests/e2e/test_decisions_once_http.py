"""Decisions are made once, through the real HTTP stack: a PP+ decision card pressed twice
(or an older card pressed after the decision) records one decision and tells the school
once; QA approval needs a grade the coordinator confirmed for every section."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from bot.qa_routes import QaRoutes
from bot.server import ROUTER
from cards.pupil_premium import PP_APPROVE, PP_APPROVE_AMOUNT
from cards.quality import QA_ACCEPT_ALL, QA_APPROVE
from pep_model.sections import SECTION_KEYS
from pep_model.workflow import PepStatus
from tests.e2e.conftest import HARRIET, BotEnv
from tests.e2e.test_qa_http import (
    GWEN,
    LUCY,
    PEP_ID,
    STAFF,
    deliver,
    personal,
    press,
    returned,
)
from tests.support.teams import actions, card_text, inputs


@pytest.fixture
async def routes(bot_env: BotEnv) -> QaRoutes:
    qa = bot_env.server.app[ROUTER].qa
    assert qa is not None
    async with bot_env.container.uow() as uow:  # staff known to Teams (as after sign-in)
        for (_, aad), email in STAFF.items():
            found = await uow.people.get(email)
            assert found is not None
            await uow.people.upsert(replace(found, entra_object_id=aad))
        await uow.commit()
    return qa


def told(env: BotEnv) -> list[dict[str, Any]]:
    """What the school (Harriet, the designated teacher) was sent about PP+."""
    return [
        c for c in env.connector.cards(personal(HARRIET)) if "Pupil Premium Plus:" in card_text(c)
    ]


async def pp_rows(env: BotEnv) -> list[Any]:
    async with env.container.uow() as uow:
        return await uow.pupil_premium.for_pep(PEP_ID)


async def test_a_double_and_a_stale_pp_decision_decide_once_and_tell_once(
    bot_env: BotEnv, routes: QaRoutes
) -> None:
    env = bot_env
    await returned(env)
    await deliver(env, await routes.on_pep_returned(PEP_ID, returned_by="harriet"))
    [card] = env.connector.cards(personal(GWEN))
    assert actions(card, PP_APPROVE)[0]["data"]["version"] == 1

    # a double click: two presses of the same button at once
    first, second = await asyncio.gather(
        press(env, GWEN, card, PP_APPROVE), press(env, GWEN, card, PP_APPROVE)
    )
    texts = sorted([card_text(first), card_text(second)])
    assert any("Approved £300.00" in t and "The school has been told" in t for t in texts)
    assert any("You chose the same again" in t for t in texts), texts
    assert len(told(env)) == 1, "the school is told once"
    [row] = await pp_rows(env)
    assert (row.decision.approved_pence, row.version) == (30_000, 2)

    # the old card, pressed later with another amount: nothing changes, it says why
    stale = await press(
        env, GWEN, card, PP_APPROVE_AMOUNT, {"pp.amount": "250", "pp.reason": "Cheaper tutor"}
    )
    text = card_text(stale)
    assert "Already decided by you at" in text and "(Approved £300.00)" in text
    assert "Change it?" in text
    assert "Cheaper tutor" in str(inputs(stale))  # what was typed is kept
    [row] = await pp_rows(env)
    assert row.decision.approved_pence == 30_000 and len(told(env)) == 1
    # the answer's buttons carry the current version: pressing one changes it deliberately
    assert actions(stale, PP_APPROVE_AMOUNT)[0]["data"]["version"] == 2
    changed = await press(env, GWEN, stale, PP_APPROVE_AMOUNT)
    assert "Approved £250.00 of the £300.00 requested" in card_text(changed)
    [row] = await pp_rows(env)
    assert (row.decision.approved_pence, row.version) == (25_000, 3)
    assert len(told(env)) == 2 and "£250.00" in card_text(told(env)[-1])
    async with env.container.uow() as uow:
        decided = [e for e in await uow.audit.for_pep(PEP_ID) if e.action == "pp.decide"]
    assert len(decided) == 2  # £300, then the deliberate change to £250


async def test_qa_approval_needs_every_grade_confirmed(bot_env: BotEnv, routes: QaRoutes) -> None:
    env = bot_env
    await returned(env)
    await deliver(env, await routes.on_pep_returned(PEP_ID, returned_by="harriet"))
    [qa] = env.connector.cards(personal(LUCY))
    before = len(env.connector.cards(personal(HARRIET)))
    assert "15 of 15 sections have no grade you confirmed" in card_text(qa)

    # approving with the suggestions only shown, and 6 sections never chosen: refused
    chosen = {f"g.{k}": "green" for k in SECTION_KEYS[:9]}
    refused = await press(env, LUCY, qa, QA_APPROVE, chosen)
    text = card_text(refused)
    assert "6 of 15 sections have no grade you confirmed: Transition plan" in text
    assert "Next PEP meeting" in text
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
        assert pep is not None and pep.status is PepStatus.IN_QA
        assert await uow.qa.rounds(PEP_ID) == []
    assert len(env.connector.cards(personal(HARRIET))) == before

    # one deliberate click accepts the suggestions for the other six, audited
    accepted = await press(env, LUCY, refused, QA_ACCEPT_ALL)
    assert "Suggestions accepted for 6 sections" in card_text(accepted)
    assert "Every section has a grade you confirmed" in card_text(accepted)
    assert inputs(accepted)["g.voice"] == "green"  # the choices made stay
    async with env.container.uow() as uow:
        audit = [e for e in await uow.audit.for_pep(PEP_ID) if e.action == "qa.accept_suggestions"]
    assert len(audit) == 1 and audit[0].after is not None
    assert audit[0].after["sections"] == list(SECTION_KEYS[9:])

    approved = await press(env, LUCY, accepted, QA_APPROVE)
    assert "Approved: the PEP is finalised" in card_text(approved)
    assert len(env.connector.cards(personal(HARRIET))) == before + 1
    # pressed again: decided once, the school is not told twice
    again = await press(env, LUCY, accepted, QA_APPROVE)
    assert "Already decided by you at" in card_text(again)
    assert len(env.connector.cards(personal(HARRIET))) == before + 1
    async with env.container.uow() as uow:
        assert [r.number for r in await uow.qa.rounds(PEP_ID)] == [1]
