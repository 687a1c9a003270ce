"""``context.logger``: structured, and silent while replaying."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from durable_lambda.types import LoggerInterface


class Logger:
    """Wraps a logger (the root logger by default, or e.g. a Powertools logger).

    Adds the execution and operation to every record's ``extra`` and writes
    nothing while its context replays operations that already ran.
    """

    def __init__(
        self,
        logger: LoggerInterface,
        default_extra: Mapping[str, object],
        is_replaying: Callable[[], bool] = lambda: False,
    ) -> None:
        self._logger = logger
        self._default_extra = dict(default_extra)
        self._is_replaying = is_replaying

    @classmethod
    def create(
        cls,
        execution_arn: str,
        *,
        logger: LoggerInterface | None = None,
        parent_id: str | None = None,
        operation_id: str | None = None,
        name: str | None = None,
        attempt: int | None = None,
        is_replaying: Callable[[], bool] = lambda: False,
    ) -> Logger:
        extra: dict[str, object] = {"executionArn": execution_arn}
        if parent_id:
            extra["parentId"] = parent_id
        if name:
            extra["operationName"] = name
        if attempt is not None:
            extra["attempt"] = attempt
        if operation_id:
            extra["operationId"] = operation_id
        return cls(logger or logging.getLogger(), extra, is_replaying)

    def with_fields(self, **fields: Any) -> Logger:
        """The same logger, with these fields replacing or adding to its extra."""
        extra = self._default_extra.copy()
        for key, value in fields.items():
            if value is not None:
                extra[key] = value
        return self._derived(self._logger, extra, self._is_replaying)

    def with_is_replaying(self, is_replaying: Callable[[], bool]) -> Logger:
        """The same logger, following another context's replay status."""
        return self._derived(self._logger, self._default_extra, is_replaying)

    def with_logger(self, logger: LoggerInterface) -> Logger:
        """The same fields and replay status, written to another logger."""
        return self._derived(logger, self._default_extra, self._is_replaying)

    @classmethod
    def _derived(
        cls,
        logger: LoggerInterface,
        default_extra: dict[str, object],
        is_replaying: Callable[[], bool],
    ) -> Logger:
        """A logger sharing ``default_extra`` (never changed once built) instead of a copy.

        Every context and step attempt derives one.
        """
        derived = cls.__new__(cls)
        derived._logger = logger
        derived._default_extra = default_extra
        derived._is_replaying = is_replaying
        return derived

    def get_logger(self) -> LoggerInterface:
        """The wrapped logger."""
        return self._logger

    def debug(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        self._log(self._logger.debug, msg, args, extra)

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        self._log(self._logger.info, msg, args, extra)

    def warning(
        self, msg: object, *args: object, extra: Mapping[str, object] | None = None
    ) -> None:
        self._log(self._logger.warning, msg, args, extra)

    def error(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        self._log(self._logger.error, msg, args, extra)

    def exception(
        self, msg: object, *args: object, extra: Mapping[str, object] | None = None
    ) -> None:
        self._log(self._logger.exception, msg, args, extra)

    def _log(
        self,
        log_func: Callable[..., None],
        msg: object,
        args: tuple[object, ...],
        extra: Mapping[str, object] | None,
    ) -> None:
        if self._is_replaying():
            return
        log_func(msg, *args, extra={**self._default_extra, **(extra or {})})
