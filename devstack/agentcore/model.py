"""botocore's service models as the emulator's authority on shapes, and AWS-style errors.

Input is validated by walking the operation's input shape from the installed botocore model:
required members, types, lengths, enums and patterns. botocore's client checks only required
members and minimum lengths before sending, so patterns and maximums are the service's job, and
here they are ours. Messages follow the format AWS services use for constraint failures
("1 validation error detected: Value ... at 'name' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

import botocore.session

DATA_PLANE = "bedrock-agentcore"
CONTROL_PLANE = "bedrock-agentcore-control"


@dataclass
class AwsError(Exception):
    """An error answered the rest-json way: status, `x-amzn-ErrorType`, `{"message": ...}`."""

    code: str
    message: str
    status: int
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}


def validation_error(message: str, fields: list[dict[str, str]] | None = None) -> AwsError:
    extra: dict[str, Any] = {"reason": "FieldValidationFailed"}
    if fields:
        extra["fieldList"] = fields
    return AwsError("ValidationException", message, 400, extra)


def access_denied(message: str) -> AwsError:
    return AwsError("AccessDeniedException", message, 403)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 404)


def conflict(message: str) -> AwsError:
    return AwsError("ConflictException", message, 409)


@functools.cache
def service_model(service: str):
    return botocore.session.get_session().get_service_model(service)


@functools.cache
def operations_by_path(service: str) -> dict[tuple[str, str], str]:
    """(method, path) -> operation name. None of these operations has a URI parameter."""
    model = service_model(service)
    routes = {}
    for name in model.operation_names:
        http = model.operation_model(name).http
        routes[(http["method"], http["requestUri"].split("?")[0])] = name
    return routes


def response_code(service: str, operation: str) -> int:
    return service_model(service).operation_model(operation).http.get("responseCode", 200)


def validate_input(service: str, operation: str, params: Any) -> None:
    """Raise a ValidationException listing every constraint the request breaks."""
    shape = service_model(service).operation_model(operation).input_shape
    problems: list[dict[str, str]] = []
    if shape is not None:
        _check(shape, params, "", problems)
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        detail = "; ".join(p["message"] for p in problems)
        raise validation_error(f"{count} validation {noun} detected: {detail}", problems)


def _describe(shape, value) -> str:
    # Sensitive members (tokens, secrets) are never echoed back, as AWS does.
    if shape.metadata.get("sensitive"):
        return "Value"
    text = str(value)
    return f"Value '{text[:256]}'"


def _fail(problems, path, shape, value, constraint):
    problems.append(
        {
            "name": path,
            "message": (
                f"{_describe(shape, value)} at '{path}' failed to satisfy constraint: {constraint}"
            ),
        }
    )


def _check(shape, value, path, problems) -> None:
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            _fail(problems, path or "body", shape, value, "Member must be an object")
            return
        for name in getattr(shape, "required_members", []):
            if value.get(name) is None:
                child = f"{path}.{name}" if path else name
                _fail(problems, child, shape.members[name], None, "Member must not be null")
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is None or member_value is None:
                # Unknown members are ignored, as AWS's JSON deserialisers do.
                continue
            _check(member, member_value, f"{path}.{name}" if path else name, problems)
        return
    if kind == "list":
        if not isinstance(value, list):
            _fail(problems, path, shape, value, "Member must be a list")
            return
        _check_length(shape, value, len(value), path, problems)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{path}.{index + 1}.member", problems)
        return
    if kind == "map":
        if not isinstance(value, dict):
            _fail(problems, path, shape, value, "Member must be a map")
            return
        _check_length(shape, value, len(value), path, problems)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", problems)
            _check(shape.value, item, f"{path}.value", problems)
        return
    if kind == "string":
        if not isinstance(value, str):
            _fail(problems, path, shape, value, "Member must be a string")
            return
        _check_length(shape, value, len(value), path, problems)
        if "enum" in meta and value not in meta["enum"]:
            allowed = ", ".join(meta["enum"])
            _fail(problems, path, shape, value, f"Member must satisfy enum value set: [{allowed}]")
        pattern = meta.get("pattern")
        if pattern and not _pattern(pattern).fullmatch(value):
            _fail(
                problems,
                path,
                shape,
                value,
                f"Member must satisfy regular expression pattern: {pattern}",
            )
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            _fail(problems, path, shape, value, "Member must be a boolean")
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(problems, path, shape, value, "Member must be an integer")
            return
        if "min" in meta and value < meta["min"]:
            _fail(problems, path, shape, value, f"Member must have value >= {meta['min']}")
        if "max" in meta and value > meta["max"]:
            _fail(problems, path, shape, value, f"Member must have value <= {meta['max']}")


def _check_length(shape, value, length, path, problems) -> None:
    meta = shape.metadata
    if "min" in meta and length < meta["min"]:
        _fail(
            problems,
            path,
            shape,
            value,
            f"Member must have length greater than or equal to {meta['min']}",
        )
    if "max" in meta and length > meta["max"]:
        _fail(
            problems,
            path,
            shape,
            value,
            f"Member must have length less than or equal to {meta['max']}",
        )


@functools.cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)
