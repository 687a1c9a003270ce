"""DurableEngine and DurableFunction, synthesized in this process: settings, grants, errors."""

from __future__ import annotations

import datetime
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from cdk_templates import (
    PLATFORM_CALLS,
    called,
    function_variables,
    granted_calls,
    resources_of,
    runtime_calls,
)

from app import check_with_cdk_nag, findings
from durable_lambda.aws import telemetry
from durable_lambda.store import ExecutionRecord, ExecutionStatus
from durable_lambda_cdk import DurableEngine, DurableFunction, PythonCode, contract, table_layout

HOUR = lambda_.DurableConfig(execution_timeout=cdk.Duration.hours(1))
CODE = lambda_.Code.from_inline("def handler(event, context): ...")
PYTHON = lambda_.Runtime.PYTHON_3_14


def durable_function(scope: cdk.Stack, id: str, engine: Any, **props: Any) -> DurableFunction:  # noqa: A002
    return DurableFunction(
        scope,
        id,
        engine=engine,
        code=CODE,
        handler="index.handler",
        **{"runtime": PYTHON, "durable_config": HOUR, **props},
    )


class Stacks:
    """One app: an engine and its functions, an engine imported, an engine with a key."""

    def __init__(self) -> None:
        self.app = cdk.App()
        self.main = cdk.Stack(self.app, "Main")
        self.engine = DurableEngine(self.main, "Engine")
        self.function = durable_function(self.main, "Orders", self.engine)
        self.reader, self.sender, self.starter = (
            iam.Role(self.main, name, assumed_by=iam.AccountRootPrincipal())
            for name in ("Reader", "Sender", "Starter")
        )
        self.grants = {
            "read": self.function.grant_read_executions(self.reader),
            "send": self.function.grant_send_callbacks(self.sender),
            "start": self.function.grant_start(self.starter),
        }
        self.other = cdk.Stack(self.app, "Other")
        self.imported = DurableEngine.from_engine_attributes(
            self.other,
            "Engine",
            table_arn="arn:aws:dynamodb:eu-west-1:111111111111:table/state",
            payload_bucket_name="payloads",
            schedule_group_name="timers",
            scheduler_role_arn="arn:aws:iam::111111111111:role/scheduler",
            timer_queue_arn="arn:aws:sqs:eu-west-1:111111111111:timers",
            timer_dead_letter_queue_arn="arn:aws:sqs:eu-west-1:111111111111:timers-dlq",
            invocation_dead_letter_queue_arn="arn:aws:sqs:eu-west-1:111111111111:invocations",
            callback_url="https://callbacks.example.com",
            callback_key_secret_arn=(
                "arn:aws:secretsmanager:eu-west-1:111111111111:secret:key-AbCdEf"
            ),
            callback_handler_role_arn="arn:aws:iam::111111111111:role/callbacks",
            timer_relay_role_arn="arn:aws:iam::111111111111:role/relay",
            sweeper_role_arn="arn:aws:iam::111111111111:role/sweeper",
        )
        self.elsewhere = durable_function(
            self.other,
            "Elsewhere",
            self.imported,
            durable_config=lambda_.DurableConfig(
                execution_timeout=cdk.Duration.days(366), retention_period=cdk.Duration.days(90)
            ),
        )
        # A table under a customer-managed key names its region (its replica's key).
        self.keyed = cdk.Stack(
            self.app, "Keyed", env=cdk.Environment(account="111111111111", region="eu-west-1")
        )
        self.key = kms.Key(self.keyed, "Key")
        self.keyed_engine = DurableEngine(
            self.keyed,
            "Engine",
            dynamo_table_props={
                "encryption": dynamodb.TableEncryptionV2.customer_managed_key(self.key),
                "removal_policy": cdk.RemovalPolicy.DESTROY,
            },
        )
        durable_function(self.keyed, "Keyed", self.keyed_engine)
        # Every caller of the runtime: a parent, its durable child and a plain function it
        # invokes, and a user's client of each kind.
        self.calls = cdk.Stack(self.app, "Calls")
        engine = DurableEngine(self.calls, "Engine")
        parent = durable_function(self.calls, "Parent", engine)
        parent.grant_invoke_durable(durable_function(self.calls, "Child", engine))
        parent.grant_invoke_durable(
            lambda_.Function(
                self.calls, "Plain", code=CODE, handler="index.handler", runtime=PYTHON
            )
        )
        for grant in ("grant_start", "grant_read_executions", "grant_send_callbacks"):
            user = iam.Role(self.calls, grant, assumed_by=iam.AccountRootPrincipal())
            getattr(parent, grant)(user)
        self.templates = {
            stack.stack_name: Template.from_stack(stack)
            for stack in (self.main, self.other, self.keyed, self.calls)
        }


