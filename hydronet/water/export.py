"""An analysis result as an XLSX workbook: a summary sheet, then one sheet per element table.

Built from the same key figures, findings and tables the browser shows (tables.py, findings.py),
with units in the column headers. No Flask or database here: the caller passes what to write.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from hydronet.water.findings import findings, next_steps, standards_of
from hydronet.water.tables import KIND_TITLES, kpis, settings_rows, tables

SEVERITY_FILL = {"critical": "F8D7DA", "warning": "FFE8CC", "info": "DCEBF7"}
SEVERITY_LABEL = {"critical": ("严重", "Critical"), "warning": ("注意", "Warning"), "info": ("提示", "Note")}
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
HEADER = Font(bold=True)
TITLE = Font(bold=True, size=14)
MAX_SHEET_TITLE = 31


def header(label: dict[str, str], unit: str | None, lang: str) -> str:
    """A column header with its unit: 'Minimum pressure (m)'."""
    return f"{label[lang]} ({unit})" if unit else label[lang]


def workbook_bytes(
    *,
    network_name: str,
    kind: str,
    result: dict[str, Any],
    params: dict[str, Any],
    generated_at: datetime,
    lang: str = "zh",
) -> bytes:
    """The workbook of one analysis result, in ``lang`` (zh or en)."""
    zh = lang == "zh"
    book = Workbook()
    summary = book.active
    summary.title = "摘要" if zh else "Summary"
    title = KIND_TITLES.get(kind, (kind, kind))[0 if zh else 1]
    summary.append([f"{network_name} · {title}"])
    summary["A1"].font = TITLE
    summary.append(["生成时间" if zh else "Generated", generated_at.isoformat(timespec="seconds")])
    summary.append([])
    _section(
        summary,
        "运行设置" if zh else "Settings",
        ["设置" if zh else "Setting", "数值" if zh else "Value", "来源" if zh else "Source"],
    )
    for row in settings_rows(result):
        summary.append([header(row["label"], row["unit"], lang), _cell(row["value"]), row.get("source") or ""])
    if params:
        summary.append(["参数" if zh else "Parameters", _cell(params)])
    summary.append([])
    _section(
        summary,
        "关键指标" if zh else "Key figures",
        [
            "指标" if zh else "Figure",
            "数值" if zh else "Value",
            "单位" if zh else "Unit",
            "位置 / 时刻" if zh else "Where / when",
        ],
    )
    for item in kpis(kind, result):
        summary.append(
            [item["label"][lang], _cell(item["value"]), item["unit"] or "", (item.get("detail") or {}).get(lang, "")]
        )
    summary.append([])
    _section(
        summary,
        "发现（按严重程度）" if zh else "Findings, most severe first",
        ["级别" if zh else "Severity", "说明" if zh else "Finding"],
    )
    standards = standards_of(result)
    found = findings(kind, result, standards)
    for item in found:
        summary.append([SEVERITY_LABEL[item["severity"]][0 if zh else 1], item["message"][lang]])
        fill = PatternFill("solid", fgColor=SEVERITY_FILL[item["severity"]])
        summary.cell(row=summary.max_row, column=1).fill = fill
        summary.cell(row=summary.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    if not found:
        summary.append(["—", "没有发现需要处理的问题。" if zh else "Nothing that needs attention."])
    summary.append([])
    _section(summary, "建议下一步" if zh else "What to run next", [])
    for step in next_steps(kind, found, standards):
        summary.append(["•", step[lang]])
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 100
    summary.column_dimensions["C"].width = 14
    summary.column_dimensions["D"].width = 30

    used = {summary.title}
    for item in tables(kind, result):
        sheet = book.create_sheet(_sheet_title(item["title"][lang], used))
        columns = item["columns"]
        sheet.append([header(c["label"], c["unit"], lang) for c in columns])
        for cell in sheet[1]:
            cell.font = HEADER
        for row in item["rows"]:
            sheet.append([_value(row.get(c["key"]), c["type"], zh) for c in columns])
        sheet.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(
                12, len(header(column["label"], column["unit"], lang)) + 4
            )
        if item["rows"]:
            sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(item['rows']) + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _section(sheet, title: str, columns: list[str]) -> None:
    sheet.append([title])
    sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True, size=12)
    if columns:
        sheet.append(columns)
        for index in range(1, len(columns) + 1):
            sheet.cell(row=sheet.max_row, column=index).font = HEADER


def _sheet_title(title: str, used: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub(" ", title)[:MAX_SHEET_TITLE].strip() or "Table"
    name, n = base, 2
    while name in used:
        suffix = f" {n}"
        name = base[: MAX_SHEET_TITLE - len(suffix)] + suffix
        n += 1
    used.add(name)
    return name


def _value(value: Any, kind: str, zh: bool) -> Any:
    if kind == "bool" and isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    return _cell(value)


def _cell(value: Any) -> Any:
    """A value openpyxl writes as is (numbers stay numbers); anything structured as text."""
    if value is None or isinstance(value, (int, float, str)):
        return value
    return str(value)
