"""Schemathesis against the local stack, from the app's own OpenAPI document (issue 10, item 7).

The whole stack runs as ``make serve`` runs it (Azurite, the CU emulator and devhost, each its own
process, on free ports), and Schemathesis generates requests for every operation from
``GET /api/openapi.json``: examples, boundary values (coverage), random valid and invalid data
(fuzzing) and chains of calls that follow the API's links (stateful). The run is bounded and
repeatable: a fixed seed, a fixed number of examples per operation, one worker, no example
database. The checks are the issue's: no 5xx, and every response's status code, content type,
headers and body as the document says.

Checks left out, and why: authentication checks (devhost, like Core Tools, does not enforce
function keys; Azure does), ``negative_data_rejection`` (it counts a request without the
function key as invalid data that must be refused, the same authentication question),
``use_after_free`` and ``ensure_resource_availability`` (DELETE cancels a job, it does not
delete it: a canceled job's status stays readable, as documented), ``unsupported_method`` (a
method no route has is answered by the Functions host, not by the app), and
``positive_data_acceptance`` (a well-formed request may name a blob, URL or analyzer that does
not exist: a 400 is the right answer).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.stack import Ports, Stack
from tests.conftest import example_settings
from tests.support.azurite import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SEED = 20261
EXAMPLES_PER_OPERATION = 100
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
RUN_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def served_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ports]:
    ports = Ports(
        app=free_port(), emulator=free_port(), blob=free_port(), queue=free_port(), table=free_port()
    )
    stack = Stack(ports, state=tmp_path_factory.mktemp("stack"), persistent=False, quiet=True)
    with pytest.MonkeyPatch.context() as environment:
        # The processes take their settings from the stack's settings file, as `make serve` does:
        # the session's app settings in the environment would override it (and point elsewhere).
        for name in example_settings():
            environment.delenv(name, raising=False)
        try:
            stack.start()
            yield ports
        finally:
            stack.stop()


def schemathesis_command(app_url: str, report_dir: Path) -> list[str]:
    return [
        sys.executable, "-m", "schemathesis.cli", "run", f"{app_url}/api/openapi.json",
        "--url", f"{app_url}/api",
        "--checks", ",".join(CHECKS),
        "--phases", "examples,coverage,fuzzing,stateful",
        "--seed", str(SEED),
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--generation-database", "none",
        "--generation-with-security-parameters", "false",
        "--workers", "1",
        "--request-timeout", "30",
        "--report", "junit",
        "--report-junit-path", str(report_dir / "junit.xml"),
        "--no-color",
    ]  # fmt: skip


def test_the_api_holds_its_openapi_document_under_fuzzing(served_stack: Ports, tmp_path: Path) -> None:
    run = subprocess.run(
        schemathesis_command(served_stack.app_url, tmp_path),
        cwd=tmp_path,  # nothing of the run lands in the repository
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )

    summary = run.stdout[-6000:]
    assert run.returncode == 0, f"Schemathesis found problems:\n{run.stdout[-20000:]}\n{run.stderr[-2000:]}"
    # Every operation Schemathesis loaded from the document was exercised (none skipped for lack of data).
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    assert selected is not None, summary
    assert selected[1] == selected[2], summary
    assert f"Tested: {selected[1]}" in summary, summary
    assert (tmp_path / "junit.xml").exists()
