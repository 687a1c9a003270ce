"""The Lambda context object the local engine passes to handlers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from durable_lambda.backend import Backend


@dataclass
class LocalLambdaContext:
    """What AWS Lambda's context offers, plus the engine's backend."""

    aws_request_id: str
    function_name: str
    invoked_function_arn: str
    durable_backend: Backend
    timeout_seconds: float = 900.0
    memory_limit_in_mb: str = "128"
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _started: float = field(default_factory=time.monotonic, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
