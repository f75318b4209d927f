"""Opening an uploaded .docx (a zip) without letting it unpack into the bot's memory.

A .docx is a zip of XML parts; only a few are read (the document body, the custom
properties). A hostile zip can declare small sizes and inflate to gigabytes ("zip
bomb"), so before anything is inflated the central directory is checked (member
count, each member's declared size and compression ratio, the declared total), and
while a part is read its ACTUAL inflated size is counted and reading stops as soon as
it passes the limit — the declared sizes are never trusted on their own. Nothing but
the parts asked for is inflated. Refusals say what is wrong in words a teacher can act
on (DocxRefused; forms.read_back turns it into NotAPepForm).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from pep_model.errors import PepError

MB = 1024 * 1024
_CHUNK = 64 * 1024


class DocxRefused(PepError):
    """The file is not a .docx that can be opened safely; the message says why."""


@dataclass(frozen=True)
class DocxLimits:
    """What a real PEP form never comes near. A Word document holds a few dozen
    parts; a PEP form's body is well under 2 MB of XML; Word's XML compresses about
    5-20 times, pictures hardly at all."""

    max_members: int = 1000
    max_part_bytes: int = 16 * MB  # each part read (inflated)
    max_total_bytes: int = 128 * MB  # every member together, as declared
    max_ratio: int = 100  # inflated / compressed, per member
    ratio_floor_bytes: int = 1 * MB  # smaller members may compress any amount


LIMITS = DocxLimits()

DAMAGED = (
    "This file is not a Word document (.docx) or it is damaged; please save the "
    "PEP form again in Word and send it."
)
NOT_A_FORM = (
    "It cannot be a PEP form, so it was not opened. Please return the PEP form you were sent."
)


def read_parts(docx: bytes, names: Iterable[str], limits: DocxLimits = LIMITS) -> dict[str, bytes]:
    """The named parts that the document has (inflated), after the checks above.
    Raises DocxRefused for anything that is not a .docx that can be read safely."""
    wanted = list(names)
    try:
        with zipfile.ZipFile(io.BytesIO(docx)) as archive:
            members = _checked_directory(archive, limits)
            return {
                name: _read_member(archive, members[name], limits)
                for name in wanted
                if name in members
            }
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
        ValueError,
    ) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown method
        raise DocxRefused(DAMAGED) from exc


def _checked_directory(archive: zipfile.ZipFile, limits: DocxLimits) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise DocxRefused(
            f"This file holds {len(infos)} parts, where a Word document "
            f"holds a few dozen. {NOT_A_FORM}"
        )
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if info.filename in members:  # two bodies: which one would be read is a guess
            raise DocxRefused(f"This file holds two parts of the same name. {NOT_A_FORM}")
        members[info.filename] = info
        total += info.file_size
        if _too_packed(info.file_size, info.compress_size, limits):
            raise DocxRefused(_packed_message(limits))
    if total > limits.max_total_bytes:
        raise DocxRefused(_size_message(limits.max_total_bytes))
    return members


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: DocxLimits) -> bytes:
    if info.flag_bits & 0x1:
        raise DocxRefused(
            "This Word document is protected with a password; please "
            "remove the password in Word and send it again."
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DocxRefused(DAMAGED)  # Word writes only these two
    if info.file_size > limits.max_part_bytes:
        raise DocxRefused(_size_message(limits.max_part_bytes))
    data = bytearray()
    with archive.open(info) as member:
        # zipfile inflates at most _CHUNK at a time: counting here bounds the memory
        # whatever the directory declared
        while chunk := member.read(_CHUNK):
            data += chunk
            if len(data) > limits.max_part_bytes:
                raise DocxRefused(_size_message(limits.max_part_bytes))
            if _too_packed(len(data), info.compress_size, limits):
                raise DocxRefused(_packed_message(limits))
    return bytes(data)


def _too_packed(inflated: int, compressed: int, limits: DocxLimits) -> bool:
    return inflated > limits.ratio_floor_bytes and inflated > limits.max_ratio * max(compressed, 1)


def _size_message(limit: int) -> str:
    return (
        f"This file would unpack to more than {limit // MB} MB, far more than any "
        f"PEP form. {NOT_A_FORM}"
    )


def _packed_message(limits: DocxLimits) -> str:
    return (
        f"This file is packed more than {limits.max_ratio} times tighter than Word "
        f"packs a document. {NOT_A_FORM}"
    )
