"""The Teams app package: zip layout, Microsoft's schema validator, icons, RSC names,
and refusal of bad settings."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from bot.app_package import (
    APP_PACKAGE_DIR,
    RSC_PERMISSIONS,
    build_app_package,
    check_rsc_permissions,
)
from tests.support.tools import unavailable

REPO = Path(__file__).resolve().parents[2]
JS_DIR = REPO / "tests" / "js"
VALIDATOR = JS_DIR / "validate_manifest.mjs"

APP_ID = "0f8b6c1e-5a47-4c2b-9d0e-3a1b2c3d4e5f"
BOT_ID = "7d2e4f60-81a9-4b3c-8e5d-6f7a8b9c0d1e"

GOOD: dict[str, Any] = {
    "app_id": APP_ID,
    "bot_id": BOT_ID,
    "domain": "pep.example.org",
    "version": "1.2.3",
    "developer_name": "Example Virtual School",
    "website_url": "https://pep.example.org/",
    "privacy_url": "https://pep.example.org/privacy",
    "terms_url": "https://pep.example.org/terms",
}


# --- helpers ------------------------------------------------------------------------


def _build(tmp_path: Path, **overrides: Any) -> Path:
    return build_app_package(**{**GOOD, **overrides}, out_path=tmp_path / "app.zip")


def _manifest(zip_path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as zf:
        result: dict[str, Any] = json.loads(zf.read("manifest.json"))
        return result


def _run_validator(manifest: dict[str, Any], tmp_path: Path) -> tuple[int, list[str]]:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "@microsoft" / "app-manifest").is_dir():
        unavailable(
            "Microsoft's manifest validator needs node and tests/js/node_modules: "
            "run `npm ci --prefix tests/js`"
        )
    path = tmp_path / "manifest-under-test.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    proc = subprocess.run(
        [node, str(VALIDATOR), str(path)],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode in (0, 1), f"validator could not run: {proc.stdout}{proc.stderr}"
    errors = json.loads(proc.stdout)
    assert isinstance(errors, list)
    return proc.returncode, errors


def _png(data: bytes) -> tuple[int, int, int, int, list[bytes]]:
    """Parse a PNG: (width, height, bit depth, colour type, unfiltered rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos = 8
    ihdr = b""
    idat = b""
    chunk_types = []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        chunk_types.append(kind)
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunk_types[0] == b"IHDR" and chunk_types[-1] == b"IEND"
    width, height, depth, colour_type, _comp, _filter, interlace = struct.unpack(">IIBBBBB", ihdr)
    assert interlace == 0, "interlaced PNGs are not expected"
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    bpp = channels * depth // 8
    stride = width * bpp
    raw = zlib.decompress(idat)
    assert len(raw) == height * (stride + 1)
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
            else:
                assert ftype == 0, f"unknown filter type {ftype}"
        rows.append(bytes(line))
        prev = line
    return width, height, depth, colour_type, rows


# --- the package --------------------------------------------------------------------


def test_zip_has_manifest_and_icons_at_root(tmp_path: Path) -> None:
    zip_path = _build(tmp_path)
    assert zip_path == tmp_path / "app.zip"
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        assert zf.testzip() is None
        for name in ("color.png", "outline.png"):
            assert zf.read(name) == (APP_PACKAGE_DIR / name).read_bytes()


def test_manifest_is_filled_from_settings(tmp_path: Path) -> None:
    manifest = _manifest(_build(tmp_path))
    text = json.dumps(manifest)
    assert re.search(r"\{\{[A-Z_]+\}\}", text) is None, "unfilled placeholder"

    version = manifest["manifestVersion"]
    assert manifest["$schema"] == (
        f"https://developer.microsoft.com/json-schemas/teams/v{version}/MicrosoftTeams.schema.json"
    )
    assert tuple(int(n) for n in version.split(".")) >= (1, 19)

    assert manifest["id"] == APP_ID
    assert manifest["version"] == "1.2.3"
    assert manifest["name"]["short"] == "PEP Companion"
    assert manifest["developer"] == {
        "name": "Example Virtual School",
        "websiteUrl": "https://pep.example.org/",
        "privacyUrl": "https://pep.example.org/privacy",
        "termsOfUseUrl": "https://pep.example.org/terms",
    }
    assert manifest["validDomains"] == ["pep.example.org"]
    assert manifest["webApplicationInfo"] == {
        "id": BOT_ID,
        "resource": f"api://pep.example.org/{BOT_ID}",
    }

    [bot] = manifest["bots"]
    assert bot["botId"] == BOT_ID
    assert set(bot["scopes"]) == {"personal", "groupChat", "team"}
    assert bot["supportsFiles"] is True
    commands = {
        scope: [c["title"] for c in lst["commands"]]
        for lst in bot["commandLists"]
        for scope in lst["scopes"]
    }
    # the menu lists the commands people have, each where it answers (at most 10)
    assert commands == {
        "personal": [
            "help",
            "my peps",
            "schedule pep",
            "return pep LCS-ID",
            "check my pep",
            "qa",
            "pp+ schedule",
            "pp+",
            "overview",
            "overdue returns",
        ],
        "groupChat": ["help", "start pep"],
        "team": ["help", "virtual school alerts here"],
    }

    rsc = manifest["authorization"]["permissions"]["resourceSpecific"]
    assert [p["name"] for p in rsc] == list(RSC_PERMISSIONS)
    # least privilege: the bot neither reads the chat nor sends in-meeting notifications
    assert [p["name"] for p in rsc] == [
        "OnlineMeeting.ReadBasic.Chat",
        "OnlineMeetingParticipant.Read.Chat",
    ]
    assert {p["type"] for p in rsc} == {"Application"}


def test_values_are_json_escaped(tmp_path: Path) -> None:
    tricky = 'O"Brien \\ Sons {{APP_ID}}'
    manifest = _manifest(_build(tmp_path, developer_name=tricky))
    assert manifest["developer"]["name"] == tricky


def test_out_path_may_be_a_directory(tmp_path: Path) -> None:
    zip_path = build_app_package(**GOOD, out_path=tmp_path)
    assert zip_path.parent == tmp_path and zip_path.suffix == ".zip"
    assert zipfile.is_zipfile(zip_path)


# --- Microsoft's validator ----------------------------------------------------------


def test_manifest_passes_microsoft_validator(tmp_path: Path) -> None:
    returncode, errors = _run_validator(_manifest(_build(tmp_path)), tmp_path)
    assert (returncode, errors) == (0, [])


def test_validator_rejects_a_broken_manifest(tmp_path: Path) -> None:
    manifest = _manifest(_build(tmp_path))
    manifest["bots"][0]["scopes"] = ["nonsense"]
    returncode, errors = _run_validator(manifest, tmp_path)
    assert returncode == 1
    assert any(e.startswith("/bots/0/scopes/0 ") for e in errors), errors


def test_validator_rejects_mismatched_manifest_version(tmp_path: Path) -> None:
    manifest = _manifest(_build(tmp_path))
    manifest["manifestVersion"] = "1.0"
    returncode, errors = _run_validator(manifest, tmp_path)
    assert returncode == 1
    assert any(e.startswith("/manifestVersion ") for e in errors), errors


# --- icons --------------------------------------------------------------------------


def test_color_icon_is_192_opaque_full_colour() -> None:
    width, height, depth, colour_type, rows = _png((APP_PACKAGE_DIR / "color.png").read_bytes())
    assert (width, height, depth) == (192, 192, 8)
    assert colour_type == 2  # RGB, no alpha channel: fully opaque
    colours = {bytes(row[i : i + 3]) for row in rows for i in range(0, len(row), 3)}
    assert len(colours) > 2  # really a colour picture, not a flat square
    assert any(c[0] != c[1] or c[1] != c[2] for c in colours)  # not greyscale


def test_outline_icon_is_32_white_on_transparent() -> None:
    width, height, depth, colour_type, rows = _png((APP_PACKAGE_DIR / "outline.png").read_bytes())
    assert (width, height, depth) == (32, 32, 8)
    assert colour_type == 6  # RGBA
    pixels = [bytes(row[i : i + 4]) for row in rows for i in range(0, len(row), 4)]
    visible = [p for p in pixels if p[3] > 0]
    transparent = [p for p in pixels if p[3] == 0]
    assert visible and transparent
    assert all(p[:3] == b"\xff\xff\xff" for p in visible), "outline must be white only"
    assert sum(1 for p in visible if p[3] == 255) >= 50  # a solid glyph, not a haze
    # background corners are fully transparent
    for x, y in ((0, 0), (31, 0), (0, 31), (31, 31)):
        assert pixels[y * 32 + x][3] == 0


def test_committed_icons_match_the_generator() -> None:
    spec = importlib.util.spec_from_file_location("make_icons", APP_PACKAGE_DIR / "make_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.color_icon() == (APP_PACKAGE_DIR / "color.png").read_bytes()
    assert module.outline_icon() == (APP_PACKAGE_DIR / "outline.png").read_bytes()


# --- RSC permissions ----------------------------------------------------------------


def test_rsc_permission_names_are_valid(tmp_path: Path) -> None:
    manifest = _manifest(_build(tmp_path))
    assert check_rsc_permissions(manifest) == []
    only_ours = [{"name": n, "type": "Application"} for n in RSC_PERMISSIONS]
    bare = {"authorization": {"permissions": {"resourceSpecific": only_ours}}}
    assert check_rsc_permissions(bare) == []


def test_rsc_check_flags_unknown_names_and_wrong_types() -> None:
    manifest = {
        "authorization": {
            "permissions": {
                "resourceSpecific": [
                    {"name": "OnlineMeeting.ReadBasic.Chat", "type": "Application"},
                    {"name": "OnlineMeeting.ReadWrite.Chat", "type": "Application"},
                    {"name": "MeetingStage.Write.Chat", "type": "Application"},
                ]
            }
        }
    }
    problems = check_rsc_permissions(manifest)
    assert len(problems) == 2
    assert "resourceSpecific[1]" in problems[0] and "OnlineMeeting.ReadWrite.Chat" in problems[0]
    assert "resourceSpecific[2]" in problems[1] and "Delegated" in problems[1]
    assert check_rsc_permissions({}) == []


# --- bad settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("app_id", "not-a-guid"),
        ("app_id", "0f8b6c1e5a474c2b9d0e3a1b2c3d4e5f"),
        ("bot_id", "{7d2e4f60-81a9-4b3c-8e5d-6f7a8b9c0d1e}"),
        ("bot_id", ""),
        ("domain", "https://pep.example.org"),
        ("domain", "pep.example.org/bot"),
        ("domain", "pep.example.org:3978"),
        ("domain", "pep..example.org"),
        ("version", "1.0"),
        ("app_name", "P" * 31),
        ("developer_name", ""),
        ("developer_name", "D" * 33),
        ("website_url", "http://pep.example.org"),
        ("privacy_url", "pep.example.org/privacy"),
        ("terms_url", "https://"),
    ],
)
def test_bad_settings_raise_value_error_naming_the_field(
    tmp_path: Path, field: str, value: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{field}\b"):
        _build(tmp_path, **{field: value})
    assert not (tmp_path / "app.zip").exists()
