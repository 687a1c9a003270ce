"""Serialization of operation results.

The default (``ExtendedTypeSerDes``) writes plain JSON for primitives and lists
of primitives, and a tagged envelope ``{"t": tag, "v": value}`` for everything
else, so that tuples, bytes, datetimes, decimals, UUIDs and BatchResults come
back as what they were. The wire format is the AWS SDK's, so recorded results
read the same on both.

``create_class_serdes`` and ``create_class_serdes_with_dates`` restore class
instances (dataclasses or plain classes), nested instances and datetime fields
from type annotations.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import types
import typing
import uuid
from _json import make_encoder, make_scanner
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast

from durable_lambda.concurrency.models import BatchResult
from durable_lambda.exceptions import RetryableSerDesError, SerDesError

logger = logging.getLogger(__name__)

T = TypeVar("T")

_ENCODE_COMPACT = make_encoder(
    None,  # no circular-reference markers: shared across threads, so nothing kept per call
    json.JSONEncoder().default,
    json.encoder.encode_basestring_ascii,
    None,
    ":",
    ",",
    False,  # sort_keys
    False,  # skipkeys
    True,  # allow_nan
)
"""One reusable encoder: ``json.dumps`` builds a new one on every call."""


def compact_json(value: Any) -> str:
    """JSON text without spaces, as payloads and stores record it.

    The same text as ``json.dumps(value, separators=(",", ":"))``; a value
    that refers to itself raises RecursionError instead of ValueError.
    """
    return "".join(_ENCODE_COMPACT(value, 0))


# json builds its scanner from a JSONDecoder too; typeshed asks for a scanner instead.
_SCAN_JSON = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def parse_json(text: str) -> Any:
    """``json.loads(text)``, through the C scanner alone when ``text`` is one bare value.

    Replay reads a recorded result per operation; ``json.loads`` spends more in its
    Python layers and whitespace checks than the scanner spends on a small payload.
    """
    try:
        value, end = _SCAN_JSON(text, 0)
    except StopIteration:
        return json.loads(text)  # raises its JSONDecodeError
    return value if end == len(text) else json.loads(text)


TYPE_TOKEN = "t"  # noqa: S105 - an envelope key, not a secret
"""The envelope's key for the type tag."""
VALUE_TOKEN = "v"  # noqa: S105
"""The envelope's key for the encoded value."""


class TypeTag(StrEnum):
    """Tags of the envelope format."""

    NONE = "n"
    STR = "s"
    INT = "i"
    FLOAT = "f"
    BOOL = "b"
    BYTES = "B"
    UUID = "u"
    DECIMAL = "d"
    DATETIME = "dt"
    DATE = "D"
    TUPLE = "t"
    LIST = "l"
    DICT = "m"
    BATCH_RESULT = "br"


@dataclass(frozen=True)
class SerDesContext:
    """Where a value being (de)serialized belongs."""

    operation_id: str = ""
    durable_execution_arn: str = ""


class SerDes(ABC, Generic[T]):
    """Turns a value into a string and back."""

    @abstractmethod
    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        """``value`` as the text to record."""

    @abstractmethod
    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        """The value recorded as ``data``."""

    @staticmethod
    def is_primitive(obj: Any) -> bool:
        """True for None, str, int, float, bool and lists of those."""
        if obj is None or isinstance(obj, str | int | float | bool):
            return True
        if isinstance(obj, list):
            return all(SerDes.is_primitive(item) for item in obj)
        return False


class PassThroughSerDes(SerDes[T]):
    """Leaves strings as they are."""

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        """The string itself."""
        return value  # type: ignore[return-value]

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        """The recorded string itself."""
        return data  # type: ignore[return-value]


