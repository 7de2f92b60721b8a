// Admin › Tenants: search, create, and one tenant's plan, quota overrides, suspension and usage.

import { api } from "../core/api.js";
import { emptyBlock, errorBlock, errorText, formatNumber, h, loadingBlock, mount, showFieldErrors, toast } from "../core/dom.js";
import { formDialog, promptDialog } from "../core/dialog.js";
import { t } from "../core/i18n.js";
import { renderUsage } from "../usage/report.js";

export const PLANS = ["free", "basic", "pro", "enterprise"];
const STATUSES = ["active", "trial", "suspended", "cancelled"];
const QUOTAS = ["messages_per_day", "tokens_per_month", "users", "conversations", "networks", "mcp_servers", "api_keys", "storage_mb", "requests_per_minute"];

const statusBadge = (status) => h("span", { class: `badge status-${status}`, i18n: `status.${status}`, "data-testid": "tenant-status" });

async function createTenant(onCreated) {
  const created = await formDialog({
    title: t("admin.create_tenant"),
    submitKey: "common.create",
    build(form) {
      form.append(
        h("label", { class: "field" }, h("span", { i18n: "field.tenant_name" }), h("input", { class: "input", name: "name", required: true, maxlength: 120 })),
        h("label", { class: "field" }, h("span", { i18n: "usage.plan" }), h("select", { class: "input", name: "plan" }, PLANS.map((p) => h("option", { value: p, i18n: `plan.${p}` })))));
    },
    submit: (form) => api("/api/admin/tenants", { method: "POST", body: { name: form.name.value.trim(), plan: form.plan.value } }),
    onError: (err, form) => (showFieldErrors(form, err) ? t("errors.validation_error") : errorText(err)),
  });
  if (created) onCreated(created.tenant);
}

function quotaForm(tenant, effective, save) {
  const overrides = tenant.quota_overrides || {};
  const form = h("form", { "data-testid": "quota-form" },
    h("div", { class: "quota-grid" }, QUOTAS.map((name) => h("label", { class: "field" }, h("span", { i18n: `quota.${name}` }),
      h("input", { class: "input", type: "number", min: -1, step: 1, name, value: overrides[name] ?? "",
        placeholder: `${t("common.default")}: ${effective[name] === -1 ? t("common.unlimited") : formatNumber(effective[name])}` })))),
    h("p", { class: "muted small", i18n: "admin.quota_help" }),
    h("button", { type: "submit", class: "btn btn-primary", i18n: "admin.save_quotas" }));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const quotas = {};
    for (const name of QUOTAS) {
      const raw = form[name].value.trim();
      const had = name in overrides;
      if (raw === "" && had) quotas[name] = null;
      else if (raw !== "") quotas[name] = parseInt(raw, 10);
    }
    save({ quotas });
  });
  return form;
}

