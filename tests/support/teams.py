"""What a Teams client does, for tests: build activities, find a card's actions and
submit them with typed values (action data merged with the inputs, as Teams sends)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
BOT_ID = "28:pep-companion"
BOT_MENTION = "<at>PEP Companion</at>"
_ids = itertools.count(1)


def activity(
    service_url: str,
    conversation_id: str,
    user_id: str,
    aad_id: str = "",
    *,
    type: str = "message",
    conversation_type: str = "personal",
    name: str = "",
    text: str = "",
    value: Any = None,
    meeting_id: str = "",
    user_name: str = "Test User",
    **extra: Any,
) -> dict[str, Any]:
    a: dict[str, Any] = {
        "type": type,
        "id": f"act-{next(_ids)}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "timestamp": "2026-11-16T10:00:00Z",
        "from": {"id": user_id, "name": user_name, "aadObjectId": aad_id or None},
        "recipient": {"id": BOT_ID, "name": "PEP Companion"},
        "conversation": {
            "id": conversation_id,
            "conversationType": conversation_type,
            "tenantId": TENANT,
            "isGroup": conversation_type != "personal",
        },
        "channelData": {"tenant": {"id": TENANT}},
    }
    if name:
        a["name"] = name
    if text:
        a["text"] = text
    if BOT_MENTION in text:  # what Teams sends with an @mention of the bot
        a["entities"] = [
            {
                "type": "mention",
                "text": BOT_MENTION,
                "mentioned": {"id": BOT_ID, "name": "PEP Companion"},
            }
        ]
    if value is not None:
        a["value"] = value
    if meeting_id:
        a["channelData"]["meeting"] = {"id": meeting_id}
    a.update(extra)
    return a


def walk(element: Any) -> Iterator[dict[str, Any]]:
    if isinstance(element, dict):
        yield element
        for value in element.values():
            yield from walk(value)
    elif isinstance(element, list):
        for item in element:
            yield from walk(item)


def actions(card: dict[str, Any], verb: str) -> list[dict[str, Any]]:
    return [e for e in walk(card) if e.get("type") == "Action.Execute" and e.get("verb") == verb]


def inputs(card: dict[str, Any]) -> dict[str, Any]:
    """The values a person sees in the card's inputs."""
    return {
        e["id"]: e.get("value", "")
        for e in walk(card)
        if str(e.get("type", "")).startswith("Input.") and "id" in e
    }


def submit(
    card: dict[str, Any],
    verb: str,
    typed: dict[str, Any] | None = None,
    *,
    keep_inputs: bool = True,
    title: str | None = None,
) -> dict[str, Any]:
    """The invoke value Teams sends when the person presses the action `verb` (the one
    titled `title`, if given): the action's data merged with every input's value."""
    found = [a for a in actions(card, verb) if title is None or a.get("title") == title]
    assert found, f"no action {verb!r} {title or ''} on the card"
    data = dict(found[0].get("data") or {})
    if keep_inputs:
        data.update(inputs(card))
    data.update(typed or {})
    return {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}


def go_to(
    card: dict[str, Any], section: str, typed: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Choose a section in the jump-to list and press Go."""
    return submit(card, "pep.nav", {**(typed or {}), "nav.section": section}, title="Go")


def card_text(card: dict[str, Any]) -> str:
    return " ".join(
        str(e.get("text", "")) + " " + str(e.get("title", "")) + " " + str(e.get("value", ""))
        for e in walk(card)
    )
