"""Recording fakes of the Microsoft 365 ports (pep_model/m365.py) and the Teams notice
port, idempotent by key like the real adapters, with scripted failures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pep_model.m365 import (
    DeliveryError,
    Invitee,
    MailMessage,
    MeetingInvite,
    ScheduledMeeting,
)


@dataclass
class Script:
    """Errors to raise on the next calls, in order."""

    errors: list[DeliveryError] = field(default_factory=list)

    def next(self) -> None:
        if self.errors:
            raise self.errors.pop(0)


@dataclass
class RecordingCalendar:
    chat_ids: bool = True
    script: Script = field(default_factory=Script)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id -> state
    by_key: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (what, event id/key)

    async def create_meeting(self, invite: MeetingInvite) -> ScheduledMeeting:
        self.script.next()
        self.calls.append(("create", invite.idempotency_key))
        event_id = self.by_key.get(invite.idempotency_key)
        if event_id is None:
            event_id = f"evt-{len(self.events) + 1}"
            self.by_key[invite.idempotency_key] = event_id
            self.events[event_id] = {
                "invite": invite,
                "cancelled": False,
                "attendees": list(invite.attendees),
                "updates": 0,
            }
        return self._scheduled(event_id)

    def _scheduled(self, event_id: str) -> ScheduledMeeting:
        chat = f"19:meeting_{event_id}@thread.v2" if self.chat_ids else None
        return ScheduledMeeting(
            event_id, f"https://teams.invalid/join/{event_id}", chat, f"uid-{event_id}"
        )

    async def update_meeting(self, event_id: str, invite: MeetingInvite) -> ScheduledMeeting:
        self.script.next()
        self.calls.append(("update", event_id))
        event = self.events[event_id]
        if event.get("last_update_key") != invite.idempotency_key:
            event.update(
                invite=invite,
                attendees=list(invite.attendees),
                updates=event["updates"] + 1,
                last_update_key=invite.idempotency_key,
            )
        return self._scheduled(event_id)

    async def cancel_meeting(self, event_id: str, organiser_email: str, comment: str) -> None:
        self.script.next()
        self.calls.append(("cancel", event_id))
        self.events[event_id]["cancelled"] = True

    async def add_attendee(self, event_id: str, organiser_email: str, invitee: Invitee) -> None:
        self.script.next()
        self.calls.append(("attendee", event_id))
        attendees: list[Invitee] = self.events[event_id]["attendees"]
        if all(a.email.lower() != invitee.email.lower() for a in attendees):
            attendees.append(invitee)


@dataclass
class RecordingMailbox:
    script: Script = field(default_factory=Script)
    sent: dict[str, MailMessage] = field(default_factory=dict)
    calls: int = 0

    async def send(self, message: MailMessage) -> None:
        self.script.next()
        self.calls += 1
        self.sent.setdefault(message.idempotency_key, message)


@dataclass
class RecordingChatApp:
    installed: list[str] = field(default_factory=list)

    async def install_app(self, chat_id: str) -> None:
        if chat_id not in self.installed:
            self.installed.append(chat_id)


@dataclass
class RecordingNotices:
    reachable: set[str] | None = None  # targets with a conversation; None: all
    posted: list[tuple[str, str, dict[str, Any], str]] = field(default_factory=list)

    async def post(
        self, target: str, template: str, data: Mapping[str, Any], key: str
    ) -> dict[str, Any]:
        if self.reachable is not None and target not in self.reachable:
            return {"posted": False, "reason": "no conversation"}
        self.posted.append((target, template, dict(data), key))
        return {"posted": True}

    def templates(self, target: str | None = None) -> list[str]:
        return [t for (to, t, _, _) in self.posted if target is None or to == target]
