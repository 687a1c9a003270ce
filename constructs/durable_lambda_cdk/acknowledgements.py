"""Acknowledged cdk-nag findings, each on the resource it concerns, with its reason.

They are cdk-nag's suppressions (``NagSuppressions``), kept in the metadata of
the resource's template: an app that runs cdk-nag's packs sees them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import IConstruct


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one finding (``AwsSolutions-S1``, ``...-IAM5[Resource::...]``) on
    ``construct``'s resource: a rule, or one finding of a rule as cdk-nag reports it."""
    rule, _, detail = finding.partition("[")
    applies_to = [detail.removesuffix("]")] if detail else None
    NagSuppressions.add_resource_suppressions(
        construct, [NagPackSuppression(id=rule, reason=reason, applies_to=applies_to)]
    )


def acknowledge_wildcards(construct: IConstruct, resources: Iterable[str], reason: str) -> None:
    """Acknowledge the wildcard in each of ``resources``, granted by the policy ``construct``."""
    stack = cdk.Stack.of(construct)
    for resource in resources:
        flat = flatten_reference(stack.resolve(resource))
        acknowledge(construct, f"AwsSolutions-IAM5[Resource::{flat}]", reason)


def flatten_reference(node: Any) -> str:
    """A resolved value as cdk-nag names it in a finding (``<Table.Arn>/index/*``)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if "Fn::Join" in node:
        delimiter, items = node["Fn::Join"]
        return str(delimiter).join(flatten_reference(item) for item in items)
    if "Fn::GetAtt" in node:
        resource, attribute = node["Fn::GetAtt"]
        return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
    if "Ref" in node:
        return f"<{flatten_reference(node['Ref'])}>"
    if "Fn::ImportValue" in node:
        return flatten_reference(node["Fn::ImportValue"])
    return json.dumps(node, separators=(",", ":"))
