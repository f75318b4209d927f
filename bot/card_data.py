"""Reading what a card sent: verb, data, and the few hidden values cards carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pep_model.errors import PepError
from pep_model.sections import SECTION_KEYS

MAX_DATA_KEYS = 400
MAX_VALUE_CHARS = 10_000


class BadRequest(PepError):
    """Card data the bot cannot use; answered with a clear message, nothing changed."""


def parse_action(value: Any) -> tuple[str, dict[str, Any]]:
    """The verb and data of an Action.Execute, checked for shape and size."""
    if not isinstance(value, Mapping):
        raise BadRequest("The card action carried no data.")
    action = value.get("action")
    if not isinstance(action, Mapping) or action.get("type", "Action.Execute") != \
            "Action.Execute":
        raise BadRequest("The card action is not an Action.Execute.")
    verb = action.get("verb")
    data = action.get("data") or {}
    if not isinstance(verb, str) or not verb:
        raise BadRequest("The card action has no verb.")
    if not isinstance(data, Mapping):
        raise BadRequest("The card action's data is not an object.")
    if len(data) > MAX_DATA_KEYS:
        raise BadRequest("The card sent too many fields.")
    for key, item in data.items():
        if not isinstance(key, str):
            raise BadRequest("The card sent a field without a name.")
        if isinstance(item, str) and len(item) > MAX_VALUE_CHARS:
            raise BadRequest(f"The field {key!r} is too long.")
        if isinstance(item, (dict, list)):
            raise BadRequest(f"The field {key!r} has an unexpected value.")
    return verb, dict(data)


def data_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"The card did not say which {key.replace('_', ' ')}.")
    return value


def data_version(data: Mapping[str, Any]) -> int:
    value = data.get("version")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            not str(value).isdigit():
        raise BadRequest("The card did not carry the version it was showing.")
    return int(value)


def data_section(data: Mapping[str, Any], key: str = "section") -> str:
    section = data_str(data, key)
    if section not in SECTION_KEYS:
        raise BadRequest(f"{section!r} is not a PEP section.")
    return section


