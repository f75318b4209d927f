"""The walkthrough message as posted in the meeting chat.

It carries no child data: only the section being discussed. Each person Teams lists in
refresh.userIds (at most 60) gets the card refreshed into their own view — the PEP
lead an editable one, the carer and child a read-only one; anyone else who presses
"Show the PEP" is told it is not for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cards.elements import SECTION_COUNT, pep_data, plain, refresh_for, section_position
from cards.walkthrough import REFRESH
from pep_model.sections import section_spec
from pep_model.services import PepView


def walkthrough_shared_card(view: PepView, audience: Sequence[str]) -> dict[str, Any]:
    pep = view.pep
    key = pep.current_section
    action = {
        "type": "Action.Execute",
        "title": "Show the PEP",
        "verb": REFRESH,
        "data": pep_data(pep),
    }
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "refresh": refresh_for(REFRESH, pep_data(pep), audience),
        "body": [
            {
                "type": "TextBlock",
                "text": plain("PEP meeting walkthrough"),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {
                "type": "TextBlock",
                "wrap": True,
                "isSubtle": True,
                "text": plain(
                    f"Now discussing section {section_position(key)} of "
                    f"{SECTION_COUNT}: {section_spec(key).title}"
                ),
            },
            {
                "type": "TextBlock",
                "wrap": True,
                "size": "Small",
                "text": plain(
                    "The PEP is shown only to the people working with the child. "
                    "Select 'Show the PEP' to see it."
                ),
            },
        ],
        "actions": [action],
    }


def finished_shared_card(
    view: PepView | None = None, audience: Sequence[str] = ()
) -> dict[str, Any]:
    """What the meeting chat keeps once the meeting is finished: no child data. With the
    PEP, it refreshes for the people who saw the walkthrough, so the lead gets back their
    own finished card (with 'Send to Business Support')."""
    result = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {
                "type": "TextBlock",
                "text": plain("PEP meeting finished"),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {
                "type": "TextBlock",
                "wrap": True,
                "text": plain(
                    "Next term's PEP date is set and the record has gone to the PEP "
                    "lead in their chat with PEP Companion."
                ),
            },
        ],
    }
    if view is not None and audience:
        result["refresh"] = refresh_for(REFRESH, pep_data(view.pep), audience)
    return result
