"""``DurableContext``: the operations a durable handler runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import durable_lambda.operation as operations
from durable_lambda.arguments import (
    require,
    require_callable,
    require_config,
    require_instance,
    require_name_and_config,
)
from durable_lambda.exceptions import (
    CallbackError,
    CallbackSubmitterError,
    ChildContextError,
    StepError,
    ValidationError,
)
from durable_lambda.identifier import OperationIdentifier, operation_id_for
from durable_lambda.lambda_service import OperationSubType, OperationType
from durable_lambda.lazy import lazy_exports
from durable_lambda.logger import Logger
from durable_lambda.types import (
    LambdaContext,
    LoggerInterface,
    StepContext,
    WaitForCallbackContext,
    WaitForConditionCheckContext,
)

# Importing the context loads no operation: each operation's module (and the
# configuration, state and store code it runs on) loads when the first
# operation of its kind runs, as ``operations.step`` and the like are named.
if TYPE_CHECKING:
    from durable_lambda.concurrency.models import BatchResult
    from durable_lambda.config import (
        CallbackConfig,
        ChildConfig,
        Duration,
        InvokeConfig,
        MapConfig,
        ParallelBranch,
        ParallelConfig,
        StepConfig,
        WaitForCallbackConfig,
    )
    from durable_lambda.operation.callback import Callback
    from durable_lambda.state import ExecutionState
    from durable_lambda.waits import WaitForConditionConfig

__all__ = [
    "Callback",
    "DurableContext",
    "ExecutionContext",
    "StepContext",
    "WaitForCallbackContext",
    "WaitForConditionCheckContext",
    "durable_parallel_branch",
    "durable_step",
    "durable_wait_for_callback",
    "durable_with_child_context",
]

_LAZY = {"durable_lambda.operation.callback": ("Callback",)}
"""Exported names whose modules load on first access, by module."""

if not TYPE_CHECKING:  # type checkers take the names from the imports above
    __getattr__, __dir__ = lazy_exports(globals(), _LAZY)

logger = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")
U = TypeVar("U")
Params = ParamSpec("Params")


@dataclass(frozen=True)
class ExecutionContext:
    """Read-only facts about the running execution."""

    durable_execution_arn: str


def durable_step(
    func: Callable[Concatenate[StepContext, Params], T],
) -> Callable[Params, Callable[[StepContext], T]]:
    """Turn ``func(step_context, *args)`` into a factory of named step functions."""

    def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> Callable[[StepContext], T]:
        def function_with_arguments(context: StepContext) -> T:
            return func(context, *args, **kwargs)

        function_with_arguments._original_name = func.__name__  # type: ignore[attr-defined]
        return function_with_arguments

    return wrapper


def durable_with_child_context(
    func: Callable[Concatenate[DurableContext, Params], T],
) -> Callable[Params, Callable[[DurableContext], T]]:
    """Turn ``func(child_context, *args)`` into a factory of named child functions."""

    def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> Callable[[DurableContext], T]:
        def function_with_arguments(child_context: DurableContext) -> T:
            return func(child_context, *args, **kwargs)

        function_with_arguments._original_name = func.__name__  # type: ignore[attr-defined]
        return function_with_arguments

    return wrapper


def durable_wait_for_callback(
    func: Callable[Concatenate[str, WaitForCallbackContext, Params], T],
) -> Callable[Params, Callable[[str, WaitForCallbackContext], T]]:
    """Turn ``func(callback_id, context, *args)`` into a factory of named submitters."""

    def wrapper(
        *args: Params.args, **kwargs: Params.kwargs
    ) -> Callable[[str, WaitForCallbackContext], T]:
        def submitter_with_arguments(callback_id: str, context: WaitForCallbackContext) -> T:
            return func(callback_id, context, *args, **kwargs)

        submitter_with_arguments._original_name = func.__name__  # type: ignore[attr-defined]
        return submitter_with_arguments

    return wrapper


def durable_parallel_branch(
    name: str | None = None,
) -> Callable[
    [Callable[Concatenate[DurableContext, Params], T]],
    Callable[Params, ParallelBranch[T]],
]:
    """Turn ``func(ctx, *args)`` into a factory of named ParallelBranch objects."""

    def decorator(
        func: Callable[Concatenate[DurableContext, Params], T],
    ) -> Callable[Params, ParallelBranch[T]]:
        def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> ParallelBranch[T]:
            from durable_lambda.config import ParallelBranch  # noqa: PLC0415

            def function_with_arguments(ctx: DurableContext) -> T:
                return func(ctx, *args, **kwargs)

            return ParallelBranch(func=function_with_arguments, name=name)

        return wrapper

    return decorator


class _Replay:
    """Whether a context is still re-running operations an earlier invocation ran.

    A context starts in its creator's status and turns to "new" at its own
    replay boundary: the first operation with no record, a step that has to
    run an attempt, or the point just after the last recorded operation.
    """

    def __init__(self, replaying: bool) -> None:
        self._replaying = replaying

    def __call__(self) -> bool:
        return self._replaying

    def stop(self) -> None:
        # One-way and a single attribute store: safe across threads without a lock.
        self._replaying = False


class _OperationScope:
    """The ``with`` block of one operation: yields its identifier, then ends it."""

    __slots__ = ("_context", "_identifier", "_resumes_here")

    def __init__(
        self, context: DurableContext, identifier: OperationIdentifier, *, resumes_here: bool
    ) -> None:
        self._context = context
        self._identifier = identifier
        self._resumes_here = resumes_here

    def __enter__(self) -> OperationIdentifier:
        return self._identifier

    def __exit__(self, *exc_info: object) -> None:
        self._context._end_operation(resumed_here=self._resumes_here)


_STEP = OperationSubType.STEP.value


class DurableContext:
    """Runs durable operations and gives each a deterministic id."""

    def __init__(
        self,
        state: ExecutionState,
        execution_context: ExecutionContext,
        lambda_context: LambdaContext | None = None,
        *,
        parent_id: str | None = None,
        logger: Logger | None = None,
        step_id_prefix: str | None = None,
        replaying: bool = False,
    ) -> None:
        self.state = state
        self.execution_context = execution_context
        self.lambda_context = lambda_context
        self._parent_id = parent_id
        self._step_id_prefix = step_id_prefix if step_id_prefix is not None else parent_id
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._replay = _Replay(replaying)
        base = logger or Logger.create(state.durable_execution_arn, parent_id=parent_id)
        self.logger: Logger = base.with_is_replaying(self._replay)

    @classmethod
    def from_lambda_context(
        cls,
        state: ExecutionState,
        lambda_context: LambdaContext | None,
        *,
        replaying: bool,
    ) -> DurableContext:
        """The root context of an invocation."""
        return cls(
            state,
            ExecutionContext(state.durable_execution_arn),
            lambda_context,
            replaying=replaying,
        )

    def create_child_context(
        self, operation_id: str, *, is_virtual: bool = False
    ) -> DurableContext:
        """The context of the operations run inside operation ``operation_id``."""
        parent_id = self._parent_id if is_virtual else operation_id
        return DurableContext(
            self.state,
            self.execution_context,
            self.lambda_context,
            parent_id=parent_id,
            logger=self.logger.with_fields(parentId=parent_id),
            step_id_prefix=operation_id,
            replaying=self.is_replaying(),
        )

    def is_replaying(self) -> bool:
        """True while this context re-runs operations an earlier invocation ran."""
        return self._replay()

    def set_logger(self, new_logger: LoggerInterface) -> None:
        """Write this context's logs to ``new_logger`` (e.g. a Powertools Logger)."""
        self.logger = self.logger.with_logger(new_logger)

    # region ids and replay

    def _next_operation_id(self) -> str:
        with self._counter_lock:
            self._counter += 1
            return operation_id_for(self._step_id_prefix, self._counter)

    def _peek_next_operation_id(self) -> str:
        with self._counter_lock:
            return operation_id_for(self._step_id_prefix, self._counter + 1)

    @staticmethod
    def _resolve_step_name(name: str | None, func: object) -> str | None:
        return name or getattr(func, "_original_name", None)

    def _operation(
        self,
        sub_type: str,
        name: str | None,
        operation_type: OperationType,
    ) -> _OperationScope:
        """Allocate the next operation id, check it against the record, track replay."""
        identifier = OperationIdentifier(
            operation_id=self._next_operation_id(),
            sub_type=sub_type,
            parent_id=self._parent_id,
            name=name,
            operation_type=operation_type,
        )
        recorded = self.state.get(identifier.operation_id)
        identifier.validate_checkpoint(recorded)
        replaying = self._replay()
        resumes_here = (
            replaying
            and recorded is not None
            and not recorded.is_terminal
            and recorded.operation_type is not OperationType.STEP
        )
        runs_new_work = recorded is None or (
            recorded.operation_type is OperationType.STEP and not recorded.is_terminal
        )
        if replaying and runs_new_work:
            self._replay.stop()
        return _OperationScope(self, identifier, resumes_here=resumes_here)

    def _end_operation(self, *, resumed_here: bool) -> None:
        """Stop replaying after an operation that resumed, or after the last recorded one."""
        if resumed_here or (
            self._replay() and self.state.get(self._peek_next_operation_id()) is None
        ):
            self._replay.stop()

    # endregion
    # region operations

    def step(
        self,
        func: Callable[[StepContext], T],
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> T:
        """Run ``func`` once per attempt and record its result.

        On replay the recorded result (or error) is returned without running
        ``func``. Failures are retried by ``config.retry_strategy``.
        """
        require_callable("step func", func)
        require_name_and_config("step", name, config, "StepConfig")
        step_name = self._resolve_step_name(name, func)
        config = config or operations.step.DEFAULT_CONFIG
        sub_type = config.sub_type or _STEP
        with self._operation(sub_type, step_name, OperationType.STEP) as identifier:
            return operations.step.run_step(func, config, self.state, identifier, self.logger)

    def wait(self, duration: Duration, name: str | None = None) -> None:
        """Suspend the execution for ``duration`` (at least one second)."""
        require_config("wait duration", duration, "Duration", "such as Duration.from_seconds(5)")
        require_instance("wait name", name, str, optional=True)
        seconds = duration.to_seconds()
        if seconds < 1:
            msg = f"duration must be at least 1 second, got: {seconds}"
            raise ValidationError(msg)
        with self._operation(OperationSubType.WAIT.value, name, OperationType.WAIT) as identifier:
            operations.wait.wait(self.state, identifier, seconds)

    def run_in_child_context(
        self,
        func: Callable[[DurableContext], T],
        name: str | None = None,
        config: ChildConfig[T] | None = None,
    ) -> T:
        """Run ``func`` with a child context and record its result as one operation."""
        require_callable("run_in_child_context func", func)
        require_name_and_config("run_in_child_context", name, config, "ChildConfig")
        step_name = self._resolve_step_name(name, func)
        sub_type = (
            config.sub_type if config else None
        ) or OperationSubType.RUN_IN_CHILD_CONTEXT.value
        child_config: ChildConfig[T] = config or operations.child.DEFAULT_CONFIG
        return self._run_in_child_context(func, step_name, child_config, sub_type)

    def _run_in_child_context(
        self,
        func: Callable[[DurableContext], T],
        name: str | None,
        config: ChildConfig[T],
        sub_type: str,
    ) -> T:
        with self._operation(sub_type, name, OperationType.CONTEXT) as identifier:
            child = self.create_child_context(identifier.operation_id, is_virtual=config.is_virtual)
            return operations.child.run_child(lambda: func(child), self.state, identifier, config)

    # endregion
    # region callbacks and conditions

    def create_callback(
        self, name: str | None = None, config: CallbackConfig | None = None
    ) -> Callback[Any]:
        """Create a callback: its ``callback_id`` and ``url`` now, ``result()`` later.

        Hand the id (or URL) to an external system; it completes the callback
        with success, failure or heartbeats. ``result()`` suspends the
        execution until the callback succeeds, fails or times out.
        """
        require_name_and_config("create_callback", name, config, "CallbackConfig")
        from durable_lambda.backend import backend_for  # noqa: PLC0415
        from durable_lambda.config import CallbackConfig  # noqa: PLC0415

        config = config or CallbackConfig()
        sub_type = config.sub_type or OperationSubType.CALLBACK.value
        with self._operation(sub_type, name, OperationType.CALLBACK) as identifier:
            return operations.callback.create_callback(
                self.state, identifier, config, backend_for(self.lambda_context)
            )

    def wait_for_callback(
        self,
        submitter: Callable[[str, WaitForCallbackContext], Any],
        name: str | None = None,
        config: WaitForCallbackConfig | None = None,
    ) -> Any:
        """Create a callback, give its id to ``submitter`` (run as a step), await the result.

        Runs as a child context (subtype WaitForCallback). Raises
        CallbackTimeoutError or CallbackExternalError as the callback ended,
        and CallbackSubmitterError when the submitter step failed.
        """
        require_callable("wait_for_callback submitter", submitter)
        require_name_and_config("wait_for_callback", name, config, "WaitForCallbackConfig")
        step_name = self._resolve_step_name(name, submitter)
        callback_operation_id = operation_id_for(self._peek_next_operation_id(), 1)

        def wait_in_child_context(context: DurableContext) -> Any:
            return operations.callback.wait_for_callback_handler(
                context, submitter, step_name, config
            )

        try:
            return self._run_in_child_context(
                wait_in_child_context,
                step_name,
                operations.child.DEFAULT_CONFIG,
                OperationSubType.WAIT_FOR_CALLBACK.value,
            )
        except ChildContextError as e:
            inner = e.__cause__
            if isinstance(inner, CallbackError):
                # Raised from the callback's own record, so it carries the
                # ErrorType the external system sent, as create_callback's does.
                callback = self.state.get(callback_operation_id)
                if callback is not None and callback.status in operations.callback.FAILED_STATUSES:
                    raise operations.callback.callback_failure(callback) from e
                raise inner from e
            if isinstance(inner, StepError):
                raise CallbackSubmitterError(
                    inner.message or "Callback submitter failed",
                    data=inner.data,
                    stack_trace=inner.stack_trace,
                ) from inner
            raise

    def wait_for_condition(
        self,
        check: Callable[[T, WaitForConditionCheckContext], T],
        config: WaitForConditionConfig[T],
        name: str | None = None,
    ) -> T:
        """Poll ``check`` from ``config.initial_state`` until ``config.wait_strategy`` stops.

        Each check receives the state the previous one returned; between
        checks the execution suspends for the delay the strategy chose.
        Returns the final state; a failing check (or an exhausted strategy)
        raises WaitForConditionError.
        """
        if check is None:
            msg = "`check` is required for wait_for_condition"
            raise ValidationError(msg)
        if not config:
            msg = "`config` is required for wait_for_condition"
            raise ValidationError(msg)
        require_callable("wait_for_condition check", check)
        require_config("wait_for_condition config", config, "WaitForConditionConfig")
        require_instance("wait_for_condition name", name, str, optional=True)
        with self._operation(
            OperationSubType.WAIT_FOR_CONDITION.value, name, OperationType.STEP
        ) as identifier:
            return operations.wait_for_condition.WaitForConditionOperation(
                check, config, self.state, identifier, self.logger
            ).process()

    # endregion
    # region chained invoke

    def invoke(
        self,
        function_name: str,
        payload: P,
        name: str | None = None,
        config: InvokeConfig[P, R] | None = None,
    ) -> R:
        """Invoke another function and return its result.

        ``function_name`` is a function name, ``name:qualifier`` or a Lambda
        function ARN. A durable target runs as a child execution (named after
        this execution and operation, so replays never start a second one);
        any other function is invoked once. The execution suspends until the
        target ends; a failed, timed-out or stopped target raises InvokeError
        carrying its ErrorType and ErrorMessage.
        """
        require(
            isinstance(function_name, str) and function_name,
            "invoke function_name",
            function_name,
            "a non-empty string",
        )
        require_name_and_config("invoke", name, config, "InvokeConfig")
        from durable_lambda.config import InvokeConfig  # noqa: PLC0415

        with self._operation(
            OperationSubType.CHAINED_INVOKE.value, name, OperationType.CHAINED_INVOKE
        ) as identifier:
            return operations.invoke.invoke(
                function_name,
                payload,
                self.state,
                identifier,
                config or InvokeConfig(),
                lambda_context=self.lambda_context,
            )

    # endregion
    # region map and parallel

    def map(
        self,
        inputs: Sequence[U],
        func: Callable[[DurableContext, U, int, Sequence[U]], T],
        name: str | None = None,
        config: MapConfig[U] | None = None,
    ) -> BatchResult[T]:
        """Run ``func(item_context, item, index, inputs)`` for each item, concurrently.

        Each item runs in its own child context (a MapIteration), at most
        ``config.max_concurrency`` at once, until ``config.completion_config``
        is met (by default, the first failure). Failed items do not raise:
        see ``BatchResult.throw_if_error``. Invalid arguments raise
        ValidationError before anything is recorded.
        """
        require_instance("map inputs", inputs, Sequence)
        require_callable("map func", func)
        require_name_and_config("map", name, config, "MapConfig")
        if config is not None:
            config.completion_config._validate_for_total(len(inputs))
        map_name = self._resolve_step_name(name, func)
        with self._operation(
            OperationSubType.MAP.value, map_name, OperationType.CONTEXT
        ) as identifier:
            map_context = self.create_child_context(identifier.operation_id)
            return operations.map.map_handler(
                inputs,
                func,
                config,
                state=self.state,
                map_context=map_context,
                identifier=identifier,
            )

    def parallel(
        self,
        functions: Sequence[Callable[[DurableContext], T] | ParallelBranch[T]],
        name: str | None = None,
        config: ParallelConfig | None = None,
    ) -> BatchResult[T]:
        """Run each function (or ParallelBranch) with its own child context, concurrently.

        Branches run at most ``config.max_concurrency`` at once, until
        ``config.completion_config`` is met (by default, every branch must
        succeed). Failed branches do not raise: see
        ``BatchResult.throw_if_error``. Invalid arguments raise
        ValidationError before anything is recorded.
        """
        require_instance("parallel functions", functions, Sequence)
        for index, function in enumerate(functions):
            require_callable(f"parallel branch {index}", function)
        require_name_and_config("parallel", name, config, "ParallelConfig")
        if config is not None:
            config.completion_config._validate_for_total(len(functions))
        with self._operation(
            OperationSubType.PARALLEL.value, name, OperationType.CONTEXT
        ) as identifier:
            parallel_context = self.create_child_context(identifier.operation_id)
            return operations.parallel.parallel_handler(
                functions,
                config,
                state=self.state,
                parallel_context=parallel_context,
                identifier=identifier,
            )

    def _set_replay_status_new(self) -> None:
        """Mark this context as running new work (a branch with no record yet)."""
        self._replay.stop()

    # endregion
