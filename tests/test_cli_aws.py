"""The command line against a deployed engine: ``--table`` and ``--stack`` on moto.

The same commands as on the local engine, through ``DurableClient``: the
durable function runs in the Lambda stand-in of the end-to-end harness.
"""

from __future__ import annotations

import json

import boto3
from aws_harness import BUCKET, REGION, TABLE, AwsAccount
from click.testing import CliRunner, Result

from durable_lambda.cli.commands import cli
from durable_lambda.store import ExecutionStatus
from examples import approval


def invoke(*arguments: str) -> Result:
    return CliRunner(env={"COLUMNS": "300"}).invoke(cli, list(arguments))


def deploy_engine_stack(name: str) -> None:
    """A stack with the outputs an engine's stack has: its table and payload bucket."""
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {
            "EngineTableName": {"Value": TABLE},
            "EnginePayloadBucketName": {"Value": BUCKET},
        },
    }
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_the_command_line_lists_completes_and_shows_a_deployed_execution(
    aws: AwsAccount,
) -> None:
    aws.deploy("approval", approval.handler)
    execution_id = aws.invoke("approval", {"approver_email": "ann@example.com"})[
        "DurableExecutionArn"
    ]
    deploy_engine_stack("durable-engine")
    by_table = ("--table", TABLE, "--region", REGION)

    listed = invoke("executions", "list", "--status", "RUNNING", *by_table)
    callback_id = approval.OUTBOX[-1]["callback_id"]
    completed = invoke("callback", "succeed", callback_id, '{"approved_by": "ann"}', *by_table)
    aws.lambda_.wait_until_idle()
    history = invoke(
        "executions", "history", execution_id, "--stack", "durable-engine", "--region", REGION
    )
    unknown = invoke("executions", "describe", execution_id + "-not", *by_table)

    assert listed.exit_code == 0, listed.output
    assert execution_id.split("/")[-2] in listed.output
    assert "RUNNING" in listed.output
    assert completed.exit_code == 0, completed.output
    record = aws.engine.store.get_execution(execution_id)
    assert record.status is ExecutionStatus.SUCCEEDED
    assert json.loads(record.result or "")["status"] == "approved"
    assert history.exit_code == 0, history.output
    assert "SUCCEEDED" in history.output
    assert "approval" in history.output
    assert unknown.exit_code == 1
    assert unknown.output.startswith("Error: ")
    assert "Traceback" not in unknown.output
