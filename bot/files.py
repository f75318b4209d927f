"""Files offered in a personal chat (Teams' file consent card) and written to the
person's OneDrive only when they accept: the offer, reading the acceptance, and the
file card shown once it is saved."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import cards
from bot.card_data import BadRequest
from bot.turn import Outgoing, Reply

log = logging.getLogger(__name__)

FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
FILE_DOWNLOAD = "application/vnd.microsoft.teams.file.download.info"


def file_offer(name: str, size: int, context: dict[str, str], description: str) -> dict[str, Any]:
    """A file offered in personal chat; `context` comes back with the answer."""
    return {
        "contentType": FILE_CONSENT,
        "name": name,
        "content": {
            "description": description,
            "sizeInBytes": size,
            "acceptContext": context,
            "declineContext": context,
        },
    }


def upload_address(value: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """From an accepted fileConsent/invoke: where to PUT the file, and Teams' uploadInfo."""
    info = value.get("uploadInfo") or {}
    upload_url = info.get("uploadUrl") if isinstance(info, Mapping) else None
    if not isinstance(upload_url, str):
        raise BadRequest("Teams did not give an upload address.")
    return upload_url, info


def saved_file_card(info: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The file card for a file just saved to the person's OneDrive."""
    return {
        "contentType": FILE_INFO,
        "contentUrl": info.get("contentUrl", ""),
        "name": info.get("name") or name,
        "content": {
            "uniqueId": info.get("uniqueId", ""),
            "fileType": info.get("fileType") or name.rsplit(".")[-1],
        },
    }


Upload = Callable[[str, bytes], Awaitable[None]]


async def save_accepted(
    upload: Upload, value: Mapping[str, Any], name: str, content: bytes
) -> Reply:
    """Write an accepted file to the upload address Teams gave; the saved-file card, or
    — when OneDrive cannot be reached or refuses — a message saying the file was not
    saved (never a failed turn)."""
    upload_url, info = upload_address(value)
    try:
        await upload(upload_url, content)
    except Exception as exc:  # network, timeout or a refusal: say so, keep nothing
        log.warning("could not upload an accepted file: %s", type(exc).__name__)
        return Reply(
            messages=[
                Outgoing(
                    card=cards.message_card(
                        "The file was not saved",
                        f"I could not save {name} to your OneDrive just "
                        "now. Please try again in a moment (type 'help' if it keeps failing).",
                        style="attention",
                    )
                )
            ]
        )
    return Reply(messages=[Outgoing(attachment=saved_file_card(info, name))])
