"""A Word PEP form uploaded in personal chat never destroys newer work (through the real
HTTP stack): answers typed in Teams since the form was made survive and the reply says
so; the meeting's record is untouched by the pre-meeting form; empty boxes ask before
clearing, and a stale 'Clear them' does nothing; a form for another term asks first."""

from __future__ import annotations

from typing import Any

from bot.paperwork import form_data
from forms.new_term import render_new_term_form
from pep_model.access import Actor
from pep_model.pep import Pep, pep_id_for
from pep_model.workflow import PepStatus
from tests.e2e.conftest import HARRIET, BotEnv
from tests.support.docx_fill import FormEditor
from tests.support.teams import card_text, submit
from tests.unit.builders import complete_raw, meeting_raw

PERSONAL = "a:personal-harriet"
CHILD = "LCS100001"
PEP_ID = pep_id_for(CHILD, "2026-autumn")
HARRIET_EMAIL = "h.pemberton@littleacorns.sch.example"


async def _form(env: BotEnv, term_id: str = "2026-autumn") -> FormEditor:
    """The form as `forms new-term` writes it now."""
    c = env.container
    pep = await c.service.open_pep(CHILD, term_id)
    async with c.uow() as uow:
        data = await form_data(uow, c.service, pep, c.settings.authority_name)
    return FormEditor(render_new_term_form(data))


async def _upload(
    env: BotEnv, form: FormEditor, name: str = "PEP-LCS100001.docx"
) -> dict[str, Any]:
    await env.send(
        HARRIET, PERSONAL, attachments=[env.connector.file_attachment(name, form.save())]
    )
    return env.connector.cards(PERSONAL)[-1]


async def _stored(env: BotEnv, pep_id: str = PEP_ID) -> Pep:
    async with env.container.uow() as uow:
        pep = await uow.peps.get(pep_id)
    assert pep is not None
    return pep


async def _harriet(env: BotEnv) -> Actor:
    async with env.container.uow() as uow:
        person = await uow.people.find(email=HARRIET_EMAIL)
        assert person is not None
        return Actor(person, tuple(await uow.people.assignments(person.id)))


async def _type_voice_in_teams(env: BotEnv, views: str, how: str = "") -> None:
    await env.send(HARRIET, PERSONAL, text=f"open {CHILD}")
    card = env.connector.cards(PERSONAL)[-1]
    card = (
        await env.invoke(
            HARRIET,
            PERSONAL,
            submit(card, "pep.section.open", {"section": "voice"}),
            conversation_type="personal",
        )
    )["value"]
    await env.invoke(
        HARRIET,
        PERSONAL,
        submit(card, "pep.section.save", {"f.views": views, "f.how_gathered": how}),
        conversation_type="personal",
    )


async def test_term_start_form_after_a_teams_edit_keeps_the_edit(bot_env: BotEnv) -> None:
    env = bot_env
    form = await _form(env)  # made at term start
    await _type_voice_in_teams(env, "I love the sand pit", "Chat at snack time")
    form.fill_text("f:carer.views", "Ada is happy going to nursery")
    reply = card_text(await _upload(env, form))
    pep = await _stored(env)
    assert pep.sections["voice"]["views"] == "I love the sand pit"
    assert pep.sections["carer"]["views"] == "Ada is happy going to nursery"
    assert "Autumn term 2026" in reply and "Carer" in reply
    assert "Kept the newer answers typed in Teams" in reply and "voice" in reply
    for title in ("Who attended", "Meeting summary", "Next PEP meeting"):
        assert title not in reply  # empty meeting boxes before the meeting: silent


async def test_the_same_section_changed_in_both_is_kept_and_shown_twice(bot_env: BotEnv) -> None:
    env = bot_env
    form = await _form(env)
    await _type_voice_in_teams(env, "I love the sand pit")
    form.fill_text("f:voice.views", "I like story time")
    reply = card_text(await _upload(env, form))
    assert (await _stored(env)).sections["voice"]["views"] == "I love the sand pit"
    assert "changed in Teams on 16/11 by Harriet Pemberton" in reply
    assert "I love the sand pit" in reply and "Your form says" in reply
    assert "I like story time" in reply


