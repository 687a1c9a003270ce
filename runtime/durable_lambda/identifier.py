"""Deterministic operation ids and replay identity checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from durable_lambda.exceptions import NonDeterministicExecutionError
from durable_lambda.lambda_service import (
    Operation,
    OperationAction,
    OperationType,
    OperationUpdate,
)


def operation_id_for(prefix: str | None, position: int) -> str:
    """The id of the ``position``-th operation (1-based) of a context.

    Ids are derived from the parent context's id and the position alone,
    never from time or randomness: ``"3"`` is the third operation of the
    handler, ``"3-2"`` the second inside it.
    """
    return f"{prefix}-{position}" if prefix else str(position)


def enclosing_operation_ids(operation_id: str) -> list[str]:
    """The ids of the contexts an operation runs inside, outermost first.

    Ids nest by prefix (see ``operation_id_for``): ``"3-2-1"`` runs inside
    ``"3"`` and ``"3-2"``, whether or not those record themselves.
    """
    parts = operation_id.split("-")
    return ["-".join(parts[:end]) for end in range(1, len(parts))]


@dataclass(frozen=True, init=False)
class OperationIdentifier:
    """Who an operation is: id, type, subtype, parent and name."""

    operation_id: str
    sub_type: str
    parent_id: str | None = None
    name: str | None = None
    operation_type: OperationType = field(kw_only=True)

    def __init__(
        self,
        operation_id: str,
        sub_type: str,
        parent_id: str | None = None,
        name: str | None = None,
        *,
        operation_type: OperationType,
    ) -> None:
        # Every operation, replayed or new, builds one: as Operation's __init__.
        self.__dict__.update(
            operation_id=operation_id,
            sub_type=sub_type,
            parent_id=parent_id,
            name=name,
            operation_type=operation_type,
        )

    @property
    def label(self) -> str:
        """The operation as messages name it: its id, then its name if it has one."""
        name = f" {self.name!r}" if self.name else ""
        return f"{self.operation_id}{name}"

    def update(self, action: OperationAction, **fields: Any) -> OperationUpdate:
        """A checkpoint of ``action`` for this operation."""
        return OperationUpdate(
            operation_id=self.operation_id,
            operation_type=self.operation_type,
            action=action,
            parent_id=self.parent_id,
            name=self.name,
            sub_type=self.sub_type,
            **fields,
        )

    def validate_checkpoint(self, checkpoint: Operation | None) -> None:
        """Refuse to replay a record written by a different operation.

        Raises NonDeterministicExecutionError naming the operation and both
        the recorded and the current type and name.
        """
        if checkpoint is None:
            return
        if (
            checkpoint.operation_type is self.operation_type
            and (checkpoint.sub_type or None) == (self.sub_type or None)
            and (checkpoint.name or None) == (self.name or None)
            and (checkpoint.parent_id or None) == (self.parent_id or None)
        ):
            return
        msg = (
            f"Non-deterministic execution: operation {self.operation_id} was recorded as "
            f"{_describe(checkpoint.operation_type, checkpoint.sub_type, checkpoint.name)} "
            f"but the code now runs "
            f"{_describe(self.operation_type, self.sub_type, self.name)} at that position. "
            "Operations must run in the same order on every replay; "
            "finish or stop in-flight executions before changing their order."
        )
        raise NonDeterministicExecutionError(msg, step_id=self.operation_id)


def _describe(operation_type: OperationType, sub_type: str | None, name: str | None) -> str:
    kind = f"{operation_type.value}/{sub_type}" if sub_type else operation_type.value
    return f"{kind} named {name!r}" if name else f"{kind} without a name"
