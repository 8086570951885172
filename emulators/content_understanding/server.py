"""Running the emulator: in-process for tests (``running_emulator``) or as a process (``serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from emulators.content_understanding.app import build_app
from emulators.content_understanding.config import DEFAULT_KEY, EmulatorConfig, Faults, update_faults
from emulators.content_understanding.state import EmulatorState


class Emulator:
    """A running emulator: its endpoint, and the test hooks without going through HTTP."""

    def __init__(self, state: EmulatorState, endpoint: str) -> None:
        self._state = state
        self.endpoint = endpoint

    @property
    def key(self) -> str:
        return self._state.config.key

    def stats(self) -> dict[str, Any]:
        """Same body as ``GET /_emulator/stats``."""
        return self._state.stats_json()

    def set_faults(self, **changes: Any) -> Faults:
        """Like ``POST /_emulator/faults``, with Python names: ``set_faults(rate_429=0.5)``."""
        self._state.faults = update_faults(self._state.faults, changes, json_names=False)
        return self._state.faults

    def reset(self) -> None:
        """Like ``POST /_emulator/reset``."""
        self._state.reset()


@contextlib.asynccontextmanager
async def running_emulator(
    *, key: str = DEFAULT_KEY, host: str = "127.0.0.1", port: int = 0, seed: int | None = None,
    allow_remote_urls: bool = False, page_size: int = 20, state_dir: str | None = None, **faults: Any,
) -> AsyncIterator[Emulator]:  # fmt: skip
    """Serve the emulator on ``host:port`` (a free port by default) until the block exits.

    ``faults`` are ``Faults`` fields: ``analysis_seconds=0.2``, ``rate_429=0.3``, ...
    ``state_dir`` keeps analyzers and defaults across restarts (else they live in memory).
    """
    config = EmulatorConfig(
        key=key, faults=update_faults(Faults(), faults, json_names=False), seed=seed,
        allow_remote_urls=allow_remote_urls, page_size=page_size, state_dir=state_dir,
    )  # fmt: skip
    state = EmulatorState(config)
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        yield Emulator(state, f"http://{bound_host}:{bound_port}")
    finally:
        await runner.cleanup()


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, printing one ready line once listening."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    faults = {name: getattr(config.faults, name) for name in Faults.__dataclass_fields__}
    async with running_emulator(
        key=config.key, host=host, port=port, seed=config.seed, allow_remote_urls=config.allow_remote_urls,
        page_size=config.page_size, state_dir=config.state_dir, **faults,
    ) as emulator:  # fmt: skip
        print(f"Content Understanding emulator listening on {emulator.endpoint}", flush=True)
        await stop.wait()
