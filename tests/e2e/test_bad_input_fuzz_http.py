"""Whatever a sender puts in an activity, the bot answers 2xx or 4xx, never 5xx, and
logs no failure: signed activities of every kind the bot handles, with one to three
values replaced by values of other types (or removed), posted over real HTTP.

Seeded, so a failure replays; PEP_FUZZ_ROUNDS runs more (each round is 150 posts)."""

from __future__ import annotations

import copy
import json
import logging
import os
import random
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import HARRIET, BotEnv
from tests.support.teams import activity

PEP_ID = "LCS100001-2026-autumn"
ROUNDS = int(os.environ.get("PEP_FUZZ_ROUNDS", "2"))
POSTS_PER_ROUND = 150

KINDS: list[dict[str, Any]] = [
    {"type": "message", "text": "my peps"},
    {
        "type": "message",
        "text": "<at>PEP Companion</at> start pep",
        "conversation_type": "groupChat",
    },
    {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.teams.file.download.info",
                "name": "form.docx",
                "content": {
                    "downloadUrl": "http://127.0.0.1:9/form.docx",
                    "uniqueId": "u",
                    "fileType": "docx",
                },
            }
        ],
    },
    {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {
            "action": {
                "type": "Action.Execute",
                "verb": "pep.section.save",
                "data": {"pep_id": PEP_ID, "version": "1", "section": "voice", "f.views": "Art"},
            },
            "trigger": "manual",
        },
    },
    {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {"action": {"type": "Action.Execute", "verb": "pep.list", "data": {"page": "2"}}},
    },
    {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {
            "action": {
                "type": "Action.Execute",
                "verb": "pep.open",
                "data": {"pep_id": PEP_ID, "child_id": "LCS100001"},
            }
        },
    },
    {
        "type": "invoke",
        "name": "fileConsent/invoke",
        "value": {
            "type": "fileUpload",
            "action": "decline",
            "context": {"pep_id": PEP_ID, "term_id": "2026-autumn"},
        },
    },
    {
        "type": "event",
        "name": "application/vnd.microsoft.meetingStart",
        "value": {"Id": "m-1"},
        "conversation_type": "groupChat",
        "meeting_id": "m-1",
    },
    {
        "type": "event",
        "name": "application/vnd.microsoft.meetingParticipantJoin",
        "value": {
            "members": [
                {
                    "user": {"id": "29:rachel", "aadObjectId": "aad-rachel"},
                    "meeting": {"role": "Attendee", "inMeeting": True},
                }
            ]
        },
        "conversation_type": "groupChat",
        "meeting_id": "m-1",
    },
    {
        "type": "conversationUpdate",
        "membersAdded": [{"id": "28:pep-companion"}],
        "conversation_type": "groupChat",
    },
]
ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    10**15,
    True,
    "",
    "x",
    "²",
    "9" * 30,
    "\ud83d",
    "a\udc00b",
    "\x00",
    [],
    [1],
    [{}],
    [[[]]],
    {},
    {"a": 1},
    {"id": {}},
    {"id": "x"},
    "msteams",
    "personal",
    "groupChat",
    "29:harriet",
    "LCS100001",
    PEP_ID,
    "voice",
    "2026-autumn",
    "accept",
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def _mutated(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice([p for p in _paths(body) if p[0] != "serviceUrl"])
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and rng.random() < 0.15:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return body


@pytest.mark.parametrize("seed", range(ROUNDS))
async def test_no_activity_gets_a_5xx(
    bot_env: BotEnv, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(seed)
    failures = []
    for _ in range(POSTS_PER_ROUND):
        kind = dict(rng.choice(KINDS))
        chat = "19:meeting_x@thread.v2" if kind.get("conversation_type") else "a:personal-harriet"
        body = _mutated(activity(bot_env.service_url, chat, *HARRIET, **kind), rng)
        caplog.clear()
        response = await bot_env.post(body)
        logged = [
            r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info
        ]
        if response.status >= 500 or logged:
            failures.append((response.status, logged, json.dumps(body)[:600]))
    assert not failures, "\n".join(map(str, failures))
