"""The transactional outbox: every mail, calendar change and Teams notice the product
sends is first written as a row in the same commit as the business change that causes
it; a dispatcher (graph/dispatch.py) delivers the rows afterwards.

A message is named by its idempotency key: adding a key that is already there changes
nothing, so re-running a job (term-start after a crash) never queues anyone twice, and
the key travels to Microsoft 365 (Graph's transactionId, the outbox folder's file name)
so a retried delivery has no second effect. Messages that share a `sequence` are
delivered one at a time in the order they were added (a meeting's create before its
update before its cancellation).

Payloads hold what the adapters need, as JSON. They may hold a child's details (a mail
to a designated teacher names the child): never log a payload; log keys, kinds, ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pep_model.m365 import LONDON, Invitee, MailAttachment, MailMessage, MeetingInvite

if TYPE_CHECKING:
    from pep_model.ports import UnitOfWork

Json = dict[str, Any]


class OutboxKind(StrEnum):
    MEETING_CREATE = "meeting.create"
    MEETING_UPDATE = "meeting.update"
    MEETING_CANCEL = "meeting.cancel"
    MEETING_ADD_ATTENDEE = "meeting.add_attendee"
    CHAT_INSTALL = "chat.install"
    MAIL = "mail.send"
    TEAMS_NOTICE = "teams.notice"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # refused (4xx) or out of attempts: reported to a person
    CANCELLED = "cancelled"  # withdrawn before it was sent


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to add to the outbox."""

    key: str
    kind: OutboxKind
    payload: Json = field(repr=False)
    requested_by: str = "system"  # a person id, or "system"
    pep_id: str | None = None
    sequence: str | None = None
    attachments: tuple[MailAttachment, ...] = ()
    not_before: datetime | None = None

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("an outbox message needs an idempotency key")
        if not isinstance(self.attachments, tuple):
            object.__setattr__(self, "attachments", tuple(self.attachments))


@dataclass(frozen=True)
class OutboxEntry:
    """A message as stored, with its delivery state. Attachments are loaded only when
    the message is claimed for delivery."""

    id: int
    key: str
    kind: OutboxKind
    status: OutboxStatus
    payload: Json = field(repr=False)
    requested_by: str
    pep_id: str | None
    sequence: str | None
    attempts: int
    available_at: datetime
    created_at: datetime
    last_status: int | None = None
    last_error: str | None = None
    result: Json | None = None
    finished_at: datetime | None = None
    attachments: tuple[MailAttachment, ...] = ()


