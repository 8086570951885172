"""``python -m devhost.eventgrid``: post BlobCreated events of containers to a webhook until stopped.

    python -m devhost.eventgrid --connection-string "$CONN" --container intake \
        --endpoint "http://127.0.0.1:7071/runtime/webhooks/blobs?functionName=Host.Functions.blob_intake"

Waits for the endpoint to answer the subscription handshake (devhost may still be starting),
prints one line when watching, logs to stderr, stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import httpx

from devhost.eventgrid.blob_events import BlobCreatedPublisher, EventGridError, Subscription


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devhost.eventgrid", description=__doc__.splitlines()[0])
    parser.add_argument("--connection-string", required=True, help="the storage account to watch")
    parser.add_argument("--container", required=True, help="container whose BlobCreated events to send")
    parser.add_argument("--endpoint", required=True, help="webhook URL (the function's blob webhook)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between container listings")
    parser.add_argument(
        "--startup-timeout", type=float, default=60.0, help="how long to wait for the endpoint"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", stream=sys.stderr)
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return asyncio.run(_run(args))
    except EventGridError as error:
        print(f"devhost.eventgrid: {error}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace) -> int:
    publisher = BlobCreatedPublisher(
        args.connection_string, [Subscription(args.container, args.endpoint)], interval=args.interval
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    deadline = loop.time() + args.startup_timeout
    while True:
        try:
            await publisher.start()
            break
        except httpx.TransportError:  # the host is not listening yet (start() closed its clients)
            if loop.time() > deadline or stop.is_set():
                waited = f"{args.startup_timeout:g} s"
                raise EventGridError(f"no answer from the endpoint within {waited}") from None
            await asyncio.sleep(0.5)
    print(f"eventgrid stand-in watching container '{args.container}'", flush=True)
    try:
        await stop.wait()
    finally:
        await publisher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
