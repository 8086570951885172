"""The results benchmark's harness, run small: every request answers, and the rows are reported.

Not a memory test (the numbers are the benchmark's business): it keeps the harness from rotting.
"""

from __future__ import annotations

import pytest

from bench.results_bench import PAGE_SIZE, run
from tests.support.azurite import Azurite

pytestmark = pytest.mark.integration


async def test_the_harness_measures_every_request(azurite: Azurite) -> None:
    rows = await run([PAGE_SIZE, PAGE_SIZE + 2], size_kb=1)  # closes the storage client at its end

    requests = {row.request for row in rows}
    assert len(rows) == 2 * len(requests) >= 14
    for row in rows:
        assert row.peak_kib > 0, row
        assert row.body_bytes > 0, row
    # The whole document grows with the job; a page does not hold more than its entries.
    whole = {row.count: row.body_bytes for row in rows if row.request.startswith("whole-document")}
    assert whole[PAGE_SIZE + 2] > whole[PAGE_SIZE]
