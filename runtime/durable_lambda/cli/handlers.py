"""``MODULE:HANDLER`` specs: the handlers ``run`` and ``dev`` load and register.

``NAME=MODULE:HANDLER`` names the function; otherwise its name is the
module's last part and the handler's, ``approval-handler`` for
``examples.approval:handler``. Modules are found from the current directory
first, as ``python -m`` finds them.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from durable_lambda.cli.errors import CliError
from durable_lambda.execution import is_durable_handler


@dataclass(frozen=True)
class LoadedFunction:
    """A handler loaded from its spec, and the name it is registered under."""

    name: str
    handler: Callable[..., Any]
    durable: bool
    """Whether ``@durable_execution`` made it; else a plain Lambda handler."""


def load_function(spec: str) -> LoadedFunction:
    """The handler ``spec`` names; a CliError saying what is wrong otherwise."""
    name, _, target = spec.rpartition("=")
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        msg = f"Expected MODULE:HANDLER or NAME=MODULE:HANDLER, got {spec!r}"
        raise CliError(msg)
    module = _import(module_name)
    handler: object = module
    for part in attribute.split("."):
        try:
            handler = getattr(handler, part)
        except AttributeError:
            msg = f"Module {module_name} has no handler {attribute!r}"
            raise CliError(msg) from None
    if not callable(handler):
        msg = f"{module_name}:{attribute} is not a handler: it is a {type(handler).__name__}"
        raise CliError(msg)
    function_name = name or f"{module_name.rpartition('.')[2]}-{attribute.replace('.', '-')}"
    return LoadedFunction(function_name, handler, is_durable_handler(handler))


def _import(module_name: str) -> Any:
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name + ".").startswith(e.name + "."):
            msg = f"No module named {module_name!r} (looked in {here} and the installed packages)"
            raise CliError(msg) from None
        msg = f"Importing {module_name} failed: {type(e).__name__}: {e}"
        raise CliError(msg) from None
    except Exception as e:  # noqa: BLE001 - whatever the module raised, told in one line
        msg = f"Importing {module_name} failed: {type(e).__name__}: {e}"
        raise CliError(msg) from None
