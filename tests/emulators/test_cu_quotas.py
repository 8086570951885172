"""The emulator's per-minute quotas: calls beyond them get 429 with a Retry-After, over raw HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from emulators.content_understanding import Emulator
from emulators.content_understanding.quotas import Quotas

pytestmark = pytest.mark.integration

GA = "2025-11-01"


@pytest.fixture
async def http(cu_emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=cu_emulator.endpoint, headers={"Ocp-Apim-Subscription-Key": cu_emulator.key}
    ) as client:
        yield client
        await client.post("/_emulator/quotas", json={"operationsPerMinute": 0, "pagesPerMinute": 0})


async def test_no_quota_unless_one_is_set(http: httpx.AsyncClient) -> None:
    for _ in range(5):
        response = await http.get("/contentunderstanding/analyzers", params={"api-version": GA})
        assert response.status_code == 200
    assert (await http.get("/_emulator/quotas")).json()["refused"] == 0


async def test_calls_beyond_the_operations_quota_get_429_with_retry_after(http: httpx.AsyncClient) -> None:
    set_to = await http.post("/_emulator/quotas", json={"operationsPerMinute": 3})
    assert set_to.json() == {"operationsPerMinute": 3, "pagesPerMinute": 0, "counted": 0, "refused": 0}

    answers = [
        await http.get("/contentunderstanding/analyzers", params={"api-version": GA}) for _ in range(5)
    ]

    assert [response.status_code for response in answers] == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert refused.headers["x-ms-error-code"] == "429"
    assert refused.json()["error"]["message"].startswith("Rate limit is exceeded. Try again in ")
    assert 59 <= int(refused.headers["Retry-After"]) <= 60  # the first call leaves the window then
    assert (await http.get("/_emulator/quotas")).json() == {
        "operationsPerMinute": 3,
        "pagesPerMinute": 0,
        "counted": 3,
        "refused": 2,
    }


async def test_a_bad_quota_setting_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/_emulator/quotas", json={"operationsPerMinute": -1})
    assert response.status_code == 400


def test_the_window_slides_and_pages_count_per_analysis() -> None:
    quotas = Quotas(operations_per_minute=2, pages_per_minute=3)
    assert quotas.admit(0.0, 2) is None
    assert quotas.admit(1.0, 0) is None
    assert quotas.admit(2.0, 0) == pytest.approx(58.0)  # two operations in the last minute
    assert quotas.admit(61.0, 2) is None  # both calls left the window
    assert quotas.admit(62.0, 2) == pytest.approx(59.0)  # room for the call, not for 2 more pages
    assert (quotas.counted, quotas.refused) == (3, 2)
