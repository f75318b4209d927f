"""Errors a person can cause, each saying what is wrong and where."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of one section (and one row of a table section).

    `confirm`: the problem is only a question ("is this date right?"): the person may
    keep the value by confirming it; the token names the field and the value confirmed
    (pep_model.confirmations), and a changed value asks again."""

    section: str
    field: str
    message: str
    row: int | None = None
    confirm: str | None = None

    def where(self) -> str:
        from pep_model.sections import section_spec

        spec = section_spec(self.section)
        label = spec.field_label(self.field)
        if self.row is not None:
            return f"{spec.title}, {spec.row_noun} {self.row + 1}, {label}"
        return f"{spec.title}, {label}"

    def as_dict(self) -> dict[str, Any]:
        shown = {
            "section": self.section,
            "field": self.field,
            "row": self.row,
            "message": self.message,
        }
        return shown | ({"confirm": self.confirm} if self.confirm else {})


class PepError(Exception):
    """Base of every error the core raises on purpose."""


class NotFound(PepError):
    pass


class NotAllowed(PepError):
    """The actor has no right to do this to this child's PEP."""


class IllegalTransition(PepError):
    def __init__(self, current: str, target: str, reason: str = "") -> None:
        self.current = current
        self.target = target
        text = f"A PEP that is '{current}' cannot move to '{target}'"
        super().__init__(text + (f": {reason}" if reason else "."))


class ValidationFailed(PepError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.where()}: {e.message}" for e in errors))


class ConflictError(PepError):
    """A save carried a version older than the stored one, and the same section changed."""

    def __init__(self, current: Any) -> None:
        self.current = current  # the Pep as stored now
        super().__init__("Someone else saved this section first; their values are shown.")


class StaleVersion(PepError):
    """Raised by a repository when a compare-and-swap on the version fails."""


class StoreUnavailable(PepError):
    """The PEP records could not be reached or stayed busy (another process held the
    database's writer lock past the wait, the server is down or dropped the connection):
    the unit of work did not complete, and trying again later is the answer (a save
    that did land meanwhile shows up as a conflict, with its values). Raised by the
    store at the unit of work's edge."""


class AlreadyDone(IllegalTransition):
    """A move to where the PEP already is (a second press of the same button, a retry):
    nothing changes, and the message says where the PEP stands in a person's words."""

    def __init__(self, current: str, message: str) -> None:
        super().__init__(current, current)
        self.args = (message,)


class CardOutOfStep(PepError):
    """A card claiming a version of the PEP newer than the stored one: crafted, or made
    from another database. Refused as malformed; nothing is saved."""

    def __init__(self) -> None:
        super().__init__("This card is out of step with the PEP; open it again.")


class NotInThisChat(PepError):
    """A meeting card from a chat whose walkthrough is over or moved elsewhere: nothing
    is changed. `current` is the PEP as stored, to say why."""

    def __init__(self, current: Any) -> None:
        self.current = current
        super().__init__("This PEP's walkthrough is not running in this chat.")
