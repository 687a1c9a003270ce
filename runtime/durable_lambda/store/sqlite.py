"""The store contract on SQLite: a file shared by processes, or memory.

A file store runs in WAL mode. Its ``durability`` says what a commit
survives: ``"process"`` (the default) the death of any process, which is what
the local engine must handle, but not an operating-system crash or power
cut, after which the file may be lost; ``"power"`` also those, at the price
of a disk sync per commit. Every method runs in one ``BEGIN IMMEDIATE``
transaction, so SQLite's write lock serializes writers across threads and
processes.
"""

from __future__ import annotations

import datetime
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal

from durable_lambda.exceptions import ValidationError
from durable_lambda.history import Event, execution_event, invocation_completed, payload
from durable_lambda.lambda_service import (
    ErrorObject,
    Operation,
    epoch_millis,
    from_epoch_millis,
    from_millis,
    to_millis,
)
from durable_lambda.serdes import compact_json
from durable_lambda.store.contract import (
    CALLBACK_NOT_FOUND,
    DEFAULT_PAGE_SIZE,
    EXECUTION_TIMEOUT_TIMER,
    REINVOKE_TIMER,
    CallbackChange,
    CallbackNotFoundError,
    CheckpointBatch,
    DueTimer,
    ExecutionNotFoundError,
    ExecutionPage,
    ExecutionRecord,
    ExecutionStatus,
    InvocationOutcome,
    Lease,
    LeaseHolder,
    LeaseLostError,
    NewExecution,
    Suspended,
    check_page_size,
    child_completion,
    ending_events,
    exit_error,
    function_call_timer,
    is_delivery_timer,
    page_position,
    parent_ended_error,
    parent_not_running_error,
    redelivery_due,
    start_target_timer,
    terminated_event,
    timed_out_error,
    token_after,
    waiting_callback,
)
from durable_lambda.transitions import (
    Completion,
    Transition,
    on_completion,
    on_timer,
    parse_operation_timer,
)

MEMORY = ":memory:"
_OPEN_TIMEOUT_SECONDS = 30.0
"""How long a connection waits for another's lock before it gives up."""

Durability = Literal["process", "power"]
_SYNCHRONOUS: dict[str, str] = {"process": "OFF", "power": "FULL"}

SCHEMA_VERSION = 5
"""The table layout this module reads and writes (SQLite ``user_version``)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    run INTEGER PRIMARY KEY,
    execution_id TEXT NOT NULL UNIQUE,
    function_name TEXT NOT NULL,
    execution_name TEXT NOT NULL,
    status TEXT NOT NULL,
    input_payload TEXT,
    result TEXT,
    error TEXT,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER,
    timeout_seconds INTEGER,
    parent_execution_id TEXT,
    parent_operation_id TEXT,
    epoch INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_holder TEXT,
    lease_started_ms INTEGER,
    lease_until_ms INTEGER,
    wake_seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (function_name, execution_name)
);
CREATE TABLE IF NOT EXISTS operations (
    run INTEGER NOT NULL,
    operation_id TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    parent_id TEXT,
    name TEXT,
    sub_type TEXT,
    start_ms INTEGER,
    end_ms INTEGER,
    details TEXT,
    PRIMARY KEY (run, operation_id)
);
CREATE TABLE IF NOT EXISTS events (
    run INTEGER NOT NULL,
    last_event_id INTEGER NOT NULL,
    first_event_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (run, last_event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timers (
    execution_id TEXT NOT NULL,
    timer_key TEXT NOT NULL,
    due_ms INTEGER NOT NULL,
    PRIMARY KEY (execution_id, timer_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_by_due ON timers (due_ms);
CREATE TABLE IF NOT EXISTS callbacks (
    token_hash TEXT PRIMARY KEY,
    execution_id TEXT NOT NULL,
    operation_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS executions_by_parent ON executions (parent_execution_id)
    WHERE parent_execution_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS executions_by_function
    ON executions (function_name, status, start_ms, execution_id);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status, start_ms, execution_id);
"""

_EXECUTION_COLUMNS = (
    "execution_id, function_name, execution_name, status, input_payload, result, "
    "error, start_ms, end_ms, timeout_seconds, parent_execution_id, parent_operation_id, "
    "lease_owner, lease_holder, lease_started_ms, lease_until_ms"
)


