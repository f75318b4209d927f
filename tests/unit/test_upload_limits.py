"""An uploaded form is read in a worker thread: other chats go on while it is parsed."""

from __future__ import annotations

import asyncio
import os

import pytest

from bot.upload_limits import read_uploaded_form
from forms.read_back import NotAPepForm
from tests.support.zip_bombs import MB, member, zip_of


def _big_body(size: int) -> bytes:
    """A legal, large document body (random text: it compresses less than Word's XML)."""
    text = os.urandom(size // 3).hex()
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paras = "".join(
        f"<w:p><w:r><w:t>{text[i : i + 64]}</w:t></w:r></w:p>" for i in range(0, len(text), 64)
    )
    return f"<w:document {w}><w:body>{paras}</w:body></w:document>".encode()


async def test_the_event_loop_keeps_running_while_a_form_is_parsed() -> None:
    docx = zip_of([member("word/document.xml", _big_body(4 * MB))])
    ticks = 0
    reading = asyncio.ensure_future(read_uploaded_form(docx))

    while not reading.done():
        await asyncio.sleep(0.002)
        ticks += 1
    with pytest.raises(NotAPepForm, match="no PEP reference"):
        reading.result()
    # parsed on the loop, the read would have finished before a single tick
    assert ticks >= 5
