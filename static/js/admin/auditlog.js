// The audit log with filters, keyset paging and CSV export (tenant and platform views).

import { api, download } from "../core/api.js";
import { emptyBlock, errorBlock, errorText, formatDateTime, h, loadingBlock, mount, toast } from "../core/dom.js";
import { has, t } from "../core/i18n.js";

// The audit action of a platform admin's page views (built apart: it is an action code, not a translation key).
const PAGE_VIEWS = ["admin", "read"].join(".");

/** A readable label for an audit action (the code itself when it has none). */
export function actionLabel(action) {
  return has(`auditaction.${action}`) ? t(`auditaction.${action}`) : action;
}

/** The target as a reader knows it: "用户 wang@example.org", "管网 演示管网 Net3". */
export function targetLabel(e) {
  if (!e.target_type && !e.target_id) return "—";
  const kind = has(`audittarget.${e.target_type}`) ? t(`audittarget.${e.target_type}`) : e.target_type || "";
  const name = e.target_name || (e.target_type === "endpoint" && e.details && e.details.path) || null;
  if (name) return `${kind} ${name}`;
  return `${kind} ${String(e.target_id || "").slice(0, 8)}…`;
}

function isoFromLocal(value) {
  return value ? new Date(value).toISOString() : "";
}

/**
 * Render the audit log of `endpoint` (/api/tenant/audit-logs or /api/admin/audit-logs) into `panel`.
 * `platform` adds the tenant filter and the hash-chain check.
 */
export function renderAuditLog(panel, { endpoint, platform = false, tenantId = "" }) {
  const input = (name, key, attrs = {}) => h("label", { class: "field" }, h("span", { i18n: key }), h("input", { class: "input", name, ...attrs }));
  const form = h("form", { class: "form-row", "data-testid": "audit-filters" },
    input("action", "audit.action", { placeholder: "user.*" }),
    input("user_id", "audit.user_id", { placeholder: "UUID" }),
    platform ? input("tenant_id", "audit.tenant_id", { placeholder: "UUID", value: tenantId }) : null,
    input("since", "audit.since", { type: "datetime-local" }),
    input("until", "audit.until", { type: "datetime-local" }),
    h("label", { class: "field field-check" }, h("input", { type: "checkbox", name: "hide_reads", checked: true, "data-testid": "audit-hide-reads" }),
      h("span", { i18n: "audit.hide_reads" })),
    h("button", { type: "submit", class: "btn btn-primary", i18n: "common.search" }));
  form.hide_reads.addEventListener("change", () => load(true));
  const csv = h("button", { type: "button", class: "btn", i18n: "audit.export_csv", "data-testid": "audit-csv" });
  const verify = platform ? h("button", { type: "button", class: "btn", i18n: "audit.verify" }) : null;
  const verifyOut = h("div");
  const body = h("tbody");
  const table = h("div", { class: "table-scroll" }, h("table", { class: "table", "data-testid": "audit-table" },
    h("thead", {}, h("tr", {}, ["audit.time", "audit.actor", "audit.action", "audit.target", "audit.ip", "audit.details"].map((k) => h("th", { i18n: k })))),
    body));
  const state = h("div");
  const more = h("button", { type: "button", class: "btn btn-ghost btn-block", i18n: "common.load_more", hidden: true });
  let cursor = null;

  const filters = () => ({
    action: form.action.value.trim(), user_id: form.user_id.value.trim(),
    tenant_id: platform ? form.tenant_id.value.trim() : "",
    since: isoFromLocal(form.since.value), until: isoFromLocal(form.until.value),
    exclude_action: form.hide_reads.checked ? PAGE_VIEWS : "",
  });
  const row = (e) => h("tr", {},
    h("td", { text: formatDateTime(e.created_at) }),
    h("td", { text: e.actor_email || "—" }),
    h("td", { title: e.action }, h("span", { text: actionLabel(e.action), "data-testid": "audit-action" })),
    h("td", { class: "small", text: targetLabel(e), title: e.target_id || "" }),
    h("td", { class: "small", text: e.ip || "—" }),
    h("td", { class: "small" }, e.details && Object.keys(e.details).length
      ? h("details", {}, h("summary", { i18n: "audit.show" }), h("pre", { class: "json", text: JSON.stringify(e.details, null, 2) })) : "—"));

  const load = async (reset) => {
    if (reset) {
      cursor = null;
      body.replaceChildren();
      mount(state, loadingBlock());
    }
    more.hidden = true;
    try {
      const data = await api(endpoint, { query: { ...filters(), cursor, limit: 50 } });
      body.append(...data.logs.map(row));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      if (body.childElementCount) state.replaceChildren();
      else mount(state, emptyBlock("audit.none"));
    } catch (err) {
      mount(state, errorBlock(err, () => load(reset)));
    }
  };
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    load(true);
  });
  more.addEventListener("click", () => load(false));
  csv.addEventListener("click", async () => {
    csv.disabled = true;
    try {
      await download(endpoint, { ...filters(), format: "csv" }, "audit-log.csv");
    } catch (err) {
      toast(errorText(err), "error");
    } finally {
      csv.disabled = false;
    }
  });
  if (verify) {
    verify.addEventListener("click", async () => {
      try {
        const data = await api("/api/admin/audit-logs/verify", { query: { tenant_id: form.tenant_id.value.trim() } });
        mount(verifyOut, data.valid
          ? h("p", { class: "badge badge-ok", i18n: "audit.chain_ok", i18nParams: { count: data.checked } })
          : h("p", { class: "form-error", text: t("audit.chain_broken", { id: data.first_broken.id, reason: data.first_broken.reason }) }));
      } catch (err) {
        mount(verifyOut, h("p", { class: "form-error", text: errorText(err) }));
      }
    });
  }
  mount(panel, h("section", { class: "card" },
    h("div", { class: "card-head" }, h("h2", { i18n: "audit.title" }), csv, verify), verifyOut, form, table, state, more));
  load(true);
}
