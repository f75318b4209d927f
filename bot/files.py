"""Files offered in a personal chat (Teams' file consent card) and written to the
person's OneDrive only when they accept: the offer, reading the acceptance, and the
file card shown once it is saved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.card_data import BadRequest

FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
FILE_DOWNLOAD = "application/vnd.microsoft.teams.file.download.info"


def file_offer(name: str, size: int, context: dict[str, str], description: str
               ) -> dict[str, Any]:
    """A file offered in personal chat; `context` comes back with the answer."""
    return {"contentType": FILE_CONSENT, "name": name,
            "content": {"description": description, "sizeInBytes": size,
                        "acceptContext": context, "declineContext": context}}


def upload_address(value: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """From an accepted fileConsent/invoke: where to PUT the file, and Teams' uploadInfo."""
    info = value.get("uploadInfo") or {}
    upload_url = info.get("uploadUrl") if isinstance(info, Mapping) else None
    if not isinstance(upload_url, str):
        raise BadRequest("Teams did not give an upload address.")
    return upload_url, info


def saved_file_card(info: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The file card for a file just saved to the person's OneDrive."""
    return {"contentType": FILE_INFO, "contentUrl": info.get("contentUrl", ""),
            "name": info.get("name") or name,
            "content": {"uniqueId": info.get("uniqueId", ""),
                        "fileType": info.get("fileType") or name.rsplit(".")[-1]}}
