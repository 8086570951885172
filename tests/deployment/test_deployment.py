"""The app as `azd up` deploys it: its settings in Azure, azure.yaml, host.json, and the package.

* Every setting the app reads (core/settings.py) and every setting of
  local.settings.example.json has an Azure value in infra/main.bicep, unless it is listed below
  with the reason it must not have one; fixed values match the local ones unless listed too.
* .funcignore keeps everything but the app out of the package, and the packaged code imports
  nothing that is not packaged or installed from requirements.txt.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pathspec
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from core import settings as settings_module
from tests.conftest import example_settings
from tests.support import bicep
from tests.support.azurite import REPO_ROOT

# Local settings that Azure must not get, and why.
LOCAL_ONLY = {
    "FUNCTIONS_WORKER_RUNTIME": "Flex Consumption takes the language from functionAppConfig.runtime",
    "AzureWebJobsStorage": "a connection string; Azure uses AzureWebJobsStorage__* with the identity",
    "DocumentStorage": "a connection string; Azure uses DocumentStorage__* with the identity",
    "CONTENT_UNDERSTANDING_KEY": "absent on purpose: Content Understanding is called with Entra ID",
}
# Settings the app reads (with a default) that Azure must not set, and why.
NOT_IN_AZURE = {
    "CONTENT_UNDERSTANDING_PRO_MODE_API_VERSION": (
        "pro mode's 2025-05-01-preview is retired in Azure: the app refuses this setting with a message"
        " saying so (agentic jobs replaced combined ones), so Azure must never set it"
    ),
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": (
        "the Functions host's own setting, left unset so that the host keeps its 100 MiB body limit,"
        " which MAX_JOB_BYTES is checked against (docs/settings.md, Upload size)"
    ),
}
# Azure settings with no local counterpart, and why.
AZURE_ONLY = {
    "AzureWebJobsStorage__blobServiceUri": "identity-based host storage",
    "AzureWebJobsStorage__queueServiceUri": "identity-based host storage",
    "AzureWebJobsStorage__tableServiceUri": "identity-based host storage",
    "AzureWebJobsStorage__credential": "identity-based host storage",
    "AzureWebJobsStorage__clientId": "identity-based host storage",
    "DocumentStorage__blobServiceUri": "identity-based document storage",
    "DocumentStorage__queueServiceUri": "the blob trigger needs the queue service too",
    "DocumentStorage__credential": "identity-based document storage",
    "DocumentStorage__clientId": "identity-based document storage",
    "AZURE_CLIENT_ID": "DefaultAzureCredential's choice of the user-assigned identity",
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__maxQueuePollingInterval": (
        "Flex Consumption guidance for the Azure Storage provider; host.json keeps the default locally"
    ),
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__type": (
        "the Durable Task Scheduler backend (durableBackend); locally devhost, or Core Tools on Azurite"
    ),
    "AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName": (
        "the Durable Task Scheduler backend: which setting holds its connection string"
    ),
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": "the scheduler's endpoint and the identity to use",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "telemetry (none locally: nothing is exported)",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "telemetry as the managed identity",
    "PYTHON_ENABLE_OPENTELEMETRY": "the Python worker passes each invocation's trace context to the app",
}
# Settings whose Azure value is meant to differ from the local one.
AZURE_VALUES = {"ALLOW_LOCAL_URLS": "false"}

# What the deployment package may contain at its top level: the Function App and nothing else.
RUNTIME_ENTRIES = {
    "function_app.py",
    "host.json",
    "requirements.txt",
    ".funcignore",
    "activities",
    "api",
    "content_understanding",
    "core",
    "inputs",
    "orchestrators",
    "storage",
    "telemetry",
    "triggers",
}
# Development-only folders and files that must never be deployed (DESIGN.md, Layout).
NOT_DEPLOYED = [
    "devhost/",
    "emulators/",
    "bench/",
    "tests/",
    "scripts/",
    "samples/",
    "infra/",
    "node_modules/",
    ".venv/",
    ".azure/",
    "local.settings.json",
    "local.settings.example.json",
]


# The variables of main.bicep holding each Durable backend's own settings (durableBackend).
BACKEND_SETTINGS = {"DurableTaskScheduler": "schedulerSettings", "AzureStorage": "azureStorageSettings"}


def azure_settings(backend: str | None = None) -> dict[str, Any]:
    """The app settings in Azure with ``backend``'s settings; with None, every backend's (all names)."""
    settings: dict[str, Any] = dict(bicep.variable(bicep.MAIN, "appSettings"))
    for name, variable in BACKEND_SETTINGS.items():
        if backend in (None, name):
            settings.update(bicep.variable(bicep.MAIN, variable))
    return settings


def settings_read_by_the_app() -> set[str]:
    """The names core/settings.py reads, as ``reader.<kind>(NAME, ...)`` calls.

    Names are string literals, module constants (``DOCUMENT_STORAGE``) or f-strings of those.
    """
    tree = ast.parse((REPO_ROOT / "core" / "settings.py").read_text(encoding="utf-8"))
    constants = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }

    def text(node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return constants[node.id]
        if isinstance(node, ast.FormattedValue):
            return text(node.value)
        if isinstance(node, ast.JoinedStr):
            return "".join(text(part) for part in node.values)
        raise AssertionError(f"cannot read a setting name from {ast.dump(node)}")

    return {
        text(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "reader"
        and node.args
    }


# --- settings -------------------------------------------------------------------------------------


def test_the_app_settings_reader_is_understood() -> None:
    names = settings_read_by_the_app()
    # A few anchors, so that a broken extraction cannot pass vacuously.
    assert {"DocumentStorage", "DocumentStorage__blobServiceUri", "CONTENT_UNDERSTANDING_ENDPOINT"} <= names
    assert len(names) >= 20


def test_every_setting_the_app_reads_has_an_azure_value() -> None:
    missing = settings_read_by_the_app() - set(azure_settings()) - set(LOCAL_ONLY) - set(NOT_IN_AZURE)
    assert not missing, f"add these to appSettings in infra/main.bicep (or to LOCAL_ONLY): {sorted(missing)}"


def test_every_example_setting_has_an_azure_value() -> None:
    missing = set(example_settings()) - set(azure_settings()) - set(LOCAL_ONLY) - set(NOT_IN_AZURE)
    assert not missing, f"add these to appSettings in infra/main.bicep (or to LOCAL_ONLY): {sorted(missing)}"


def test_azure_has_no_setting_that_nothing_explains() -> None:
    unknown = set(azure_settings()) - set(example_settings()) - settings_read_by_the_app() - set(AZURE_ONLY)
    assert not unknown, f"a typo, or a setting to add to local.settings.example.json: {sorted(unknown)}"


def test_local_only_settings_are_absent_in_azure() -> None:
    assert not set(LOCAL_ONLY) & set(azure_settings())


def test_the_retired_pro_mode_version_is_nowhere_in_infra() -> None:
    # The app reads the setting only to refuse it; Azure neither sets nor offers it.
    assert set(NOT_IN_AZURE) <= settings_read_by_the_app()
    assert not set(NOT_IN_AZURE) & set(azure_settings())
    for path in bicep.INFRA.rglob("*"):
        if path.is_file():
            assert "2025-05-01-preview" not in path.read_text(encoding="utf-8"), path
    version = bicep.section(bicep.MAIN, "parameters")["contentUnderstandingApiVersion"]
    allowed = next(d["argument"] for d in version["decorators"] if d["type"] == "allowed")
    assert allowed == ["2025-11-01"]


def test_fixed_azure_values_match_the_local_ones() -> None:
    local = example_settings()
    checked = 0
    for name, value in azure_settings().items():
        fixed = bicep.literal(value, bicep.MAIN)
        if fixed is None or name not in local:
            continue
        checked += 1
        assert fixed == AZURE_VALUES.get(name, local[name]), name
    assert checked >= 20  # the containers, limits and polling settings at least


def test_azure_uses_identities_and_no_keys() -> None:
    settings = azure_settings()
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["DocumentStorage__credential"] == "managedidentity"
    assert settings["ALLOW_LOCAL_URLS"] == "false"
    for path in bicep.INFRA.rglob("*.bicep"):
        source = path.read_text(encoding="utf-8").lower()
        assert "listkeys(" not in source, path
        assert "accountkey=" not in source, path


def blob_triggers() -> Iterator[tuple[str, dict[str, ast.expr]]]:
    """(function name, blob_trigger keyword arguments) of each blob-triggered function in triggers/."""
    for path in sorted((REPO_ROOT / "triggers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            calls = {
                d.func.attr: d
                for d in node.decorator_list
                if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
            }
            if "blob_trigger" in calls:
                named = calls.get("function_name")
                name = ast.literal_eval(named.args[0]) if named else node.name
                yield (
                    name,
                    {keyword.arg: keyword.value for keyword in calls["blob_trigger"].keywords if keyword.arg},
                )


def test_the_blob_trigger_is_what_the_event_grid_subscription_targets() -> None:
    triggers = list(blob_triggers())
    hook = (REPO_ROOT / "scripts" / "postdeploy.sh").read_text(encoding="utf-8")
    (hooked_function,) = re.findall(r"^FUNCTION_NAME=(\w+)$", hook, flags=re.MULTILINE)
    by_name = dict(triggers)
    assert hooked_function in by_name, (
        f"the postdeploy hooks subscribe {hooked_function}, the app has {sorted(by_name)}"
    )
    trigger = by_name[hooked_function]
    # Flex Consumption supports only the Event Grid source; the subscription filters on the intake container.
    assert ast.unparse(trigger["source"]).endswith("EVENT_GRID")
    assert ast.literal_eval(trigger["path"]).startswith("%INTAKE_CONTAINER%/")
    connection = trigger["connection"]
    prefix = (
        getattr(settings_module, connection.id)
        if isinstance(connection, ast.Name)
        else ast.literal_eval(connection)
    )
    # An identity-based blob trigger connection needs the queue service URI besides the blob one.
    assert {f"{prefix}__blobServiceUri", f"{prefix}__queueServiceUri", f"{prefix}__credential"} <= set(
        azure_settings()
    )


# --- azure.yaml and host.json ---------------------------------------------------------------------


def test_azure_yaml_deploys_the_root_as_the_api_function_app() -> None:
    project = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text(encoding="utf-8"))
    assert project["services"] == {"api": {"project": ".", "language": "python", "host": "function"}}


@pytest.mark.parametrize("platform", ["posix", "windows"])
def test_the_postdeploy_hook_scripts_exist_and_are_executable(platform: str) -> None:
    project = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text(encoding="utf-8"))
    hook = project["hooks"]["postdeploy"][platform]
    script = REPO_ROOT / hook["run"]
    assert script.is_file()
    assert os.access(script, os.X_OK)
    assert hook["shell"] == {"posix": "sh", "windows": "pwsh"}[platform]
    assert hook["continueOnError"] is False


def test_host_json_follows_the_reference() -> None:
    host = json.loads((REPO_ROOT / "host.json").read_text(encoding="utf-8"))
    assert host["version"] == "2.0"
    # Flex Consumption needs bundle 4.x or later for non-C# apps; the Durable Task Scheduler
    # (storageProvider type azureManaged) needs 4.32.0 or later.
    assert host["extensionBundle"] == {
        "id": "Microsoft.Azure.Functions.ExtensionBundle",
        "version": "[4.32.0, 5.0.0)",
    }
    # The host's own telemetry through OpenTelemetry (supported on Flex Consumption).
    assert host["telemetryMode"] == "OpenTelemetry"
    durable = host["extensions"]["durableTask"]
    assert durable["hubName"] == "%TASKHUB_NAME%"
    assert durable["maxConcurrentActivityFunctions"] >= 1
    assert durable["maxConcurrentOrchestratorFunctions"] >= 1
    # Inputs and outputs carry blob names and claim-check references; telemetry must not get them.
    assert durable.get("traceInputsAndOutputs", False) is False
    assert durable.get("tracing", {}).get("traceInputsAndOutputs", False) is False


# --- the package ----------------------------------------------------------------------------------


def funcignore() -> pathspec.GitIgnoreSpec:
    """.funcignore's rules, with .gitignore's syntax and meaning (as Core Tools and azd read it)."""
    return pathspec.GitIgnoreSpec.from_lines(
        (REPO_ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
    )


def repository_files() -> list[str]:
    """Files in the repository (tracked, or new and not ignored), relative to its root."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listing.stdout.splitlines() if (REPO_ROOT / name).exists()]


