// A result table from the server's table spec ({key, title: {zh, en}, columns: [{key, label: {zh, en},
// unit, type}], rows}): rows in the order given (worst first), searchable by any text cell, paginated,
// units in the headers, numbers right-aligned.

import { getLang, t } from "./i18n.js";
import { h, mount } from "./dom.js";

const PAGE_SIZE = 15;

/** A number for a table cell: up to 3 decimals, grouping as the language writes it. */
export function formatCell(value, type) {
  if (value === null || value === undefined || value === "") return "—";
  if (type === "bool") return value ? t("common.yes") : t("common.no");
  if (typeof value === "number") {
    const abs = Math.abs(value);
    const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 4;
    return value.toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: digits }).replace("-", "−");
  }
  return String(value);
}

/** Header text of a column: 'Minimum pressure (m)'. */
export function columnLabel(column) {
  const text = column.label[getLang()] || column.label.en;
  return column.unit ? `${text} (${column.unit})` : text;
}

/** The table (with search and pages when it is long). */
export function dataTable(spec, { pageSize = PAGE_SIZE, testid } = {}) {
  let page = 0;
  let query = "";
  const textKeys = spec.columns.filter((c) => c.type === "text").map((c) => c.key);
  const body = h("tbody");
  const info = h("span", { class: "muted small" });
  const prev = h("button", { class: "btn btn-sm", type: "button", i18n: "table.prev", on: { click: () => { page -= 1; render(); } } });
  const next = h("button", { class: "btn btn-sm", type: "button", i18n: "table.next", on: { click: () => { page += 1; render(); } } });
  const search = h("input", {
    class: "input input-sm", type: "search", placeholder: t("table.search"), "aria-label": t("table.search"),
    on: { input: () => { query = search.value.trim().toLowerCase(); page = 0; render(); } },
  });
  const filtered = () => (query
    ? spec.rows.filter((row) => textKeys.some((k) => String(row[k] ?? "").toLowerCase().includes(query)))
    : spec.rows);
  function render() {
    const rows = filtered();
    const pages = Math.max(1, Math.ceil(rows.length / pageSize));
    page = Math.min(Math.max(page, 0), pages - 1);
    const shown = rows.slice(page * pageSize, (page + 1) * pageSize);
    mount(body, shown.length ? shown.map((row) => h("tr", {}, spec.columns.map((c) => h("td", {
      class: [c.type === "number" ? "num" : null, c.type === "bool" && c.flag !== null && c.flag !== undefined && row[c.key] === c.flag ? "flag" : null],
      text: formatCell(row[c.key], c.type),
    })))) : h("tr", {}, h("td", { colspan: spec.columns.length, class: "muted", i18n: "table.no_match" })));
    info.textContent = t("table.range", {
      from: rows.length ? page * pageSize + 1 : 0, to: page * pageSize + shown.length, total: rows.length,
    });
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }
  const table = h("table", { class: "table table-compact", "data-testid": testid || `table-${spec.key}` },
    h("thead", {}, h("tr", {}, spec.columns.map((c) => h("th", { scope: "col", class: c.type === "number" ? "num" : null, text: columnLabel(c) })))),
    body);
  const long = spec.rows.length > pageSize;
  render();
  return h("section", { class: "result-table" },
    h("div", { class: "result-table-head" }, h("h4", { text: spec.title[getLang()] || spec.title.en }), long ? search : null),
    h("div", { class: "table-scroll" }, table),
    h("div", { class: "pager" }, info, long ? h("span", { class: "pager-buttons" }, prev, next) : null));
}
