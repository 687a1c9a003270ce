"""CDK constructs that deploy durable-lambda: DurableEngine and DurableFunction."""
