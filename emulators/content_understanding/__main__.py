"""``python -m emulators.content_understanding --port 7080 --key KEY [fault flags]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from emulators.content_understanding.config import DEFAULT_KEY, EmulatorConfig, Faults
from emulators.content_understanding.server import serve


def parse_args(argv: list[str]) -> tuple[EmulatorConfig, str, int]:
    parser = argparse.ArgumentParser(
        prog="python -m emulators.content_understanding",
        description="An offline emulator of Azure AI Content Understanding's REST API "
        "(2025-11-01 and 2026-06-01-preview).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7080, help="port to listen on, 0 for any free one")
    parser.add_argument("--key", default=DEFAULT_KEY, help="the Ocp-Apim-Subscription-Key callers must send")
    parser.add_argument("--analysis-seconds", type=float, default=2.0, help="duration of every operation")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every API response")
    parser.add_argument("--fault-rate-429", type=float, default=0.0, help="share of requests answered 429")
    parser.add_argument("--fault-rate-5xx", type=float, default=0.0, help="share of requests answered 503")
    parser.add_argument(
        "--retry-after", type=float, default=1.0, help="Retry-After seconds on faults and polls"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of the fault dice, for repeatable runs")
    parser.add_argument("--allow-remote-urls", action="store_true", help="fetch non-loopback input URLs too")
    parser.add_argument(
        "--state-dir", default=None, help="keep analyzers and defaults in this directory across restarts"
    )
    args = parser.parse_args(argv)
    for name in ("fault_rate_429", "fault_rate_5xx"):
        if not 0 <= getattr(args, name) <= 1:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 1")
    if min(args.analysis_seconds, args.latency_ms, args.retry_after) < 0:
        parser.error("durations must not be negative")
    faults = Faults(
        analysis_seconds=args.analysis_seconds, latency_ms=args.latency_ms, rate_429=args.fault_rate_429,
        rate_5xx=args.fault_rate_5xx, retry_after=args.retry_after,
    )  # fmt: skip
    config = EmulatorConfig(
        key=args.key, faults=faults, seed=args.seed, allow_remote_urls=args.allow_remote_urls,
        state_dir=args.state_dir,
    )  # fmt: skip
    return config, args.host, args.port


def main(argv: list[str] | None = None) -> None:
    config, host, port = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(config, host, port))


if __name__ == "__main__":
    main()
