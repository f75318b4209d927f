"""The Microsoft 365 ports without a tenant: standard files in an outbox folder that a
person can open (PEP_OUTBOX_DIR, default ./outbox).

    <folder>/calendar/<UTC timestamp>-<event id>-request.ics   RFC 5545 + iTIP REQUEST
    <folder>/calendar/<UTC timestamp>-<event id>-cancel.ics    iTIP CANCEL
    <folder>/mail/<UTC timestamp>-<key digest>.eml             RFC 5322, MIME attachments
    <folder>/chat-apps/<UTC timestamp>-<chat digest>.json      a note: nothing installed

The folder is the whole state: the event id is derived from the idempotency key, and
what a meeting looks like now is read back from its newest .ics, so a restart, a retry
or a second instance of FileCalendar over the same folder behaves the same. Writes are
atomic (a temporary file renamed into place). One process should write a folder.

There is no Teams here: join URLs are placeholders under https://teams.invalid/ (the
.invalid top-level domain never resolves, RFC 2606) and chat_id is None.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from graph.ics import Invitation, invitation_ics, read_invitation
from pep_model.m365 import (
    DeliveryError,
    Invitee,
    MailMessage,
    MeetingInvite,
    ScheduledMeeting,
)

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")
LOCAL_DOMAIN = "pep-companion.invalid"
JOIN_URL_PREFIX = "https://teams.invalid/l/meetup-join/"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def event_id_for(idempotency_key: str) -> str:
    """The outbox event id of the meeting an idempotency key creates."""
    return "outbox-" + _digest(idempotency_key)[:32]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _write_new(folder: Path, name: Callable[[str], str], data: bytes, now: datetime) -> Path:
    """Write data under a new name (timestamp first, so names sort in time order)."""
    folder.mkdir(parents=True, exist_ok=True)
    moment = now
    path = folder / name(_stamp(moment))
    while path.exists():
        moment += timedelta(microseconds=1)
        path = folder / name(_stamp(moment))
    temporary = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return path


class _Folder:
    def __init__(self, folder: Path | str, clock: Clock | None) -> None:
        self.root = Path(folder)
        self._clock = clock or _utc_now
        self._lock = asyncio.Lock()

    def now(self) -> datetime:
        return self._clock()

    async def run(self, work: Callable[[], T]) -> T:
        async with self._lock:
            return await asyncio.to_thread(work)


class FileCalendar:
    def __init__(self, folder: Path | str, *, clock: Clock | None = None) -> None:
        self._folder = _Folder(folder, clock)
        self._dir = self._folder.root / "calendar"

    async def create_meeting(self, invite: MeetingInvite) -> ScheduledMeeting:
        return await self._folder.run(lambda: self._create(invite))

    async def update_meeting(self, event_id: str, invite: MeetingInvite) -> ScheduledMeeting:
        return await self._folder.run(lambda: self._update(event_id, invite))

    async def cancel_meeting(self, event_id: str, organiser_email: str, comment: str) -> None:
        await self._folder.run(lambda: self._cancel(event_id, comment))

    async def add_attendee(self, event_id: str, organiser_email: str, invitee: Invitee) -> None:
        await self._folder.run(lambda: self._add_attendee(event_id, invitee))

    # ---- in a worker thread, one at a time -------------------------------------------

    def _history(self, event_id: str) -> list[Invitation]:
        if not self._dir.is_dir():
            return []
        found = [
            read_invitation(path.read_bytes())
            for path in sorted(self._dir.glob(f"*-{event_id}-*.ics"))
        ]
        return sorted(found, key=lambda invitation: invitation.sequence)

    def _live(self, event_id: str) -> list[Invitation]:
        return _alive(event_id, self._history(event_id))

    def _write(
        self,
        event_id: str,
        method: str,
        uid: str,
        sequence: int,
        invite: MeetingInvite,
        join_url: str,
        comment: str | None = None,
    ) -> None:
        now = self._folder.now()
        data = invitation_ics(
            method=method,
            uid=uid,
            sequence=sequence,
            invite=invite,
            join_url=join_url,
            stamp=now,
            comment=comment,
        )
        path = _write_new(
            self._dir, lambda stamp: f"{stamp}-{event_id}-{method.lower()}.ics", data, now
        )
        log.info(
            "outbox %s written: event=%s sequence=%d file=%s", method, event_id, sequence, path.name
        )

    @staticmethod
    def _meeting(event_id: str, invitation: Invitation) -> ScheduledMeeting:
        return ScheduledMeeting(
            event_id=event_id, join_url=invitation.join_url, chat_id=None, ical_uid=invitation.uid
        )

    def _create(self, invite: MeetingInvite) -> ScheduledMeeting:
        event_id = event_id_for(invite.idempotency_key)
        history = self._history(event_id)
        if history:
            log.info("outbox event exists, nothing written: event=%s", event_id)
            return self._meeting(event_id, history[-1])
        uid = f"{event_id}@{LOCAL_DOMAIN}"
        join_url = JOIN_URL_PREFIX + quote(uid, safe="")
        self._write(event_id, "REQUEST", uid, 0, invite, join_url)
        return ScheduledMeeting(event_id=event_id, join_url=join_url, chat_id=None, ical_uid=uid)

    def _update(self, event_id: str, invite: MeetingInvite) -> ScheduledMeeting:
        history = self._live(event_id)
        latest = history[-1]
        if any(i.invite.idempotency_key == invite.idempotency_key for i in history):
            log.info("outbox update already written: event=%s", event_id)
            return self._meeting(event_id, latest)
        self._write(event_id, "REQUEST", latest.uid, latest.sequence + 1, invite, latest.join_url)
        return self._meeting(event_id, latest)

    def _cancel(self, event_id: str, comment: str) -> None:
        history = self._history(event_id)
        if history and history[-1].method == "CANCEL":
            log.info("outbox event already cancelled: event=%s", event_id)
            return
        latest = _alive(event_id, history)[-1]
        invite = _with_key(latest.invite, f"{event_id}:cancel")
        self._write(
            event_id,
            "CANCEL",
            latest.uid,
            latest.sequence + 1,
            invite,
            latest.join_url,
            comment=comment or None,
        )

    def _add_attendee(self, event_id: str, invitee: Invitee) -> None:
        latest = self._live(event_id)[-1]
        wanted = invitee.email.casefold()
        if any(a.email.casefold() == wanted for a in latest.invite.attendees):
            log.info("outbox attendee already invited: event=%s", event_id)
            return
        invite = _with_key(
            latest.invite,
            f"{event_id}:attendee:{_digest(wanted)[:16]}",
            attendees=(*latest.invite.attendees, invitee),
        )
        self._write(event_id, "REQUEST", latest.uid, latest.sequence + 1, invite, latest.join_url)


def _alive(event_id: str, history: list[Invitation]) -> list[Invitation]:
    """The event's invitations, oldest first, unless it is unknown or cancelled (404)."""
    if not history:
        raise DeliveryError(
            f"no meeting {event_id} in the outbox",
            status=404,
            retryable=False,
            code="ErrorItemNotFound",
        )
    if history[-1].method == "CANCEL":
        raise DeliveryError(
            f"meeting {event_id} was cancelled",
            status=404,
            retryable=False,
            code="ErrorItemNotFound",
        )
    return history


