"""The bot running for real over HTTP: aiohttp server, signed tokens from a local token
authority, a local Bot Connector, SQLite with the fictional sample authority."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.demo import DEMO_USER_AAD_ID, load_demo_data
from bot.server import DELIVERY, create_app
from bot.settings import Settings
from bot.wiring import Container, build_container
from store.migrate import upgrade
from tests.support.bot_auth import APP_ID, ISSUER, TokenAuthority
from tests.support.stub_connector import StubConnector
from tests.support.teams import TENANT, activity
from tests.unit.fakes import FixedClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TODAY = date(2026, 11, 16)

# people from examples/ (fictional)
HARRIET = ("29:harriet", DEMO_USER_AAD_ID)  # DT, school 999101 (LCS100001)
MARCUS = ("29:marcus", "aad-marcus")  # DT, another school
RACHEL = ("29:rachel", "aad-rachel")  # social worker of LCS100001
MAUREEN = ("29:maureen", "aad-maureen")  # carer of LCS100001
STRANGER = ("29:stranger", "aad-stranger")  # not on record


@dataclass
class BotEnv:
    url: str
    authority: TokenAuthority
    connector: StubConnector
    container: Container
    server: TestServer
    http: aiohttp.ClientSession

    @property
    def service_url(self) -> str:
        return self.connector.base_url

    async def post(
        self,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        sign: bool = True,
    ) -> aiohttp.ClientResponse:
        hdrs = {"Content-Type": content_type}
        if sign:
            hdrs.update(self.authority.header(self.service_url))
        hdrs.update(headers or {})
        data = raw if raw is not None else json.dumps(body).encode()
        async with self.http.post(self.url, data=data, headers=hdrs) as response:
            await response.read()
            return response

    async def send(self, who: tuple[str, str], conversation: str, **kw: Any) -> Any:
        """Post an activity as `who`; returns the invoke answer body (or None)."""
        a = activity(self.service_url, conversation, who[0], who[1], **kw)
        hdrs = {"Content-Type": "application/json", **self.authority.header(self.service_url)}
        async with self.http.post(self.url, json=a, headers=hdrs) as response:
            text = await response.text()
            assert response.status in (200, 201), (response.status, text)
            await self.server.app[DELIVERY].idle()
            return json.loads(text) if text else None

    async def invoke(
        self,
        who: tuple[str, str],
        conversation: str,
        value: Any,
        conversation_type: str = "groupChat",
        **kw: Any,
    ) -> dict[str, Any]:
        body = await self.send(
            who,
            conversation,
            type="invoke",
            name="adaptiveCard/action",
            value=value,
            conversation_type=conversation_type,
            **kw,
        )
        assert body is not None
        return body


# how long a write waits for another process's SQLite writer lock (5 s in production)
SQLITE_TIMEOUT_S = 1.0


def _settings(database: Path, authority_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{database}?timeout={SQLITE_TIMEOUT_S}",
        app_id=APP_ID,
        openid_metadata_url=authority_url,
        token_issuer=ISSUER,
        allowed_tenants=[TENANT],
        forms_dir=tmp_path / "forms",
        outbox_dir=tmp_path / "outbox",
        jobs_enabled=False,
        card_update_coalesce_seconds=0,
    )


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample authority loaded once; each test gets its own copy."""
    folder = tmp_path_factory.mktemp("demo-db")
    database = folder / "template.sqlite3"

    async def build() -> None:
        settings = _settings(database, "http://127.0.0.1:9/unused", folder)
        await upgrade(settings.database_url)
        container = build_container(settings, clock=FixedClock(today=TODAY))
        await load_demo_data(container, EXAMPLES)
        await container.close()

    asyncio.run(build())
    return database


@pytest.fixture
async def bot_env(tmp_path: Path, demo_database: Path) -> AsyncIterator[BotEnv]:
    async with TokenAuthority() as authority, StubConnector() as connector:
        connector.members.update(
            {
                MARCUS[0]: {"id": MARCUS[0], "email": "m.oyelaran@brackenfield.sch.example"},
                RACHEL[0]: {"id": RACHEL[0], "email": "rachel.donnelly@northvale.example"},
                MAUREEN[0]: {"id": MAUREEN[0], "email": "maureen.ashdown@carers.example"},
                STRANGER[0]: {"id": STRANGER[0], "email": "someone@elsewhere.example"},
            }
        )
        database = tmp_path / "pep.sqlite3"
        shutil.copyfile(demo_database, database)
        settings = _settings(database, authority.metadata_url, tmp_path).model_copy(
            update={"download_hosts": [connector.base_url.split("//", 1)[1]]}
        )
        container = build_container(settings, clock=FixedClock(today=TODAY))
        server = TestServer(create_app(settings, container), host="127.0.0.1")
        await server.start_server()
        async with aiohttp.ClientSession() as http:
            yield BotEnv(
                str(server.make_url("/api/messages")), authority, connector, container, server, http
            )
        await server.close()
        await container.close()
