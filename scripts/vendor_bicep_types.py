"""Vendors Azure's published resource type definitions for the resource types that infra/ uses.

Bicep checks resource properties against the type definitions of Azure/bicep-types-az
(``generated/<area>/<namespace>/<api version>/types.json``, generated from the REST API specs). The
Bicep compiler cannot be installed here, so tests/deployment/test_azure_types.py does the same
check itself, against the subset of those definitions that this script extracts: for every
``resource x 'Type@version'`` in infra/, the resource's body type and every type it refers to,
without descriptions, renumbered into one file (tests/deployment/data/azure-resource-types.json)
that records the repository and commit it came from.

Run it after changing a resource type or API version in infra/, with a clone of
Azure/bicep-types-az (a bare clone is enough; nothing else is read from it):

    .venv/bin/python -m scripts.vendor_bicep_types /path/to/bicep-types-az.git

A type or API version that the definitions do not have is an error here, so a typo in infra/
cannot be vendored into the reference it is checked against.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
INFRA = REPO_ROOT / "infra"
OUTPUT = REPO_ROOT / "tests" / "deployment" / "data" / "azure-resource-types.json"
SOURCE_REPOSITORY = "Azure/bicep-types-az"

# `resource <symbol> 'Namespace/type@api-version'` (with or without `existing`).
RESOURCE_DECLARATION = re.compile(r"^\s*resource\s+\w+\s+'([^'@]+)@([^']+)'", re.MULTILINE)


def used_resource_types(infra: Path = INFRA) -> list[str]:
    """Every ``Type@version`` declared in the Bicep files under ``infra``, sorted."""
    found = {
        f"{type_name}@{version}"
        for path in infra.rglob("*.bicep")
        for type_name, version in RESOURCE_DECLARATION.findall(path.read_text(encoding="utf-8"))
    }
    return sorted(found)


class Repository:
    """Reads files of one commit of a bicep-types-az clone through git (no work tree needed)."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.git_dir = git_dir
        self.commit = self._git("rev-parse", commit).strip()

    def _git(self, *args: str) -> str:
        command = ["git", "--git-dir", str(self.git_dir), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 (fixed git arguments)
        return done.stdout

    def type_files(self) -> list[str]:
        listing = self._git("ls-tree", "-r", "--name-only", self.commit, "generated")
        return [name for name in listing.splitlines() if name.endswith("/types.json")]

    def read_json(self, path: str) -> list[dict[str, Any]]:
        types: list[dict[str, Any]] = json.loads(self._git("show", f"{self.commit}:{path}"))
        return types


def _refs(node: Any) -> Iterator[int]:
    """The indexes of every ``{"$ref": "#/N"}`` inside one type definition."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            yield int(ref[2:])
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _renumbered(node: Any, numbers: dict[int, int]) -> Any:
    """A copy of a type definition with references renumbered and descriptions left out."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            return {"$ref": f"#/{numbers[int(ref[2:])]}"}
        # A "description" key holding text is documentation; one holding a definition is a
        # property called "description" (a scheduled query rule has one) and stays.
        return {
            key: _renumbered(value, numbers)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_renumbered(value, numbers) for value in node]
    return node


def _locate(
    repository: Repository, files_by_folder: dict[tuple[str, str], list[str]], type_at_version: str
) -> tuple[str, list[dict[str, Any]], int] | None:
    """(file, its definitions, index of the body type) of one ``Type@version``, or ``None``."""
    type_name, version = type_at_version.split("@")
    namespace = type_name.split("/")[0].lower()
    for path in files_by_folder.get((namespace, version), []):
        definitions = repository.read_json(path)
        for definition in definitions:
            if (
                definition.get("$type") == "ResourceType"
                and str(definition.get("name", "")).lower() == type_at_version.lower()
            ):
                return path, definitions, int(definition["body"]["$ref"][2:])
    return None


def extract(repository: Repository, wanted: list[str]) -> dict[str, Any]:
    """The vendored document: source, ``resources`` (``Type@version`` -> body index) and ``types``."""
    files_by_folder: dict[tuple[str, str], list[str]] = {}
    for path in repository.type_files():
        namespace, version = path.split("/")[-3:-1]
        files_by_folder.setdefault((namespace, version), []).append(path)

    types: list[dict[str, Any]] = []
    resources: dict[str, int] = {}
    # (file, index there) -> index in `types`: types shared by resources of one file are kept once.
    vendored: dict[tuple[str, int], int] = {}
    missing: list[str] = []
    for type_at_version in wanted:
        located = _locate(repository, files_by_folder, type_at_version)
        if located is None:
            missing.append(type_at_version)
            continue
        path, definitions, body = located
        # Every type reachable from the body that is not vendored yet.
        new: list[int] = []
        pending = [body]
        while pending:
            index = pending.pop()
            if index in new or (path, index) in vendored:
                continue
            new.append(index)
            pending.extend(_refs(definitions[index]))
        for position, old in enumerate(new):
            vendored[(path, old)] = len(types) + position
        numbers = {old: number for (file, old), number in vendored.items() if file == path}
        types.extend(_renumbered(definitions[old], numbers) for old in new)
        resources[type_at_version] = vendored[(path, body)]
    if missing:
        raise SystemExit(
            "not in the published type definitions (a typo, or an API version that does not exist): "
            + ", ".join(missing)
        )
    return {
        "source": {
            "repository": SOURCE_REPOSITORY,
            "commit": repository.commit,
            "files": sorted({file for file, _ in vendored}),
            "note": "A subset: only the types infra/ uses (scripts/vendor_bicep_types.py).",
        },
        "resources": resources,
        "types": types,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("git_dir", type=Path, help="a clone of Azure/bicep-types-az (its .git directory)")
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    document = extract(Repository(args.git_dir, args.commit), used_resource_types())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # One type per line: small diffs when a type changes, still a small file.
    lines = [json.dumps(item, separators=(",", ":"), sort_keys=True) for item in document["types"]]
    text = (
        "{\n"
        f'"source": {json.dumps(document["source"], indent=1)},\n'
        f'"resources": {json.dumps(document["resources"], indent=1, sort_keys=True)},\n'
        '"types": [\n' + ",\n".join(lines) + "\n]\n}\n"
    )
    args.output.write_text(text, encoding="utf-8")
    print(f"{len(document['resources'])} resource types, {len(lines)} type definitions -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
