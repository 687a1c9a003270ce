"""``python -m durable_lambda.cli``: the ``durable-lambda`` command."""

from durable_lambda.cli import main

main()
