"""The botbuilder 4.17.1 echo bot, as the SDK's samples write it, for comparison.

CloudAdapter + ConfigurationBotFrameworkAuthentication (real token validation against
the OpenID metadata / JWKS at --metadata-url, issuer and audience checked, `serviceurl`
claim checked), an ActivityHandler that echoes the text back through the Bot Connector
at the activity's serviceUrl. Outbound calls carry no token: a credentials factory that
hands out MicrosoftAppCredentials.empty() (no MSAL, no login service).

Per message turn botbuilder: validates the JWT (keys cached after the first fetch, which
is a blocking `requests` call), builds a ConnectorClient (msrest Configuration, retry
policy) and a UserTokenClient, runs the middleware pipeline and the handler, and posts
the reply with the synchronous msrest/requests client in a thread pool.

    python bench/echo_bot.py --port 3979 --metadata-url http://127.0.0.1:PORT/v1/.well-known/openidconfiguration

bench/bench_card_action.py starts it in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web
from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botframework.connector.auth import (
    AppCredentials,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)

ISSUER = "https://api.botframework.com"
APP_ID = "11111111-2222-3333-4444-555555555555"


class Config:
    """The attributes ConfigurationBotFrameworkAuthentication reads (see
    docs in /work/shared/docs/platform.md). Setting the metadata URL / issuer switches
    botbuilder to its parameterised authentication path."""

    def __init__(self, metadata_url: str, issuer: str, app_id: str) -> None:
        self.APP_ID = app_id
        self.APP_PASSWORD = ""
        self.APP_TYPE = "SingleTenant"
        self.APP_TENANTID = ""
        self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = metadata_url
        self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = metadata_url
        self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = issuer
        self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = "https://api.botframework.com"
        self.TO_CHANNEL_FROM_BOT_LOGIN_URL = "https://login.microsoftonline.com/botframework.com"
        self.VALIDATE_AUTHORITY = True
        self.CALLER_ID = None
        self.OAUTH_URL = None
        self.CHANNEL_SERVICE = None


class NoOutboundCredentials(ServiceClientCredentialsFactory):
    """Inbound tokens are validated for this app id; outbound calls carry no token."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id

    async def is_valid_app_id(self, app_id: str) -> bool:
        return app_id == self.app_id

    async def is_authentication_disabled(self) -> bool:
        return False

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        return MicrosoftAppCredentials.empty()


class EchoBot(ActivityHandler):
    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))


def create_app(metadata_url: str, issuer: str = ISSUER, app_id: str = APP_ID) -> web.Application:
    auth = ConfigurationBotFrameworkAuthentication(
        Config(metadata_url, issuer, app_id), credentials_factory=NoOutboundCredentials(app_id)
    )
    adapter = CloudAdapter(auth)
    bot = EchoBot()

    async def messages(request: web.Request) -> web.StreamResponse:
        response = await adapter.process(request, bot)
        return response if response is not None else web.Response(status=201)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(host: str, port: int, metadata_url: str) -> None:
    runner = web.AppRunner(create_app(metadata_url))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"echo bot listening on http://{host}:{port}/api/messages", flush=True)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3979)
    p.add_argument("--metadata-url", required=True)
    args = p.parse_args()
    asyncio.run(serve(args.host, args.port, args.metadata_url))


if __name__ == "__main__":
    main()