class SqliteStore:
    """The store contract on one SQLite database (``path`` or ``":memory:"``).

    A file is shared by processes and runs in WAL mode. ``durability="process"``
    (the default) makes a commit survive the death of any process, but not an
    operating-system crash or power cut; ``"power"`` survives those too, at the
    price of a disk sync per commit.
    """

    def __init__(self, path: str = MEMORY, *, durability: Durability = "process") -> None:
        if durability not in _SYNCHRONOUS:
            msg = f'durability must be "process" or "power", got: {durability!r}'
            raise ValidationError(msg)
        self.path = path
        self.durability = durability
        self._lock = threading.Lock()
        self._decoded = _DecodedOperations()
        self._runs: dict[str, int] = {}
        self._db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=_OPEN_TIMEOUT_SECONDS
        )
        try:
            self._lay_out()
            if path != MEMORY:
                self._use_write_ahead_log()
            self._db.execute(f"PRAGMA synchronous={_SYNCHRONOUS[durability]}")
        except BaseException:
            self._db.close()
            raise

    def _lay_out(self) -> None:
        """Create the tables in a new database, in one transaction; refuse any other.

        Processes opening one new file at once take turns: the first lays it
        out, the others find it laid out. A file that is not ours is refused
        before anything is written to it (its journal mode included).
        """
        try:
            with self._transaction() as db:
                (version,) = db.execute("PRAGMA user_version").fetchone()
                (tables,) = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                if tables and version != SCHEMA_VERSION:
                    raise ValidationError(self._refusal(version))
                if not tables:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as e:
            if "not a database" not in str(e):
                raise
            msg = f"{self.path} is not a SQLite database ({e}); use a new file"
            raise ValidationError(msg) from e

    def _use_write_ahead_log(self) -> None:
        """Switch the file to WAL mode (a no-op once it is), waiting out other openers.

        The switch needs the file to itself, and SQLite does not wait for that
        as it waits for a write lock: processes opening a new file together
        take turns here.
        """
        deadline = time.monotonic() + _OPEN_TIMEOUT_SECONDS
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _refusal(self, version: int) -> str:
        if version == 0:
            return (
                f"{self.path} is a SQLite database of something else: it holds tables "
                "but no durable-lambda store. Use a new file."
            )
        return (
            f"{self.path} holds a durable-lambda store of schema version {version}; "
            f"this version reads schema version {SCHEMA_VERSION}. Use a new file for this version."
        )

    @property
    def volatile(self) -> bool:
        """True for ``":memory:"``: the database lives and dies with this process."""
        return self.path == MEMORY

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    # region executions

    def create_execution(
        self, new: NewExecution, now: datetime.datetime
    ) -> tuple[ExecutionRecord, bool]:
        with self._transaction() as db:
            existing = db.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions "  # noqa: S608
                "WHERE function_name = ? AND execution_name = ?",
                (new.function_name, new.execution_name),
            ).fetchone()
            if existing is not None:
                self._clear_start_target_timer(db, new)
                return _record(existing), False
            if new.parent_execution_id is not None:
                self._require_running_parent(db, new.parent_execution_id)
            db.execute(
                "INSERT INTO executions (execution_id, function_name, execution_name, "
                "status, input_payload, start_ms, timeout_seconds, parent_execution_id, "
                "parent_operation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.execution_id,
                    new.function_name,
                    new.execution_name,
                    ExecutionStatus.RUNNING.value,
                    new.input_payload,
                    epoch_millis(now),
                    new.timeout_seconds,
                    new.parent_execution_id,
                    new.parent_operation_id,
                ),
            )
            details: dict[str, Any] = {"Input": payload(new.input_payload)}
            self._set_timer(db, new.execution_id, REINVOKE_TIMER, now)
            self._clear_start_target_timer(db, new)
            if new.timeout_seconds is not None:
                details["ExecutionTimeout"] = new.timeout_seconds
            if new.timeout_seconds is not None and new.timeout_timer:
                due = now + datetime.timedelta(seconds=new.timeout_seconds)
                self._set_timer(db, new.execution_id, EXECUTION_TIMEOUT_TIMER, due)
            self._append_events(
                db, new.execution_id, [execution_event("ExecutionStarted", now, details)]
            )
        return self.get_execution(new.execution_id), True

    def _clear_start_target_timer(self, db: sqlite3.Connection, new: NewExecution) -> None:
        """A child exists: its parent's invoke no longer waits for the target to start."""
        if new.parent_execution_id is not None and new.parent_operation_id is not None:
            key = start_target_timer(new.parent_operation_id)
            self._clear_timer(db, new.parent_execution_id, key)

    @staticmethod
    def _require_running_parent(db: sqlite3.Connection, parent_execution_id: str) -> None:
        row = db.execute(
            "SELECT status FROM executions WHERE execution_id = ?", (parent_execution_id,)
        ).fetchone()
        if row is None or row[0] != ExecutionStatus.RUNNING.value:
            raise parent_not_running_error(parent_execution_id, row[0] if row else None)

    def get_execution(self, execution_id: str) -> ExecutionRecord:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE execution_id = ?",  # noqa: S608
                (execution_id,),
            ).fetchone()
        if row is None:
            raise ExecutionNotFoundError(f"No execution with id {execution_id!r}")
        return _record(row)

    def list_executions(
        self,
        *,
        function_name: str | None = None,
        status: ExecutionStatus | None = None,
        started_after: datetime.datetime | None = None,
        started_before: datetime.datetime | None = None,
        page_token: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
    ) -> ExecutionPage:
        check_page_size(limit)
        conditions: list[str] = []
        values: list[Any] = []
        if function_name is not None:
            conditions.append("function_name = ?")
            values.append(function_name)
        if status is not None:
            conditions.append("status = ?")
            values.append(ExecutionStatus(status).value)
        if started_after is not None:
            conditions.append("start_ms > ?")
            values.append(epoch_millis(started_after))
        if started_before is not None:
            conditions.append("start_ms < ?")
            values.append(epoch_millis(started_before))
        after = page_position(page_token)
        if after is not None:
            conditions.append("(start_ms, execution_id) > (?, ?)")
            values.extend(after)
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions {where} "  # noqa: S608 - fixed fragments
                "ORDER BY start_ms, execution_id LIMIT ?",
                [*values, limit + 1],
            ).fetchall()
        records = [_record(row) for row in rows[:limit]]
        return ExecutionPage(records, token_after(records[-1]) if len(rows) > limit else None)

    # endregion
    # region invocations

    def acquire_lease(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        lease_until: datetime.datetime,
        holder: str | None = None,
    ) -> Lease | None:
        with self._transaction() as db:
            row = db.execute(
                "SELECT status, lease_owner, lease_started_ms, lease_until_ms "
                "FROM executions WHERE execution_id = ?",
                (execution_id,),
            ).fetchone()
            if row is None:
                raise ExecutionNotFoundError(f"No execution with id {execution_id!r}")
            status, owner, owner_started, owner_until = row
            if status != ExecutionStatus.RUNNING.value:
                return None
            if owner is not None:
                if owner != invocation_id and owner_until > epoch_millis(now):
                    # Its holder sees what woke the execution, or its lease expires.
                    self._set_timer(
                        db, execution_id, REINVOKE_TIMER, from_epoch_millis(owner_until)
                    )
                    return None
                self._append_events(
                    db,
                    execution_id,
                    [
                        invocation_completed(
                            from_epoch_millis(owner_started), now, owner, exit_error(owner)
                        )
                    ],
                )
            db.execute(
                "UPDATE executions SET epoch = epoch + 1, lease_owner = ?, lease_holder = ?, "
                "lease_started_ms = ?, lease_until_ms = ? WHERE execution_id = ?",
                (invocation_id, holder, epoch_millis(now), epoch_millis(lease_until), execution_id),
            )
            db.execute(_DUE_BY, (execution_id, REINVOKE_TIMER, epoch_millis(lease_until)))
            return self._load_lease(db, execution_id, invocation_id, now)

    def reload(self, lease: Lease) -> Lease:
        with self._transaction() as db:
            fresh = self._load_lease(
                db, lease.execution.execution_id, lease.invocation_id, lease.started
            )
        if fresh.epoch != lease.epoch:
            raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
        return fresh

    def _load_lease(
        self,
        db: sqlite3.Connection,
        execution_id: str,
        invocation_id: str,
        started: datetime.datetime,
    ) -> Lease:
        *columns, epoch, wake_seq = db.execute(
            f"SELECT {_EXECUTION_COLUMNS}, epoch, wake_seq FROM executions "  # noqa: S608
            "WHERE execution_id = ?",
            (execution_id,),
        ).fetchone()
        record = _record(columns)
        operations = tuple(
            self._decoded.operation(row) for row in db.execute(_SELECT_OPERATIONS, (execution_id,))
        )
        return Lease(record, invocation_id, epoch, wake_seq, started, operations)

    def write(self, lease: Lease, batch: CheckpointBatch) -> None:
        with self._transaction() as db:
            remember = self._write(db, lease, batch)
        remember()

    def _write(
        self, db: sqlite3.Connection, lease: Lease, batch: CheckpointBatch
    ) -> Callable[[], None]:
        """Persist the lease's checkpoints; returns what to call once they are committed."""
        execution_id = lease.execution.execution_id
        callbacks = [
            (op.callback_details.token_hash, execution_id, op_id)
            for op_id, op in batch.operations.items()
            if op.callback_details is not None and op.callback_details.token_hash
        ]
        run = self._run(db, execution_id)
        operations = [_operation_row(run, op) for op in batch.operations.values()]
        self._append_events(db, execution_id, batch.events, epoch=lease.epoch)
        _upsert_operations(db, operations)
        if callbacks:
            db.executemany(
                "INSERT OR IGNORE INTO callbacks (token_hash, execution_id, operation_id) "
                "VALUES (?, ?, ?)",
                callbacks,
            )
        self._apply_timers(db, execution_id, batch.timers)

        def remember() -> None:
            for row, operation in zip(operations, batch.operations.values(), strict=True):
                self._decoded.remember(row[1:], operation)

        return remember

    def finish_invocation(
        self,
        lease: Lease,
        now: datetime.datetime,
        outcome: InvocationOutcome,
        batch: CheckpointBatch | None = None,
    ) -> bool:
        execution_id = lease.execution.execution_id
        with self._transaction() as db:
            epoch, wake_seq = db.execute(
                "SELECT epoch, wake_seq FROM executions WHERE execution_id = ?",
                (execution_id,),
            ).fetchone()
            if epoch != lease.epoch:
                raise LeaseLostError(f"Invocation {lease.invocation_id} lost its lease")
            remember = self._write(db, lease, batch) if batch else None
            finished = self._finish(db, lease, now, outcome, wake_seq)
        if remember is not None:
            remember()
        return finished

    def _finish(
        self,
        db: sqlite3.Connection,
        lease: Lease,
        now: datetime.datetime,
        outcome: InvocationOutcome,
        wake_seq: int,
    ) -> bool:
        """The invocation's end, once its lease is checked (see ``finish_invocation``)."""
        execution_id = lease.execution.execution_id
        if isinstance(outcome, Suspended):
            if wake_seq != lease.wake_seq:
                return False
            self._clear_timer(db, execution_id, REINVOKE_TIMER)
        db.execute(_RELEASE_LEASE, (execution_id,))
        events, ended = ending_events(lease, now, outcome)
        if ended is not None:
            status, result, error = ended
            self._end_execution(db, execution_id, status, now, result=result, error=error)
        self._append_events(db, execution_id, events)
        return True

    def abandon_invocation(
        self,
        execution_id: str,
        invocation_id: str,
        now: datetime.datetime,
        error: ErrorObject,
        retry_at: datetime.datetime,
    ) -> bool:
        with self._transaction() as db:
            row = db.execute(
                "SELECT lease_started_ms FROM executions "
                "WHERE execution_id = ? AND lease_owner = ?",
                (execution_id, invocation_id),
            ).fetchone()
            if row is None:
                return False
            db.execute(_FENCE_AND_RELEASE_LEASE, (execution_id,))
            self._set_timer(db, execution_id, REINVOKE_TIMER, retry_at)
            self._append_events(
                db,
                execution_id,
                [invocation_completed(from_epoch_millis(row[0]), now, invocation_id, error)],
            )
        return True

    # endregion
    # region timers

    def schedule_reinvoke(self, execution_id: str, due: datetime.datetime) -> None:
        with self._transaction() as db:
            self._set_timer(db, execution_id, REINVOKE_TIMER, due)

    def fire_timer(self, execution_id: str, key: str, now: datetime.datetime) -> bool:
        with self._transaction() as db:
            found = db.execute(
                "SELECT status FROM timers JOIN executions USING (execution_id) "
                "WHERE execution_id = ? AND timer_key = ?",
                (execution_id, key),
            ).fetchone()
            if found is None:
                return False
            if found[0] != ExecutionStatus.RUNNING.value:
                self._clear_timer(db, execution_id, key)
                return False
            if is_delivery_timer(key):
                redelivery = redelivery_due(key, now)
                if redelivery is not None:
                    self._set_timer(db, execution_id, key, redelivery)
                return True
            self._clear_timer(db, execution_id, key)
            if key == EXECUTION_TIMEOUT_TIMER:
                self._time_out(db, execution_id, now)
                return False
            operation_timer = parse_operation_timer(key)
            if operation_timer is None:
                return False
            kind, operation_id = operation_timer
            return self._transition_operation(
                db,
                execution_id,
                operation_id,
                now,
                lambda operation: on_timer(operation, kind, now),
            )

    def claim_function_call(
        self,
        execution_id: str,
        operation_id: str,
        now: datetime.datetime,
        deadline: datetime.datetime,
    ) -> bool:
        with self._transaction() as db:
            found = db.execute(
                "SELECT 1 FROM executions WHERE execution_id = ? AND status = ?",
                (execution_id, ExecutionStatus.RUNNING.value),
            ).fetchone()
            if found is None:
                return False
            if not self._clear_timer(db, execution_id, start_target_timer(operation_id)):
                return False
            self._set_timer(db, execution_id, function_call_timer(operation_id), deadline)
        return True

    def _time_out(self, db: sqlite3.Connection, execution_id: str, now: datetime.datetime) -> None:
        (timeout_seconds,) = db.execute(
            "SELECT timeout_seconds FROM executions WHERE execution_id = ?",
            (execution_id,),
        ).fetchone()
        error = timed_out_error(timeout_seconds)
        self._terminate(db, execution_id, ExecutionStatus.TIMED_OUT, now, error)

    def due_timers(
        self,
        now: datetime.datetime,
        limit: int,
        function_names: Collection[str] | None = None,
    ) -> Sequence[DueTimer]:
        of_functions, names = _of_functions(function_names)
        with self._lock:
            rows = self._db.execute(
                "SELECT execution_id, timer_key, due_ms FROM timers "  # noqa: S608 - fixed fragments
                f"WHERE due_ms <= ? {of_functions} ORDER BY due_ms LIMIT ?",
                (epoch_millis(now), *names, limit),
            ).fetchall()
        return [
            DueTimer(execution_id, key, from_epoch_millis(due)) for execution_id, key, due in rows
        ]

    def next_timer_due(
        self, function_names: Collection[str] | None = None
    ) -> datetime.datetime | None:
        of_functions, names = _of_functions(function_names)
        with self._lock:
            (due,) = self._db.execute(
                f"SELECT MIN(due_ms) FROM timers WHERE TRUE {of_functions}",  # noqa: S608 - fixed fragments
                names,
            ).fetchone()
        return from_millis(due)

    # endregion
    # region callbacks

    def change_callback(
        self, token_hash: str, change: CallbackChange, now: datetime.datetime
    ) -> str:
        with self._transaction() as db:
            found = db.execute(
                "SELECT execution_id, operation_id FROM callbacks WHERE token_hash = ?",
                (token_hash,),
            ).fetchone()
            if found is None:
                raise CallbackNotFoundError(CALLBACK_NOT_FOUND)
            execution_id, operation_id = found
            (status,) = db.execute(
                "SELECT status FROM executions WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            operation = waiting_callback(
                status, self._read_operation(db, execution_id, operation_id)
            )
            transition = change(operation, now)
            woke = transition.operation.status is not operation.status
            self._apply_transition(db, execution_id, transition, now, wake=woke)
        return str(execution_id)

    # endregion
    # region outcomes decided outside the execution

    def complete_operation(
        self,
        execution_id: str,
        operation_id: str,
        completion: Completion,
        now: datetime.datetime,
    ) -> bool:
        with self._transaction() as db:
            return self._complete_operation(db, execution_id, operation_id, completion, now)

    def _complete_operation(
        self,
        db: sqlite3.Connection,
        execution_id: str,
        operation_id: str,
        completion: Completion,
        now: datetime.datetime,
    ) -> bool:
        status = db.execute(
            "SELECT status FROM executions WHERE execution_id = ?", (execution_id,)
        ).fetchone()
        if status is None or status[0] != ExecutionStatus.RUNNING.value:
            return False
        return self._transition_operation(
            db,
            execution_id,
            operation_id,
            now,
            lambda operation: on_completion(operation, completion, now),
        )

    def stop_execution(self, execution_id: str, now: datetime.datetime, error: ErrorObject) -> bool:
        with self._transaction() as db:
            if not self._is_running(db, execution_id):
                return False
            self._terminate(db, execution_id, ExecutionStatus.STOPPED, now, error)
        return True

    def time_out_execution(self, execution_id: str, now: datetime.datetime) -> bool:
        with self._transaction() as db:
            if not self._is_running(db, execution_id):
                return False
            self._time_out(db, execution_id, now)
        return True

    @staticmethod
    def _is_running(db: sqlite3.Connection, execution_id: str) -> bool:
        """Whether the execution is RUNNING; ExecutionNotFoundError when there is none."""
        row = db.execute(
            "SELECT status FROM executions WHERE execution_id = ?", (execution_id,)
        ).fetchone()
        if row is None:
            raise ExecutionNotFoundError(f"No execution with id {execution_id!r}")
        return bool(row[0] == ExecutionStatus.RUNNING.value)

    # endregion
    # region reads

    def get_operations(self, execution_id: str) -> list[Operation]:
        with self._lock:
            rows = self._db.execute(_SELECT_OPERATIONS, (execution_id,)).fetchall()
        return [self._decoded.operation(row) for row in rows]

    def get_history(self, execution_id: str) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT first_event_id, body FROM events WHERE run = {_RUN_OF} "  # noqa: S608
                "ORDER BY last_event_id",
                (execution_id,),
            ).fetchall()
        return [
            {**event, "EventId": event_id}
            for first_event_id, body in rows
            for event_id, event in enumerate(json.loads(body), start=first_event_id)
        ]

    def opener(self) -> Callable[[], SqliteStore]:
        if self.volatile:
            msg = "An in-memory SQLite store cannot be opened by another process; use a file"
            raise ValidationError(msg)
        return functools.partial(type(self), self.path, durability=self.durability)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # endregion
    # region helpers

    def _append_events(
        self,
        db: sqlite3.Connection,
        execution_id: str,
        events: Sequence[Event],
        epoch: int | None = None,
    ) -> None:
        """Append ``events`` after the execution's last ones.

        With ``epoch``, only while the execution runs under that epoch (the
        writer's fence): otherwise LeaseLostError, and nothing is written.
        """
        if events:
            run = self._run(db, execution_id)
            written = db.execute(_APPEND_EVENTS, (run, len(events), compact_json(events), epoch))
            if written.rowcount:
                return
        elif (
            epoch is None
            or db.execute(
                "SELECT 1 FROM executions WHERE execution_id = ? AND epoch = ? AND status = ?",
                (execution_id, epoch, ExecutionStatus.RUNNING.value),
            ).fetchone()
        ):
            return
        msg = f"Execution {execution_id} is no longer held by this invocation"
        raise LeaseLostError(msg)

    def _run(self, db: sqlite3.Connection, execution_id: str) -> int:
        """The execution's row number (see ``_RUN_OF``), kept once read: it never changes."""
        run = self._runs.get(execution_id)
        if run is None:
            row = db.execute(
                "SELECT run FROM executions WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            if row is None:
                raise ExecutionNotFoundError(f"No execution with id {execution_id!r}")
            if len(self._runs) >= _KEPT_RUNS:
                self._runs.clear()
            run = self._runs[execution_id] = row[0]
        return run

    @staticmethod
    def _read_operation(
        db: sqlite3.Connection, execution_id: str, operation_id: str
    ) -> Operation | None:
        row = db.execute(
            f"SELECT {_OPERATION_COLUMNS} FROM operations "  # noqa: S608
            f"WHERE run = {_RUN_OF} AND operation_id = ?",
            (execution_id, operation_id),
        ).fetchone()
        return _operation(row) if row is not None else None

    def _transition_operation(
        self,
        db: sqlite3.Connection,
        execution_id: str,
        operation_id: str,
        now: datetime.datetime,
        transition_of: Callable[[Operation], Transition | None],
    ) -> bool:
        """Apply a waker's transition of a recorded operation; False when there is none."""
        operation = self._read_operation(db, execution_id, operation_id)
        transition = transition_of(operation) if operation is not None else None
        if transition is None:
            return False
        self._apply_transition(db, execution_id, transition, now, wake=True)
        return True

    def _apply_transition(
        self,
        db: sqlite3.Connection,
        execution_id: str,
        transition: Transition,
        now: datetime.datetime,
        *,
        wake: bool,
    ) -> None:
        """Persist a waker's transition of an existing operation; ``wake`` bumps
        wake_seq and makes the execution due ``now``."""
        operation = transition.operation
        self._append_events(db, execution_id, transition.events)
        _upsert_operations(db, [_operation_row(self._run(db, execution_id), operation)])
        self._apply_timers(db, execution_id, {t.key: t.due for t in transition.timers})
        if wake:
            db.execute(
                "UPDATE executions SET wake_seq = wake_seq + 1 WHERE execution_id = ?",
                (execution_id,),
            )
            self._set_timer(db, execution_id, REINVOKE_TIMER, now)

    def _apply_timers(
        self,
        db: sqlite3.Connection,
        execution_id: str,
        timers: Mapping[str, datetime.datetime | None],
    ) -> None:
        for key, due in timers.items():
            if due is None:
                self._clear_timer(db, execution_id, key)
            else:
                self._set_timer(db, execution_id, key, due)

    @staticmethod
    def _set_timer(
        db: sqlite3.Connection, execution_id: str, key: str, due: datetime.datetime
    ) -> None:
        db.execute(
            "INSERT OR REPLACE INTO timers (execution_id, timer_key, due_ms) VALUES (?, ?, ?)",
            (execution_id, key, epoch_millis(due)),
        )

    @staticmethod
    def _clear_timer(db: sqlite3.Connection, execution_id: str, key: str) -> int:
        return db.execute(
            "DELETE FROM timers WHERE execution_id = ? AND timer_key = ?",
            (execution_id, key),
        ).rowcount

    def _terminate(
        self,
        db: sqlite3.Connection,
        execution_id: str,
        status: ExecutionStatus,
        now: datetime.datetime,
        error: ErrorObject,
    ) -> None:
        """End a RUNNING execution from outside (timeout, stop), fencing off its invocation."""
        db.execute(_FENCE_AND_RELEASE_LEASE, (execution_id,))
        self._end_execution(db, execution_id, status, now, error=error)
        self._append_events(db, execution_id, [terminated_event(status, now, error)])

    def _end_execution(
        self,
        db: sqlite3.Connection,
        execution_id: str,
        status: ExecutionStatus,
        now: datetime.datetime,
        *,
        result: str | None = None,
        error: ErrorObject | None = None,
    ) -> None:
        """Record the end; complete the parent's invoke of it and stop its children."""
        db.execute(
            "UPDATE executions SET status = ?, result = ?, error = ?, end_ms = ? "
            "WHERE execution_id = ?",
            (
                status.value,
                result,
                compact_json(error.to_dict()) if error else None,
                epoch_millis(now),
                execution_id,
            ),
        )
        db.execute("DELETE FROM timers WHERE execution_id = ?", (execution_id,))
        record = _record(
            db.execute(
                f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE execution_id = ?",  # noqa: S608
                (execution_id,),
            ).fetchone()
        )
        if record.parent_execution_id is not None and record.parent_operation_id is not None:
            self._complete_operation(
                db,
                record.parent_execution_id,
                record.parent_operation_id,
                child_completion(record),
                now,
            )
        children = db.execute(
            "SELECT execution_id FROM executions WHERE parent_execution_id = ? AND status = ?",
            (execution_id, ExecutionStatus.RUNNING.value),
        ).fetchall()
        for (child_id,) in children:
            self._terminate(
                db, child_id, ExecutionStatus.STOPPED, now, parent_ended_error(execution_id, status)
            )

    # endregion


_RELEASE_LEASE = (
    "UPDATE executions SET lease_owner = NULL, lease_holder = NULL, lease_started_ms = NULL, "
    "lease_until_ms = NULL WHERE execution_id = ?"
)
"""Release an execution's lease."""
_FENCE_AND_RELEASE_LEASE = (
    "UPDATE executions SET epoch = epoch + 1, lease_owner = NULL, lease_holder = NULL, "
    "lease_started_ms = NULL, lease_until_ms = NULL WHERE execution_id = ?"
)
"""Release an execution's lease and cut its holder off: its next write finds another epoch."""

_DUE_BY = """
INSERT INTO timers (execution_id, timer_key, due_ms) VALUES (?, ?, ?)
ON CONFLICT (execution_id, timer_key) DO UPDATE SET due_ms = MIN(due_ms, excluded.due_ms)
"""
"""Set a timer due by a time: one due earlier already stays."""

_RUN_OF = "(SELECT run FROM executions WHERE execution_id = ?)"
"""The execution's row number: operations and events are keyed by it, not by the
long execution id, so that their rows and index pages stay small."""

_KEPT_RUNS = 10_000
"""How many execution ids a store keeps the row numbers of before it starts over."""

_APPEND_EVENTS = """
INSERT INTO events (run, last_event_id, first_event_id, body)
SELECT ?1, seen + ?2, seen + 1, ?3 FROM (
    SELECT (SELECT COALESCE(MAX(last_event_id), 0) FROM events WHERE run = ?1) AS seen
    FROM executions
    WHERE run = ?1 AND (?4 IS NULL OR (epoch = ?4 AND status = 'RUNNING'))
)
"""
"""One write's events (?3) of run ?1, numbered after the last ones; with an epoch (?4),
fenced by it."""

_OPERATION_COLUMNS = (
    "operation_id, type, status, parent_id, name, sub_type, start_ms, end_ms, details"
)
_SELECT_OPERATIONS = (
    f"SELECT {_OPERATION_COLUMNS} FROM operations WHERE run = {_RUN_OF} "  # noqa: S608
    "ORDER BY rowid"
)
_UPSERT_ROWS_PER_STATEMENT = 90
"""Rows per upsert statement: 900 parameters, under SQLite's oldest limit of 999."""


def _of_functions(function_names: Collection[str] | None) -> tuple[str, list[str]]:
    """The condition on timers that keeps those of these functions' executions, and its values."""
    if function_names is None:
        return "", []
    names = sorted(function_names)
    marks = ", ".join("?" * len(names))
    condition = (
        "AND execution_id IN "  # noqa: S608 - placeholders only
        f"(SELECT execution_id FROM executions WHERE function_name IN ({marks}))"
    )
    return condition, names


def _upsert_operations(db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert or update operation rows, many per statement.

    ``executemany`` steps once per row, and every step gives up the interpreter
    lock; with branch threads running, taking it back is what a write waits for.
    """
    for start in range(0, len(rows), _UPSERT_ROWS_PER_STATEMENT):
        chunk = rows[start : start + _UPSERT_ROWS_PER_STATEMENT]
        db.execute(_upsert_statement(len(chunk)), [value for row in chunk for value in row])


@functools.cache
def _upsert_statement(row_count: int) -> str:
    """The upsert of ``row_count`` operation rows."""
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * row_count)
    return (
        "INSERT INTO operations (run, operation_id, type, status, parent_id, name, "  # noqa: S608 - placeholders only
        f"sub_type, start_ms, end_ms, details) VALUES {values} "
        "ON CONFLICT (run, operation_id) DO UPDATE SET status = excluded.status, "
        "start_ms = excluded.start_ms, end_ms = excluded.end_ms, details = excluded.details"
    )


def _operation_row(run: int, operation: Operation) -> tuple[Any, ...]:
    """An operation as stored in run ``run``: its identity in columns, its details as JSON."""
    details = operation.details_to_json_dict()
    return (
        run,
        operation.operation_id,
        operation.operation_type._value_,
        operation.status._value_,
        operation.parent_id,
        operation.name,
        operation.sub_type,
        to_millis(operation.start_timestamp),
        to_millis(operation.end_timestamp),
        compact_json(details) if details else None,
    )


class _Transaction:
    """``with``: the connection inside one write transaction, under the store's lock.

    A class rather than a generator context manager: a step's checkpoint opens one.
    """

    __slots__ = ("_db", "_lock")

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            self._lock.release()


class _DecodedOperations:
    """Operations decoded from their rows, kept by row.

    Every invocation of an execution reloads the rows of all its operations,
    and most are unchanged since the last load; an unchanged row is the same
    tuple, and an Operation is immutable, so it is decoded once. A row this
    store wrote is never decoded: the operation it was written from is kept
    (its timestamps are whole milliseconds, so it equals the decoded one).
    Bounded: past ``limit`` rows the cache starts over.
    """

    def __init__(self, limit: int = 20_000) -> None:
        self._by_row: dict[tuple[Any, ...], Operation] = {}
        self._limit = limit

    def operation(self, row: tuple[Any, ...]) -> Operation:
        operation = self._by_row.get(row)
        if operation is None:
            operation = _operation(row)
            self.remember(row, operation)
        return operation

    def remember(self, row: tuple[Any, ...], operation: Operation) -> None:
        """Keep ``operation`` as what ``row`` decodes to."""
        if len(self._by_row) >= self._limit:
            self._by_row.clear()
        self._by_row[row] = operation


def _operation(row: Sequence[Any]) -> Operation:
    operation_id, type_, status, parent_id, name, sub_type, start_ms, end_ms, details = row
    return Operation.from_stored(
        operation_id=operation_id,
        operation_type=type_,
        status=status,
        parent_id=parent_id,
        name=name,
        sub_type=sub_type,
        start_millis=start_ms,
        end_millis=end_ms,
        details=json.loads(details) if details else {},
    )


def _record(row: Sequence[Any]) -> ExecutionRecord:
    (
        execution_id,
        function_name,
        execution_name,
        status,
        input_payload,
        result,
        error,
        start_ms,
        end_ms,
        timeout_seconds,
        parent_execution_id,
        parent_operation_id,
        lease_owner,
        lease_holder,
        lease_started_ms,
        lease_until_ms,
    ) = row
    lease = (
        LeaseHolder(
            lease_owner,
            lease_holder,
            from_epoch_millis(lease_started_ms),
            from_epoch_millis(lease_until_ms),
        )
        if lease_owner is not None
        else None
    )
    return ExecutionRecord(
        execution_id=execution_id,
        function_name=function_name,
        execution_name=execution_name,
        status=ExecutionStatus(status),
        input_payload=input_payload,
        start_timestamp=from_epoch_millis(start_ms),
        result=result,
        error=ErrorObject.from_dict(json.loads(error)) if error else None,
        end_timestamp=from_millis(end_ms),
        timeout_seconds=timeout_seconds,
        parent_execution_id=parent_execution_id,
        parent_operation_id=parent_operation_id,
        lease=lease,
    )
