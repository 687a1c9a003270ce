"""The main job: run the example workflows end to end on the local engine,
then synthesize the CDK app.

Timers run on the wall clock, as a deployed engine's would, so retry delays
take the seconds they say. Each run prints its result and its history. The
approval workflow waits for a person: the demo prints the callback URL and
completes it over HTTP, as the approver would with curl. The CDK app
(``app.py``) is synthesized into ``cdk.out/``, as ``cdk synth`` would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from durable_lambda.callback_ids import callback_url
from durable_lambda.local import LocalEngine
from durable_lambda.testing.runner import waiting_callback_id
from examples import (
    agent_loop,
    approval,
    batch,
    custom_serdes,
    nested_workflows,
    retry_by_error_type,
    step_semantics,
)

LINE_WIDTH = 160
PROJECT = Path(__file__).resolve().parent.parent

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
    (
        "orchestrator",
        nested_workflows.orchestrator,
        {"batches": [{"items": ["a", "b", "c"]}, {"items": ["d", "e"]}]},
    ),
]


def describe(event: dict[str, Any]) -> str:
    details = next((v for k, v in event.items() if k.endswith("Details")), {})
    summary = {k: v for k, v in details.items() if k not in ("StartTimestamp", "EndTimestamp")}
    label = f"{event.get('Name') or ''} ({event['Id']})" if "Id" in event else ""
    text = f"  {event['EventId']:>3}  {event['EventType']:<20} {label:<28} {summary or ''}"
    return text if len(text) <= LINE_WIDTH else text[: LINE_WIDTH - 3] + "..."


def waiting_callback(engine: LocalEngine, execution_id: str, timeout: float = 30) -> str:
    """The id of the execution's callback once it waits for its caller."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        callback_id = waiting_callback_id(engine.get_history(execution_id))
        if callback_id is not None:
            return callback_id
        time.sleep(0.05)
    msg = f"No callback of {execution_id} waited within {timeout} s"
    raise TimeoutError(msg)


def approve_over_http(engine: LocalEngine, execution_id: str) -> None:
    """Complete the approval callback as the approver would, with an HTTP POST."""
    url = callback_url(engine.callback_endpoint, waiting_callback(engine, execution_id))
    body = json.dumps({"approved_by": "alice@example.com"})
    print(f"\napproval requested: {approval.OUTBOX[-1]}")
    print(f"approve with: curl -X POST {url}/succeed -d '{body}'")
    request = urllib.request.Request(  # noqa: S310 - the engine's loopback URL
        f"{url}/succeed", data=body.encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        print(f"POST {url}/succeed -> {response.status}")


def run(
    engine: LocalEngine,
    name: str,
    handler: Callable[..., Any],
    event: dict[str, Any],
    respond: Callable[[LocalEngine, str], None] | None = None,
) -> None:
    engine.register_durable_function(name, handler)
    execution_id = engine.start_execution(name, json.dumps(event))
    if respond is not None:
        respond(engine, execution_id)
    record = engine.wait_for_completion(execution_id, timeout=120)
    print(f"\n== {name}: {record.status.value}")
    print(f"result: {record.result if record.error is None else record.error}")
    for history_event in engine.get_history(execution_id):
        print(describe(history_event))


def synthesize() -> None:
    """Synthesize the CDK app into ``cdk.out/`` and print what it would deploy."""
    outdir = PROJECT / "cdk.out"
    environment = {**os.environ, "CDK_OUTDIR": str(outdir)}
    subprocess.run(  # noqa: S603 - this interpreter running the project's own app
        [sys.executable, str(PROJECT / "app.py")], check=True, cwd=PROJECT, env=environment
    )
    manifest = json.loads((outdir / "manifest.json").read_text())
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            template = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
            print(f"\n== cdk synth: {name} -> {outdir}")
            for line in deployment(template):
                print(line)


def deployment(template: dict[str, Any]) -> list[str]:
    """What a stack's template would deploy: its durable functions, resources and outputs."""
    resources = template["Resources"].items()
    durable = [
        f"  {logical_id}: {resource['Properties']['Handler']}"
        for logical_id, resource in resources
        if "DURABLE_LAMBDA_EXECUTION_TIMEOUT_SECONDS"
        in resource["Properties"].get("Environment", {}).get("Variables", {})
    ]
    counts = Counter(resource["Type"] for _, resource in resources)
    return [
        f"durable functions ({len(durable)}):",
        *durable,
        f"resources ({sum(counts.values())}):",
        *(f"  {count:>3} {kind}" for kind, count in sorted(counts.items())),
        f"outputs: {', '.join(template.get('Outputs', {}))}",
    ]


def main() -> None:
    with LocalEngine() as engine:
        engine.register_durable_function(nested_workflows.WORKER_NAME, nested_workflows.worker)
        for name, handler, event in WORKFLOWS:
            run(engine, name, handler, event)
        run(
            engine,
            "approval",
            approval.handler,
            {"approver_email": "alice@example.com"},
            respond=approve_over_http,
        )
    synthesize()


if __name__ == "__main__":
    main()
