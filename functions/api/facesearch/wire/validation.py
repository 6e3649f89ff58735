"""Server-side validation of a request against botocore's Rekognition model, for every operation.

Clients that skip client-side validation (`Config(parameter_validation=False)`, other SDKs, curl)
must still be refused with InvalidParameterException, so this walks the operation's input shape
and checks what the model says: required members, unknown members, JSON types, min/max (lengths,
sizes and values), enums and patterns (as full matches; `regex` understands the `\\p{L}` classes
of the tag patterns). Messages follow AWS's "1 validation error detected: Value ... at 'member'
failed to satisfy constraint: ..." form so that the failing member is named.

Blobs are checked on their base64 text: the decoded length is compared to the model's max, and an
image over that is ImageTooLargeException, as Rekognition answers it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Any

import regex
from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape

from facesearch.errors import ImageTooLargeException, InvalidParameterException


@cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    """The value as a message quotes it: short, and lone surrogates written as \\udXXX (no UTF-8 stream,
    log or response, can carry them raw)."""
    text = repr(value) if not isinstance(value, str) else value
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 64 else text[:61] + "..."


class _Collector:
    """Gathers every violation, as AWS reports them all at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.too_large_image = False

    def add(self, value: Any, path: str, constraint: str) -> None:
        self.messages.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: {constraint}")


def validate(params: dict[str, Any], shape: Shape | None) -> None:
    """Raise InvalidParameterException naming each failing member (or ImageTooLargeException)."""
    if shape is None:
        if params:
            raise InvalidParameterException("This operation takes no parameters.")
        return
    found = _Collector()
    _check(params, shape, "", found)
    if found.too_large_image and len(found.messages) == 1:
        raise ImageTooLargeException("Image size is too large.")
    if found.messages:
        count = len(found.messages)
        noun = "error" if count == 1 else "errors"
        raise InvalidParameterException(f"{count} validation {noun} detected: " + "; ".join(found.messages))


def _check(value: Any, shape: Shape, path: str, found: _Collector) -> None:
    checker = _CHECKERS.get(shape.type_name)
    if checker is not None:
        checker(value, shape, path or "request", found)


def _check_structure(value: Any, shape: StructureShape, path: str, found: _Collector) -> None:
    if not isinstance(value, dict):
        found.add(value, path, "Member must be a structure")
        return
    prefix = "" if path == "request" else path + "."
    for name in shape.required_members:
        if value.get(name) is None:
            found.messages.append(f"Value null at '{prefix}{_lower_first(name)}' failed to satisfy constraint: "
                                  "Member must not be null")
    for name, item in value.items():
        member = shape.members.get(name)
        if member is None:
            found.messages.append(f"'{prefix}{name}' is not a member of {shape.name}")
        elif item is not None:
            _check(item, member, prefix + _lower_first(name), found)


def _check_list(value: Any, shape: ListShape, path: str, found: _Collector) -> None:
    if not isinstance(value, list):
        found.add(value, path, "Member must be a list")
        return
    _check_range(len(value), value, shape, path, found, "Member must have length")
    for index, item in enumerate(value):
        _check(item, shape.member, f"{path}.{index + 1}.member", found)


def _check_map(value: Any, shape: MapShape, path: str, found: _Collector) -> None:
    if not isinstance(value, dict):
        found.add(value, path, "Member must be a map")
        return
    _check_range(len(value), value, shape, path, found, "Member must have length")
    for key, item in value.items():
        _check(key, shape.key, f"{path}.{key}.key", found)
        _check(item, shape.value, f"{path}.{key}.value", found)


def _check_string(value: Any, shape: StringShape, path: str, found: _Collector) -> None:
    if not isinstance(value, str):
        found.add(value, path, "Member must be a string")
        return
    if not _is_unicode(value):  # a lone surrogate (JSON "\\ud800") is no character any service can store
        found.add(value, path, "Member must contain only valid Unicode characters")
        return
    _check_range(len(value), value, shape, path, found, "Member must have length")
    enum = shape.enum
    if enum and value not in enum:
        found.add(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
    pattern = shape.metadata.get("pattern")
    if pattern and _compiled(pattern).fullmatch(value) is None:
        found.add(value, path, f"Member must satisfy regular expression pattern: {pattern}")


def _check_integer(value: Any, shape: Shape, path: str, found: _Collector) -> None:
    if isinstance(value, float) and math.isinf(value):  # an integer literal of hundreds of digits (protocol)
        found.add(value, path, f"Member must be a {64 if shape.type_name == 'long' else 32}-bit integer")
        return
    if isinstance(value, bool) or not isinstance(value, int):
        found.add(value, path, "Member must be an integer")
        return
    bits = 64 if shape.type_name == "long" else 32  # the model's integer is Java's int, long is long
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        found.add(value, path, f"Member must be a {bits}-bit integer")
        return
    _check_range(value, value, shape, path, found, "Member must have value")


def _check_float(value: Any, shape: Shape, path: str, found: _Collector) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        found.add(value, path, "Member must be a number")
        return
    # ints are compared exactly (a huge one never goes through float(), which would overflow); a literal too
    # big for a double (1e400) arrives as an infinity: out of range, or not a number where there is no range
    if isinstance(value, float) and not math.isfinite(value) and not shape.metadata.keys() & {"min", "max"}:
        found.add(value, path, "Member must be a number")
        return
    _check_range(value, value, shape, path, found, "Member must have value")


def _check_boolean(value: Any, shape: Shape, path: str, found: _Collector) -> None:
    if not isinstance(value, bool):
        found.add(value, path, "Member must be a boolean")


def _check_blob(value: Any, shape: Shape, path: str, found: _Collector) -> None:
    if not isinstance(value, str):
        found.add("<blob>", path, "Member must be a base64-encoded string")
        return
    # The decoded size follows from the base64 text; decoding (and its errors) is protocol.decode_blobs'.
    size = len(value) * 3 // 4 - len(value[-2:]) + len(value[-2:].rstrip("="))
    maximum = shape.metadata.get("max")
    if maximum is not None and size > maximum:
        found.too_large_image = shape.name == "ImageBlob"
        found.add("<blob>", path, f"Member must have length less than or equal to {maximum}")
    minimum = shape.metadata.get("min")
    if minimum is not None and size < minimum:
        found.add("<blob>", path, f"Member must have length greater than or equal to {minimum}")


def _check_timestamp(value: Any, shape: Shape, path: str, found: _Collector) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        found.add(value, path, "Member must be a timestamp")


def _check_range(measure: float, value: Any, shape: Shape, path: str, found: _Collector, what: str) -> None:
    minimum = shape.metadata.get("min")
    maximum = shape.metadata.get("max")
    if minimum is not None and measure < minimum:
        found.add(value, path, f"{what} greater than or equal to {minimum}")
    if maximum is not None and measure > maximum:
        found.add(value, path, f"{what} less than or equal to {maximum}")


_CHECKERS: dict[str, Callable[[Any, Any, str, _Collector], None]] = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "integer": _check_integer,
    "long": _check_integer,
    "float": _check_float,
    "double": _check_float,
    "boolean": _check_boolean,
    "blob": _check_blob,
    "timestamp": _check_timestamp,
}
