"""Loopback load test of the playground: many pages training at once.

Starts ``warpnet.playground.serve`` in a child process (pinned to ``--cores`` CPUs where the OS
allows), opens ``--sessions`` WebSocket clients that each configure the default spiral network and
press start, and counts the updates every session receives during ``--seconds`` (after a warm-up).
Prints, per session, the mean update rate and the worst one-second window, then min / median / max
over sessions, and whether every session kept at least ``--target`` updates a second.

    .venv/bin/python benchmarks/playground.py --sessions 20 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time

import websockets

SERVER = "from warpnet.playground import serve; serve(port=0)"


def start_server(cores: int) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-u", "-c", SERVER], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(proc.pid, available[:cores])
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return proc, int(match.group(1))
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the playground server did not start")


async def session(port: int, warmup: float, seconds: float, start_at: float) -> dict:
    """Run one training page; return its update times and first/last step in the window."""
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
        json.loads(await ws.recv())  # welcome
        await ws.send(json.dumps({"type": "configure", "settings": {}}))
        while json.loads(await ws.recv())["type"] != "status":
            pass
        await ws.send(json.dumps({"type": "start"}))
        begin, end = start_at + warmup, start_at + warmup + seconds
        times: list[float] = []
        steps: list[int] = []
        while True:
            text = await ws.recv()
            now = time.monotonic()
            if now >= end:
                break
            # Only updates count; parse the step of the first and last update in the window.
            if now >= begin and text.startswith('{"type":"update"'):
                if not times:
                    steps.append(json.loads(text)["step"])
                times.append(now)
                last = text
        if times:
            steps.append(json.loads(last)["step"])
        return {"times": times, "steps": steps, "begin": begin}


async def run(port: int, n: int, warmup: float, seconds: float) -> list[dict]:
    start_at = time.monotonic()
    return await asyncio.gather(*(session(port, warmup, seconds, start_at) for _ in range(n)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--target", type=float, default=5.0, help="updates per second per session")
    args = parser.parse_args()
    if not 1 <= args.sessions <= 60 or not 1 <= args.seconds <= 120:
        parser.error("--sessions must be in [1, 60] and --seconds in [1, 120]")

    proc, port = start_server(args.cores)
    try:
        results = asyncio.run(asyncio.wait_for(
            run(port, args.sessions, args.warmup, args.seconds), args.warmup + args.seconds + 60))
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    rates, worst, step_rates = [], [], []
    for r in results:
        rates.append(len(r["times"]) / args.seconds)
        bins = [0] * int(args.seconds)
        for t in r["times"]:
            k = int(t - r["begin"])
            if k < len(bins):
                bins[k] += 1
        worst.append(min(bins) if bins else 0)
        step_rates.append((r["steps"][-1] - r["steps"][0]) / args.seconds if r["steps"] else 0.0)

    cores = args.cores if hasattr(os, "sched_setaffinity") else os.cpu_count()
    print(f"playground load test: {args.sessions} sessions training at once for {args.seconds:g} s "
          f"(after {args.warmup:g} s warm-up), server on {cores} cores, loopback")
    print(f"{'':28}{'min':>9}{'median':>9}{'max':>9}")
    for name, values in (("updates/s per session", rates),
                         ("worst 1-s window (updates)", worst),
                         ("training steps/s per session", step_rates)):
        print(f"{name:28}{min(values):9.1f}{statistics.median(values):9.1f}{max(values):9.1f}")
    print(f"all sessions together: {sum(rates):.0f} updates/s, {sum(step_rates):.0f} steps/s")
    ok = min(rates) >= args.target and min(worst) >= args.target
    ratio = min(rates) / args.target
    print(f"slowest session / target ({args.target:g} updates/s): {ratio:.2f} -> "
          f"{'OK' if ok else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