class OutboxRepository(Protocol):
    async def add(self, message: OutgoingMessage, now: datetime) -> bool:
        """Queue it; False (nothing written) when its key is already in the outbox."""
        ...

    async def get(self, key: str) -> OutboxEntry | None: ...

    async def existing(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys are in the outbox already (in any status)."""
        ...

    async def cancel(self, key: str, now: datetime) -> bool:
        """Withdraw a pending message no dispatcher holds; False when too late."""
        ...

    async def claim(
        self,
        owner: str,
        now: datetime,
        lease_seconds: float,
        limit: int,
        keys: Sequence[str] | None = None,
    ) -> list[OutboxEntry]:
        """Lease up to `limit` messages that are due, not leased by anyone else, and
        first in their sequence; count the attempt. Two dispatchers never get the same
        message while its lease lasts. `keys` restricts the choice."""
        ...

    async def delivered(
        self, entry_id: int, owner: str, now: datetime, result: Json | None
    ) -> bool:
        """Only while `owner` still holds the lease; False otherwise."""
        ...

    async def retry_later(
        self,
        entry_id: int,
        owner: str,
        now: datetime,
        available_at: datetime,
        status: int,
        error: str,
    ) -> bool: ...

    async def failed(
        self, entry_id: int, owner: str, now: datetime, status: int, error: str
    ) -> bool: ...

    async def find(
        self,
        *,
        status: OutboxStatus | None = None,
        key_prefix: str | None = None,
        limit: int | None = None,
    ) -> list[OutboxEntry]:
        """In the order they were added."""
        ...

    async def counts(self) -> dict[str, int]:
        """Messages per status (every status present, 0 when none)."""
        ...

    async def next_due(self) -> datetime | None:
        """When the earliest pending message becomes due (or its lease ends)."""
        ...


# What runs after a message is delivered, in the same unit of work that records the
# delivery (e.g. the created meeting's join URL written into the PEP).
AfterDelivery = Callable[["UnitOfWork", OutboxEntry, Json], Awaitable[None]]


class TeamsNoticePort(Protocol):
    async def post(self, target: str, template: str, data: Mapping[str, Any], key: str) -> Json:
        """Post the card `template` (filled from `data`) to `target`: "person:<id>" (their
        personal chat with the bot) or "channel:virtual_school". Answers what happened,
        e.g. {"posted": true, "activity_id": ...} or {"posted": false, "reason": ...} when
        there is nowhere to post (the person never used the bot). Raises DeliveryError
        when Teams refuses."""
        ...


VIRTUAL_SCHOOL_CHANNEL = "channel:virtual_school"


def person_target(person_id: str) -> str:
    return f"person:{person_id}"


def notice(
    key: str,
    target: str,
    template: str,
    data: Mapping[str, Any],
    *,
    pep_id: str | None = None,
    sequence: str | None = None,
    requested_by: str = "system",
    not_before: datetime | None = None,
    after: str | None = None,
) -> OutgoingMessage:
    """A Teams card for a person or the Virtual School's channel. `after`: the key of a
    message it must follow (it waits while that one is pending, and is dropped if that
    one was never delivered) without holding up the rest of that message's sequence."""
    payload: Json = {"target": target, "template": template, "data": dict(data)}
    if after:
        payload["after"] = after
    return OutgoingMessage(
        key,
        OutboxKind.TEAMS_NOTICE,
        payload,
        requested_by=requested_by,
        pep_id=pep_id,
        sequence=sequence,
        not_before=not_before,
    )


# ---- payloads ------------------------------------------------------------------------


def invitee_payload(invitee: Invitee) -> Json:
    return {"email": invitee.email, "name": invitee.name, "required": invitee.required}


def invitee_from(data: Mapping[str, Any]) -> Invitee:
    return Invitee(
        str(data["email"]), str(data.get("name") or ""), bool(data.get("required", True))
    )


def invite_payload(invite: MeetingInvite) -> Json:
    return {
        "organiser_email": invite.organiser_email,
        "subject": invite.subject,
        "body_html": invite.body_html,
        "start": invite.start.isoformat(),
        "end": invite.end.isoformat(),
        "time_zone": invite.time_zone,
        "attendees": [invitee_payload(a) for a in invite.attendees],
    }


def invite_from(key: str, data: Mapping[str, Any]) -> MeetingInvite:
    return MeetingInvite(
        idempotency_key=key,
        organiser_email=str(data["organiser_email"]),
        subject=str(data["subject"]),
        body_html=str(data["body_html"]),
        start=datetime.fromisoformat(str(data["start"])),
        end=datetime.fromisoformat(str(data["end"])),
        attendees=tuple(invitee_from(a) for a in data.get("attendees") or []),
        time_zone=str(data.get("time_zone") or LONDON),
    )


def mail(
    key: str,
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    body: str,
    attachments: Sequence[MailAttachment] = (),
    cc: Sequence[str] = (),
    requested_by: str = "system",
    pep_id: str | None = None,
    not_before: datetime | None = None,
) -> OutgoingMessage:
    return OutgoingMessage(
        key,
        OutboxKind.MAIL,
        {"sender": sender, "to": list(to), "cc": list(cc), "subject": subject, "body_text": body},
        requested_by=requested_by,
        pep_id=pep_id,
        attachments=tuple(attachments),
        not_before=not_before,
    )


def mail_from(entry: OutboxEntry) -> MailMessage:
    p = entry.payload
    return MailMessage(
        idempotency_key=entry.key,
        sender=str(p["sender"]),
        to=tuple(str(a) for a in p.get("to") or []),
        subject=str(p["subject"]),
        body_text=str(p["body_text"]),
        attachments=entry.attachments,
        cc=tuple(str(a) for a in p.get("cc") or []),
    )


# ---- telling a person a message could not be delivered -------------------------------

FAILURE_PREFIX = "delivery-failed:"

KIND_WORDS = {
    OutboxKind.MEETING_CREATE: "creating a PEP meeting invitation",
    OutboxKind.MEETING_UPDATE: "updating a PEP meeting invitation",
    OutboxKind.MEETING_CANCEL: "cancelling a PEP meeting",
    OutboxKind.MEETING_ADD_ATTENDEE: "adding an attendee to a PEP meeting",
    OutboxKind.CHAT_INSTALL: "adding PEP Companion to a meeting chat",
    OutboxKind.MAIL: "sending an email",
    OutboxKind.TEAMS_NOTICE: "posting a Teams message",
}


def failure_reports(
    entry: OutboxEntry, status: int, error: str, *, report_mailbox: str, sender: str
) -> list[OutgoingMessage]:
    """The notices that tell people a message was refused: the person who caused it (in
    Teams) and the authority's report mailbox. They carry ids, never a child's details.
    A failure report that itself fails is not reported again."""
    if entry.key.startswith(FAILURE_PREFIX):
        return []
    what = KIND_WORDS.get(entry.kind, entry.kind.value)
    data = {
        "kind": entry.kind.value,
        "what": what,
        "key": entry.key,
        "status": status,
        "error": error,
        "pep_id": entry.pep_id or "",
    }
    reports: list[OutgoingMessage] = []
    if "@" in entry.requested_by:
        reports.append(
            notice(
                f"{FAILURE_PREFIX}{entry.key}:teams",
                person_target(entry.requested_by),
                "delivery_failed",
                data,
                pep_id=entry.pep_id,
            )
        )
    if report_mailbox and sender:
        body = (
            f"PEP Companion could not finish {what}.\n\n"
            f"Message key: {entry.key}\nPEP: {entry.pep_id or '-'}\n"
            f"Requested by: {entry.requested_by}\n"
            f"Microsoft 365 answered: {status} {error}\n\n"
            "Nothing more will be tried for this message. Fix the cause (for example "
            "a mailbox address or a permission), then ask the person to do it again."
        )
        reports.append(
            mail(
                f"{FAILURE_PREFIX}{entry.key}:mail",
                sender=sender,
                to=[report_mailbox],
                subject=f"PEP Companion: {what} failed",
                body=body,
                pep_id=entry.pep_id,
            )
        )
    return reports
