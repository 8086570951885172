"""The state directory: analyzers and defaults as one JSON file, so they outlive a restart (Azure
keeps analyzers; operations and results are not kept, see docs/content-understanding-emulator.md).

Every change rewrites the file through a temporary file and an atomic rename, so a crash leaves
the previous or the new state, never half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATE_FILE = "content-understanding.json"


class StateStore:
    def __init__(self, directory: str) -> None:
        self.path = Path(directory) / STATE_FILE

    def load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        state = json.loads(text)
        if not isinstance(state, dict):
            raise ValueError(f"{self.path} does not hold a JSON object")
        return state

    def save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.path)
