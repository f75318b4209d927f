"""The JSON body of an activity, read strictly, so that no body can crash the bot.

- UTF-8 only (RFC 8259); `json.loads` on bytes would also take UTF-16/32 and encoded
  surrogates.
- No deeper than `MAX_DEPTH`: 2 KB of `[[[[` makes the JSON parser raise
  RecursionError, and a body a little shallower would make any later recursive walk
  (copying, serialising) do the same.
- Only numbers JSON has and Python can hold: NaN, Infinity, 1e999 and integers longer
  than `MAX_INT_DIGITS` are refused (Python refuses int() of more than 4,300 digits).
- No broken character — half an emoji (a lone UTF-16 surrogate, "\\ud83d" in JSON)
  or NUL ("\\u0000", which PostgreSQL's text and jsonb refuse) — where the bot would
  store, log or send it: in ids, names, the tenant or channel data it is refused; a
  typed message's `text` is repaired (each broken character becomes �) so the person
  still gets an answer; the data of a card action is left to
  `bot.card_data.parse_action`, which refuses it by field name, except section
  fields, which the PEP model refuses with a message on the field
  (pep_model/sections.py).

Every refusal is a NotAnActivity, which the server answers with 400 and its reason.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # activities Teams sends nest about 10 deep
MAX_INT_DIGITS = 20  # int64 and then some

NOT_JSON = "the body is not valid JSON"
NOT_AN_ACTIVITY = "the body is not an activity"

# how one reaches a UTF-8 body: only as a JSON escape
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CARD_DATA = ("value", "action", "data")
_LISTS = ("attachments", "membersAdded", "membersRemoved", "entities")
_CHANNEL_DATA_OBJECTS = ("tenant", "meeting", "team", "channel")


class NotAnActivity(ValueError):
    """The body cannot be read as an activity; str() is the reason given with the 400."""


def read_activity(raw: bytes) -> dict[str, Any]:
    """The activity the body holds, or NotAnActivity."""
    try:
        text = raw.decode("utf-8")
        body = _DECODER.decode(text)
    except NotAnActivity:
        raise
    except RecursionError:
        raise NotAnActivity(NOT_AN_ACTIVITY) from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise NotAnActivity(NOT_JSON) from None
    unstorable = _UNSTORABLE_ESCAPE.search(text) is not None
    if unstorable or text.count("[") + text.count("{") > MAX_DEPTH:
        _check(body, unstorable)  # the common body has neither: no walk
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise NotAnActivity(NOT_AN_ACTIVITY)
    problem = _shape_problem(body)
    if problem:
        raise NotAnActivity(f"the activity could not be read: {problem}")
    return body


def _shape_problem(body: dict[str, Any]) -> str | None:
    """What the bot reads beyond what botbuilder's Activity checks (bot/host.py
    `activity_from`: ids, names, text, the accounts): lists that are lists, the parts
    of channelData that are objects, a tenant id that is text."""
    for key in _LISTS:
        if body.get(key) is not None and not isinstance(body[key], list):
            return f"{key} is not a list"
    channel_data = body.get("channelData")
    if not isinstance(channel_data, dict):
        return None  # absent, or refused by activity_from
    for key in _CHANNEL_DATA_OBJECTS:
        if channel_data.get(key) is not None and not isinstance(channel_data[key], dict):
            return f"channelData.{key} is not an object"
    tenant = channel_data.get("tenant") or {}
    if tenant.get("id") is not None and not isinstance(tenant["id"], str):
        return "channelData.tenant.id is not text"
    return None


def _not_a_number(constant: str) -> Any:
    raise NotAnActivity(NOT_JSON)  # NaN, Infinity, -Infinity: not JSON


def _finite(number: str) -> float:
    value = float(number)
    if value in (float("inf"), float("-inf")):
        raise NotAnActivity(NOT_AN_ACTIVITY)
    return value


def _bounded_int(number: str) -> int:
    if len(number.lstrip("-")) > MAX_INT_DIGITS:
        raise NotAnActivity(NOT_AN_ACTIVITY)
    return int(number)


# made once: json.loads with options would build a decoder for every request
_DECODER = json.JSONDecoder(
    parse_constant=_not_a_number, parse_float=_finite, parse_int=_bounded_int
)


def _check(body: Any, unstorable: bool) -> None:
    """Walk the body without recursion: refuse nesting deeper than MAX_DEPTH and, when
    the text had an escape of one, strings holding a broken character (see the module
    docstring for where)."""
    if not isinstance(body, (dict, list)):
        return
    card_action = (
        isinstance(body, dict)
        and body.get("type") == "invoke"
        and body.get("name") == "adaptiveCard/action"
    )
    if unstorable and isinstance(body, dict) and isinstance(body.get("text"), str):
        body["text"] = _UNSTORABLE.sub("\ufffd", body["text"])
    stack: list[tuple[Any, tuple[str, ...]]] = [(body, ())]
    while stack:
        node, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            raise NotAnActivity(NOT_AN_ACTIVITY)
        look = unstorable and not (card_action and path[:3] == _CARD_DATA)
        items = (
            node.items() if isinstance(node, dict) else ((str(i), v) for i, v in enumerate(node))
        )
        for key, value in items:
            if look and _UNSTORABLE.search(key):
                raise NotAnActivity(_broken((*path, key)))
            if isinstance(value, (dict, list)):
                stack.append((value, (*path, key)))
            elif look and isinstance(value, str) and _UNSTORABLE.search(value):
                raise NotAnActivity(_broken((*path, key)))


def _broken(path: tuple[str, ...]) -> str:
    where = ".".join(_UNSTORABLE.sub("\ufffd", p)[:40] for p in path) or "the activity"
    return (
        f"{where} contains a broken character (half of a UTF-16 surrogate pair, or "
        "NUL); the activity was not read"
    )
