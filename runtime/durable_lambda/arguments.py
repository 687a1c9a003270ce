"""Argument checks of the public API: a wrong argument fails at once, by name.

Every message reads "<argument> must be <what it takes>, got <what it got>",
so a call such as ``context.step("name", func)`` (the arguments swapped)
says which argument is wrong before anything is recorded.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Sequence

from durable_lambda.exceptions import ValidationError

_SHOWN_STRING_LENGTH = 60
_CONFIG_MODULES = ("durable_lambda.config", "durable_lambda.waits")
"""Where the public configuration classes are defined."""
_DESCRIPTIONS: dict[type, str] = {
    str: "a string",
    Sequence: "a sequence (list or tuple)",
}


def shown(value: object) -> str:
    """How an error shows a wrong argument: None, a string's repr, else its type."""
    if value is None:
        return "None"
    if isinstance(value, str):
        text = repr(value)
        if len(text) > _SHOWN_STRING_LENGTH:
            text = text[: _SHOWN_STRING_LENGTH - 3] + "..."
        return text
    return type(value).__name__


def refusal(argument: str, value: object, description: str) -> ValidationError:
    """The error "<argument> must be <description>, got <value>"."""
    return ValidationError(f"{argument} must be {description}, got {shown(value)}")


def require(valid: object, argument: str, value: object, description: str) -> None:
    """Raise ``refusal(argument, value, description)`` unless ``valid``."""
    if not valid:
        raise refusal(argument, value, description)


def require_callable(argument: str, value: object) -> None:
    """``value`` must be callable."""
    require(callable(value), argument, value, "callable")


def require_instance(argument: str, value: object, kind: type, *, optional: bool = False) -> None:
    """``value`` must be an instance of ``kind`` (or None, when ``optional``)."""
    article = "an" if kind.__name__[0] in "AEIOU" else "a"
    description = _DESCRIPTIONS.get(kind, f"{article} {kind.__name__}")
    if optional:
        description += " or None"
    require(isinstance(value, kind) or (optional and value is None), argument, value, description)


def require_config(
    argument: str, value: object, kind: str, example: str = "", *, optional: bool = False
) -> None:
    """``value`` must be an instance of the public configuration class named ``kind``.

    Found by name, without importing it: a caller that built such a value has
    loaded its module already, so if it is not loaded, ``value`` is not one.
    """
    kind_class = next(
        (
            found
            for module in _CONFIG_MODULES
            if (found := getattr(sys.modules.get(module), kind, None)) is not None
        ),
        None,
    )
    valid = (optional and value is None) or (
        kind_class is not None and isinstance(value, kind_class)
    )
    article = "an" if kind[0] in "AEIOU" else "a"
    description = f"{article} {kind}" + (f", {example}" if example else "")
    if optional:
        description += " or None"
    require(valid, argument, value, description)


def require_name_and_config(operation: str, name: object, config: object, kind: str) -> None:
    """An operation's optional ``name`` (a string) and ``config`` (a ``kind``)."""
    require_instance(f"{operation} name", name, str, optional=True)
    require_config(f"{operation} config", config, kind, optional=True)


def require_seconds_from(
    argument: str, seconds: object, now: datetime.datetime, *, optional: bool = False
) -> None:
    """``seconds`` must be a whole number of seconds, at least 1, ending at a date
    the runtime can represent (before the year 10000) when counted from ``now``."""
    if optional and seconds is None:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise refusal(argument, seconds, "a whole number of seconds")
    if seconds < 1:
        msg = f"{argument} must be at least 1 second, got: {seconds}"
        raise ValidationError(msg)
    try:
        now + datetime.timedelta(seconds=seconds)
    except OverflowError:
        msg = (
            f"{argument} must end before the year {datetime.MAXYEAR + 1}, "
            f"got: {seconds} seconds from {now:%Y-%m-%d}"
        )
        raise ValidationError(msg) from None
