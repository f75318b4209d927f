"""The Microsoft 365 runtime of a running app (bot/server.py opens it with the app)."""

from __future__ import annotations

from typing import Any

from bot.m365_runtime import M365Runtime
from bot.server import RUNTIME


def runtime_of(app: Any) -> M365Runtime:
    return app[RUNTIME]  # type: ignore[no-any-return]
