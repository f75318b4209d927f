"""Reading what a card sent: verb, data, and the few hidden values cards carry."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pep_model.errors import PepError
from pep_model.sections import SECTION_KEYS

MAX_DATA_KEYS = 400
MAX_VALUE_CHARS = 10_000
MAX_NUMBER_DIGITS = 9  # versions and page numbers: far below 10**9, and int() is cheap
# what the section model reads itself (pep_model/sections.py refuses a broken character
# there with a message on the field); every other value is checked here
SECTION_FIELD_PREFIXES = ("f.", "r.")

_DIGITS = re.compile(f"[0-9]{{1,{MAX_NUMBER_DIGITS}}}")
# half an emoji (a lone UTF-16 surrogate) or NUL: no database or log can hold them
_BROKEN = re.compile("[\x00\ud800-\udfff]")


class BadRequest(PepError):
    """Card data the bot cannot use; answered with a clear message, nothing changed."""


def broken_text(text: str) -> bool:
    """Whether `text` holds half of a UTF-16 surrogate pair (half an emoji) or NUL:
    text that cannot be stored (PostgreSQL refuses both), logged or shown."""
    return _BROKEN.search(text) is not None


def parse_action(value: Any) -> tuple[str, dict[str, Any]]:
    """The verb and data of an Action.Execute, checked for shape and size."""
    if not isinstance(value, Mapping):
        raise BadRequest("The card action carried no data.")
    action = value.get("action")
    if not isinstance(action, Mapping) or action.get("type", "Action.Execute") != "Action.Execute":
        raise BadRequest("The card action is not an Action.Execute.")
    verb = action.get("verb")
    data = action.get("data") or {}
    if not isinstance(verb, str) or not verb:
        raise BadRequest("The card action has no verb.")
    if broken_text(verb):
        raise BadRequest("The card action's verb contains a broken character.")
    if not isinstance(data, Mapping):
        raise BadRequest("The card action's data is not an object.")
    if len(data) > MAX_DATA_KEYS:
        raise BadRequest("The card sent too many fields.")
    for key, item in data.items():
        if not isinstance(key, str):
            raise BadRequest("The card sent a field without a name.")
        section_field = key.startswith(SECTION_FIELD_PREFIXES)
        if broken_text(key) and not section_field:
            raise BadRequest(
                f"The card sent a field named {_shown(key)} with a broken "
                "character (half an emoji?) in its name."
            )
        if isinstance(item, str) and len(item) > MAX_VALUE_CHARS:
            raise BadRequest(f"The field {_shown(key)} is too long.")
        if isinstance(item, (dict, list)):
            raise BadRequest(f"The field {_shown(key)} has an unexpected value.")
        if isinstance(item, str) and not section_field and broken_text(item):
            raise BadRequest(
                f"The field {_shown(key)} contains a broken character (half "
                "an emoji?): retype it without it."
            )
    return verb, dict(data)


def _shown(key: str) -> str:
    """A field's name as a message shows it: quoted, a broken character as �."""
    return repr(_BROKEN.sub("\ufffd", key[:60]))


def whole_number(value: Any, what: str) -> int:
    """A number a card carries (a version, a page): 0 or more, as a JSON number or a
    string of up to 9 ASCII digits. Anything else — "²", "١٢", "-1", "1.5", 5,000
    digits, true — is a BadRequest naming `what`."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < 10**MAX_NUMBER_DIGITS:
            return value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise BadRequest(
        f"The card's {what} is not a whole number of up to {MAX_NUMBER_DIGITS} digits."
    )


def data_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"The card did not say which {key.replace('_', ' ')}.")
    return value


def data_version(data: Mapping[str, Any]) -> int:
    value = data.get("version")
    if value is None or value == "":
        raise BadRequest("The card did not carry the version it was showing.")
    return whole_number(value, "version")


def data_page(data: Mapping[str, Any]) -> int:
    """The page of a list a card asks for; the first when it names none."""
    value = data.get("page")
    return 1 if value is None or value == "" else whole_number(value, "page number")


def data_section(data: Mapping[str, Any], key: str = "section") -> str:
    section = data_str(data, key)
    if section not in SECTION_KEYS:
        raise BadRequest(f"{section!r} is not a PEP section.")
    return section
