"""Typed text on cards, through the official Adaptive Cards renderer with Markdown on
(markdown-it via `AdaptiveCard.onProcessMarkdown`, Teams host config): a child's voice
that tries every Markdown trick shows literally, for the lead, the viewer, the personal
editor, the lists, QA and PP+ — no link, bold, list, heading or image is made from it,
and no escaping backslash is left to see. One browser launch."""

from __future__ import annotations

import pytest

from tests.support.card_check import render_available, run_renderer
from tests.support.tools import needs
from tests.unit.hostile_cards import TRICKS, list_cards, qa_and_pp_cards, walkthrough_cards

pytestmark = pytest.mark.browser

BACKSLASH_TRICK = "a\\b"  # the one trick with a backslash of its own


def test_typed_markdown_shows_literally_in_every_card() -> None:
    needs(render_available())
    variants = walkthrough_cards() + list_cards() + qa_and_pp_cards()
    out = run_renderer([card for _, card in variants], inspect=True)
    assert {
        name: messages
        for (name, _), messages in zip(variants, out["results"], strict=True)
        if messages
    } == {}
    made = {
        name: seen["tags"]
        for (name, _), seen in zip(variants, out["inspected"], strict=True)
        if seen["tags"]
    }
    assert made == {}  # no <a>, <strong>, <em>, <img>, <h1>, <ul>, <li>, <code>, … at all
    shown = {
        name: "\n".join(seen["texts"])
        for (name, _), seen in zip(variants, out["inspected"], strict=True)
    }
    for name in (
        "viewer voice",
        "read only voice",
        "in full voice",
        "viewer summary",
        "qa",
        "pp request",
    ):
        missing = [t for t in TRICKS if t not in shown[name]]
        assert missing == [], name
    stray = {
        name: text for name, text in shown.items() if "\\" in text.replace(BACKSLASH_TRICK, "")
    }
    assert stray == {}