def _with_key(
    invite: MeetingInvite, key: str, attendees: tuple[Invitee, ...] | None = None
) -> MeetingInvite:
    if attendees is None:
        return replace(invite, idempotency_key=key)
    return replace(invite, idempotency_key=key, attendees=attendees)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class FileMailbox:
    """Each message once as an .eml; Message-ID and file name come from the key."""

    def __init__(self, folder: Path | str, *, clock: Clock | None = None) -> None:
        self._folder = _Folder(folder, clock)
        self._dir = self._folder.root / "mail"

    async def send(self, message: MailMessage) -> None:
        await self._folder.run(lambda: self._send(message))

    def _send(self, message: MailMessage) -> None:
        if not any(message.to) and not any(message.cc):
            raise DeliveryError(
                "the message has no recipients",
                status=400,
                retryable=False,
                code="ErrorInvalidRecipients",
            )
        key = _digest(message.idempotency_key)[:32]
        if self._dir.is_dir() and any(self._dir.glob(f"*-{key}.eml")):
            log.info("outbox mail already written: key=%s", message.idempotency_key)
            return
        now = self._folder.now()
        email = EmailMessage()
        email["From"] = message.sender
        email["To"] = ", ".join(message.to)
        if message.cc:
            email["Cc"] = ", ".join(message.cc)
        email["Subject"] = _one_line(message.subject)
        email["Date"] = format_datetime(now.astimezone(UTC))
        email["Message-ID"] = f"<{key}@{LOCAL_DOMAIN}>"
        email["X-PEP-Idempotency-Key"] = _one_line(message.idempotency_key)
        email.set_content(message.body_text)
        for attachment in message.attachments:
            maintype, _, subtype = attachment.media_type.partition("/")
            if maintype in ("", "multipart", "message") or not subtype:
                maintype, subtype = "application", "octet-stream"
            email.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype, filename=attachment.name
            )
        path = _write_new(
            self._dir, lambda stamp: f"{stamp}-{key}.eml", email.as_bytes(policy=SMTP), now
        )
        log.info(
            "outbox mail written: key=%s attachments=%d file=%s",
            message.idempotency_key,
            len(message.attachments),
            path.name,
        )


class FileDirectory:
    """No directory without a tenant: nobody has an Entra object id."""

    async def object_id_for(self, email: str) -> str | None:
        return None


class FileChatApp:
    """Installs nothing (there is no Teams); leaves a .json note per chat instead."""

    def __init__(self, folder: Path | str, *, clock: Clock | None = None) -> None:
        self._folder = _Folder(folder, clock)
        self._dir = self._folder.root / "chat-apps"

    async def install_app(self, chat_id: str) -> None:
        await self._folder.run(lambda: self._note(chat_id))

    def _note(self, chat_id: str) -> None:
        key = _digest(chat_id)[:16]
        if self._dir.is_dir() and any(self._dir.glob(f"*-{key}.json")):
            return
        now = self._folder.now()
        note = {
            "chat_id": chat_id,
            "recorded_at": now.astimezone(UTC).isoformat(),
            "installed": False,
            "note": "No Microsoft 365 tenant is configured, so the app was not "
            "installed. With Graph this is POST /chats/{chat_id}/installedApps.",
        }
        data = (json.dumps(note, indent=2) + "\n").encode("utf-8")
        path = _write_new(self._dir, lambda stamp: f"{stamp}-{key}.json", data, now)
        log.info("outbox chat-app note written: chat=%s file=%s", chat_id, path.name)
