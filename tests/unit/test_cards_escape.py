"""Nothing a person types can become Markdown on a card: every TextBlock and every Fact
of every card kind is inert Markdown — the words show as typed, never as a link, bold
text, a list, a heading or an image. (The official renderer with Markdown:
tests/integration/test_cards_escape_render.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cards
from cards.elements import plain
from tests.unit.hostile_cards import (
    INLINE,
    NAME,
    TRICKS,
    list_cards,
    qa_and_pp_cards,
    walkthrough_cards,
)

_BLOCK_START = re.compile(r"#{1,6}(\s|$)|>|[-+*](\s|$)|--|\d{1,9}[.)](\s|$)|\s")
_ENTITY = re.compile(r"&#?\w+;")


def live_markdown(value: str) -> list[str]:
    """What in `value` a Markdown renderer would read as formatting (empty: none)."""
    found = []
    for paragraph in value.split("\n\n"):
        if "\n" in paragraph:
            found.append(f"a line break inside a paragraph: {paragraph!r}")
        if _BLOCK_START.match(paragraph):
            found.append(f"a block (heading, quote, list, rule, code): {paragraph!r}")
        i = 0
        while i < len(paragraph):
            char = paragraph[i]
            if char == "\\":
                i += 2
                continue
            if char in "`*_[]<~" or _ENTITY.match(paragraph, i):
                found.append(f"{char!r} in {paragraph!r}")
            i += 1
    return found


def shown_strings(node: Any) -> Iterator[str]:
    """Every string Teams reads as Markdown: TextBlock.text, Fact.title and Fact.value
    (in nested ShowCard cards too)."""
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            yield node["text"]
        if node.get("type") == "FactSet":
            for fact in node["facts"]:
                yield fact["title"]
                yield fact["value"]
        for key, value in node.items():
            if key != "data":
                yield from shown_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from shown_strings(value)


def as_read(markdown: str) -> str:
    """The characters a person reads: escapes taken out."""
    return re.sub(r"\\(.)", r"\1", markdown)


ALL = walkthrough_cards() + list_cards() + qa_and_pp_cards()


@pytest.mark.parametrize(("name", "card"), ALL, ids=[name for name, _ in ALL])
def test_no_card_shows_live_markdown(name: str, card: dict[str, Any]) -> None:
    problems = [p for s in shown_strings(card) for p in live_markdown(s)]
    assert problems == []


@pytest.mark.parametrize(("name", "card"), ALL, ids=[name for name, _ in ALL])
def test_what_was_typed_is_on_the_card_as_typed(name: str, card: dict[str, Any]) -> None:
    read = "\n".join(as_read(s) for s in shown_strings(card))
    typed_there = any(trick in read for trick in (*TRICKS, INLINE, NAME))
    assert typed_there is (name not in NOTHING_TYPED), read[:500]


# no child data; initials and fixed words only; the typed reason is in its input box
NOTHING_TYPED = {"shared", "readiness", "next date"}


def test_the_child_voice_reads_as_typed_in_the_viewer_and_in_full() -> None:
    cards = dict(walkthrough_cards())
    for name in ("viewer voice", "read only voice", "in full voice"):
        read = "\n".join(as_read(s) for s in shown_strings(cards[name]))
        assert all(trick in read for trick in TRICKS), name


@pytest.mark.parametrize(
    ("typed", "markdown"),
    [
        ("[link](http://evil.example)", r"\[link\](http://evil.example)"),
        ("**x**", r"\*\*x\*\*"),
        ("_x_", r"\_x\_"),
        ("`code`", r"\`code\`"),
        ("![img](x.png)", r"!\[img\](x.png)"),
        ("<b>", r"\<b>"),
        ("~~gone~~", r"\~\~gone\~\~"),
        ("&amp;", r"\&amp;"),
        ("a\\b", r"a\\b"),
        ("# h", r"\# h"),
        ("- item", r"\- item"),
        ("+ item", r"\+ item"),
        ("> quoted", r"\> quoted"),
        ("---", r"\---"),
        ("1. x", r"1\. x"),
        ("12) x", r"12\) x"),
        ("one\ntwo\r\n\n  three", "one\n\ntwo\n\nthree"),
    ],
)
def test_plain_escapes_what_markdown_would_read(typed: str, markdown: str) -> None:
    assert plain(typed) == markdown
    assert live_markdown(plain(typed)) == []


@pytest.mark.parametrize(
    "ordinary",
    [
        "Ben O'Neill",
        "well-being",
        "1.5 hours a week",
        "-5 degrees",
        "#1 at maths",
        "Tom & Jerry",
        "a < b",
        "Year 7 (autumn)",
        "95.0%",
        "Section 3 of 14  ▰▰▰▱",
        "Reads with her; attends parents' evenings.",
        "😀 happy",
    ],
)
def test_ordinary_words_are_left_alone(ordinary: str) -> None:
    expected = ordinary.replace("<", "\\<")  # the one escape ordinary words may need
    assert plain(ordinary) == expected


def test_text_reaches_a_card_only_through_plain() -> None:
    """The one mechanism: a new card that built a TextBlock or a Fact by hand would show
    typed Markdown. Only elements.py builds them (through plain()); the shared walkthrough
    message, a plain dict, passes each of its texts through plain() itself."""
    cards_dir = Path(cards.__file__).parent
    for path in sorted(cards_dir.glob("*.py")):
        if path.name == "elements.py":
            continue
        source = path.read_text("utf-8")
        assert not re.search(r"\bac\.(TextBlock|Fact|TextRun|RichTextBlock)\(", source), path
        assert len(re.findall(r'"text":', source)) == len(re.findall(r'"text": plain\(', source)), (
            path
        )
