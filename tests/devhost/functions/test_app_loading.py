"""Loading function_app.py and host.json; settings files."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest

from devhost import AppLoadError
from devhost.functions.app_loader import load_app
from devhost.functions.config import load_host_config, load_settings_file
from tests.devhost.conftest import APP_DIR


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_app puts the app directory on sys.path (DevHost removes it when it stops)."""
    monkeypatch.setattr(sys, "path", list(sys.path))


QUEUE_APP = """
import azure.functions as func
import azure.durable_functions as df

app = df.DFApp()

@app.queue_trigger(arg_name="message", queue_name="work", connection="AzureWebJobsStorage")
def tick(message: func.QueueMessage) -> None:
    pass

@app.activity_trigger(input_name="x")
def act(x: int) -> int:
    return x
"""


def test_the_same_app_loads_twice_in_one_process() -> None:
    first, second = load_app(APP_DIR), load_app(APP_DIR)
    assert first.module is not second.module
    assert sorted(first.functions) == sorted(second.functions)
    assert first.find("orchestrationTrigger", "ORCH") is first.functions["orch"]


def test_unsupported_triggers_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "function_app.py").write_text(QUEUE_APP, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="devhost"):
        app = load_app(tmp_path)
    assert sorted(app.functions) == ["act"]
    assert app.skipped == {"tick": "devhost does not run 'queueTrigger' functions"}
    assert "devhost skips function 'tick'" in caplog.text


def test_load_errors_name_the_culprit(tmp_path: Path) -> None:
    with pytest.raises(AppLoadError, match=r"no function_app\.py in"):
        load_app(tmp_path)
    (tmp_path / "function_app.py").write_text("import not_a_module_anywhere\n", encoding="utf-8")
    with pytest.raises(AppLoadError, match="ModuleNotFoundError: No module named 'not_a_module_anywhere'"):
        load_app(tmp_path)
    (tmp_path / "function_app.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(AppLoadError, match="must define exactly one FunctionApp"):
        load_app(tmp_path)


def test_host_json(tmp_path: Path) -> None:
    config = load_host_config(APP_DIR, {"DEVHOST_TEST_HUB": "hub1"})
    assert (config.hub_name, config.max_concurrent_activities, config.max_concurrent_orchestrators) == (
        "hub1",
        3,
        2,
    )
    assert config.route_prefix == "api"
    with pytest.raises(
        AppLoadError, match="hubName refers to app setting DEVHOST_TEST_HUB, which is not set"
    ):
        load_host_config(APP_DIR, {})
    (tmp_path / "host.json").write_text(
        json.dumps({"extensions": {"durableTask": {"maxConcurrentActivityFunctions": 0}}})
    )
    with pytest.raises(
        AppLoadError, match="maxConcurrentActivityFunctions must be a positive integer, got 0"
    ):
        load_host_config(tmp_path, {})
    (tmp_path / "host.json").write_text("{")
    with pytest.raises(AppLoadError, match=r"host\.json is not valid JSON"):
        load_host_config(tmp_path, {})


def test_settings_files(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"Values": {"A": "1", "B": 2, "C": None}}))
    assert load_settings_file(path) == {"A": "1", "B": "2", "C": ""}
    path.write_text(json.dumps({"IsEncrypted": False}))
    with pytest.raises(AppLoadError, match='has no "Values" object'):
        load_settings_file(path)
    with pytest.raises(AppLoadError, match="cannot read settings file"):
        load_settings_file(tmp_path / "missing.json")
