"""One module per durable operation, each imported on first access.

``import durable_lambda.operation as operations`` loads no operation; naming
``operations.step`` imports the step operation (and what it runs on) once,
and from then on is a plain attribute.
"""

from typing import TYPE_CHECKING

from durable_lambda.lazy import lazy_submodules

if TYPE_CHECKING:
    from durable_lambda.operation import (
        base,
        batch,
        callback,
        child,
        invoke,
        map,  # noqa: A004 - the submodule's name
        parallel,
        step,
        wait,
        wait_for_condition,
    )

__all__ = [
    "base",
    "batch",
    "callback",
    "child",
    "invoke",
    "map",
    "parallel",
    "step",
    "wait",
    "wait_for_condition",
]

if not TYPE_CHECKING:  # type checkers take the submodules from the imports above
    __getattr__, __dir__ = lazy_submodules(globals(), __all__)