@pytest.fixture(scope="module")
def stacks() -> Stacks:
    return Stacks()


def test_the_payload_bucket_is_encrypted_private_tls_only_and_expires(stacks: Stacks) -> None:
    template = stacks.templates["Main"]
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        Match.object_like({"ExpirationInDays": 366 + 90, "Status": "Enabled"})
                    ]
                },
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Effect": "Deny",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    )
                ]
            }
        },
    )


def test_the_callback_key_is_generated_kept_and_never_output(stacks: Stacks) -> None:
    template = stacks.templates["Main"]
    template.has_resource(
        "AWS::SecretsManager::Secret",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "GenerateSecretString": {
                    "PasswordLength": 64,
                    "ExcludePunctuation": True,
                    "ExcludeUppercase": True,
                    "ExcludeCharacters": "ghijklmnopqrstuvwxyz",
                    "IncludeSpace": False,
                    "RequireEachIncludedType": False,
                }
            },
        },
    )
    rendered = json.dumps(template.to_json())
    assert "SecretString" not in rendered.replace("GenerateSecretString", "")
    (secret,) = template.find_resources("AWS::SecretsManager::Secret")
    outputs = json.dumps(template.find_outputs("*"))
    assert secret not in outputs


def test_the_callback_api_is_throttled_and_logs_json_without_the_callback_id(
    stacks: Stacks,
) -> None:
    template = stacks.templates["Main"]
    (stage,) = template.find_resources("AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "$default"
    assert properties["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": 1000,
        "ThrottlingRateLimit": 1000,
    }
    log_format = json.loads(properties["AccessLogSettings"]["Format"])
    assert "requestId" in log_format
    assert not any("path" in value.lower() for value in log_format.values())
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0"},
    )
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Handler": contract.CALLBACK_API_HANDLER}
    )
    assert stacks.engine.callback_url == stacks.engine.callback_api.api_endpoint


def test_the_sweeper_runs_every_minute_and_the_relay_reads_the_timer_queue(
    stacks: Stacks,
) -> None:
    template = stacks.templates["Main"]
    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(1 minute)", "State": "ENABLED"}
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": contract.SWEEPER_HANDLER, "ReservedConcurrentExecutions": 1},
    )
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {"FunctionResponseTypes": ["ReportBatchItemFailures"]},
    )
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"VisibilityTimeout": 180, "RedrivePolicy": Match.object_like({"maxReceiveCount": 5})},
    )
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "scheduler.amazonaws.com"},
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                            },
                        }
                    )
                ]
            }
        },
    )


def test_the_alarms_watch_failed_executions_dead_letters_and_throttles(stacks: Stacks) -> None:
    template = stacks.templates["Main"]
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    metrics = {
        alarm["Properties"]["AlarmDescription"]: sorted(
            query["MetricStat"]["Metric"]["MetricName"]
            for query in alarm["Properties"]["Metrics"]
            if "MetricStat" in query
        )
        for alarm in alarms.values()
    }
    assert metrics == {
        "Durable executions of the engine failed or timed out": [
            "ExecutionsFailed",
            "ExecutionsTimedOut",
        ],
        "Timers or invocations of the engine went to a dead-letter queue": [
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesVisible",
        ],
        "The engine's table or handlers were throttled": [
            "ReadThrottleEvents",
            "Throttles",
            "Throttles",
            "Throttles",
            "WriteThrottleEvents",
        ],
    }


def test_a_durable_function_is_a_lambda_function_with_the_runtime_layer(
    stacks: Stacks,
) -> None:
    function: lambda_.IFunction = stacks.function
    assert isinstance(function, lambda_.Function)
    template = stacks.templates["Main"]
    (layer,) = template.find_resources("AWS::Lambda::LayerVersion")
    (orders,) = (
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if contract.EXECUTION_TIMEOUT_SECONDS in function_variables(f)
    )
    assert orders["Properties"]["Layers"] == [{"Ref": layer}]
    assert orders["Properties"]["RecursiveLoop"] == "Allow"
    assert function_variables(orders)[contract.RETENTION_DAYS] == "14"  # aws-cdk-lib's default
    assert function_variables(orders)[contract.EXECUTION_TIMEOUT_SECONDS] == "3600"
    role = template.find_resources("AWS::IAM::Role")[orders["Properties"]["Role"]["Fn::GetAtt"][0]]
    assert role["Properties"]["ManagedPolicyArns"] == []  # no AWSLambdaBasicExecutionRole


