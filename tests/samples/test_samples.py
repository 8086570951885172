"""The samples stay true: generated files match their generator, test.http names real routes and files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from api.analyzers import validate_definition
from api.openapi import openapi_document
from core.settings import Settings
from samples.make_samples import write_samples
from tests.conftest import example_settings

SAMPLES = Path("samples")


def test_the_committed_samples_are_what_the_generator_writes(tmp_path: Path) -> None:
    for folder in ("documents", "references"):
        (tmp_path / folder).mkdir()
    for written in write_samples(tmp_path):
        committed = SAMPLES / written.relative_to(tmp_path)
        assert committed.read_bytes() == written.read_bytes(), committed


def test_the_sample_analyzers_are_valid_for_their_api_versions() -> None:
    settings = Settings.from_env(example_settings())
    versions = {}
    for path in sorted((SAMPLES / "analyzers").glob("*.json")):
        spec = validate_definition(path.stem, json.loads(path.read_text(encoding="utf-8")), settings)
        versions[path.stem] = spec["apiVersion"]
    assert versions == {"invoice-contract-check": "2026-06-01-preview", "invoice-fields": "2025-11-01"}


def test_every_request_in_test_http_names_a_real_route_and_real_files() -> None:
    text = (SAMPLES / "test.http").read_text(encoding="utf-8")
    templates = [
        re.compile("^/api" + re.sub(r"\{[^}]+\}", "[^/?]+", path) + "$")
        for path in openapi_document()["paths"]
    ]
    requests = re.findall(r"^(GET|POST|PUT|DELETE) \{\{base\}\}(\S+)", text, flags=re.M)
    assert len(requests) >= 10
    for _method, path in requests:
        if path.startswith("/api/") and "{{" not in path:
            assert any(t.match(path.split("?")[0]) for t in templates), path
        else:
            assert path.startswith(("/runtime/webhooks/", "{{")), path
    for included in re.findall(r"^< (\S+)$", text, flags=re.M):
        assert (SAMPLES / included).is_file(), included
