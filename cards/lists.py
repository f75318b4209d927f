"""Cards about several PEPs or several problems: my PEPs, the child chooser, readiness.
(The answer to an uploaded Word form: cards/form_upload.py.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adaptive_cards import card as ac
from adaptive_cards import types as act

from cards.elements import (
    COMPACT,
    Action,
    Element,
    action_set,
    bullets,
    card,
    container,
    execute,
    fitted,
    heading,
    pep_data,
    problem_lines,
    text,
)
from cards.elements import term_label as term_name
from pep_model.child import Child
from pep_model.errors import FieldError
from pep_model.sections import SECTIONS, section_spec
from pep_model.services import PepView

PAGE_SIZE = 15
PROBLEMS_SHOWN = 3

OPEN = "pep.open"
LIST = "pep.list"
START = "pep.start"
READINESS = "pep.readiness"
SECTION_OPEN = "pep.section.open"
CHILD_INPUT = "child_id"


def _missing_line(view: PepView) -> tuple[str, str]:
    count = len(view.problems)
    if not count:
        return "Ready", "good"
    return ("1 thing missing" if count == 1 else f"{count} things missing"), "attention"


def _pep_entry(view: PepView, shown: int | None = PROBLEMS_SHOWN) -> Element:
    """One PEP of the list with `shown` of its missing things; None: in brief, one line
    under the name (when a page of full entries would be too large for Teams)."""
    child, pep = view.child, view.pep
    ready, color = _missing_line(view)
    about = f"{child.lcs_id} · {child.year_group.label} · {pep.status.label}"
    if shown is None:
        transition = " · Transition PEP" if view.transition_reasons else ""
        items = [
            text(child.full_name, weight="bolder"),
            text(f"{about} · {ready}{transition}", size="small", spacing="none"),
        ]
    else:
        items = [
            text(child.full_name, weight="bolder"),
            text(about, size="small", subtle=True, spacing="none"),
            text(ready, color=color, weight="bolder", spacing="small"),
            *bullets(problem_lines(view.problems, shown)),
        ]
        if shown and len(view.problems) > shown:
            items.append(
                text(
                    f"and {len(view.problems) - shown} more",
                    size="small",
                    subtle=True,
                    spacing="none",
                )
            )
        if view.transition_reasons:
            items.append(
                text(
                    "Transition PEP: " + "; ".join(view.transition_reasons),
                    color="accent",
                    size="small",
                )
            )
    data = pep_data(pep, child_id=child.lcs_id)  # a PEP nobody has opened yet opens
    buttons: list[Action] = [execute("Open", OPEN, data)]
    if view.problems:
        buttons.append(execute("What's missing", READINESS, data))
    return ac.ColumnSet(
        separator=True,
        spacing=act.Spacing.MEDIUM,
        columns=[
            ac.Column(width="stretch", items=items),
            ac.Column(
                width="auto",
                vertical_content_alignment=act.VerticalAlignment.CENTER,
                items=[action_set(buttons)],
            ),
        ],
    )


def my_peps_card(views: Sequence[PepView], term_label: str, page: int = 1) -> dict[str, Any]:
    """The PEPs a person can see this term, 15 to a page (page counts from 1)."""
    total = len(views)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    first = (page - 1) * PAGE_SIZE
    shown = views[first : first + PAGE_SIZE]
    body: list[Element] = [heading(f"My PEPs — {term_label}")]
    if not total:
        body.append(text("There are no PEPs for you this term."))
        return card(body)
    ready = sum(1 for v in views if not v.problems)
    body.append(
        text(
            f"{total} PEPs, {ready} ready for the meeting. "
            f"Showing {first + 1}–{first + len(shown)}"
            + (f" (page {page} of {pages})." if pages > 1 else "."),
            subtle=True,
        )
    )
    actions: list[Action] = []
    if page > 1:
        actions.append(execute("Previous page", LIST, {"page": page - 1}))
    if page < pages:
        actions.append(execute("More", LIST, {"page": page + 1}))
    # fewer of each PEP's missing things when the page would be too large for Teams
    return fitted(
        lambda problems: card([*body, *(_pep_entry(v, problems) for v in shown)], actions),
        (PROBLEMS_SHOWN, 1, 0),
        None,
    )


def child_chooser_card(children: Sequence[Child], *, full_names: bool = False) -> dict[str, Any]:
    """Which child's PEP to walk through. Initials unless full_names (personal chat only)."""
    body: list[Element] = [heading("Start a PEP walkthrough")]
    if not children:
        body.append(text("There are no children whose PEP you can lead."))
        return card(body)

    def title(c: Child) -> str:
        name = c.full_name if full_names else c.initials
        return f"{name} ({c.lcs_id}), {c.year_group.label}"

    body.append(
        ac.InputChoiceSet(
            id=CHILD_INPUT,
            label="Whose PEP is this meeting for?",
            style=COMPACT,
            is_required=True,
            error_message="Choose a child",
            placeholder="Choose a child…",
            value=children[0].lcs_id if len(children) == 1 else None,
            choices=[ac.InputChoice(title=title(c), value=c.lcs_id) for c in children],
        )
    )
    return card(body, [execute("Start walkthrough", START, {}, style="positive")])


def _child_line(view: PepView) -> str:
    child = view.child
    return (
        f"{child.initials} ({child.lcs_id}), {child.year_group.label}, "
        f"{term_name(view.pep.term_id)}"
    )


def _short(error: FieldError) -> str:
    spec = section_spec(error.section)
    label = spec.field_label(error.field)
    if error.field == "rows":
        label = f"{spec.row_noun.capitalize()}s"
    where = (
        f"{spec.row_noun.capitalize()} {error.row + 1}, {label}" if error.row is not None else label
    )
    return f"{where}: {error.message}"


def readiness_card(view: PepView) -> dict[str, Any]:
    """What is still missing before the meeting, section by section."""
    body: list[Element] = [
        heading("Is the PEP ready for the meeting?"),
        text(_child_line(view), subtle=True, spacing="none"),
    ]
    if view.transition_reasons:
        body.append(text("Transition PEP: " + "; ".join(view.transition_reasons), color="accent"))
    if not view.problems:
        body.append(
            container(
                [
                    text("Ready for the meeting", weight="bolder", color="good"),
                    text("Everything to complete before the meeting is in."),
                ],
                style="good",
            )
        )
        return card(body)
    count = len(view.problems)
    body.append(
        text(
            f"{count} thing{'s' if count != 1 else ''} missing:", weight="bolder", color="attention"
        )
    )
    for spec in SECTIONS:
        problems = [p for p in view.problems if p.section == spec.key]
        if not problems:
            continue
        body.append(
            container(
                [
                    text(spec.title, weight="bolder"),
                    *bullets(_short(p) for p in problems),
                    action_set(
                        [
                            execute(
                                "Open this section",
                                SECTION_OPEN,
                                pep_data(view.pep, section=spec.key),
                            )
                        ]
                    ),
                ],
                separator=True,
                spacing="medium",
            )
        )
    return card(body)


def _section_title(key: str) -> str:
    try:
        return section_spec(key).title
    except KeyError:
        return key
