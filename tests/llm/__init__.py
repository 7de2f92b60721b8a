"""Tests of the model layer (hydronet.llm) against the fake DashScope."""
