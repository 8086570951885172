"""scripts/postdeploy.sh, run for real by /bin/sh against stand-ins for az and azd.

The Azure CLIs cannot run here (no Azure, no network), so each is a small program on PATH that
records its arguments and answers as the real one does: `az functionapp keys list --query ...
--output tsv` prints the key or nothing, `az account get-access-token ... --output tsv` prints a
token, a failing `az` prints `ERROR: ...` and exits 1, and `azd env get-value NAME` prints the
value or fails. curl is the real one: the app and Content Understanding are a loopback HTTP
server that records what it is sent (Content Understanding's Entra ID endpoint is the one thing
that cannot run here). PowerShell is not installable here, so postdeploy.ps1 is only checked to
say the same things as the shell script (and, statically, in test_hooks_static.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.azurite import REPO_ROOT

HOOK = REPO_ROOT / "scripts" / "postdeploy.sh"
KEY = "s3cr3t-blobs-extension-key=="
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.s3cr3t-token."
SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
DEAD_LETTERS = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-dev/providers/Microsoft.Storage/storageAccounts/"
    "stabc/blobServices/default/containers/event-dead-letters"
)
MODEL_DEPLOYMENTS = {
    "gpt-5.2": "gpt-5.2",
    "text-embedding-3-large": "text-embedding-3-large",
    "prebuilt-analyzer-completion": "gpt-5.2",
    "prebuilt-analyzer-completion-mini": "gpt-5.2",
    "prebuilt-analyzer-embedding": "text-embedding-3-large",
}
# The environment azd gives the hook; the app's and CU's URLs are filled in per test (loopback).
BASE_VALUES = {
    "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION_ID,
    "AZURE_FUNCTION_APP_NAME": "func-api-abc",
    "AZURE_RESOURCE_GROUP": "rg-dev",
    "AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME": "evgst-abc",
    "AZURE_EVENT_GRID_DEAD_LETTER_CONTAINER_ID": DEAD_LETTERS,
    "INTAKE_CONTAINER": "intake",
    "CONTENT_UNDERSTANDING_SET_DEFAULTS": "true",
    # ARM's string() of an object: compact JSON.
    "CONTENT_UNDERSTANDING_MODEL_DEPLOYMENTS": json.dumps(MODEL_DEPLOYMENTS, separators=(",", ":")),
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Azure:
    """The app's /api/health and Content Understanding's /defaults, on 127.0.0.1."""

    url: str = ""
    defaults_status: int = 200
    requests: list[Recorded] = field(default_factory=list)

    def values(self, **overrides: str) -> dict[str, str]:
        return {
            **BASE_VALUES,
            "AZURE_FUNCTION_APP_URL": self.url,
            "AZURE_AI_SERVICES_ENDPOINT": f"{self.url}/",
            **overrides,
        }

    def patches(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "PATCH"]


@pytest.fixture
def azure() -> Iterator[Azure]:
    state = Azure()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.requests.append(
                Recorded(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            )

        def do_GET(self) -> None:
            self._record()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_PATCH(self) -> None:
            self._record()
            body = json.dumps({"modelDeployments": MODEL_DEPLOYMENTS}).encode()
            self.send_response(state.defaults_status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# One stand-in program for az, azd and curl: it logs its argv and answers from FAKE_* variables.
FAKE_TOOL = """\
import json, os, sys
from pathlib import Path

tool, args = Path(sys.argv[0]).name, sys.argv[1:]
state = Path(os.environ["FAKE_STATE"])
with (state / "calls.jsonl").open("a") as log:
    log.write(json.dumps([tool, *args]) + "\\n")

def count(kind):
    counter = state / kind
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    return n

if tool == "azd" and args[:2] == ["env", "get-value"]:
    values = json.loads(os.environ.get("FAKE_AZD_VALUES", "{}"))
    if args[2] not in values:
        sys.exit("ERROR: key '%s' not found in the environment values" % args[2])
    print(values[args[2]])
elif tool == "az" and args[:3] == ["functionapp", "keys", "list"]:
    if count("keys") >= int(os.environ["FAKE_KEY_FROM_CALL"]):
        print(os.environ["FAKE_KEY"])
elif tool == "az" and args[:2] == ["account", "get-access-token"]:
    print(os.environ["FAKE_TOKEN"])
elif tool == "az" and args[:4] == ["eventgrid", "system-topic", "event-subscription", "create"]:
    if count("create") < int(os.environ["FAKE_CREATE_SUCCEEDS_AT"]):
        endpoint = args[args.index("--endpoint") + 1]
        sys.exit("ERROR: Webhook validation handshake failed for " + endpoint)