def test_an_imported_engine_gives_its_functions_its_parts_and_its_roles_the_wake_ups(
    stacks: Stacks,
) -> None:
    template = stacks.templates["Other"]
    (function,) = (
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if contract.EXECUTION_TIMEOUT_SECONDS in function_variables(f)
    )
    variables = function_variables(function)
    assert variables[contract.TABLE] == "state"
    assert variables[contract.SCHEDULE_GROUP] == "timers"
    assert variables[contract.CALLBACK_URL] == "https://callbacks.example.com"
    assert variables[contract.TIMER_QUEUE_URL] == {
        "Fn::Join": [
            "",
            ["https://sqs.eu-west-1.", {"Ref": "AWS::URLSuffix"}, "/111111111111/timers"],
        ]
    }
    assert variables[contract.RETENTION_DAYS] == "90"
    assert variables[contract.EXECUTION_TIMEOUT_SECONDS] == str(366 * 24 * 3600)
    wake_ups = [g for g in granted_calls(template.to_json()) if g.action == "lambda:InvokeFunction"]
    roles = {g.role for g in wake_ups if not g.role.startswith("Elsewhere")}
    assert roles == {"callbacks", "relay", "sweeper", "scheduler"}


def test_grants_to_others_return_iam_grants_of_the_documented_calls(stacks: Stacks) -> None:
    assert all(isinstance(grant, iam.Grant) for grant in stacks.grants.values())
    grants = granted_calls(stacks.templates["Main"].to_json())

    def actions(role: str) -> set[str]:
        return {g.action for g in grants if g.role.startswith(role)}

    assert actions("Reader") == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "s3:GetObject",
    }
    assert actions("Sender") == {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "lambda:InvokeFunction",
    }
    assert actions("Starter") == {"lambda:InvokeFunction"}
    (orders,) = (
        logical_id
        for logical_id in resources_of(stacks.templates["Main"].to_json(), "AWS::Lambda::Function")
        if logical_id.startswith("Orders")
    )
    reader_keys = {g.leading_keys for g in grants if g.role.startswith("Reader")} - {None}
    assert reader_keys == {(f"<{orders}.Arn>:*", f"<{orders}>")}
    sender_keys = {g.leading_keys for g in grants if g.role.startswith("Sender")} - {None}
    assert sender_keys == {(f"<{orders}.Arn>:*", "C#*")}


def test_every_call_the_runtime_makes_is_granted_and_nothing_else(stacks: Stacks) -> None:
    """``tests/data/aws_calls.json``, recorded by the runtime's tests on AWS, is what the
    constructs grant to each caller, with what AWS itself calls with their roles: a call
    the runtime starts making fails here until it is granted."""
    assert called(stacks.templates["Calls"].to_json()) == runtime_calls() | PLATFORM_CALLS


def test_a_customer_managed_table_key_is_granted_to_the_tables_callers(stacks: Stacks) -> None:
    template = stacks.templates["Keyed"]
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {"SSESpecification": Match.object_like({"SSEEnabled": True, "SSEType": "KMS"})},
    )
    key_actions: dict[str, set[str]] = {}
    for grant in granted_calls(template.to_json()):
        if grant.action.startswith("kms:"):
            key_actions.setdefault(grant.role.split("Role")[0], set()).add(grant.action)
    reads = {"kms:Decrypt", "kms:DescribeKey"}
    writes = reads | {"kms:Encrypt", "kms:GenerateDataKey"}
    assert key_actions == {
        "EngineCallbackHandler": writes,
        "EngineSweeper": reads,
        "KeyedService": writes,
    }


