"""Testing durable handlers on the local engine, as with the AWS testing SDK."""

from durable_lambda.__about__ import __version__
from durable_lambda.testing.exceptions import DurableFunctionsTestError
from durable_lambda.testing.results import (
    CallbackOperation,
    ContextOperation,
    DurableFunctionTestResult,
    ExecutionOperation,
    InvokeOperation,
    Operation,
    StepOperation,
    WaitOperation,
)
from durable_lambda.testing.runner import (
    DurableChildContextTestRunner,
    DurableFunctionTestRunner,
)

__all__ = [
    "CallbackOperation",
    "ContextOperation",
    "DurableChildContextTestRunner",
    "DurableFunctionTestResult",
    "DurableFunctionTestRunner",
    "DurableFunctionsTestError",
    "ExecutionOperation",
    "InvokeOperation",
    "Operation",
    "StepOperation",
    "WaitOperation",
    "__version__",
]
