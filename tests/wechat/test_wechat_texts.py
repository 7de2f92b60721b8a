"""What followers read: commands recognised, answers cut into parts that keep room for hints."""

from __future__ import annotations

import pytest

from hydronet.wechat import replies as texts
from hydronet.wechat.plaintext import utf8_len


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("绑定 123456", "123456"),
        ("绑定123456", "123456"),
        ("BIND: 654321", "654321"),
        (" 000111 ", "000111"),
        ("12345", None),
        ("绑定 1234567", None),
        ("管道 123456 号", None),
    ],
)
def test_bind_codes_are_recognised(message, code):
    assert texts.bind_code_in(message) == code


@pytest.mark.parametrize(
    ("message", "expected"), [("1", True), ("继续。", True), ("More", True), ("?", True), ("水泵怎么选", False)]
)
def test_continue_requests(message, expected):
    assert texts.is_continue(message) is expected


def test_very_long_answers_are_capped_and_every_part_fits_with_all_hints():
    answer = "".join(f"第{i}条：复核节点压力与管段流速，检查阀门状态。\n" for i in range(2000))
    parts = texts.compose_parts(answer)
    assert len(parts) == texts.MAX_PARTS and parts[-1].endswith(texts.TRUNCATED)
    worst = texts.MORE + texts.new_question_hint(False) + "\n\n" + texts.RATE_LIMITED
    assert all(utf8_len(p + worst) <= 2048 for p in parts)


def test_short_answer_is_one_unnumbered_part_of_plain_text():
    assert texts.compose_parts("**压力**正常。") == ["压力正常。"]
    assert texts.compose_parts("") == [texts.EMPTY_ANSWER]
