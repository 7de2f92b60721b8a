"""Parsing request input into typed values, collecting per-field errors for 422s."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from flask import current_app, request

from hydronet.kernel.errors import ApiError, PayloadTooLarge, ValidationError

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


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


class Fields:
    """Collects field errors; `done()` raises one ValidationError naming them all."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def error(self, name: str, message: str) -> None:
        """Record an error for a field (first one wins)."""
        self.errors.setdefault(name, message)

    def str(self, name: str, *, required: bool = True, max_len: int = 200, min_len: int = 0, strip: bool = True,
            default: str | None = None, choices: tuple[str, ...] | None = None) -> str | None:
        """A string field with length (and optional choice) limits."""
        value = self.data.get(name)
        if value is None:
            if required:
                self.error(name, "is required")
            return default
        if not isinstance(value, str):
            self.error(name, "must be a string")
            return default
        if strip:
            value = value.strip()
        if required and not value:
            self.error(name, "must not be empty")
            return default
        if len(value) > max_len:
            self.error(name, f"must be at most {max_len} characters")
        elif len(value) < min_len:
            self.error(name, f"must be at least {min_len} characters")
        if choices is not None and value not in choices:
            self.error(name, f"must be one of: {', '.join(choices)}")
        return value

    def email(self, name: str = "email", required: bool = True) -> str | None:
        """An email address, lower-cased."""
        value = self.str(name, required=required, max_len=254)
        if value and not EMAIL_RE.match(value):
            self.error(name, "is not a valid email address")
        return value.lower() if value else value

    def bool(self, name: str, default: bool | None = None) -> bool | None:
        """A JSON boolean."""
        value = self.data.get(name, default)
        if value is not None and not isinstance(value, bool):
            self.error(name, "must be true or false")
            return default
        return value

    def int(self, name: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None,
            default: int | None = None) -> int | None:
        """An integer within bounds."""
        value = self.data.get(name, default)
        if value is None:
            if required:
                self.error(name, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(name, "must be an integer")
            return default
        if minimum is not None and value < minimum:
            self.error(name, f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            self.error(name, f"must be at most {maximum}")
        return value

    def dict(self, name: str, default: dict | None = None) -> dict | None:
        """A JSON object."""
        value = self.data.get(name, default)
        if value is not None and not isinstance(value, dict):
            self.error(name, "must be an object")
            return default
        return value

    def list_of_str(self, name: str, *, choices: tuple[str, ...] | None = None, default: list | None = None,
                    max_items: int = 100) -> list[str] | None:
        """A list of strings, optionally from a fixed set."""
        value = self.data.get(name, default)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(name, "must be a list of strings")
            return default
        if len(value) > max_items:
            self.error(name, f"must have at most {max_items} items")
        if choices is not None:
            bad = [v for v in value if v not in choices]
            if bad:
                self.error(name, f"unknown values {bad}; allowed: {', '.join(choices)}")
        return value

    def datetime(self, name: str) -> datetime | None:
        """An ISO-8601 timestamp (UTC assumed when no offset)."""
        value = self.data.get(name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
            parsed = parsed.astimezone(timezone.utc)  # stored and compared in UTC on every database
        except (ValueError, OverflowError):
            self.error(name, "must be an ISO-8601 date-time between years 1 and 9999")
            return None
        return parsed

    def done(self) -> None:
        """Raise a 422 naming every invalid field, if any."""
        if self.errors:
            raise ValidationError(self.errors)


def query_int(name: str, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter within bounds, else 422."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: "must be an integer"}) from None
    if not minimum <= value <= maximum:
        raise ValidationError({name: f"must be between {minimum} and {maximum}"})
    return value
