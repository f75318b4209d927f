"""Every request is authenticated; every failure is a 401 (or 403 for a tenant that is
not allowed), never a 500; bad bodies get a clear 4xx."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import HARRIET, BotEnv
from tests.support.teams import activity


def _message(env: BotEnv, **kw: object) -> dict:
    return activity(env.service_url, "a:personal-harriet", *HARRIET, text="help", **kw)


async def test_signed_request_is_accepted_and_answered(bot_env: BotEnv) -> None:
    response = await bot_env.post(_message(bot_env))
    assert response.status == 201
    posted = [p for p in bot_env.connector.posted if p.conversation_id == "a:personal-harriet"]
    assert posted, "the help card was not posted back to the conversation"


@pytest.mark.parametrize(
    "case",
    [
        "no header",
        "not bearer",
        "garbage",
        "expired",
        "wrong audience",
        "wrong issuer",
        "unknown key",
        "bad signature",
        "wrong serviceurl",
    ],
)
async def test_every_auth_failure_is_401(bot_env: BotEnv, case: str) -> None:
    a = bot_env.authority
    url = bot_env.service_url
    headers = {
        "no header": {},
        "not bearer": {"Authorization": "Basic dXNlcjpwYXNz"},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "expired": a.header(url, expires_in=-3600),
        "wrong audience": a.header(url, audience="someone-else"),
        "wrong issuer": a.header(url, issuer="https://evil.example"),
        "unknown key": a.header(url, kid="no-such-key"),
        "bad signature": a.header(url, wrong_key=True),
        "wrong serviceurl": a.header("https://smba.trafficmanager.net/other/"),
    }[case]
    before = len(bot_env.connector.posted)
    response = await bot_env.post(_message(bot_env), headers=headers, sign=False)
    assert response.status == 401
    assert len(bot_env.connector.posted) == before


async def test_other_tenant_is_refused(bot_env: BotEnv) -> None:
    body = _message(bot_env)
    body["channelData"]["tenant"]["id"] = "99999999-0000-0000-0000-000000000000"
    body["conversation"]["tenantId"] = "99999999-0000-0000-0000-000000000000"
    response = await bot_env.post(body)
    assert response.status == 403


@pytest.mark.parametrize(
    "raw,content_type,status",
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b'{"text": "no type"}', "application/json", 400),
        (b'{"type": "message"}', "application/json", 400),
        (b"hello", "text/plain", 415),
        (b'{"type": "message", "pad": "' + b"x" * 400_000 + b'"}', "application/json", 413),
    ],
)
async def test_malformed_bodies_get_a_clear_4xx(
    bot_env: BotEnv, raw: bytes, content_type: str, status: int
) -> None:
    response = await bot_env.post(None, raw=raw, content_type=content_type)
    assert response.status == status


async def test_health_and_readiness(bot_env: BotEnv) -> None:
    async with bot_env.http.get(str(bot_env.server.make_url("/healthz"))) as r:
        assert r.status == 200
    async with bot_env.http.get(str(bot_env.server.make_url("/readyz"))) as r:
        assert r.status == 200
        assert (await r.json())["status"] == "ready"


async def test_unreachable_connector_does_not_fail_the_request(bot_env: BotEnv) -> None:
    down = "http://127.0.0.1:9/"  # nothing listens there
    body = activity(down, "a:personal-harriet", *HARRIET, text="my peps")
    response = await bot_env.post(body, headers=bot_env.authority.header(down), sign=False)
    assert response.status == 201


def test_settings_that_cannot_work_stop_the_start() -> None:
    from bot.server import check_startup
    from bot.settings import Settings

    with pytest.raises(SystemExit, match="loopback"):
        check_startup(Settings(_env_file=None, auth_disabled=True, host="0.0.0.0"))
    with pytest.raises(SystemExit, match="PEP_APP_ID"):
        check_startup(Settings(_env_file=None))
    with pytest.raises(SystemExit, match="PEP_APP_TENANT_ID"):
        check_startup(
            Settings(
                _env_file=None, app_id="11111111-2222-3333-4444-555555555555", app_password="secret"
            )
        )
