"""Hostile files and links sent to the bot through the real HTTP stack: a zip bomb, a
download address outside PEP_DOWNLOAD_HOSTS (or a redirect to one), a stranger's file,
a message with too many files. Nothing is fetched that should not be, and the answers
do not tell a refused host from a closed port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tests.e2e.conftest import HARRIET, STRANGER, BotEnv
from tests.support.loopback import serve
from tests.support.teams import card_text
from tests.support.zip_bombs import GB, bomb_docx

PERSONAL = "a:personal-harriet"
STRANGER_CHAT = "a:personal-stranger"
NAMES = ("a.docx", "b.docx", "c.docx", "d.docx")
COULD_NOT = "I could not download {name}. Please send it again."


def _attachment(name: str, url: str) -> dict[str, Any]:
    return {
        "contentType": "application/vnd.microsoft.teams.file.download.info",
        "name": name,
        "contentUrl": f"https://contoso.invalid/{name}",
        "content": {"downloadUrl": url, "uniqueId": name, "fileType": "docx"},
    }


@pytest.fixture
async def elsewhere() -> AsyncIterator[tuple[str, list[str]]]:
    """A server on loopback that is NOT in the download hosts; it records each request."""
    asked: list[str] = []

    async def anything(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(body=b"internal secrets")

    app = web.Application()
    app.router.add_get("/{tail:.*}", anything)
    runner, base = await serve(app)
    yield base, asked
    await runner.cleanup()


async def _answer(
    bot_env: BotEnv, who: tuple[str, str], chat: str, attachments: list[dict[str, Any]]
) -> list[str]:
    before = len(bot_env.connector.cards(chat))
    await bot_env.send(who, chat, attachments=attachments)
    return [card_text(c) for c in bot_env.connector.cards(chat)[before:]]


async def test_a_zip_bomb_is_refused_as_not_a_pep_form(bot_env: BotEnv) -> None:
    bomb = bot_env.connector.file_attachment("PEP-LCS100001.docx", bomb_docx(GB))
    [text] = await _answer(bot_env, HARRIET, PERSONAL, [bomb])
    assert "Not a PEP form" in text
    assert "packed more than 100 times tighter than Word packs a document" in text


async def test_nothing_is_downloaded_for_someone_not_on_record(bot_env: BotEnv) -> None:
    form = bot_env.connector.file_attachment("form.docx", bomb_docx(GB))
    [text] = await _answer(bot_env, STRANGER, STRANGER_CHAT, [form])
    assert "can't find you in this authority's PEP records" in text
    assert bot_env.connector.downloads == []


async def test_a_host_outside_the_list_is_never_asked(
    bot_env: BotEnv, elsewhere: tuple[str, list[str]]
) -> None:
    base, asked = elsewhere
    texts = await _answer(
        bot_env,
        HARRIET,
        PERSONAL,
        [
            _attachment("a.docx", f"{base}/secret.docx"),
            _attachment("b.docx", "https://example.org/form.docx"),
            _attachment("c.docx", "http://127.0.0.1:9/form.docx"),  # a closed port
            _attachment("d.docx", "file:///etc/passwd"),
        ],
    )
    assert asked == []
    # one answer for a refused host, an https site, a closed port: no port oracle
    assert [t.replace(n, "NAME") for n, t in zip(NAMES, texts, strict=True)] == [
        texts[0].replace("a.docx", "NAME")
    ] * 4
    assert COULD_NOT.format(name="a.docx") in texts[0]


async def test_a_redirect_off_the_list_is_not_followed(
    bot_env: BotEnv, elsewhere: tuple[str, list[str]]
) -> None:
    base, asked = elsewhere
    attachment = bot_env.connector.file_attachment("form.docx", b"")
    bot_env.connector.redirects["form.docx"] = f"{base}/latest/meta-data/"
    [text] = await _answer(bot_env, HARRIET, PERSONAL, [attachment])
    assert COULD_NOT.format(name="form.docx") in text
    assert bot_env.connector.downloads == ["form.docx"]
    assert asked == []


async def test_a_redirect_within_the_list_is_followed(bot_env: BotEnv) -> None:
    moved = bot_env.connector.file_attachment("moved.docx", b"")
    bot_env.connector.file_attachment("real.docx", b"not a zip")
    bot_env.connector.redirects["moved.docx"] = f"{bot_env.connector.base_url}/files/real.docx"
    [text] = await _answer(bot_env, HARRIET, PERSONAL, [moved])
    assert bot_env.connector.downloads == ["moved.docx", "real.docx"]
    assert "moved.docx: This file is not a Word document (.docx) or it is damaged" in text


async def test_endless_redirects_stop(bot_env: BotEnv) -> None:
    loop = bot_env.connector.file_attachment("loop.docx", b"")
    bot_env.connector.redirects["loop.docx"] = f"{bot_env.connector.base_url}/files/loop.docx"
    [text] = await _answer(bot_env, HARRIET, PERSONAL, [loop])
    assert COULD_NOT.format(name="loop.docx") in text
    assert len(bot_env.connector.downloads) == 6  # the first request and 5 redirects


async def test_a_message_with_too_many_files_reads_none(bot_env: BotEnv) -> None:
    files = [bot_env.connector.file_attachment(f"form{i}.docx", bomb_docx(GB)) for i in range(6)]
    [text] = await _answer(bot_env, HARRIET, PERSONAL, files)
    assert "I read up to 5 forms from one message and this one has 6 files" in text
    assert bot_env.connector.downloads == []
