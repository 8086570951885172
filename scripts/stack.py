"""Run the local stack: Azurite, the CU emulator, devhost (the app) and an Event Grid stand-in.

``python -m scripts.stack`` (what ``make serve`` runs) starts all three on fixed loopback ports,
waits until ``GET /api/health`` answers 200, then starts ``python -m devhost.eventgrid``, which
delivers the intake container's ``BlobCreated`` events to the ``blob_intake`` webhook as Azure's
Event Grid subscription does (Azurite has no Event Grid, and devhost, like Azure, never scans the
container of an Event Grid-sourced trigger), and stops them together on Ctrl-C. Ports come from
environment variables, with these defaults:

  APP_PORT 7071, CU_EMULATOR_PORT 7080, AZURITE_BLOB_PORT 10000, AZURITE_QUEUE_PORT 10001,
  AZURITE_TABLE_PORT 10002

The app's settings are ``local.settings.json`` if you made one, else ``local.settings.example.json``,
with the storage connection strings and the CU endpoint pointed at the ports above.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.azurite import azurite_command, connection_string, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".state"


@dataclass(frozen=True)
class Ports:
    app: int
    emulator: int
    blob: int
    queue: int
    table: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Ports:
        def port(name: str, default: int) -> int:
            raw = env.get(name, str(default))
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise SystemExit(f"{name} must be a TCP port number, got {raw!r}")
            return int(raw)

        return cls(
            app=port("APP_PORT", 7071),
            emulator=port("CU_EMULATOR_PORT", 7080),
            blob=port("AZURITE_BLOB_PORT", 10000),
            queue=port("AZURITE_QUEUE_PORT", 10001),
            table=port("AZURITE_TABLE_PORT", 10002),
        )

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app}"

    def storage_connection_string(self) -> str:
        return connection_string(self.blob, self.queue, self.table)


def app_settings(ports: Ports) -> dict[str, str]:
    """The app's settings for this stack, written to a file devhost reads."""
    own = ROOT / "local.settings.json"
    source = own if own.exists() else ROOT / "local.settings.example.json"
    values: dict[str, str] = json.loads(source.read_text(encoding="utf-8"))["Values"]
    for name in ("AzureWebJobsStorage", "DocumentStorage"):
        if values.get(name) == "UseDevelopmentStorage=true":
            values[name] = ports.storage_connection_string()
    if values.get("CONTENT_UNDERSTANDING_ENDPOINT", "").startswith("http://127.0.0.1:"):
        values["CONTENT_UNDERSTANDING_ENDPOINT"] = f"http://127.0.0.1:{ports.emulator}"
    return values


def _write_settings(ports: Ports, state: Path) -> Path:
    path = state / "stack.settings.json"
    path.write_text(
        json.dumps({"IsEncrypted": False, "Values": app_settings(ports)}, indent=2), encoding="utf-8"
    )
    return path


class Stack:
    """The three processes, started in order and stopped together."""

    def __init__(
        self, ports: Ports, *, state: Path = STATE, persistent: bool = True, quiet: bool = False
    ) -> None:
        self.ports = ports
        self.state = state
        self.persistent = persistent
        self.quiet = quiet
        self._processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        settings = _write_settings(self.ports, self.state)
        key = app_settings(self.ports).get("CONTENT_UNDERSTANDING_KEY") or "local-emulator-key"
        storage = (
            ["--location", str(self.state / "azurite")] if self.persistent else ["--inMemoryPersistence"]
        )
        p = self.ports
        azurite = self._spawn("azurite", azurite_command(p.blob, p.queue, p.table, *storage))
        wait_for_port(p.blob, azurite, "azurite")
        # The emulator keeps analyzers and defaults across restarts, as Azure does (not in-memory runs).
        emulator_state = ["--state-dir", str(self.state / "cu-emulator")] if self.persistent else []
        emulator = self._spawn(
            "cu-emulator",
            [sys.executable, "-m", "emulators.content_understanding", "--host", "127.0.0.1",
             "--port", str(p.emulator), "--key", key, *emulator_state],
        )  # fmt: skip
        wait_for_port(p.emulator, emulator, "cu-emulator")
        state_dir = self.state / ("devhost" if self.persistent else f"devhost-{os.getpid()}")
        self._spawn(
            "devhost",
            [sys.executable, "-m", "devhost", "start", "--app-dir", str(ROOT), "--port", str(p.app),
             "--settings", str(settings), "--state-dir", str(state_dir)],
        )  # fmt: skip
        self._wait_for_health()
        webhook = f"{self.ports.app_url}/runtime/webhooks/blobs?functionName=Host.Functions.blob_intake"
        self._spawn(
            "eventgrid",
            [sys.executable, "-m", "devhost.eventgrid", "--connection-string",
             self.ports.storage_connection_string(), "--container",
             app_settings(self.ports).get("INTAKE_CONTAINER", "intake"), "--endpoint", webhook],
        )  # fmt: skip

    def stop(self) -> None:
        for name, process in reversed(self._processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    print(f"{name} did not stop in 15 s; killing it", file=sys.stderr)
                    process.kill()
                    process.wait()
        self._processes.clear()

    def check_alive(self) -> None:
        for name, process in self._processes:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited unexpectedly with code {process.returncode}")

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        output = subprocess.DEVNULL if self.quiet else None
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=output)  # noqa: S603 - our own commands
        self._processes.append((name, process))
        return process

    def _wait_for_health(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.ports.app_url}/api/health"
        while time.monotonic() < deadline:
            self.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer 200 within {timeout:g} s")


@contextlib.asynccontextmanager
async def running_stack(
    ports: Ports, *, persistent: bool = False, quiet: bool = True
) -> AsyncIterator[Stack]:
    """The stack for one program run (``make demo``): in-memory storage, quiet by default."""
    stack = Stack(ports, persistent=persistent, quiet=quiet)
    try:
        await asyncio.to_thread(stack.start)
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    ports = Ports.from_env()
    stack = Stack(ports)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
        print(
            f"Stack ready: app {ports.app_url}/api (health, openapi.json), status page {ports.app_url}/, "
            f"CU emulator http://127.0.0.1:{ports.emulator}, Azurite blob port {ports.blob}. "
            "Ctrl-C stops all.",
            flush=True,
        )
        while True:
            stack.check_alive()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("Stopping...", flush=True)
        return 0
    except RuntimeError as error:
        print(f"Stack failed: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    raise SystemExit(main())
