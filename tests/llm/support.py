"""Helpers shared by the model-layer tests."""

from __future__ import annotations

from typing import Any

API_KEY = "sk-test-0123456789abcdef"


def user(text: str) -> list[dict[str, Any]]:
    """A minimal conversation: system prompt and one user message."""
    return [{"role": "system", "content": "You are a test."}, {"role": "user", "content": text}]
