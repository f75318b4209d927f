"""Bad input over the real HTTP stack: malformed numbers in card data, bodies that
would crash a JSON parser, activities from a channel that is not Teams, half emojis,
a Word form over the size limit. Each gets a 4xx or a clear card naming what was
wrong — never a 500, and never a traceback in the log."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.server import DELIVERY, create_app
from bot.wiring import build_container
from cards.lists import LIST, OPEN
from pep_model.pep import pep_id_for
from tests.e2e.conftest import HARRIET, TODAY, BotEnv
from tests.support.teams import TENANT, activity, card_text, inputs, submit
from tests.unit.fakes import FixedClock

PERSONAL = "a:personal-harriet"
PEP_ID = pep_id_for("LCS100001", "2026-autumn")
HALF_EMOJI = "\ud83d"  # the first half of 😀, alone
NUL = "\x00"  # which PostgreSQL's text and jsonb refuse
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def no_traceback_in_the_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    failed = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]
    assert not failed, f"logged as a failure: {failed}"


def _message(env: BotEnv, text: str = "help", **kw: Any) -> dict[str, Any]:
    return activity(env.service_url, PERSONAL, *HARRIET, text=text, **kw)


def _action(verb: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}


def refusal(body: dict[str, Any]) -> str:
    """The text of a "Cannot do that" card answering an invoke."""
    assert body["statusCode"] == 200, body
    assert body["type"] == "application/vnd.microsoft.card.adaptive", body
    text = card_text(body["value"]).replace("\\", "")  # as shown: Markdown unescaped
    assert "Cannot do that" in text, text
    return text


async def _section_card(env: BotEnv) -> dict[str, Any]:
    await env.send(HARRIET, PERSONAL, text="open LCS100001")
    return env.connector.cards(PERSONAL)[-1]


async def _stored_sections(env: BotEnv) -> Any:
    async with env.container.uow() as uow:
        pep = await uow.peps.get(PEP_ID)
    return None if pep is None else (pep.version, pep.sections)


# ---- numbers in card data ------------------------------------------------------------


@pytest.mark.parametrize(
    "version", ["²", "1" * 5000, "١٢", "-1", "1.5", " 7", "", "1234567890", -3, 2.5, True, None]
)
async def test_a_malformed_version_is_refused_by_name(bot_env: BotEnv, version: Any) -> None:
    card = await _section_card(bot_env)
    before = await _stored_sections(bot_env)
    body = await bot_env.invoke(
        HARRIET,
        PERSONAL,
        submit(card, "pep.section.save", {"version": version}),
        conversation_type="personal",
    )
    assert "version" in refusal(body)
    assert await _stored_sections(bot_env) == before


@pytest.mark.parametrize("page", ["²", "9" * 5000, "-2", "two", 2.5, True])
async def test_a_malformed_page_is_refused_by_name(bot_env: BotEnv, page: Any) -> None:
    body = await bot_env.invoke(
        HARRIET, PERSONAL, _action(LIST, {"page": page}), conversation_type="personal"
    )
    assert "page" in refusal(body)


@pytest.mark.parametrize("page", ["2", 2, 1, "999999999", None])
async def test_good_page_numbers_still_list_the_peps(bot_env: BotEnv, page: Any) -> None:
    data = {} if page is None else {"page": page}
    body = await bot_env.invoke(
        HARRIET, PERSONAL, _action(LIST, data), conversation_type="personal"
    )
    assert "LCS100001" in card_text(body["value"])


# ---- bodies that would crash a parser ------------------------------------------------


def _raw(env: BotEnv, value: str) -> bytes:
    """A signed-for message activity whose `value` is the JSON text `value`."""
    return json.dumps(_message(env, value="@@")).replace('"@@"', value).encode()


@pytest.mark.parametrize(
    "value",
    [
        "[" * 2048 + "]" * 2048,  # 2 KB of nesting
        '{"a":' * 150 + "1" + "}" * 150,  # deeper than any activity Teams sends
        "1" + "0" * 5000,  # a 5,000-digit number
        "1e999",
        "NaN",
        "-Infinity",  # not numbers JSON has
    ],
)
async def test_bodies_that_would_crash_a_parser_get_400(bot_env: BotEnv, value: str) -> None:
    async with bot_env.http.post(
        bot_env.url,
        data=_raw(bot_env, value),
        headers={
            "Content-Type": "application/json",
            **bot_env.authority.header(bot_env.service_url),
        },
    ) as response:
        assert response.status == 400
        reason = (await response.json())["error"]
    assert reason == (
        "the body is not valid JSON"
        if "N" in value or "I" in value
        else "the body is not an activity"
    )
    assert bot_env.connector.posted == []


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 2048,
        b'{"type": "message", "text": "\xff"}',
        b'{"type": "message", "text": "\xed\xa0\xbd"}',
    ],
)
async def test_whole_bodies_that_would_crash_a_parser_get_400(bot_env: BotEnv, raw: bytes) -> None:
    response = await bot_env.post(None, raw=raw)
    assert response.status == 400


async def test_an_unsigned_body_is_refused_before_it_is_parsed(bot_env: BotEnv) -> None:
    response = await bot_env.post(None, raw=b"[" * 200_000, sign=False)
    assert response.status == 401


@pytest.mark.parametrize(
    "field,value",
    [
        ("attachments", 7),
        ("attachments", "file"),
        ("membersAdded", 7),
        ("entities", {"type": "mention"}),
        ("channelData", {"meeting": "m-1"}),
        ("channelData", {"tenant": {"id": {"id": "x"}}}),
        ("channelData", {"tenant": ["x"]}),
        ("conversation", {"id": ["a:1"], "tenantId": TENANT}),
        ("from", "29:harriet"),
        ("conversation", {"id": "a:1", "tenantId": {"id": TENANT}}),
        ("text", ["help"]),
    ],
)
async def test_an_activity_of_the_wrong_shape_gets_400(
    bot_env: BotEnv, field: str, value: Any
) -> None:
    body = _message(bot_env)
    body[field] = value
    response = await bot_env.post(body)
    assert response.status == 400
    assert bot_env.connector.posted == []


# ---- tokens and channels -------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [b"Bearer abc\xff.def.ghi", b"Bearer \xc3\xa9t\xc3\xa9", b"\xff\xfe"]
)
async def test_an_authorization_header_that_is_not_ascii_gets_401(
    bot_env: BotEnv, authorization: bytes
) -> None:
    body = json.dumps(_message(bot_env)).encode()
    reader, writer = await asyncio.open_connection(bot_env.server.host, bot_env.server.port)
    writer.write(
        b"POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nAuthorization: "
        + authorization
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] == b"401", status_line


@pytest.mark.parametrize("channel", [None, "", "webchat", "directline", "emulator", "MSTEAMS"])
async def test_only_teams_activities_are_accepted(bot_env: BotEnv, channel: str | None) -> None:
    body = _message(bot_env)
    if channel is None:
        del body["channelId"]
    else:
        body["channelId"] = channel
    response = await bot_env.post(body)
    assert response.status == 403
    assert bot_env.connector.posted == []


@pytest.mark.parametrize("endorsements", [["webchat"], []])
async def test_a_key_not_endorsed_for_teams_is_refused(
    bot_env: BotEnv, endorsements: list[str]
) -> None:
    bot_env.authority.endorsements = endorsements  # before the bot first fetches the keys
    response = await bot_env.post(_message(bot_env))
    assert response.status == 401
    assert bot_env.connector.posted == []


@pytest.fixture
async def auth_off(bot_env: BotEnv) -> AsyncIterator[str]:
    """The bot on the same database with authentication off (the loopback demo with the
    Agents Playground, which sends no tokens)."""
    settings = bot_env.container.settings.model_copy(update={"auth_disabled": True})
    container = build_container(settings, clock=FixedClock(today=TODAY))
    server = TestServer(create_app(settings, container), host="127.0.0.1")
    await server.start_server()
    yield str(server.make_url("/api/messages"))
    await server.close()
    await container.close()


@pytest.mark.parametrize("channel,status", [("msteams", 201), ("webchat", 403), (None, 403)])
async def test_with_auth_off_only_teams_activities_are_accepted(
    bot_env: BotEnv, auth_off: str, channel: str | None, status: int
) -> None:
    body = _message(bot_env)
    if channel is None:
        del body["channelId"]
    else:
        body["channelId"] = channel
    async with bot_env.http.post(auth_off, json=body) as response:
        assert response.status == status


# ---- half an emoji (a lone UTF-16 surrogate) -----------------------------------------


@pytest.mark.parametrize("broken", [HALF_EMOJI, NUL])
@pytest.mark.parametrize(
    "where",
    [
        ("conversation", "id"),
        ("from", "id"),
        ("from", "aadObjectId"),
        ("recipient", "id"),
        ("channelData", "tenant"),
    ],
)
async def test_a_broken_character_in_the_activity_itself_gets_400(
    bot_env: BotEnv, where: tuple[str, str], broken: str
) -> None:
    body = _message(bot_env)
    outer, inner = where
    if inner == "tenant":
        body[outer][inner]["id"] += broken
    else:
        body[outer][inner] = f"{body[outer][inner]}{broken}"
    response = await bot_env.post(body)
    assert response.status == 400
    assert bot_env.connector.posted == []


async def test_a_half_emoji_in_typed_text_still_gets_an_answer(bot_env: BotEnv) -> None:
    response = await bot_env.post(_message(bot_env, text=f"help {HALF_EMOJI}"))
    assert response.status == 201
    await bot_env.server.app[DELIVERY].idle()
    assert bot_env.connector.cards(PERSONAL)


@pytest.mark.parametrize(
    "data,field",
    [
        ({"pep_id": f"{PEP_ID}{HALF_EMOJI}"}, "pep_id"),
        ({"pep_id": f"{PEP_ID}{NUL}"}, "pep_id"),  # PostgreSQL cannot hold it
        ({"pep_id": PEP_ID, f"note{HALF_EMOJI}": "x"}, "note"),
    ],
)
async def test_a_half_emoji_in_card_data_is_refused_by_name(
    bot_env: BotEnv, data: dict[str, Any], field: str
) -> None:
    body = await bot_env.invoke(
        HARRIET, PERSONAL, _action(OPEN, data), conversation_type="personal"
    )
    text = refusal(body)
    assert field in text and "broken character" in text


async def test_a_half_emoji_in_a_section_field_is_never_a_500(bot_env: BotEnv) -> None:
    card = await _section_card(bot_env)
    typed = {
        k: f"Likes story time {HALF_EMOJI}"
        for k, v in inputs(card).items()
        if k.startswith("f.") and isinstance(v, str)
    }
    assert typed, "the section card has no text inputs"
    async with bot_env.http.post(
        bot_env.url,
        json=activity(
            bot_env.service_url,
            PERSONAL,
            *HARRIET,
            type="invoke",
            name="adaptiveCard/action",
            value=submit(card, "pep.section.save", typed),
        ),
        headers={
            "Content-Type": "application/json",
            **bot_env.authority.header(bot_env.service_url),
        },
    ) as response:
        assert response.status == 200
        answer = await response.text()
    # the answer can be stored and shown anywhere: no half emoji went back in it
    assert not re.search(r"\\ud[89a-f][0-9a-f]{2}", answer, re.IGNORECASE)
    _, sections = await _stored_sections(bot_env)
    assert HALF_EMOJI not in json.dumps(sections, ensure_ascii=False)


# ---- a Word form over the size limit -------------------------------------------------


async def test_a_form_over_the_size_limit_is_refused_naming_the_limit(bot_env: BotEnv) -> None:
    big = bot_env.connector.file_attachment("PEP-LCS100001.docx", b"\0" * (14 * MB))
    await bot_env.send(HARRIET, PERSONAL, attachments=[big])
    text = card_text(bot_env.connector.cards(PERSONAL)[-1])
    assert "PEP forms up to 10 MB can be read" in text
    assert "PEP-LCS100001.docx is 14 MB" in text


async def test_a_form_that_grows_past_the_limit_is_refused_naming_the_limit(
    bot_env: BotEnv,
) -> None:
    # a download that does not say its size (chunked) and runs past 10 MB
    attachment = bot_env.connector.file_attachment("big.docx", b"\0" * (12 * MB))
    bot_env.connector.unsized.add("big.docx")
    await bot_env.send(HARRIET, PERSONAL, attachments=[attachment])
    text = card_text(bot_env.connector.cards(PERSONAL)[-1])
    assert "PEP forms up to 10 MB can be read" in text
    assert "big.docx is larger than that" in text
