"""The benchmark's results as markdown tables."""

from __future__ import annotations

import os
from typing import Any

from bench.fixture import NAMES


def _f(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def report(results: dict[str, Any]) -> str:
    out = [
        f"# bench.run, {results['started']}: {results['machine']};"
        f" c16 runs {results['seconds']:g} s, c1 runs {results['c1_seconds']:g} s and"
        f" {results['c1_calls']} requests at least",
        "",
        f"load average at start {results['load_start']}, at end {results['load_end']}"
        " (1, 5, 15 min)",
    ]
    for name, found in results["runs"].items():
        out += ["", f"## {name}", ""]
        if "skipped" in found:
            out.append(f"skipped: {found['skipped']}")
            continue
        out += [
            f"load average at start {found['load_start']}, at end {found['load_end']}",
            "",
            "| query | API c1 p50 ms | API c1 p99 ms | API c16 req/s | floor c1 p50 ms"
            " | floor c16 req/s | throughput % of floor | p50 × floor |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, q in found["queries"].items():
            api, floor = q["api"], q["floor"]
            out.append(
                f"| {NAMES[key]} | {api['p50_ms']:.2f} | {api['p99_ms']:.2f} |"
                f" {api['rps_c16']:.0f} | {floor['p50_ms']:.2f} | {floor['rps_c16']:.0f} |"
                f" {100 * q['throughput_ratio']:.0f}% | {q['p50_ratio']:.1f} |"
            )
        out += [
            "",
            "CPU during the c16 runs (1.00 = one core; the box has "
            f"{os.cpu_count()}): the load generator (wrk), the server (all its processes),"
            " the floor's client, and the whole box",
            "",
            "| query | wrk c16 | wrk c1 | server c16 | floor client c16 | box busy, API c16"
            " | box busy, floor c16 | c1 requests, API / floor | background visits"
            " | kept answers, c16 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, q in found["queries"].items():
            api, floor = q["api"], q["floor"]
            kept = api.get("kept_c16")
            share = "–" if kept is None else f"{100 * kept:.0f}%"
            out.append(
                f"| {key} | {api['wrk_cpu_c16']:.2f} | {api['wrk_cpu_c1']:.2f} |"
                f" {api['server_cpu_c16']:.2f} | {floor['cpu_c16']:.2f} |"
                f" {api['box_busy_c16']:.2f} | {floor['box_busy_c16']:.2f} |"
                f" {api['c1_requests']} / {floor['c1_calls']} | {q['background_visits']} |"
                f" {share} |"
            )
        out += [
            "",
            "kept answers: of the compiled path's answers during the c16 run, the share"
            " served from the exact response cache (the area's version unchanged; the"
            " background writer moves the county's visits version on every visit; counted"
            " per process, so shown for one worker only).",
        ]
        out.append("")
        if "recordVisit c16" in found:
            w = found["recordVisit c16"]
            out.append(
                f"recordVisit c16: {w['rps_c16']:.0f} req/s (p50 {w['p50_ms_c16']:.1f} ms,"
                f" p99 {w['p99_ms_c16']:.1f} ms; {w['recorded']} visits, each key once;"
                f" wrk CPU {w['wrk_cpu']:.2f}, server CPU {w['server_cpu']:.2f},"
                f" box busy {w['box_busy']:.2f})"
            )
            b = found["recordVisits batch of 1000"]
            out.append(f"recordVisits, one batch of 1,000: {b['seconds']:.2f} s")
        if "Q1 at LU10" in found:
            lu = found["Q1 at LU10"]
            out.append(
                f"Q1 at LU10: c1 p50 {lu['api']['p50_ms']:.2f} ms (× {lu['p50_ratio_lu10_lu1']:.2f}"
                f" of LU1), p99 {lu['api']['p99_ms']:.2f} ms, c16 {lu['api']['rps_c16']:.0f} req/s"
                f" (× {lu['rps_ratio_lu10_lu1']:.2f} of LU1); floor p50"
                f" {lu['floor']['p50_ms']:.2f} ms, {lu['floor']['rps_c16']:.0f} req/s; server"
                f" peak {lu['server_vmhwm_total_mib']:.0f} MiB in all"
            )
        peaks = ", ".join(
            f"{_role(p['command'])} {p['vmhwm_kib'] / 1024:.0f}" for p in found["server_vmhwm"]
        )
        out.append(
            f"server peak memory (VmHWM): {found['server_vmhwm_total_mib']:.0f} MiB in all"
            f" ({peaks} MiB)"
        )
    return "\n".join(out)


def _role(command: str) -> str:
    if "spawn_main" in command:
        return "worker"
    if "resource_tracker" in command:
        return "resource tracker"
    return "main" if "serve" in command else command[:40]
