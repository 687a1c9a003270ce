"""``ExecutionStatus``, where the AWS testing SDK keeps it (``result.execution_status``)."""

from durable_lambda.store.contract import ExecutionStatus

__all__ = ["ExecutionStatus"]
