"""Long answers over HTTP, as Teams drives them: a section filled to its limits with
emoji still gives cards Teams takes (measured in UTF-16), shortened with "Show all";
"Show all" shows the answer in full to the people working with the child (initials only
in the meeting chat, the full name in a one-to-one chat), "Back" returns, and a child's
Markdown shows as typed."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.e2e.conftest import HARRIET, MAUREEN, STRANGER, BotEnv
from tests.e2e.test_walkthrough_http import CHAT, card_of, start_walkthrough
from tests.support.card_check import card_size
from tests.support.teams import actions, card_text, go_to, submit

PERSONAL = "a:personal-harriet"
LONG = "😀" * 3970 + "[link](http://evil.example)"  # 3997 characters, 7,967 UTF-16 units
TOO_LARGE = 40 * 1024


def shown(card: dict[str, Any]) -> str:
    """What the card's TextBlocks say, Markdown escapes taken out."""
    return re.sub(r"\\(.)", r"\1", card_text(card))


async def test_a_section_at_its_limits_fits_and_show_all_shows_it(bot_env: BotEnv) -> None:
    env = bot_env
    lead = await start_walkthrough(env)
    lead = card_of(await env.invoke(HARRIET, CHAT, go_to(lead, "wellbeing")))
    saved = card_of(
        await env.invoke(
            HARRIET,
            CHAT,
            submit(
                lead,
                "pep.section.save",
                {"f.strengths": LONG, "f.concerns": LONG, "f.support": LONG},
            ),
        )
    )
    async with env.container.uow() as uow:
        pep = await uow.peps.get("LCS100001-2026-autumn")
    assert pep.sections["wellbeing"]["support"] == LONG

    # the lead's card: too long to edit in Teams, read-only with "Show all"; it fits
    assert card_size(saved) <= TOO_LARGE
    assert "too long to edit" in shown(saved)
    assert not actions(saved, "pep.section.save")
    assert actions(saved, "pep.section.text")
    for update in env.connector.cards(CHAT, "PUT"):  # the shared card: small, no child data
        assert card_size(update) <= TOO_LARGE and "😀" not in json.dumps(update)

    # the carer's view: shortened, each long answer with "Show all"
    shared = env.connector.cards(CHAT, "POST")[-1]
    viewer = card_of(await env.invoke(MAUREEN, CHAT, submit(shared, "pep.walkthrough.refresh")))
    assert card_size(viewer) <= TOO_LARGE
    show = actions(viewer, "pep.section.text")
    assert {a["data"].get("field") for a in show} == {"strengths", "concerns", "support"}

    full = card_of(
        await env.invoke(MAUREEN, CHAT, submit(viewer, "pep.section.text", title="Show all"))
    )
    assert card_size(full) <= TOO_LARGE
    assert "😀" * 3970 + "[link](http://evil.example)" in shown(full).replace(" ", "")
    assert "\\[link\\](http://evil.example)" in card_text(full)  # shown, not a link
    assert "Fenwick" not in json.dumps(full)  # initials in the meeting chat
    back = card_of(
        await env.invoke(
            MAUREEN, CHAT, submit(full, "pep.walkthrough.refresh", title="Back to the meeting")
        )
    )
    assert actions(back, "pep.section.text") and not actions(back, "pep.section.save")

    # someone the PEP is not for, pressing the same button: no text
    refused = card_of(
        await env.invoke(STRANGER, CHAT, submit(viewer, "pep.section.text", title="Show all"))
    )
    assert "😀" not in json.dumps(refused) and "Fenwick" not in json.dumps(refused)

    # the meeting moves on: an old "Show all" shows where the meeting is now
    await env.invoke(HARRIET, CHAT, go_to(saved, "carer"))
    moved = card_of(
        await env.invoke(MAUREEN, CHAT, submit(viewer, "pep.section.text", title="Show all"))
    )
    assert "😀" not in json.dumps(moved) and "Carer" in card_text(moved)

    # in a one-to-one chat: the full name, and Back opens the section
    await env.send(HARRIET, PERSONAL, text="open LCS100001")
    opened = env.connector.cards(PERSONAL)[-1]
    section = (
        await env.invoke(
            HARRIET,
            PERSONAL,
            submit(opened, "pep.section.open", {"section": "wellbeing"}),
            conversation_type="personal",
        )
    )["value"]
    assert card_size(section) <= TOO_LARGE
    full = (
        await env.invoke(
            HARRIET,
            PERSONAL,
            submit(section, "pep.section.text", title="Show all"),
            conversation_type="personal",
        )
    )["value"]
    assert "Fenwick" in card_text(full) and "😀" * 3970 in shown(full).replace(" ", "")
    back = (
        await env.invoke(
            HARRIET,
            PERSONAL,
            submit(full, "pep.section.open", title="Back to the section"),
            conversation_type="personal",
        )
    )["value"]
    assert "How the child is doing in school" in card_text(back)