def test_the_metrics_read_are_the_ones_the_runtime_writes(stacks: Stacks) -> None:
    """A function's metrics and the engine's failed-executions alarm read what an
    invocation's log line carries: names, namespace and dimensions."""
    record = telemetry.invocation_record(
        function_name="orders",
        table_name="state",
        execution_id="arn:aws:lambda:eu-west-1:111111111111:function:orders:$LATEST/x",
        request_id="r",
        replayed=0,
        new=1,
        outcome=None,
        duration_ms=1.0,
        replay_ms=0.0,
    )
    started = ExecutionRecord(
        execution_id="arn:aws:lambda:eu-west-1:111111111111:function:orders:$LATEST/x",
        function_name="orders",
        execution_name="x",
        status=ExecutionStatus.RUNNING,
        input_payload=None,
        start_timestamp=datetime.datetime.now(datetime.UTC),
    )
    counts = [
        telemetry.execution_record(started, metric, "state")
        for metric in (telemetry.STARTED, telemetry.TIMED_OUT)
    ]
    [written] = record["_aws"]["CloudWatchMetrics"]
    for line in counts:
        assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == written["Dimensions"]
    names = {
        metric["Name"]
        for line in [record, *counts]
        for metric in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    function = stacks.function
    read = [
        function.metric_durable_execution_started(),
        function.metric_durable_execution_succeeded(),
        function.metric_durable_execution_failed(period=cdk.Duration.minutes(1)),
        function.metric_durable_execution_timed_out(),
    ]
    for metric in read:
        assert (metric.namespace, metric.statistic) == (written["Namespace"], "Sum")
        assert metric.metric_name in names
        assert [list(metric.dimensions or {})] == [["FunctionName"]]
    assert ["FunctionName"] in written["Dimensions"]
    (alarm,) = (
        a
        for a in stacks.templates["Main"].find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmDescription"].startswith("Durable executions")
    )
    for query in alarm["Properties"]["Metrics"]:
        if "MetricStat" in query:
            watched = query["MetricStat"]["Metric"]
            assert (watched["Namespace"], watched["MetricName"] in names) == (
                written["Namespace"],
                True,
            )
            assert [d["Name"] for d in watched["Dimensions"]] in written["Dimensions"]
    assert function.metric_errors().namespace == "AWS/Lambda"


def test_a_table_brought_along_is_used_as_it_is() -> None:
    stack = cdk.Stack()
    table = dynamodb.TableV2(stack, "Mine", **table_layout(), table_name="mine")
    engine = DurableEngine(stack, "Engine", existing_table_obj=table)
    assert engine.table is table
    Template.from_stack(stack).resource_count_is("AWS::DynamoDB::GlobalTable", 1)


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Refused")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda stack: DurableEngine(
                stack,
                "Engine",
                existing_table_obj=dynamodb.TableV2.from_table_name(stack, "T", "t"),
                dynamo_table_props={"table_name": "t"},
            ),
            "give existing_table_obj or dynamo_table_props, not both",
        ),
        (
            lambda stack: DurableEngine(
                stack,
                "Engine",
                dynamo_table_props={
                    "partition_key": dynamodb.Attribute(
                        name="id", type=dynamodb.AttributeType.STRING
                    ),
                    "time_to_live_attribute": "expires",
                },
            ),
            "dynamo_table_props cannot set partition_key, time_to_live_attribute: the "
            "runtime's table layout fixes them (see durable_lambda_cdk.table_layout)",
        ),
    ],
)
def test_an_engine_refuses_conflicting_table_props_and_makes_nothing(
    make: Callable[[cdk.Stack], Any], message: str
) -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        make(stack)
    assert stack.node.try_find_child("Engine") is None


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"durable_config": lambda_.DurableConfig(execution_timeout=cdk.Duration.days(367))},
            "durable_config.execution_timeout must be whole seconds between 1 and 31622400, "
            "got 31708800",
        ),
        (
            {"durable_config": lambda_.DurableConfig(execution_timeout=cdk.Duration.millis(1500))},
            "durable_config.execution_timeout must be whole seconds between 1 and 31622400, "
            "got 1.5",
        ),
        (
            {
                "durable_config": lambda_.DurableConfig(
                    execution_timeout=cdk.Duration.hours(1),
                    retention_period=cdk.Duration.days(91),
                )
            },
            "durable_config.retention_period must be whole days between 1 and 90, got 91",
        ),
        (
            {
                "durable_config": lambda_.DurableConfig(
                    execution_timeout=cdk.Duration.hours(1),
                    retention_period=cdk.Duration.hours(36),
                )
            },
            "durable_config.retention_period must be whole days between 1 and 90, got 1.5",
        ),
        (
            {"environment": {"STAGE": "prod", contract.TABLE: "other"}},
            "environment cannot set DURABLE_LAMBDA_TABLE: the engine sets the runtime's variables",
        ),
        (
            {"runtime": lambda_.Runtime.NODEJS_22_X},
            "runtime must be one of python3.11, python3.12, python3.13, python3.14, got nodejs22.x",
        ),
    ],
)
def test_a_durable_function_refuses_what_the_runtime_cannot_run_and_makes_nothing(
    props: dict[str, Any], message: str
) -> None:
    stack = new_stack()
    engine = DurableEngine.from_engine_attributes(
        stack,
        "Engine",
        table_arn="arn:aws:dynamodb:eu-west-1:111111111111:table/state",
        payload_bucket_name="payloads",
        schedule_group_name="timers",
        scheduler_role_arn="arn:aws:iam::111111111111:role/scheduler",
        timer_queue_arn="arn:aws:sqs:eu-west-1:111111111111:timers",
        timer_dead_letter_queue_arn="arn:aws:sqs:eu-west-1:111111111111:timers-dlq",
        invocation_dead_letter_queue_arn="arn:aws:sqs:eu-west-1:111111111111:invocations",
        callback_url="https://callbacks.example.com",
        callback_key_secret_arn="arn:aws:secretsmanager:eu-west-1:111111111111:secret:k-AbCdEf",
        callback_handler_role_arn="arn:aws:iam::111111111111:role/callbacks",
        timer_relay_role_arn="arn:aws:iam::111111111111:role/relay",
        sweeper_role_arn="arn:aws:iam::111111111111:role/sweeper",
    )
    with pytest.raises(ValueError) as raised:
        durable_function(stack, "Refused", engine, **props)
    assert str(raised.value) == message
    assert stack.node.try_find_child("Refused") is None


