"""What every use case shares: a PEP read with its child, the capability check, the
outcome of a save, and reading again when another request wrote the PEP meanwhile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pep_model.access import Actor, Capability
from pep_model.child import Child
from pep_model.errors import FieldError, NotAllowed, NotFound, StaleVersion, StoreUnavailable
from pep_model.pep import Pep
from pep_model.ports import UnitOfWork, UnitOfWorkFactory

T = TypeVar("T")

# How often a use case reads the PEP again when another request wrote it between its
# read and its write (the version check failed), before answering "busy".
SAVE_ATTEMPTS = 5
KEEPS_CHANGING = "The PEP kept changing while this was being saved."


@dataclass
class SaveOutcome:
    """The result of a save: the PEP as it now stands and the errors, if refused."""

    pep: Pep
    child: Child
    errors: list[FieldError] = field(default_factory=list)
    changed: bool = False

    @property
    def saved(self) -> bool:
        return not self.errors


async def retry(uow: UnitOfWorkFactory, attempt: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `attempt` in a unit of work of its own until it gets past the version check:
    StaleVersion (another request wrote the PEP between this one's read and its write)
    means read it again and decide again. Bounded: then "busy" (StoreUnavailable)."""
    for _ in range(SAVE_ATTEMPTS):
        async with uow() as work:
            try:
                return await attempt(work)
            except StaleVersion:
                continue
    raise StoreUnavailable(KEEPS_CHANGING)


async def load_pep(uow: UnitOfWork, pep_id: str) -> tuple[Pep, Child]:
    """A PEP and its child, or NotFound."""
    pep = await uow.peps.get(pep_id)
    if pep is None:
        raise NotFound(f"There is no PEP {pep_id}.")
    child = await uow.children.get(pep.child_id)
    if child is None:  # pragma: no cover - the store keeps them together
        raise NotFound(f"There is no child {pep.child_id}.")
    return pep, child


def require(actor: Actor, capability: Capability, child: Child) -> None:
    """The actor holds this capability for the child, or NotAllowed."""
    if not actor.can(capability, child):
        raise NotAllowed("You do not have access to this child's PEP.")
