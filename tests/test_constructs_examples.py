"""The example stack (app.py) as synthesized: the table, environments, grants, findings.

The stack is synthesized once per session (``examples_template``), as ``cdk synth``
runs the app, cdk-nag's packs included.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_harness import AwsAccount, Function
from cdk_templates import (
    PLATFORM_CALLS,
    REGION,
    architecture_table,
    called,
    callers,
    deployed,
    documented_variables,
    function_variables,
    granted_calls,
    is_durable,
    resources_of,
    runtime_calls,
)
from cfnlint.api import ManualArgs, lint_file
from conftest import QUIET_NODE, ROOT
from moto import mock_aws

from durable_lambda.aws.environment import FunctionEnvironment
from durable_lambda.client import DurableClient
from durable_lambda.store.dynamodb import layout
from durable_lambda_cdk import contract
from examples import nested_workflows
from examples.__main__ import WORKFLOWS

APP_VARIABLES = {"Orchestrator": {"CHILD_FUNCTION_NAME"}}
"""What the app itself gives its functions: the orchestrator reads its worker's name."""


def durable_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    functions = resources_of(template, "AWS::Lambda::Function")
    return {logical_id: f for logical_id, f in functions.items() if is_durable(f)}


def the_table(template: dict[str, Any]) -> dict[str, Any]:
    (table,) = resources_of(template, "AWS::DynamoDB::GlobalTable").values()
    return table


