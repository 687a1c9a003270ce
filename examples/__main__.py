"""The main job: run the example workflows end to end on the local engine.

Timers run on the wall clock, as a deployed engine's would, so retry delays
take the seconds they say. Each run prints its result and its history.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from durable_lambda.local import LocalEngine
from examples import agent_loop, batch, custom_serdes, retry_by_error_type, step_semantics

LINE_WIDTH = 160

WORKFLOWS: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    ("agent-loop", agent_loop.handler, {"prompt": "What is the weather in Lisbon?"}),
    (
        "retry-by-error-type",
        retry_by_error_type.handler,
        {"failures": [{"status": 503}, {"code": "ECONNREFUSED"}]},
    ),
    ("custom-serdes", custom_serdes.handler, {}),
    (
        "step-semantics",
        step_semantics.handler,
        {"user_id": "u-1", "data": {"plan": "pro"}, "email": "u1@example.com"},
    ),
    ("completion-policy-7-successes", batch.process_items, {"outcomes": "ssssssssss"}),
    ("completion-policy-4-failures", batch.process_items, {"outcomes": "sfsfsfssff"}),
    ("completion-policy-7-and-2", batch.process_items, {"outcomes": "sfssfssss" + "s"}),
    ("find-match", batch.find_match, {"candidates": ["a", "b", "c", "d"], "wanted": "b"}),
]


def describe(event: dict[str, Any]) -> str:
    details = next((v for k, v in event.items() if k.endswith("Details")), {})
    summary = {k: v for k, v in details.items() if k not in ("StartTimestamp", "EndTimestamp")}
    label = f"{event.get('Name') or ''} ({event['Id']})" if "Id" in event else ""
    text = f"  {event['EventId']:>3}  {event['EventType']:<20} {label:<28} {summary or ''}"
    return text if len(text) <= LINE_WIDTH else text[: LINE_WIDTH - 3] + "..."


def main() -> None:
    with LocalEngine() as engine:
        for name, handler, event in WORKFLOWS:
            engine.register_durable_function(name, handler)
            execution_id = engine.start_execution(name, json.dumps(event))
            record = engine.wait_for_completion(execution_id, timeout=120)
            print(f"\n== {name}: {record.status.value}")
            print(f"result: {record.result if record.error is None else record.error}")
            for history_event in engine.get_history(execution_id):
                print(describe(history_event))


if __name__ == "__main__":
    main()