"""


@dataclass
class HookRun:
    returncode: int
    stdout: str
    stderr: str
    calls: list[list[str]]

    def calls_of(self, *prefix: str) -> list[list[str]]:
        return [call for call in self.calls if call[: len(prefix)] == list(prefix)]


def run_hook(
    tmp_path: Path,
    *,
    exported: dict[str, str] | None = None,
    azd_values: dict[str, str] | None = None,
    key_from_call: int = 1,
    create_succeeds_at: int = 1,
    attempts: int = 5,
    tools: tuple[str, ...] = ("az", "azd"),
) -> HookRun:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for tool in tools:
        program = bin_dir / tool
        program.write_text(f"#!{sys.executable}\n{FAKE_TOOL}", encoding="utf-8")
        program.chmod(0o755)
    env: dict[str, Any] = {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp_path),
        "FAKE_STATE": str(state),
        "FAKE_KEY": KEY,
        "FAKE_TOKEN": TOKEN,
        "FAKE_KEY_FROM_CALL": str(key_from_call),
        "FAKE_CREATE_SUCCEEDS_AT": str(create_succeeds_at),
        "FAKE_AZD_VALUES": json.dumps(azd_values or {}),
        "POSTDEPLOY_ATTEMPTS": str(attempts),
        "POSTDEPLOY_WAIT_SECONDS": "0",
        **(exported or {}),
    }
    done = subprocess.run(
        ["/bin/sh", str(HOOK)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    log = state / "calls.jsonl"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return HookRun(done.returncode, done.stdout, done.stderr, calls)


def option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def test_the_hook_subscribes_blob_intake_to_new_intake_blobs(tmp_path: Path, azure: Azure) -> None:
    # The key appears on the second look; Event Grid's handshake fails once, then succeeds.
    run = run_hook(tmp_path, exported=azure.values(), key_from_call=2, create_succeeds_at=2)

    assert run.returncode == 0, run.stderr
    assert len(run.calls_of("az", "functionapp", "keys", "list")) == 2
    keys = run.calls_of("az", "functionapp", "keys", "list")[0]
    assert (option(keys, "--name"), option(keys, "--resource-group")) == ("func-api-abc", "rg-dev")
    assert option(keys, "--query") == "systemKeys.blobs_extension"
    creates = run.calls_of("az", "eventgrid", "system-topic", "event-subscription", "create")
    assert len(creates) == 2
    create = creates[-1]
    assert option(create, "--endpoint") == (
        f"{azure.url}/runtime/webhooks/blobs?functionName=Host.Functions.blob_intake&code={KEY}"
    )
    assert option(create, "--endpoint-type") == "webhook"
    assert option(create, "--system-topic-name") == "evgst-abc"
    assert option(create, "--resource-group") == "rg-dev"
    assert option(create, "--included-event-types") == "Microsoft.Storage.BlobCreated"
    assert option(create, "--subject-begins-with") == "/blobServices/default/containers/intake/"
    # The app was woken (twice, once per look for the key) through a route that needs no key.
    assert [r.path for r in azure.requests if r.method == "GET"] == ["/api/health", "/api/health"]


def test_every_az_call_names_azds_subscription(tmp_path: Path, azure: Azure) -> None:
    run = run_hook(tmp_path, exported=azure.values())
    assert run.returncode == 0, run.stderr
    az_calls = run.calls_of("az")
    # keys list, event subscription create, access token: each would otherwise use az's default.
    assert len(az_calls) == 3
    for call in az_calls:
        assert option(call, "--subscription") == SUBSCRIPTION_ID, call


def test_undeliverable_events_are_retried_then_dead_lettered(tmp_path: Path, azure: Azure) -> None:
    run = run_hook(tmp_path, exported=azure.values())
    assert run.returncode == 0, run.stderr
    (create,) = run.calls_of("az", "eventgrid", "system-topic", "event-subscription", "create")
    assert option(create, "--max-delivery-attempts") == "10"
    assert option(create, "--event-ttl") == "1440"
    # Shared keys are disabled: Event Grid writes dead letters as the topic's own identity.
    assert option(create, "--deadletter-identity") == "systemassigned"
    assert option(create, "--deadletter-identity-endpoint") == DEAD_LETTERS
    assert "--deadletter-endpoint" not in create


def test_the_hook_sets_the_content_understanding_defaults(tmp_path: Path, azure: Azure) -> None:
    run = run_hook(tmp_path, exported=azure.values())

    assert run.returncode == 0, run.stderr
    (token_call,) = run.calls_of("az", "account", "get-access-token")
    assert option(token_call, "--resource") == "https://cognitiveservices.azure.com"
    (patch,) = azure.patches()
    assert patch.path == "/contentunderstanding/defaults?api-version=2025-11-01"
    assert patch.headers["Authorization"] == f"Bearer {TOKEN}"
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    # Model names and the prebuilt analyzers' aliases, exactly as the app setting has them.
    assert json.loads(patch.body) == {"modelDeployments": MODEL_DEPLOYMENTS}
    assert "Content Understanding defaults set" in run.stdout
    # The token never shows, neither in the output nor on a command line.
    assert TOKEN not in run.stdout + run.stderr
    assert not any(TOKEN in argument for call in run.calls for argument in call)


def test_defaults_of_an_existing_account_are_left_alone(tmp_path: Path, azure: Azure) -> None:
    run = run_hook(tmp_path, exported=azure.values(CONTENT_UNDERSTANDING_SET_DEFAULTS="false"))
    assert run.returncode == 0, run.stderr
    assert not run.calls_of("az", "account", "get-access-token")
    assert not azure.patches()
    assert "left as they are" in run.stdout


@pytest.mark.parametrize("status", [401, 403])
def test_a_deployer_without_data_access_is_warned_not_failed(
    tmp_path: Path, azure: Azure, status: int
) -> None:
    azure.defaults_status = status
    run = run_hook(tmp_path, exported=azure.values())
    assert run.returncode == 0, run.stderr
    assert len(azure.patches()) == 1
    assert f"not allowed to set the Content Understanding defaults (HTTP {status})" in run.stderr
    assert TOKEN not in run.stdout + run.stderr


def test_defaults_that_cannot_be_set_fail_after_three_tries(tmp_path: Path, azure: Azure) -> None:
    azure.defaults_status = 500
    run = run_hook(tmp_path, exported=azure.values())
    assert run.returncode == 1
    assert len(azure.patches()) == 3
    assert "could not set the Content Understanding defaults (HTTP 500)" in run.stderr
    assert TOKEN not in run.stdout + run.stderr


def test_the_key_is_never_printed(tmp_path: Path, azure: Azure) -> None:
    run = run_hook(tmp_path, exported=azure.values(), create_succeeds_at=2)
    assert run.returncode == 0
    assert "Webhook validation handshake failed" in run.stderr  # az's error is shown...
    assert "code=REDACTED" in run.stderr  # ...with the key hidden
    assert KEY not in run.stdout + run.stderr


def test_values_come_from_azd_when_the_hook_runs_by_hand(tmp_path: Path, azure: Azure) -> None:
    values = azure.values()
    run = run_hook(tmp_path, azd_values=values)
    assert run.returncode == 0, run.stderr
    asked = {call[3] for call in run.calls_of("azd", "env", "get-value")}
    assert asked == set(values)
    assert len(run.calls_of("az", "eventgrid", "system-topic", "event-subscription", "create")) == 1
    assert len(azure.patches()) == 1


def test_a_missing_environment_value_is_named(tmp_path: Path, azure: Azure) -> None:
    partial = {name: value for name, value in azure.values().items() if name != "AZURE_SUBSCRIPTION_ID"}
    run = run_hook(tmp_path, exported=partial)
    assert run.returncode == 1
    assert "AZURE_SUBSCRIPTION_ID is not set" in run.stderr
    assert "azd provision" in run.stderr
    assert not run.calls_of("az")


def test_a_key_that_never_appears_fails_after_the_attempts(tmp_path: Path, azure: Azure) -> None:
    run = run_hook(tmp_path, exported=azure.values(), key_from_call=99, attempts=3)
    assert run.returncode == 1
    assert "no blobs_extension key after 3 attempts" in run.stderr
    assert len(run.calls_of("az", "functionapp", "keys", "list")) == 3
    assert not run.calls_of("az", "eventgrid")


def test_a_subscription_that_cannot_be_created_fails_after_three_tries(tmp_path: Path, azure: Azure) -> None:
    run = run_hook(tmp_path, exported=azure.values(), create_succeeds_at=99)
    assert run.returncode == 1
    assert "could not create the Event Grid subscription" in run.stderr
    assert len(run.calls_of("az", "eventgrid", "system-topic", "event-subscription", "create")) == 3
    assert KEY not in run.stdout + run.stderr
    assert not azure.patches()


def test_a_missing_cli_is_reported(tmp_path: Path, azure: Azure) -> None:
    run = run_hook(tmp_path, exported=azure.values(), tools=("azd",))
    assert run.returncode == 1
    assert "az is not installed" in run.stderr


def test_the_powershell_hook_says_the_same_as_the_shell_hook() -> None:
    shell = HOOK.read_text(encoding="utf-8")
    powershell = (REPO_ROOT / "scripts" / "postdeploy.ps1").read_text(encoding="utf-8")
    for fact in (
        "blob_intake",
        "intake-blob-created",
        "systemKeys.blobs_extension",
        "Microsoft.Storage.BlobCreated",
        "/runtime/webhooks/blobs?functionName=Host.Functions.",
        "/blobServices/default/containers/",
        "POSTDEPLOY_ATTEMPTS",
        "POSTDEPLOY_WAIT_SECONDS",
        "--max-delivery-attempts",
        "--event-ttl",
        "--deadletter-identity systemassigned",
        "--deadletter-identity-endpoint",
        "/contentunderstanding/defaults?api-version=",
        "application/merge-patch+json",
        "https://cognitiveservices.azure.com",
        "2025-11-01",
        "1440",
        "not allowed to set the Content Understanding defaults",
    ):
        assert fact in shell, fact
        assert fact in powershell, fact
    read_by_shell = set(re.findall(r"\$\(value (\w+)\)", shell))
    assert read_by_shell == set(re.findall(r"Get-AzdValue '(\w+)'", powershell))
