"""The pre-release SDK (azure-ai-contentunderstanding 1.2.0b3, 2026-06-01-preview) as the judge of
the emulator's agentic analyzers and inline analysis.

The SDK lives in its own environment, ``.tools/cu-sdk-preview`` (made by `make setup` from
requirements-cu-sdk-preview.txt), because .venv holds the GA SDK. ``sdk_preview_driver.py`` runs
there against an emulator of this test; where the environment is missing the test is skipped,
except in CI (CI=true), where `make test` has made it and its absence is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from emulators.content_understanding import running_emulator
from samples.pdf import make_pdf
from tests.support.azurite import REPO_ROOT

pytestmark = pytest.mark.integration

PREVIEW_PYTHON = REPO_ROOT / ".tools" / "cu-sdk-preview" / "bin" / "python"
DRIVER = REPO_ROOT / "tests" / "emulators" / "sdk_preview_driver.py"
SIX_PAGES = make_pdf([[f"Page {number}"] for number in range(1, 7)])


@pytest.fixture
async def document_url() -> AsyncIterator[str]:
    async def document(_: web.Request) -> web.Response:
        return web.Response(body=SIX_PAGES, content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/six-pages.pdf", document)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/six-pages.pdf"
    await runner.cleanup()


async def test_the_preview_sdk_drives_agentic_and_inline_analysis(document_url: str) -> None:
    if not PREVIEW_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{PREVIEW_PYTHON} is missing: `make setup` installs it")
        pytest.skip("the pre-release CU SDK is not installed here: run `make setup`")
    async with running_emulator(key="preview-key", analysis_seconds=0.2, retry_after=0.05) as emulator:
        process = await asyncio.create_subprocess_exec(
            str(PREVIEW_PYTHON), str(DRIVER), emulator.endpoint, emulator.key, document_url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, stderr.decode()[-3000:]
        assert emulator.stats()["emulatorErrors"] == 0
    report = json.loads(stdout)
    checks = report["checks"]
    assert checks["apiVersion"] == "2026-06-01-preview"  # the pre-release's default
    assert checks["workflow"] == checks["gotWorkflow"] == "agentic.2026-06-01-preview"
    assert checks["contents"] == 1
    assert checks["fields"] == {
        "ContractNumber": "C-77",
        "AgreedPaymentTerms": "Net 30",
        "PaymentTerms": "Net 60",  # from the second page
    }
    assert checks["advancedTokens"] == 2000
    assert checks["extractRefused"] == [400, "InvalidRequest"]
    status, markdown, usage = checks["inlineBinary"]
    assert status == "Succeeded"
    assert "Contract number: C-77" in markdown
    assert usage == {"documentPagesBasicInline": 2}
    assert checks["inlineTooLong"] == [400, "InputExceededLimit"]
    assert checks["inlineUrl"] == ["Succeeded", 5, ["InputExceededLimit"], {"documentPagesStandardInline": 5}]
    assert checks["inlineRefused"] == 400
    assert report["problems"] == []
    assert report["answers"] > 10
