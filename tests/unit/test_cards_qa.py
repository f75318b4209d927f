"""QA, PP+ and overview cards: Adaptive Card 1.5 schema, size, what they show and what
their actions carry."""

from __future__ import annotations

import json

import pytest

from cards.elements import CARD_BUDGET, card_bytes
from cards.pupil_premium import PP_APPROVE_AMOUNT, PP_DECLINE, decision_from_card_data
from cards.quality import (
    FEEDBACK,
    NOT_GRADED,
    QA_ACCEPT_ALL,
    QA_APPROVE,
    grades_from_card_data,
    override_from_card_data,
    qa_card,
)
from pep_model.errors import ValidationFailed
from pep_model.pupil_premium import DecisionKind
from pep_model.quality import DOES_NOT_APPLY
from pep_model.sections import SECTION_KEYS
from pep_model.workflow import PepStatus
from tests.support.card_check import schema_errors
from tests.support.teams import actions, card_text, inputs
from tests.unit.qa_card_fixtures import all_variants, huge_pep, review

VARIANTS = all_variants()


@pytest.mark.parametrize("name", [name for name, _ in VARIANTS])
def test_every_card_is_valid_adaptive_card_1_5(name: str) -> None:
    card = dict(VARIANTS)[name]
    assert schema_errors(card) == []
    assert card["version"] == "1.5"
    assert card_bytes(card) <= CARD_BUDGET


def test_cards_name_children_by_initials_and_lcs_id_only() -> None:
    for name, card in VARIANTS:
        text = json.dumps(card)
        assert "Amara" not in text and "Okafor" not in text, name
        assert "2014-03" not in text, name  # no date of birth


def test_the_qa_card_shows_suggestions_but_confirms_no_grade() -> None:
    card = qa_card(review())
    values = inputs(card)
    assert values["g.voice"] == "" and values["g.send"] == ""  # nothing chosen for them
    assert values["qa.override"] == NOT_GRADED
    text = card_text(card)
    assert "Suggested from the record: Green" in text
    assert "15 of 15 sections have no grade you confirmed" in text
    assert text.count("Not confirmed yet") == 15
    data = actions(card, QA_APPROVE)[0]["data"]
    assert data == {"pep_id": "LCS100001-2026-autumn", "version": 7, "round": 1}
    assert actions(card, QA_ACCEPT_ALL)[0]["data"] == data
    assert "Worked out from the section grades: Green" in text  # from the suggestions


def test_the_qa_card_names_only_the_sections_still_unconfirmed() -> None:
    typed = {f"g.{k}": "green" for k in SECTION_KEYS if k not in ("send", "carer")}
    card = qa_card(review(), typed={**typed, "g.send": NOT_GRADED})
    text = card_text(card)
    assert "1 of 15 sections have no grade you confirmed: Carer's views and role" in text
    assert text.count("Not confirmed yet") == 1
    assert inputs(card)["g.send"] == NOT_GRADED
    everything = qa_card(review(), typed={**typed, "g.send": NOT_GRADED, "g.carer": "red"})
    assert "Every section has a grade you confirmed" in card_text(everything)
    assert not actions(everything, QA_ACCEPT_ALL)


def test_a_huge_pep_still_fits_with_every_grade_input() -> None:
    card = qa_card(review(pep=huge_pep()))
    assert card_bytes(card) <= CARD_BUDGET
    assert len([k for k in inputs(card) if k.startswith("g.")]) == 15


def test_a_decided_pep_has_no_inputs_or_decision() -> None:
    card = qa_card(review(status=PepStatus.FINALISED))
    assert not inputs(card) and not actions(card, QA_APPROVE)
    assert "nothing to decide" in card_text(card)


def test_reading_the_qa_card_data() -> None:
    data = {
        "g.voice": "gold",
        "g.send": NOT_GRADED,
        "g.carer": " Green ",
        "qa.override": "-",
        FEEDBACK: " fine ",
        "pep_id": "x",
    }
    assert grades_from_card_data(data) == {
        "voice": "gold",
        "send": DOES_NOT_APPLY,
        "carer": "Green",
    }
    assert grades_from_card_data({"g.voice": ""}) == {"voice": ""}  # not chosen yet
    assert override_from_card_data(data) is None
    assert override_from_card_data({"qa.override": "red"}) == "red"


def test_reading_the_pp_card_data() -> None:
    approve = decision_from_card_data(
        PP_APPROVE_AMOUNT, {"pp.amount": "£1,250.50", "pp.reason": " rate "}, 0
    )
    assert (approve.kind, approve.amount_pence, approve.reason) == (
        DecisionKind.APPROVE_AMOUNT,
        125_050,
        "rate",
    )
    decline = decision_from_card_data(PP_DECLINE, {"pp.reason": "Funded"}, 0)
    assert (decline.kind, decline.reason) == (DecisionKind.DECLINE, "Funded")
    with pytest.raises(ValidationFailed) as bad:
        decision_from_card_data(PP_APPROVE_AMOUNT, {"pp.amount": "12.345"}, 2)
    assert [(e.field, e.row) for e in bad.value.errors] == [("amount", 2)]
