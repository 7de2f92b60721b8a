"""Constants the tests share (imported by conftest files and test modules alike)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
QWEN_TEST_KEY = "sk-test-hydronet-0123456789"
