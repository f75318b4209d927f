"""CLI start-up: `pep-companion --help` and a 10-row `import-roster`, side by side with
`python -c pass` in the same run (the interpreter's own start), each a fresh process.

    .venv/bin/python bench/bench_cli_startup.py [--runs 7] [--write docs/benchmarks.md]

Targets (issue 11): --help ≤ 0.3 s, a 10-row import-roster ≤ 1 s. Each command runs
twice with bytecode as an installed package has it (compiled once into a private
PYTHONPYCACHEPREFIX, so the shared virtualenv is not touched), and once more with
PYTHONDONTWRITEBYTECODE=1 and no cache (every module compiled from source: what a
fresh `uv sync` without --compile-bytecode costs on first use). Reported: median and
minimum wall time of --runs runs; the ratio is to `python -c pass`. No assertion: the
numbers are for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0,):
        raise SystemExit(
            f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-300:]}"
        )
    return elapsed


def measure(runs: int, compiled: bool) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory(prefix="pep-cli-bench-") as tmp:
        folder = Path(tmp)
        roster = folder / "roster-10.csv"
        lines = (EXAMPLES / "roster.csv").read_text(encoding="utf-8-sig").splitlines()
        roster.write_text("\n".join(lines[:11]) + "\n", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEP_")}
        env.update(
            PEP_DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'pep.sqlite3'}",
            PYTHONPATH=str(ROOT),
            PEP_LOG_LEVEL="WARNING",
        )
        if compiled:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env["PYTHONPYCACHEPREFIX"] = str(folder / "no-cache")
        cli = [sys.executable, "-m", "bot.cli"]
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "pep-companion --help": [*cli, "--help"],
            "pep-companion import-roster (10 rows)": [*cli, "import-roster", str(roster)],
        }
        _run([*cli, "db", "upgrade"], env, folder)  # the database exists before
        if compiled:  # bytecode compiled once, first
            for argv in commands.values():
                _run(argv, env, folder)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):  # interleaved: same load for each
            for name, argv in commands.items():
                times[name].append(_run(argv, env, folder))
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def report(runs: int) -> str:
    lines = [
        f"CLI start-up, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — "
        f"`.venv/bin/python bench/bench_cli_startup.py --runs {runs}`; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average "
        f"{os.getloadavg()[0]:.2f} at the start.",
        "",
        "| command | bytecode | median s | min s | median ÷ `python -c pass` |",
        "|---|---|---|---|---|",
    ]
    for compiled in (True, False):
        found = measure(runs, compiled)
        base = found["python -c pass"][0]
        for name, (median, least) in found.items():
            lines.append(
                f"| `{name}` | {'compiled' if compiled else 'none'} | "
                f"{median:.3f} | {least:.3f} | {median / base:.1f}× |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--write", type=Path, help="append the table to this file")
    args = parser.parse_args()
    text = report(args.runs)
    print(text)
    if args.write:
        with args.write.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
