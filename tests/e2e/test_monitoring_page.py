"""devhost's monitoring page in a real headless browser, while the real app runs a job.

What a person would see: the job first, running, with its progress and its analysis monitors
nested under it; its timeline with the parallel ingests, grants and analysis starts and the
monitors still running; readable history once it is done; the filters; terminate and purge.
Screenshots are saved as test artifacts (tests/support/browser.py says where).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.e2e.conftest import AppStack, sample
from tests.support.browser import artifacts_dir, headless_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

FILES = ("invoice-contoso.txt", "invoice-litware.md")


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with headless_chromium() as driver:
        yield driver


async def load(browser: webdriver.Chrome, url: str) -> None:
    """Open ``url``; a page of a running job refreshes itself, which may cut a load short: retry."""
    for attempt in range(3):
        try:
            await asyncio.to_thread(browser.get, url)
            return
        except WebDriverException:
            if attempt == 2:
                raise


async def click(element: WebElement) -> None:
    """Click in a thread: a click that navigates waits for devhost, which serves on this loop."""
    await asyncio.to_thread(element.click)


async def navigate(browser: webdriver.Chrome, element: WebElement) -> None:
    """Click a link, button or form submit and wait until the page it leads to has loaded."""
    before = browser.current_url

    async def arrived() -> bool:
        def check() -> bool:
            ready = browser.execute_script("return document.readyState") == "complete"
            return bool(browser.current_url != before and ready)

        return await asyncio.to_thread(check)

    await click(element)
    await until(arrived, within=10)


async def stage_of(stack: AppStack, job_id: str) -> str:
    status = (await stack.http.get(f"/api/analyses/{job_id}")).json()
    return str(status["stage"]) if status["status"] == "running" else str(status["status"])


async def until(condition: Callable[[], Any], within: float = 20.0) -> None:
    for _ in range(int(within / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


def texts(browser: webdriver.Chrome, selector: str) -> list[str]:
    return [element.text for element in browser.find_elements(By.CSS_SELECTOR, selector)]


async def test_a_running_job_as_a_person_sees_it(
    start_stack: Callable[..., Any], browser: webdriver.Chrome
) -> None:
    shots = artifacts_dir("monitoring-page")
    async with start_stack(JOB_BATCH_SIZE="1") as stack:  # two batches, as sub-orchestrations
        stack: AppStack  # type: ignore[no-redef]
        stack.emulator.set_faults(analysis_seconds=4.0)
        job_id = await stack.submit([("files", name, sample(name)) for name in FILES])

        async def monitored() -> bool:
            batches = {f"{job_id}:batch-0", f"{job_id}:batch-1"}
            return await stage_of(stack, job_id) == "analyzing" and batches <= set(await stack.instance_ids())

        await until(monitored)

        # The list: the job first, running, with progress and its two batches nested.
        await load(browser, f"{stack.host.base_url}/")
        assert browser.title.startswith("devhost: task hub")
        (job_row,) = browser.find_elements(By.CSS_SELECTOR, "tr.job")
        assert job_row.get_attribute("data-instance") == job_id
        assert "Running" in job_row.find_element(By.CSS_SELECTOR, ".status").text
        assert job_row.find_element(By.CSS_SELECTOR, ".progress-text").text == "analyzing · 0/2 done"
        summary = browser.find_element(By.CSS_SELECTOR, "details.children summary")
        assert summary.text == "2 sub-orchestrations"
        assert not browser.find_elements(By.CSS_SELECTOR, "tr.child")[0].is_displayed()
        await click(summary)
        children = browser.find_elements(By.CSS_SELECTOR, "tr.child")
        assert all(row.is_displayed() for row in children)
        assert [row.find_elements(By.TAG_NAME, "td")[1].text for row in children] == ["analysis_batch"] * 2
        browser.save_screenshot(str(shots / "1-jobs-while-running.png"))

        # The job's page: its timeline, drawn from history, with the batches still running.
        await navigate(browser, job_row.find_element(By.TAG_NAME, "a"))
        assert browser.find_element(By.ID, "summary").text.startswith("analysis_job Running")
        rows = browser.find_elements(By.CSS_SELECTOR, "#timeline .gantt-row")
        labels = [row.find_element(By.CSS_SELECTOR, ".gantt-label").text for row in rows]
        assert labels.count("analysis_batch") == 2, labels
        batches = [row for row in rows if row.get_attribute("data-kind") == "sub-orchestration"]
        assert [row.get_attribute("data-outcome") for row in batches] == ["running", "running"]
        widths = [row.find_element(By.CSS_SELECTOR, ".gantt-bar").size["width"] for row in rows]
        assert all(width >= 1 for width in widths)
        assert "running at once" in browser.find_element(By.ID, "timeline-summary").text
        assert browser.find_element(By.ID, "terminate").is_displayed()
        browser.save_screenshot(str(shots / "2-job-timeline-while-running.png"))

        # Once done: completed, the timeline closed, the history's payloads readable JSON.
        status = await stack.wait(job_id, within=30)
        assert status["status"] == "succeeded"
        await load(browser, f"{stack.host.base_url}/instances/{job_id}")
        assert browser.find_element(By.ID, "summary").text.startswith("analysis_job Completed")
        outcomes = {
            row.get_attribute("data-outcome") for row in browser.find_elements(By.CSS_SELECTOR, ".gantt-row")
        }
        assert outcomes == {"succeeded"}
        output = browser.find_element(By.XPATH, "//h2[text()='Output']/following-sibling::pre[1]").text
        assert output.startswith("{\n  ")
        assert f'"jobId": "{job_id}"' in output
        payloads = texts(browser, "#history pre.payload")
        assert any('"ok": true' in text for text in payloads)
        assert not any('\\"' in text for text in payloads)  # nothing left as escaped JSON text
        browser.save_screenshot(str(shots / "3-job-done.png"))

        # Filters: by status and orchestrator.
        await load(browser, f"{stack.host.base_url}/")
        await click(browser.find_element(By.CSS_SELECTOR, "#filters input[value='Failed']"))
        await navigate(browser, browser.find_element(By.CSS_SELECTOR, "#filters button[type='submit']"))
        assert browser.find_element(By.ID, "empty").text == "No instance matches these filters."
        await load(browser, f"{stack.host.base_url}/?status=Completed&orchestrator=analysis_job")
        assert [
            row.get_attribute("data-instance") for row in browser.find_elements(By.CSS_SELECTOR, "tr.job")
        ] == [job_id]
        browser.save_screenshot(str(shots / "4-filtered.png"))

        # Purge from the job's page: back to the list, the job gone.
        await load(browser, f"{stack.host.base_url}/instances/{job_id}")
        await navigate(browser, browser.find_element(By.ID, "purge"))
        assert browser.current_url.rstrip("/") == stack.host.base_url
        assert not browser.find_elements(By.CSS_SELECTOR, f"tr[data-instance='{job_id}']")


async def test_terminate_a_stuck_job_from_its_page(
    start_stack: Callable[..., Any], browser: webdriver.Chrome
) -> None:
    async with start_stack() as stack:
        stack: AppStack  # type: ignore[no-redef]
        stack.emulator.set_faults(hang_input_names={"invoice-litware.md"})
        job_id = await stack.submit([("files", "invoice-litware.md", sample("invoice-litware.md"))])

        async def analyzing() -> bool:
            return await stage_of(stack, job_id) == "analyzing"

        await until(analyzing)
        await load(browser, f"{stack.host.base_url}/instances/{job_id}")
        await click(browser.find_element(By.ID, "terminate"))
        await stack.host.wait_for(job_id, timeout=10)
        await load(browser, f"{stack.host.base_url}/instances/{job_id}")
        assert browser.find_element(By.ID, "summary").text.startswith("analysis_job Terminated")
        assert browser.find_element(By.ID, "purge").is_displayed()
        browser.save_screenshot(str(artifacts_dir("monitoring-page") / "5-terminated.png"))
