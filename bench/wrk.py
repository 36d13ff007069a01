"""The HTTP load generator: wrk (C, not the bottleneck) driven by generated Lua scripts.

Every response is checked inside wrk: a status other than 200, a body without
``"data"`` or with a non-empty ``"errors"`` list (GraphQL errors, or a
mutation payload's errors) counts as bad, and a run with any bad response,
socket error or timeout raises. The load generator's own CPU share (user + sys
seconds from ``wait4`` over the wall time) comes back with the figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

INSTALL = (
    "wrk is not installed; the benchmark drives the API with it (a C load generator, so\n"
    "the client is not the bottleneck). On Debian/Ubuntu:\n"
    "    sudo apt-get update && sudo apt-get install -y wrk\n"
    "(elsewhere: https://github.com/wg/wrk, or set WRK=/path/to/wrk)."
)

# Shared by both scripts: count bad responses per thread, report in done().
_CHECK = r"""
local threads = {}
local next_id = 1
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

bad = 0
sample = nil
local failed = '"errors"%s*:%s*%[%s*[{"]'
function response(status, headers, body)
  if status ~= 200 or not body:find('"data"', 1, true) or body:find(failed) then
    bad = bad + 1
    if sample == nil then sample = tostring(status) .. " " .. body:sub(1, 400) end
  end
end

function done(summary, latency, requests)
  local total_bad, first = 0, nil
  for _, thread in ipairs(threads) do
    total_bad = total_bad + (thread:get("bad") or 0)
    first = first or thread:get("sample")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bad":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"mean_us":%.1f,' ..
    '"max_us":%.1f}\n',
    summary.requests, summary.duration, total_bad, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
  if first ~= nil then io.write("WRKSAMPLE " .. first .. "\n") end
end
"""


def binary() -> str:
    """The wrk executable, or SystemExit telling how to install it."""
    found = os.environ.get("WRK") or shutil.which("wrk")
    if not found:
        raise SystemExit(INSTALL)
    return found


def _long_string(text: str) -> str:
    """A Lua long-bracket literal holding ``text`` verbatim."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def _headers(token: str) -> str:
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = {_long_string("Bearer " + token)}\n'
    )


def reads_script(body: dict[str, Any], token: str) -> str:
    """The same POST /graphql for every request."""
    return (
        _headers(token)
        + f"wrk.body = {_long_string(json.dumps(body, ensure_ascii=False))}\n"
        + _CHECK
    )


def writes_script(
    query: str, values: dict[str, Any], households: list[str], cadres: list[str], token: str,
    prefix: str,
) -> str:  # fmt: skip
    """``recordVisit`` with a random household and cadre from the lists and a unique
    idempotency key per request: ``<prefix>-<thread>-<n>``."""
    marked = {**values, "householdId": "@H@", "cadreId": "@C@", "idempotencyKey": "@K@"}
    template = json.dumps({"query": query, "variables": {"i": marked}}, ensure_ascii=False)
    parts = re.split(r'"@[HCK]@"', template)
    assert len(parts) == 4, template
    lua_list = ", ".join
    return (
        _headers(token)
        + "local parts = {"
        + lua_list(_long_string(p) for p in parts)
        + "}\n"
        + "local households = {"
        + lua_list(json.dumps(h) for h in households)
        + "}\n"
        + "local cadres = {"
        + lua_list(json.dumps(c) for c in cadres)
        + "}\n"
        + f"local prefix = {_long_string(prefix)}\n"
        + r"""
local n = 0
function init(args)
  math.randomseed(tid * 7919 + 17)
end
function request()
  n = n + 1
  local body = parts[1] .. '"' .. households[math.random(#households)] .. '"' .. parts[2] ..
    '"' .. cadres[math.random(#cadres)] .. '"' .. parts[3] ..
    '"' .. prefix .. "-" .. tid .. "-" .. n .. '"' .. parts[4]
  return wrk.format(nil, nil, nil, body)
end
"""
        + _CHECK
    )


def run(url: str, script: str, *, threads: int, connections: int, seconds: float) -> dict[str, Any]:
    """Run wrk (blocking: call it in a thread); raise on any bad response or error."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        path = handle.name
    command = [
        binary(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        "--latency", "--timeout", "30s", "-s", path, url,
    ]  # fmt: skip
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out_file, stderr=err_file)  # noqa: S603
        try:
            # wait4 rather than Popen.wait: the child's own user + sys CPU time.
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            Path(path).unlink(missing_ok=True)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    found = next((line for line in out.splitlines() if line.startswith("WRKJSON ")), None)
    if process.returncode != 0 or found is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.strip()}\n{out}")
    stats: dict[str, Any] = json.loads(found.removeprefix("WRKJSON "))
    sample = next((line for line in out.splitlines() if line.startswith("WRKSAMPLE ")), None)
    errors = {k: stats[k] for k in ("connect", "read", "write", "status", "timeout") if stats[k]}
    if stats["bad"] or errors or not stats["requests"]:
        raise RuntimeError(
            f"wrk: {stats['bad']} bad responses of {stats['requests']} (status not 200, no"
            f" data, or errors); wrk's error counts (status: non-2xx/3xx): {errors};"
            f" first bad: {sample}"
        )
    duration = stats["duration_us"] / 1e6
    return {
        "requests": stats["requests"],
        "rps": stats["requests"] / duration,
        "p50_ms": stats["p50_us"] / 1000,
        "p90_ms": stats["p90_us"] / 1000,
        "p99_ms": stats["p99_us"] / 1000,
        "max_ms": stats["max_us"] / 1000,
        "cpu": (usage.ru_utime + usage.ru_stime) / wall,
        "wall_s": wall,
    }
