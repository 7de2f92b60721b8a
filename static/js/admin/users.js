// Admin › Users across tenants: search, deactivate/reactivate, force a password reset.

import { api } from "../core/api.js";
import { emptyBlock, errorBlock, errorText, formatDateTime, h, loadingBlock, mount, toast } from "../core/dom.js";
import { confirmDialog, secretDialog } from "../core/dialog.js";
import { t } from "../core/i18n.js";

export function renderAdminUsers(panel) {
  const q = h("input", { class: "input", type: "search", name: "q", placeholder: t("admin.search_users"), "data-i18n-placeholder": "admin.search_users", "aria-label": t("admin.search_users") });
  const list = h("div");
  const setActive = async (user, active) => {
    try {
      await api(`/api/admin/users/${user.id}`, { method: "PATCH", body: { is_active: active } });
      toast(t(active ? "admin.user_reactivated" : "users.deactivated"), "ok");
      load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  };
  const reset = async (user) => {
    if (!(await confirmDialog({ title: t("admin.reset_title"), message: t("admin.reset_confirm", { email: user.email }), confirmKey: "admin.reset_password", danger: true }))) return;
    try {
      const data = await api(`/api/admin/users/${user.id}/reset-password`, { method: "POST" });
      await secretDialog({ title: t("admin.reset_link_title"), message: t("admin.reset_link_message"), secret: location.origin + data.reset_url });
    } catch (err) {
      toast(errorText(err), "error");
    }
  };
  async function load() {
    mount(list, loadingBlock());
    try {
      const data = await api("/api/admin/users", { query: { q: q.value.trim(), limit: 200 } });
      if (!data.users.length) {
        mount(list, emptyBlock("users.none"));
        return;
      }
      mount(list, h("div", { class: "table-scroll" }, h("table", { class: "table", "data-testid": "admin-users-table" },
        h("thead", {}, h("tr", {}, ["field.email", "users.name", "users.role", "users.status", "users.last_login", "common.actions"].map((k) => h("th", { i18n: k })))),
        h("tbody", {}, data.users.map((u) => h("tr", {},
          h("td", {}, u.email, u.is_platform_admin ? h("span", { class: "badge", i18n: "admin.platform_admin" }) : null),
          h("td", { text: u.name || "—" }), h("td", { i18n: `role.${u.role}` }),
          h("td", {}, h("span", { class: `badge ${u.is_active ? "badge-ok" : "badge-danger"}`, i18n: u.is_active ? "users.active" : "users.inactive" })),
          h("td", { text: u.last_login_at ? formatDateTime(u.last_login_at) : t("common.never") }),
          h("td", { class: "actions" },
            h("button", { type: "button", class: "btn btn-sm", i18n: "admin.reset_password", on: { click: () => reset(u) } }),
            h("button", { type: "button", class: u.is_active ? "btn btn-sm btn-danger-text" : "btn btn-sm", i18n: u.is_active ? "users.deactivate" : "admin.reactivate",
              on: { click: () => setActive(u, !u.is_active) } }))))))),
      h("p", { class: "muted small", i18n: "admin.total", i18nParams: { count: data.total } }));
    } catch (err) {
      mount(list, errorBlock(err, load));
    }
  }
  mount(panel, h("section", { class: "card" }, h("h2", { i18n: "admin.users_title" }),
    h("form", { class: "toolbar", on: { submit: (ev) => { ev.preventDefault(); load(); } } }, q, h("button", { type: "submit", class: "btn", i18n: "common.search" })),
    list));
  load();
}
