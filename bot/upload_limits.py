"""How much reading uploaded Word forms may cost the bot (docs/platform-notes.md,
Downloads).

A message's files are downloaded and read one at a time, at most MAX_FORMS_PER_MESSAGE
of them (a message with more is refused before anything is downloaded), each within
PEP_MAX_UPLOAD_BYTES and forms.safe_docx's limits. The XML is parsed in a worker
thread, never on the event loop, and at most FORMS_READ_AT_ONCE forms are parsed at
the same time across every chat, so a hostile file cannot freeze other conversations
or multiply its memory by being sent in many messages at once.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import cards
from forms.read_back import FormReading, read_form

MAX_FORMS_PER_MESSAGE = 5
FORMS_READ_AT_ONCE = 2

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def read_uploaded_form(docx: bytes) -> FormReading:
    """read_form in a worker thread, a few at a time. Raises what read_form raises."""
    loop = asyncio.get_running_loop()
    slots = _slots.setdefault(loop, asyncio.Semaphore(FORMS_READ_AT_ONCE))
    async with slots:
        return await asyncio.to_thread(read_form, docx)


def too_many_forms_card(count: int) -> dict[str, Any]:
    return cards.message_card(
        "Too many files",
        f"I read up to {MAX_FORMS_PER_MESSAGE} forms from one message "
        f"and this one has {count} files, so none of them was read. Please send them "
        f"again, up to {MAX_FORMS_PER_MESSAGE} in a message.",
        style="attention",
    )
