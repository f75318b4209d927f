"""`check my pep` (the QA pre-assessment on a draft, nothing recorded), the choice of
child for it, and the coordinator's QA queue. Children are named by initials and LCS id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adaptive_cards import card as ac

from cards.elements import (
    Element,
    action_set,
    card,
    container,
    execute,
    heading,
    pep_data,
    text,
)
from cards.lists import SECTION_OPEN
from cards.quality import QA_CHECK, QA_OPEN, QUEUE_SHOWN, child_line, criterion, grade_color
from pep_model.child import Child
from pep_model.qa_service import PreAssessment, QueueItem
from pep_model.sections import SECTIONS, Stage

# ---- check my pep and the queue ------------------------------------------------------------


def pre_assessment_card(pre: PreAssessment) -> dict[str, Any]:
    """`check my pep`: the QA criteria on the PEP as it stands, before anyone grades."""
    scale = pre.policy.scale
    body: list[Element] = [
        heading("Check my PEP"),
        text(
            child_line(pre.child, (pre.term.label, pre.pep.status.label)),
            subtle=True,
            spacing="none",
        ),
        text(
            "The same checks the PEP coordinator starts from. Nothing is recorded.",
            size="small",
            subtle=True,
        ),
    ]
    overall = pre.suggested_overall
    if overall is not None:
        body.append(
            text(
                f"As it stands this suggests {scale.display_label(overall)} overall.",
                weight="bolder",
                color=grade_color(scale, overall),
            )
        )
    if pre.meeting_pending:
        body.append(
            text(
                "Who attended and next term's PEP date are recorded in the "
                "meeting: they show as not met until then.",
                size="small",
                color="accent",
            )
        )
    for spec in SECTIONS:
        results = [r for r in pre.results if r.section == spec.key]
        if not results:
            continue
        items: list[Element] = [text(spec.title, weight="bolder"), *[criterion(r) for r in results]]
        in_meeting = pre.meeting_pending and spec.stage is Stage.MEETING
        if any(r.applies and not r.met for r in results) and not in_meeting:
            items.append(
                action_set(
                    [
                        execute(
                            "Open this section", SECTION_OPEN, pep_data(pre.pep, section=spec.key)
                        )
                    ]
                )
            )
        body.append(container(items, separator=True))
    return card(body, [execute("Check again", QA_CHECK, {"pep_id": pre.pep.id})])


def check_chooser_card(entries: Sequence[tuple[str, Child]]) -> dict[str, Any]:
    """Which PEP to check, when the person completes several."""
    body: list[Element] = [
        heading("Check my PEP"),
        text("Which child's PEP should I check?", subtle=True),
    ]
    for pep_id, child in entries[:QUEUE_SHOWN]:
        body.append(
            ac.ColumnSet(
                separator=True,
                columns=[
                    ac.Column(width="stretch", items=[text(child_line(child))]),
                    ac.Column(
                        width="auto",
                        items=[action_set([execute("Check", QA_CHECK, {"pep_id": pep_id})])],
                    ),
                ],
            )
        )
    if len(entries) > QUEUE_SHOWN:
        body.append(
            text(
                f"and {len(entries) - QUEUE_SHOWN} more: type 'check my pep' and the LCS id.",
                subtle=True,
            )
        )
    if not entries:
        body.append(text("You do not complete any child's PEP this term."))
    return card(body)


def qa_queue_card(items: Sequence[QueueItem]) -> dict[str, Any]:
    """The PEPs waiting for this coordinator."""
    body: list[Element] = [heading("Quality assurance: waiting for you")]
    if not items:
        body.append(text("No returned PEP is waiting for quality assurance."))
        return card(body)
    body.append(
        text(f"{len(items)} PEP{'s' if len(items) != 1 else ''} to quality-assure.", subtle=True)
    )
    for item in items[:QUEUE_SHOWN]:
        body.append(
            ac.ColumnSet(
                separator=True,
                columns=[
                    ac.Column(
                        width="stretch",
                        items=[
                            text(child_line(item.child), weight="bolder"),
                            text(
                                f"{item.pep_id} · {item.status.label}",
                                size="small",
                                subtle=True,
                                spacing="none",
                            ),
                        ],
                    ),
                    ac.Column(
                        width="auto",
                        items=[action_set([execute("Open", QA_OPEN, {"pep_id": item.pep_id})])],
                    ),
                ],
            )
        )
    if len(items) > QUEUE_SHOWN:
        body.append(text(f"and {len(items) - QUEUE_SHOWN} more: open these first.", subtle=True))
    return card(body)