async def test_the_pre_meeting_form_after_the_meeting_leaves_the_record(bot_env: BotEnv) -> None:
    env = bot_env
    c = env.container
    form = await _form(env)  # made before the meeting; its meeting boxes are empty
    for key, values in complete_raw().items():
        form_raw = values  # the school completes the rest in Teams
        pep = await _stored(env)
        assert (
            await c.service.record_section(PEP_ID, key, form_raw, await _harriet(env), pep.version)
        ).saved
    harriet = await _harriet(env)
    await c.service.start_meeting(PEP_ID, harriet)
    meeting = dict(meeting_raw())
    meeting["next_pep"] = {"date": "12/01/2027", "reason": ""}
    for key, values in meeting.items():
        pep = await _stored(env)
        outcome = await c.service.record_section(PEP_ID, key, values, harriet, pep.version)
        assert outcome.saved, outcome.errors
    _, problems = await c.service.finish_meeting(PEP_ID, harriet)
    assert not problems
    before = await _stored(env)
    assert before.status is PepStatus.AWAITING_RETURN
    reply = card_text(await _upload(env, form))
    after = await _stored(env)
    assert after.sections == before.sections and after.version == before.version
    assert "Saved" not in reply and "clear" not in reply.lower()
    for title in ("Who attended", "Meeting summary", "Actions", "Next PEP meeting"):
        assert title not in reply  # nothing to say about empty meeting boxes


async def test_blank_boxes_ask_before_clearing_and_a_stale_confirm_does_nothing(
    bot_env: BotEnv,
) -> None:
    env = bot_env
    await _type_voice_in_teams(env, "I love the sand pit", "Chat at snack time")
    form = await _form(env)  # made now: carries both answers
    form.fill_text("f:voice.views", "I like story time")
    form.fill_text("f:voice.how_gathered", "")  # emptied in Word
    reply_card = await _upload(env, form)
    reply = card_text(reply_card)
    voice = (await _stored(env)).sections["voice"]
    assert voice == {"views": "I like story time", "how_gathered": "Chat at snack time"}
    assert "would clear 1 answer" in reply and "How their views were gathered" in reply
    # before the person answers, the section is changed again in Teams
    await _type_voice_in_teams(env, "I like story time", "Asked at home")
    stale = await env.invoke(
        HARRIET, PERSONAL, submit(reply_card, "pep.form.clear"), conversation_type="personal"
    )
    assert "nothing was cleared" in card_text(stale["value"])
    assert (await _stored(env)).sections["voice"]["how_gathered"] == "Asked at home"
    # a fresh answer clears exactly what it listed
    form = await _form(env)
    form.fill_text("f:voice.how_gathered", "")
    reply_card = await _upload(env, form)
    done = await env.invoke(
        HARRIET, PERSONAL, submit(reply_card, "pep.form.clear"), conversation_type="personal"
    )
    assert "Answers cleared" in card_text(done["value"])
    voice = (await _stored(env)).sections["voice"]
    assert voice == {"views": "I like story time", "how_gathered": None}


async def test_a_form_for_another_term_asks_before_saving(bot_env: BotEnv) -> None:
    env = bot_env
    form = await _form(env, "2027-spring")
    form.fill_text("f:voice.views", "I want to swim")
    reply_card = await _upload(env, form, "PEP-LCS100001-2027-spring.docx")
    reply = card_text(reply_card)
    spring = pep_id_for(CHILD, "2027-spring")
    assert "Spring term 2027" in reply and "Autumn term 2026" in reply
    assert "voice" not in (await _stored(env, spring)).sections
    saved = await env.invoke(
        HARRIET, PERSONAL, submit(reply_card, "pep.form.term"), conversation_type="personal"
    )
    assert "Saved into the Spring term 2027 PEP" in card_text(saved["value"])
    assert (await _stored(env, spring)).sections["voice"]["views"] == "I want to swim"


async def test_good_sections_saved_bad_ones_listed_outside_text_named(bot_env: BotEnv) -> None:
    env = bot_env
    form = await _form(env)
    form.fill_text("f:carer.views", "Ada is happy going to nursery")
    form.fill_text("f:attendance.possible_sessions", "lots")
    form.type_beside("f:voice.views", "She likes the sand pit")
    reply = card_text(await _upload(env, form))
    pep = await _stored(env)
    assert pep.sections["carer"]["views"] == "Ada is happy going to nursery"
    assert "attendance" not in pep.sections
    assert "Attendance, Possible sessions" in reply
    assert "Text typed outside the boxes was not read in: The child's voice" in reply


async def test_an_old_word_file_is_asked_for_as_docx(bot_env: BotEnv) -> None:
    env = bot_env
    await env.send(
        HARRIET,
        PERSONAL,
        attachments=[env.connector.file_attachment("PEP-LCS100001.doc", b"\xd0\xcf\x11\xe0")],
    )
    reply = card_text(env.connector.cards(PERSONAL)[-1])
    assert "Word Document (.docx), not Word 97-2003" in reply
