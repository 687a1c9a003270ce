"""Names a module exports but imports on first access (PEP 562)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping, MutableMapping, Sequence
from typing import Any

ModuleHooks = tuple[Callable[[str], Any], Callable[[], list[str]]]
"""A module's ``__getattr__`` and ``__dir__``."""


def lazy_exports(
    namespace: MutableMapping[str, Any], exports: Mapping[str, tuple[str, ...]]
) -> ModuleHooks:
    """Hooks of a module exporting names of other modules, imported on first access.

    ``namespace`` is the module's ``globals()``; ``exports`` maps each module
    to the names taken from it.
    """
    module_of = {name: module for module, names in exports.items() for name in names}
    return _hooks(
        namespace, module_of, lambda name: getattr(importlib.import_module(module_of[name]), name)
    )


def lazy_submodules(namespace: MutableMapping[str, Any], submodules: Sequence[str]) -> ModuleHooks:
    """Hooks of a package whose ``submodules`` are imported on first access."""
    package = namespace["__name__"]
    return _hooks(namespace, submodules, lambda name: importlib.import_module(f"{package}.{name}"))


def _hooks(
    namespace: MutableMapping[str, Any], names: Collection[str], load: Callable[[str], Any]
) -> ModuleHooks:
    """``__getattr__`` loads a name once and keeps it in ``namespace``: later
    accesses are plain attribute lookups that never reach it."""
    owner = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name not in names:
            msg = f"module {owner!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = load(name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
