"""What the core needs from Microsoft 365 (calendar, mail, directory, the meeting chat),
as protocols, with the values they carry. Adapters live in graph/: the Graph adapters for
a tenant and the outbox-folder adapters for a laptop without one.

Every operation that has an effect carries an idempotency key chosen by the caller, so a
retried delivery has no second effect. Keys, event ids and chat ids may be logged;
subjects, bodies, names and attachments may not (they can hold a child's details).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

LONDON = "Europe/London"


@dataclass(frozen=True)
class Invitee:
    email: str
    name: str
    required: bool = True


@dataclass(frozen=True)
class MeetingInvite:
    """A Teams meeting with its calendar invitation. start and end are timezone-aware;
    they are sent as wall-clock times in time_zone (an IANA name)."""

    idempotency_key: str
    organiser_email: str
    subject: str
    body_html: str = field(repr=False)
    start: datetime
    end: datetime
    attendees: tuple[Invitee, ...]
    time_zone: str = LONDON

    def __post_init__(self) -> None:
        if not self.idempotency_key:
            raise ValueError("a meeting invite needs an idempotency key")
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("the meeting start must be timezone-aware")
        if self.end.tzinfo is None or self.end.utcoffset() is None:
            raise ValueError("the meeting end must be timezone-aware")
        if self.end <= self.start:
            raise ValueError("the meeting must end after it starts")
        if not isinstance(self.attendees, tuple):
            object.__setattr__(self, "attendees", tuple(self.attendees))


@dataclass(frozen=True)
class ScheduledMeeting:
    """What scheduling produced. join_url is None when no online meeting was provisioned;
    chat_id (the meeting chat's thread id, 19:meeting_…@thread.v2) is None when there is
    no Teams chat (the outbox folder) or it could not be found."""

    event_id: str
    join_url: str | None
    chat_id: str | None
    ical_uid: str


@dataclass(frozen=True)
class MailAttachment:
    name: str
    media_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class MailMessage:
    idempotency_key: str
    sender: str
    to: tuple[str, ...]
    subject: str
    body_text: str = field(repr=False)
    attachments: tuple[MailAttachment, ...] = ()
    cc: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.idempotency_key:
            raise ValueError("a mail message needs an idempotency key")
        for name in ("to", "attachments", "cc"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))


class DeliveryError(Exception):
    """Microsoft 365 (or the outbox folder) did not take the request.

    status: the HTTP status (0 when no response came back: network, timeout);
    retryable: whether trying again later can succeed; retry_after: seconds the service
    asked us to wait, when it said; message: the service's own words, safe to log (it
    never contains a subject, body or attachment name of ours); code: the service's
    error code when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        retryable: bool,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.code = code

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"{self.status}{code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"DeliveryError(status={self.status}, retryable={self.retryable}, "
            f"retry_after={self.retry_after}, code={self.code!r}, "
            f"message={self.message!r})"
        )


class CalendarPort(Protocol):
    async def create_meeting(self, invite: MeetingInvite) -> ScheduledMeeting:
        """Create the event, its Teams meeting and the invitations. The same
        invite.idempotency_key again returns the same meeting and invites nobody twice."""
        ...

    async def update_meeting(self, event_id: str, invite: MeetingInvite) -> ScheduledMeeting:
        """Replace time, subject, body and attendees; attendees get an update."""
        ...

    async def cancel_meeting(self, event_id: str, organiser_email: str, comment: str) -> None:
        """Cancel and tell the attendees. Cancelling a cancelled meeting is not an error."""
        ...

    async def add_attendee(self, event_id: str, organiser_email: str, invitee: Invitee) -> None:
        """Invite one more person, keeping everyone already invited. Idempotent."""
        ...


class MailboxPort(Protocol):
    async def send(self, message: MailMessage) -> None: ...


class DirectoryPort(Protocol):
    async def object_id_for(self, email: str) -> str | None:
        """The Entra object id of the user with this address; None when there is none."""
        ...


class ChatAppPort(Protocol):
    async def install_app(self, chat_id: str) -> None:
        """Install the bot in the (meeting) chat. Already installed is success."""
        ...


class PersonalAppPort(Protocol):
    async def install_for_user(self, user_id: str) -> str | None:
        """Install the bot in the personal scope of the user with this Entra object id,
        so it can message them first. Already installed is success. Answers the id of
        their personal chat with the bot when the service tells it (None otherwise).
        Raises DeliveryError when the service refuses (e.g. 403 without
        TeamsAppInstallation.ReadWriteForUser.All, 404 for an unknown user)."""
        ...
