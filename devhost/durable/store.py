"""Durable state in SQLite (WAL): instances, history, the message queue, activity work items.

It plays the parts of the Azure Storage provider's tables and queues:
- `instances`: one row per instance (the Instances table);
- `history`: the current execution's events, in order (the History table);
- `messages`: events waiting for an orchestration episode: completions, timers (visible at
  their fire time), raised events, start/terminate/suspend/resume (the control queues);
- `work_items`: activities to run (the work-item queue). A row is deleted only in the same
  transaction that queues its result, so a crash re-runs the activity: at-least-once.
- `blob_receipts`: blob versions a blob trigger has handled; `host_keys`: function keys.

Every write runs on the event loop's thread, each in one transaction; `instance` is also read
from orchestrator threads (tracing asks for an instance's parent).

The store also keeps each running instance's history in memory between episodes, parsed and as
its stored JSON text (`episode_history`), so that an episode neither re-reads nor re-parses what
the last one wrote. SQLite stays the source of truth: the copy is filled from it on first use (so a
restarted host resumes from the file), extended only after an episode's transaction commits, and
dropped whenever the rows change otherwise (a new execution, purge, replacement, a final status).
Instance rows are kept the same way (`instance`, which every status query reads): written through
after each commit, dropped on delete, the whole copy dropped if a transaction rolls back.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devhost.durable.wire import Event, RuntimeStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    runtime_status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time REAL NOT NULL,
    last_updated_time REAL NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_name TEXT,
    parent_task_id INTEGER
);
CREATE INDEX IF NOT EXISTS instances_created ON instances (created_time);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at);
CREATE INDEX IF NOT EXISTS messages_instance ON messages (instance_id, visible_at, kind);
CREATE TABLE IF NOT EXISTS work_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
CREATE TABLE IF NOT EXISTS blob_receipts (
    function_name TEXT NOT NULL,
    blob_name TEXT NOT NULL,
    etag TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    PRIMARY KEY (function_name, blob_name, etag)
);
CREATE TABLE IF NOT EXISTS host_keys (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_MAX_ROWS_KEPT = 10_000  # instance rows kept in memory at most

# Message kinds. Control messages reach a suspended instance; the others wait for `resume`.
START, EVENT, TERMINATE, SUSPEND, RESUME = "start", "event", "terminate", "suspend", "resume"
CONTROL_KINDS = (TERMINATE, RESUME)


@dataclass
class Instance:
    instance_id: str
    name: str
    execution_id: str
    runtime_status: RuntimeStatus
    input: str | None
    output: str | None
    custom_status: str | None
    created_time: float
    last_updated_time: float
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    parent_name: str | None = None
    parent_task_id: int | None = None

    @classmethod
    def pending(
        cls, instance_id: str, name: str, raw_input: str | None, now: float, **parent: Any
    ) -> Instance:
        """A new instance (or execution) waiting for its first episode; `parent` fields if a child."""
        return cls(
            instance_id,
            name,
            uuid.uuid4().hex,
            RuntimeStatus.PENDING,
            raw_input,
            None,
            None,
            now,
            now,
            **parent,
        )


@dataclass(frozen=True)
class NewMessage:
    instance_id: str
    execution_id: str | None  # None: for whichever execution is current (raised events, control)
    kind: str
    body: dict[str, Any]
    visible_at: float


@dataclass(frozen=True)
class Message(NewMessage):
    id: int


@dataclass(frozen=True)
class NewWorkItem:
    instance_id: str
    execution_id: str
    task_id: int
    name: str
    input: str | None


@dataclass(frozen=True)
class WorkItem(NewWorkItem):
    id: int


@dataclass
class EpisodeCommit:
    """Everything one orchestration episode changes, written in one transaction."""

    instance: Instance  # the row as it must be after the episode
    consumed: list[int]  # message ids
    history_append: list[Event] = field(default_factory=list)
    history_reset: bool = False  # a new execution (continue-as-new) starts from an empty history
    history_length: int | None = None  # rows already stored (None: count them)
    messages: list[NewMessage] = field(default_factory=list)
    work_items: list[NewWorkItem] = field(default_factory=list)
    children: list[Instance] = field(default_factory=list)  # sub-orchestrations to create/replace


@dataclass
class StoredHistory:
    """An execution's history as stored: the events and each one's JSON text (its `history` row)."""

    events: list[Event] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InstanceQuery:
    created_from: float | None = None
    created_to: float | None = None
    statuses: frozenset[RuntimeStatus] | None = None
    prefix: str | None = None


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._histories: dict[str, StoredHistory] = {}  # running instances' histories, see above
        self._rows: dict[str, Instance] = {}  # committed instance rows, see above
        self._written: dict[str, Instance | None] = {}  # rows the open transaction wrote (None: deleted)
        self._rows_lock = threading.Lock()  # status reads also come from orchestrator threads

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            with self._rows_lock:
                self._written.clear()
                self._rows.clear()  # a reader may have seen a row of the rolled-back transaction
            raise
        self._db.execute("COMMIT")
        with self._rows_lock:
            for instance_id, row in self._written.items():
                if row is None:
                    self._rows.pop(instance_id, None)
                else:
                    self._remember_row(row)
            self._written.clear()

    def _put_instance(self, db: sqlite3.Connection, instance: Instance) -> None:
        _put_instance(db, instance)
        self._written[instance.instance_id] = copy.copy(instance)

    def _remember_row(self, row: Instance) -> None:
        if row.instance_id not in self._rows and len(self._rows) >= _MAX_ROWS_KEPT:
            del self._rows[next(iter(self._rows))]  # the oldest kept row
        self._rows[row.instance_id] = row

    # -- instances ------------------------------------------------------------------------------

    def instance(self, instance_id: str) -> Instance | None:
        kept = self._rows.get(instance_id)
        if kept is not None:
            return copy.copy(kept)  # callers may change their copy before writing it
        with self._rows_lock:
            row = self._db.execute("SELECT * FROM instances WHERE instance_id = ?", (instance_id,)).fetchone()
            if row is None:
                return None
            instance = _instance(row)
            self._remember_row(copy.copy(instance))
        return instance

    def instances(self, query: InstanceQuery) -> list[Instance]:
        sql, params = "SELECT * FROM instances WHERE 1 = 1", list[float | int | str]()
        if query.created_from is not None:
            sql += " AND created_time >= ?"
            params.append(query.created_from)
        if query.created_to is not None:
            sql += " AND created_time <= ?"
            params.append(query.created_to)
        if query.prefix:
            sql += " AND substr(instance_id, 1, ?) = ?"
            params += [len(query.prefix), query.prefix]
        rows = [_instance(row) for row in self._db.execute(sql + " ORDER BY created_time DESC", params)]
        if query.statuses is not None:
            rows = [row for row in rows if row.runtime_status in query.statuses]
        return rows

    def start_instance(self, instance: Instance, start_at: float) -> None:
        """Create (or replace a finished) instance and queue its start."""
        with self._transaction() as db:
            self._delete_instance(db, instance.instance_id)
            self._put_instance(db, instance)
            _put_messages(db, [NewMessage(instance.instance_id, instance.execution_id, START, {}, start_at)])

    def update_status(self, instance: Instance) -> None:
        with self._transaction() as db:
            self._put_instance(db, instance)
        if instance.runtime_status.is_terminal:
            self._histories.pop(instance.instance_id, None)

    def purge(self, instance_ids: Iterable[str]) -> int:
        deleted = 0
        with self._transaction() as db:
            for instance_id in instance_ids:
                deleted += self._delete_instance(db, instance_id)
        return deleted

    def _delete_instance(self, db: sqlite3.Connection, instance_id: str) -> int:
        self._histories.pop(instance_id, None)
        self._written[instance_id] = None
        return _delete_instance(db, instance_id)

    # -- history --------------------------------------------------------------------------------

    def history(self, instance_id: str) -> list[Event]:
        rows = self._db.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,)
        )
        return [json.loads(event) for (event,) in rows]

    def cached_history(self, instance_id: str) -> StoredHistory | None:
        """The in-memory copy of an instance's history, if one is kept now."""
        return self._histories.get(instance_id)

    def episode_history(self, instance_id: str) -> StoredHistory:
        """The history an episode replays, kept in memory between episodes (read-only for callers)."""
        stored = self._histories.get(instance_id)
        if stored is None:
            rows = self._db.execute(
                "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,)
            )
            texts = [text for (text,) in rows]
            stored = self._histories[instance_id] = StoredHistory([json.loads(t) for t in texts], texts)
        return stored

    # -- messages -------------------------------------------------------------------------------

    def enqueue(self, messages: Sequence[NewMessage]) -> None:
        with self._transaction() as db:
            _put_messages(db, messages)

    def runnable_instances(self, now: float) -> list[str]:
        """Instances with a visible message they can take (suspended ones only take control)."""
        rows = self._db.execute(
            "SELECT m.instance_id FROM (SELECT instance_id, MAX(kind IN (?, ?)) AS control FROM messages "
            "WHERE visible_at <= ? GROUP BY instance_id) AS m "
            "LEFT JOIN instances AS i ON i.instance_id = m.instance_id "
            "WHERE m.control OR i.runtime_status IS NULL OR i.runtime_status != ?",
            (*CONTROL_KINDS, now, RuntimeStatus.SUSPENDED.value),
        )
        return [instance_id for (instance_id,) in rows]

    def next_visible_time(self, now: float) -> float | None:
        (due,) = self._db.execute(
            "SELECT MIN(visible_at) FROM messages WHERE visible_at > ?", (now,)
        ).fetchone()
        return None if due is None else float(due)

    def messages(self, instance_id: str, now: float) -> list[Message]:
        rows = self._db.execute(
            "SELECT id, instance_id, execution_id, kind, body, visible_at FROM messages "
            "WHERE instance_id = ? AND visible_at <= ? ORDER BY id",
            (instance_id, now),
        )
        return [
            Message(
                instance_id=r[1],
                execution_id=r[2],
                kind=r[3],
                body=json.loads(r[4]),
                visible_at=r[5],
                id=r[0],
            )
            for r in rows
        ]

    def delete_messages(self, ids: Sequence[int]) -> None:
        with self._transaction() as db:
            _delete_ids(db, "messages", ids)

    # -- episodes -------------------------------------------------------------------------------

    def commit_episode(self, commit: EpisodeCommit) -> list[tuple[Instance, RuntimeStatus]]:
        """Apply one episode; returns the children that could not start, with the running status."""
        blocked: list[tuple[Instance, RuntimeStatus]] = []
        instance_id = commit.instance.instance_id
        texts = [json.dumps(e) for e in commit.history_append]
        try:
            with self._transaction() as db:
                _delete_ids(db, "messages", commit.consumed)
                if commit.history_reset:
                    db.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))
                count = 0 if commit.history_reset else commit.history_length
                if count is None:
                    (count,) = db.execute(
                        "SELECT COALESCE(MAX(seq) + 1, 0) FROM history WHERE instance_id = ?", (instance_id,)
                    ).fetchone()
                _insert(
                    db,
                    "history (instance_id, seq, event)",
                    [(instance_id, count + i, text) for i, text in enumerate(texts)],
                )
                self._put_instance(db, commit.instance)
                _put_messages(db, commit.messages)
                _insert(
                    db,
                    "work_items (instance_id, execution_id, task_id, name, input)",
                    [(w.instance_id, w.execution_id, w.task_id, w.name, w.input) for w in commit.work_items],
                )
                for child in commit.children:
                    existing = db.execute(
                        "SELECT runtime_status FROM instances WHERE instance_id = ?", (child.instance_id,)
                    ).fetchone()
                    if existing is not None and not RuntimeStatus(existing[0]).is_terminal:
                        blocked.append((child, RuntimeStatus(existing[0])))
                        continue
                    self._delete_instance(db, child.instance_id)
                    self._put_instance(db, child)
                    _put_messages(
                        db, [NewMessage(child.instance_id, child.execution_id, START, {}, child.created_time)]
                    )
        except BaseException:
            self._histories.pop(instance_id, None)  # reread from the file next time
            raise
        self._remember(commit, texts, count)
        return blocked

    def _remember(self, commit: EpisodeCommit, texts: list[str], stored_before: int) -> None:
        """Extend the in-memory history with a committed episode (or drop it, see the module doc)."""
        instance_id = commit.instance.instance_id
        stored = self._histories.get(instance_id)
        if commit.history_reset or commit.instance.runtime_status.is_terminal:
            self._histories.pop(instance_id, None)  # a new execution starts empty; a final one is done
        elif stored is not None and len(stored.texts) == stored_before:
            stored.events.extend(json.loads(text) for text in texts)  # exactly what a reread returns
            stored.texts.extend(texts)
        else:
            self._histories.pop(instance_id, None)  # not the copy this episode started from

    # -- activities -----------------------------------------------------------------------------

    def work_items_after(self, cursor: int, limit: int) -> list[WorkItem]:
        rows = self._db.execute(
            "SELECT id, instance_id, execution_id, task_id, name, input FROM work_items "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (cursor, limit),
        )
        return [WorkItem(r[1], r[2], r[3], r[4], r[5], id=r[0]) for r in rows]

    def finish_work_items(self, finished: Sequence[tuple[int, NewMessage | None]]) -> None:
        """Delete finished work items and queue their results, in one transaction."""
        with self._transaction() as db:
            _delete_ids(db, "work_items", [item_id for item_id, _ in finished])
            _put_messages(db, [message for _, message in finished if message is not None])

    # -- blob receipts and keys -----------------------------------------------------------------

    def receipt(self, function_name: str, blob_name: str, etag: str) -> tuple[str, int] | None:
        row = self._db.execute(
            "SELECT state, attempts FROM blob_receipts "
            "WHERE function_name = ? AND blob_name = ? AND etag = ?",
            (function_name, blob_name, etag),
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def put_receipt(self, function_name: str, blob_name: str, etag: str, state: str, attempts: int) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO blob_receipts VALUES (?, ?, ?, ?, ?)",
                (function_name, blob_name, etag, state, attempts),
            )

    def receipts_in_state(self, state: str) -> list[tuple[str, str, str, int]]:
        """(function, blob, version, attempts) of every receipt in ``state``."""
        rows = self._db.execute(
            "SELECT function_name, blob_name, etag, attempts FROM blob_receipts WHERE state = ?", (state,)
        )
        return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]

    def keys(self) -> dict[str, str]:
        return {name: value for name, value in self._db.execute("SELECT name, value FROM host_keys")}

    def put_keys(self, keys: dict[str, str]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO host_keys VALUES (?, ?)", list(keys.items()))


def _instance(row: sqlite3.Row | tuple[Any, ...]) -> Instance:
    values = list(row)
    values[3] = RuntimeStatus(values[3])
    return Instance(*values)


def _put_instance(db: sqlite3.Connection, instance: Instance) -> None:
    db.execute(
        "INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            instance.instance_id,
            instance.name,
            instance.execution_id,
            instance.runtime_status.value,
            instance.input,
            instance.output,
            instance.custom_status,
            instance.created_time,
            instance.last_updated_time,
            instance.parent_instance_id,
            instance.parent_execution_id,
            instance.parent_name,
            instance.parent_task_id,
        ),
    )


