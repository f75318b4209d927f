"""Before the meeting, in personal chat: my PEPs, completing a section, and sending the
completed Word form back to the bot."""

from __future__ import annotations

import io
from typing import Any

import docx as python_docx

from bot.paperwork import form_data
from forms.new_term import render_new_term_form
from pep_model.pep import pep_id_for
from tests.e2e.conftest import HARRIET, MARCUS, STRANGER, BotEnv
from tests.support.docx_fill import FormEditor
from tests.support.teams import card_text, submit

PERSONAL = "a:personal-harriet"
PEP_ID = pep_id_for("LCS100001", "2026-autumn")


def last_card(env: BotEnv, conversation: str) -> dict[str, Any]:
    cards = env.connector.cards(conversation)
    assert cards, "the bot posted nothing"
    return cards[-1]


async def test_my_peps_lists_only_my_schools_children(bot_env: BotEnv) -> None:
    await bot_env.send(HARRIET, PERSONAL, text="my peps")
    text = card_text(last_card(bot_env, PERSONAL))
    assert "LCS100001" in text and "LCS100002" in text
    assert "LCS100010" not in text  # another school's child (examples/roster.csv)
    await bot_env.send(STRANGER, "a:personal-stranger", text="my peps")
    refusal = card_text(last_card(bot_env, "a:personal-stranger"))
    assert "can't find you" in refusal and "LCS1000" not in refusal


async def test_complete_a_section_and_move_on(bot_env: BotEnv) -> None:
    env = bot_env
    await env.send(HARRIET, PERSONAL, text="open LCS100001")
    card = last_card(env, PERSONAL)
    card = (
        await env.invoke(
            HARRIET,
            PERSONAL,
            submit(card, "pep.section.open", {"section": "attendance"}),
            conversation_type="personal",
        )
    )["value"]
    refused = (
        await env.invoke(
            HARRIET,
            PERSONAL,
            submit(
                card,
                "pep.section.save",
                {
                    "f.possible_sessions": "120",
                    "f.attended_sessions": "108",
                    "f.unauthorised_sessions": "0",
                    "f.explanation": "",
                },
            ),
            conversation_type="personal",
        )
    )["value"]
    assert "explain this: attendance is 90.0%, below 95%" in card_text(refused)
    moved = (
        await env.invoke(
            HARRIET,
            PERSONAL,
            submit(
                refused,
                "pep.section.open",
                {"f.explanation": "Hospital appointments, now finished"},
            ),
            conversation_type="personal",
        )
    )["value"]
    assert "Exclusions" in card_text(moved)
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
    assert pep.sections["attendance"]["explanation"] == "Hospital appointments, now finished"


async def _filled_form(env: BotEnv) -> bytes:
    c = env.container
    pep = await c.service.open_pep("LCS100001", "2026-autumn")
    async with c.uow() as uow:
        data = await form_data(uow, c.service, pep, c.settings.authority_name)
    form = FormEditor(render_new_term_form(data))
    form.fill_text("f:voice.views", "I like the sand pit and story time")
    form.fill_text("f:carer.views", "Ada is happy going to nursery")
    form.fill_text("f:attendance.possible_sessions", "60")
    form.fill_text("f:attendance.attended_sessions", "59")
    form.fill_text("f:attendance.unauthorised_sessions", "0")
    form.fill_text("f:attendance.explanation", "One day unwell")
    form.fill_text("f:attendance.explanation", "One day unwell")
    form.fill_text("r:targets.1.description", "Use two-word phrases at snack time")
    form.fill_text("r:targets.1.owner", "Key person")
    form.set_date("r:targets.1.due", "2027-02-12")
    form.fill_text("r:targets.1.measure", "Observed in 4 of 5 sessions")
    form.fill_text("r:targets.2.owner", "Key person")  # half a target: must be reported
    return form.save()


async def test_completed_word_form_is_read_in(bot_env: BotEnv) -> None:
    env = bot_env
    upload = env.connector.file_attachment("PEP-LCS100001.docx", await _filled_form(env))
    await env.send(HARRIET, PERSONAL, attachments=[upload])
    result = card_text(last_card(env, PERSONAL))
    assert "LCS100001" in result
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
    assert pep.sections["voice"]["views"] == "I like the sand pit and story time"
    assert pep.sections["carer"]["views"] == "Ada is happy going to nursery"
    assert pep.sections["attendance"]["attended_sessions"] == 59
    # the half target is kept as typed; the readiness check asks for the rest of it
    assert [r["owner"] for r in pep.sections["targets"]["rows"]] == ["Key person"] * 2
    async with env.container.uow() as uow:
        child = await uow.children.get("LCS100001")
    assert child is not None
    problems = env.container.service.view(pep, child).problems
    assert ("targets", "description", 1) in [(p.section, p.field, p.row) for p in problems]


async def test_uploads_that_are_not_pep_forms(bot_env: BotEnv) -> None:
    env = bot_env
    note = env.connector.file_attachment("notes.txt", b"hello")
    await env.send(HARRIET, PERSONAL, attachments=[note])
    assert "not a .docx" in card_text(last_card(env, PERSONAL))
    other = io.BytesIO()
    python_docx.Document().save(other)
    letter = env.connector.file_attachment("letter.docx", other.getvalue())
    await env.send(HARRIET, PERSONAL, attachments=[letter])
    assert "Not a PEP form" in card_text(last_card(env, PERSONAL))


async def test_someone_elses_childs_form_is_refused(bot_env: BotEnv) -> None:
    env = bot_env
    upload = env.connector.file_attachment("PEP-LCS100001.docx", await _filled_form(env))
    await env.send(MARCUS, "a:personal-marcus", attachments=[upload])
    assert "access" in card_text(last_card(env, "a:personal-marcus")).lower()
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
    assert "voice" not in pep.sections
