"""The state table's layout as ``aws_dynamodb.TableV2`` arguments.

Derived from ``durable_lambda.store.dynamodb.layout.table_definition``, the
``CreateTable`` request the runtime's store is written against, so the
deployed table and the store cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_dynamodb as dynamodb

from durable_lambda.store.dynamodb import layout

LAYOUT_PROPS = (
    "partition_key",
    "sort_key",
    "global_secondary_indexes",
    "time_to_live_attribute",
    "billing",
)
"""The ``TableV2`` arguments the layout fixes; a table's other props are free."""

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
    "ALL": dynamodb.ProjectionType.ALL,
}


def table_layout() -> dict[str, Any]:
    """The ``TableV2`` arguments of the layout: keys, indexes, TTL attribute, on demand.

    A table brought to an engine (``existing_table_obj``) must have been made with them:
    ``TableV2(scope, "Table", **table_layout(), ...)``.
    """
    definition = layout.table_definition("layout")
    types = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}

    def key(schema: list[dict[str, str]], role: str) -> dynamodb.Attribute:
        name = next(k["AttributeName"] for k in schema if k["KeyType"] == role)
        return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[types[name]])

    return {
        "partition_key": key(definition["KeySchema"], "HASH"),
        "sort_key": key(definition["KeySchema"], "RANGE"),
        "global_secondary_indexes": [
            dynamodb.GlobalSecondaryIndexPropsV2(
                index_name=index["IndexName"],
                projection_type=_PROJECTIONS[index["Projection"]["ProjectionType"]],
                non_key_attributes=index["Projection"].get("NonKeyAttributes"),
                partition_key=key(index["KeySchema"], "HASH"),
                sort_key=key(index["KeySchema"], "RANGE"),
            )
            for index in definition["GlobalSecondaryIndexes"]
        ],
        "time_to_live_attribute": layout.TTL,
        "billing": dynamodb.Billing.on_demand(),
    }
