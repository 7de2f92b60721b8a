"""Markdown → WeChat plain text, and splitting answers into ≤ 2048-byte messages."""

from __future__ import annotations

import re

import pytest

from hydronet.wechat.plaintext import markdown_to_text, split_utf8, utf8_len


@pytest.mark.parametrize(
    ("md", "text"),
    [
        ("# 分析结果\n正文", "分析结果\n正文"),
        ("## 细节 ##", "细节"),
        ("- 一\n* 二\n+ 三", "• 一\n• 二\n• 三"),
        ("- 父\n  - 子", "• 父\n  • 子"),
        ("1. 第一步\n2) 第二步", "1. 第一步\n2. 第二步"),
        ("**粗体** 和 *斜体* 和 __粗__ 和 _斜_ 和 ~~删~~", "粗体 和 斜体 和 粗 和 斜 和 删"),
        ("运行 `run_sim()` 即可", "运行 run_sim() 即可"),
        ("见 [报告](https://x.org/a_b_c)", "见 报告 (https://x.org/a_b_c)"),
        ("[https://x.org](https://x.org)", "https://x.org"),
        ("![图](https://x.org/p.png)", "图 (https://x.org/p.png)"),
        ("<https://x.org/q?a=1>", "https://x.org/q?a=1"),
        ("snake_case_name 与 2*3*4", "snake_case_name 与 2*3*4"),
        ("> 引用一行", "引用一行"),
        (r"\*不是强调\*", "*不是强调*"),
        ("行一<br>行二", "行一\n行二"),
        ("一\n\n\n\n二\n---\n三", "一\n\n二\n\n三"),
    ],
)
def test_markdown_to_text(md, text):
    assert markdown_to_text(md) == text


def test_code_blocks_keep_their_text_without_fences():
    md = "前\n```python\nx = a_b * c  # **not bold**\n    indented\n```\n后"
    assert markdown_to_text(md) == "前\nx = a_b * c  # **not bold**\n    indented\n后"


def test_narrow_table_becomes_pipe_lines():
    md = "| 节点 | 压力 (m) |\n|---|---:|\n| J1 | **20.1** |\n| J2 | 18.4 |"
    assert markdown_to_text(md) == "节点 | 压力 (m)\nJ1 | 20.1\nJ2 | 18.4"


def test_wide_table_becomes_key_value_blocks():
    md = "| 管段 | 流量 | 流速 | 水头损失 |\n|---|---|---|---|\n| P1 | 12 | 0.8 | 1.2 |\n| P2 | 9 | 0.6 | 0.9 |"
    assert markdown_to_text(md) == (
        "管段: P1\n流量: 12\n流速: 0.8\n水头损失: 1.2\n\n管段: P2\n流量: 9\n流速: 0.6\n水头损失: 0.9"
    )


def _same_modulo_whitespace(parts: list[str], original: str) -> bool:
    return re.sub(r"\s+", "", "".join(parts)) == re.sub(r"\s+", "", original)


def test_5000_chinese_chars_split_under_the_limit_and_rejoin():
    sentence = "管网节点J-10在高峰时段压力低于服务水头，建议检查阀门开度并复核需水量。"
    text = "\n\n".join(sentence * 4 for _ in range(40))[:5000]
    parts = split_utf8(text)
    assert len(parts) > 1
    assert all(utf8_len(p) <= 2048 for p in parts)
    assert _same_modulo_whitespace(parts, text)
    assert all(p.endswith(("。", "，")) or p == parts[-1] for p in parts)  # cut at sentence/clause ends


def test_prefers_paragraph_boundaries():
    paras = ["甲" * 300 + "。", "乙" * 300 + "。", "丙" * 300 + "。"]
    parts = split_utf8("\n\n".join(paras), limit_bytes=2000)
    assert parts == ["\n\n".join(paras[:2]), paras[2]]


def test_one_huge_sentence_is_hard_split_without_breaking_characters():
    text = "水💧" * 3000
    parts = split_utf8(text, limit_bytes=1000)
    assert all(utf8_len(p) <= 1000 for p in parts)
    assert "".join(parts) == text  # any split inside a character would not re-encode equal


def test_ascii_sentences_split_after_period_space_not_in_numbers():
    text = " ".join(f"Pressure at J{i} is 3.14 m." for i in range(200))
    parts = split_utf8(text, limit_bytes=500)
    assert all(utf8_len(p) <= 500 and p.endswith("m.") for p in parts)
    assert _same_modulo_whitespace(parts, text)


def test_numbered_markers_count_within_the_limit():
    text = "数据。" * 4000
    parts = split_utf8(text, numbered=True)
    n = len(parts)
    assert n >= 10  # two-digit markers exercise the width recount
    assert all(p.startswith(f"({i}/{n})\n") for i, p in enumerate(parts, 1))
    assert all(utf8_len(p) <= 2048 for p in parts)


def test_short_and_empty_texts():
    assert split_utf8("  你好  ") == ["你好"]
    assert split_utf8("你好", numbered=True) == ["你好"]
    assert split_utf8("  \n ") == []
