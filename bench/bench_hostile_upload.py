"""Zip bombs: peak memory and time to refuse one, before and after forms/safe_docx.py,
side by side with `python -c pass` in the same run, each case a fresh process.

    .venv/bin/python bench/bench_hostile_upload.py [--runs 3] [--write docs/benchmarks.md]

Cases (files built by tests/support/zip_bombs.py, nothing inflated to build them):
- `python -c pass`, and importing forms.read_back (what every reading case pays first);
- before: what read_form did up to issue 11 — zipfile's `read("word/document.xml")` of
  a 1 MB .docx whose body inflates to 1 GiB (the bot's own process did this);
- after: read_form on that file (sizes declared honestly: refused by ratio), on one
  whose directory lies (declares just under the 16 MB part limit), and on an 8 MB
  .docx inflating to 8 GiB (the issue's second file; not run "before": 8 GiB);
- the largest body accepted: a 16 MB-1 document.xml of real paragraphs, read to the end
  (what an accepted file can cost, in the worker thread).
Reported: wall time of the process and of the reading step alone (median of --runs),
and peak RSS (the child's VmHWM). No
assertion: the numbers are for docs/benchmarks.md; tests/unit/test_safe_docx.py asserts
the refusals and their messages.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.zip_bombs import GB, MB, bomb_docx, member, zip_of  # noqa: E402

# the bomb's check sum is left 0 (computing it would mean inflating it here): zipfile
# finds the mismatch only at the end, once all 1 GiB is in memory
BEFORE = (
    "import zipfile, sys, time\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "t = time.perf_counter()\n"
    "with zipfile.ZipFile(sys.argv[1]) as z:\n"
    "    try:\n"
    "        body = z.read('word/document.xml')\n"
    "    except zipfile.BadZipFile:\n"
    "        pass\n"
    "print(time.perf_counter() - t)\n"
)
# each child reports its own peak (VmHWM: ru_maxrss would carry the bench's own
# high-water mark across fork and exec)
PEAK = "\nprint([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
AFTER = (
    "import sys, time\n"
    "from forms.read_back import NotAPepForm, read_form\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "t = time.perf_counter()\n"
    "try:\n"
    "    read_form(data)\n"
    "except NotAPepForm:\n"
    "    pass\n"
    "print(time.perf_counter() - t)\n"
)


def _largest_accepted() -> bytes:
    """16 MB of paragraphs of varied words: compressed about as much as Word's XML."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    words = [
        "read",
        "carer",
        "school",
        "target",
        "maths",
        "phonics",
        "attendance",
        "voice",
        "calm",
        "card",
        "log",
        "teacher",
        "tutor",
        "reading",
        "writing",
        "progress",
        "behaviour",
        "friends",
        "club",
        "Ada",
        "Theo",
        "minutes",
        "week",
        "term",
        "spring",
        "summer",
        "autumn",
        "support",
        "plan",
        "review",
    ]
    pick = random.Random(11)
    head, tail = f"<w:document {w}><w:body>".encode(), b"</w:body></w:document>"
    paras, size = [], len(head) + len(tail)
    while size < 16 * MB - 400:
        text = " ".join(pick.choices(words, k=pick.randint(5, 40)))
        para = f"<w:p><w:r><w:t>{text} {pick.randint(0, 10**9)}</w:t></w:r></w:p>".encode()
        paras.append(para)
        size += len(para)
    return zip_of([member("word/document.xml", head + b"".join(paras) + tail)])


def _files(folder: Path) -> dict[str, Path]:
    made = {
        "bomb-1g.docx": bomb_docx(GB),
        "lying-1g.docx": bomb_docx(GB, 16 * MB - 1),
        "bomb-8g.docx": bomb_docx(8 * GB),
        "largest.docx": _largest_accepted(),
    }
    paths = {}
    for name, data in made.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds of the process, seconds of the reading step alone (imports done),
    and peak RSS (MB, the child's VmHWM) of one child process."""
    argv = [*argv[:2], argv[2] + PEAK, *argv[3:]]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}): {done.stderr.decode()[-300:]}")
    step, peak_kb = done.stdout.split()[-2:]
    return elapsed, float(step), int(peak_kb) / 1024


def measure(runs: int) -> list[tuple[str, int, float, float]]:
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="pep-bomb-bench-") as tmp:
        f = _files(Path(tmp))
        cases = {
            "`python -c pass`": ([py, "-c", "print(0)"], 0),
            "import forms.read_back": ([py, "-c", "import forms.read_back\nprint(0)"], 0),
            "before: zipfile reads the 1 GiB body (1 MB file)": (
                [py, "-c", BEFORE, str(f["bomb-1g.docx"])],
                f["bomb-1g.docx"].stat().st_size,
            ),
            "after: read_form refuses the 1 GiB bomb": (
                [py, "-c", AFTER, str(f["bomb-1g.docx"])],
                f["bomb-1g.docx"].stat().st_size,
            ),
            "after: read_form refuses it with a lying directory": (
                [py, "-c", AFTER, str(f["lying-1g.docx"])],
                f["lying-1g.docx"].stat().st_size,
            ),
            "after: read_form refuses the 8 GiB bomb (8 MB file)": (
                [py, "-c", AFTER, str(f["bomb-8g.docx"])],
                f["bomb-8g.docx"].stat().st_size,
            ),
            "largest accepted body (16 MB of XML), read to the end": (
                [py, "-c", AFTER, str(f["largest.docx"])],
                f["largest.docx"].stat().st_size,
            ),
        }
        found: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
        for _ in range(runs):  # interleaved: the same load for each
            for name, (argv, _size) in cases.items():
                found[name].append(_run(argv, env))
    return [
        (
            name,
            cases[name][1],
            statistics.median(t for t, _, _ in results),
            statistics.median(s for _, s, _ in results),
            max(r for _, _, r in results),
        )
        for name, results in found.items()
    ]


def report(runs: int) -> str:
    lines = [
        f"Zip bombs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — "
        f"`.venv/bin/python bench/bench_hostile_upload.py --runs {runs}`; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.2f} at the start.",
        "",
        "| case | file MB | process, median s | reading step, median s | peak RSS MB |",
        "|---|---|---|---|---|",
    ]
    for name, size, seconds, step, rss in measure(runs):
        shown = f"{size / MB:.1f}" if size else "—"
        step_shown = f"{step:.3f}" if size else "—"
        lines.append(f"| {name} | {shown} | {seconds:.3f} | {step_shown} | {rss:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--write", type=Path, help="append the table to this file")
    args = parser.parse_args()
    text = report(args.runs)
    print(text)
    if args.write:
        with args.write.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
