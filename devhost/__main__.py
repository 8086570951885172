"""`python -m devhost start ...` runs an app until SIGINT/SIGTERM; `keys` prints its host keys.

    python -m devhost start --app-dir . --port 7071 --settings local.settings.json --state-dir .devhost
    python -m devhost keys --state-dir .devhost

`start` puts the settings file's `Values` into the environment (variables already set win, so a
value can be overridden from the shell), prints one line when ready, logs to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
from pathlib import Path

from devhost.durable.store import Store
from devhost.errors import DevHostError
from devhost.functions.config import load_settings_file
from devhost.host import STATE_FILE, DevHost


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="[%(asctime)s] %(message)s",
        stream=sys.stderr,
    )
    # The app's own libraries stay at warning level, as the host.json defaults of the app do.
    for noisy in ("azure", "aiohttp.access", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        if args.command == "keys":
            return _print_keys(args.state_dir)
        return asyncio.run(_serve(args))
    except DevHostError as exc:
        print(f"devhost: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken
        print(f"devhost: cannot start: {exc.strerror or exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devhost", description="Local Durable Functions host.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="serve an app until interrupted")
    start.add_argument("--app-dir", type=Path, default=Path("."), help="folder holding function_app.py")
    start.add_argument("--port", type=int, default=7071, help="public HTTP port (default 7071)")
    start.add_argument(
        "--rpc-port", type=int, default=0, help="port of the SDK's RPC endpoint (default: any free)"
    )
    start.add_argument(
        "--settings", type=Path, help="local.settings.json-style file whose Values become env vars"
    )
    start.add_argument(
        "--state-dir", type=Path, default=Path(".devhost"), help="where the SQLite state lives"
    )
    start.add_argument(
        "--enforce-keys", action="store_true", help="require function keys (off, as in Core Tools)"
    )
    start.add_argument("--blob-poll-interval", type=float, default=2.0, help="seconds between blob scans")
    start.add_argument("--verbose", action="store_true", help="also log every activity and episode")
    keys = commands.add_parser("keys", help="print the host keys of a state directory as JSON")
    keys.add_argument("--state-dir", type=Path, default=Path(".devhost"))
    return parser


async def _serve(args: argparse.Namespace) -> int:
    settings = {}
    if args.settings is not None:
        settings = {k: v for k, v in load_settings_file(args.settings).items() if k not in os.environ}
    host = DevHost(
        args.app_dir,
        settings=settings,
        state_dir=args.state_dir,
        port=args.port,
        rpc_port=args.rpc_port,
        enforce_keys=args.enforce_keys,
        blob_poll_interval=args.blob_poll_interval,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with host:
        # The app, the SDK and devhost are loaded now and live as long as the process: leave those
        # objects out of the cyclic collector's full passes (about half of their cost, measured).
        gc.collect()
        gc.freeze()
        print(f"devhost ready on {host.base_url} ({len(host.function_names)} functions)", flush=True)
        await stop.wait()
        logging.getLogger("devhost").info("devhost stopping")
    return 0


def _print_keys(state_dir: Path) -> int:
    path = state_dir / STATE_FILE
    if not path.exists():
        print(f"devhost: no state in {state_dir} (start devhost once to create keys)", file=sys.stderr)
        return 2
    store = Store(path)
    try:
        print(json.dumps(store.keys(), indent=2, sort_keys=True))
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
