"""Plain-text rendering of assistant Markdown for WeChat, and UTF-8-safe splitting into messages."""

from __future__ import annotations

import re

PASSIVE_REPLY_LIMIT = 2048  # bytes of UTF-8 WeChat accepts in one text message

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)(\d{1,3})[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>()（）]+")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_ITALIC_UNDER = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BR = re.compile(r"<br\s*/?>", re.I)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")
_PLACEHOLDER = "\x00{}\x00"
_WIDE_TABLE = 3  # tables with more columns become "key: value" blocks (phones wrap wide rows badly)

# Sentence ends: CJK/ASCII terminators (plus closing quotes/brackets), ASCII '.' only before space.
_SENTENCE = re.compile(r"(?:[。！？；!?;…]+[”’」』）)\]\"']*|\.(?=\s))\s*")
_CLAUSE = re.compile(r"[，,、：:]\s*|\s+")


def markdown_to_text(md: str) -> str:
    """Readable plain text for a WeChat chat bubble from assistant Markdown."""
    out: list[str] = []
    lines = md.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            fence = _FENCE.match(line).group(1)  # type: ignore[union-attr]
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                out.append(lines[i].rstrip())
                i += 1
            i += 1
            continue
        if _is_table_start(lines, i):
            end = i + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            out.extend(_table(lines[i], lines[i + 2 : end]))
            i = end
            continue
        out.append(_block_line(line))
        i += 1
    text = "\n".join(s.rstrip() for s in out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _block_line(line: str) -> str:
    """One non-code, non-table Markdown line as plain text."""
    if _RULE.match(line):
        return ""
    if m := _HEADING.match(line):
        return _inline(m.group(1))
    if m := _QUOTE.match(line):
        return _block_line(m.group(1))
    if m := _BULLET.match(line):
        return "  " * (len(m.group(1).expandtabs(4)) // 2) + "• " + _inline(m.group(2))
    if m := _NUMBERED.match(line):
        return "  " * (len(m.group(1).expandtabs(4)) // 2) + f"{m.group(2)}. " + _inline(m.group(3))
    return _inline(line)


def _is_table_start(lines: list[str], i: int) -> bool:
    """A header row containing '|' followed by a |---| separator row."""
    return i + 1 < len(lines) and "|" in lines[i] and bool(_TABLE_SEP.match(lines[i + 1])) and "-" in lines[i + 1]


def _cells(row: str) -> list[str]:
    """Cells of one table row, inline Markdown removed."""
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    return [_inline(c.strip().replace("\\|", "|")) for c in re.split(r"(?<!\\)\|", row)]


def _table(header: str, rows: list[str]) -> list[str]:
    """Narrow tables as 'a | b' lines; wide ones as 'key: value' blocks per row."""
    head = _cells(header)
    body = [_cells(r) for r in rows]
    if len(head) <= _WIDE_TABLE:
        return ["", " | ".join(head), *(" | ".join(r) for r in body), ""]
    out: list[str] = [""]
    for r in body:
        out.extend(f"{k}: {v}" for k, v in zip(head, r, strict=False) if k or v)
        out.append("")
    return out


def _inline(text: str) -> str:
    """Strip inline Markdown: code, links, images, emphasis, escapes, <br>."""
    kept: list[str] = []

    def keep(value: str) -> str:
        kept.append(value)
        return _PLACEHOLDER.format(len(kept) - 1)

    text = _INLINE_CODE.sub(lambda m: keep(m.group(2).strip()), text)
    text = _ESCAPE.sub(lambda m: keep(m.group(1)), text)
    text = _IMAGE.sub(lambda m: keep(_labelled(m.group(1), m.group(2))), text)
    text = _LINK.sub(lambda m: keep(_labelled(_emphasis(m.group(1)), m.group(2))), text)
    text = _AUTOLINK.sub(lambda m: keep(m.group(1)), text)
    text = _BARE_URL.sub(lambda m: keep(m.group(0)), text)
    text = _BR.sub("\n", _emphasis(text))
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m.group(1))], text)


def _emphasis(text: str) -> str:
    """Remove bold, italic and strikethrough markers."""
    for pattern in (_BOLD, _STRIKE, _ITALIC_STAR, _ITALIC_UNDER):
        text = pattern.sub(lambda m: m.group(m.lastindex or 1), text)
    return text


def _labelled(label: str, url: str) -> str:
    """'label (url)', or just the url when the label adds nothing."""
    label = label.strip()
    return url if not label or label == url else f"{label} ({url})"


def utf8_len(text: str) -> int:
    """Length of `text` in UTF-8 bytes."""
    return len(text.encode("utf-8"))


def split_utf8(text: str, limit_bytes: int = PASSIVE_REPLY_LIMIT, numbered: bool = False) -> list[str]:
    """Split into parts of at most `limit_bytes` UTF-8 bytes at paragraph, line, sentence boundaries.

    With `numbered`, parts of a multi-part answer start with "(i/n)\\n", counted within the limit.
    """
    if limit_bytes < 16:
        raise ValueError("limit_bytes must be at least 16")
    text = text.strip()
    if not text:
        return []
    if utf8_len(text) <= limit_bytes:
        return [text]
    if not numbered:
        return _pack(text, limit_bytes, 0)
    count = 2
    while True:  # the marker width depends on the part count; converge (at most a few rounds)
        reserve = utf8_len(f"({count}/{count})\n")
        parts = _pack(text, limit_bytes - reserve, 0)
        if len(str(len(parts))) <= len(str(count)):
            n = len(parts)
            return [f"({i}/{n})\n{p}" for i, p in enumerate(parts, 1)]
        count = len(parts)


_LEVELS = (re.compile(r"\n\s*\n\s*"), re.compile(r"\n"), _SENTENCE, _CLAUSE)


def _pack(text: str, limit: int, level: int) -> list[str]:
    """Greedy packing of pieces cut at `_LEVELS[level]`, recursing into pieces that stay too big."""
    if utf8_len(text) <= limit:
        return [text.strip()] if text.strip() else []
    if level >= len(_LEVELS):
        return _hard_split(text, limit)
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, _LEVELS[level]):
        if utf8_len(current + piece) <= limit or utf8_len((current + piece).strip()) <= limit:
            current += piece
            continue
        if current.strip():
            parts.append(current.strip())
        current = ""
        if utf8_len(piece.strip()) <= limit:
            current = piece
        else:
            parts.extend(_pack(piece, limit, level + 1))
    if current.strip():
        parts.append(current.strip())
    return parts


def _pieces(text: str, sep: re.Pattern[str]) -> list[str]:
    """Cut `text` after every match of `sep`, keeping the separator with the preceding piece."""
    pieces: list[str] = []
    start = 0
    for m in sep.finditer(text):
        if m.end() > start:
            pieces.append(text[start : m.end()])
            start = m.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _hard_split(text: str, limit: int) -> list[str]:
    """Cut by bytes without ever splitting a character."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for ch in text:
        n = utf8_len(ch)
        if size + n > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += n
    if current:
        parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]
