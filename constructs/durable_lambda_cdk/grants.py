"""The actions the runtime calls, and the resources and keys it calls them on.

docs/ARCHITECTURE.md ("AWS calls, by caller") is the table these follow;
``tests/data/aws_calls.json`` records the calls, caller by caller.
"""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from durable_lambda.store.dynamodb import layout

READ_ITEMS = ("dynamodb:GetItem", "dynamodb:Query")
BATCH_READ_ITEMS = ("dynamodb:BatchGetItem",)
"""Reading executions page by page: the callback API and a user's client, not a function."""
WRITE_ITEMS = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)
"""Writing items, one by one or in a transaction (TransactWriteItems needs these)."""
FIND_DUE_ITEMS = ("dynamodb:Query",)
"""The sweeper's reads: the due index, function by function."""
KEY_READS = ("kms:Decrypt", "kms:DescribeKey")
KEY_WRITES = ("kms:Encrypt", "kms:GenerateDataKey")
LOG_WRITES = ("logs:CreateLogStream", "logs:PutLogEvents")
CALLBACK_PARTITIONS = "C#*"
FUNCTION_LIST_PARTITION = "F"


def table_resources(table: dynamodb.ITable) -> list[str]:
    """The table and each of its indexes, by name."""
    indexes = layout.table_definition("layout")["GlobalSecondaryIndexes"]
    return [table.table_arn, *(f"{table.table_arn}/index/{i['IndexName']}" for i in indexes)]


def leading_keys(*patterns: str) -> dict[str, dict[str, list[str]]]:
    """A condition confining DynamoDB calls to partitions matching ``patterns``."""
    return {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(patterns)}}


def grant_key(grantee: iam.IGrantable, key: kms.IKey | None, item_actions: Sequence[str]) -> None:
    """What DynamoDB asks of a caller of ``item_actions`` on a table under a
    customer-managed key: decrypting, and encrypting if it writes."""
    if key is not None:
        writes = any(action in WRITE_ITEMS for action in item_actions)
        key.grant(grantee, *KEY_READS, *(KEY_WRITES if writes else ()))


def grant_log_writes(grantee: iam.IGrantable, log_group: logs.ILogGroup) -> iam.Grant:
    """Writing a function's logs to its own log group, and nowhere else."""
    return iam.Grant.add_to_principal(
        grantee=grantee, actions=list(LOG_WRITES), resource_arns=[log_group.log_group_arn]
    )


@jsii.implements(iam.IPrincipal)
class SeparatePolicy:
    """A role seen through one of its policies: grants to it are written in that policy.

    A function depends on its role's default policy; a statement naming the function
    itself (its ARN, its log group, its executions' keys) would make a cycle there. In a
    policy of its own, attached to the role, nothing depends on it.
    """

    def __init__(self, role: iam.IRole, policy: iam.Policy) -> None:
        self._role = role
        self._policy = policy

    @property
    def assume_role_action(self) -> str:
        return self._role.assume_role_action

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return self._role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        return self._role.principal_account

    def add_to_principal_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToPrincipalPolicyResult:
        self._policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._policy)
