"""The Virtual School's overview of a term (the `overview` command and the weekly
digest). Children appear by LCS id only; long lists are cut short and the CSV has them
all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cards.elements import (
    Action,
    Element,
    british,
    card,
    container,
    execute,
    facts,
    heading,
    text,
)
from cards.pupil_premium import PP_SCHEDULE
from pep_model.money import format_pence
from pep_model.overview import Overview
from pep_model.quality import GradeScale
from pep_model.workflow import STATUS_LABELS, PepStatus

OVERVIEW = "pep.overview"
OVERVIEW_EXPORT = "pep.overview.export"
IDS_SHOWN = 20


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:IDS_SHOWN])
    return shown + (f" and {len(ids) - IDS_SHOWN} more" if len(ids) > IDS_SHOWN else "")


def _list_block(title: str, ids: Sequence[str], style: str | None = None) -> list[Element]:
    if not ids:
        return []
    return [
        container(
            [
                text(f"{title} ({len(ids)})", weight="bolder"),
                text(_ids(ids), size="small", spacing="none"),
            ],
            separator=True,
            spacing="medium",
            style=style,
        )
    ]


def overview_card(
    overview: Overview, term_label: str, scale: GradeScale, *, digest: bool = False
) -> dict[str, Any]:
    """Counts first, then the children who need something, by LCS id."""
    o = overview
    title = f"Weekly digest — {term_label}" if digest else f"Overview — {term_label}"
    body: list[Element] = [
        heading(title),
        text(
            f"As of {british(o.today)}: {o.children} children, {o.peps} PEPs opened.",
            subtle=True,
            spacing="none",
        ),
        facts(
            [
                ("No PEP meeting scheduled", str(len(o.no_meeting_scheduled))),
                ("Overdue for return", str(len(o.overdue_returns))),
                ("Returned, QA not started", str(len(o.awaiting_qa))),
                ("In quality assurance", str(len(o.in_qa))),
                ("Finalised", str(o.status_counts.get(PepStatus.FINALISED.value, 0))),
                ("Transition and complex cases", str(len(o.transition_cases))),
                (
                    "… without the Virtual School attending",
                    str(o.transition_without_virtual_school),
                ),
            ]
        ),
        text("Pupil Premium Plus this term", weight="bolder", spacing="medium"),
        facts(
            [
                ("Requested", format_pence(o.pp_requested_pence)),
                ("Approved", format_pence(o.pp_approved_pence)),
                ("Paid (exported schedule)", format_pence(o.pp_paid_pence)),
            ]
        ),
        text("QA grades this term", weight="bolder", spacing="medium"),
        facts([(scale.display_label(g), str(n)) for g, n in o.grade_counts.items()]),
    ]
    statuses = [(STATUS_LABELS[PepStatus(s)], str(n)) for s, n in o.status_counts.items() if n]
    if statuses:
        body += [text("PEPs by status", weight="bolder", spacing="medium"), facts(statuses)]
    body += _list_block("No PEP meeting scheduled", o.no_meeting_scheduled, "warning")
    overdue = [f"{r.child_id} ({r.days_overdue} days)" for r in o.overdue_returns]
    body += _list_block("Overdue for return", overdue, "attention")
    body += _list_block("Returned, waiting for QA", o.awaiting_qa)
    body += _list_block("In quality assurance", o.in_qa)
    without = [c.child_id for c in o.transition_cases if not c.virtual_school_attending]
    body += _list_block("Transition or complex, Virtual School not attending", without, "warning")
    with_vs = [c.child_id for c in o.transition_cases if c.virtual_school_attending]
    body += _list_block("Transition or complex, Virtual School attending", with_vs)
    data = {"term_id": o.term_id}
    actions: list[Action] = [
        execute("Download CSV", OVERVIEW_EXPORT, data),
        execute("PP+ payment schedule", PP_SCHEDULE, data),
        execute("Refresh", OVERVIEW, data),
    ]
    return card(body, actions)
