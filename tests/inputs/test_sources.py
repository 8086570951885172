"""The input-source registry: each kind's rules, blob references as data, and a new kind plugged in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from azure.storage.blob import BlobProperties
from azure.storage.blob.aio import BlobServiceClient
from pydantic import BaseModel, ConfigDict

from core.errors import InputError
from core.jobs import InputSource
from core.settings import Settings
from inputs import sources
from inputs.destination import Destination
from inputs.ingest import ingest_input
from inputs.sources.base import ByteStream, SourceKind, write_stream
from inputs.sources.blob import BlobReference, parse_blob_reference
from tests.conftest import example_settings
from tests.support.blobs import read_blob

ALLOWED = ("intake", "references")


def settings(**changes: Any) -> Settings:
    return replace(Settings.from_env(example_settings()), **changes)


def test_the_registry_lists_each_kind_once() -> None:
    keys = [kind.key for kind in sources.SOURCE_KINDS]
    assert keys == ["staged", "blob", "url"]
    assert sources.request_keys() == ("blob", "url")  # users never write a staged source
    assert [model.__name__ for model in sources.request_models()] == ["BlobSource", "UrlSource"]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("intake/a.pdf", BlobReference("intake", "a.pdf")),
        ("references/kb/2024/policy.pdf", BlobReference("references", "kb/2024/policy.pdf")),
        ("intake/100%.pdf", BlobReference("intake", "100%.pdf")),
        ("intake/a b (1).pdf", BlobReference("intake", "a b (1).pdf")),
    ],
)
def test_a_plain_blob_reference_is_parsed_into_container_and_name(
    reference: str, expected: BlobReference
) -> None:
    assert parse_blob_reference(reference, ALLOWED) == expected
    assert str(expected) == reference


@pytest.mark.parametrize(
    "reference",
    [
        "intake",
        "intake/",
        "intake/folder/",
        "grants/job-1/blob-0.json",
        "Intake/a.pdf",
        "intake/../grants/job-1/x.json",
        "intake/_a/../../azure-webjobs-secrets/app/host.json",
        "intake/./a.pdf",
        "intake//a.pdf",
        "/intake/a.pdf",
        "intake/a\\..\\b.pdf",
        "intake/a\x00.pdf",
        "intake/a\n.pdf",
        "intake/%2e%2e/grants/x.json",
        "intake/%2E%2E%2Fgrants%2Fx.json",
        "intake/%252e%252e/grants/x.json",
        "intake/a%5cb.pdf",
        "intake/a%00.pdf",
        "intake%2f..%2fgrants/x.json",
        "%69ntake/a.pdf",
        # Compatibility forms: fullwidth dots and solidus become "../" under NFKC.
        "intake/\uff0e\uff0e/grants/x.json",
        "intake/a\uff0f\uff0e\uff0e\uff0f\uff0e\uff0e\uff0fgrants/x.json",
        # Longer than a blob name can be: storage would refuse it (a 400 that was a 500).
        "intake/" + "a" * 1025,
        "intake/" + "a/" * 254 + "b",
    ],
)
def test_a_blob_reference_that_could_leave_its_container_is_refused(reference: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_blob_reference(reference, ALLOWED)
    assert caught.value.code == "BlobNotAllowed"
    assert caught.value.input_name == reference


def test_a_url_is_kept_without_its_fragment() -> None:
    # A fragment is never sent to the server, and it is where OAuth puts tokens: it is not stored.
    given = {"url": "https://example.com/a.pdf?v=2#access_token=abc"}
    source = sources.source_from_request(given, settings())
    assert source == {"url": "https://example.com/a.pdf?v=2"}


def test_request_values_are_checked_by_their_kind() -> None:
    configured = settings()
    assert sources.source_from_request({"blob": "intake/a.pdf"}, configured) == {"blob": "intake/a.pdf"}
    with pytest.raises(InputError, match="containers intake, references"):
        sources.source_from_request({"blob": "inputs/job-1/0-a.pdf"}, configured)
    strict = settings(allow_local_urls=False)
    with pytest.raises(InputError) as caught:
        sources.source_from_request({"url": "https://10.0.0.1/a.pdf"}, strict)
    assert caught.value.code == "UrlNotAllowed"
    assert sources.source_from_request({"url": "https://example.com/a.pdf"}, strict) == {
        "url": "https://example.com/a.pdf"
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("intake/a.pdf", "must be an object"),
        ({}, "exactly one of"),
        ({"blob": "intake/a.pdf", "url": "https://example.com/a.pdf"}, "exactly one of"),
        ({"blob": "intake/a.pdf", "colour": "red"}, "unknown fields: colour"),
        ({"blob": ""}, "non-empty string"),
        ({"url": 7}, "non-empty string"),
        ({"staged": "job-1/x-a.pdf"}, "needs name"),
    ],
)
def test_a_source_from_history_is_checked(value: object, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        sources.parse_source(value)
    assert caught.value.code == "InvalidSource"


def test_display_names_come_from_the_source_or_its_kind() -> None:
    assert sources.display_name({"blob": "intake/drop/Invoice 7.pdf"}) == "Invoice 7.pdf"
    assert sources.display_name({"url": "https://example.com/files/a%20b.pdf?x=1"}) == "a b.pdf"
    assert sources.display_name({"url": "https://example.com/"}) == "download"
    assert sources.display_name({"staged": "job-1/f00-a.pdf", "name": "a:b.pdf"}) == "a_b.pdf"
    assert sources.display_name({"url": "https://example.com/a.pdf", "name": "given.pdf"}) == "given.pdf"
    with pytest.raises(InputError):
        sources.display_name({"url": "https://example.com/a.pdf", "name": "../x.pdf"})


@pytest.mark.parametrize(
    "source",
    [
        {"blob": "intake/drop/Invoice 7.pdf"},
        {"url": "https://example.com/r%C3%A9sum%C3%A9%3F.pdf"},
        {"url": "https://example.com/CON.txt"},
        {"blob": "intake/" + "x" * 150 + ".pdf"},
        {"url": "https://example.com/"},
    ],
)
def test_a_named_source_keeps_the_name_its_kind_gives(source: InputSource) -> None:
    named = sources.named(source)
    assert named == {**source, "name": sources.display_name(source)}
    assert sources.display_name(named) == sources.display_name(source)  # names are stable
    assert sources.named(named) == named


class MemorySource(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    memory: str


class MemoryKind:
    """A made-up kind, as a newcomer would write one: documents held in a dict."""

    key = "memory"
    request_model: type[BaseModel] | None = MemorySource
    required_fields: frozenset[str] = frozenset()

    def __init__(self, documents: dict[str, bytes]) -> None:
        self.documents = documents
        self.released: list[str] = []

    def from_request(self, value: str, settings: Settings) -> InputSource:
        if value not in self.documents:
            raise InputError(f"No document {value!r}", code="InvalidInputs")
        return {"memory": value}

    def default_name(self, source: InputSource) -> str:
        return f"{source['memory']}.txt"

    async def check_available(self, source: InputSource) -> None:
        """Always there."""

    async def ingest(self, source: InputSource, destination: Destination) -> BlobProperties:
        data = self.documents[source["memory"]]

        async def chunks() -> AsyncIterator[bytes]:
            yield data

        return await write_stream(ByteStream(size=len(data), chunks=chunks()), destination)

    async def release(self, source: InputSource) -> None:
        self.released.append(source["memory"])


@pytest.mark.integration
async def test_a_new_kind_needs_only_its_module_and_a_registry_entry(
    storage: BlobServiceClient, job_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = MemoryKind({"notes": b"# Notes\n\nOwner: Ada\n"})
    registered: SourceKind = kind  # it satisfies the protocol
    monkeypatch.setattr(sources, "SOURCE_KINDS", (*sources.SOURCE_KINDS, registered))
    monkeypatch.setattr(sources, "_BY_KEY", {**sources._BY_KEY, kind.key: registered})

    source = sources.named(sources.source_from_request({"memory": "notes"}, settings()))
    await sources.check_available([source])
    ingested = await ingest_input(job_id, 0, source)
    again = await ingest_input(job_id, 0, source)  # idempotent: the same blob, released again

    assert source == {"memory": "notes", "name": "notes.txt"}
    assert (ingested.blob, ingested.content_type) == (f"{job_id}/0-notes.txt", "text/plain")
    assert again == ingested
    assert await read_blob(storage, "inputs", ingested.blob) == kind.documents["notes"]
    assert kind.released == ["notes"]
    assert sources.request_keys() == ("blob", "url", "memory")
