"""Durable functions on AWS Lambda: the runtime a deployed function runs.

A ``@durable_execution`` handler invoked by Lambda, with no engine attached to
its context, builds its backend here once per container from the environment
the constructs set (``environment``): the DynamoDB store, timers on
EventBridge Scheduler and SQS, wake-ups through Lambda's Invoke, callbacks
under the engine's HTTP API. The engine's own functions (``callback_api``,
``timer_relay``, ``sweeper``) live here too. Nothing here loads until a
function runs on Lambda.
"""
