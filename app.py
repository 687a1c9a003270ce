"""The example CDK app: one engine, and every seed pattern in examples/ as a durable function.

``cdk synth`` (or ``python app.py``) synthesizes the stack DurableLambdaExamples,
checked by cdk-nag's AwsSolutions and Serverless packs: a finding that is not
acknowledged, with its reason, on the resource it concerns fails the synth.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import cx_api
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from durable_lambda_cdk import DurableEngine, DurableFunction, PythonCode
from durable_lambda_cdk.acknowledgements import acknowledge

STACK_NAME = "DurableLambdaExamples"
EXAMPLES = Path(__file__).resolve().parent / "examples"
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

WORKFLOWS = {
    "AgentLoop": "agent_loop.handler",
    "Approval": "approval.handler",
    "ProcessItems": "batch.process_items",
    "FindMatch": "batch.find_match",
    "CustomSerdes": "custom_serdes.handler",
    "ProcessBatch": "nested_workflows.worker",
    "Orchestrator": "nested_workflows.orchestrator",
    "RetryByErrorType": "retry_by_error_type.handler",
    "StepSemantics": "step_semantics.handler",
}
"""Each seed pattern's function: its construct id and its handler in examples/ (the
orchestrator after its worker, whose name it reads from ``CHILD_FUNCTION_NAME``)."""


class ExamplesStack(cdk.Stack):
    """The engine and the example workflows."""

    def __init__(self, scope: cdk.App, id: str) -> None:  # noqa: A002 - the construct id
        super().__init__(scope, id)
        self.engine = DurableEngine(self, "Engine")
        code = PythonCode.from_entry(str(EXAMPLES), runtime=RUNTIME, architecture=ARCHITECTURE)
        self.functions: dict[str, DurableFunction] = {}
        for name, handler in WORKFLOWS.items():
            worker = self.functions.get("ProcessBatch")
            function = DurableFunction(
                self,
                name,
                engine=self.engine,
                durable_config=lambda_.DurableConfig(
                    execution_timeout=cdk.Duration.days(2),
                    retention_period=cdk.Duration.days(14),
                ),
                code=code,
                handler=handler,
                runtime=RUNTIME,
                architecture=ARCHITECTURE,
                memory_size=512,
                timeout=cdk.Duration.minutes(1),
                environment=(
                    {"CHILD_FUNCTION_NAME": worker.function_name}
                    if worker and name == "Orchestrator"
                    else None
                ),
            )
            acknowledge(
                function,
                "Serverless-LambdaTracing",
                "The examples log their steps; X-Ray tracing would grant xray:PutTraceSegments "
                "on every resource ('*').",
            )
            self.functions[name] = function
        self.functions["Orchestrator"].grant_invoke_durable(self.functions["ProcessBatch"])


def check_with_cdk_nag(app: cdk.App) -> None:
    """Run cdk-nag's AwsSolutions and Serverless packs on every resource of ``app``."""
    cdk.Aspects.of(app).add(AwsSolutionsChecks(reports=False))
    cdk.Aspects.of(app).add(ServerlessChecks(reports=False))


def findings(assembly: cx_api.CloudAssembly) -> list[str]:
    """What cdk-nag reported and nothing acknowledged: ``<resource path>: <rule>: <why>``."""
    reported = (cx_api.SynthesisMessageLevel.ERROR, cx_api.SynthesisMessageLevel.WARNING)
    return [
        f"{message.id}: {str(message.entry.data).strip()}"
        for stack in assembly.stacks
        for message in stack.messages
        if message.level in reported
    ]


def main() -> None:
    app = cdk.App()
    ExamplesStack(app, STACK_NAME)
    check_with_cdk_nag(app)
    unacknowledged = findings(app.synth())
    if unacknowledged:
        sys.exit("\n".join(["cdk-nag findings nothing acknowledges:", *unacknowledged]))


if __name__ == "__main__":
    main()
