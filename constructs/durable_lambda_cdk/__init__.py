"""CDK constructs that deploy durable-lambda: DurableEngine and DurableFunction.

docs/CONSTRUCTS.md has an example, the props and their defaults.
"""

from durable_lambda_cdk.assets import PythonCode, runtime_layer
from durable_lambda_cdk.engine import DurableEngine, DurableEngineBase
from durable_lambda_cdk.function import DurableFunction
from durable_lambda_cdk.table import table_layout

__all__ = [
    "DurableEngine",
    "DurableEngineBase",
    "DurableFunction",
    "PythonCode",
    "runtime_layer",
    "table_layout",
]
