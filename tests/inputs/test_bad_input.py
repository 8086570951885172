"""Bad input: each case is a permanent, typed error naming the input, and leaves no blob behind."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from azure.storage.blob.aio import BlobServiceClient

from core.errors import InputError, TransientError
from core.jobs import InputSource
from core.settings import get_settings
from inputs.ingest import ingest_input, stage_upload
from tests.support import documents
from tests.support.blobs import blob_names
from tests.support.loopback import FileServer

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Case:
    code: str
    named: str  # what the message must mention
    settings: tuple[tuple[str, str], ...] = ()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def assert_nothing_left(storage: BlobServiceClient, job_id: str) -> None:
    assert await blob_names(storage, "inputs", f"{job_id}/") == []
    assert await blob_names(storage, "staging", f"{job_id}/") == []


async def make_source(kind: str, storage: BlobServiceClient, files: FileServer, job_id: str) -> InputSource:
    """The bad input called ``kind``, set up for real (files served, blobs uploaded)."""
    intake = get_settings().storage.intake_container
    files.files.update(
        {"big.pdf": documents.pdf(padding=5000), "empty.pdf": b"", "tool.exe": documents.executable()}
    )
    await storage.get_blob_client(intake, f"{job_id}/tool.exe").upload_blob(documents.executable())
    await storage.get_blob_client(intake, f"{job_id}/empty.pdf").upload_blob(b"")
    sources: dict[str, InputSource] = {
        "url too large": {"url": files.url("files/big.pdf")},
        "url endless": {"url": files.url("endless.pdf")},
        "blob too large": {"blob": f"{intake}/{job_id}/tool.exe", "name": "big.pdf"},
        "url empty": {"url": files.url("files/empty.pdf")},
        "blob empty": {"blob": f"{intake}/{job_id}/empty.pdf"},
        "url wrong type": {"url": files.url("files/tool.exe")},
        "blob wrong type": {"blob": f"{intake}/{job_id}/tool.exe"},
        "name with path": {"url": files.url("files/big.pdf"), "name": "../../etc/passwd.pdf"},
        "unreachable url": {"url": f"http://127.0.0.1:{closed_port()}/a.pdf"},
        "missing url": {"url": files.url("files/missing.pdf")},
        "http url": {"url": files.url("files/big.pdf")},
        "loopback url": {"url": files.url("files/big.pdf").replace("http:", "https:")},
        "private address url": {"url": "https://10.1.2.3/a.pdf"},
        "link-local url": {"url": "https://169.254.169.254/latest/meta-data"},
        "private name url": {"url": "https://localhost/a.pdf"},
        "signed url": {"url": "https://example.invalid/a.pdf?sv=2025&sig=abc"},
        "missing blob": {"blob": f"{intake}/{job_id}/missing.pdf"},
        "other container": {"blob": f"grants/{job_id}/blob-0.json"},
        "missing staged": {"staged": f"{job_id}/gone.pdf", "name": "gone.pdf"},
        "foreign staged": {"staged": "other-job/x.pdf", "name": "x.pdf"},
    }
    return sources[kind]


LOCAL_OFF = (("ALLOW_LOCAL_URLS", "false"),)
CASES = {
    "url too large": Case("InputTooLarge", "big.pdf", (("MAX_FILE_BYTES", "1000"),)),
    "url endless": Case("InputTooLarge", "endless.pdf", (("MAX_FILE_BYTES", "300000"),)),
    "blob too large": Case("InputTooLarge", "big.pdf", (("MAX_FILE_BYTES", "100"),)),
    "url empty": Case("EmptyInput", "empty.pdf"),
    "blob empty": Case("EmptyInput", "empty.pdf"),
    "url wrong type": Case("UnsupportedContentType", "tool.exe"),
    "blob wrong type": Case("UnsupportedContentType", "tool.exe"),
    "name with path": Case("InvalidName", "../../etc/passwd.pdf"),
    "unreachable url": Case("UrlUnreachable", "http://127.0.0.1:"),
    "missing url": Case("UrlNotFound", "/files/missing.pdf"),
    "http url": Case("UrlNotHttps", "/files/big.pdf", LOCAL_OFF),
    "loopback url": Case("UrlNotAllowed", "https://127.0.0.1:", LOCAL_OFF),
    "private address url": Case("UrlNotAllowed", "https://10.1.2.3/a.pdf", LOCAL_OFF),
    "link-local url": Case("UrlNotAllowed", "https://169.254.169.254/", LOCAL_OFF),
    "private name url": Case("UrlNotAllowed", "https://localhost/a.pdf", LOCAL_OFF),
    "signed url": Case("UrlHasSignature", "https://example.invalid/a.pdf"),
    "missing blob": Case("BlobNotFound", "missing.pdf"),
    "other container": Case("BlobNotAllowed", "grants/"),
    "missing staged": Case("StagedUploadNotFound", "gone.pdf"),
    "foreign staged": Case("InvalidSource", "other-job/x.pdf"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_bad_input_is_a_permanent_error_naming_it_and_leaves_nothing(
    storage: BlobServiceClient,
    files: FileServer,
    job_id: str,
    settings_env: Callable[..., None],
    kind: str,
) -> None:
    case = CASES[kind]
    source = await make_source(kind, storage, files, job_id)
    settings_env(**dict(case.settings))

    with pytest.raises(InputError) as caught:
        await ingest_input(job_id, 0, source)

    error = caught.value
    assert (error.code, error.transient) == (case.code, False)
    assert case.named in error.message
    assert "sig=" not in error.message
    await assert_nothing_left(storage, job_id)


async def test_a_refused_host_name_is_never_contacted(
    storage: BlobServiceClient, files: FileServer, job_id: str, settings_env: Callable[..., None]
) -> None:
    # "localhost" resolves to the very server below; the resolver refuses it before connecting.
    files.files["a.pdf"] = documents.pdf()
    settings_env(ALLOW_LOCAL_URLS="false")
    url = files.url("files/a.pdf").replace("http://127.0.0.1", "https://localhost")

    with pytest.raises(InputError, match="non-public address"):
        await ingest_input(job_id, 0, {"url": url})
    assert files.requests == []


async def test_endless_redirects_are_cut_off(
    storage: BlobServiceClient, files: FileServer, job_id: str
) -> None:
    files.files["a.pdf"] = documents.pdf()

    with pytest.raises(InputError) as caught:
        await ingest_input(job_id, 0, {"url": files.url("redirect/9/a.pdf")})
    assert caught.value.code == "TooManyRedirects"
    await assert_nothing_left(storage, job_id)


async def test_a_failing_server_is_a_transient_error(
    storage: BlobServiceClient, files: FileServer, job_id: str
) -> None:
    with pytest.raises(TransientError) as caught:
        await ingest_input(job_id, 0, {"url": files.url("status/503"), "name": "a.pdf"})
    assert caught.value.code == "UrlUnavailable"
    await assert_nothing_left(storage, job_id)


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"", "empty.pdf", "EmptyInput"),
        (documents.executable(), "tool.pdf", "UnsupportedContentType"),
        (documents.pdf(padding=5000), "big.pdf", "InputTooLarge"),
        (documents.pdf(), "dir/a.pdf", "InvalidName"),
        (documents.pdf(), "..", "InvalidName"),
    ],
)
async def test_a_bad_upload_is_refused_while_staging_and_leaves_nothing(
    storage: BlobServiceClient, job_id: str, data: bytes, filename: str, code: str
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]

    with pytest.raises(InputError) as caught:
        await stage_upload(job_id, filename, chunks(), max_bytes=4000, api_version="2025-11-01")

    assert caught.value.code == code
    assert filename in caught.value.message
    await assert_nothing_left(storage, job_id)


async def test_an_upload_too_large_for_its_type_is_refused(storage: BlobServiceClient, job_id: str) -> None:
    text = b"plain text " * 100_000  # 1.1 MB: over the 1 MB limit of text formats

    with pytest.raises(InputError, match="larger than the limit of 1000000 bytes"):
        await stage_upload(job_id, "notes.txt", text, max_bytes=10**8, api_version="2025-11-01")
    await assert_nothing_left(storage, job_id)


@pytest.mark.parametrize(
    ("job", "index", "source", "code"),
    [
        ("../other", 0, {"url": "https://example.invalid/a.pdf"}, "InvalidJobId"),
        ("job-1", -1, {"url": "https://example.invalid/a.pdf"}, "InvalidSource"),
        ("job-1", 0, {"url": "https://example.invalid/a.pdf", "blob": "intake/a.pdf"}, "InvalidSource"),
        ("job-1", 0, {"staged": "job-1/a.pdf"}, "InvalidSource"),
        ("job-1", 0, {"file": "a.pdf"}, "InvalidSource"),
    ],
)
async def test_malformed_requests_are_refused_before_any_io(
    job: str, index: int, source: InputSource, code: str
) -> None:
    # No storage fixture: these must fail before touching storage at all.
    with pytest.raises(InputError) as caught:
        await ingest_input(job, index, source)
    assert caught.value.code == code
