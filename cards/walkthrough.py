"""The in-meeting walkthrough card and the personal-chat edit card of one section.

In the meeting everyone sees the read-only view of the current section; the card's
`refresh` names the PEP leads, whose Teams clients fetch (verb pep.walkthrough.refresh)
the editable view built by the same function with lead=True.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adaptive_cards import card as ac
from adaptive_cards import types as act

from cards.elements import (
    COMPACT,
    DISPLAY_LIMITS,
    SECTION_COUNT,
    Action,
    Element,
    Shortening,
    action_set,
    bullets,
    card,
    container,
    execute,
    fitted,
    heading,
    neighbours,
    notice_block,
    pep_data,
    problem_lines,
    problems_block,
    progress_bar,
    refresh_for,
    section_position,
    show_all_for,
    sub_card,
    term_label,
    text,
)
from cards.fields import section_display, section_inputs
from cards.inputs import ATTENDEE_ATTENDED, ATTENDEE_NAME, ATTENDEE_ROLE, typed_raw
from cards.lists import LIST, SECTION_OPEN
from pep_model.errors import FieldError
from pep_model.sections import SECTIONS, SectionSpec, section_spec
from pep_model.services import PepView

NAV_INPUT = "nav.section"
SUMMARY_LIMIT = 10

SAVE = "pep.section.save"
NAV = "pep.nav"
FINISH = "pep.finish"
ADD_ATTENDEE = "pep.attendee.add"
REFRESH = "pep.walkthrough.refresh"


# ---- parts -----------------------------------------------------------------------


def meeting_title(view: PepView) -> str:
    child = view.child
    return (
        f"PEP meeting — {child.initials}, {child.year_group.label}, {term_label(view.pep.term_id)}"
    )


def section_heading(spec: SectionSpec) -> list[Element]:
    n = section_position(spec.key)
    return [
        text(f"Section {n} of {SECTION_COUNT}  {progress_bar(n)}", size="small", subtle=True),
        heading(spec.title, size="large"),
        text(spec.guidance, subtle=True, spacing="small"),
    ]


def error_summary(errors: Sequence[FieldError]) -> list[Element]:
    if not errors:
        return []
    count = len(errors)
    title = (
        "1 thing needs attention before this can be saved:"
        if count == 1
        else f"{count} things need attention before this can be saved:"
    )
    lines = problem_lines(errors, SUMMARY_LIMIT)
    if count > SUMMARY_LIMIT:
        lines.append(f"and {count - SUMMARY_LIMIT} more, shown beside their fields")
    return [
        container(
            [text(title, weight="bolder", color="attention"), *bullets(lines)], style="attention"
        )
    ]


# the same for every card: built once (models are only read when a card is serialised)
_SECTION_CHOICES = tuple(
    ac.InputChoice(title=f"{i}. {s.title}", value=s.key) for i, s in enumerate(SECTIONS, start=1)
)


def _section_choices(current: str) -> Element:
    return ac.InputChoiceSet(
        id=NAV_INPUT,
        label="Jump to section",
        style=COMPACT,
        value=current,
        choices=list(_SECTION_CHOICES),
    )


def _moves(spec: SectionSpec, data: Mapping[str, Any], verb: str, next_title: str) -> list[Action]:
    """◀ Previous and Next ▶ (each carrying what the card's Save carries)."""
    before, after = neighbours(spec.key)
    return [
        execute(title, verb, {**data, "section": key}, tooltip=f"Go to {section_spec(key).title}")
        for title, key in (("◀ Previous", before), (next_title, after))
        if key
    ]


def _jump(view: PepView, current: str, carried: Mapping[str, Any], *, verb: str = NAV) -> Element:
    go = execute("Go", verb, pep_data(view.pep, **carried))
    return ac.ColumnSet(
        separator=True,
        spacing=act.Spacing.MEDIUM,
        columns=[
            ac.Column(width="stretch", items=[_section_choices(current)]),
            ac.Column(
                width="auto",
                vertical_content_alignment=act.VerticalAlignment.BOTTOM,
                items=[action_set([go])],
            ),
        ],
    )


def _attendee_form() -> tuple[Element, ...]:
    spec = section_spec("attendees")
    role, attended = spec.field("role"), spec.field("attended")
    return (
        ac.InputText(
            id=ATTENDEE_NAME,
            label=spec.field("name").label,
            is_required=True,
            error_message="Enter the attendee's name",
            max_length=spec.field("name").max_length,
        ),
        ac.InputChoiceSet(
            id=ATTENDEE_ROLE,
            label=role.label,
            style=COMPACT,
            is_required=True,
            error_message="Choose the attendee's role",
            placeholder="Choose…",
            choices=[ac.InputChoice(title=t, value=v) for v, t in role.choices],
        ),
        ac.InputChoiceSet(
            id=ATTENDEE_ATTENDED,
            label=attended.label,
            style=COMPACT,
            is_required=True,
            value=attended.choices[0][0],
            error_message="Choose how they attended",
            choices=[ac.InputChoice(title=t, value=v) for v, t in attended.choices],
        ),
    )


# the same for every card, like the section choices: built once
_ATTENDEE_FORM = _attendee_form()


def _add_attendee(view: PepView) -> Action:
    add = execute("Add", ADD_ATTENDEE, pep_data(view.pep), style="positive")
    return ac.ActionShowCard(title="Add attendee", card=sub_card(_ATTENDEE_FORM, [add]))


# ---- the editable section, fitted to the card size limit -------------------------

FULL, WITHOUT_SAVED, TOO_LONG = "full", "without_saved", "too_long"
TOO_LONG_TEXT = (
    "This section is too long to edit in a Teams card, so it is shown here to "
    "read. Edit it in the Word form and upload it again."
)
# too long to edit: the section read-only, shortened step by step until the card fits
_TOO_LONG_MODES = {f"{TOO_LONG}:{i}": cut for i, cut in enumerate(DISPLAY_LIMITS)}


def _edit_area(
    view: PepView,
    spec: SectionSpec,
    errors: Sequence[FieldError],
    typed: Mapping[str, Any] | None,
    mode: str,
) -> tuple[list[Element], dict[str, Any] | None]:
    """The section's inputs and the data actions carry; None: no inputs (too long)."""
    if mode in _TOO_LONG_MODES:
        return [
            container([text(TOO_LONG_TEXT, weight="bolder")], style="warning"),
            *section_display(
                spec,
                view.pep.section(spec.key),
                limit=_TOO_LONG_MODES[mode],
                show_all=show_all_for(view.pep),
            ),
        ], None
    raw = typed_raw(spec.key, typed)
    return section_inputs(
        spec, view.pep.section(spec.key), errors=errors, typed=raw, show_saved=mode == FULL
    )


def _fitted(build: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Inputs with the saved versions under them; without; else too long to edit."""
    *tries, last = (FULL, WITHOUT_SAVED, *_TOO_LONG_MODES)
    return fitted(build, tries, last)


# ---- the walkthrough -------------------------------------------------------------


def walkthrough_card(
    view: PepView,
    *,
    lead: bool,
    lead_user_ids: Sequence[str],
    errors: Sequence[FieldError] = (),
    typed: Mapping[str, Any] | None = None,
    notice: str = "",
    finish_problems: Sequence[FieldError] = (),
) -> dict[str, Any]:
    """The meeting's card for view.pep.current_section: editable for a lead, else read-only."""
    spec = section_spec(view.pep.current_section)
    if not lead:
        refresh = refresh_for(REFRESH, pep_data(view.pep), lead_user_ids)
        return fitted(
            lambda limit: _viewer(view, spec, refresh, limit),
            DISPLAY_LIMITS[:-1],
            DISPLAY_LIMITS[-1],
        )
    return _fitted(lambda mode: _lead(view, spec, errors, typed, notice, finish_problems, mode))


def meeting_header(view: PepView) -> Element:
    """The line every meeting card starts with: whose PEP, which term."""
    return container([text(meeting_title(view), weight="bolder")], style="emphasis")


def _viewer(
    view: PepView, spec: SectionSpec, refresh: Mapping[str, Any], limit: Shortening
) -> dict[str, Any]:
    body = [
        meeting_header(view),
        *section_heading(spec),
        *section_display(
            spec, view.pep.section(spec.key), limit=limit, show_all=show_all_for(view.pep)
        ),
    ]
    if limit.chars is not None:
        body.append(
            text(
                'Long entries are shortened here: "Show all" shows them in full.',
                size="small",
                subtle=True,
            )
        )
    body.append(
        text(
            "The PEP lead is going through this section. This card follows the meeting.",
            size="small",
            subtle=True,
            separator=True,
        )
    )
    return card(body, refresh=refresh)


def _save_button(
    view: PepView, spec: SectionSpec, carried: Mapping[str, Any] | None
) -> tuple[dict[str, Any], list[Action]]:
    """The data every action of an edit card carries, and its Save button (none when the
    card is read-only). "current": the section these inputs belong to, so moving on
    saves what was typed."""
    data = pep_data(view.pep, current=spec.key, **(carried or {}))
    buttons: list[Action] = []
    if carried is not None:
        buttons.append(execute("Save", SAVE, {**data, "section": spec.key}, style="positive"))
    return data, buttons


def _lead(
    view: PepView,
    spec: SectionSpec,
    errors: Sequence[FieldError],
    typed: Mapping[str, Any] | None,
    notice: str,
    finish_problems: Sequence[FieldError],
    mode: str,
) -> dict[str, Any]:
    body: list[Element] = [meeting_header(view), *notice_block(notice)]
    if finish_problems:
        body.append(problems_block("Cannot finish yet:", finish_problems))
    body.extend(section_heading(spec))
    body.extend(error_summary(errors))
    inputs, carried = _edit_area(view, spec, errors, typed, mode)
    body.extend(inputs)
    data, buttons = _save_button(view, spec, carried)
    buttons.extend(_moves(spec, data, NAV, "Next ▶"))
    body.append(action_set(buttons, spacing="medium"))
    body.append(_jump(view, spec.key, {"current": spec.key, **(carried or {})}))
    actions: list[Action] = []
    if spec.key == "attendees":
        actions.append(_add_attendee(view))
    if spec.key == "next_pep":
        body.append(
            text(
                "When the next PEP date, the attendees and the summary are "
                "recorded, finish the meeting.",
                weight="bolder",
                separator=True,
            )
        )
    actions.append(
        execute(
            "Finish PEP meeting", FINISH, data, style="positive" if spec.key == "next_pep" else None
        )
    )
    return card(body, actions)


# ---- editing one section in personal chat ----------------------------------------


def section_edit_card(
    view: PepView,
    key: str,
    *,
    errors: Sequence[FieldError] = (),
    typed: Mapping[str, Any] | None = None,
    notice: str = "",
    read_only: bool = False,
) -> dict[str, Any]:
    """One section of a PEP in personal chat: editable for the school before the meeting;
    read-only (no inputs, no Save) for people who only read it and once it can no
    longer change."""
    spec = section_spec(key)
    if read_only:
        return fitted(
            lambda limit: _personal(view, spec, (), None, notice, READ_ONLY, limit),
            DISPLAY_LIMITS[:-1],
            DISPLAY_LIMITS[-1],
        )
    return _fitted(lambda mode: _personal(view, spec, errors, typed, notice, mode))


READ_ONLY = "read_only"


def _personal(
    view: PepView,
    spec: SectionSpec,
    errors: Sequence[FieldError],
    typed: Mapping[str, Any] | None,
    notice: str,
    mode: str,
    limit: Shortening | None = None,
) -> dict[str, Any]:
    child = view.child
    title = (
        f"PEP — {child.full_name} ({child.lcs_id}), {child.year_group.label}, "
        f"{term_label(view.pep.term_id)}"
    )
    body: list[Element] = [
        container([text(title, weight="bolder")], style="emphasis"),
        *notice_block(notice),
        *section_heading(spec),
        *error_summary(errors),
    ]
    if mode == READ_ONLY:
        body.append(
            text(
                f"Read only: this PEP is {view.pep.status.label.lower()}.",
                size="small",
                subtle=True,
                spacing="none",
            )
        )
        body.extend(
            section_display(
                spec, view.pep.section(spec.key), limit=limit, show_all=show_all_for(view.pep)
            )
        )
        data: dict[str, Any] = pep_data(view.pep)
        buttons: list[Action] = []
        carried: dict[str, Any] | None = {}
    else:
        still = [p for p in view.problems if p.section == spec.key]
        if still and not errors:
            body.append(
                container(
                    [
                        text("Still needed before the meeting:", weight="bolder"),
                        *bullets(problem_lines(still, SUMMARY_LIMIT)),
                    ],
                    style="warning",
                )
            )
        inputs, carried = _edit_area(view, spec, errors, typed, mode)
        body.extend(inputs)
        data, buttons = _save_button(view, spec, carried)
    buttons.extend(_moves(spec, data, SECTION_OPEN, "Next section ▶"))
    buttons.append(execute("Back to my PEPs", LIST, {"page": 1}))
    body.append(action_set(buttons, spacing="medium"))
    body.append(_jump(view, spec.key, {**data, **(carried or {})}, verb=SECTION_OPEN))
    return card(body)
