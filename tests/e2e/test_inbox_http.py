"""A PEP form e-mailed back to the inbox folder is in the PEP a person opens in Teams
(through the real HTTP stack), and a form e-mailed by someone not on record is not."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from pathlib import Path

from bot.inbox import import_inbox
from bot.paperwork import form_data
from forms.new_term import render_new_term_form
from tests.e2e.conftest import HARRIET, BotEnv
from tests.support.docx_fill import FormEditor
from tests.support.teams import card_text, submit

PERSONAL = "a:personal-harriet"
CHILD = "LCS100001"
HARRIET_EMAIL = "h.pemberton@littleacorns.sch.example"
SENDER = "business.support@northvale.example"


async def _emailed_form(env: BotEnv, folder: Path, sender: str, name: str) -> None:
    c = env.container
    pep = await c.service.open_pep(CHILD, "2026-autumn")
    async with c.uow() as uow:
        data = await form_data(uow, c.service, pep, c.settings.authority_name)
    form = FormEditor(render_new_term_form(data))
    form.fill_text("f:voice.views", "I want to learn to swim")
    message = EmailMessage()
    message["From"], message["Subject"] = sender, "PEP form"
    message["Message-ID"] = f"<{name}@school.example>"
    message.set_content("Attached.")
    message.add_attachment(
        form.save(),
        maintype="application",
        subtype=("vnd.openxmlformats-officedocument.wordprocessingml.document"),
        filename="PEP-LCS100001.docx",
    )
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.eml").write_bytes(message.as_bytes(policy=policy.default))


async def _voice_in_teams(env: BotEnv) -> str:
    await env.send(HARRIET, PERSONAL, text=f"open {CHILD}")
    card = env.connector.cards(PERSONAL)[-1]
    opened = await env.invoke(
        HARRIET,
        PERSONAL,
        submit(card, "pep.section.open", {"section": "voice"}),
        conversation_type="personal",
    )
    return card_text(opened["value"])


async def test_an_emailed_form_is_in_the_pep_opened_in_teams(
    bot_env: BotEnv, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    await _emailed_form(bot_env, folder, "someone@elsewhere.example", "stranger")
    report = await import_inbox(bot_env.container, folder, sender=SENDER)
    assert report.summary().endswith("0 form(s) saved")
    assert "I want to learn to swim" not in await _voice_in_teams(bot_env)

    await _emailed_form(bot_env, folder, HARRIET_EMAIL, "school")
    report = await import_inbox(bot_env.container, folder, sender=SENDER)
    assert report.summary().endswith("1 form(s) saved")
    assert (folder / "done" / "school.eml").exists()
    assert (folder / "refused" / "stranger.eml").exists()
    assert "I want to learn to swim" in await _voice_in_teams(bot_env)
    async with bot_env.container.uow() as uow:
        replies = await uow.outbox.find(key_prefix="inbox-reply:")
    assert sorted(r.payload["to"][0] for r in replies) == [
        HARRIET_EMAIL,
        "someone@elsewhere.example",
    ]
