"""No SAS token or key ever appears in history, status, output, logs or any HTTP response."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.e2e.conftest import AppStack, sample

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


async def everything_the_app_shows(stack: AppStack, job_ids: list[str]) -> str:
    """Histories of every instance (inputs and outputs included), statuses, pages and results."""
    base = f"{stack.host.base_url}/runtime/webhooks/durabletask/instances"
    texts = []
    for instance_id in await stack.instance_ids():
        query = "showHistory=true&showHistoryOutput=true&showInput=true"
        texts.append((await stack.http.get(f"{base}/{instance_id}?{query}")).text)
        texts.append((await stack.http.get(f"{stack.host.base_url}/instances/{instance_id}")).text)
    texts.append((await stack.http.get(f"{stack.host.base_url}/")).text)
    for job_id in job_ids:
        texts.append((await stack.http.get(f"/api/analyses/{job_id}")).text)
        texts.append((await stack.http.get(f"/api/analyses/{job_id}/result")).text)
    for analyzer_id in ("invoice-contract-check", "invoice-fields"):
        texts.append((await stack.http.get(f"/api/analyzers/{analyzer_id}")).text)
    return "\n".join(texts)


def signatures(grant_urls: list[str]) -> list[str]:
    forms = []
    for url in grant_urls:
        signature = parse_qs(urlsplit(url).query)["sig"][0]
        forms += [signature, quote(signature, safe=""), quote(signature)]
    return forms


async def test_no_secret_leaves_the_grant_blobs(stack: AppStack, log_text: Callable[[], str]) -> None:
    await stack.register("invoice-contract-check")
    await stack.register("invoice-fields")
    # Keep the grants after the jobs end, to know which signatures to look for.
    grants = stack.storage.get_container_client("grants")
    seen: dict[str, str] = {}

    agentic = await stack.submit(
        [
            ("files", "i.pdf", sample("invoice-contoso-msa.pdf")),
            ("references", "c.pdf", sample("contract-msa-77.pdf")),
        ],
        {"analyzerId": "invoice-contract-check", "mode": "agentic"},
    )
    per_document = await stack.submit(
        [("files", "a.txt", sample("invoice-contoso.txt"))], {"analyzerId": "invoice-fields"}
    )
    while not all(
        s in ("succeeded", "failed")
        for s in [await _status(stack, agentic), await _status(stack, per_document)]
    ):
        async for name in grants.list_blob_names():
            if name not in seen:
                try:
                    seen[name] = json.loads(await (await grants.download_blob(name)).readall())["url"]
                except Exception:  # noqa: S112 - deleted by the job's clean-up meanwhile
                    continue

    assert await _status(stack, agentic) == "succeeded"
    assert await _status(stack, per_document) == "succeeded"
    assert seen, "no grant was observed: the check below would prove nothing"
    assert any("/package.pdf?" in url for url in seen.values())  # the agentic job's package
    shown = await everything_the_app_shows(stack, [agentic, per_document]) + log_text()
    assert "sig=" not in shown
    for signature in signatures(list(seen.values())):
        assert signature not in shown
    assert stack.emulator.key not in shown
    assert not re.search(r"AccountKey=[A-Za-z0-9+/=]{20,}", shown)


async def _status(stack: AppStack, job_id: str) -> str:
    return str((await stack.http.get(f"/api/analyses/{job_id}")).json()["status"])
