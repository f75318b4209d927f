"""Returned means returned; finalised means on the record — over signed HTTP as Teams
drives it, with the offline outbox folder as Microsoft 365 (no PEP_MAIL_SENDER and no
PEP_BUSINESS_SUPPORT_EMAIL: the demo's settings).

- 'return pep' before the meeting has happened (or finished) says why, sends nothing;
- the returned PEP goes to the staff file's Business Support mailbox;
- Business Support sees 'overdue returns';
- QA's "Approve and finalise" sends the finalised record (QA grade, PP+ decisions, the
  version to file) to Business Support, the social worker and the designated teacher,
  once."""

from __future__ import annotations

import email
import io
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import docx

from bot.m365_runtime import OFFLINE_SENDER
from bot.qa_routes import QaRoutes
from cards.quality import GRADE_PREFIX, QA_APPROVE
from cards.scheduling import RETURN_SEND
from pep_model.pep import pep_id_for
from pep_model.returns import FINALISED_RECORD
from pep_model.workflow import PepStatus
from tests.e2e.conftest import HARRIET, RACHEL, TODAY, BotEnv
from tests.e2e.m365_app import runtime_of
from tests.e2e.test_qa_http import LUCY, deliver, returned, wired  # noqa: F401 (fixture)
from tests.support.teams import actions, card_text, submit

PEP = pep_id_for("LCS100001", "2026-autumn")
SUPPORT = ("29:business-support", "aad-business-support")
SUPPORT_MAILBOX = "business.support@northvale.example"  # examples/staff.csv
SOCIAL_WORKER = "rachel.donnelly@northvale.example"  # examples/roster.csv
TEACHER = "h.pemberton@littleacorns.sch.example"


def chat(who: tuple[str, str]) -> str:
    return f"a:personal-{who[0]}"


async def say(env: BotEnv, who: tuple[str, str], text: str) -> dict[str, Any]:
    await env.send(who, chat(who), text=text, conversation_type="personal")
    return env.connector.cards(chat(who))[-1]


async def press(env: BotEnv, who: tuple[str, str], value: dict[str, Any]) -> dict[str, Any]:
    body = await env.invoke(who, chat(who), value, conversation_type="personal")
    assert body["statusCode"] == 200, body
    return dict(body["value"])


def send_value(version: int) -> dict[str, Any]:
    """What Teams sends when 'Send to Business Support' is pressed on a card showing
    this version (e.g. one left in the chat from before)."""
    return {
        "action": {
            "type": "Action.Execute",
            "verb": RETURN_SEND,
            "data": {"pep_id": PEP, "version": version},
        },
        "trigger": "manual",
    }


def mails(env: BotEnv) -> list[EmailMessage]:
    folder = env.container.settings.outbox_dir / "mail"
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


async def set_status(
    env: BotEnv,
    status: PepStatus,
    *,
    held_days_ago: int | None = None,
    due_in_days: int | None = None,
) -> int:
    await env.container.service.open_pep("LCS100001", "2026-autumn")
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP)
        assert pep is not None
        version = pep.version
        pep.status = status
        pep.sections["next_pep"] = {"date": "2027-01-20", "reason": None}  # as Finish needs
        if held_days_ago is not None:
            pep.meeting_held_on = TODAY - timedelta(days=held_days_ago)
        if due_in_days is not None:
            pep.return_due = TODAY + timedelta(days=due_in_days)
        await uow.peps.save(pep, version)
        await uow.commit()
        return pep.version


async def status_of(env: BotEnv) -> PepStatus:
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP)
        assert pep is not None
        return pep.status


async def test_a_pep_whose_meeting_has_not_happened_cannot_be_returned(bot_env: BotEnv) -> None:
    env = bot_env
    await set_status(env, PepStatus.READY_FOR_MEETING)
    card = await say(env, HARRIET, "return pep LCS100001")
    text = card_text(card)
    assert "Not ready to return" in text and "has not happened yet" in text
    assert "'Ready for the meeting'" in text and "ready_for_meeting" not in text
    assert "Business Support has the final PEP" not in text
    assert not actions(card, RETURN_SEND)

    version = await set_status(env, PepStatus.IN_MEETING)
    card = await say(env, HARRIET, "return pep LCS100001")
    assert "has not been finished yet" in card_text(card)
    # a Send button from an older card: nothing is returned, nothing is mailed
    answer = await press(env, HARRIET, send_value(version))
    assert "has not been finished yet" in card_text(answer)
    assert "Sent to Business Support" not in card_text(answer)
    assert await status_of(env) is PepStatus.IN_MEETING
    await runtime_of(env.server.app).dispatcher.drain()
    assert mails(env) == []


