"""The life of a PEP in one term: its statuses and who may move it on."""

from __future__ import annotations

from enum import StrEnum

from pep_model.access import Capability
from pep_model.errors import AlreadyDone, IllegalTransition, NotAllowed


class PepStatus(StrEnum):
    DRAFT = "draft"
    PACK_SENT = "pack_sent"
    IN_PROGRESS = "in_progress"
    READY_FOR_MEETING = "ready_for_meeting"
    IN_MEETING = "in_meeting"
    AWAITING_RETURN = "awaiting_return"
    RETURNED = "returned"
    IN_QA = "in_qa"
    AMENDMENTS_REQUESTED = "amendments_requested"
    FINALISED = "finalised"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS = {
    PepStatus.DRAFT: "Not started",
    PepStatus.PACK_SENT: "Pack sent to school",
    PepStatus.IN_PROGRESS: "Being completed",
    PepStatus.READY_FOR_MEETING: "Ready for the meeting",
    PepStatus.IN_MEETING: "Meeting in progress",
    PepStatus.AWAITING_RETURN: "Awaiting return",
    PepStatus.RETURNED: "Returned to Business Support",
    PepStatus.IN_QA: "In quality assurance",
    PepStatus.AMENDMENTS_REQUESTED: "Amendments requested",
    PepStatus.FINALISED: "Finalised",
}

S = PepStatus
_BEFORE = (S.DRAFT, S.PACK_SENT, S.IN_PROGRESS, S.READY_FOR_MEETING)

# (from, to) -> the capability the actor needs for that child.
MOVES: dict[tuple[PepStatus, PepStatus], Capability] = {
    (S.DRAFT, S.PACK_SENT): Capability.SEND_PACKS,
    (S.DRAFT, S.IN_PROGRESS): Capability.EDIT,
    (S.PACK_SENT, S.IN_PROGRESS): Capability.EDIT,
    (S.DRAFT, S.READY_FOR_MEETING): Capability.EDIT,
    (S.PACK_SENT, S.READY_FOR_MEETING): Capability.EDIT,
    (S.IN_PROGRESS, S.READY_FOR_MEETING): Capability.EDIT,
    (S.READY_FOR_MEETING, S.IN_PROGRESS): Capability.EDIT,
    **{(s, S.IN_MEETING): Capability.LEAD_MEETING for s in _BEFORE},
    (S.IN_MEETING, S.AWAITING_RETURN): Capability.LEAD_MEETING,
    (S.AWAITING_RETURN, S.RETURNED): Capability.LEAD_MEETING,
    (S.RETURNED, S.IN_QA): Capability.QA,
    (S.IN_QA, S.AMENDMENTS_REQUESTED): Capability.QA,
    (S.IN_QA, S.FINALISED): Capability.QA,
    (S.AMENDMENTS_REQUESTED, S.RETURNED): Capability.EDIT,
}

# Where sections can still be edited, and which stage's sections.
EDITABLE_BEFORE = frozenset({*_BEFORE, S.IN_MEETING, S.AWAITING_RETURN, S.AMENDMENTS_REQUESTED})
EDITABLE_MEETING = frozenset({S.IN_MEETING, S.AWAITING_RETURN, S.AMENDMENTS_REQUESTED})


# After the meeting: the meeting is over whatever happened to the PEP since.
_AFTER = (S.AWAITING_RETURN, S.RETURNED, S.IN_QA, S.AMENDMENTS_REQUESTED, S.FINALISED)

# What a person is told when they ask for a move the PEP has already made (pressed twice).
ALREADY = {
    S.IN_MEETING: "This PEP meeting has already started.",
    S.AWAITING_RETURN: "This PEP meeting is already finished.",
    S.RETURNED: "This PEP has already been returned to Business Support.",
    S.IN_QA: "This PEP is already in quality assurance.",
    S.AMENDMENTS_REQUESTED: "Amendments to this PEP have already been requested.",
    S.FINALISED: "This PEP is already finalised.",
}

# Who holds a capability, in a person's words (messages never name an internal right).
WHO_MAY = {
    Capability.EDIT: "the people completing this child's PEP",
    Capability.LEAD_MEETING: "the child's designated teacher, PEP lead or social worker",
    Capability.QA: "a PEP coordinator",
    Capability.SEND_PACKS: "Business Support",
}


def already(status: PepStatus) -> str:
    """The answer to a second request for the move that brought the PEP to `status`."""
    return ALREADY.get(status, f"This PEP is already '{status.label}'.")


def check_move(current: PepStatus, target: PepStatus, capabilities: frozenset[Capability]) -> None:
    """Raises AlreadyDone (the PEP is there already), IllegalTransition or NotAllowed,
    each with a message in a person's words: statuses by their labels."""
    if current == target:
        raise AlreadyDone(current.label, already(current))
    needed = MOVES.get((current, target))
    if needed is None:
        raise IllegalTransition(current.label, target.label)
    if needed not in capabilities:
        raise NotAllowed(
            f"Moving a PEP to '{target.label}' is for {WHO_MAY.get(needed, 'someone else')}."
        )


def is_before_meeting(status: PepStatus) -> bool:
    return status in _BEFORE


def is_after_meeting(status: PepStatus) -> bool:
    """The PEP meeting has finished (the PEP may have moved on since)."""
    return status in _AFTER


def section_editable(status: PepStatus, meeting_section: bool) -> bool:
    """Whether a section can be changed while the PEP has this status (meeting sections
    only from the meeting on; nothing once the PEP is returned or finalised)."""
    return status in (EDITABLE_MEETING if meeting_section else EDITABLE_BEFORE)
