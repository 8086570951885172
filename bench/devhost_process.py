"""devhost as a process of its own (``python -m devhost start``, what ``make serve`` runs), with
the app unchanged, on a free loopback port: how the load and memory benchmarks run the app, so
that what they measure is that process alone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.support.azurite import REPO_ROOT, stop_process

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
DEVHOST = ("-m", "devhost")


class DevhostProcess:
    """``launcher start`` (``python -m devhost`` unless told otherwise) with ``settings``, its
    state and log (``devhost.log``) in ``work_dir``; a context manager that waits until it is ready."""

    def __init__(
        self,
        settings: dict[str, str],
        work_dir: Path,
        *,
        launcher: Sequence[str] = DEVHOST,
        stop_timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.work_dir = work_dir
        self.launcher = tuple(launcher)
        self.stop_timeout = stop_timeout
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def __enter__(self) -> DevhostProcess:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        settings_file = self.work_dir / "devhost.settings.json"
        settings_file.write_text(json.dumps({"IsEncrypted": False, "Values": self.settings}), "utf-8")
        command = [
            sys.executable, *self.launcher, "start", "--app-dir", str(REPO_ROOT), "--port", str(self.port),
            "--settings", str(settings_file), "--state-dir", str(self.work_dir / "state"),
        ]  # fmt: skip
        log_file = self.work_dir / "devhost.log"
        with log_file.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env={**os.environ, **self.settings},
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.process.stdout is not None
        if not self.process.stdout.readline().startswith("devhost ready on "):
            stop_process(self.process)
            raise RuntimeError(f"devhost did not start: see {log_file}")
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=self.stop_timeout)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
