"""Text typed in a form's table cells outside its boxes (a common Word habit): it is
not read, so the sections where it happened are named. Compared with what the form
itself prints in those cells: labels, hints and the choices' names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from forms.tags import options
from forms.wordml import W_NS
from pep_model.sections import SectionSpec

_W = f"{{{W_NS}}}"
_SDT, _T, _TC = _W + "sdt", _W + "t", _W + "tc"


def _squash(text: str) -> str:
    return "".join(text.replace("\u00a0", " ").split())


def _text_outside_boxes(cell: Any) -> str:
    """The text of a table cell that is not inside a content control."""
    parts = []
    for t in cell.iter(_T):
        if not any(a.tag == _SDT for a in t.iterancestors()):
            parts.append(t.text or "")
    return "".join(parts)


def typed_outside(spec: SectionSpec, rows: Sequence[Any]) -> bool:
    """Text typed in a cell of the section's tables outside its boxes (compared with
    what the form itself prints there: labels, hints, the choices' names)."""
    printed = {_squash(f.label + f.hint) for f in spec.fields}
    printed |= {_squash(f.label) for f in spec.fields}
    labels = sorted(
        {_squash(label) for f in (*spec.fields, *spec.row_fields) for _, label in options(f)},
        key=len,
        reverse=True,
    )
    for tr in rows:
        for tc in tr.iterchildren(_TC):
            has_box = next(tc.iter(_SDT), None) is not None
            text = _squash(_text_outside_boxes(tc))
            if not text:
                continue
            if not has_box:
                if text not in printed:
                    return True
                continue
            for label in labels:
                text = text.replace(label, "")
            if text:
                return True
    return False
