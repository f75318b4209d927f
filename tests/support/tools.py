"""Tests that need a tool a fresh machine may lack (Chromium, Node's packages,
PostgreSQL): on a developer's machine they skip with what to install; in CI (CI set,
as .ci/run runs) they fail, because CI must run them."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(missing: str) -> NoReturn:
    """Skip with `missing` (what to install), or fail under CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{missing} — CI must run these tests", pytrace=False)
    pytest.skip(missing)


def needs(missing: str | None) -> None:
    """Go on when nothing is missing; else as `unavailable`."""
    if missing is not None:
        unavailable(missing)
