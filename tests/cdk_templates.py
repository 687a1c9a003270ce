"""Reading synthesized CloudFormation templates: functions, roles and what they are granted.

``granted_calls`` is every (role, action, resource) an identity policy allows;
``called`` names them as ``tests/data/aws_calls.json`` names the calls the runtime
makes on AWS (``tests/test_on_lambda.py``), so the two can be compared.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_harness import CALLS_FILE

from durable_lambda_cdk import contract
from durable_lambda_cdk.acknowledgements import flatten_reference

ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md"

HANDLER_CALLERS = {
    contract.CALLBACK_API_HANDLER: "callback-api",
    contract.TIMER_RELAY_HANDLER: "timer-relay",
    contract.SWEEPER_HANDLER: "sweeper",
}
"""The callers of ``tests/data/aws_calls.json``, by the handler of the engine's part."""

PLATFORM_CALLS = {
    *(
        (caller, action, "log-group")
        for caller in ("durable-function", "callback-api", "timer-relay", "sweeper")
        for action in ("logs:CreateLogStream", "logs:PutLogEvents")
    ),
    *(
        ("timer-relay", action, "timer-queue")
        for action in (
            "sqs:ReceiveMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueUrl",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        )
    ),
    ("durable-function", "sqs:SendMessage", "invocation-dead-letter-queue"),
    ("sweeper", "sqs:SendMessage", "invocation-dead-letter-queue"),
    ("scheduler", "sqs:SendMessage", "timer-dead-letter-queue"),
}
"""What AWS itself calls with a role, granted besides the runtime's calls: Lambda writes
each function's logs, polls the timer queue for the relay (its event source mapping) and
sends failed asynchronous invocations to the function's dead-letter queue; Scheduler sends
a schedule it could not deliver to the timer dead-letter queue."""


@dataclass(frozen=True)
class Grant:
    role: str
    """The logical id of the role (its name, for a role imported)."""
    action: str
    resource: str
    """The resource as cdk-nag names it: ``<Table.Arn>/index/by-due``."""
    leading_keys: tuple[str, ...] | None
    """The partitions a DynamoDB grant is confined to, if it is."""


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == kind
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granted_calls(template: dict[str, Any]) -> set[Grant]:
    """Every (role, action, resource) the template's identity policies allow."""
    grants = set()
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        properties = policy["Properties"]
        for statement in properties["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            condition = statement.get("Condition", {})
            keys = condition.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
            leading_keys = None if keys is None else tuple(flatten_reference(k) for k in keys)
            assert set(condition) <= {"ForAllValues:StringLike", "StringEquals"}, condition
            for role in properties["Roles"]:
                for action in _as_list(statement["Action"]):
                    for resource in _as_list(statement["Resource"]):
                        resource_name = flatten_reference(resource)
                        name = role["Ref"] if isinstance(role, dict) else role
                        grants.add(Grant(name, action, resource_name, leading_keys))
    return grants


def function_variables(function: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = function["Properties"].get("Environment", {}).get("Variables", {})
    return variables


def is_durable(function: dict[str, Any]) -> bool:
    return contract.EXECUTION_TIMEOUT_SECONDS in function_variables(function)


def callers(template: dict[str, Any]) -> dict[str, str]:
    """Each role's caller as ``tests/data/aws_calls.json`` names it: ``durable-function``,
    ``callback-api``, ``timer-relay``, ``sweeper``, ``scheduler`` (a plain function's role:
    ``plain-function``)."""
    kinds = {}
    for function in resources_of(template, "AWS::Lambda::Function").values():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        handler = function["Properties"]["Handler"]
        kinds[role] = (
            "durable-function"
            if is_durable(function)
            else HANDLER_CALLERS.get(handler, "plain-function")
        )
    for logical_id, role in resources_of(template, "AWS::IAM::Role").items():
        services = [
            statement["Principal"].get("Service")
            for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        ]
        if services == ["scheduler.amazonaws.com"]:
            kinds[logical_id] = "scheduler"
    return kinds


def _resource_kinds(template: dict[str, Any]) -> dict[str, str]:
    """How ``aws_calls.json`` names each resource a grant names, by its logical id."""
    kinds = {
        **dict.fromkeys(resources_of(template, "AWS::DynamoDB::GlobalTable"), "table"),
        **dict.fromkeys(resources_of(template, "AWS::S3::Bucket"), "payload-bucket"),
        **dict.fromkeys(
            resources_of(template, "AWS::SecretsManager::Secret"), "callback-key-secret"
        ),
        **dict.fromkeys(resources_of(template, "AWS::Logs::LogGroup"), "log-group"),
        **dict.fromkeys(resources_of(template, "AWS::SQS::Queue"), "invocation-dead-letter-queue"),
    }
    for mapping in resources_of(template, "AWS::Lambda::EventSourceMapping").values():
        queue = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        kinds[queue] = "timer-queue"
        redrive = template["Resources"][queue]["Properties"]["RedrivePolicy"]
        kinds[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]] = "timer-dead-letter-queue"
    for role, caller in callers(template).items():
        if caller == "scheduler":
            kinds[role] = "scheduler-role"
    return kinds


def called(template: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Every (caller, action, resource) the template's policies grant, named as
    ``tests/data/aws_calls.json`` names the runtime's calls; a role that is no part of
    the engine is a user's ``client``."""
    functions = resources_of(template, "AWS::Lambda::Function")
    role_of = {
        logical_id: function["Properties"]["Role"]["Fn::GetAtt"][0]
        for logical_id, function in functions.items()
    }
    roles = callers(template)
    kinds = _resource_kinds(template)
    found = set()
    for grant in granted_calls(template):
        named = re.match(r"<([^.>]+)", grant.resource)
        logical_id = named[1] if named else None
        if ":scheduler:" in grant.resource:
            kind = "schedule-group"
        elif logical_id in functions:
            durable = is_durable(functions[logical_id])
            kind = (
                "itself"
                if role_of[logical_id] == grant.role
                else "durable-function"
                if durable
                else "plain-function"
            )
        else:
            kind = kinds[str(logical_id)]
        found.add((roles.get(grant.role, "client"), grant.action, kind))
    return found


def runtime_calls() -> set[tuple[str, str, str]]:
    """The calls the runtime makes, caller by caller, as its tests on AWS recorded them."""
    return {
        (caller, action, resource)
        for caller, action, resource in json.loads(CALLS_FILE.read_text())
    }


def architecture_table(heading: str) -> list[list[str]]:
    """The rows of the table under ``heading`` in docs/ARCHITECTURE.md, cells stripped."""
    text = ARCHITECTURE.read_text()
    section = text[text.index(heading) :]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]


def documented_variables() -> list[str]:
    """The variables of the table "The environment contract"."""
    return [row[0].strip("`") for row in architecture_table("### The environment contract")]


ACCOUNT = "111111111111"
REGION = "eu-west-1"
_PSEUDO_PARAMETERS = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}
_NAME_PROPERTIES = ("TableName", "BucketName", "QueueName", "RoleName", "FunctionName", "Name")


