"""Who is acting: Teams user -> Person -> every assignment they hold."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.turn import Turn
from pep_model.access import Actor
from pep_model.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

MemberLookup = Callable[[Turn], Awaitable[str | None]]  # -> the user's email, if found


class IdentityResolver:
    """Entra object id first; else the email Teams gives for the member, matched against
    the roster (and the object id then remembered). Cached briefly per user."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        member_email: MemberLookup,
        ttl_seconds: float = 60.0,
        size: int = 5000,
    ) -> None:
        self.uow = uow
        self.member_email = member_email
        self.ttl = ttl_seconds
        self.size = size
        self._cache: OrderedDict[str, tuple[float, Actor]] = OrderedDict()

    async def resolve(self, turn: Turn) -> Actor:
        key = turn.aad_object_id or turn.user_id
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        actor = await self._resolve(turn)
        self._cache[key] = (time.monotonic(), actor)
        self._cache.move_to_end(key)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return actor

    async def _resolve(self, turn: Turn) -> Actor:
        async with self.uow() as uow:
            person = None
            if turn.aad_object_id:
                person = await uow.people.find(entra_object_id=turn.aad_object_id)
            if person is None:
                email = await self.member_email(turn)
                if email:
                    person = await uow.people.find(email=email)
                    if (
                        person is not None
                        and turn.aad_object_id
                        and person.entra_object_id != turn.aad_object_id
                    ):
                        person = replace(person, entra_object_id=turn.aad_object_id)
                        await uow.people.upsert(person)
                        await uow.commit()
                        log.info("linked person %s to an Entra object id", person.id)
            if person is None:
                return Actor(person=None)
            assignments = await uow.people.assignments(person.id)
        return Actor(person=person, assignments=tuple(assignments))