def _put_messages(db: sqlite3.Connection, messages: Sequence[NewMessage]) -> None:
    _insert(
        db,
        "messages (instance_id, execution_id, kind, body, visible_at)",
        [(m.instance_id, m.execution_id, m.kind, json.dumps(m.body), m.visible_at) for m in messages],
    )


# Many rows per statement, not one statement per row: each SQLite call releases the GIL, and on a
# busy host (an episode replaying in a worker thread) every release costs a switch interval.
_ROWS_PER_STATEMENT = 100


def _insert(db: sqlite3.Connection, target: str, rows: Sequence[tuple[Any, ...]]) -> None:
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        row = "(" + ", ".join("?" * len(chunk[0])) + ")"
        values = [value for item in chunk for value in item]
        db.execute(f"INSERT INTO {target} VALUES {', '.join([row] * len(chunk))}", values)  # noqa: S608


def _delete_ids(db: sqlite3.Connection, table: str, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), _ROWS_PER_STATEMENT * 5):
        chunk = ids[start : start + _ROWS_PER_STATEMENT * 5]
        db.execute(f"DELETE FROM {table} WHERE id IN ({', '.join('?' * len(chunk))})", chunk)  # noqa: S608


def _delete_instance(db: sqlite3.Connection, instance_id: str) -> int:
    """Remove an instance with its history and messages; returns 1 if it existed.

    Its queued activities stay: in Azure they sit in the work-item queue, which neither purge nor
    a new execution touches, and run anyway (their results are dropped)."""
    for table in ("history", "messages"):
        db.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))  # noqa: S608 - fixed names
    return db.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,)).rowcount
