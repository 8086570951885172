"""The project as Python packaging and azd see it: `pip install .`, and build output in the package.

* azd (1.23.7 and later) runs `pip install .` when a pyproject.toml exists. A flat layout with
  several top-level packages needs them listed; this installs a copy of the repository for real
  (offline, with the installed setuptools) and reads what was installed.
* A .funcignore replaces azd's built-in exclusions, so bytecode, build folders and virtual
  environments reach the package unless it lists them. These tests walk the real files on disk
  (git would hide the ignored ones) as azd does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pathspec
import pytest

from tests.support.azurite import REPO_ROOT

APP_PACKAGES = {
    "activities",
    "api",
    "content_understanding",
    "core",
    "inputs",
    "orchestrators",
    "storage",
    "telemetry",
    "triggers",
}
DEV_TOOLS = {"devhost", "emulators", "bench", "scripts", "samples", "tests"}
# Never part of the code package, whatever produced them.
BUILD_OUTPUT_NAMES = {"__pycache__", "build", "dist", ".python_packages", ".pytest_cache", ".mypy_cache"}
BUILD_OUTPUT_SUFFIXES = (".pyc", ".pyo", ".egg-info")


def funcignore() -> pathspec.GitIgnoreSpec:
    lines = (REPO_ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def packaged_files(root: Path, ignore: pathspec.GitIgnoreSpec) -> list[str]:
    """Files under ``root`` that .funcignore lets into the package (symlinked folders not followed)."""
    found = []
    for folder, subfolders, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        kept = []
        for name in subfolders:
            path = (relative / name).as_posix() + "/"
            if name == ".git" or ignore.match_file(path):
                continue
            kept.append(name)
        subfolders[:] = kept
        for name in files:
            path = (relative / name).as_posix()
            if not ignore.match_file(path):
                found.append(path)
    return sorted(found)


def build_output(paths: list[str]) -> list[str]:
    return [
        path
        for path in paths
        if set(Path(path).parts) & BUILD_OUTPUT_NAMES
        or any(part.endswith(BUILD_OUTPUT_SUFFIXES) for part in Path(path).parts)
    ]


def virtual_environments(root: Path, ignore: pathspec.GitIgnoreSpec) -> list[str]:
    """Folders holding a pyvenv.cfg (a virtual environment) that the package would include."""
    return sorted(
        Path(config).parent.relative_to(root).as_posix() + "/"
        for config in root.glob("**/pyvenv.cfg")
        if not ignore.match_file(Path(config).parent.relative_to(root).as_posix() + "/")
    )


# --- build output ---------------------------------------------------------------------------------


def test_the_package_holds_no_build_output() -> None:
    files = packaged_files(REPO_ROOT, funcignore())
    assert "function_app.py" in files
    assert build_output(files) == []
    assert virtual_environments(REPO_ROOT, funcignore()) == []


def test_planted_build_output_is_kept_out(tmp_path: Path) -> None:
    planted = [
        "core/__pycache__/settings.cpython-311.pyc",
        "api/stale.pyc",
        "build/lib/core/settings.py",
        "dist/cu_durable_pipeline-0.1.0-py3-none-any.whl",
        "cu_durable_pipeline.egg-info/PKG-INFO",
        ".python_packages/lib/site-packages/httpx/__init__.py",
        ".venv/pyvenv.cfg",
        "venv/pyvenv.cfg",
        ".tools/checkov/pyvenv.cfg",
    ]
    for name in [*planted, "function_app.py", "core/settings.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    assert packaged_files(tmp_path, funcignore()) == ["core/settings.py", "function_app.py"]
    # Without the Python section of .funcignore, every planted file would be packaged.
    bare = pathspec.GitIgnoreSpec.from_lines(["tests/"])
    assert len(build_output(packaged_files(tmp_path, bare))) == len(planted) - 3  # the 3 pyvenv.cfg
    assert virtual_environments(tmp_path, bare) == [".tools/checkov/", ".venv/", "venv/"]


# --- pip install . --------------------------------------------------------------------------------


def pyproject() -> dict[str, object]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_project_lists_exactly_the_app_packages() -> None:
    setuptools = pyproject()["tool"]["setuptools"]  # type: ignore[index]
    assert set(setuptools["packages"]) == APP_PACKAGES
    assert setuptools["py-modules"] == ["function_app"]
    assert not set(setuptools["packages"]) & DEV_TOOLS
    # Every app package is a real package folder at the root.
    for package in APP_PACKAGES:
        assert (REPO_ROOT / package / "__init__.py").is_file(), package


def repository_copy(destination: Path) -> Path:
    """The tracked and new files of the repository, as a fresh clone would have them."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in listing.stdout.splitlines():
        source = REPO_ROOT / name
        if source.is_file() and not source.is_symlink():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def pip_install(project: Path, target: Path) -> subprocess.CompletedProcess[str]:
    """`pip install .` offline: the installed setuptools builds it, no dependency is fetched."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--target", str(target), "."]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = repository_copy(tmp_path_factory.mktemp("clone"))
    target = tmp_path_factory.mktemp("site-packages")
    done = pip_install(project, target)
    assert done.returncode == 0, done.stderr
    return target


def test_pip_install_dot_installs_the_app_and_nothing_else(installed: Path) -> None:
    top_level = {path.name for path in installed.iterdir() if path.name != "__pycache__"}
    (dist_info,) = [name for name in top_level if name.endswith(".dist-info")]
    assert top_level - {dist_info} == APP_PACKAGES | {"function_app.py"}
    assert (installed / "core" / "settings.py").is_file()


def test_the_installed_metadata_requires_what_azure_installs(installed: Path) -> None:
    (metadata,) = installed.glob("*.dist-info/METADATA")
    requires = sorted(
        line.removeprefix("Requires-Dist: ").replace(" ", "")
        for line in metadata.read_text(encoding="utf-8").splitlines()
        if line.startswith("Requires-Dist: ")
    )
    lines = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    runtime = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert len(requires) == len(runtime)
    names = {requirement.split("<")[0].split(">")[0].split("=")[0] for requirement in requires}
    assert names == {line.split("<")[0].split(">")[0].split("=")[0] for line in runtime}


def test_without_the_package_list_pip_install_fails(tmp_path: Path) -> None:
    # The failure azd hit on this flat layout ("Multiple top-level packages discovered").
    project = repository_copy(tmp_path / "clone")
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    start = text.index("[tool.setuptools]\n")
    end = text.index("[tool.setuptools.dynamic]")
    (project / "pyproject.toml").write_text(text[:start] + text[end:], encoding="utf-8")
    done = pip_install(project, tmp_path / "site-packages")
    assert done.returncode != 0
    assert "Multiple top-level packages discovered in a flat-layout" in done.stdout + done.stderr
