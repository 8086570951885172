"""devhost benchmark: activity throughput, concurrent orchestrations, replay cost.

    python -m bench.devhost_bench            # the full run (about half a minute)
    python -m bench.devhost_bench --quick    # small sizes, a smoke run

Measures, in one run, with the real SDK replay and SQLite state on disk:
1. no-op activities per second through one fan-out of 1,000 (sync and async activities);
2. 100 concurrent orchestrations of 10 chained no-op activities each;
3. the cost of one episode against the history length (a chain replayed at growing lengths);
4. replay work against fan-out width: episodes and history events replayed per activity, which
   stays flat when completions are batched into episodes (it would grow with the width otherwise).
Figures are ratios within this run; absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devhost import DevHost
from devhost.durable.episode import EpisodePlan, context_json, settle_episode
from devhost.durable.store import Instance
from devhost.durable.wire import Event, EventType, RuntimeStatus
from devhost.functions.app_loader import ORCHESTRATION_TRIGGER, load_app
from devhost.functions.invoke import Invoker

APP_DIR = Path(__file__).parent / "devhost_app"


@dataclass(frozen=True)
class Run:
    scenario: str
    activities: int
    seconds: float
    episodes: int
    replayed_events: int

    @property
    def per_second(self) -> float:
        return self.activities / self.seconds


def replay_work(history: Sequence[Event]) -> tuple[int, int]:
    """(episodes, history events handed to the orchestrator over all episodes)."""
    starts = [i for i, event in enumerate(history) if event["EventType"] == EventType.ORCHESTRATOR_STARTED]
    return len(starts), sum(starts)


async def fan_out(host: DevHost, width: int, kind: str) -> Run:
    started = time.perf_counter()
    instance_id = host.start_new("fan_out", {"width": width, "kind": kind})
    status = await host.wait_for(instance_id, timeout=600)
    seconds = time.perf_counter() - started
    assert status["output"] == width, status
    episodes, replayed = replay_work(host.history(instance_id))
    return Run(f"fan-out of {width} no-op activities ({kind})", width, seconds, episodes, replayed)


async def concurrent_chains(host: DevHost, instances: int, steps: int) -> Run:
    started = time.perf_counter()
    ids = [host.start_new("chain", steps) for _ in range(instances)]
    for instance_id in ids:
        assert (await host.wait_for(instance_id, timeout=600))["output"] == steps
    seconds = time.perf_counter() - started
    work = [replay_work(host.history(i)) for i in ids]
    return Run(
        f"{instances} orchestrations x {steps} chained activities",
        instances * steps,
        seconds,
        sum(w[0] for w in work),
        sum(w[1] for w in work),
    )


def episode_costs(history: list[Event], lengths: Sequence[int], repeats: int) -> list[tuple[int, float]]:
    """Median milliseconds of one episode (payload, SDK replay, host replay) at each history length."""
    app = load_app(APP_DIR)
    function = app.find(ORCHESTRATION_TRIGGER, "chain")
    assert function is not None
    with ThreadPoolExecutor(1) as pool:
        invoker = Invoker(app_dir=APP_DIR, activity_pool=pool, function_pool=pool, client_binding=str)
        starts = [
            i for i, event in enumerate(history) if event["EventType"] == EventType.ORCHESTRATOR_STARTED
        ]
        costs = []
        for length in lengths:
            start = min(starts, key=lambda i: abs(i - length))  # an episode boundary near `length`
            instance = Instance(
                "bench", "chain", "e", RuntimeStatus.RUNNING, history[1]["Input"], None, None, 0, 0
            )
            plan = EpisodePlan(instance, history[:start], datetime.now(UTC), new_events=[history[start + 1]])
            timings = []
            for _ in range(repeats):
                began = time.perf_counter()
                outcome = invoker.call_orchestrator(function, context_json(plan))
                settle_episode(plan, outcome, activity_exists=bool, orchestrator_exists=bool)
                timings.append(time.perf_counter() - began)
            costs.append((start + 2, statistics.median(timings) * 1000))
    return costs


async def run(quick: bool) -> None:
    width, instances, steps, chain_length = (100, 10, 5, 60) if quick else (1000, 100, 10, 300)
    widths = [width // 4, width // 2, width]
    lengths = [20, 100, 200] if quick else [20, 150, 300, 600, 1200]
    with tempfile.TemporaryDirectory() as state:
        async with DevHost(APP_DIR, state_dir=Path(state), blob_poll_interval=None) as host:
            runs = [await fan_out(host, width, "sync"), await fan_out(host, width, "async")]
            runs.append(await concurrent_chains(host, instances, steps))
            scaling = [await fan_out(host, w, "sync") for w in widths]
            chain_id = host.start_new("chain", chain_length)
            await host.wait_for(chain_id, timeout=600)
            chain_history = host.history(chain_id)
    costs = episode_costs(chain_history, lengths, repeats=3 if quick else 5)
    report(runs, scaling, costs)


def report(runs: list[Run], scaling: list[Run], costs: list[tuple[int, float]]) -> None:
    print(f"devhost benchmark ({os.cpu_count()} CPUs)\n")
    print(f"{'scenario':<46}{'activities':>11}{'seconds':>9}{'activities/s':>14}{'episodes':>10}")
    for r in runs:
        print(f"{r.scenario:<46}{r.activities:>11}{r.seconds:>9.2f}{r.per_second:>14,.0f}{r.episodes:>10}")
    print("\nreplay work against fan-out width (completions batched into episodes)")
    print(f"{'width':>7}{'episodes':>10}{'events replayed':>17}{'per activity':>14}{'seconds':>9}")
    for r in scaling:
        per_activity = r.replayed_events / r.activities
        print(
            f"{r.activities:>7}{r.episodes:>10}{r.replayed_events:>17,}{per_activity:>14.1f}{r.seconds:>9.2f}"
        )
    print("\ncost of one episode against history length (chain of no-op activities)")
    print(f"{'history events':>15}{'episode ms':>12}{'us per event':>14}")
    for length, milliseconds in costs:
        print(f"{length:>15}{milliseconds:>12.2f}{milliseconds * 1000 / length:>14.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.devhost_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args.quick))


if __name__ == "__main__":
    main()
