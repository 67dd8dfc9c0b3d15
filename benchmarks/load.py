"""Concurrent load on loopback from a separate process: wrk (Debian's ``wrk``), or a Python fallback.

Each run sends GET requests for a fixed list of paths, in a fixed (seeded, shuffled) order, round
robin, from ``connections`` concurrent connections for ``seconds``, and reports requests per
second and latency percentiles. Anything but a 200 is counted as an error (and the runner shows it).
"""

import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

LUA = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    tool: str


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _wrk(base: str, paths: list[str], seconds: float, connections: int) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="harmonise-bench-wrk-") as folder:
        script, listing = Path(folder) / "paths.lua", Path(folder) / "paths.txt"
        script.write_text(LUA)
        listing.write_text("\n".join(paths) + "\n")
        completed = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "--latency",
             "-s", str(script), base],
            capture_output=True, text=True, check=True, env={"BENCH_PATHS": str(listing), "PATH": "/usr/bin:/bin"},
        )
    out = completed.stdout
    percent = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    if not requests or "50" not in percent:  # nothing completed: the latency is at least the run's length
        percent = {"50": f"{seconds}s", "99": f"{seconds}s"}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    return LoadResult(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), _ms(percent["50"]),
                      _ms(percent["99"]), requests, errors, "wrk")


async def _python(base: str, paths: list[str], seconds: float, connections: int) -> LoadResult:
    import httpx  # noqa: PLC0415  (only the fallback needs it)

    latencies: list[float] = []
    errors = 0
    counter = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors, counter
        while time.perf_counter() < deadline:
            path = paths[counter % len(paths)]
            counter += 1
            started = time.perf_counter()
            response = await client.get(path)
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:  # nothing completed within the run
            return seconds * 1000
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return LoadResult(len(latencies) / elapsed, pct(0.50), pct(0.99), len(latencies), errors, "python")


def run(base: str, paths: list[str], seconds: float, connections: int) -> LoadResult:
    """Load ``base`` (http://127.0.0.1:PORT) with GETs of ``paths``; wrk if installed, else Python."""
    if shutil.which("wrk"):
        return _wrk(base, paths, seconds, connections)
    # The fallback runs in its own process too, so client and server never share an interpreter.
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", base, str(seconds), str(connections)],
        input="\n".join(paths), capture_output=True, text=True, check=True,
    )
    return LoadResult(**json.loads(completed.stdout))


if __name__ == "__main__":
    result = asyncio.run(_python(sys.argv[1], sys.stdin.read().split("\n"), float(sys.argv[2]), int(sys.argv[3])))
    print(json.dumps(result.__dict__))
