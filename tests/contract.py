"""Responses checked against botocore's output shapes: botocore's parser silently drops a member it does
not know, so a misspelt key or a wrong type would otherwise go unnoticed."""

from __future__ import annotations

from typing import Any

from botocore.model import Shape

from facesearch.wire.protocol import operation_for_target, service_model

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "blob": (str,), "boolean": (bool,), "integer": (int,), "long": (int,),
    "float": (int, float), "double": (int, float), "timestamp": (int, float), "list": (list,),
    "map": (dict,), "structure": (dict,),
}


def violations(value: Any, shape: Shape, path: str = "") -> list[str]:
    """What in `value` (parsed JSON) breaks `shape`: unknown or missing members, wrong types, enum values."""
    where = path or shape.name
    expected = _TYPES[shape.type_name]
    if not isinstance(value, expected) or (shape.type_name in ("integer", "long", "float", "double")
                                           and isinstance(value, bool)):
        return [f"{where}: {type(value).__name__} where the model has a {shape.type_name}"]
    problems: list[str] = []
    if shape.type_name == "structure":
        for name, item in value.items():
            member = shape.members.get(name)
            if member is None:
                problems.append(f"{where}.{name}: not a member of {shape.name}")
            else:
                problems.extend(violations(item, member, f"{where}.{name}"))
        problems.extend(f"{where}.{name}: required member missing" for name in shape.required_members
                        if name not in value)
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            problems.extend(violations(item, shape.member, f"{where}[{i}]"))
    elif shape.type_name == "map":
        for key, item in value.items():
            problems.extend(violations(key, shape.key, f"{where} key"))
            problems.extend(violations(item, shape.value, f"{where}[{key}]"))
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        problems.append(f"{where}: {value!r} is not one of {shape.name}'s values")
    return problems


def response_violations(operation: str, body: dict[str, Any], target: str | None = None) -> list[str]:
    """Against the model the request's X-Amz-Target names (Rekognition's without one)."""
    model = operation_for_target(target) if target else service_model().operation_model(operation)
    output = model.output_shape
    if output is None:
        return [] if not body else [f"{operation}: the model has no output, the response has {sorted(body)}"]
    return violations(body, output)