class JsonSerDes(SerDes[T]):
    """Plain JSON."""

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        """``json.dumps(value)``."""
        return json.dumps(value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        """``json.loads(data)``."""
        return json.loads(data)  # type: ignore[no-any-return]


def _tagged(tag: TypeTag, to_value: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    tag_value = tag.value
    return lambda obj: {TYPE_TOKEN: tag_value, VALUE_TOKEN: to_value(obj)}


def _as_is(obj: Any) -> Any:
    return obj


def _str_keyed(obj: dict[Any, Any]) -> dict[str, Any]:
    if any(not isinstance(k, str) for k in obj):
        msg = "Only str dictionary keys can be serialized"
        raise SerDesError(msg)
    return {k: _encode(v) for k, v in obj.items()}


_ENCODERS: dict[type, Callable[[Any], dict[str, Any]]] = {
    type(None): _tagged(TypeTag.NONE, lambda _: None),
    str: _tagged(TypeTag.STR, str),
    bool: _tagged(TypeTag.BOOL, bool),
    int: _tagged(TypeTag.INT, int),
    float: _tagged(TypeTag.FLOAT, float),
    bytes: _tagged(TypeTag.BYTES, lambda obj: base64.b64encode(bytes(obj)).decode("ascii")),
    uuid.UUID: _tagged(TypeTag.UUID, str),
    Decimal: _tagged(TypeTag.DECIMAL, str),
    datetime: _tagged(TypeTag.DATETIME, lambda obj: obj.isoformat()),
    date: _tagged(TypeTag.DATE, lambda obj: obj.isoformat()),
    BatchResult: _tagged(TypeTag.BATCH_RESULT, lambda obj: _str_keyed(obj.to_dict())),
    list: _tagged(TypeTag.LIST, lambda obj: [_encode(v) for v in obj]),
    tuple: _tagged(TypeTag.TUPLE, lambda obj: [_encode(v) for v in obj]),
    dict: _tagged(TypeTag.DICT, _str_keyed),
}
"""How each supported type is tagged, in the order subclasses are matched
(``bool`` before ``int``, ``datetime`` before ``date``)."""
_ENCODERS[bytearray] = _ENCODERS[memoryview] = _ENCODERS[bytes]


def _encode(obj: Any) -> dict[str, Any]:
    encoder = _ENCODERS.get(type(obj))
    if encoder is None:
        encoder = _encoder_for_subclass(obj)
    return encoder(obj)


def _encoder_for_subclass(obj: Any) -> Callable[[Any], dict[str, Any]]:
    for kind, encoder in _ENCODERS.items():
        if isinstance(obj, kind):
            return encoder
    msg = f"Unsupported type: {type(obj)}"
    raise SerDesError(msg)


def _expect(kind: type, to_value: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        if not isinstance(value, kind):
            msg = f"Expected {kind.__name__}, got {type(value).__name__}"
            raise SerDesError(msg)
        return to_value(value)

    return decode


def _decode_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _unwrap(v) for k, v in value.items()}


_DECODERS: dict[str, Callable[[Any], Any]] = {
    TypeTag.NONE.value: lambda _: None,
    TypeTag.STR.value: _as_is,
    TypeTag.BOOL.value: _as_is,
    TypeTag.INT.value: _as_is,
    TypeTag.FLOAT.value: _as_is,
    TypeTag.BYTES.value: base64.b64decode,
    TypeTag.UUID.value: uuid.UUID,
    TypeTag.DECIMAL.value: Decimal,
    TypeTag.DATETIME.value: datetime.fromisoformat,
    TypeTag.DATE.value: date.fromisoformat,
    TypeTag.LIST.value: _expect(list, lambda value: [_unwrap(v) for v in value]),
    TypeTag.TUPLE.value: _expect(list, lambda value: tuple(_unwrap(v) for v in value)),
    TypeTag.DICT.value: _expect(dict, _decode_dict),
    TypeTag.BATCH_RESULT.value: _expect(
        dict, lambda value: BatchResult.from_dict(_decode_dict(value))
    ),
}


def _decode(tag: Any, value: Any) -> Any:
    decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
    if decoder is None:
        msg = f'Unknown type tag: "{tag}"'
        raise SerDesError(msg)
    return decoder(value)


def _unwrap(obj: Any) -> Any:
    if isinstance(obj, dict) and TYPE_TOKEN in obj and VALUE_TOKEN in obj:
        return _decode(obj[TYPE_TOKEN], obj[VALUE_TOKEN])
    return obj


class ExtendedTypeSerDes(SerDes[Any]):
    """The default serdes: plain JSON for primitives, tagged envelopes otherwise."""

    def serialize(self, value: Any, serdes_context: SerDesContext | None = None) -> str:
        """Compact JSON for primitives, the tagged envelope for anything else."""
        if SerDes.is_primitive(value):
            return compact_json(value)
        return compact_json(_encode(value))

    def deserialize(self, data: str, serdes_context: SerDesContext | None = None) -> Any:
        """The value ``serialize`` wrote, envelopes turned back into their types."""
        obj = parse_json(data)
        if SerDes.is_primitive(obj):
            return obj
        if not (isinstance(obj, dict) and TYPE_TOKEN in obj and VALUE_TOKEN in obj):
            msg = 'Malformed envelope: missing "t" or "v" at root.'
            raise SerDesError(msg)
        return _decode(obj[TYPE_TOKEN], obj[VALUE_TOKEN])


DEFAULT_JSON_SERDES: SerDes[Any] = JsonSerDes()
"""Plain JSON, the default of chained invokes' payloads and results."""
EXTENDED_TYPES_SERDES = ExtendedTypeSerDes()
"""The default of every other operation's results."""


class ClassSerDes(SerDes[T]):
    """JSON for instances of a class, restored as instances of that class.

    Fields are read from a dataclass's fields or an object's ``__dict__``.
    Nested values are restored by the class's type annotations: annotated
    classes (also inside ``list[...]``, ``tuple[...]``, ``dict[str, ...]``
    and ``X | None``) become instances again, ``datetime``/``date`` fields
    parse back from ISO 8601. ``date_fields`` names datetime fields that
    carry no annotation.
    """

    def __init__(self, cls: type[T], date_fields: Iterable[str] = ()) -> None:
        self._cls = cls
        self._date_fields = frozenset(date_fields)

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        """JSON of the instance's fields, nested instances and datetimes included."""
        return json.dumps(_to_plain(value))

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        """An instance of the class, rebuilt from its fields."""
        return _restore(json.loads(data), self._cls, self._date_fields)  # type: ignore[no-any-return]


def create_class_serdes(cls: type[T]) -> SerDes[T]:
    """A serdes that restores ``cls`` instances (and annotated nested classes)."""
    return ClassSerDes(cls)


def create_class_serdes_with_dates(cls: type[T], date_fields: Iterable[str]) -> SerDes[T]:
    """Like ``create_class_serdes``, also parsing ``date_fields`` as datetimes."""
    return ClassSerDes(cls, date_fields)


def _to_plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "__dict__"):
        return {k: _to_plain(v) for k, v in vars(value).items()}
    msg = f"Unsupported type: {type(value)}"
    raise SerDesError(msg)


def _restore(value: Any, hint: Any, date_fields: frozenset[str] = frozenset()) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        return _restore(value, non_none[0], date_fields) if len(non_none) == 1 else value
    if origin in (list, tuple) and args:
        restored = [_restore(v, args[0]) for v in value]
        return restored if origin is list else tuple(restored)
    if origin is dict and len(args) == 2:  # noqa: PLR2004
        return {k: _restore(v, args[1]) for k, v in value.items()}
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if isinstance(hint, type) and isinstance(value, dict) and hint not in (dict, object):
        return _instance(hint, value, date_fields)
    return value


def _instance(cls: type, data: dict[str, Any], date_fields: frozenset[str]) -> Any:
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):
        hints = {}
    fields: dict[str, Any] = {}
    for key, raw in data.items():
        hint = datetime if key in date_fields else hints.get(key, Any)
        fields[key] = _restore(raw, hint)
    instance: Any = object.__new__(cls)
    for key, value in fields.items():
        object.__setattr__(instance, key, value)
    return instance


def serialize(
    serdes: SerDes[T] | None, value: T, operation_id: str, durable_execution_arn: str
) -> str:
    """Serialize with ``serdes`` (default: extended JSON); failures become SerDesError."""
    try:
        if serdes is None:  # the common case; the default reads no context
            return EXTENDED_TYPES_SERDES.serialize(value)
        return serdes.serialize(value, SerDesContext(operation_id, durable_execution_arn))
    except (RetryableSerDesError, SerDesError):
        raise
    except Exception as e:
        msg = f"Serialization failed for id: {operation_id}, error: {e}."
        raise SerDesError(msg) from e


def deserialize(
    serdes: SerDes[T] | None, data: str, operation_id: str, durable_execution_arn: str
) -> T:
    """Deserialize with ``serdes`` (default: extended JSON); failures become SerDesError."""
    try:
        if serdes is None:  # the common case; the default reads no context
            return cast(T, EXTENDED_TYPES_SERDES.deserialize(data))
        return serdes.deserialize(data, SerDesContext(operation_id, durable_execution_arn))
    except (RetryableSerDesError, SerDesError):
        raise
    except Exception as e:
        msg = f"Deserialization failed for id: {operation_id}, error: {e}."
        raise SerDesError(msg) from e
