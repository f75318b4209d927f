"""The body of an activity, read strictly: what no JSON parser or later step may choke
on is refused with its reason; a person's typed text is repaired instead."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.activity_body import (
    MAX_DEPTH,
    NOT_AN_ACTIVITY,
    NOT_JSON,
    NotAnActivity,
    read_activity,
)

HALF_EMOJI = "\ud83d"


def _body(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "id": "1",
        "channelId": "msteams",
        "serviceUrl": "https://smba.example/",
        "text": "help",
        "conversation": {"id": "a:1"},
        "from": {"id": "29:1"},
    }
    body.update(kw)
    return body


def _raw(body: Any) -> bytes:
    return json.dumps(body).encode()  # a lone surrogate goes out as the \ud83d escape


def _refusal(raw: bytes) -> str:
    with pytest.raises(NotAnActivity) as refused:
        read_activity(raw)
    return str(refused.value)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_an_ordinary_activity_is_read_as_sent() -> None:
    body = _body(
        value={"action": {"verb": "x", "data": {"n": 3, "f": 2.5}}},
        entities=[{"type": "mention", "text": "😀 ok"}],
    )
    assert read_activity(_raw(body)) == body


@pytest.mark.parametrize("depth", [2048, 200, MAX_DEPTH + 1])
def test_nesting_deeper_than_any_activity_is_refused(depth: int) -> None:
    raw = _raw(_body(value="@@")).replace(b'"@@"', _nested(depth).encode())
    assert _refusal(raw) == NOT_AN_ACTIVITY
    assert _refusal(_nested(depth).encode()) == NOT_AN_ACTIVITY


def test_nesting_as_deep_as_a_card_gets_is_read() -> None:
    raw = _raw(_body(value="@@")).replace(b'"@@"', _nested(MAX_DEPTH - 2).encode())
    assert read_activity(raw)["type"] == "message"


@pytest.mark.parametrize(
    "number,reason",
    [
        ("NaN", NOT_JSON),
        ("Infinity", NOT_JSON),
        ("-Infinity", NOT_JSON),
        ("1e999", NOT_AN_ACTIVITY),
        ("-1e999", NOT_AN_ACTIVITY),
        ("1" * 21, NOT_AN_ACTIVITY),
        ("1" * 5000, NOT_AN_ACTIVITY),
    ],
)
def test_numbers_json_or_python_cannot_hold_are_refused(number: str, reason: str) -> None:
    raw = _raw(_body(value="@@")).replace(b'"@@"', number.encode())
    assert _refusal(raw) == reason


def test_long_but_ordinary_numbers_are_read() -> None:
    raw = _raw(_body(value="@@")).replace(b'"@@"', b"[-12345678901234567890, 1e300]")
    assert read_activity(raw)["value"] == [-12345678901234567890, 1e300]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type": "message", "text": "\xff"}',  # not UTF-8
        b'{"type": "message", "text": "\xed\xa0\xbd"}',  # a surrogate encoded in UTF-8
        '{"type": "message"}'.encode("utf-16"),  # JSON, but not in UTF-8
        b"{not json",
        b"",
    ],
)
def test_bodies_that_are_not_utf8_json_are_refused(raw: bytes) -> None:
    assert _refusal(raw) == NOT_JSON


@pytest.mark.parametrize(
    "path",
    [
        ("conversation", "id"),
        ("from", "id"),
        ("id",),
        ("channelData", "tenant", "id"),
        ("value", "pep_id"),
    ],
)
def test_a_half_emoji_in_the_activity_is_refused_naming_where(path: tuple[str, ...]) -> None:
    body = _body(channelData={"tenant": {"id": "t"}}, value={"pep_id": "p"})
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] += HALF_EMOJI
    reason = _refusal(_raw(body))
    assert reason.startswith(".".join(path)) and "broken character" in reason


def test_a_nul_is_refused_like_half_an_emoji() -> None:
    """PostgreSQL's text and jsonb cannot hold U+0000."""
    assert _refusal(_raw(_body(conversation={"id": "a:1\x00"}))).startswith(
        "conversation.id contains a broken character"
    )
    assert read_activity(_raw(_body(text="my peps\x00")))["text"] == "my peps\ufffd"


def test_a_half_emoji_in_a_key_is_refused() -> None:
    reason = _refusal(_raw(_body(channelData={f"x{HALF_EMOJI}": 1})))
    assert reason.startswith("channelData.x\ufffd contains a broken character")
    reason.encode("utf-8")  # the reason can be sent and logged


def test_a_half_emoji_in_typed_text_is_repaired() -> None:
    read = read_activity(_raw(_body(text=f"my peps {HALF_EMOJI}")))
    assert read["text"] == "my peps \ufffd"


def test_card_data_is_left_to_the_card_reader() -> None:
    """bot.card_data.parse_action refuses it by field name (or the model, for a
    section field) — only in the data of an Action.Execute."""
    data = {"pep_id": HALF_EMOJI, "f.views": f"sand pit {HALF_EMOJI}"}
    invoke = _body(
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": "v", "data": data}},
    )
    assert read_activity(_raw(invoke))["value"]["action"]["data"] == data
    consent = {**invoke, "name": "fileConsent/invoke"}
    assert _refusal(_raw(consent)).startswith("value.action.data.pep_id")


def test_whole_emojis_and_escaped_backslashes_are_text() -> None:
    body = _body(text="😀 \\ud83d is how JSON writes half of it", conversation={"id": "a:😀"})
    raw = json.dumps(body).encode()
    assert b"\\ud83d\\ude00" in raw
    assert read_activity(raw) == body


@pytest.mark.parametrize(
    "change,where",
    [
        ({"attachments": "form.docx"}, "attachments"),
        ({"membersAdded": 7}, "membersAdded"),
        ({"entities": {"type": "mention"}}, "entities"),
        ({"channelData": {"meeting": "m-1"}}, "channelData.meeting"),
        ({"channelData": {"tenant": {"id": ["t"]}}}, "channelData.tenant.id"),
    ],
)
def test_parts_the_bot_reads_must_have_their_shape(change: dict[str, Any], where: str) -> None:
    assert _refusal(_raw(_body(**change))).startswith(f"the activity could not be read: {where}")


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"message"', b'{"text": "no type"}', b'{"type": 7}'])
def test_json_that_is_not_an_activity_is_refused(raw: bytes) -> None:
    assert _refusal(raw) == NOT_AN_ACTIVITY
