"""The public API has the module paths, names and signatures of the AWS SDK."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any

import pytest

import durable_lambda
from durable_lambda import config, exceptions

AWS_MODULE_NAMES = {
    "durable_lambda": [
        "BatchCompletionError", "BatchItemStatus", "BatchResult", "CallbackError",
        "CallbackExternalError", "CallbackSubmitterError", "CallbackTimeoutError",
        "ChildContextError", "CompletionDecision", "CompletionItemStatus", "CompletionOutcome",
        "CompletionStatus", "DurableContext", "DurableExecutionsError", "DurableOperationError",
        "ExecutionError", "InvocationError", "InvokeError", "ParallelBranch",
        "RetryableSerDesError", "SerDesError", "StepContext", "StepError", "ValidationError",
        "WaitForConditionError", "WithRetryConfig", "complete_batch", "continue_batch",
        "durable_execution", "durable_parallel_branch", "durable_step",
        "durable_wait_for_callback", "durable_with_child_context", "with_retry",
    ],
    "durable_lambda.execution": ["durable_execution", "InvocationStatus"],
    "durable_lambda.context": [
        "DurableContext", "StepContext", "WaitForCallbackContext", "durable_step",
        "durable_with_child_context", "durable_wait_for_callback", "Callback",
    ],
    "durable_lambda.config": [
        "Duration", "StepConfig", "StepSemantics", "ChildConfig", "CallbackConfig",
        "WaitForCallbackConfig", "InvokeConfig", "MapConfig", "ParallelConfig", "ParallelBranch",
        "CompletionConfig", "JitterStrategy", "NestingType", "BatchItemStatus",
    ],
    "durable_lambda.retries": [
        "RetryStrategyConfig", "create_retry_strategy", "RetryPresets", "RetryDecision",
        "LinearRetryStrategyConfig", "create_linear_retry_strategy", "with_retry",
        "WithRetryConfig",
    ],
    "durable_lambda.waits": [
        "WaitStrategyConfig", "create_wait_strategy", "WaitForConditionConfig",
        "WaitForConditionDecision",
    ],
    "durable_lambda.serdes": [
        "SerDes", "JsonSerDes", "SerDesContext", "ExtendedTypeSerDes", "PassThroughSerDes",
        "serialize", "deserialize",
    ],
    "durable_lambda.types": [
        "WaitForConditionCheckContext", "StepContext", "WaitForCallbackContext",
        "LoggerInterface", "OperationContext",
    ],
    "durable_lambda.concurrency.models": [
        "BatchResult", "BatchItem", "BatchItemStatus", "CompletionReason",
        "BatchCompletionError",
    ],
    "durable_lambda.lambda_service": [
        "OperationType", "OperationStatus", "OperationSubType", "OperationAction",
        "ErrorObject", "Operation", "OperationUpdate", "InvocationStatus",
    ],
    "durable_lambda.testing": ["DurableFunctionTestRunner", "DurableChildContextTestRunner",
                               "DurableFunctionTestResult"],
}  # fmt: skip


@pytest.mark.parametrize("module_name", sorted(AWS_MODULE_NAMES))
def test_module_has_the_aws_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in AWS_MODULE_NAMES[module_name] if not hasattr(module, name)]
    assert missing == []


def test_root_exports_are_curated() -> None:
    assert sorted(durable_lambda.__all__) == sorted(
        [*AWS_MODULE_NAMES["durable_lambda"], "__version__"]
    )


EXCEPTION_PARENTS = {
    "ExecutionError": "UnrecoverableError",
    "InvocationError": "UnrecoverableError",
    "UnrecoverableError": "DurableExecutionsError",
    "NonDeterministicExecutionError": "ExecutionError",
    "StepInterruptedError": "InvocationError",
    "RetryableSerDesError": "InvocationError",
    "CheckpointError": "InvocationError",
    "ValidationError": "DurableExecutionsError",
    "SerDesError": "DurableExecutionsError",
    "DurableOperationError": "DurableExecutionsError",
    "StepError": "DurableOperationError",
    "InvokeError": "DurableOperationError",
    "ChildContextError": "DurableOperationError",
    "WaitForConditionError": "DurableOperationError",
    "CallbackError": "DurableOperationError",
    "CallbackExternalError": "CallbackError",
    "CallbackTimeoutError": "CallbackError",
    "CallbackSubmitterError": "CallbackError",
}


@pytest.mark.parametrize(("child", "parent"), sorted(EXCEPTION_PARENTS.items()))
def test_exception_hierarchy(child: str, parent: str) -> None:
    assert getattr(exceptions, parent) in getattr(exceptions, child).__bases__


def test_suspension_cannot_be_swallowed_by_except_exception() -> None:
    assert not issubclass(exceptions.SuspendExecution, Exception)
    assert issubclass(exceptions.SuspendExecution, BaseException)


def _parameters(func: Any) -> list[tuple[str, Any]]:
    return [
        (p.name, p.default if p.default is not inspect.Parameter.empty else "required")
        for p in inspect.signature(func).parameters.values()
        if p.name != "self"
    ]


def test_operation_signatures() -> None:
    context = durable_lambda.DurableContext
    assert _parameters(context.step) == [("func", "required"), ("name", None), ("config", None)]
    assert _parameters(context.wait) == [("duration", "required"), ("name", None)]
    assert _parameters(context.run_in_child_context) == [
        ("func", "required"),
        ("name", None),
        ("config", None),
    ]
    assert _parameters(context.create_callback) == [("name", None), ("config", None)]
    assert _parameters(context.wait_for_callback) == [
        ("submitter", "required"),
        ("name", None),
        ("config", None),
    ]
    assert _parameters(context.wait_for_condition) == [
        ("check", "required"),
        ("config", "required"),
        ("name", None),
    ]


def _fields(cls: Any) -> list[str]:
    return [field.name for field in dataclasses.fields(cls)]


def test_config_fields_and_defaults() -> None:
    assert _fields(config.StepConfig) == ["retry_strategy", "step_semantics", "serdes", "sub_type"]
    assert config.StepConfig().step_semantics is config.StepSemantics.AT_LEAST_ONCE_PER_RETRY
    assert _fields(config.CallbackConfig) == ["timeout", "heartbeat_timeout", "serdes", "sub_type"]
    assert _fields(config.WaitForCallbackConfig)[-1] == "retry_strategy"
    assert _fields(config.InvokeConfig) == ["serdes_payload", "serdes_result", "tenant_id"]
    assert config.MapConfig().completion_config == config.CompletionConfig()
    assert config.ParallelConfig().completion_config == config.CompletionConfig.all_successful()
