"""Start and stop a private Azurite (the storage emulator) on free loopback ports for tests."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.azurite import ACCOUNT_KEY, ACCOUNT_NAME, azurite_command, connection_string, wait_for_port

__all__ = [
    "ACCOUNT_KEY",
    "ACCOUNT_NAME",
    "REPO_ROOT",
    "Azurite",
    "free_port",
    "running_azurite",
    "stop_process",
]

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Azurite:
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.blob_port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        return connection_string(self.blob_port, self.queue_port, self.table_port)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_azurite(*extra_args: str, timeout: float = 30.0) -> Iterator[Azurite]:
    """Run an in-memory Azurite on free loopback ports until the context exits."""
    ports = Azurite(free_port(), free_port(), free_port())
    command = azurite_command(
        ports.blob_port, ports.queue_port, ports.table_port, "--inMemoryPersistence", *extra_args
    )
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for port in (ports.blob_port, ports.queue_port, ports.table_port):
            wait_for_port(port, process, "Azurite", timeout)
        yield ports
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Terminate ``process``, kill it if it has not exited within ``timeout``, close its pipes."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for pipe in (process.stdin, process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
