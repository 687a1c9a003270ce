"""The AWS clients of a container, each made when first needed.

Lambda keeps a container for many invocations: clients are made once and
reused. botocore's standard retry mode retries throttling and 5xx within a
bounded number of attempts. Endpoints follow boto3's own configuration
(``AWS_ENDPOINT_URL`` and ``AWS_ENDPOINT_URL_<SERVICE>``).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

RETRY_ATTEMPTS = 5


class AwsServices:
    """Lazily made boto3 clients, one per service."""

    def __init__(self, region_name: str | None = None) -> None:
        self._region_name = region_name
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        with self._lock:
            made = self._clients.get(service)
            if made is None:
                made = self._clients[service] = _make(service, self._region_name)
            return made

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def scheduler(self) -> Any:
        return self.client("scheduler")

    @property
    def sqs(self) -> Any:
        return self.client("sqs")

    @property
    def lambda_(self) -> Any:
        return self.client("lambda")

    @property
    def secrets(self) -> Any:
        return self.client("secretsmanager")


@functools.cache
def _session() -> Any:
    import boto3  # noqa: PLC0415 - loaded with the first client

    return boto3.session.Session()


def _make(service: str, region_name: str | None) -> Any:
    from botocore.config import Config  # noqa: PLC0415

    config = Config(retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS})
    return _session().client(service, region_name=region_name, config=config)