async def test_the_returned_pep_goes_to_the_staff_files_business_support(bot_env: BotEnv) -> None:
    env = bot_env
    await set_status(env, PepStatus.AWAITING_RETURN, held_days_ago=1, due_in_days=4)
    card = await say(env, HARRIET, "return pep LCS100001")
    sent = await press(env, HARRIET, submit(card, RETURN_SEND))
    assert "Business Support" in card_text(sent)
    await runtime_of(env.server.app).dispatcher.drain()
    returned_mail = [m for m in mails(env) if str(m["Subject"]).startswith("Returned PEP")]
    assert len(returned_mail) == 1
    assert returned_mail[0]["To"] == SUPPORT_MAILBOX
    assert OFFLINE_SENDER not in str(returned_mail[0]["To"])


async def test_business_support_sees_overdue_returns(bot_env: BotEnv) -> None:
    env = bot_env
    env.connector.members[SUPPORT[0]] = {"id": SUPPORT[0], "email": SUPPORT_MAILBOX}
    await set_status(env, PepStatus.AWAITING_RETURN, held_days_ago=8, due_in_days=-3)
    card = await say(env, SUPPORT, "overdue returns")
    assert "LCS100001" in card_text(card)
    refused = await say(env, HARRIET, "overdue returns")
    assert "LCS100001" not in card_text(refused)
    assert "Business Support" in card_text(refused)


async def test_finalised_after_qa_the_record_to_file_goes_to_bs_sw_and_dt_once(
    bot_env: BotEnv,
    wired: QaRoutes,  # noqa: F811
) -> None:
    env = bot_env
    await returned(env)
    await deliver(env, await wired.on_pep_returned(PEP, returned_by="harriet"))
    qa = env.connector.cards(f"a:personal-{LUCY[1]}")[-1]
    grades = {key: "green" for key in _inputs(qa) if key.startswith(GRADE_PREFIX)}
    approve = submit(qa, QA_APPROVE, grades)
    answer = card_text(await press(env, LUCY, approve))
    assert "finalised" in answer.lower()
    assert await status_of(env) is PepStatus.FINALISED
    await runtime_of(env.server.app).dispatcher.drain()
    [final] = [m for m in mails(env) if "version to file" in str(m["Subject"])]
    to = {a.strip() for a in str(final["To"]).split(",")}
    assert {SUPPORT_MAILBOX, SOCIAL_WORKER, TEACHER} <= to
    assert OFFLINE_SENDER not in to
    [attachment] = list(final.iter_attachments())
    record = docx.Document(io.BytesIO(attachment.get_content()))
    text = "\n".join(p.text for p in record.paragraphs) + "\n".join(
        c.text for t in record.tables for r in t.rows for c in r.cells
    )
    for expected in (
        "this is the version to file",
        "Quality assurance grade",
        "Pupil Premium Plus decisions",
    ):
        assert expected in text, expected
    for internal in ("Finalised\n", "Awaiting return", "in_qa", "finalised_record"):
        assert internal not in text, internal
    async with env.container.uow() as uow:
        stored = await uow.documents.get("LCS100001", "2026-autumn", FINALISED_RECORD)
    assert stored is not None
    # pressed again (a double click): one finalised record, one mail
    await press(env, LUCY, approve)
    await runtime_of(env.server.app).dispatcher.drain()
    assert len([m for m in mails(env) if "version to file" in str(m["Subject"])]) == 1
    assert RACHEL  # the social worker of LCS100001 (tests/e2e/conftest.py)


def _inputs(card: dict[str, Any]) -> list[str]:
    from tests.support.teams import inputs

    return list(inputs(card))
