"""Short cards: polite refusals, errors, confirmations, and help."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from adaptive_cards import card as ac
from adaptive_cards import types as act

from cards.elements import card, container, heading
from cards.elements import text as text_block

MessageStyle = Literal["default", "attention", "good"]


def message_card(title: str, text: str, *, style: MessageStyle = "default") -> dict[str, Any]:
    """A title and a line of text, in the given style."""
    color = {"attention": "attention", "good": "good"}.get(style)
    items = [text_block(title, weight="bolder", size="medium", color=color)]
    if text:
        items.append(text_block(text))
    return card([container(items, style=style)])


def help_card(commands: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """What a person can type to the bot, one command a line."""
    body = [
        heading("What I can do"),
        text_block("Type one of these in a chat with me:", subtle=True, spacing="none"),
    ]
    for command, description in commands:
        body.append(
            ac.ColumnSet(
                spacing=act.Spacing.SMALL,
                columns=[
                    ac.Column(width=1, items=[text_block(command, weight=act.FontWeight.BOLDER)]),
                    ac.Column(width=3, items=[text_block(description)]),
                ],
            )
        )
    return card(body)
