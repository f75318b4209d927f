"""The aiohttp application: /api/messages, /healthz, /readyz."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

import cards
from bot.activity_body import NotAnActivity, read_activity
from bot.auth import AuthError, TokenValidator, VerifiedToken, channel_refusal
from bot.connector import AzureIdentityToken, Connector, ConnectorError, NoToken, TokenSource
from bot.delivery import Delivery
from bot.download_hosts import DownloadHosts
from bot.finalised_record import send_finalised_record
from bot.host import PepAdapter, activity_from
from bot.identity import IdentityResolver
from bot.invoke_replay import InvokeReplays
from bot.m365_runtime import M365Runtime, open_runtime
from bot.meeting_routes import MeetingRoutes
from bot.personal_routes import PersonalRoutes, record_offer
from bot.qa_routes import build_qa_routes
from bot.reach import reach_for
from bot.routing import Router
from bot.schedule_routes import build_schedule_routes
from bot.settings import Settings
from bot.teams_bot import PepTeamsBot
from bot.turn import ACTIVITY_BODY, Outgoing, Turn, tenant_of
from bot.wiring import Container, build_container
from pep_model.returns import next_date_askers
from pep_model.services import PepView
from store.database import ping
from store.migrate import upgrade

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

CONTAINER = web.AppKey("container", Container)
BOT = web.AppKey("bot", PepTeamsBot)
ADAPTER = web.AppKey("adapter", PepAdapter)
VALIDATOR = web.AppKey("validator", TokenValidator)
DELIVERY = web.AppKey("delivery", Delivery)
ROUTER = web.AppKey("router", Router)
RUNTIME = web.AppKey("m365_runtime", M365Runtime)


def check_startup(settings: Settings) -> None:
    if settings.auth_disabled:
        if settings.host not in LOOPBACK:
            raise SystemExit(
                "PEP_AUTH_DISABLED is only allowed when PEP_HOST is a loopback "
                f"address (it is {settings.host!r})."
            )
        log.warning(
            "AUTHENTICATION IS OFF (PEP_AUTH_DISABLED=true): local demo only, listening on %s only",
            settings.host,
        )
    elif not settings.app_id:
        raise SystemExit(
            "PEP_APP_ID is not set: set the bot's app id, or PEP_AUTH_DISABLED="
            "true for a local demo on loopback."
        )
    if settings.app_type == "SingleTenant" and settings.app_password and not settings.app_tenant_id:
        raise SystemExit(
            "PEP_APP_TENANT_ID is not set: a single-tenant bot gets its token from its own tenant."
        )
    if not settings.tenants:
        log.warning("PEP_ALLOWED_TENANTS is empty: activities from any tenant are accepted")


def token_source(settings: Settings) -> TokenSource:
    """The bot's own token for calls to the Bot Connector: from its client secret or
    managed identity. Without either (the Playground, test stand-ins) calls carry none."""
    if (
        settings.auth_disabled
        or not settings.app_id
        or (not settings.app_password and settings.app_type != "UserAssignedMSI")
    ):
        if not settings.auth_disabled:
            log.warning("PEP_APP_PASSWORD is not set: outbound calls carry no token")
        return NoToken()
    from azure.identity.aio import ClientSecretCredential, ManagedIdentityCredential

    credential: Any
    if settings.app_type == "UserAssignedMSI":
        credential = ManagedIdentityCredential(client_id=settings.app_id)
    else:
        credential = ClientSecretCredential(
            settings.app_tenant_id or "botframework.com", settings.app_id, settings.app_password
        )
    return AzureIdentityToken(credential, settings.connector_scope)


def create_app(settings: Settings, container: Container | None = None) -> web.Application:
    check_startup(settings)
    app = web.Application(client_max_size=MAX_BODY_BYTES)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await upgrade(settings.database_url)
        own = container is None
        c = container or build_container(settings)
        session = aiohttp.ClientSession()
        connector = Connector(
            session, token_source(settings), DownloadHosts(settings.download_hosts)
        )
        delivery = Delivery(connector, settings.card_update_coalesce_seconds)
        m365 = open_runtime(c, connector, background=settings.jobs_enabled)
        runtime = await m365.__aenter__()
        app[CONTAINER] = c
        app[DELIVERY] = delivery
        app[RUNTIME] = runtime
        app[ROUTER] = build_router(c, connector, runtime)
        app[ADAPTER] = PepAdapter(connector)
        app[BOT] = PepTeamsBot(app[ROUTER], delivery)
        app[VALIDATOR] = TokenValidator(
            metadata_url=settings.openid_metadata_url,
            issuer=settings.token_issuer,
            app_id=settings.app_id,
            session=session,
        )
        yield
        await m365.__aexit__(None, None, None)
        await delivery.idle()
        await session.close()
        if own:
            await c.close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def build_router(c: Container, connector: Connector, runtime: M365Runtime) -> Router:
    settings = c.settings

    async def member_email(turn: Turn) -> str | None:
        if not turn.service_url or not turn.conversation_id or not turn.user_id:
            return None
        try:
            member = await connector.member(turn.service_url, turn.conversation_id, turn.user_id)
        except (ConnectorError, aiohttp.ClientError, TimeoutError):
            return None
        return str(member.get("email") or member.get("userPrincipalName") or "") or None

    async def deliver_record(view: PepView, turn: Turn) -> list[Outgoing]:
        name, content = await runtime.final_record(view.pep.id)
        return [
            Outgoing(
                attachment=record_offer(name, len(content), view.pep.id), to_user_id=turn.user_id
            )
        ]

    reach = reach_for(c, runtime)

    async def ask_for_next_date(view: PepView) -> list[Outgoing]:
        """Teams for those it knows (or finds); e-mail for the others (pep_model/reach)."""
        async with c.uow() as uow:
            people = await next_date_askers(uow, view.child)
        return await reach.to_people(
            people, cards.next_date_request_card(view), "next date", view.pep.id, view.pep.id
        )

    async def download(url: str) -> bytes:
        return await connector.download(url, settings.max_upload_bytes)

    identity = IdentityResolver(c.uow, member_email)
    meeting = MeetingRoutes(c.service, identity, deliver_record, ask_for_next_date)
    personal = PersonalRoutes(
        c.service, meeting.save_typed, download, connector.upload, runtime.final_record
    )
    qa = build_qa_routes(c, upload=connector.upload, reach=reach)
    qa.on_finalised = lambda pep_id: send_finalised_record(runtime, pep_id)
    schedule = build_schedule_routes(
        runtime, on_returned=lambda pep_id, actor_id: qa.on_pep_returned(pep_id, actor_id)
    )
    return Router(identity, meeting, personal, qa, schedule, replays=InvokeReplays(c.uow, c.clock))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def messages(request: web.Request) -> web.StreamResponse:
    """One activity: token first (before the body is read), then the body read strictly
    (bot/activity_body.py), then what the token and the settings say about it. Every
    refusal is a 4xx with its reason; only a turn that fails answers 500."""
    app = request.app
    settings = app[CONTAINER].settings
    if request.content_type != "application/json":
        return _error(415, "expected application/json")
    token: VerifiedToken | None = None
    if not settings.auth_disabled:
        try:
            token = await app[VALIDATOR].validate(request.headers.get("Authorization"))
        except AuthError as exc:
            log.warning("refused an unauthenticated request: %s", exc)
            return _error(401, "unauthorized")
    try:
        body = read_activity(await request.read())
    except web.HTTPRequestEntityTooLarge:
        return _error(413, "the activity is too large")
    except NotAnActivity as exc:
        log.info("refused a request body: %s", exc)
        return _error(400, str(exc))
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not service_url:
        return _error(400, "the activity has no serviceUrl")
    channel_id = body.get("channelId")
    refused = channel_refusal(channel_id)  # with authentication off, too
    if refused is not None:
        log.warning("refused an activity from channel %.40r: %s", channel_id, refused)
        return _error(403, refused)
    if token is not None:
        try:
            token.vouch_for(service_url=service_url, channel_id=str(channel_id))
        except AuthError as exc:
            log.warning("refused an unauthenticated request: %s", exc)
            return _error(401, "unauthorized")
    try:
        activity = activity_from(body)  # its ids and accounts are text and objects
    except (ValueError, TypeError):
        return _error(400, "the activity could not be read")
    tenants = settings.tenants
    if tenants:
        tenant = tenant_of(body)
        if tenant not in tenants:
            log.warning("refused an activity from tenant %.60r (not allowed)", tenant)
            return _error(403, "this tenant is not allowed")
    adapter = app[ADAPTER]
    context = ACTIVITY_BODY.set(body)
    try:
        response = await adapter.process_activity(
            adapter.auth.result_for(token.claims if token else {}), activity, app[BOT].on_turn
        )
    except Exception:
        log.exception("turn failed for activity %.80r", body.get("id"))
        return _error(500, "the bot could not process this activity")
    finally:
        ACTIVITY_BODY.reset(context)
    if response is not None:
        # json.dumps escapes to ASCII: an answer holding a lone surrogate still encodes
        return web.json_response(response.body, status=int(response.status), dumps=json.dumps)
    return web.Response(status=201)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    if await ping(request.app[CONTAINER].engine):
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "database unreachable"}, status=503)


def run(settings: Settings) -> None:
    app = create_app(settings)
    log.info("PEP Companion listening on http://%s:%d/api/messages", settings.host, settings.port)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
