"""The bot's aiohttp app with the Microsoft 365 routes wired in exactly as bot/server.py
will wire them (see docs/m365.md, "Wiring"): the M365 runtime opened with the app's Bot
Connector, the scheduling verbs added to the Router, its commands asked first for
messages, and conversationUpdate passed to it for the Virtual School channel."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web

from bot.m365_runtime import M365Runtime, open_runtime
from bot.schedule_routes import ScheduleRoutes, build_schedule_routes
from bot.server import CONTAINER, DELIVERY, ROUTER
from bot.turn import Reply, Turn

RUNTIME = web.AppKey("m365_runtime", M365Runtime)
ROUTES = web.AppKey("schedule_routes", ScheduleRoutes)


def with_m365(app: web.Application, *, background: bool = False) -> web.Application:
    stack = AsyncExitStack()

    async def startup(app: web.Application) -> None:
        runtime = await stack.enter_async_context(open_runtime(
            app[CONTAINER], app[DELIVERY].connector, background=background))
        routes = build_schedule_routes(runtime)
        router = app[ROUTER]
        router.verbs.update(routes.verbs())
        on_message, handle = router.on_message, router.handle

        async def on_message_first(turn: Turn) -> Reply:
            actor = await router.identity.resolve(turn)
            reply = await routes.command(turn, actor, turn.text)
            return reply if reply is not None else await on_message(turn)

        async def handle_first(turn: Turn) -> Reply:
            if turn.type == "conversationUpdate":
                reply = await routes.on_installed(turn)
                if reply is not None:
                    return reply
            return await handle(turn)

        router.on_message = on_message_first  # type: ignore[method-assign]
        router.handle = handle_first  # type: ignore[method-assign]
        app[RUNTIME] = runtime
        app[ROUTES] = routes

    async def cleanup(app: web.Application) -> None:
        await stack.aclose()

    app.on_startup.append(startup)
    app.on_cleanup.insert(0, cleanup)
    return app


def runtime_of(app: Any) -> M365Runtime:
    return app[RUNTIME]  # type: ignore[no-any-return]
