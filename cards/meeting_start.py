"""Starting (or moving) the walkthrough in a meeting chat, without showing the chat
which children the person who asked works with.

`start pep` in a chat not yet linked to a PEP posts `choosing_card`: it names nobody,
and its `refresh` lists only the person who asked, whose Teams fetches (verb
pep.start.choose) their own chooser — the children they may lead — as a view only they
see. Anyone else who presses "Choose the child" gets their own view the same way.
"""

from __future__ import annotations

from typing import Any

from cards.elements import card, container, execute, heading, pep_data, refresh_for, text
from pep_model.services import PepView

CHOOSE = "pep.start.choose"
MOVE = "pep.walkthrough.move"


def choosing_card(asker_user_id: str) -> dict[str, Any]:
    """What everyone in the chat sees while the person who typed 'start pep' chooses."""
    return card(
        [
            heading("Starting a PEP walkthrough"),
            text(
                "The person who asked is choosing the child's PEP. Only they see the choices.",
                subtle=True,
                spacing="none",
            ),
        ],
        [execute("Choose the child", CHOOSE, {})],
        refresh=refresh_for(CHOOSE, {}, [asker_user_id] if asker_user_id else []),
    )


def with_choice_refresh(chooser: dict[str, Any], user_id: str) -> dict[str, Any]:
    """The chooser, refreshed for this person only (it stays their own view)."""
    return {**chooser, "refresh": refresh_for(CHOOSE, {}, [user_id] if user_id else [])}


def started_card() -> dict[str, Any]:
    """The choosing message once a walkthrough has started: names nobody."""
    return card(
        [
            container(
                [
                    text("PEP walkthrough started", weight="bolder"),
                    text("It is in the message below.", spacing="none"),
                ],
                style="good",
            )
        ]
    )


def moved_away_card() -> dict[str, Any]:
    """The old chat's walkthrough message once the walkthrough moved to another chat."""
    return card(
        [
            container(
                [
                    text("This PEP walkthrough moved", weight="bolder"),
                    text(
                        "It continues in another chat. Nothing more can be changed from here.",
                        spacing="none",
                    ),
                ],
                style="emphasis",
            )
        ]
    )


def running_elsewhere_card(view: PepView) -> dict[str, Any]:
    """Shown only to the lead who chose a child whose walkthrough runs in another chat."""
    return card(
        [
            heading("This PEP's walkthrough is already running"),
            text(
                f"The walkthrough for {view.child.initials} is open in another chat. Move "
                "it here to carry on in this chat; the other chat's card will say it "
                "moved, and nothing typed there is lost.",
                spacing="none",
            ),
        ],
        [execute("Move it here", MOVE, pep_data(view.pep), style="positive")],
    )
