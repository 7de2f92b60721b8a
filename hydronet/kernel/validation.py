"""Reading the request body as a JSON object; refusing text the databases cannot store.

Typed fields and per-field 422s come from the pydantic models of ``kernel.contracts``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from hydronet.kernel.errors import ApiError, PayloadTooLarge, ValidationError


def json_body(required: bool = True) -> dict[str, Any]:
    """The request's JSON object; 400 malformed_json, 415/422 when it is not an object."""
    limit = current_app.config["MAX_JSON_KB"] * 1024
    if request.content_length and request.content_length > limit:
        raise PayloadTooLarge(f"JSON bodies are limited to {limit // 1024} KB")
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise ValidationError(message="A JSON object body is required", fields={"body": "required"})
        return {}
    if len(raw) > limit:
        raise PayloadTooLarge(f"JSON bodies are limited to {limit // 1024} KB")
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise ApiError("Malformed JSON body", code="malformed_json", status=400)
    if not isinstance(data, dict):
        raise ValidationError(message="The JSON body must be an object", fields={"body": "must be an object"})
    problem = text_problem(data)
    if problem:
        raise ValidationError(message=f"The JSON body {problem}", fields={"body": problem})
    return data


def text_problem(value: Any) -> str | None:
    """Why a string (or the strings inside a JSON value) cannot be stored: NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "contains a NUL character"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "contains an invalid Unicode character (a lone surrogate)"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
