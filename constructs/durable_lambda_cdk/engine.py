"""DurableEngine: the parts every durable function of an engine shares.

The state table, the payload bucket, the Scheduler group and the role
Scheduler assumes, the timer queue and the dead-letter queues, the callback
key secret, the callback HTTP API and its handler, the timer relay, the
sweeper and its schedule, and the alarms. docs/CONSTRUCTS.md has the props and
their defaults; docs/ARCHITECTURE.md ("On Lambda") the contract each part keeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from durable_lambda_cdk import contract
from durable_lambda_cdk.acknowledgements import acknowledge, acknowledge_wildcards
from durable_lambda_cdk.assets import runtime_code
from durable_lambda_cdk.grants import (
    BATCH_READ_ITEMS,
    FIND_DUE_ITEMS,
    READ_ITEMS,
    WRITE_ITEMS,
    grant_key,
    grant_log_writes,
    table_resources,
)
from durable_lambda_cdk.table import LAYOUT_PROPS, table_layout

HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
DEFAULT_CALLBACK_THROTTLE = apigwv2.ThrottleSettings(rate_limit=1000, burst_limit=1000)
TIMER_RELAY_TIMEOUT = cdk.Duration.seconds(30)
TIMER_DELIVERIES = 5
"""Receives of a timer message before it goes to the timer dead-letter queue."""
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "sourceIp": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
}
"""The callback API's access log fields: JSON, and never the path (it holds a callback id)."""