def test_the_table_is_the_runtimes_table_definition_field_for_field(
    examples_template: dict[str, Any],
) -> None:
    table = the_table(examples_template)
    deployed = table["Properties"]
    expected = layout.table_definition("any")

    def by_name(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
        return {item[key]: item for item in items}

    assert deployed["KeySchema"] == expected["KeySchema"]
    assert by_name(deployed["AttributeDefinitions"], "AttributeName") == by_name(
        expected["AttributeDefinitions"], "AttributeName"
    )
    assert by_name(deployed["GlobalSecondaryIndexes"], "IndexName") == by_name(
        expected["GlobalSecondaryIndexes"], "IndexName"
    )
    assert deployed["BillingMode"] == expected["BillingMode"]
    assert deployed["TimeToLiveSpecification"] == {"AttributeName": layout.TTL, "Enabled": True}
    (replica,) = deployed["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_every_seed_pattern_is_a_durable_function_with_its_handler(
    examples_template: dict[str, Any],
) -> None:
    handlers = sorted(
        f["Properties"]["Handler"] for f in durable_functions(examples_template).values()
    )
    assert handlers == [
        "agent_loop.handler",
        "approval.handler",
        "batch.find_match",
        "batch.process_items",
        "custom_serdes.handler",
        "nested_workflows.orchestrator",
        "nested_workflows.worker",
        "retry_by_error_type.handler",
        "step_semantics.handler",
    ]


def test_every_durable_functions_environment_is_the_runtime_contract(
    examples_template: dict[str, Any],
) -> None:
    contract_variables = set(documented_variables())
    assert contract_variables == set(contract.DURABLE_FUNCTION_VARIABLES)
    for logical_id, function in durable_functions(examples_template).items():
        own = next((v for k, v in APP_VARIABLES.items() if logical_id.startswith(k)), set())
        variables = function_variables(function)
        assert set(variables) == contract_variables | own, logical_id
        assert variables[contract.RETENTION_DAYS] == "14"
        assert variables[contract.EXECUTION_TIMEOUT_SECONDS] == str(2 * 24 * 3600)


def the(template: dict[str, Any], kind: str) -> str:
    """The logical id of the template's one resource of ``kind``."""
    (logical_id,) = resources_of(template, kind)
    return logical_id


def test_the_engines_handlers_get_what_parts_of_the_engine_says(
    examples_template: dict[str, Any],
) -> None:
    documented = {
        handler.strip("`"): set(re.findall(r"`(DURABLE_LAMBDA_\w+)`", variables))
        for _, handler, variables, _ in architecture_table("### Parts of the engine")
    }
    values = {
        contract.TABLE: {"Ref": the(examples_template, "AWS::DynamoDB::GlobalTable")},
        contract.PAYLOAD_BUCKET: {"Ref": the(examples_template, "AWS::S3::Bucket")},
    }
    functions = resources_of(examples_template, "AWS::Lambda::Function").values()
    variables = {
        f["Properties"]["Handler"]: function_variables(f) for f in functions if not is_durable(f)
    }
    assert set(variables) == set(documented)
    for handler, given in variables.items():
        assert given == {name: values[name] for name in documented[handler]}, handler


def test_a_durable_functions_environment_is_read_by_the_runtime_as_the_engines_parts(
    examples_template: dict[str, Any],
) -> None:
    """Deployed (each reference resolved as CloudFormation would), the environment is
    what the runtime's own parser reads, naming the engine's parts."""
    template = examples_template

    def ref(kind: str) -> Any:
        return deployed({"Ref": the(template, kind)}, template)

    def arn(logical_id: str) -> Any:
        return deployed({"Fn::GetAtt": [logical_id, "Arn"]}, template)

    (relay,) = resources_of(template, "AWS::Lambda::EventSourceMapping").values()
    timer_queue = relay["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
    redrive = template["Resources"][timer_queue]["Properties"]["RedrivePolicy"]
    (scheduler_role,) = (
        logical_id for logical_id, kind in callers(template).items() if kind == "scheduler"
    )
    (group,) = resources_of(template, "AWS::Scheduler::ScheduleGroup").values()
    expected = FunctionEnvironment(
        table=ref("AWS::DynamoDB::GlobalTable"),
        payload_bucket=ref("AWS::S3::Bucket"),
        schedule_group=group["Properties"]["Name"],
        scheduler_role_arn=arn(scheduler_role),
        timer_dlq_arn=deployed(redrive["deadLetterTargetArn"], template),
        timer_queue_url=deployed({"Ref": timer_queue}, template),
        callback_url=deployed(
            {"Fn::GetAtt": [the(template, "AWS::ApiGatewayV2::Api"), "ApiEndpoint"]}, template
        ),
        callback_key_secret_arn=ref("AWS::SecretsManager::Secret"),
        retention_days=14,
        execution_timeout_seconds=2 * 24 * 3600,
    )
    for logical_id, function in durable_functions(template).items():
        variables = deployed(function_variables(function), template)
        assert FunctionEnvironment.read(variables) == expected, logical_id


def test_the_app_grants_the_runtimes_calls_and_aws_own_and_no_more(
    examples_template: dict[str, Any],
) -> None:
    """Every call of ``tests/data/aws_calls.json`` the app's parts make (it has no plain
    function to invoke and no user's client), and what AWS calls with their roles."""
    expected = {
        (caller, action, resource)
        for caller, action, resource in runtime_calls() | PLATFORM_CALLS
        if caller != "client" and resource != "plain-function"
    }
    assert called(examples_template) == expected


def test_no_action_and_no_resource_is_a_wildcard(examples_template: dict[str, Any]) -> None:
    grants = granted_calls(examples_template)
    assert [g for g in grants if "*" in g.action] == []
    assert [g for g in grants if g.resource == "*"] == []


def test_a_durable_function_reaches_its_own_executions_and_its_childs_only(
    examples_template: dict[str, Any],
) -> None:
    functions = {
        f["Properties"]["Role"]["Fn::GetAtt"][0]: logical_id
        for logical_id, f in durable_functions(examples_template).items()
    }
    (bucket,) = resources_of(examples_template, "AWS::S3::Bucket")

    def partitions(function: str) -> set[str]:
        return {f"<{function}.Arn>:*", f"N#<{function}>#*", f"<{function}>", "C#*", "F"}

    def payloads(function: str) -> set[str]:
        return {f"<{bucket}.Arn>/<{function}.Arn>:*"}

    expected = {f: (partitions(f), payloads(f)) for f in functions.values()}
    parent = next(f for f in functions.values() if f.startswith("Orchestrator"))
    child = next(f for f in functions.values() if f.startswith("ProcessBatch"))
    expected[parent] = (partitions(parent) | partitions(child), payloads(parent) | payloads(child))
    expected[child] = (
        partitions(child) | {f"<{parent}.Arn>:*"},
        payloads(child) | payloads(parent),
    )
    granted: dict[str, tuple[set[str], set[str]]] = {f: (set(), set()) for f in expected}
    for grant in granted_calls(examples_template):
        function = functions.get(grant.role)
        if function is not None and grant.action.startswith("dynamodb:"):
            assert grant.leading_keys is not None, grant
            granted[function][0].update(grant.leading_keys)
        if function is not None and grant.action.startswith("s3:"):
            granted[function][1].add(grant.resource)
    assert granted == expected


def test_durable_client_from_stack_finds_the_engine_in_the_stacks_outputs(
    examples_template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stack, deployed on moto with the template's outputs as CloudFormation would
    resolve them, gives ``DurableClient.from_stack`` the engine's table and bucket."""
    template = examples_template
    outputs = {
        key: {"Value": deployed(o["Value"], template)} for key, o in template["Outputs"].items()
    }
    assert set(outputs) == {"EngineTableName", "EnginePayloadBucketName", "EngineCallbackUrl"}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName="DurableLambdaExamples",
            TemplateBody=json.dumps(
                {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}, "Outputs": outputs}
            ),
        )
        client = DurableClient.from_stack("DurableLambdaExamples", region_name=REGION)
    table = deployed({"Ref": the(template, "AWS::DynamoDB::GlobalTable")}, template)
    bucket = deployed({"Ref": the(template, "AWS::S3::Bucket")}, template)
    assert (client.store.table_name, client.store.payload_bucket) == (table, bucket)
    api = the(template, "AWS::ApiGatewayV2::Api")
    assert template["Outputs"]["EngineCallbackUrl"]["Value"] == {"Fn::GetAtt": [api, "ApiEndpoint"]}


def test_the_app_synthesizes_without_an_error_or_a_warning(examples_cdk_out: Path) -> None:
    """cdk-nag's findings are errors and warnings: none is left unacknowledged."""
    manifest = json.loads((examples_cdk_out / "manifest.json").read_text())
    artifact = manifest["artifacts"]["DurableLambdaExamples"]
    metadata = json.loads((examples_cdk_out / artifact["additionalMetadataFile"]).read_text())
    entries = [entry for entries in metadata.values() for entry in entries]
    assert entries
    assert [e for e in entries if e["type"] in ("aws:cdk:error", "aws:cdk:warning")] == []


def test_the_template_passes_cfn_lint(examples_cdk_out: Path) -> None:
    template = examples_cdk_out / "DurableLambdaExamples.template.json"
    # aws-cdk-lib makes every function depend on its role besides naming it (GetAtt):
    # a redundancy cfn-lint warns about (W3005), harmless to CloudFormation.
    matches = lint_file(template, ManualArgs(ignore_checks=["W3005"]))
    assert [str(match) for match in matches] == []


def test_each_functions_handler_is_a_callable_of_its_assets_in_a_bare_python(
    examples_cdk_out: Path, examples_template: dict[str, Any], tmp_path: Path
) -> None:
    """As Lambda runs it: the function's code in /var/task, its layers' in /opt; a Python
    without site-packages (``-S``), so neither the project nor any package is there. A
    durable function's assets hold the runtime on Lambda besides its handler."""
    layers = resources_of(examples_template, "AWS::Lambda::LayerVersion")

    def unzipped(s3_key: str, into: Path) -> Path:
        asset = examples_cdk_out / f"asset.{s3_key.removesuffix('.zip')}"
        archive = shutil.make_archive(str(tmp_path / s3_key), "zip", asset)
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(into)
        return into

    functions = resources_of(examples_template, "AWS::Lambda::Function")
    handlers = set()
    for logical_id, function in functions.items():
        properties = function["Properties"]
        path = [str(unzipped(properties["Code"]["S3Key"], tmp_path / logical_id / "task"))]
        for number, layer in enumerate(properties.get("Layers", [])):
            content = layers[layer["Ref"]]["Properties"]["Content"]["S3Key"]
            path.append(str(unzipped(content, tmp_path / logical_id / f"opt{number}") / "python"))
        module, name = properties["Handler"].rsplit(".", 1)
        runtime = "durable_lambda.aws.entrypoint" if is_durable(function) else module
        probe = (
            f"import sys; sys.path[:0] = {path!r}; import importlib; "
            f"handler = getattr(importlib.import_module({module!r}), {name!r}); "
            f"importlib.import_module({runtime!r}); "
            "print(callable(handler), 'site' in sys.modules, 'boto3' in sys.modules)"
        )
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", probe],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            check=False,
        )
        assert result.stdout.split() == ["True", "False", "False"], (logical_id, result.stderr)
        handlers.add(properties["Handler"])
    assert set(contract.ENGINE_HANDLER_VARIABLES) <= handlers


