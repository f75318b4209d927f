"""An in-meeting card action on the real PEP Companion app vs the botbuilder echo bot.

    .venv/bin/python bench/bench_card_action.py [--levels 1,8,32] [--seconds 10]
        [--warmup 3] [--profile auto|yes|no] [--profile-seconds 6]

One run, one machine, one load generator, three kinds of process:

* this process: the load generator (aiohttp client, N workers, keep-alive, one
  pre-signed RS256 token reused — valid for an hour) and the local token authority
  (tests/support/bot_auth.py: OpenID metadata + JWKS on loopback);
* the local Bot Connector (tests/support/stub_connector.py) in its own process;
* the server under test, in its own process, one at a time:
  A. the real app: bot.server.create_app with Settings as in tests/e2e/conftest.py
     (SQLite file in a temp dir, the sample authority from examples/, token
     authority + stub connector on loopback, allowed tenant, clock fixed at
     2026-11-16), logging as `pep-companion serve` sets it up (INFO, access log).
     Before measuring, walkthroughs are started the real way for up to 32 children,
     each in its own meeting chat, each by the child's designated teacher: message
     "start pep" -> "Choose the child" -> pep.start -> refresh of the shared card ->
     Go to "The child's voice". The measured request is an `invoke`
     `adaptiveCard/action` with verb `pep.section.save` saving the voice section with
     new text each time (so every request is a real write, audited and committed, and
     queues an update of the shared card). Worker i owns PEP i and sends the version
     from its previous answer, so saves do not conflict. A request counts as an error
     unless it is HTTP 200 + an adaptive card containing "Saved.".
  B. bench/echo_bot.py: botbuilder 4.17.1 CloudAdapter + ConfigurationBotFramework-
     Authentication against the same token authority; echoes the text to the stub
     connector. Measured request: a `message` activity; OK = HTTP 200/201 (and the
     stub connector must have received one reply per turn).

Per level: warm-up, then a fixed window; requests, req/s, p50/p99 (ms), errors, the
server's peak RSS (VmRSS sampled every 100 ms from /proc, and VmHWM) and CPU use.
With --profile auto the card action is profiled (cProfile in the server's event-loop
thread, started/stopped by SIGUSR1/SIGUSR2) when a target is missed.

--experiment begin-timing reports how long each unit of work's first write (writer-lock
queue + BEGIN IMMEDIATE + the statement) took on SQLite (a diagnostic, never on by
default). PEP_BENCH_DATABASE_URL runs A on another database (an empty
PostgreSQL database, e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/pep_bench). Results and
the reading are in docs/benchmarks.md ("In-meeting card action vs botbuilder echo bot").
Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import cProfile
import csv
import io
import json
import logging
import math
import os
import platform
import pstats
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

EXAMPLES = ROOT / "examples"
TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
HARRIET_SCHOOL = "999101"
SAVE = "pep.section.save"
TARGET_RATIO = 5.0
TARGET_P99_MS_AT_8 = 50.0
TARGET_RSS_MB = 250.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
EXPERIMENTS = {"begin-timing"}


# ---------------------------------------------------------------------------
# child processes
# ---------------------------------------------------------------------------


async def serve_stub(members: dict[str, dict[str, Any]]) -> None:
    """The local Bot Connector, plus a small control site the harness reads it through."""
    from tests.support.stub_connector import StubConnector

    totals = {"POST": 0, "PUT": 0, "echo": 0}

    def count() -> dict[str, int]:
        now = dict(totals)
        for p in connector.posted:
            now[p.method] = now.get(p.method, 0) + 1
            if p.conversation_id.startswith("a:echo-"):
                now["echo"] += 1
        return now

    async def cards(request: web.Request) -> web.Response:
        return web.json_response(
            connector.cards(request.query.get("conv"), request.query.get("method"))
        )

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(count())

    async def clear(request: web.Request) -> web.Response:
        totals.update(count())
        connector.posted.clear()
        return web.json_response(totals)

    async with StubConnector(members=members) as connector:
        control = web.Application()
        control.router.add_get("/bench/cards", cards)
        control.router.add_get("/bench/stats", stats)
        control.router.add_post("/bench/clear", clear)
        runner = web.AppRunner(control, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(
            json.dumps({"service_url": connector.base_url, "control": f"http://127.0.0.1:{port}"}),
            flush=True,
        )
        await _until_signalled()
        await runner.cleanup()


BEGIN_WAITS: list[float] = []


def time_begin_immediate() -> None:
    """DIAGNOSTIC, off unless --experiment begin-timing: how long the first write of each
    unit of work takes on SQLite — queueing for the writer lock, BEGIN IMMEDIATE and the
    statement, which travel together (store/connection.py); printed when the server
    stops."""
    import store.connection as sc

    original = sc.StoreConnection.write

    async def write(self: Any, statement: Any, params: Any = None) -> Any:
        if self.sqlite and not self._writing:
            t0 = time.perf_counter()
            try:
                return await original(self, statement, params)
            finally:
                BEGIN_WAITS.append((time.perf_counter() - t0) * 1000)
        return await original(self, statement, params)

    sc.StoreConnection.write = write  # type: ignore[method-assign]


def begin_summary() -> dict[str, Any]:
    w = sorted(BEGIN_WAITS)
    if not w:
        return {}
    pick = lambda q: round(w[max(0, math.ceil(q * len(w)) - 1)], 2)  # noqa: E731
    return {
        "begin_immediate_ms": {
            "n": len(w),
            "p50": pick(0.5),
            "p90": pick(0.9),
            "p99": pick(0.99),
            "max": round(w[-1], 1),
            "over_10ms": sum(x > 10 for x in w),
            "total_s": round(sum(w) / 1000, 2),
        }
    }


async def serve_pep(
    metadata_url: str, data_dir: Path, profile_path: Path, experiment: str = ""
) -> None:
    """The real app, set up as tests/e2e/conftest.py does, served like `serve`."""
    chosen = set(filter(None, experiment.split(",")))
    if chosen - EXPERIMENTS:
        raise SystemExit(f"unknown experiment(s): {sorted(chosen - EXPERIMENTS)}")
    if "begin-timing" in chosen:
        time_begin_immediate()
    from bot.demo import load_demo_data
    from bot.server import create_app
    from bot.settings import Settings
    from bot.wiring import build_container
    from store.migrate import upgrade
    from tests.e2e.conftest import TODAY
    from tests.support.bot_auth import APP_ID, ISSUER
    from tests.unit.fakes import FixedClock

    logging.basicConfig(
        level=logging.INFO,  # as bot.cli.main does
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings(
        _env_file=None,
        database_url=os.environ.get(
            "PEP_BENCH_DATABASE_URL", f"sqlite+aiosqlite:///{data_dir}/pep.sqlite3"
        ),
        app_id=APP_ID,
        openid_metadata_url=metadata_url,
        token_issuer=ISSUER,
        allowed_tenants=[TENANT],
        forms_dir=data_dir / "forms",
    )
    await upgrade(settings.database_url)
    container = build_container(settings, clock=FixedClock(today=TODAY))
    await load_demo_data(container, EXAMPLES)
    runner = web.AppRunner(create_app(settings, container))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    profiler = cProfile.Profile()
    loop = asyncio.get_running_loop()

    def start_profile() -> None:
        profiler.enable()
        print(json.dumps({"profiling": True}), flush=True)

    def stop_profile() -> None:
        profiler.disable()
        profiler.dump_stats(str(profile_path))
        print(json.dumps({"profile": str(profile_path)}), flush=True)

    loop.add_signal_handler(signal.SIGUSR1, start_profile)
    loop.add_signal_handler(signal.SIGUSR2, stop_profile)
    print(json.dumps({"url": f"http://127.0.0.1:{port}/api/messages"}), flush=True)

    def begin_report() -> None:
        print(json.dumps(begin_summary()), flush=True)
        BEGIN_WAITS.clear()

    loop.add_signal_handler(signal.SIGHUP, begin_report)
    await _until_signalled()
    await runner.cleanup()
    await container.close()


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# ---------------------------------------------------------------------------
# process handling and /proc
# ---------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    async def line(self, timeout: float = 60.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            raise RuntimeError(
                f"{self.name} exited; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}"
            )
        try:
            return dict(json.loads(raw))
        except ValueError:
            return {"text": raw.decode().strip()}

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


async def spawn(name: str, args: list[str], log_dir: Path) -> Proc:
    log_path = log_dir / f"{name}.log"
    handle = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=handle,
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    handle.close()
    return Proc(name, process, log_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM in kB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    return out


def _ticks(stat_line: str) -> tuple[str, int]:
    comm = stat_line[stat_line.index("(") + 1 : stat_line.rindex(")")]
    rest = stat_line[stat_line.rindex(")") + 2 :].split()
    return comm, int(rest[11]) + int(rest[12])  # utime + stime


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        return _ticks(f.read())[1] / CLK_TCK


HELPER_PIDS: list[int] = []  # our other processes (the stub connector)


def host_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs, /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread (by tid:name)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                comm, ticks = _ticks(f.read())
        except FileNotFoundError:
            continue
        out[f"{tid}:{comm}"] = ticks / CLK_TCK
    return out


# ---------------------------------------------------------------------------
# the load generator
# ---------------------------------------------------------------------------


@dataclass
class LevelResult:
    server: str
    concurrency: int
    requests: int = 0
    errors: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    hwm_mb: float = 0.0
    cpu_percent: float = 0.0
    loadgen_cpu_percent: float = 0.0
    others_cpu_percent: float = 0.0  # processes on the host that are not this benchmark's
    first_error: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_percent * 10 / self.rps if self.rps else float("nan")

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[max(0, math.ceil(q * len(data)) - 1)]


class Scenario(abc.ABC):
    """Makes request i for worker w, and judges the answer."""

    name = ""

    @abc.abstractmethod
    def body(self, worker: int) -> bytes: ...

    @abc.abstractmethod
    def judge(self, worker: int, status: int, text: str) -> str:
        """'' if fine, 'conflict', or an error description."""


class CardSaves(Scenario):
    name = "PEP card action (pep.section.save)"

    def __init__(self, service_url: str, peps: list[dict[str, Any]]) -> None:
        self.service_url = service_url
        self.peps = peps
        self.n = 0

    def body(self, worker: int) -> bytes:
        from tests.support.teams import activity

        pep = self.peps[worker]
        self.n += 1
        data = {
            **pep["data"],
            "version": pep["version"],
            "f.views": f"Likes painting; bench save {self.n} by worker {worker}",
        }
        value = {
            "action": {"type": "Action.Execute", "verb": SAVE, "data": data},
            "trigger": "manual",
        }
        return json.dumps(
            activity(
                self.service_url,
                pep["chat"],
                pep["user"],
                pep["aad"],
                type="invoke",
                name="adaptiveCard/action",
                value=value,
                conversation_type="groupChat",
                user_name=pep["user_name"],
            )
        ).encode()

    def judge(self, worker: int, status: int, text: str) -> str:
        if status != 200:
            return f"HTTP {status}: {text[:200]}"
        body = json.loads(text)
        if (
            body.get("statusCode") != 200
            or body.get("type") != "application/vnd.microsoft.card.adaptive"
        ):
            return f"invoke answer {text[:200]}"
        card = body["value"]
        version = _save_version(card)
        if version is not None:
            self.peps[worker]["version"] = version
        if "Someone else changed this section" in text:
            return "conflict"
        if "Saved." not in text:
            return f"no 'Saved.' in the card: {text[:300]}"
        return ""


def _save_version(card: dict[str, Any]) -> int | None:
    from tests.support.teams import actions

    found = actions(card, SAVE)
    if found:
        return int(found[0]["data"]["version"])
    return None


class Echo(Scenario):
    name = "botbuilder 4.17.1 echo bot (message)"

    def __init__(self, service_url: str) -> None:
        self.service_url = service_url
        self.n = 0

    def body(self, worker: int) -> bytes:
        from tests.support.teams import activity

        self.n += 1
        return json.dumps(
            activity(
                self.service_url,
                f"a:echo-{worker}",
                "29:echo-user",
                "aad-echo-user",
                text=f"hello {self.n}",
            )
        ).encode()

    def judge(self, worker: int, status: int, text: str) -> str:
        return "" if status in (200, 201) else f"HTTP {status}: {text[:200]}"


async def run_level(
    http: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    scenario: Scenario,
    server: Proc,
    concurrency: int,
    warmup: float,
    seconds: float,
    server_name: str,
) -> LevelResult:
    result = LevelResult(server_name, concurrency)
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + warmup
    measure_to = measure_from + seconds
    done = asyncio.Event()
    cpu_at: dict[str, float] = {}

    async def sample_rss() -> None:
        while not done.is_set():
            now = loop.time()
            if now >= measure_from and "cpu0" not in cpu_at:
                cpu_at["cpu0"], cpu_at["t0"] = cpu_seconds(server.pid), time.monotonic()
                cpu_at["me0"] = cpu_seconds(os.getpid())
                cpu_at["host0"] = host_busy_seconds()
                cpu_at["help0"] = sum(cpu_seconds(p) for p in HELPER_PIDS)
            status = proc_status(server.pid)
            result.peak_rss_mb = max(result.peak_rss_mb, status["VmRSS"] / 1024)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.1)
        cpu_at["cpu1"], cpu_at["t1"] = cpu_seconds(server.pid), time.monotonic()
        cpu_at["me1"] = cpu_seconds(os.getpid())
        cpu_at["host1"] = host_busy_seconds()
        cpu_at["help1"] = sum(cpu_seconds(p) for p in HELPER_PIDS)

    async def worker(w: int) -> None:
        while True:
            t0 = loop.time()
            if t0 >= measure_to:
                return
            body = scenario.body(w)
            async with http.post(url, data=body, headers=headers) as response:
                text = await response.text()
                status = response.status
            t1 = loop.time()
            verdict = scenario.judge(w, status, text)
            if t0 < measure_from:
                continue
            result.requests += 1
            result.latencies_ms.append((t1 - t0) * 1000)
            if verdict == "conflict":
                result.conflicts += 1
                result.errors += 1
            elif verdict:
                result.errors += 1
                result.first_error = result.first_error or verdict

    sampler = asyncio.create_task(sample_rss())
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    end = loop.time()
    done.set()
    await sampler
    result.seconds = end - measure_from
    result.hwm_mb = proc_status(server.pid)["VmHWM"] / 1024
    if "cpu0" in cpu_at:
        wall = max(1e-9, cpu_at["t1"] - cpu_at["t0"])
        result.cpu_percent = 100 * (cpu_at["cpu1"] - cpu_at["cpu0"]) / wall
        result.loadgen_cpu_percent = 100 * (cpu_at["me1"] - cpu_at["me0"]) / wall
        ours = sum(cpu_at[k + "1"] - cpu_at[k + "0"] for k in ("cpu", "me", "help"))
        result.others_cpu_percent = max(
            0.0, 100 * (cpu_at["host1"] - cpu_at["host0"] - ours) / wall
        )
    return result


# ---------------------------------------------------------------------------
# setting up the walkthroughs (the real flow, over HTTP)
# ---------------------------------------------------------------------------


def designated_teachers() -> list[tuple[str, str, str, str, str]]:
    """(lcs_id, user id, aad id, name, email) for every child in examples/roster.csv."""
    from bot.demo import DEMO_USER_AAD_ID

    rows = []
    with (EXAMPLES / "roster.csv").open(encoding="utf-8-sig", newline="") as f:
        for r in csv.DictReader(f):
            urn = r["school_urn"]
            if urn == HARRIET_SCHOOL:  # the demo's DT: her Entra id is on record
                user, aad = "29:harriet", DEMO_USER_AAD_ID
            else:  # found by the email the (stub) Bot Connector gives for the member
                user, aad = f"29:dt-{urn}", f"aad-dt-{urn}"
            rows.append(
                (
                    r["lcs_id"],
                    user,
                    aad,
                    r["designated_teacher_name"],
                    r["designated_teacher_email"],
                )
            )
    return rows


async def start_walkthroughs(
    http: aiohttp.ClientSession,
    url: str,
    control: str,
    service_url: str,
    header: dict[str, str],
    count: int,
) -> list[dict[str, Any]]:
    from tests.support.teams import actions, activity, card_text, submit

    async def send(who: tuple[str, str, str], chat: str, **kw: Any) -> Any:
        a = activity(
            service_url, chat, who[0], who[1], conversation_type="groupChat", user_name=who[2], **kw
        )
        async with http.post(url, json=a, headers=header) as r:
            text = await r.text()
            assert r.status in (200, 201), (r.status, text)
            return json.loads(text) if text else None

    async def invoke(who: tuple[str, str, str], chat: str, value: Any) -> dict[str, Any]:
        body = await send(who, chat, type="invoke", name="adaptiveCard/action", value=value)
        assert body and body["statusCode"] == 200, body
        return dict(body["value"])

    async def cards(chat: str, method: str | None = None) -> list[dict[str, Any]]:
        params = {"conv": chat, **({"method": method} if method else {})}
        async with http.get(f"{control}/bench/cards", params=params) as r:
            return list(await r.json())

    peps: list[dict[str, Any]] = []
    for lcs, user, aad, name, _ in designated_teachers():
        if len(peps) >= count:
            break
        who = (user, aad, name)
        chat = f"19:meeting_bench-{lcs.lower()}@thread.v2"
        await send(who, chat, text="<at>PEP Companion</at> start pep")
        choosing = (await cards(chat))[-1]  # names nobody; the chooser is the asker's view
        chooser = await invoke(who, chat, submit(choosing, "pep.start.choose"))
        if not actions(chooser, "pep.start"):
            print(f"  {lcs}: no chooser ({card_text(chooser)[:80]}); skipped")
            continue
        started = await invoke(who, chat, submit(chooser, "pep.start", {"child_id": lcs}))
        if "walkthrough" not in card_text(started).lower():
            print(f"  {lcs}: not started ({card_text(started)[:80]}); skipped")
            continue
        shared = (await cards(chat, "POST"))[-1]
        lead = await invoke(who, chat, submit(shared, "pep.walkthrough.refresh"))
        # Go (without re-sending the first section's inputs: some children's first
        # section cannot be saved empty, and moving on saves what was typed)
        voice = await invoke(
            who,
            chat,
            submit(lead, "pep.nav", {"nav.section": "voice"}, title="Go", keep_inputs=False),
        )
        assert actions(voice, SAVE), f"{lcs}: no save action on the voice card"
        value = submit(voice, SAVE, {"f.views": "First words", "f.how_gathered": "Talk"})
        saved = await invoke(who, chat, value)
        assert "Saved" in card_text(saved), card_text(saved)[:300]
        data = dict(value["action"]["data"])
        peps.append(
            {
                "lcs": lcs,
                "chat": chat,
                "user": user,
                "aad": aad,
                "user_name": name,
                "data": data,
                "version": _save_version(saved),
                "card_bytes": len(json.dumps(saved)),
            }
        )
    return peps


# ---------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------


def machine() -> str:
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    from importlib.metadata import version

    import sqlalchemy

    return (
        f'{os.cpu_count()} CPUs (nproc), "{model}", {mem_kb / 1024 / 1024:.1f} GiB RAM, '
        f"Linux {platform.release()}; Python {platform.python_version()}, aiohttp "
        f"{aiohttp.__version__}, botbuilder-core {version('botbuilder-core')}, "
        f"SQLAlchemy {sqlalchemy.__version__}"
    )


def table(results: list[LevelResult]) -> str:
    lines = [
        "| server | concurrency | requests | req/s | p50 ms | p99 ms | errors "
        "| peak RSS MB (VmHWM) | server CPU % | server CPU ms/req | load generator CPU % "
        "| other processes on the host, CPU % |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        errors = str(r.errors) + (f" ({r.conflicts} conflicts)" if r.conflicts else "")
        lines.append(
            f"| {r.server} | {r.concurrency} | {r.requests} | {r.rps:.1f} "
            f"| {r.pct(0.5):.1f} | {r.pct(0.99):.1f} | {errors} "
            f"| {r.peak_rss_mb:.0f} ({r.hwm_mb:.0f}) | {r.cpu_percent:.0f} "
            f"| {r.cpu_ms_per_request:.2f} "
            f"| {r.loadgen_cpu_percent:.0f} | {r.others_cpu_percent:.0f} |"
        )
    return "\n".join(lines)


def targets(card: list[LevelResult], echo: list[LevelResult]) -> tuple[bool, list[str]]:
    ok = True
    lines = []
    echo_by = {r.concurrency: r for r in echo}
    for r in card:
        e = echo_by.get(r.concurrency)
        if e is None or not e.rps:
            continue
        ratio = r.rps / e.rps
        met = ratio >= TARGET_RATIO
        ok &= met
        lines.append(
            f"throughput at {r.concurrency}: card {r.rps:.0f} req/s = {ratio:.2f}x "
            f"echo {e.rps:.0f} req/s (target >= {TARGET_RATIO:.0f}x): "
            f"{'met' if met else 'MISSED'}; server CPU per request "
            f"{r.cpu_ms_per_request:.2f} vs {e.cpu_ms_per_request:.2f} ms = "
            f"{e.cpu_ms_per_request / r.cpu_ms_per_request:.2f}x"
        )
    at8 = [r for r in card if r.concurrency == 8]
    if at8:
        met = at8[0].pct(0.99) <= TARGET_P99_MS_AT_8
        ok &= met
        lines.append(
            f"p99 at 8 concurrent: {at8[0].pct(0.99):.1f} ms (target <= "
            f"{TARGET_P99_MS_AT_8:.0f} ms): {'met' if met else 'MISSED'}"
        )
    if card:
        peak = max(max(r.peak_rss_mb, r.hwm_mb) for r in card)
        met = peak <= TARGET_RSS_MB
        ok &= met
        lines.append(
            f"card-action server RSS peak under load: {peak:.0f} MB (target <= "
            f"{TARGET_RSS_MB:.0f} MB): {'met' if met else 'MISSED'}"
        )
    if any(r.errors for r in card + echo):
        ok = False
        lines.append(
            "errors: "
            + "; ".join(
                f"{r.server} c={r.concurrency}: {r.errors} ({r.first_error or 'conflicts'})"
                for r in card + echo
                if r.errors
            )
        )
    return ok, lines


def _group(filename: str, func: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0]
    if str(ROOT) + "/" in filename:
        return "app: " + filename.split(str(ROOT) + "/")[1].split("/")[0] + "/"
    if "/lib/python3" in filename:
        return "stdlib: " + filename.split("/lib/python3")[1].split("/")[1].split(".")[0]
    if "epoll" in func or "select" in func:
        return "idle: waiting in epoll"
    return "builtin: " + func.split(" of ")[-1].strip("'<>")[:48]


def profile_report(path: Path, requests: int, top: int) -> str:
    """Own time (tottime) per package, per save, with each package's top functions;
    then the plain tottime list."""
    stats = pstats.Stats(str(path))
    groups: dict[str, float] = {}
    funcs: dict[str, list[tuple[float, str]]] = {}
    for (filename, line, func), (_, _, tt, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        g = _group(filename, func)
        groups[g] = groups.get(g, 0.0) + tt
        funcs.setdefault(g, []).append((tt, f"{Path(filename).name}:{line}({func})"))
    busy = sum(t for g, t in groups.items() if not g.startswith("idle")) or 1e-9
    n = max(1, requests)
    out = io.StringIO()
    out.write("--- own time per package, ms per save (share of busy time; profiler on) ---\n")
    for g, t in sorted(groups.items(), key=lambda kv: -kv[1])[:22]:
        share = "" if g.startswith("idle") else f"{100 * t / busy:4.1f}%"
        best = ", ".join(
            f"{name} {tt / n * 1000:.2f}" for tt, name in sorted(funcs[g], reverse=True)[:3]
        )
        out.write(f"{t / n * 1000:6.3f} ms {share:>6} {g:40.40s} {best[:170]}\n")
    out.write("--- top functions by own time (tottime) ---\n")
    stats.stream = out  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------


@dataclass
class Harness:
    args: argparse.Namespace
    http: aiohttp.ClientSession
    work: Path
    service_url: str
    control: str
    metadata_url: str
    header: dict[str, str]
    procs: list[Proc]

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", **self.header}

    async def connector_stats(self, clear: bool = False) -> dict[str, int]:
        if clear:
            async with self.http.post(f"{self.control}/bench/clear") as r:
                return dict(await r.json())
        async with self.http.get(f"{self.control}/bench/stats") as r:
            return dict(await r.json())


def _line(r: LevelResult) -> str:
    return (
        f"  c={r.concurrency:>2}: {r.requests} req, {r.rps:.1f} req/s, p50 {r.pct(0.5):.1f}"
        f" ms, p99 {r.pct(0.99):.1f} ms, errors {r.errors}, RSS {r.peak_rss_mb:.0f} MB, "
        f"CPU {r.cpu_percent:.0f}% (other processes on the host: "
        f"{r.others_cpu_percent:.0f}% of one CPU)"
    )


async def run_echo(h: Harness, levels: list[int]) -> list[LevelResult]:
    port = free_port()
    echo = await spawn(
        "echo-bot",
        [
            str(ROOT / "bench" / "echo_bot.py"),
            "--port",
            str(port),
            "--metadata-url",
            h.metadata_url,
        ],
        h.work,
    )
    h.procs.append(echo)
    await echo.line(60)
    url = f"http://127.0.0.1:{port}/api/messages"
    scenario = Echo(h.service_url)
    before = (await h.connector_stats())["echo"]
    results = []
    print("B: botbuilder 4.17.1 echo bot")
    for c in levels:
        r = await run_level(
            h.http,
            url,
            h.headers,
            scenario,
            echo,
            c,
            h.args.warmup,
            h.args.seconds,
            "B: botbuilder echo",
        )
        results.append(r)
        await h.connector_stats(clear=True)
        print(_line(r))
    replies = (await h.connector_stats())["echo"] - before
    print(
        f"  {scenario.n} echo turns sent (incl. warm-up), {replies} replies reached the "
        f"stub connector"
    )
    if replies != scenario.n:
        results[-1].errors += abs(scenario.n - replies)
        results[-1].first_error = f"replies {replies} != turns {scenario.n}"
    await echo.stop()
    return results


async def run_card(
    h: Harness, levels: list[int], echo: list[LevelResult]
) -> tuple[list[LevelResult], str]:
    args = h.args
    me = str(Path(__file__).resolve())
    pep = await spawn(
        "pep-companion",
        [
            me,
            "serve-pep",
            "--metadata-url",
            h.metadata_url,
            "--dir",
            str(h.work),
            "--experiment",
            args.experiment,
        ],
        h.work,
    )
    h.procs.append(pep)
    url = (await pep.line(120))["url"]
    t = time.monotonic()
    peps = await start_walkthroughs(h.http, url, h.control, h.service_url, h.header, max(levels))
    print(
        f"A: PEP Companion{' [experiment ' + args.experiment + ']' if args.experiment else ''}"
        f": {len(peps)} walkthroughs started through the real flow in "
        f"{time.monotonic() - t:.1f}s; answer card ~{peps[0]['card_bytes']} bytes of JSON; "
        f"server RSS after setup {proc_status(pep.pid)['VmRSS'] / 1024:.0f} MB"
    )
    if len(peps) < max(levels):
        raise SystemExit(f"only {len(peps)} walkthroughs for {max(levels)} workers")
    scenario = CardSaves(h.service_url, peps)
    name = "A: PEP card action" + (f" [{args.experiment}]" if args.experiment else "")
    results = []
    for c in levels:
        r = await run_level(
            h.http, url, h.headers, scenario, pep, c, args.warmup, args.seconds, name
        )
        results.append(r)
        stats = await h.connector_stats(clear=True)
        print(
            _line(r) + f"  (stub connector so far: {stats['POST']} POST, {stats['PUT']} "
            f"PUT card updates)"
        )
        if "begin-timing" in args.experiment.split(","):
            pep.process.send_signal(signal.SIGHUP)
            print(f"      warm-up + window: {await pep.line()}")
    profile_text = ""
    ok, _ = targets(results, echo)
    if args.profile == "yes" or (args.profile == "auto" and not ok):
        profile_text = await profile_card(h.http, url, h.headers, scenario, pep, args)
    await pep.stop()
    return results, profile_text


async def bench(args: argparse.Namespace) -> int:
    from tests.support.bot_auth import TokenAuthority

    levels = [int(x) for x in args.levels.split(",")]
    work = Path(tempfile.mkdtemp(prefix="pep-bench-"))
    members = {
        user: {"id": user, "email": email, "name": name}
        for _, user, _, name, email in designated_teachers()
    }
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; work dir {work}")
    print(f"levels {levels}, warm-up {args.warmup:g}s + {args.seconds:g}s each\n")
    card_results: list[LevelResult] = []
    echo_results: list[LevelResult] = []
    procs: list[Proc] = []
    profile_text = ""
    try:
        async with (
            TokenAuthority() as authority,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0)
            ) as http,
        ):
            stub = await spawn(
                "stub-connector",
                [str(Path(__file__).resolve()), "serve-stub", "--members", json.dumps(members)],
                work,
            )
            procs.append(stub)
            HELPER_PIDS.append(stub.pid)
            where = await stub.line()
            h = Harness(
                args,
                http,
                work,
                where["service_url"],
                where["control"],
                authority.metadata_url,
                # pre-signed once and reused (valid for an hour)
                authority.header(where["service_url"]),
                procs,
            )
            # the echo bot first, so the targets are known before A is (maybe) profiled
            if args.only in ("both", "echo"):
                echo_results = await run_echo(h, levels)
            if args.only in ("both", "card"):
                card_results, profile_text = await run_card(h, levels, echo_results)
    finally:
        for p in reversed(procs):
            await p.stop()

    print("\n" + table(card_results + echo_results) + "\n")
    ok, lines = targets(card_results, echo_results)
    for line in lines:
        print(line)
    if profile_text:
        print("\n" + profile_text)
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


async def profile_card(
    http: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    scenario: CardSaves,
    pep: Proc,
    args: argparse.Namespace,
) -> str:
    """cProfile in the server's event-loop thread while 8 workers save sections; plus the
    CPU split between the server's threads (the loop vs aiosqlite's worker threads)."""
    c = min(args.profile_concurrency, len(scenario.peps))
    before = thread_cpu(pep.pid)
    pep.process.send_signal(signal.SIGUSR1)
    await pep.line()
    r = await run_level(
        http, url, headers, scenario, pep, c, 0.0, args.profile_seconds, "A (profiled)"
    )
    pep.process.send_signal(signal.SIGUSR2)
    where = (await pep.line())["profile"]
    after = thread_cpu(pep.pid)
    split = sorted(((after[k] - before.get(k, 0.0), k) for k in after), reverse=True)
    total = sum(d for d, _ in split) or 1e-9
    lines = [
        f"profile: c={c}, {r.requests} saves in {r.seconds:.1f}s under cProfile "
        f"({r.rps:.0f} req/s with the profiler on), errors {r.errors}",
        "server CPU by thread during the profile: "
        + ", ".join(f"{k} {d:.2f}s ({100 * d / total:.0f}%)" for d, k in split[:5] if d),
    ]
    per = total / max(1, r.requests) * 1000
    lines.append(f"server CPU per save (all threads, profiler on): {per:.2f} ms")
    return "\n".join(lines) + "\n" + profile_report(Path(where), r.requests, args.profile_top)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode")
    s = sub.add_parser("serve-stub")
    s.add_argument("--members", required=True)
    s = sub.add_parser("serve-pep")
    s.add_argument("--metadata-url", required=True)
    s.add_argument("--dir", type=Path, required=True)
    s.add_argument("--experiment", default="")
    p.add_argument("--levels", default="1,8,32")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument(
        "--profile",
        choices=("auto", "yes", "no"),
        default="auto",
        help="profile the card action (auto: only when a target is missed)",
    )
    p.add_argument("--profile-seconds", type=float, default=6.0)
    p.add_argument("--profile-top", type=int, default=25)
    p.add_argument("--profile-concurrency", type=int, default=1)
    p.add_argument("--only", choices=("both", "card", "echo"), default="both")
    p.add_argument(
        "--experiment", default="", help="begin-timing: report BEGIN IMMEDIATE waits (diagnostic)"
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (db, logs)")
    args = p.parse_args()
    if args.mode == "serve-stub":
        asyncio.run(serve_stub(json.loads(args.members)))
        return 0
    if args.mode == "serve-pep":
        asyncio.run(
            serve_pep(args.metadata_url, args.dir, args.dir / "card_action.prof", args.experiment)
        )
        return 0
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
