"""`python -m devhost`: one ready line on stdout, a clean stop on SIGTERM or SIGINT, clear errors."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.devhost.conftest import devhost_process, ready_line
from tests.support.azurite import REPO_ROOT, free_port


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_one_ready_line_and_stops_cleanly(
    tmp_path: Path, settings_file: Path, signum: signal.Signals
) -> None:
    port = free_port()
    with devhost_process(tmp_path / "state", settings_file, port) as process:
        line = ready_line(process)
        assert line == f"devhost ready on http://127.0.0.1:{port} (49 functions)"
        assert httpx.get(f"http://127.0.0.1:{port}/api/items/7").text == "item 7"
        process.send_signal(signum)
        assert process.wait(timeout=15) == 0
        assert process.stdout is not None
        assert process.stdout.read() == ""  # nothing but the ready line on stdout


def test_cli_reports_a_bad_app_dir(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devhost",
            "start",
            "--app-dir",
            str(tmp_path),
            "--state-dir",
            str(tmp_path / "s"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"devhost: no function_app.py in {tmp_path}" in result.stderr