@pytest.mark.timeout(300)
def test_the_cdk_cli_pinned_to_v2_synthesizes_the_app(tmp_path: Path) -> None:
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip("no npx: the CDK CLI needs Node.js (README)")
    result = subprocess.run(
        [npx, "--yes", "aws-cdk@2", "synth", "--quiet", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **QUIET_NODE,
            "CDK_DISABLE_CLI_TELEMETRY": "true",
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "DurableLambdaExamples.template.json").is_file()


def test_every_seed_pattern_runs_on_lambda_with_the_environment_the_template_gives(
    examples_template: dict[str, Any], aws: AwsAccount
) -> None:
    """Each durable function of the app, with its synthesized environment (the engine's
    parts resolved to the test account's), runs its workflow to its end."""
    runs: dict[Any, list[tuple[str, dict[str, Any]]]] = {}
    for name, handler, event in WORKFLOWS:
        runs.setdefault(handler, []).append((name, event))
    own = aws.function_environment()
    deployed_parts = set(own) - {contract.RETENTION_DAYS, contract.EXECUTION_TIMEOUT_SECONDS}
    aws.deploy(nested_workflows.WORKER_NAME, nested_workflows.worker)
    ran = []
    for function in durable_functions(examples_template).values():
        module, _, attribute = function["Properties"]["Handler"].partition(".")
        handler = getattr(importlib.import_module(f"examples.{module}"), attribute)
        variables = {
            variable: value
            for variable, value in function_variables(function).items()
            if variable in own
        }
        assert set(variables) == set(own), function["Properties"]["Handler"]
        environment = {**variables, **{part: own[part] for part in deployed_parts}}
        # None for the worker (the orchestrator calls it) and the approval, which waits
        # for a person (test_on_lambda.py completes it through the callback API).
        for name, event in runs.get(handler, []):
            aws.lambda_.functions[name] = Function(name, handler, environment)
            record = aws.run_to_end(aws.invoke(name, event)["DurableExecutionArn"])
            ran.append((name, record.status.value))
    assert len(ran) == len(WORKFLOWS)
    assert all(status == "SUCCEEDED" for _, status in ran), ran
    assert aws.lambda_.errors == []
