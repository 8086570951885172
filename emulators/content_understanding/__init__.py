"""An offline emulator of Azure AI Content Understanding, speaking its REST protocol strictly.

Run it with ``python -m emulators.content_understanding``, or in-process for tests::

    async with running_emulator(key="k", analysis_seconds=0.2) as emulator:
        emulator.endpoint  # http://127.0.0.1:<free port>

Live API versions: 2025-11-01 (GA) and 2026-06-01-preview (agentic mode, inline analysis); the
retired previews answer 400 UnsupportedApiVersion.

Modules: ``app`` (the web app and test hooks), ``middleware`` (auth, API version, faults),
``routes_analyzers`` and ``routes_analysis`` (the REST API), ``protocol`` (what routes share),
``validation`` and ``versions`` (what each API version accepts, the prebuilt analyzers),
``analysis``, ``documents`` and ``fields`` (the deterministic "analysis"), ``state`` and ``store``
(memory, and the state directory that keeps analyzers across restarts), ``config``, ``server``
and ``__main__`` (running it).
"""

from emulators.content_understanding.config import DEFAULT_KEY, EmulatorConfig, Faults
from emulators.content_understanding.server import Emulator, running_emulator, serve

__all__ = ["DEFAULT_KEY", "Emulator", "EmulatorConfig", "Faults", "running_emulator", "serve"]
