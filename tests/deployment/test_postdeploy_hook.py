"""scripts/postdeploy.sh, run for real by /bin/sh against stand-ins for az, azd and curl.

The Azure CLIs cannot run here (no Azure, no network), so each is a small program on PATH that
records its arguments and answers as the real one does: `az functionapp keys list --query ...
--output tsv` prints the key or nothing, a failing `az` prints `ERROR: ...` and exits 1, and
`azd env get-value NAME` prints the value or fails. PowerShell is not installable here, so
postdeploy.ps1 is only checked to say the same things as the shell script.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.azurite import REPO_ROOT

HOOK = REPO_ROOT / "scripts" / "postdeploy.sh"
KEY = "s3cr3t-blobs-extension-key=="
APP_URL = "https://func-api-abc.azurewebsites.net"
AZD_VALUES = {
    "AZURE_FUNCTION_APP_NAME": "func-api-abc",
    "AZURE_FUNCTION_APP_URL": APP_URL,
    "AZURE_RESOURCE_GROUP": "rg-dev",
    "AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME": "evgst-abc",
    "INTAKE_CONTAINER": "intake",
}

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
    tools: tuple[str, ...] = ("az", "azd", "curl"),
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


def test_the_hook_subscribes_blob_intake_to_new_intake_blobs(tmp_path: Path) -> None:
    # The key appears on the second look; Event Grid's handshake fails once, then succeeds.
    run = run_hook(tmp_path, exported=AZD_VALUES, key_from_call=2, create_succeeds_at=2)

    assert run.returncode == 0, run.stderr
    assert len(run.calls_of("az", "functionapp", "keys", "list")) == 2
    keys = run.calls_of("az", "functionapp", "keys", "list")[0]
    assert (option(keys, "--name"), option(keys, "--resource-group")) == ("func-api-abc", "rg-dev")
    assert option(keys, "--query") == "systemKeys.blobs_extension"
    creates = run.calls_of("az", "eventgrid", "system-topic", "event-subscription", "create")
    assert len(creates) == 2
    create = creates[-1]
    assert option(create, "--endpoint") == (
        f"{APP_URL}/runtime/webhooks/blobs?functionName=Host.Functions.blob_intake&code={KEY}"
    )
    assert option(create, "--endpoint-type") == "webhook"
    assert option(create, "--system-topic-name") == "evgst-abc"
    assert option(create, "--resource-group") == "rg-dev"
    assert option(create, "--included-event-types") == "Microsoft.Storage.BlobCreated"
    assert option(create, "--subject-begins-with") == "/blobServices/default/containers/intake/"
    # The app was woken through a route that needs no key.
    assert [
        "curl",
        "--silent",
        "--output",
        "/dev/null",
        "--max-time",
        "30",
        f"{APP_URL}/api/health",
    ] in run.calls


def test_the_key_is_never_printed(tmp_path: Path) -> None:
    run = run_hook(tmp_path, exported=AZD_VALUES, create_succeeds_at=2)
    assert run.returncode == 0
    assert "Webhook validation handshake failed" in run.stderr  # az's error is shown...
    assert "code=REDACTED" in run.stderr  # ...with the key hidden
    assert KEY not in run.stdout + run.stderr


def test_values_come_from_azd_when_the_hook_runs_by_hand(tmp_path: Path) -> None:
    run = run_hook(tmp_path, azd_values=AZD_VALUES)
    assert run.returncode == 0, run.stderr
    asked = {call[3] for call in run.calls_of("azd", "env", "get-value")}
    assert asked == set(AZD_VALUES)
    assert len(run.calls_of("az", "eventgrid", "system-topic", "event-subscription", "create")) == 1


def test_a_missing_environment_value_is_named(tmp_path: Path) -> None:
    partial = {name: value for name, value in AZD_VALUES.items() if name != "AZURE_RESOURCE_GROUP"}
    run = run_hook(tmp_path, exported=partial)
    assert run.returncode == 1
    assert "AZURE_RESOURCE_GROUP is not set" in run.stderr
    assert "azd provision" in run.stderr
    assert not run.calls_of("az")


def test_a_key_that_never_appears_fails_after_the_attempts(tmp_path: Path) -> None:
    run = run_hook(tmp_path, exported=AZD_VALUES, key_from_call=99, attempts=3)
    assert run.returncode == 1
    assert "no blobs_extension key after 3 attempts" in run.stderr
    assert len(run.calls_of("az", "functionapp", "keys", "list")) == 3
    assert not run.calls_of("az", "eventgrid")


def test_a_subscription_that_cannot_be_created_fails_after_three_tries(tmp_path: Path) -> None:
    run = run_hook(tmp_path, exported=AZD_VALUES, create_succeeds_at=99)
    assert run.returncode == 1
    assert "could not create the Event Grid subscription" in run.stderr
    assert len(run.calls_of("az", "eventgrid", "system-topic", "event-subscription", "create")) == 3
    assert KEY not in run.stdout + run.stderr


def test_a_missing_cli_is_reported(tmp_path: Path) -> None:
    run = run_hook(tmp_path, exported=AZD_VALUES, tools=("azd", "curl"))
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
    ):
        assert fact in shell, fact
        assert fact in powershell, fact
    assert set(re.findall(r"\$\(value (\w+)\)", shell)) == set(
        re.findall(r"Get-AzdValue '(\w+)'", powershell)
    )