def deployed(value: Any, template: dict[str, Any]) -> Any:
    """``value`` as CloudFormation resolves it when it deploys ``template`` in ACCOUNT and
    REGION, each resource named after its logical id unless the template names it."""
    if isinstance(value, list):
        return [deployed(item, template) for item in value]
    if not isinstance(value, dict):
        return value
    if "Fn::Join" in value:
        delimiter, items = value["Fn::Join"]
        return delimiter.join(deployed(items, template))
    if "Ref" in value:
        return _PSEUDO_PARAMETERS.get(value["Ref"]) or _reference(value["Ref"], template)
    if "Fn::GetAtt" in value:
        return _attribute(*value["Fn::GetAtt"], template)
    return {key: deployed(item, template) for key, item in value.items()}


def _named(logical_id: str, template: dict[str, Any]) -> tuple[str, str]:
    resource = template["Resources"][logical_id]
    properties = resource.get("Properties", {})
    name = next((properties[p] for p in _NAME_PROPERTIES if p in properties), logical_id.lower())
    return resource["Type"], name


def _reference(logical_id: str, template: dict[str, Any]) -> str:
    kind, name = _named(logical_id, template)
    if kind == "AWS::SQS::Queue":
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
    if kind == "AWS::SecretsManager::Secret":
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf"
    return name


def _attribute(logical_id: str, attribute: str, template: dict[str, Any]) -> str:
    kind, name = _named(logical_id, template)
    arns = {
        "AWS::DynamoDB::GlobalTable": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
        "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
        "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
    }
    if attribute == "Arn" and kind in arns:
        return arns[kind]
    if (kind, attribute) == ("AWS::ApiGatewayV2::Api", "ApiEndpoint"):
        return f"https://{name}.execute-api.{REGION}.amazonaws.com"
    msg = f"no value for {kind} {logical_id}.{attribute}"
    raise KeyError(msg)
