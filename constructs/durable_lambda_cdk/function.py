"""DurableFunction: a Lambda function whose handler runs durable executions on an engine.

It takes the props of ``aws_lambda.Function`` and aws-cdk-lib's own
``durable_config``, so moving between AWS's managed durable functions and an
engine is a one-line change, and it is an ``aws_lambda.IFunction``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from durable_lambda_cdk import contract
from durable_lambda_cdk.acknowledgements import (
    acknowledge,
    acknowledge_wildcards,
    flatten_reference,
)
from durable_lambda_cdk.assets import PYTHON_RUNTIMES, runtime_layer
from durable_lambda_cdk.engine import DurableEngineBase
from durable_lambda_cdk.grants import (
    BATCH_READ_ITEMS,
    CALLBACK_PARTITIONS,
    FUNCTION_LIST_PARTITION,
    READ_ITEMS,
    WRITE_ITEMS,
    SeparatePolicy,
    grant_key,
    grant_log_writes,
    leading_keys,
    table_resources,
)

LONGEST_EXECUTION_SECONDS = contract.LONGEST_EXECUTION_DAYS * 24 * 60 * 60
DEAD_LETTER_PROPS = ("dead_letter_queue", "dead_letter_queue_enabled", "dead_letter_topic")
LOG_PROPS = ("log_group", "log_retention")
BASIC_EXECUTION = "service-role/AWSLambdaBasicExecutionRole"
DEFAULT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS


class DurableFunction(lambda_.Function):
    """A Lambda function running durable executions on a ``DurableEngine``.

    Every keyword argument of ``aws_lambda.Function`` is taken and means what it means
    there, with these defaults of ours: the function's asynchronous failures go to the
    engine's invocation dead-letter queue (unless a dead-letter queue or topic is
    given), its logs to a log group ``/aws/lambda/<name>`` kept three months (unless
    ``log_group`` or ``log_retention`` is given), and Lambda's recursive loop detection
    lets its wake-ups through (``recursive_loop``, ``ALLOW``). The runtime package
    comes as a layer; ``environment`` may hold anything but the runtime's variables.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,  # noqa: A002 - the construct id, as aws-cdk-lib names it
        *,
        engine: DurableEngineBase,
        durable_config: lambda_.DurableConfig,
        code: lambda_.Code,
        handler: str,
        runtime: lambda_.Runtime,
        environment: Mapping[str, str] | None = None,
        layers: Sequence[lambda_.ILayerVersion] | None = None,
        **function_props: Any,
    ) -> None:
        """Make a durable function.

        :param engine: the engine its executions run on (``DurableEngine``, or one from
            ``DurableEngine.from_engine_attributes``).
        :param durable_config: aws-cdk-lib's ``DurableConfig``: ``execution_timeout`` from
            1 second to 366 days (whole seconds), ``retention_period`` from 1 to 90 days
            (whole days, default 14 days).
        """
        timeout_seconds, retention_days = durable_settings(durable_config)
        _check_runtime(runtime)
        _check_environment(environment)
        own_role = function_props.get("role") is None
        own_logs = not any(function_props.get(prop) is not None for prop in LOG_PROPS)
        if not any(function_props.get(prop) is not None for prop in DEAD_LETTER_PROPS):
            function_props["dead_letter_queue"] = engine.invocation_dead_letter_queue
        function_props.setdefault("recursive_loop", lambda_.RecursiveLoop.ALLOW)
        super().__init__(
            scope,
            id,
            code=code,
            handler=handler,
            runtime=runtime,
            environment={
                **(environment or {}),
                **_runtime_environment(engine, timeout_seconds, retention_days),
            },
            layers=[runtime_layer(scope), *(layers or [])],
            **function_props,
        )
        self.engine = engine
        self.execution_timeout = cdk.Duration.seconds(timeout_seconds)
        self.retention_period = cdk.Duration.days(retention_days)
        role = cast(iam.IRole, self.role)  # a Function always makes or takes one
        if own_role:
            _without_basic_execution_role(role)
        self.durable_policy = iam.Policy(self, "DurablePolicy", roles=[role])
        self._durable_principal = SeparatePolicy(role, self.durable_policy)
        self.durable_log_group = (
            logs.LogGroup(
                self,
                "LogGroup",
                log_group_name=f"/aws/lambda/{self.function_name}",
                retention=DEFAULT_LOG_RETENTION,
            )
            if own_logs
            else self.log_group
        )
        grant_log_writes(self._durable_principal, self.durable_log_group)
        self._grant_runtime_calls()
        engine.grant_wake_ups(self)

    def _grant_runtime_calls(self) -> None:
        """What the runtime calls (ARCHITECTURE, "AWS calls, by caller")."""
        engine = self.engine
        self._grant_executions(self._durable_principal, self, writes=True)
        grants = (
            (["lambda:InvokeFunction"], [f"{self.function_arn}:*"], None),
            (["scheduler:CreateSchedule"], [engine.schedules_arn], None),
            (
                ["iam:PassRole"],
                [engine.scheduler_role.role_arn],
                {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            ),
            (["sqs:SendMessage"], [engine.timer_queue.queue_arn], None),
            (["secretsmanager:GetSecretValue"], [engine.callback_key_secret.secret_arn], None),
        )
        for actions, resources, conditions in grants:
            iam.Grant.add_to_principal(
                grantee=self._durable_principal,
                actions=actions,
                resource_arns=resources,
                conditions=conditions,
            )
        acknowledge_wildcards(
            self.durable_policy,
            [f"{self.function_arn}:*"],
            "Wake-ups invoke the version or alias that started the execution (its id begins "
            "with that qualified ARN), so every qualifier of this function and no other.",
        )
        acknowledge_wildcards(
            self.durable_policy,
            [engine.schedules_arn],
            "Timer schedules are created as executions wait, under names made at run time, "
            "in the engine's own schedule group and no other (each deletes itself once it "
            "has fired).",
        )

    def _grant_executions(
        self,
        grantee: iam.IGrantable,
        owner: DurableFunction,
        *,
        writes: bool,
        partitions: Sequence[str] | None = None,
        batch_reads: bool = False,
    ) -> iam.Grant:
        """Items and payloads of ``owner``'s executions: its own partitions by default.

        ``batch_reads`` for a user's client, which reads executions page by page.
        """
        item_actions = (
            READ_ITEMS + (BATCH_READ_ITEMS if batch_reads else ()) + (WRITE_ITEMS if writes else ())
        )
        items = self._grant_items(grantee, item_actions, partitions or owner._partitions())
        prefix = self.engine.payload_bucket.arn_for_objects(f"{owner.function_arn}:*")
        payloads = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject", *(["s3:PutObject"] if writes else [])],
            resource_arns=[prefix],
        )
        if grantee is self._durable_principal:
            acknowledge_wildcards(
                self.durable_policy,
                [prefix],
                "Payload objects are named after their execution, whose id begins with the "
                "qualified ARN of the function that started it: the objects of that "
                "function's executions and no others.",
            )
        return items.combine(payloads)

    def _grant_items(
        self, grantee: iam.IGrantable, actions: Sequence[str], partitions: Sequence[str]
    ) -> iam.Grant:
        """``actions`` on the table's items in ``partitions`` (and on its key, if it has one)."""
        grant_key(grantee, self.engine.table_encryption_key, actions)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(actions),
            resource_arns=table_resources(self.engine.table),
            conditions=leading_keys(*partitions),
        )

    def _partitions(self) -> list[str]:
        """The partitions a function's executions live in (ARCHITECTURE, "On DynamoDB")."""
        return [
            f"{self.function_arn}:*",
            f"N#{self.function_name}#*",
            self.function_name,
            CALLBACK_PARTITIONS,
            FUNCTION_LIST_PARTITION,
        ]

    def grant_invoke_durable(self, other: lambda_.IFunction) -> iam.Grant:
        """Let this function's executions invoke ``other`` (``context.invoke``).

        This function reads ``other``'s configuration (is it a durable function of the
        same engine?) and invokes it. For a durable ``other``, this function also starts
        ``other``'s child executions in the table, and ``other`` completes this function's
        invoke when its child ends, and wakes this function's execution up.
        """
        grant = iam.Grant.add_to_principal(
            grantee=self._durable_principal,
            actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
            resource_arns=[other.function_arn, f"{other.function_arn}:*"],
        )
        acknowledge_wildcards(
            self.durable_policy,
            [f"{other.function_arn}:*"],
            "context.invoke names its target as the handler wrote it: the function, or any "
            "of its versions and aliases, and no other function.",
        )
        if isinstance(other, DurableFunction):
            grant = grant.combine(
                self._grant_executions(self._durable_principal, other, writes=True)
            )
            other._grant_executions(
                other._durable_principal, self, writes=True, partitions=[f"{self.function_arn}:*"]
            )
            iam.Grant.add_to_principal(
                grantee=other._durable_principal,
                actions=["lambda:InvokeFunction"],
                resource_arns=[f"{self.function_arn}:*"],
            )
            acknowledge_wildcards(
                other.durable_policy,
                [f"{self.function_arn}:*"],
                "A child execution's end wakes its parent up: it invokes the version or "
                "alias that started the parent (its id begins with that qualified ARN).",
            )
        return grant

    def grant_start(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start executions (``DurableClient.start_execution`` invokes)."""
        return self.grant_invoke(grantee)

    def grant_read_executions(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read this function's executions: records, histories, payloads."""
        return self._grant_executions(
            grantee,
            self,
            writes=False,
            partitions=[f"{self.function_arn}:*", self.function_name],
            batch_reads=True,
        )

    def grant_send_callbacks(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` complete this function's callbacks over the AWS API.

        ``DurableClient.send_callback_success/failure/heartbeat``: it finds the callback
        by its id's hash, records the outcome and invokes the execution it woke. A
        callback's result (at most 256 KiB) fits an item: no payload object is written.
        """
        records = self._grant_items(
            grantee,
            READ_ITEMS + BATCH_READ_ITEMS + WRITE_ITEMS,
            [f"{self.function_arn}:*", CALLBACK_PARTITIONS],
        )
        wake_ups = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["lambda:InvokeFunction"],
            resource_arns=[f"{self.function_arn}:*"],
        )
        return records.combine(wake_ups)

    def metric_durable_execution_started(self, **options: Any) -> cloudwatch.Metric:
        """Executions started (the runtime's ``ExecutionsStarted``)."""
        return self._durable_metric(contract.EXECUTIONS_STARTED, options)

    def metric_durable_execution_succeeded(self, **options: Any) -> cloudwatch.Metric:
        """Executions that succeeded (``ExecutionsSucceeded``)."""
        return self._durable_metric(contract.EXECUTIONS_SUCCEEDED, options)

    def metric_durable_execution_failed(self, **options: Any) -> cloudwatch.Metric:
        """Executions that failed (``ExecutionsFailed``)."""
        return self._durable_metric(contract.EXECUTIONS_FAILED, options)

    def metric_durable_execution_timed_out(self, **options: Any) -> cloudwatch.Metric:
        """Executions that ran past their execution timeout (``ExecutionsTimedOut``)."""
        return self._durable_metric(contract.EXECUTIONS_TIMED_OUT, options)

    def _durable_metric(self, metric_name: str, options: Mapping[str, Any]) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=contract.METRIC_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={contract.FUNCTION_DIMENSION: self.function_name},
            **{"statistic": "Sum", **options},
        )


def _without_basic_execution_role(role: iam.IRole) -> None:
    """Take AWSLambdaBasicExecutionRole off the role the function made: it writes any log
    group; the durable policy writes the function's own. aws-cdk-lib adds it with no way
    out, so the template is changed (a property override) and the finding acknowledged,
    as cdk-nag advises for remediations it cannot see."""
    cfn_role = cast(iam.CfnRole, role.node.default_child)
    stack = cdk.Stack.of(role)
    arns = cfn_role.managed_policy_arns
    basic = stack.resolve(
        iam.ManagedPolicy.from_aws_managed_policy_name(BASIC_EXECUTION).managed_policy_arn
    )
    cfn_role.add_property_override(
        "ManagedPolicyArns",
        cdk.Lazy.any(_Filtered(lambda: [arn for arn in stack.resolve(arns) or [] if arn != basic])),
    )
    acknowledge(
        cfn_role,
        f"AwsSolutions-IAM4[Policy::{flatten_reference(basic)}]",
        "Removed from the template by a property override: the function writes its own log "
        "group only (its durable policy).",
    )


@jsii.implements(cdk.IStableAnyProducer)
class _Filtered:
    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    def produce(self) -> Any:
        return self._produce()


def durable_settings(durable_config: lambda_.DurableConfig) -> tuple[int, int]:
    """The execution timeout in seconds and the retention in days, checked as aws-cdk-lib does."""
    timeout = durable_config.execution_timeout
    retention = durable_config.retention_period or cdk.Duration.days(
        contract.DEFAULT_RETENTION_DAYS
    )
    if timeout.is_unresolved() or retention.is_unresolved():
        msg = "durable_config must be known at synth time, got a token"
        raise ValueError(msg)
    seconds = timeout.to_seconds(integral=False)
    if not 1 <= seconds <= LONGEST_EXECUTION_SECONDS or seconds != int(seconds):
        msg = (
            "durable_config.execution_timeout must be whole seconds between 1 and "
            f"{LONGEST_EXECUTION_SECONDS}, got {_number(seconds)}"
        )
        raise ValueError(msg)
    days = retention.to_days(integral=False)
    if not 1 <= days <= contract.LONGEST_RETENTION_DAYS or days != int(days):
        msg = (
            "durable_config.retention_period must be whole days between 1 and "
            f"{contract.LONGEST_RETENTION_DAYS}, got {_number(days)}"
        )
        raise ValueError(msg)
    return int(seconds), int(days)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _runtime_environment(
    engine: DurableEngineBase, timeout_seconds: int, retention_days: int
) -> dict[str, str]:
    """The environment the runtime reads (ARCHITECTURE, "The environment contract")."""
    return {
        contract.TABLE: engine.table.table_name,
        contract.PAYLOAD_BUCKET: engine.payload_bucket.bucket_name,
        contract.SCHEDULE_GROUP: engine.schedule_group_name,
        contract.SCHEDULER_ROLE_ARN: engine.scheduler_role.role_arn,
        contract.TIMER_DLQ_ARN: engine.timer_dead_letter_queue.queue_arn,
        contract.TIMER_QUEUE_URL: engine.timer_queue.queue_url,
        contract.CALLBACK_URL: engine.callback_url,
        contract.CALLBACK_KEY_SECRET_ARN: engine.callback_key_secret.secret_arn,
        contract.RETENTION_DAYS: str(retention_days),
        contract.EXECUTION_TIMEOUT_SECONDS: str(timeout_seconds),
    }


def _check_runtime(runtime: lambda_.Runtime) -> None:
    if not any(runtime.runtime_equals(python) for python in PYTHON_RUNTIMES):
        names = ", ".join(python.name for python in PYTHON_RUNTIMES)
        msg = f"runtime must be one of {names}, got {runtime.name}"
        raise ValueError(msg)


def _check_environment(environment: Mapping[str, str] | None) -> None:
    taken = sorted(set(environment or {}).intersection(contract.DURABLE_FUNCTION_VARIABLES))
    if taken:
        msg = f"environment cannot set {', '.join(taken)}: the engine sets the runtime's variables"
        raise ValueError(msg)
