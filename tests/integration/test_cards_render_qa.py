"""Every QA, PP+ and overview card variant through the official Adaptive Cards renderer
with the Teams host config (one browser launch)."""

from __future__ import annotations

import pytest

from tests.support.card_check import render_available, render_errors, schema_errors
from tests.support.tools import needs
from tests.unit.qa_card_fixtures import all_variants

pytestmark = pytest.mark.browser


def test_every_qa_pp_and_overview_card_renders_without_errors() -> None:
    needs(render_available())
    variants = all_variants()
    assert {name: schema_errors(card) for name, card in variants if schema_errors(card)} == {}
    results = render_errors([card for _, card in variants])
    problems = {
        name: messages for (name, _), messages in zip(variants, results, strict=True) if messages
    }
    assert problems == {}
