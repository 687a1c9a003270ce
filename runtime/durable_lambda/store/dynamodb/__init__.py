"""The store contract on DynamoDB: ``DynamoDBStore`` and ``create_table``.

Importing this package loads no AWS SDK; making a store does.
"""

from durable_lambda.store.dynamodb.layout import create_table, table_definition
from durable_lambda.store.dynamodb.payloads import PayloadTooLargeForStoreError
from durable_lambda.store.dynamodb.store import DynamoDBStore

__all__ = ["DynamoDBStore", "PayloadTooLargeForStoreError", "create_table", "table_definition"]
