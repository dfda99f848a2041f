"""JSON request bodies, for every HTTP API of the worker: size and depth checked before parsing,
numbers read as ``Decimal``, text PostgreSQL cannot store refused, then validated by a pydantic
model; every refusal an ``ApiError`` with its 4xx status and a message that says what is wrong."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from models.errors import InvalidMessage
from models.messages import check_text

MAX_BODY_BYTES = 64 * 1024


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


AnyBody = TypeVar("AnyBody", bound=Body)


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body)
        self.status = status
        self.body = body


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest, counted before parsing so a deep body costs nothing."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def parse_body(
    raw: bytes, model: type[AnyBody], max_bytes: int = MAX_BODY_BYTES, max_depth: int = 8
) -> AnyBody:
    if len(raw) > max_bytes:
        raise ApiError(413, {"error": f"request body larger than {max_bytes} bytes"})
    if json_depth(raw) > max_depth:
        raise ApiError(422, {"error": f"JSON nested deeper than {max_depth} levels"})
    try:
        doc = json.loads(raw or b"{}", parse_float=Decimal) if raw.strip() else {}
    except (ValueError, RecursionError) as exc:
        raise ApiError(422, {"error": "body is not valid JSON", "detail": str(exc)}) from None
    if not isinstance(doc, dict):
        raise ApiError(422, {"error": "body must be a JSON object"})
    try:
        check_text(doc, "body")
    except InvalidMessage as exc:
        raise ApiError(422, {"error": "invalid request", "detail": exc.detail}) from None
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        raise ApiError(422, {"error": "invalid request", "errors": errors}) from None
