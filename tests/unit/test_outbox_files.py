"""The offline Microsoft 365 adapters: .ics and .eml files in an outbox folder."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from graph.outbox_files import (
    JOIN_URL_PREFIX,
    FileCalendar,
    FileChatApp,
    FileDirectory,
    FileMailbox,
    event_id_for,
)
from pep_model.m365 import (
    DeliveryError,
    Invitee,
    MailAttachment,
    MailMessage,
    MeetingInvite,
)

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
SUBJECT = "PEP meeting — Child A, Year 7"
AGENDA = (
    "<p>Agenda for the meeting:</p><ol><li>Child's voice; views</li>"
    "<li>Attendance, attainment</li><li>SMART targets</li></ol>"
)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def invite(key: str = "pep-1:meeting", **changes: Any) -> MeetingInvite:
    values: dict[str, Any] = dict(
        idempotency_key=key,
        organiser_email="sam.worker@northvale.gov.uk",
        subject=SUBJECT,
        body_html=AGENDA,
        start=datetime(2026, 11, 16, 10, 0, tzinfo=LONDON),
        end=datetime(2026, 11, 16, 11, 0, tzinfo=LONDON),
        attendees=(
            Invitee("dt@oakfield.sch.uk", "Dana Teacher, DT"),
            Invitee("carer@example.org", "Chris Carer", required=False),
        ),
    )
    values.update(changes)
    return MeetingInvite(**values)


def calendar_files(folder: Path) -> list[Path]:
    return sorted((folder / "calendar").glob("*.ics"))


def parse_ics(path: Path) -> tuple[Calendar, Any]:
    calendar = Calendar.from_ical(path.read_bytes())
    [event] = calendar.walk("VEVENT")
    return calendar, event


def attendees_of(event: Any) -> list[tuple[str, str, str, str, str]]:
    found = event.get("attendee")
    found = found if isinstance(found, list) else [found]
    return [
        (
            str(a),
            str(a.params["CN"]),
            str(a.params["ROLE"]),
            str(a.params["RSVP"]),
            str(a.params["PARTSTAT"]),
        )
        for a in found
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


# ---- calendar ------------------------------------------------------------------------


async def test_create_writes_one_request_ics(tmp_path: Path, clock: Clock) -> None:
    meeting = await FileCalendar(tmp_path, clock=clock).create_meeting(invite())

    [path] = calendar_files(tmp_path)
    event_id = event_id_for("pep-1:meeting")
    assert meeting.event_id == event_id
    assert path.name == f"20261102T093000000000Z-{event_id}-request.ics"

    calendar, event = parse_ics(path)
    assert str(calendar["method"]) == "REQUEST"
    assert str(calendar["version"]) == "2.0"
    assert str(event["uid"]) == meeting.ical_uid
    assert int(event["sequence"]) == 0
    assert str(event["summary"]) == SUBJECT
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["organizer"]) == "mailto:sam.worker@northvale.gov.uk"
    assert attendees_of(event) == [
        (
            "mailto:dt@oakfield.sch.uk",
            "Dana Teacher, DT",
            "REQ-PARTICIPANT",
            "TRUE",
            "NEEDS-ACTION",
        ),
        ("mailto:carer@example.org", "Chris Carer", "OPT-PARTICIPANT", "TRUE", "NEEDS-ACTION"),
    ]
    assert event["dtstart"].params["TZID"] == "Europe/London"
    assert event["dtend"].params["TZID"] == "Europe/London"
    assert event.decoded("dtstart") == datetime(2026, 11, 16, 10, 0, tzinfo=LONDON)
    assert event.decoded("dtend") == datetime(2026, 11, 16, 11, 0, tzinfo=LONDON)
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["tzid"]) == "Europe/London"
    description = str(event["description"])
    assert "Child's voice; views" in description and "SMART targets" in description
    assert meeting.join_url is not None and meeting.join_url in description
    assert str(event["url"]) == meeting.join_url


async def test_the_join_url_is_a_clearly_local_placeholder(tmp_path: Path) -> None:
    meeting = await FileCalendar(tmp_path).create_meeting(invite())
    assert meeting.join_url == JOIN_URL_PREFIX + meeting.ical_uid.replace("@", "%40")
    assert meeting.join_url.startswith("https://teams.invalid/l/meetup-join/")
    assert meeting.chat_id is None


async def test_summer_meetings_carry_british_summer_time(tmp_path: Path) -> None:
    await FileCalendar(tmp_path).create_meeting(
        invite(
            start=datetime(2026, 6, 10, 9, 0, tzinfo=UTC),
            end=datetime(2026, 6, 10, 10, 0, tzinfo=UTC),
        )
    )
    [path] = calendar_files(tmp_path)
    assert "DTSTART;TZID=Europe/London:20260610T100000" in path.read_text()
    calendar, event = parse_ics(path)
    assert event.decoded("dtstart").utcoffset() == timedelta(hours=1)
    [timezone] = calendar.walk("VTIMEZONE")
    assert {c.name for c in timezone.subcomponents} == {"STANDARD", "DAYLIGHT"}


async def test_a_retried_create_returns_the_same_event_and_writes_nothing(
    tmp_path: Path, clock: Clock
) -> None:
    calendar = FileCalendar(tmp_path, clock=clock)
    first = await calendar.create_meeting(invite())
    clock.now += timedelta(minutes=5)
    assert await calendar.create_meeting(invite()) == first
    assert await FileCalendar(tmp_path).create_meeting(invite()) == first  # after a restart
    assert len(calendar_files(tmp_path)) == 1
    other = await calendar.create_meeting(invite("pep-2:meeting"))
    assert other.event_id != first.event_id and len(calendar_files(tmp_path)) == 2


async def test_concurrent_creates_with_one_key_write_one_file(tmp_path: Path) -> None:
    calendar = FileCalendar(tmp_path)
    meetings = await asyncio.gather(*(calendar.create_meeting(invite()) for _ in range(5)))
    assert len(set(meetings)) == 1 and len(calendar_files(tmp_path)) == 1


async def test_update_writes_a_request_with_the_next_sequence(tmp_path: Path, clock: Clock) -> None:
    calendar = FileCalendar(tmp_path, clock=clock)
    meeting = await calendar.create_meeting(invite())
    moved = invite(
        "pep-1:meeting:move-1",
        start=datetime(2026, 11, 18, 14, 0, tzinfo=LONDON),
        end=datetime(2026, 11, 18, 15, 0, tzinfo=LONDON),
    )
    assert await calendar.update_meeting(meeting.event_id, moved) == meeting
    assert await calendar.update_meeting(meeting.event_id, moved) == meeting  # retried

    first, second = calendar_files(tmp_path)
    assert second.name.endswith(f"-{meeting.event_id}-request.ics")
    assert first.name < second.name  # the same clock reading still sorts in order
    calendar_, event = parse_ics(second)
    assert str(calendar_["method"]) == "REQUEST"
    assert int(event["sequence"]) == 1
    assert str(event["uid"]) == meeting.ical_uid
    assert event.decoded("dtstart") == datetime(2026, 11, 18, 14, 0, tzinfo=LONDON)


async def test_add_attendee_keeps_everyone_and_is_idempotent(tmp_path: Path) -> None:
    calendar = FileCalendar(tmp_path)
    meeting = await calendar.create_meeting(invite())
    organiser = "sam.worker@northvale.gov.uk"
    await calendar.add_attendee(
        meeting.event_id, organiser, Invitee("vs.member@northvale.gov.uk", "Vic Virtual")
    )
    await calendar.add_attendee(
        meeting.event_id, organiser, Invitee("VS.Member@northvale.gov.uk", "Vic Virtual")
    )
    files = calendar_files(tmp_path)
    assert len(files) == 2
    _, event = parse_ics(files[-1])
    assert int(event["sequence"]) == 1
    assert [a[0] for a in attendees_of(event)] == [
        "mailto:dt@oakfield.sch.uk",
        "mailto:carer@example.org",
        "mailto:vs.member@northvale.gov.uk",
    ]
    assert str(event["summary"]) == SUBJECT
    assert "<li>SMART targets</li>" in str(event["x-alt-desc"])


async def test_cancel_writes_a_cancel_once(tmp_path: Path) -> None:
    calendar = FileCalendar(tmp_path)
    meeting = await calendar.create_meeting(invite())
    organiser = "sam.worker@northvale.gov.uk"
    await calendar.cancel_meeting(meeting.event_id, organiser, "Rearranged; see new invite.")
    await calendar.cancel_meeting(meeting.event_id, organiser, "Rearranged; see new invite.")

    files = calendar_files(tmp_path)
    assert len(files) == 2 and files[-1].name.endswith(f"-{meeting.event_id}-cancel.ics")
    calendar_, event = parse_ics(files[-1])
    assert str(calendar_["method"]) == "CANCEL"
    assert str(event["status"]) == "CANCELLED"
    assert int(event["sequence"]) == 1
    assert str(event["uid"]) == meeting.ical_uid
    assert str(event["comment"]) == "Rearranged; see new invite."
    assert len(attendees_of(event)) == 2

    with pytest.raises(DeliveryError) as caught:
        await calendar.update_meeting(meeting.event_id, invite("pep-1:meeting:move-2"))
    assert caught.value.status == 404 and not caught.value.retryable


async def test_an_unknown_event_is_not_found(tmp_path: Path) -> None:
    calendar = FileCalendar(tmp_path)
    for attempt in (
        calendar.update_meeting("outbox-nope", invite()),
        calendar.cancel_meeting("outbox-nope", "x@y.org", ""),
        calendar.add_attendee("outbox-nope", "x@y.org", Invitee("a@b.org", "A")),
    ):
        with pytest.raises(DeliveryError) as caught:
            await attempt
        assert caught.value.status == 404 and not caught.value.retryable


# ---- mail --------------------------------------------------------------------------


def message(key: str = "pep-1:pack", **changes: Any) -> MailMessage:
    values: dict[str, Any] = dict(
        idempotency_key=key,
        sender="pep.business-support@northvale.gov.uk",
        to=("dt@oakfield.sch.uk", "head@oakfield.sch.uk"),
        cc=("sam.worker@northvale.gov.uk",),
        subject="PEP term pack — autumn 2026",
        body_text="Dear colleague,\nthe pack is attached.",
        attachments=(
            MailAttachment("PEP autumn 2026.docx", DOCX, b"PK\x03\x04 docx bytes"),
            MailAttachment("PEP summer 2026.pdf", "application/pdf", b"%PDF-1.7\n\x00\xff binary"),
        ),
    )
    values.update(changes)
    return MailMessage(**values)


def mail_files(folder: Path) -> list[Path]:
    return sorted((folder / "mail").glob("*.eml"))


def parse_eml(path: Path) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


async def test_send_writes_an_eml_with_attachments(tmp_path: Path, clock: Clock) -> None:
    await FileMailbox(tmp_path, clock=clock).send(message())

    [path] = mail_files(tmp_path)
    assert path.name.startswith("20261102T093000000000Z-")
    email = parse_eml(path)
    assert email["Subject"] == "PEP term pack — autumn 2026"
    assert email["From"] == "pep.business-support@northvale.gov.uk"
    assert [a.addr_spec for a in email["To"].addresses] == [
        "dt@oakfield.sch.uk",
        "head@oakfield.sch.uk",
    ]
    assert [a.addr_spec for a in email["Cc"].addresses] == ["sam.worker@northvale.gov.uk"]
    assert parsedate_to_datetime(email["Date"]) == NOW
    assert re.fullmatch(r"<[0-9a-f]{32}@pep-companion\.invalid>", email["Message-ID"])
    assert email["X-PEP-Idempotency-Key"] == "pep-1:pack"
    body = email.get_body(preferencelist=("plain",))
    assert body is not None  # the file has CRLF line ends, as RFC 5322 asks
    assert body.get_content().replace("\r\n", "\n") == "Dear colleague,\nthe pack is attached.\n"
    assert b"\r\n" in path.read_bytes() and b"\n\n" not in path.read_bytes()
    attachments = [
        (part.get_filename(), part.get_content_type(), part.get_content())
        for part in email.iter_attachments()
    ]
    assert attachments == [
        ("PEP autumn 2026.docx", DOCX, b"PK\x03\x04 docx bytes"),
        ("PEP summer 2026.pdf", "application/pdf", b"%PDF-1.7\n\x00\xff binary"),
    ]


async def test_the_same_key_writes_one_eml(tmp_path: Path) -> None:
    mailbox = FileMailbox(tmp_path)
    await asyncio.gather(*(mailbox.send(message()) for _ in range(3)))
    await FileMailbox(tmp_path).send(message())  # after a restart
    assert len(mail_files(tmp_path)) == 1
    await mailbox.send(message("pep-2:pack"))
    assert len(mail_files(tmp_path)) == 2


async def test_a_message_without_recipients_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError) as caught:
        await FileMailbox(tmp_path).send(message(to=(), cc=()))
    assert caught.value.status == 400 and not caught.value.retryable
    assert mail_files(tmp_path) == []


async def test_message_ids_come_from_the_key(tmp_path: Path) -> None:
    await FileMailbox(tmp_path / "a").send(message())
    await FileMailbox(tmp_path / "b").send(message())
    await FileMailbox(tmp_path / "b").send(message("pep-2:pack"))
    [a] = mail_files(tmp_path / "a")
    b1, b2 = (parse_eml(p)["Message-ID"] for p in mail_files(tmp_path / "b"))
    assert parse_eml(a)["Message-ID"] in (b1, b2) and b1 != b2


# ---- directory, chat app, logs --------------------------------------------------------


async def test_the_directory_knows_nobody() -> None:
    assert await FileDirectory().object_id_for("dt@oakfield.sch.uk") is None


async def test_installing_the_app_leaves_one_note_per_chat(tmp_path: Path) -> None:
    chat_app = FileChatApp(tmp_path)
    await chat_app.install_app("19:meeting_abc@thread.v2")
    await chat_app.install_app("19:meeting_abc@thread.v2")
    [note] = sorted((tmp_path / "chat-apps").glob("*.json"))
    recorded = json.loads(note.read_text())
    assert recorded["chat_id"] == "19:meeting_abc@thread.v2"
    assert recorded["installed"] is False


async def test_logs_carry_ids_not_content(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    calendar = FileCalendar(tmp_path)
    meeting = await calendar.create_meeting(invite())
    await calendar.add_attendee(
        meeting.event_id,
        "sam.worker@northvale.gov.uk",
        Invitee("vs.member@northvale.gov.uk", "Vic Virtual"),
    )
    await calendar.cancel_meeting(meeting.event_id, "sam.worker@northvale.gov.uk", "Moved.")
    await FileMailbox(tmp_path).send(message())
    assert meeting.event_id in caplog.text
    for secret in (
        "Child A",
        "Child's voice",
        "Dana Teacher",
        "Vic Virtual",
        "Moved.",
        "PEP autumn 2026.docx",
        "Dear colleague",
        "term pack",
    ):
        assert secret not in caplog.text
