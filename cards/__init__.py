"""Adaptive Card 1.5 views: pure functions, model in, card JSON (dict) out.

See docs/cards.md for the verbs, the input ids and the data each action carries.
"""

from cards.form_upload import form_import_card
from cards.inputs import attendee_from_card_data, raw_from_card_data
from cards.lists import child_chooser_card, my_peps_card, readiness_card
from cards.meeting_end import finished_card, next_date_request_card
from cards.meeting_shared import finished_shared_card, walkthrough_shared_card
from cards.messages import help_card, message_card
from cards.walkthrough import section_edit_card, walkthrough_card

__all__ = [
    "attendee_from_card_data",
    "child_chooser_card",
    "finished_card",
    "finished_shared_card",
    "form_import_card",
    "help_card",
    "message_card",
    "my_peps_card",
    "next_date_request_card",
    "raw_from_card_data",
    "readiness_card",
    "section_edit_card",
    "walkthrough_card",
    "walkthrough_shared_card",
]
