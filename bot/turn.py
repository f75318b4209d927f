"""An incoming activity as the routing logic sees it: plain data, no botbuilder."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

MAX_TEXT = 2000

# the activity's JSON as received, for the turn being processed (set by bot/server.py)
ACTIVITY_BODY: ContextVar[dict[str, Any] | None] = ContextVar("activity_body", default=None)


@dataclass(frozen=True)
class Turn:
    type: str  # message, invoke, event, conversationUpdate
    name: str = ""  # invoke / event name
    activity_id: str = ""
    user_id: str = ""  # Teams user id (29:…)
    aad_object_id: str = ""
    user_name: str = ""
    conversation_id: str = ""
    conversation_type: str = ""  # personal, groupChat, channel
    tenant_id: str = ""
    service_url: str = ""
    bot_id: str = ""
    reply_to_id: str = ""
    text: str = ""
    value: Any = None
    meeting_id: str = ""
    attachments: tuple[dict[str, Any], ...] = ()
    members_added: tuple[dict[str, Any], ...] = ()
    mentions_bot: bool = False  # the message @mentions this bot (an entity naming it)

    @property
    def personal(self) -> bool:
        return self.conversation_type == "personal"

    @property
    def bot_added(self) -> bool:
        """A conversationUpdate saying the bot itself was added to the conversation."""
        return any(m.get("id") == self.bot_id for m in self.members_added)

    @staticmethod
    def from_activity_dict(a: dict[str, Any]) -> Turn:
        """From the activity as JSON (what Teams posts)."""
        frm = a.get("from") or {}
        conv = a.get("conversation") or {}
        channel_data = a.get("channelData") or {}
        tenant = tenant_of(a) or ""
        meeting = channel_data.get("meeting") or {}
        return Turn(
            type=str(a.get("type") or ""),
            name=str(a.get("name") or ""),
            activity_id=str(a.get("id") or ""),
            user_id=str(frm.get("id") or ""),
            aad_object_id=str(frm.get("aadObjectId") or ""),
            user_name=str(frm.get("name") or ""),
            conversation_id=str(conv.get("id") or ""),
            conversation_type=str(
                conv.get("conversationType") or ("groupChat" if conv.get("isGroup") else "personal")
            ),
            tenant_id=str(tenant),
            service_url=str(a.get("serviceUrl") or ""),
            bot_id=str((a.get("recipient") or {}).get("id") or ""),
            reply_to_id=str(a.get("replyToId") or ""),
            text=str(a.get("text") or "")[:MAX_TEXT],
            value=a.get("value"),
            meeting_id=str(meeting.get("id") or ""),
            attachments=tuple(x for x in a.get("attachments") or [] if isinstance(x, dict)),
            members_added=tuple(x for x in a.get("membersAdded") or [] if isinstance(x, dict)),
            mentions_bot=_mentions(
                a.get("entities"), str((a.get("recipient") or {}).get("id") or "")
            ),
        )


def _mentions(entities: Any, bot_id: str) -> bool:
    """Whether the activity's entities include an @mention of the bot."""
    if not bot_id or not isinstance(entities, list):
        return False
    for entity in entities:
        if isinstance(entity, Mapping) and entity.get("type") == "mention":
            mentioned = entity.get("mentioned")
            if isinstance(mentioned, Mapping) and mentioned.get("id") == bot_id:
                return True
    return False


def tenant_of(activity: Mapping[str, Any]) -> str | None:
    """The activity's tenant id: channelData.tenant.id, else conversation.tenantId."""
    channel_data = activity.get("channelData")
    channel_data = channel_data if isinstance(channel_data, Mapping) else {}
    conversation = activity.get("conversation")
    conversation = conversation if isinstance(conversation, Mapping) else {}
    tenant = channel_data.get("tenant")
    tenant = tenant if isinstance(tenant, Mapping) else {}
    return tenant.get("id") or conversation.get("tenantId") or None


@dataclass
class Outgoing:
    """A message for the bot to post. `card` is an Adaptive Card; `attachment` any other
    attachment (a file consent card). `on_sent` receives the new message id."""

    card: dict[str, Any] | None = None
    text: str = ""
    attachment: dict[str, Any] | None = None
    to_user_id: str = ""  # "" = this conversation; else the user's personal chat
    on_sent: Callable[[str], Awaitable[None]] | None = None


@dataclass
class CardUpdate:
    conversation_id: str
    activity_id: str
    card: dict[str, Any]


@dataclass
class Reply:
    messages: list[Outgoing] = field(default_factory=list)
    invoke_status: int = 200
    invoke_card: dict[str, Any] | None = None  # adaptiveCard/action answer
    invoke_message: str = ""  # answer with a message instead
    updates: list[CardUpdate] = field(default_factory=list)

    def invoke_body(self) -> dict[str, Any]:
        if self.invoke_card is not None:
            return {
                "statusCode": 200,
                "type": "application/vnd.microsoft.card.adaptive",
                "value": self.invoke_card,
            }
        if self.invoke_status >= 400:
            code = HTTPStatus(self.invoke_status).phrase.replace(" ", "")  # "BadRequest"
            return {
                "statusCode": self.invoke_status,
                "type": "application/vnd.microsoft.error",
                "value": {"code": code, "message": self.invoke_message},
            }
        return {
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": self.invoke_message or "Done.",
        }


# What handles one card verb: the turn, who is acting, the action's data.
CardHandler = Callable[[Turn, Any, Mapping[str, Any]], Awaitable[Reply]]


def command_text(text: str) -> str:
    """What a person typed, without the @mention and markup, lower-cased and single-spaced."""
    text = re.sub(r"<at>.*?</at>", " ", text or "")
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.lower().split())