def deployed_files() -> list[str]:
    ignored = funcignore()
    return [name for name in repository_files() if not ignored.match_file(name)]


@pytest.mark.parametrize("entry", NOT_DEPLOYED)
def test_funcignore_keeps_development_files_out(entry: str) -> None:
    path = entry + "any/file.py" if entry.endswith("/") else entry
    assert funcignore().match_file(path)


@pytest.mark.parametrize(
    "path",
    ["function_app.py", "host.json", "requirements.txt", "core/settings.py", "triggers/http_api.py"],
)
def test_funcignore_keeps_the_app(path: str) -> None:
    assert not funcignore().match_file(path)


def test_the_package_holds_only_the_app() -> None:
    top_level = {name.split("/")[0] for name in deployed_files()}
    assert "function_app.py" in top_level
    assert top_level <= RUNTIME_ENTRIES, (
        f"exclude in .funcignore, or add to RUNTIME_ENTRIES: {top_level - RUNTIME_ENTRIES}"
    )


def imported_modules(path: Path) -> Iterator[str]:
    """Absolute imports of one Python file (``import a.b`` and ``from a.b import c`` give ``a.b``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def required_distributions() -> set[str]:
    """requirements.txt and everything it pulls in, as installed here (extras left out)."""
    pending = [
        canonicalize_name(Requirement(line).name)
        for line in (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    ]
    closure: set[str] = set()
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(canonicalize_name(requirement.name))
    return closure


@functools.cache
def distributions_providing(module: str) -> set[str]:
    """The installed distributions whose files include the module (namespace packages aware)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} is not installed"
    locations = [spec.origin] if spec.origin else list(spec.submodule_search_locations or [])
    providers: set[str] = set()
    for name in _top_level_providers().get(module.split(".")[0], []):
        distribution = importlib.metadata.distribution(name)
        paths = {str(distribution.locate_file(file)) for file in distribution.files or []}
        if any(
            place in paths or any(path.startswith(place + os.sep) for path in paths) for place in locations
        ):
            providers.add(canonicalize_name(name))
    return providers