async function showTenant(box, id, back) {
  mount(box, loadingBlock());
  let data;
  try {
    data = await api(`/api/admin/tenants/${id}`);
  } catch (err) {
    mount(box, errorBlock(err, () => showTenant(box, id, back)));
    return;
  }
  const { tenant, quotas } = data;
  const save = async (body, doneKey = "common.saved") => {
    try {
      await api(`/api/admin/tenants/${id}`, { method: "PATCH", body });
      toast(t(doneKey), "ok");
      showTenant(box, id, back);
    } catch (err) {
      toast(errorText(err), "error");
    }
  };
  const plan = h("select", { class: "input", name: "plan", "data-testid": "tenant-plan" }, PLANS.map((p) => h("option", { value: p, i18n: `plan.${p}`, selected: p === tenant.plan })));
  const suspended = ["suspended", "cancelled"].includes(tenant.status);
  const suspend = h("button", { type: "button", class: suspended ? "btn" : "btn btn-danger", "data-testid": suspended ? "reactivate-tenant" : "suspend-tenant",
    i18n: suspended ? "admin.reactivate" : "admin.suspend" });
  suspend.addEventListener("click", async () => {
    if (suspended) return save({ status: "active" }, "admin.reactivated");
    const reason = await promptDialog({ title: t("admin.suspend_title", { name: tenant.name }), label: t("admin.suspend_reason"), maxLength: 500 });
    if (reason) save({ status: "suspended", reason }, "admin.suspended");
  });
  const usageBox = h("div");
  const usageButton = h("button", { type: "button", class: "btn", i18n: "admin.show_usage", on: { click: async () => {
    mount(usageBox, loadingBlock());
    try {
      mount(usageBox, renderUsage((await api(`/api/admin/tenants/${id}/usage`)).usage));
    } catch (err) {
      mount(usageBox, errorBlock(err));
    }
  } } });
  mount(box,
    h("button", { type: "button", class: "btn btn-ghost", i18n: "admin.back_to_tenants", on: { click: back } }),
    h("section", { class: "card", "data-testid": "tenant-detail" },
      h("div", { class: "card-head" }, h("h2", { text: tenant.name }), statusBadge(tenant.status), suspend),
      tenant.status_reason ? h("p", { class: "warning", text: `${t("admin.reason")}: ${tenant.status_reason}` }) : null,
      h("p", { class: "muted small", text: `${tenant.slug} · ${tenant.id}` }),
      h("form", { class: "form-row", on: { submit: (ev) => { ev.preventDefault(); save({ plan: plan.value }); } } },
        h("label", { class: "field" }, h("span", { i18n: "usage.plan" }), plan),
        h("button", { type: "submit", class: "btn btn-primary", i18n: "admin.change_plan" }))),
    h("section", { class: "card" }, h("h2", { i18n: "admin.quota_overrides" }), quotaForm(tenant, quotas, save)),
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", { i18n: "usage.title" }), usageButton), usageBox));
}

export function renderTenants(panel) {
  const q = h("input", { class: "input", type: "search", name: "q", placeholder: t("admin.search_tenants"), "data-i18n-placeholder": "admin.search_tenants", "aria-label": t("admin.search_tenants") });
  const status = h("select", { class: "input", name: "status", "aria-label": t("users.status") },
    h("option", { value: "", i18n: "common.all" }), STATUSES.map((s) => h("option", { value: s, i18n: `status.${s}` })));
  const list = h("div");
  const listView = h("div", {}, h("form", { class: "toolbar", on: { submit: (ev) => { ev.preventDefault(); load(); } } }, q, status,
    h("button", { type: "submit", class: "btn", i18n: "common.search" }), h("span", { class: "spacer" }),
    h("button", { type: "button", class: "btn btn-primary", i18n: "admin.create_tenant", on: { click: () => createTenant((tenant) => open(tenant.id)) } })), list);
  const detail = h("div", { hidden: true });
  const open = (id) => {
    listView.hidden = true;
    detail.hidden = false;
    showTenant(detail, id, () => { detail.hidden = true; listView.hidden = false; load(); });
  };
  async function load() {
    mount(list, loadingBlock());
    try {
      const data = await api("/api/admin/tenants", { query: { q: q.value.trim(), status: status.value, limit: 200 } });
      if (!data.tenants.length) {
        mount(list, emptyBlock("admin.no_tenants"));
        return;
      }
      mount(list, h("div", { class: "table-scroll" }, h("table", { class: "table", "data-testid": "tenants-table" },
        h("thead", {}, h("tr", {}, ["field.tenant_name", "admin.slug", "usage.plan", "users.status", "admin.users", "admin.messages_month", "admin.tokens_month"].map((k) => h("th", { i18n: k })))),
        h("tbody", {}, data.tenants.map((tn) => h("tr", { class: "clickable", tabindex: 0, dataset: { id: tn.id, name: tn.name },
          on: { click: () => open(tn.id), keydown: (ev) => ev.key === "Enter" && open(tn.id) } },
        h("td", {}, h("b", { text: tn.name })), h("td", { class: "small", text: tn.slug }), h("td", { i18n: `plan.${tn.plan}` }),
        h("td", {}, statusBadge(tn.status)), h("td", { class: "num", text: formatNumber(tn.users) }),
        h("td", { class: "num", text: formatNumber(tn.usage_this_month?.messages) }),
        h("td", { class: "num", text: formatNumber(tn.usage_this_month?.tokens) })))))),
      h("p", { class: "muted small", i18n: "admin.total", i18nParams: { count: data.total } }));
    } catch (err) {
      mount(list, errorBlock(err, load));
    }
  }
  mount(panel, listView, detail);
  load();
  return { open };
}

