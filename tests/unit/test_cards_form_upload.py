"""The answer to an uploaded Word form (cards/form_upload.py): the term named, what was
kept and why, the questions as buttons carrying exactly what they do; a valid Teams card
within the size limit however much there is to say."""

from __future__ import annotations

from datetime import UTC, datetime

from cards.form_upload import FORM_CLEAR, FORM_OTHER_TERM, cleared_card, form_import_card
from pep_model.child import Child
from pep_model.errors import FieldError
from pep_model.form_import import ClearOutcome, Conflict, ImportOutcome
from pep_model.form_merge import Clearing
from pep_model.pep import Pep
from pep_model.sections import SECTION_KEYS
from pep_model.terms import default_calendar
from tests.support.card_check import card_size, schema_errors
from tests.support.teams import actions, card_text

CAL = default_calendar()


def outcome(child: Child, **kw: object) -> ImportOutcome:
    pep = Pep(child.lcs_id, "2026-autumn", version=4)
    return ImportOutcome(pep, child, CAL.get("2026-autumn"), CAL.get("2026-autumn"), **kw)  # type: ignore[arg-type]


def test_the_reply_names_the_term_and_what_was_kept(child: Child) -> None:
    card = form_import_card(
        outcome(
            child,
            saved=["carer"],
            kept_newer=["voice"],
            meeting_kept=["summary"],
            conflicts=[
                Conflict(
                    "wellbeing",
                    {"strengths": "Kind to others"},
                    {"strengths": "Good at maths"},
                    datetime(2026, 12, 4, 9, tzinfo=UTC),
                    "H. Pemberton",
                )
            ],
            outside=["attendance"],
        ),
        "PEP.docx",
    )
    shown = card_text(card)
    assert "Saved into the Autumn term 2026 PEP (1 section)" in shown
    assert "changed in Teams on 04/12 by H. Pemberton" in shown
    assert (
        "Kind to others" in shown
        and "Your form says: Strengths and what is going well: Good at maths" in shown
    )
    assert "Kept the newer answers typed in Teams" in shown
    assert "Recorded in the meeting" in shown and "Meeting summary" in shown
    assert "Text typed outside the boxes was not read in: Attendance" in shown
    assert not schema_errors(card)


def test_clearing_and_another_term_are_questions_with_buttons(child: Child) -> None:
    clear = form_import_card(
        outcome(
            child,
            clearings=[Clearing("voice", "how_gathered"), Clearing("targets", "due", 1)],
            clear_versions={"voice": 5, "targets": 3},
        ),
        "PEP.docx",
    )
    assert "would clear 2 answers" in card_text(clear)
    [button] = actions(clear, FORM_CLEAR)
    assert button["data"]["clear"] == "voice.how_gathered;targets.due.1"
    assert button["data"]["versions"] == "voice:5,targets:3"
    later = outcome(child, other_term=True)
    later.term = CAL.get("2027-spring")
    asked = form_import_card(later, "PEP.docx", term_data={"term_id": "2027-spring"})
    assert "Nothing has been saved yet" in card_text(asked)
    assert actions(asked, FORM_OTHER_TERM)[0]["data"] == {"term_id": "2027-spring"}


def test_a_reply_with_everything_to_say_stays_a_valid_card(child: Child) -> None:
    long = "word " * 2000
    card = form_import_card(
        outcome(
            child,
            saved=list(SECTION_KEYS[:5]),
            problems=[
                FieldError("targets", "due", "enter a real date " + long, i) for i in range(100)
            ],
            conflicts=[
                Conflict(k, {"views": long}, {"views": long + "x"}, None, "")
                for k in ("voice", "carer")
            ],
            clearings=[Clearing("attainment", "subject", i) for i in range(200)],
            clear_versions={"attainment": 9},
        ),
        "PEP.docx",
    )
    assert not schema_errors(card) and card_size(card) <= 40 * 1024


def test_a_stale_clear_says_nothing_was_cleared(child: Child) -> None:
    pep = Pep(child.lcs_id, "2026-autumn")
    shown = card_text(cleared_card(ClearOutcome(pep, child, [], ["voice"])))
    assert "Nothing cleared" in shown and "nothing was cleared in: The child's voice" in shown
