"""The answer to a returned Word PEP form: what was saved into which term's PEP, what
was kept and why, what needs attention, and the questions (another term; clearing
answers) as buttons that carry exactly what they will do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cards.elements import (
    Element,
    action_set,
    bullets,
    card,
    container,
    execute,
    heading,
    problem_lines,
    text,
)
from pep_model.form_import import ClearOutcome, Conflict, ImportOutcome
from pep_model.form_merge import Clearing
from pep_model.sections import display_value, section_spec

FORM_CLEAR = "pep.form.clear"
FORM_OTHER_TERM = "pep.form.term"
ERRORS_SHOWN = 30
CLEARINGS_SHOWN = 20
SHOWN_CHARS = 160  # of each version of a conflicting section
LINE_CHARS = 240  # of a problem (30 shown: the card stays within Teams' 40 KB)


def _title(key: str) -> str:
    return section_spec(key).title


def _titles(keys: Sequence[str]) -> str:
    return ", ".join(_title(k) for k in keys)


def _short(value: str, limit: int = SHOWN_CHARS) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _answers(key: str, content: dict[str, Any], other: dict[str, Any]) -> str:
    """The answers of `content` that differ from `other`, as a person reads them."""
    spec = section_spec(key)
    parts = [
        f"{f.label}: {display_value(f, content.get(f.name)) or '(empty)'}"
        for f in spec.fields
        if content.get(f.name) != other.get(f.name)
    ]
    if spec.is_table and content.get("rows") != other.get("rows"):
        rows = content.get("rows") or []
        parts.append(
            f"{len(rows)} {spec.row_noun}{'s' if len(rows) != 1 else ''}: "
            + "; ".join(
                " / ".join(
                    display_value(f, r.get(f.name))
                    for f in spec.row_fields
                    if r.get(f.name) not in (None, "")
                )
                for r in rows
            )
        )
    return _short(" · ".join(parts) or "(the same answers)")


def conflict_lines(c: Conflict) -> list[str]:
    when = f" on {c.changed_at:%d/%m}" if c.changed_at else ""
    who = f" by {c.changed_by}" if c.changed_by else ""
    return [
        f"{_title(c.section)}: changed in Teams{when}{who} since this form was made — "
        f"kept. Teams has: {_answers(c.section, c.stored, c.form)}",
        f"Your form says: {_answers(c.section, c.form, c.stored)}",
    ]


def clearing_line(c: Clearing) -> str:
    spec = section_spec(c.section)
    label = spec.field_label(c.field)
    if c.row is None:
        return f"{spec.title}, {label}"
    return f"{spec.title}, {spec.row_noun} {c.row + 1}, {label}"


def clear_data(
    pep_id: str, clearings: Sequence[Clearing], versions: dict[str, int]
) -> dict[str, Any]:
    """What 'Clear them' carries (card data holds text only): the answers as
    'section.field[.row]' separated by ';', the versions as 'section:version,…'."""
    return {
        "pep_id": pep_id,
        "clear": ";".join(
            f"{c.section}.{c.field}" + ("" if c.row is None else f".{c.row}") for c in clearings
        ),
        "versions": ",".join(f"{k}:{v}" for k, v in versions.items()),
    }


def form_import_card(
    o: ImportOutcome, name: str, *, term_data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What happened to one returned form (`term_data`: what the 'save into that
    term's PEP' button carries, when the form is for another term)."""
    child = o.child
    body: list[Element] = [
        heading("PEP form read"),
        text(
            f"{child.initials} ({child.lcs_id}) · {o.term.label} · {name}",
            subtle=True,
            spacing="none",
        ),
    ]
    if o.other_term:
        body.append(
            container(
                [
                    text(
                        f"This form is for the {o.term.label} PEP, but the current term is the "
                        f"{o.current_term.label}. Nothing has been saved yet.",
                        weight="bolder",
                    ),
                    text(f"Save it into the {o.term.label} PEP?"),
                    action_set(
                        [
                            execute(
                                f"Save into the {o.term.label} PEP",
                                FORM_OTHER_TERM,
                                term_data or {},
                            )
                        ]
                    ),
                ],
                style="attention",
            )
        )
        return card(body)
    if o.locked:
        body.append(
            text(
                o.locked + " Nothing from this form was saved.", weight="bolder", color="attention"
            )
        )
        return card(body)
    if o.saved:
        body.append(
            text(
                f"Saved into the {o.term.label} PEP ({len(o.saved)} section"
                f"{'s' if len(o.saved) != 1 else ''}):",
                weight="bolder",
                color="good",
            )
        )
        body.extend(bullets(_title(k) for k in o.saved))
    else:
        body.append(
            text(f"Nothing was changed in the {o.term.label} PEP by this form.", weight="bolder")
        )
    if o.conflicts:
        lines = [line for c in o.conflicts for line in conflict_lines(c)]
        body.append(
            container(
                [
                    text(
                        "Changed in Teams since this form was made — not overwritten:",
                        weight="bolder",
                        color="attention",
                    ),
                    *bullets(lines),
                    text("Open the PEP to choose between them.", size="small", subtle=True),
                ],
                style="attention",
            )
        )
    if o.kept_newer:
        body.append(
            text(
                f"Kept the newer answers typed in Teams (the form did not change "
                f"them): {_titles(o.kept_newer)}.",
                subtle=True,
            )
        )
    if o.meeting_kept:
        body.append(
            text(
                f"Recorded in the meeting, so not changed by a form: {_titles(o.meeting_kept)}.",
                subtle=True,
            )
        )
    if o.not_yet:
        body.append(
            text(
                f"Completed in the meeting, not from the form: "
                f"{_titles(o.not_yet)}. What the form says there was not saved.",
                subtle=True,
            )
        )
    if o.outside:
        body.append(
            text(
                f"Text typed outside the boxes was not read in: "
                f"{_titles(o.outside)}. Type it into the boxes and send the form "
                "again.",
                color="attention",
            )
        )
    problems = [*o.problems, *o.gaps]
    if problems:
        body.append(
            container(
                [
                    text(f"Needs attention ({len(problems)}):", weight="bolder", color="attention"),
                    *(
                        [text("Not saved (correct these and send the form again):", size="small")]
                        if o.problems
                        else []
                    ),
                    *bullets(
                        _short(line, LINE_CHARS) for line in problem_lines(problems, ERRORS_SHOWN)
                    ),
                    *(
                        [text(f"and {len(problems) - ERRORS_SHOWN} more", subtle=True)]
                        if len(problems) > ERRORS_SHOWN
                        else []
                    ),
                    text(
                        "Correct these in the form and upload it again, or open the PEP and "
                        "fill them in here.",
                        size="small",
                        subtle=True,
                    ),
                ],
                style="attention",
            )
        )
    elif not o.conflicts:
        body.append(text("Nothing needs attention.", color="good"))
    if o.clearings:
        n = len(o.clearings)
        body.append(
            container(
                [
                    text(
                        f"This form would clear {n} answer{'s' if n != 1 else ''} — they are kept "
                        "until you say so:",
                        weight="bolder",
                    ),
                    *bullets(clearing_line(c) for c in o.clearings[:CLEARINGS_SHOWN]),
                    *(
                        [text(f"and {n - CLEARINGS_SHOWN} more", subtle=True)]
                        if n > CLEARINGS_SHOWN
                        else []
                    ),
                    action_set(
                        [
                            execute(
                                f"Clear {'them' if n != 1 else 'it'}",
                                FORM_CLEAR,
                                clear_data(o.pep.id, o.clearings, o.clear_versions),
                            )
                        ]
                    ),
                ],
                style="emphasis",
            )
        )
    return card(body)


def cleared_card(o: ClearOutcome) -> dict[str, Any]:
    body: list[Element] = [
        heading("Answers cleared" if o.cleared else "Nothing cleared"),
        text(f"{o.child.initials} ({o.child.lcs_id})", subtle=True, spacing="none"),
    ]
    if o.cleared:
        body.extend(bullets(clearing_line(c) for c in o.cleared))
    if o.stale:
        body.append(
            text(
                f"Changed since the form was read, so nothing was cleared in: "
                f"{_titles(o.stale)}. Open the PEP to see them.",
                color="attention",
            )
        )
    return card(body)