def test_cdk_nag_reports_the_choices_a_durable_function_leaves_to_its_user() -> None:
    """The packs run: a function with Lambda's default memory and timeout is reported."""
    app = cdk.App()
    stack = cdk.Stack(app, "Defaults")
    durable_function(stack, "Orders", DurableEngine(stack, "Engine"))
    check_with_cdk_nag(app)
    reported = {
        (finding.split(": ")[1], finding.split(": ")[0]) for finding in findings(app.synth())
    }
    assert reported == {
        ("Serverless-LambdaDefaultMemorySize", "/Defaults/Orders/Resource"),
        ("Serverless-LambdaDefaultTimeout", "/Defaults/Orders/Resource"),
        ("Serverless-LambdaTracing", "/Defaults/Orders/Resource"),
    }


def fake_wheel(folder: Path, name: str, tag: str) -> None:
    """A wheel of one module, for ``tag`` only (pip finds it with ``--find-links``)."""
    info = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(folder / f"{name}-1.0-{tag}.whl", "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", "BUILT_FOR = 'lambda'\n")
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        wheel.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n")
        wheel.writestr(f"{info}/RECORD", "")


def test_python_code_installs_its_requirements_for_lambda_not_for_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    fake_wheel(wheels, "lambdaonly", "cp314-cp314-manylinux_2_17_aarch64.manylinux2014_aarch64")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    entry = tmp_path / "src"
    (entry / "__pycache__").mkdir(parents=True)
    (entry / "handler.py").write_text("import lambdaonly\n")
    (entry / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"stale")
    (entry / "requirements.txt").write_text("lambdaonly==1.0\n")
    app = cdk.App(outdir=str(tmp_path / "out"))
    stack = cdk.Stack(app, "Code")
    lambda_.Function(
        stack,
        "Fn",
        code=PythonCode.from_entry(
            str(entry), runtime=PYTHON, architecture=lambda_.Architecture.ARM_64
        ),
        handler="handler.handler",
        runtime=PYTHON,
    )
    template = app.synth().get_stack_by_name("Code").template
    (function,) = resources_of(template, "AWS::Lambda::Function").values()
    asset = Path(app.outdir) / f"asset.{function['Properties']['Code']['S3Key'][:-4]}"
    assert (asset / "lambdaonly" / "__init__.py").read_text() == "BUILT_FOR = 'lambda'\n"
    assert (asset / "handler.py").is_file()
    assert not (asset / "__pycache__").exists()
