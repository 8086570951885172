"""``make demo``: run the sample documents through the app, end to end, on the local stack.

1. Start Azurite, the CU emulator and devhost (``scripts/stack.py``), unless ``--no-stack`` says
   the stack is already up (``make serve``).
2. Register the sample analyzers (``PUT /api/analyzers/{id}``).
3. Submit the sample invoices as one multipart request; show live progress from the status API.
4. Print each document's fate and extracted fields, then run the agentic sample: an invoice
   checked against a contract given as a reference document, both packaged into one PDF (a
   contents page, then each document) and analysed once in agentic mode (API 2026-06-01-preview).
Exits 0 when both jobs succeed, non-zero with a clear message otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from scripts.stack import Ports, running_stack

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PER_DOCUMENT_ANALYZER = "invoice-fields"
PER_DOCUMENT_FILES = ["invoice-contoso.txt", "invoice-fabrikam.pdf", "invoice-litware.md"]
AGENTIC_ANALYZER = "invoice-contract-check"
AGENTIC_FILES = ["invoice-contoso-msa.pdf"]
AGENTIC_REFERENCES = ["contract-msa-77.pdf"]
TIMEOUT_SECONDS = 120.0


class DemoFailed(Exception):
    pass


async def run_demo(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for analyzer_id in (PER_DOCUMENT_ANALYZER, AGENTIC_ANALYZER):
            await register_analyzer(http, analyzer_id)

        print(f"\n== Per-document job: {len(PER_DOCUMENT_FILES)} invoices, analyzer {PER_DOCUMENT_ANALYZER}")
        files = [
            ("files", (name, (SAMPLES / "documents" / name).read_bytes())) for name in PER_DOCUMENT_FILES
        ]
        request = {"analyzerId": PER_DOCUMENT_ANALYZER, "mode": "per-document"}
        await run_job(http, files, request)

        print(f"\n== Agentic job: an invoice checked against its contract, analyzer {AGENTIC_ANALYZER}")
        files = [("files", (name, (SAMPLES / "documents" / name).read_bytes())) for name in AGENTIC_FILES]
        files += [("references", (n, (SAMPLES / "references" / n).read_bytes())) for n in AGENTIC_REFERENCES]
        await run_job(http, files, {"analyzerId": AGENTIC_ANALYZER, "mode": "agentic"})


async def register_analyzer(http: httpx.AsyncClient, analyzer_id: str) -> None:
    definition = json.loads((SAMPLES / "analyzers" / f"{analyzer_id}.json").read_text(encoding="utf-8"))
    response = await http.put(f"/api/analyzers/{analyzer_id}", json=definition)
    if response.status_code != 202:
        raise DemoFailed(f"Registering analyzer {analyzer_id} failed: {response.status_code} {response.text}")
    print(f"Registered analyzer {analyzer_id} ({response.json()['apiVersion']})")


async def run_job(http: httpx.AsyncClient, files: list[Any], request: dict[str, Any]) -> None:
    response = await http.post(
        "/api/analyses", files=[*files, ("request", (None, json.dumps(request), "application/json"))]
    )
    if response.status_code != 202:
        raise DemoFailed(f"Submitting the job failed: {response.status_code} {response.text}")
    job = response.json()
    print(f"Submitted job {job['id']}")
    status = await follow(http, job["statusUrl"])
    if status["status"] != "succeeded":
        raise DemoFailed(
            f"Job {job['id']} ended {status['status']}: {json.dumps(status['error'] or status['summary'])}"
        )
    result = (await http.get(job["resultUrl"])).json()
    print_result(status["summary"], result)


async def follow(http: httpx.AsyncClient, status_url: str) -> dict[str, Any]:
    """Poll the status API, printing each change of stage or progress, until the job ends."""
    started = time.monotonic()
    shown = None
    while time.monotonic() - started < TIMEOUT_SECONDS:
        status = (await http.get(status_url)).json()
        state = f"{status['status']:<10} {status['stage']:<18} {_progress(status)}"
        if state != shown:
            print(f"  {time.monotonic() - started:5.1f}s  {state}", flush=True)
            shown = state
        if status["status"] not in ("pending", "running"):
            return dict(status)
        await asyncio.sleep(0.25)
    raise DemoFailed(f"The job did not finish within {TIMEOUT_SECONDS:g} s")


def _progress(status: dict[str, Any]) -> str:
    p = status.get("progress") or {}
    if not p:
        return ""
    return (
        f"ingested {p.get('ingested', 0)}/{p.get('total', 0)}, analyzing {p.get('analyzing', 0)}, "
        f"done {p.get('done', 0)}, failed {p.get('failed', 0)}"
    )


def print_result(summary: dict[str, Any], result: dict[str, Any]) -> None:
    print(f"Job {summary['jobId']}: {summary['status']} ({summary['startedAt']} -> {summary['finishedAt']})")
    package = summary.get("package")
    if package:
        print(f"  packaged into {package['name']}: {package['pages']} pages, {package['size']} bytes")
        print(f"      page {'1':<3} contents")
        for part in package["parts"]:
            last = part["firstPage"] + part["pages"] - 1
            pages = str(part["firstPage"]) if last == part["firstPage"] else f"{part['firstPage']}-{last}"
            print(f"      page {pages:<3} {part['name']} ({part['role']})")
    for entry in result["results"]:
        contents = (entry.get("result") or {}).get("contents") or [{}]
        fields = contents[0].get("fields") or {}
        print(f"  {', '.join(entry['inputs'])}: {entry['status']}")
        for name, field in fields.items():
            print(f"      {name:<20} {_value(field)}")


def _value(field: dict[str, Any]) -> str:
    for key, value in field.items():
        if key.startswith("value"):
            return json.dumps(value, ensure_ascii=False)
    return "(no value)"


async def main_async(arguments: argparse.Namespace) -> int:
    ports = Ports.from_env()
    try:
        if arguments.no_stack:
            await run_demo(ports.app_url)
        else:
            print("Starting Azurite, the Content Understanding emulator and devhost...", flush=True)
            async with running_stack(ports):
                await run_demo(ports.app_url)
    except DemoFailed as failure:
        print(f"\nDemo failed: {failure}", file=sys.stderr)
        return 1
    except (RuntimeError, httpx.HTTPError) as error:
        print(f"\nDemo failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print("\nDemo finished: both jobs succeeded.")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--no-stack", action="store_true", help="use a stack that is already running (make serve)"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
