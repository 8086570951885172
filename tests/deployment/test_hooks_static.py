"""Every `az` command in the azd hooks names the subscription (read statically, both shells).

When the Azure CLI's default subscription is not azd's, an `az` call without `--subscription`
looks in the wrong one: the hook then retries for minutes and fails `azd up`. The shell hook is
also run for real in test_postdeploy_hook.py; PowerShell cannot run here, so this static reading
is what covers postdeploy.ps1.
"""

from __future__ import annotations

import re

import pytest

from tests.support.azurite import REPO_ROOT

HOOKS = {
    "postdeploy.sh": "\\",  # line continuation character of each shell
    "postdeploy.ps1": "`",
}
# `az` where a command starts: line start, `$(`, PowerShell's `&`, or after until/if/then/do/|/;.
AZ_COMMAND = re.compile(r"(?:^|\$\(|&|\buntil\b|\bif\b|\bthen\b|\bdo\b|[|;])\s*az\s+([a-z][\w-]*)")


def logical_lines(source: str, continuation: str) -> list[str]:
    """Source lines with continued lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in source.splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith(continuation):
            pending += raw.rstrip()[: -len(continuation)] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    return lines


def az_commands(source: str, continuation: str) -> list[str]:
    """Each `az` command line of a script (joined across continuation lines)."""
    return [" ".join(line.split()) for line in logical_lines(source, continuation) if AZ_COMMAND.search(line)]


def without_subscription(source: str, continuation: str) -> list[str]:
    return [command for command in az_commands(source, continuation) if "--subscription" not in command]


@pytest.mark.parametrize(("hook", "continuation"), HOOKS.items())
def test_every_az_command_names_the_subscription(hook: str, continuation: str) -> None:
    source = (REPO_ROOT / "scripts" / hook).read_text(encoding="utf-8")
    commands = az_commands(source, continuation)
    # keys list, event subscription create, get-access-token: a vacuous pass is impossible.
    assert len(commands) == 3, commands
    assert without_subscription(source, continuation) == []


def test_a_planted_call_without_subscription_is_found() -> None:
    shell = (
        'for tool in az azd; do echo "$tool"; done\n'
        'key=$(az functionapp keys list --name "$APP" \\\n'
        '    --subscription "$SUB" --output tsv)\n'
        "until az eventgrid system-topic list \\\n"
        "    --output none; do sleep 1; done\n"
    )
    assert without_subscription(shell, "\\") == [
        "until az eventgrid system-topic list --output none; do sleep 1; done"
    ]
    powershell = "foreach ($tool in @('az', 'azd')) { }\n$out = & az account show `\n    --output tsv\n"
    assert without_subscription(powershell, "`") == ["$out = & az account show --output tsv"]