class DurableEngineBase(Construct):
    """What durable functions use of an engine: a ``DurableEngine``, or one imported.

    Attributes are the engine's parts as interfaces; an engine made in another stack
    or app is imported with ``DurableEngine.from_engine_attributes``.
    """

    table: dynamodb.ITable
    payload_bucket: s3.IBucket
    schedule_group_name: str
    scheduler_role: iam.IRole
    timer_queue: sqs.IQueue
    timer_dead_letter_queue: sqs.IQueue
    invocation_dead_letter_queue: sqs.IQueue
    callback_url: str
    callback_key_secret: secretsmanager.ISecret
    callback_handler_role: iam.IRole
    timer_relay_role: iam.IRole
    sweeper_role: iam.IRole

    def __init__(self, scope: Construct, id: str) -> None:  # noqa: A002 - the construct id
        super().__init__(scope, id)
        self._wake_up_grants: dict[str, tuple[iam.Policy, iam.PolicyStatement]] = {}

    @property
    def table_encryption_key(self) -> kms.IKey | None:
        """The table's customer-managed key, if it has one."""
        return self.table.encryption_key

    @property
    def schedules_arn(self) -> str:
        """The ARN pattern of every schedule in the engine's Scheduler group."""
        return cdk.Stack.of(self).format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{self.schedule_group_name}/*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    @property
    def wake_up_roles(self) -> list[iam.IRole]:
        """The roles that invoke durable functions to wake their executions up."""
        return [
            self.callback_handler_role,
            self.timer_relay_role,
            self.sweeper_role,
            self.scheduler_role,
        ]

    def grant_wake_ups(self, function: lambda_.IFunction) -> None:
        """Let the engine's parts invoke ``function``'s versions and aliases (wake-ups).

        The grants of a stack's functions share one policy, attached to the wake-up roles
        and kept apart from their default policies: the callback handler's function
        depends on its default policy, and durable functions on the callback URL.
        """
        stack = cdk.Stack.of(function)
        found = self._wake_up_grants.get(stack.node.path)
        if found is None:
            statement = iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[])
            same_stack = stack is cdk.Stack.of(self)
            policy = iam.Policy(
                self if same_stack else stack,
                "WakeUpGrants" if same_stack else f"{cdk.Names.unique_id(self)}WakeUpGrants",
                roles=self.wake_up_roles,
                statements=[statement],
            )
            found = self._wake_up_grants[stack.node.path] = (policy, statement)
        policy, statement = found
        resource = f"{function.function_arn}:*"
        statement.add_resources(resource)
        acknowledge_wildcards(
            policy,
            [resource],
            "A wake-up invokes the version or alias that started the execution (its id "
            "begins with that qualified ARN): every qualifier of a durable function of the "
            "engine, and no other function.",
        )


class _ImportedDurableEngine(DurableEngineBase):
    """An engine defined elsewhere, known by its attributes."""


class DurableEngine(DurableEngineBase):
    """The shared parts of durable functions: state, timers, callbacks, sweeping, alarms."""

    def __init__(
        self,
        scope: Construct,
        id: str,  # noqa: A002 - the construct id, as aws-cdk-lib names it
        *,
        existing_table_obj: dynamodb.ITable | None = None,
        dynamo_table_props: Mapping[str, Any] | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
        callback_throttle: apigwv2.ThrottleSettings | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        """Make an engine.

        :param existing_table_obj: the state table, made with ``table_layout()``. Default:
            a new table. Give this or ``dynamo_table_props``, not both.
        :param dynamo_table_props: ``aws_dynamodb.TableV2`` keyword arguments for the new
            table, over the engine's defaults (point-in-time recovery on, ``removal_policy``);
            keys, indexes, TTL and billing are the layout's and cannot be given. A
            customer-managed key: ``encryption=TableEncryptionV2.customer_managed_key(key)``.
        :param removal_policy: what deleting the stack does to the state (table, payload
            bucket, callback key). Default: RETAIN.
        :param callback_throttle: the callback API's request rate and burst limits.
            Default: 1,000 requests a second, bursts of 1,000.
        :param log_retention: how long the engine's handlers and the callback API keep
            their logs. Default: three months.
        """
        _check_table_choice(existing_table_obj, dynamo_table_props)
        super().__init__(scope, id)

        self.table = existing_table_obj or dynamodb.TableV2(
            self,
            "Table",
            **{
                "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                "removal_policy": removal_policy,
                **(dynamo_table_props or {}),
                **table_layout(),
            },
        )
        self.payload_bucket = self._payload_bucket(removal_policy)
        self.schedule_group = scheduler.ScheduleGroup(self, "ScheduleGroup")
        self.schedule_group_name = self.schedule_group.schedule_group_name
        self.timer_dead_letter_queue = _queue(self, "TimerDeadLetterQueue")
        self.timer_queue = _queue(
            self,
            "TimerQueue",
            visibility_timeout=cdk.Duration.seconds(6 * TIMER_RELAY_TIMEOUT.to_seconds()),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=TIMER_DELIVERIES, queue=self.timer_dead_letter_queue
            ),
        )
        self.invocation_dead_letter_queue = _queue(self, "InvocationDeadLetterQueue")
        for dead_letters in (self.timer_dead_letter_queue, self.invocation_dead_letter_queue):
            acknowledge(
                dead_letters,
                "Serverless-SQSRedrivePolicy",
                "A dead-letter queue is where undeliverable messages stop: they wait for an "
                "operator, whom the dead-letters alarm calls.",
            )
        self.scheduler_role = self._scheduler_role()
        self.callback_key_secret = self._callback_key_secret(removal_policy)

        self.callback_handler, self.callback_handler_role = self._handler(
            "CallbackHandler",
            contract.CALLBACK_API_HANDLER,
            "Answers the callback HTTP API of durable functions",
            log_retention,
            timeout=cdk.Duration.seconds(29),
        )
        self._grant_callback_handler()
        self.callback_api, self.callback_url = self._callback_api(
            callback_throttle or DEFAULT_CALLBACK_THROTTLE, log_retention
        )
        self.timer_relay, self.timer_relay_role = self._handler(
            "TimerRelay",
            contract.TIMER_RELAY_HANDLER,
            "Delivers the timer queue's due timers to durable functions",
            log_retention,
            timeout=TIMER_RELAY_TIMEOUT,
            recursive_loop=lambda_.RecursiveLoop.ALLOW,
        )
        self.timer_relay.add_event_source(
            event_sources.SqsEventSource(self.timer_queue, report_batch_item_failures=True)
        )
        acknowledge(
            self.timer_relay,
            "Serverless-LambdaDLQ",
            "The timer relay is invoked by its queue's event source mapping, never "
            "asynchronously: a timer it fails to deliver returns to the queue, and after "
            f"{TIMER_DELIVERIES} receives goes to the timer dead-letter queue.",
        )
        for mapping in self.timer_relay.node.find_all():
            if isinstance(mapping, lambda_.EventSourceMapping):
                acknowledge(
                    mapping,
                    "Serverless-LambdaEventSourceMappingDestination",
                    "The timer queue's redrive policy is the failure destination of its "
                    "messages (the timer dead-letter queue).",
                )
        self.sweeper, self.sweeper_role = self._handler(
            "Sweeper",
            contract.SWEEPER_HANDLER,
            "Invokes durable executions that are due and ends those past their timeout",
            log_retention,
            timeout=cdk.Duration.minutes(1),
            reserved_concurrent_executions=1,
            retry_attempts=0,
            dead_letter_queue=self.invocation_dead_letter_queue,
        )
        acknowledge(
            self.sweeper.node.find_child("EventInvokeConfig"),
            "Serverless-LambdaAsyncFailureDestination",
            "A sweep that fails goes to the invocation dead-letter queue, the sweeper's "
            "dead-letter queue; a failure destination would be a second copy of it.",
        )
        self._grant_table(self.sweeper, FIND_DUE_ITEMS)
        self.sweeper_schedule = events.Rule(
            self,
            "SweeperSchedule",
            description="Runs the durable engine's sweeper every minute",
            schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
            targets=[
                targets.LambdaFunction(
                    self.sweeper,
                    retry_attempts=0,
                    dead_letter_queue=self.invocation_dead_letter_queue,
                )
            ],
        )

        self.failed_executions_alarm, self.dead_letters_alarm, self.throttles_alarm = self._alarms()
        self._output("TableName", self.table.table_name, "The state table of durable executions")
        self._output(
            "PayloadBucketName", self.payload_bucket.bucket_name, "Payloads too large for an item"
        )
        self._output("CallbackUrl", self.callback_url, "The callback API's URL")

    @staticmethod
    def from_engine_attributes(
        scope: Construct,
        id: str,  # noqa: A002 - the construct id, as aws-cdk-lib names it
        *,
        table_arn: str,
        payload_bucket_name: str,
        schedule_group_name: str,
        scheduler_role_arn: str,
        timer_queue_arn: str,
        timer_dead_letter_queue_arn: str,
        invocation_dead_letter_queue_arn: str,
        callback_url: str,
        callback_key_secret_arn: str,
        callback_handler_role_arn: str,
        timer_relay_role_arn: str,
        sweeper_role_arn: str,
        table_encryption_key_arn: str | None = None,
    ) -> DurableEngineBase:
        """An engine made in another stack or app, for durable functions to use.

        Each attribute is the ARN or name of the engine's part of the same name;
        ``callback_key_secret_arn`` is the secret's complete ARN.
        """
        engine = _ImportedDurableEngine(scope, id)
        key = (
            kms.Key.from_key_arn(engine, "TableKey", table_encryption_key_arn)
            if table_encryption_key_arn
            else None
        )
        engine.table = dynamodb.TableV2.from_table_attributes(
            engine, "Table", table_arn=table_arn, encryption_key=key, grant_index_permissions=True
        )
        engine.payload_bucket = s3.Bucket.from_bucket_name(
            engine, "PayloadBucket", payload_bucket_name
        )
        engine.schedule_group_name = schedule_group_name
        engine.scheduler_role = iam.Role.from_role_arn(engine, "SchedulerRole", scheduler_role_arn)
        engine.timer_queue = sqs.Queue.from_queue_arn(engine, "TimerQueue", timer_queue_arn)
        engine.timer_dead_letter_queue = sqs.Queue.from_queue_arn(
            engine, "TimerDeadLetterQueue", timer_dead_letter_queue_arn
        )
        engine.invocation_dead_letter_queue = sqs.Queue.from_queue_arn(
            engine, "InvocationDeadLetterQueue", invocation_dead_letter_queue_arn
        )
        engine.callback_url = callback_url
        engine.callback_key_secret = secretsmanager.Secret.from_secret_complete_arn(
            engine, "CallbackKey", callback_key_secret_arn
        )
        engine.callback_handler_role = iam.Role.from_role_arn(
            engine, "CallbackHandlerRole", callback_handler_role_arn
        )
        engine.timer_relay_role = iam.Role.from_role_arn(
            engine, "TimerRelayRole", timer_relay_role_arn
        )
        engine.sweeper_role = iam.Role.from_role_arn(engine, "SweeperRole", sweeper_role_arn)
        return engine

    def _output(self, name: str, value: str, description: str) -> None:
        """A stack output keyed by the engine's path in its stack and ``name``
        (``EngineTableName``), with no hash appended: ``DurableClient.from_stack`` finds
        the table and the bucket by their keys."""
        path = self.node.path.removeprefix(f"{cdk.Stack.of(self).node.path}/")
        output = cdk.CfnOutput(self, name, value=value, description=description)
        output.override_logical_id(re.sub(r"[^A-Za-z0-9]", "", path) + name)

    def _payload_bucket(self, removal_policy: cdk.RemovalPolicy) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "PayloadBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireWithTheLongestExecution",
                    expiration=cdk.Duration.days(
                        contract.LONGEST_EXECUTION_DAYS + contract.LONGEST_RETENTION_DAYS
                    ),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "Checkpoint payloads are written once and read back only by the engine's own "
            "roles; server access logs would add a log object per checkpoint read or write. "
            "CloudTrail data events audit the bucket where an audit is required.",
        )
        return bucket

    def _scheduler_role(self) -> iam.Role:
        role = iam.Role(
            self,
            "SchedulerRole",
            description="Assumed by EventBridge Scheduler to deliver durable execution timers",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}},
            ),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"], resources=[self.timer_dead_letter_queue.queue_arn]
            )
        )
        return role

    def _callback_key_secret(self, removal_policy: cdk.RemovalPolicy) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "CallbackKey",
            description="The key callback ids are derived from: 32 bytes, hex",
            removal_policy=removal_policy,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64,
                exclude_punctuation=True,
                exclude_uppercase=True,
                exclude_characters="ghijklmnopqrstuvwxyz",
                include_space=False,
                require_each_included_type=False,
            ),
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "Callback ids are derived from this key and handed to outside systems, which "
            "complete callbacks days later; rotating it would invalidate every id of every "
            "running execution.",
        )
        return secret

    def _handler(
        self,
        id: str,  # noqa: A002 - the construct id
        handler: str,
        description: str,
        log_retention: logs.RetentionDays,
        **props: Any,
    ) -> tuple[lambda_.Function, iam.Role]:
        """One of the engine's own functions: the runtime's code, its own role and logs,
        and the variables its handler reads (``contract.ENGINE_HANDLER_VARIABLES``)."""
        values = {
            contract.TABLE: self.table.table_name,
            contract.PAYLOAD_BUCKET: self.payload_bucket.bucket_name,
        }
        role = iam.Role(
            self,
            f"{id}Role",
            description=description,
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        log_group = logs.LogGroup(
            self, f"{id}Logs", retention=log_retention, removal_policy=cdk.RemovalPolicy.DESTROY
        )
        grant_log_writes(role, log_group)
        function = lambda_.Function(
            self,
            id,
            code=runtime_code(),
            handler=handler,
            runtime=HANDLER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=256,
            description=description,
            role=role,
            log_group=log_group,
            environment={name: values[name] for name in contract.ENGINE_HANDLER_VARIABLES[handler]},
            **props,
        )
        acknowledge(
            function,
            "Serverless-LambdaTracing",
            "X-Ray tracing needs xray:PutTraceSegments on every resource ('*'); the engine's "
            "handlers log each request instead.",
        )
        return function, role

    def _grant_table(self, function: lambda_.Function, actions: tuple[str, ...]) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(actions=list(actions), resources=table_resources(self.table))
        )
        grant_key(function, self.table_encryption_key, actions)

    def _grant_callback_handler(self) -> None:
        """The table, every function's callbacks and executions in it (no payload: a
        callback's result is at most 256 KiB, within an item). Its wake-ups are granted
        with each function (``grant_wake_ups``)."""
        self._grant_table(self.callback_handler, READ_ITEMS + BATCH_READ_ITEMS + WRITE_ITEMS)
        acknowledge(
            self.callback_handler,
            "Serverless-LambdaDLQ",
            "API Gateway invokes the callback handler synchronously: a failure is answered to "
            "the caller, who retries; there is no asynchronous event to keep.",
        )

    def _callback_api(
        self, throttle: apigwv2.ThrottleSettings, log_retention: logs.RetentionDays
    ) -> tuple[apigwv2.HttpApi, str]:
        api = apigwv2.HttpApi(
            self,
            "CallbackApi",
            description="Completes durable execution callbacks: POST /callbacks/{id}/<action>",
            create_default_stage=False,
            default_integration=integrations.HttpLambdaIntegration(
                "CallbackHandler",
                self.callback_handler,
                payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
            ),
        )
        access_logs = logs.LogGroup(
            self,
            "CallbackApiAccessLogs",
            retention=log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        apigwv2.HttpStage(
            self,
            "CallbackApiStage",
            http_api=api,
            stage_name="$default",
            auto_deploy=True,
            throttle=throttle,
            access_log_settings=_AccessLogSettings(
                apigwv2.LogGroupLogDestination(access_logs),
                apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
        )
        for route in api.node.find_all():
            if isinstance(route, apigwv2.HttpRoute):
                acknowledge(
                    route,
                    "AwsSolutions-APIG4",
                    "A callback id is a 256-bit capability derived from the engine's secret "
                    "key: knowing it is the authorization, as for AWS's callback ids; the "
                    "handler refuses unknown ids.",
                )
        return api, api.api_endpoint

    def _alarms(self) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm, cloudwatch.Alarm]:
        period = cdk.Duration.minutes(5)

        def execution_metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=contract.METRIC_NAMESPACE,
                metric_name=name,
                dimensions_map={contract.TABLE_DIMENSION: self.table.table_name},
                statistic="Sum",
                period=period,
            )

        def alarm(
            id: str,  # noqa: A002 - the construct id
            description: str,
            expression: str,
            **metrics: cloudwatch.IMetric,
        ) -> cloudwatch.Alarm:
            return cloudwatch.Alarm(
                self,
                id,
                alarm_description=description,
                metric=cloudwatch.MathExpression(
                    expression=expression, using_metrics=metrics, period=period
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        def visible(queue: sqs.IQueue) -> cloudwatch.Metric:
            return queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=period
            )

        def throttled(metric_name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/DynamoDB",
                metric_name=metric_name,
                dimensions_map={"TableName": self.table.table_name},
                statistic="Sum",
                period=period,
            )

        return (
            alarm(
                "FailedExecutionsAlarm",
                "Durable executions of the engine failed or timed out",
                "failed + timedOut",
                failed=execution_metric(contract.EXECUTIONS_FAILED),
                timedOut=execution_metric(contract.EXECUTIONS_TIMED_OUT),
            ),
            alarm(
                "DeadLettersAlarm",
                "Timers or invocations of the engine went to a dead-letter queue",
                "timers + invocations",
                timers=visible(self.timer_dead_letter_queue),
                invocations=visible(self.invocation_dead_letter_queue),
            ),
            alarm(
                "ThrottlesAlarm",
                "The engine's table or handlers were throttled",
                "tableReads + tableWrites + callbacks + relay + sweeper",
                tableReads=throttled("ReadThrottleEvents"),
                tableWrites=throttled("WriteThrottleEvents"),
                callbacks=self.callback_handler.metric_throttles(period=period),
                relay=self.timer_relay.metric_throttles(period=period),
                sweeper=self.sweeper.metric_throttles(period=period),
            ),
        )


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    def __init__(
        self, destination: apigwv2.IAccessLogDestination, log_format: apigateway.AccessLogFormat
    ) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat:
        return self._format


def _check_table_choice(
    existing_table_obj: dynamodb.ITable | None, dynamo_table_props: Mapping[str, Any] | None
) -> None:
    if existing_table_obj is not None and dynamo_table_props is not None:
        msg = "give existing_table_obj or dynamo_table_props, not both"
        raise ValueError(msg)
    fixed = sorted(set(dynamo_table_props or {}).intersection(LAYOUT_PROPS))
    if fixed:
        msg = (
            f"dynamo_table_props cannot set {', '.join(fixed)}: the runtime's table layout "
            "fixes them (see durable_lambda_cdk.table_layout)"
        )
        raise ValueError(msg)


def _queue(scope: Construct, id: str, **props: Any) -> sqs.Queue:  # noqa: A002
    return sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
        **props,
    )
