"""What every benchmark shares: embedded servers in a scratch directory, percentiles, the table, the JSON."""

from __future__ import annotations

import json
import math
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from sandbox.embedded import EmbeddedPostgres, EmbeddedValkey, free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def percentile(samples: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of `samples`."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def time_ms(action: Callable[[], object], repeat: int, warmup: int = 5) -> list[float]:
    """Wall time of each of `repeat` calls of `action`, in ms, after `warmup` untimed calls."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned text table; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(c.rjust(w) if n and _numeric(c) else c.ljust(w) for c, w in zip(row, widths, strict=True))
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).replace("-", "", 1).isdigit()


def machine() -> dict[str, Any]:
    return {
        "cpus": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def save(name: str, data: dict[str, Any]) -> Path:
    """Write the results as bench/results/<name>-<UTC time>.json and return the path."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, default=str))
    return path


@contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        path = Path(directory)
        path.chmod(0o755)  # the embedded PostgreSQL runs as its own user when we are root
        yield path


@contextmanager
def embedded_postgres(directory: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(directory / "postgres", free_port(), secrets.token_hex(8))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def embedded_valkey(directory: Path) -> Iterator[EmbeddedValkey]:
    server = EmbeddedValkey(directory / "valkey", free_port(), secrets.token_hex(8))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def aws_sandbox_process(directory: Path) -> Iterator[tuple[dict[str, str], int]]:
    """The local AWS sandbox in a process of its own (`python -m sandbox.aws`); yields the app's environment and
    the process id."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.aws", str(directory)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            raise RuntimeError("the AWS sandbox did not start (see its messages above)")
        yield json.loads(line), process.pid
    finally:
        if process.stdin:
            process.stdin.close()
        process.wait(timeout=30)


@dataclass
class ProbeStack:
    settings: Any  # jobs.settings.Settings, imported when the stack starts
    pg_url: str
    valkey_url: str
    sandbox_pid: int


@contextmanager
def probe_stack() -> Iterator[ProbeStack]:
    """Everything the four probes check, on 127.0.0.1 in a scratch directory: embedded PostgreSQL (migrated) and
    Valkey, the AWS sandbox in a process of its own; with the probes' settings for them, after one warm-up cycle
    (imports, TLS contexts, the process's AWS credentials)."""
    from jobs import store
    from jobs.cycle import run_probes
    from jobs.result import Status
    from jobs.settings import load

    with (
        scratch() as directory,
        embedded_postgres(directory) as pg,
        embedded_valkey(directory) as valkey,
        aws_sandbox_process(directory / "sandbox") as (aws_env, sandbox_pid),
    ):
        settings = load({"DATABASE_URL": pg.url, "VALKEY_URL": valkey.url, "PROBE_TIMEOUT_S": "5", **aws_env})
        store.migrate_once(settings.postgres, 10)
        down = [r.service for r in run_probes(settings) if r.status is not Status.UP]
        if down:
            print(f"warning: not up after warm-up: {', '.join(down)}", file=sys.stderr)
        yield ProbeStack(settings, pg.url, valkey.url, sandbox_pid)
