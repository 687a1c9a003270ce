"""Runs the AWS conformance requirements in tests/conformance/ on the local engine.

Each YAML names a handler in words, its input, the expected result and the
expected history. A suite module registers one handler per requirement with
``@suite.requirement("1-1")``; ``suite.check(requirement_id, caplog)`` runs it
and matches result, history and logs by the rules of tests/conformance/README.md.
A requirement's ``setup`` prepares the runner first (e.g. registers the
functions a handler invokes).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import re
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from stores import opened_store

from durable_lambda.concurrency.models import BatchResult
from durable_lambda.local.engine import InvocationIsolation
from durable_lambda.store.contract import ExecutionStatus, Store
from durable_lambda.testing import DurableFunctionTestRunner

CONFORMANCE_DIR = Path(__file__).parent / "conformance"
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def load_requirement(suite: str, requirement_id: str) -> dict[str, Any]:
    text = (CONFORMANCE_DIR / suite / f"{requirement_id}.yaml").read_text()
    return yaml.safe_load(text)  # type: ignore[no-any-return]


def requirement_ids(suite: str) -> list[str]:
    paths = (CONFORMANCE_DIR / suite).glob("*.yaml")
    return sorted((p.stem for p in paths), key=lambda s: [int(n) for n in s.split("-")])


class Bindings:
    """Variables of one requirement: generated inputs and ``${NAME}`` bindings."""

    def __init__(self, variables: Mapping[str, str] | None) -> None:
        self.values: dict[str, Any] = {}
        for name, generator in (variables or {}).items():
            match = re.fullmatch(r"\$\{GEN_STR:(\d+)\}", generator)
            assert match, f"unsupported variable generator {generator!r}"
            alphabet = string.ascii_lowercase + string.digits
            self.values[name] = "".join(secrets.choice(alphabet) for _ in range(int(match[1])))

    def substitute(self, value: Any) -> Any:
        """Replace ``${NAME}`` of known variables inside strings, recursively."""
        if isinstance(value, str):
            whole = _PLACEHOLDER.fullmatch(value)
            if whole and whole[1] in self.values:
                return self.values[whole[1]]
            return _PLACEHOLDER.sub(
                lambda m: str(self.values[m[1]]) if m[1] in self.values else m[0], value
            )
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        return value


def match(expected: Any, actual: Any, bindings: Bindings, path: str) -> list[str]:
    """Mismatches between an expected value (with placeholders) and an actual one."""
    if expected == "*":
        return []
    if isinstance(expected, dict):
        if not expected:
            return []
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        problems: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(match(value, actual[key], bindings, f"{path}.{key}"))
        return problems
    if isinstance(expected, str):
        whole = _PLACEHOLDER.fullmatch(expected)
        if whole and whole[1].startswith("/") and whole[1].endswith("/"):
            pattern = whole[1][1:-1]
            ok = re.search(pattern, str(actual)) is not None
            return [] if ok else [f"{path}: {actual!r} does not match /{pattern}/"]
        if whole and whole[1] not in bindings.values:
            bindings.values[whole[1]] = actual
            return []
        expected = bindings.substitute(expected)
    if expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []


def match_history(
    expected_events: list[dict[str, Any]], events: list[dict[str, Any]], bindings: Bindings
) -> list[str]:
    by_id = {event["EventId"]: event for event in events}
    problems: list[str] = []
    for expected in expected_events:
        event_id = expected["EventId"]
        actual = by_id.get(event_id)
        if actual is None:
            problems.append(f"event {event_id}: missing")
            continue
        problems.extend(match(expected, actual, bindings, f"event {event_id}"))
    return problems


def describe(events: list[dict[str, Any]]) -> str:
    lines = []
    for event in events:
        details = {k: v for k, v in event.items() if k.endswith("Details")}
        lines.append(
            f"  {event['EventId']:>3} {event['EventType']:<22} id={event.get('Id')} "
            f"parent={event.get('ParentId')} name={event.get('Name')} {details}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class Registration:
    handler: Callable[..., Any]
    isolation: InvocationIsolation = "thread"
    setup: Callable[[DurableFunctionTestRunner], object] | None = None


@dataclass
class Suite:
    """The handlers of one conformance suite, by requirement id."""

    name: str
    registrations: dict[str, Registration] = field(default_factory=dict)

    def requirement(
        self,
        requirement_id: str,
        *,
        isolation: InvocationIsolation = "thread",
        setup: Callable[[DurableFunctionTestRunner], object] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.registrations[requirement_id] = Registration(handler, isolation, setup)
            return handler

        return register

    def ids(self) -> list[str]:
        return requirement_ids(self.name)

    def check(self, requirement_id: str, caplog: pytest.LogCaptureFixture) -> None:
        """Run the requirement's handler and match result, history and logs.

        Handlers run in threads run on every store: the test runner's default
        (in memory), SQLite in memory and DynamoDB (moto, in this process), so
        each store meets every requirement.
        """
        registration = self.registrations.get(requirement_id)
        assert registration is not None, f"no handler registered for {self.name} {requirement_id}"
        kinds = [None] + (
            ["sqlite-memory", "dynamodb"] if registration.isolation == "thread" else []
        )
        for kind in kinds:
            caplog.clear()
            with (
                contextlib.nullcontext(None) if kind is None else opened_store(kind, Path())
            ) as store:
                self._check_on(store, requirement_id, registration, caplog)

    def _check_on(
        self,
        store: Store | None,
        requirement_id: str,
        registration: Registration,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        spec = load_requirement(self.name, requirement_id)
        bindings = Bindings(spec.get("Variables"))
        event = bindings.substitute(spec.get("Input"))
        payload = json.dumps(event) if event is not None else None
        caplog.set_level(logging.INFO)
        with DurableFunctionTestRunner(
            registration.handler, store=store, invocation_isolation=registration.isolation
        ) as runner:
            store_name = type(runner.engine.store).__name__
            if registration.setup is not None:
                registration.setup(runner)
            expected_history = spec.get("ExpectedExecutionHistory") or []
            execution_id = runner.run_async(payload)
            if spec.get("AsyncInvoke") and "ExpectedResult" not in spec:
                events = _wait_for_events(runner, execution_id, len(expected_history) + 1)
            else:
                actions = bindings.substitute(spec.get("CallbackActions") or [])
                perform_callback_actions(runner, execution_id, actions)
                result = runner.wait_for_result(execution_id)
                events = runner.engine.get_history(execution_id)
                _check_result(spec.get("ExpectedResult") or {}, result, bindings, events)
        problems = match_history(expected_history, events, bindings)
        assert not problems, (
            f"history mismatch on {store_name}:\n" + "\n".join(problems) + "\n" + describe(events)
        )
        _check_logs(spec.get("ExpectedLogs") or [], caplog.records, bindings)


_CALLBACK_ENDINGS = frozenset({"CallbackSucceeded", "CallbackFailed", "CallbackTimedOut"})


def perform_callback_actions(
    runner: DurableFunctionTestRunner, execution_id: str, actions: list[dict[str, Any]]
) -> None:
    """Send each action at virtual time CallbackStarted + Delay of the callback it names.

    An action names a callback by ``CallbackName`` ('*' for any) and applies to
    the first such callback still waiting. Time moves only by skipping the
    engine's clock, timer by timer, so timers and actions happen in the order
    of their virtual times and no real second is slept.
    """
    engine = runner.engine
    pending = list(enumerate(actions))
    while pending:
        engine.wait_until_idle()
        events = engine.get_history(execution_id)
        ended = {e["Id"] for e in events if e["EventType"] in _CALLBACK_ENDINGS}
        waiting = [
            e for e in events if e["EventType"] == "CallbackStarted" and e["Id"] not in ended
        ]
        scheduled = []
        for index, action in pending:
            target = next(
                (e for e in waiting if action["CallbackName"] in ("*", e.get("Name"))), None
            )
            if target is not None:
                due = target["EventTimestamp"] + datetime.timedelta(seconds=action.get("Delay", 0))
                scheduled.append((due, index, action, target))
        if not scheduled:
            if engine.get_execution(execution_id).status is not ExecutionStatus.RUNNING:
                return
            assert engine.skip_to_next_timer(), f"no callback for the actions {pending}"
            continue
        due, index, action, target = min(scheduled, key=lambda s: (s[0], s[1]))
        next_timer = engine.store.next_timer_due()
        if next_timer is not None and next_timer < due:
            engine.skip_to_next_timer()
            continue
        engine.advance_time(max(0.0, (due - engine.clock.now()).total_seconds()))
        _send(runner, action, target["CallbackStartedDetails"]["CallbackId"])
        pending.remove((index, action))


def _send(runner: DurableFunctionTestRunner, action: dict[str, Any], callback_id: str) -> None:
    match action["Operation"]:
        case "success":
            result = json.dumps(action["Payload"]).encode() if "Payload" in action else None
            runner.send_callback_success(callback_id, result)
        case "failure":
            runner.send_callback_failure(callback_id, action.get("Payload"))
        case "heartbeat":
            runner.send_callback_heartbeat(callback_id)
        case other:
            raise AssertionError(f"unknown callback action {other!r}")


def _wait_for_events(
    runner: DurableFunctionTestRunner, execution_id: str, count: int
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = runner.engine.get_history(execution_id)
        if len(events) >= count:
            return events
        time.sleep(0.02)
    raise AssertionError(f"history did not reach {count} events:\n{describe(events)}")


def _check_result(
    expected: Mapping[str, Any], result: Any, bindings: Bindings, events: list[dict[str, Any]]
) -> None:
    status = expected.get("ExecutionStatus")
    if status is not None:
        assert result.execution_status.value == status, (
            f"status {result.execution_status.value}, expected {status}; "
            f"error {result.error}\n{describe(events)}"
        )
    if "Result" in expected:
        actual = json.loads(result.result) if result.result is not None else None
        problems = match(expected["Result"], actual, bindings, "Result")
        assert not problems, "result mismatch: " + "; ".join(problems)


def _check_logs(
    expectations: list[dict[str, Any]], records: list[logging.LogRecord], bindings: Bindings
) -> None:
    lines = [f"[{r.levelname}] {r.getMessage()}" for r in records]
    for expectation in expectations:
        pattern = bindings.substitute(expectation["match"]["message"])
        regex = (
            pattern[1:-1]
            if pattern.startswith("/") and pattern.endswith("/")
            else re.escape(pattern)
        )
        count = sum(1 for line in lines if re.search(regex, line))
        assert count == expectation["count"], (
            f"log /{regex}/ appeared {count} times, expected {expectation['count']}:\n"
            + "\n".join(lines)
        )


BATCH_FIELDS = ("completionReason", "status", "successCount", "failureCount", "totalCount")


def batch_projection(result: BatchResult[Any], *fields: str) -> dict[str, Any]:
    """A batch result's fields a requirement asks for, by their AWS names."""
    values = {
        "completionReason": result.completion_reason.value,
        "status": result.status.value,
        "successCount": result.success_count,
        "failureCount": result.failure_count,
        "totalCount": result.total_count,
    }
    return {name: values[name] for name in fields}