@functools.cache
def _top_level_providers() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def test_packaged_code_imports_only_packaged_code_and_requirements() -> None:
    deployed_packages = {name.split("/")[0] for name in deployed_files() if "/" in name} | {"function_app"}
    required = required_distributions()
    problems = []
    for name in deployed_files():
        if not name.endswith(".py"):
            continue
        for module in imported_modules(REPO_ROOT / name):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in deployed_packages:
                continue
            if (REPO_ROOT / top).is_dir() or (REPO_ROOT / f"{top}.py").is_file():
                problems.append(f"{name} imports {module}, which is not deployed")
            elif not distributions_providing(module) & required:
                problems.append(f"{name} imports {module}, which requirements.txt does not install")
    assert not problems, "\n".join(problems)


def test_the_import_check_sees_a_development_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from emulators.content_understanding import app\nimport yaml\n", encoding="utf-8")
    assert list(imported_modules(module)) == ["emulators.content_understanding", "yaml"]
    # PyYAML is installed (a dev requirement) but Azure would not install it.
    assert distributions_providing("yaml") == {"pyyaml"}
    assert "pyyaml" not in required_distributions()
    assert "pypdf" in required_distributions()  # agentic jobs' packaging needs it in Azure
    assert "azure-storage-blob" in distributions_providing("azure.storage.blob")
