"""Names that become blob paths: job ids, file names, result keys and prefixes.

Every name a user can influence is checked or cleaned here before it reaches a blob path, so that
no input can escape its job's folder (``../``), hide characters in a name (control or bidi codes),
or produce a name that some tool downstream cannot handle (reserved Windows names, huge lengths).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from core.errors import InputError
from core.jobs import InputSource
from core.redact import shorten

MAX_NAME_LENGTH = 100
MAX_EXTENSION_LENGTH = 16

# An analyzer id: Content Understanding's own rule, 1-64 of ``[A-Za-z0-9._-]`` (the REST spec's
# pattern), and not made of dots only: ``.`` and ``..`` are dot segments that any URL or path layer
# removes (``/analyzers/.`` is the list of every analyzer), and ``...`` is no better a name. Written
# without look-arounds so that pydantic (Rust regex) and JSON Schema readers take it alike; the
# length is a separate ``maxLength``.
ANALYZER_ID_PATTERN = r"^[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*$"
ANALYZER_ID_MAX_LENGTH = 64
ANALYZER_ID_RULE = "1-64 letters, digits, '.', '_' or '-', not only dots"

# The instance id of a job: what the analyses routes serve. HTTP jobs are ``job-`` and blob-intake
# jobs ``intake-`` followed by 32 hex digits (api/submission.py, api/intake.py); every other
# orchestration (a job's monitors ``{job}:op-{key}``, analyzer checks ``analyzer-...``) is internal.
JOB_INSTANCE_ID_PATTERN = r"^(job|intake)-[0-9a-f]{32}$"

_ANALYZER_ID = re.compile(ANALYZER_ID_PATTERN)
_JOB_INSTANCE_ID = re.compile(JOB_INSTANCE_ID_PATTERN)
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Characters invalid in Windows file names, plus those with a meaning in URLs.
_UNSAFE_CHARACTERS = re.compile(r'[<>:"|?*#%&]')
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{n}" for n in range(1, 10)} | {f"LPT{n}" for n in range(1, 10)}
)


# Pure, and called again for every input on every replay of a job (its placeholder names): memoised.
@functools.lru_cache(maxsize=4096)
def sanitize_name(name: str) -> str:
    """A safe display and blob name for the file called ``name``.

    Unicode is normalised (NFC); control and formatting characters are dropped; characters unsafe
    in file names or URLs become ``_``; white space is collapsed; leading and trailing dots and
    spaces go; reserved device names get a ``_`` prefix; the result is at most ``MAX_NAME_LENGTH``
    characters, keeping the extension. A name with path segments (``/``, ``\\``, ``..``) or with
    nothing usable left raises ``InputError``: such a name is a mistake to report, not to guess at.
    """
    shown = _quoted(name)
    text = unicodedata.normalize("NFC", name)
    if "/" in text or "\\" in text or text.strip() in (".", ".."):
        raise InputError(
            f"File name {shown} contains a path; give the file name only", code="InvalidName", input_name=name
        )
    text = " ".join(text.split())  # tabs, newlines and runs of spaces become one space
    text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    text = _UNSAFE_CHARACTERS.sub("_", text).strip(" .")
    if not text.strip("_"):
        raise InputError(f"File name {shown} has no usable characters", code="InvalidName", input_name=name)
    if text.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return _bounded(text)


def check_job_id(job_id: str) -> str:
    """``job_id`` if it is usable as one blob path segment, else ``InputError``."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id) or ".." in job_id:
        raise InputError(f"Job id {_quoted(str(job_id))} is not valid", code="InvalidJobId")
    return job_id


def check_analyzer_id(analyzer_id: str) -> str:
    """``analyzer_id`` if it is a valid Content Understanding analyzer id, else ``InputError``."""
    if (
        not isinstance(analyzer_id, str)
        or len(analyzer_id) > ANALYZER_ID_MAX_LENGTH
        or not _ANALYZER_ID.fullmatch(analyzer_id)
    ):
        raise InputError(
            f"Analyzer id {_quoted(str(analyzer_id))} must be {ANALYZER_ID_RULE}", code="InvalidAnalyzerId"
        )
    return analyzer_id


def is_job_instance_id(instance_id: str) -> bool:
    """Whether ``instance_id`` has the shape of a job's instance id (not an internal orchestration)."""
    return isinstance(instance_id, str) and _JOB_INSTANCE_ID.fullmatch(instance_id) is not None


def check_key(key: str, *, what: str = "Result key") -> str:
    """``key`` (a result or grant key) if it is one safe path segment, else ``InputError``."""
    if not isinstance(key, str) or not _KEY.fullmatch(key) or ".." in key:
        raise InputError(f"{what} {_quoted(str(key))} is not valid", code="InvalidKey")
    return key


def check_prefix(prefix: str) -> str:
    """A blob prefix of safe segments ending in ``/`` (``kb/invoices/``), else ``InputError``."""
    segments = prefix.split("/") if isinstance(prefix, str) else []
    if len(segments) < 2 or segments[-1] != "" or not all(_KEY.fullmatch(s) for s in segments[:-1]):
        raise InputError(
            f"Prefix {_quoted(str(prefix))} must be safe path segments ending with '/'", code="InvalidPrefix"
        )
    if any(".." in segment for segment in segments):
        raise InputError(f"Prefix {_quoted(prefix)} must not contain '..'", code="InvalidPrefix")
    return prefix


def _bounded(text: str) -> str:
    if len(text) <= MAX_NAME_LENGTH:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension) > MAX_EXTENSION_LENGTH:
        return text[:MAX_NAME_LENGTH].rstrip(" .")
    room = MAX_NAME_LENGTH - len(extension) - 1
    return f"{stem[:room].rstrip(' .')}.{extension}"


def _quoted(name: str) -> str:
    # repr() shows control characters escaped, so a message never carries them raw.
    return shorten(repr(name), 120)


def display_name(source: InputSource) -> str:
    """The sanitised name a job's input carries (``inputs.sources.named`` put it there)."""
    if "name" not in source:
        raise InputError("The input carries no name", code="InvalidName")
    return sanitize_name(source["name"])
