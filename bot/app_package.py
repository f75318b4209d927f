"""Build the Teams app package (manifest.json + color.png + outline.png in a zip).

The manifest comes from ``appPackage/manifest.template.json``; its ``{{PLACEHOLDER}}``
markers sit inside JSON strings and are replaced by JSON-escaped setting values.
Every value is checked first, and a bad one raises ``ValueError`` naming the field.

The Teams JSON schema does not check resource-specific consent (RSC) permission
names, so :func:`check_rsc_permissions` compares them with the names Microsoft
documents.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot import commands
from bot.commands import Where
from graph.permissions import MEETING_RSC_PERMISSIONS

APP_PACKAGE_DIR = Path(__file__).resolve().parent.parent / "appPackage"
TEMPLATE_NAME = "manifest.template.json"
ICON_NAMES = ("color.png", "outline.png")

# The RSC permissions the manifest asks for (all of type Application, chat scope:
# they also cover the meeting associated with the chat), stated once in graph/.
RSC_PERMISSIONS: tuple[str, ...] = MEETING_RSC_PERMISSIONS

# RSC permission names documented for Teams apps ("Resource-specific consent for
# your Teams app": team, chat/meeting and user resources), with the permission
# types each name is documented for.
_APP = frozenset({"Application"})
_DEL = frozenset({"Delegated"})
_BOTH = frozenset({"Application", "Delegated"})
KNOWN_RSC_PERMISSIONS: dict[str, frozenset[str]] = {
    # team (application)
    "Channel.Create.Group": _APP,
    "Channel.Delete.Group": _APP,
    "ChannelMeeting.ReadBasic.Group": _BOTH,
    "ChannelMeetingParticipant.Read.Group": _BOTH,
    "ChannelMeetingRecording.Read.Group": _APP,
    "ChannelMeetingTranscript.Read.Group": _APP,
    "ChannelMeetingNotification.Send.Group": _APP,
    "ChannelMessage.Read.Group": _APP,
    "ChannelMessage.Send.Group": _APP,
    "ChannelSettings.Read.Group": _APP,
    "ChannelSettings.ReadWrite.Group": _APP,
    "Member.Read.Group": _APP,
    "Owner.Read.Group": _APP,
    "TeamsActivity.Send.Group": _APP,
    "TeamsAppInstallation.Read.Group": _APP,
    "TeamMember.Read.Group": _APP,
    "TeamSettings.Read.Group": _APP,
    "TeamSettings.ReadWrite.Group": _APP,
    "TeamsTab.Create.Group": _APP,
    "TeamsTab.Delete.Group": _APP,
    "TeamsTab.Read.Group": _APP,
    "TeamsTab.ReadWrite.Group": _APP,
    # team (delegated)
    "ChannelMeetingActiveSpeaker.Read.Group": _DEL,
    "ChannelMeetingAudioVideo.Stream.Group": _DEL,
    "ChannelMeetingIncomingAudio.Detect.Group": _DEL,
    "ChannelMeetingStage.Write.Group": _DEL,
    "InAppPurchase.Allow.Group": _DEL,
    "LiveShareSession.ReadWrite.Group": _DEL,
    "MeetingParticipantReaction.Read.Group": _DEL,
    # chat or meeting (application)
    "Calls.AccessMedia.Chat": _APP,
    "Calls.JoinGroupCalls.Chat": _APP,
    "ChatSettings.Read.Chat": _APP,
    "ChatSettings.ReadWrite.Chat": _APP,
    "ChatMessage.Read.Chat": _APP,
    "ChatMessage.Send.Chat": _APP,
    "ChatMessageReadReceipt.Read.Chat": _APP,
    "ChatMember.Read.Chat": _APP,
    "Chat.Manage.Chat": _APP,
    "TeamsTab.Read.Chat": _APP,
    "TeamsTab.Create.Chat": _APP,
    "TeamsTab.Delete.Chat": _APP,
    "TeamsTab.ReadWrite.Chat": _APP,
    "TeamsAppInstallation.Read.Chat": _APP,
    "TeamsActivity.Send.Chat": _APP,
    "OnlineMeeting.ReadBasic.Chat": _APP,
    "OnlineMeetingNotification.Send.Chat": _APP,
    "OnlineMeetingParticipant.Read.Chat": _BOTH,
    "OnlineMeetingRecording.Read.Chat": _APP,
    "OnlineMeetingTranscript.Read.Chat": _APP,
    # chat or meeting (delegated)
    "InAppPurchase.Allow.Chat": _DEL,
    "LiveShareSession.ReadWrite.Chat": _DEL,
    "MeetingStage.Write.Chat": _DEL,
    "MeetingParticipantReaction.Read.Chat": _DEL,
    "OnlineMeetingActiveSpeaker.Read.Chat": _DEL,
    "OnlineMeetingAudioVideo.Stream.Chat": _DEL,
    "OnlineMeetingIncomingAudio.Detect.Chat": _DEL,
    "OnlineMeetingParticipant.ToggleIncomingAudio.Chat": _DEL,
    # user (delegated)
    "CameraStream.Read.User": _DEL,
    "InAppPurchase.Allow.User": _DEL,
    "MeetingParticipantReaction.Read.User": _DEL,
    "MicrophoneStream.Read.User": _DEL,
    "OutgoingVideoStream.Write.User": _DEL,
}

_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HOST_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_SEMVER_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_PLACEHOLDER_RE = re.compile(r"\{\{([A-Z_]+)\}\}")
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # fixed timestamps: same inputs give the same zip


EXAMPLE_DOMAIN = "pep-companion.example.org"  # the settings' defaults: not a real bot


def example_settings(settings: Any) -> list[str]:
    """The PEP_ settings that still name the example domain (a package built from them
    installs a bot Teams can never reach)."""
    fields = ("public_domain", "website_url", "privacy_url", "terms_url")
    return [
        f"PEP_{name.upper()}"
        for name in fields
        if EXAMPLE_DOMAIN in str(getattr(settings, name, "")).lower()
    ]


def check_rsc_permissions(manifest: dict[str, Any]) -> list[str]:
    """Problems with the manifest's RSC permissions; an empty list means all is well.

    Reports names that are not documented Teams RSC permissions and names used
    with a type (Application / Delegated) they are not documented for.
    """
    problems: list[str] = []
    authorization = manifest.get("authorization") or {}
    permissions = (authorization.get("permissions") or {}).get("resourceSpecific") or []
    for index, entry in enumerate(permissions):
        where = f"authorization.permissions.resourceSpecific[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected an object with name and type")
            continue
        name = entry.get("name")
        kind = entry.get("type")
        types = KNOWN_RSC_PERMISSIONS.get(name) if isinstance(name, str) else None
        if types is None:
            problems.append(f"{where}: {name!r} is not a known Teams RSC permission name")
        elif kind not in types:
            expected = " or ".join(sorted(types))
            problems.append(f"{where}: {name} is documented as {expected}, not {kind!r}")
    return problems


def _check_guid(field: str, value: str) -> str:
    if not isinstance(value, str) or not _GUID_RE.match(value):
        raise ValueError(
            f"{field} must be a GUID like 00000000-0000-0000-0000-000000000000, got {value!r}"
        )
    uuid.UUID(value)  # belt and braces: the pattern already guarantees this parses
    return value


def _check_domain(field: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} must be a bare host name such as pep.example.org, got {value!r}")
    if "://" in value or any(ch in value for ch in "/?#@:[] \t\r\n"):
        raise ValueError(
            f"{field} must be a bare host name without scheme, port or path "
            f"(e.g. pep.example.org), got {value!r}"
        )
    labels = value.split(".")
    if len(value) > 253 or not all(_HOST_LABEL_RE.match(label) for label in labels):
        raise ValueError(f"{field} is not a valid host name: {value!r}")
    return value


def _check_https_url(field: str, value: str) -> str:
    if not isinstance(value, str) or any(ch.isspace() for ch in value):
        raise ValueError(f"{field} must be an https:// URL, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ValueError(f"{field} must be an https:// URL, got {value!r}")
    if len(value) > 2048:
        raise ValueError(f"{field} must be at most 2048 characters")
    return value


def _check_text(field: str, value: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must not be empty")
    if len(value) > max_length:
        raise ValueError(f"{field} must be at most {max_length} characters, got {len(value)}")
    if any(ord(ch) < 0x20 for ch in value):
        raise ValueError(f"{field} must not contain control characters")
    return value


def _check_version(field: str, value: str) -> str:
    if not isinstance(value, str) or not _SEMVER_RE.match(value):
        raise ValueError(f"{field} must be a version like 1.0.0 (major.minor.patch), got {value!r}")
    return value


def render_manifest(values: dict[str, str], template_text: str | None = None) -> dict[str, Any]:
    """Fill the manifest template with already-validated values and parse it."""
    if template_text is None:
        template_text = (APP_PACKAGE_DIR / TEMPLATE_NAME).read_text(encoding="utf-8")

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ValueError(f"manifest template uses unknown placeholder {{{{{key}}}}}")
        # Placeholders sit inside JSON strings: insert the JSON-escaped body.
        return json.dumps(values[key], ensure_ascii=False)[1:-1]

    filled = _PLACEHOLDER_RE.sub(replace, template_text)
    manifest: dict[str, Any] = json.loads(filled)
    _declare(manifest)
    return manifest


def _declare(manifest: dict[str, Any]) -> None:
    """What the bot's code says once, written into the manifest: the command menu per
    scope (bot/commands.py: where each command answers) and the RSC permissions."""
    for bot in manifest.get("bots") or []:
        lists = [
            {"scopes": [scope], "commands": commands.menu(where)}
            for scope, where in (
                ("personal", Where.PERSONAL),
                ("groupChat", Where.SHARED),
                ("team", Where.CHANNEL),
            )
        ]
        bot["commandLists"] = [entry for entry in lists if entry["commands"]]
    permissions = manifest.setdefault("authorization", {}).setdefault("permissions", {})
    permissions["resourceSpecific"] = [
        {"name": name, "type": "Application"} for name in RSC_PERMISSIONS
    ]


def build_app_package(
    *,
    app_id: str,
    bot_id: str,
    domain: str,
    version: str = "1.0.0",
    app_name: str = "PEP Companion",
    developer_name: str,
    website_url: str,
    privacy_url: str,
    terms_url: str,
    out_path: Path,
) -> Path:
    """Write the Teams app package zip and return its path.

    ``out_path`` is the zip file to write (parent folders are created); if it is an
    existing directory, ``pep-companion-<version>.zip`` is written inside it.
    """
    values = {
        "APP_ID": _check_guid("app_id", app_id),
        "BOT_ID": _check_guid("bot_id", bot_id),
        "DOMAIN": _check_domain("domain", domain),
        "VERSION": _check_version("version", version),
        "APP_NAME": _check_text("app_name", app_name, 30),
        "DEVELOPER_NAME": _check_text("developer_name", developer_name, 32),
        "WEBSITE_URL": _check_https_url("website_url", website_url),
        "PRIVACY_URL": _check_https_url("privacy_url", privacy_url),
        "TERMS_URL": _check_https_url("terms_url", terms_url),
    }
    manifest = render_manifest(values)
    problems = check_rsc_permissions(manifest)
    if problems:
        raise ValueError("manifest RSC permissions: " + "; ".join(problems))

    out_path = Path(out_path)
    if out_path.is_dir():
        out_path = out_path / f"pep-companion-{version}.zip"
    out_path.parent.mkdir(parents=True, exist_ok=True)

    entries: list[tuple[str, bytes]] = [
        ("manifest.json", (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()),
    ]
    for name in ICON_NAMES:
        entries.append((name, (APP_PACKAGE_DIR / name).read_bytes()))

    with zipfile.ZipFile(out_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return out_path
