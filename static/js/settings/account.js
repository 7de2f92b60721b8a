// Settings › Account (own password) and Organisation (name, plan).

import { api } from "../core/api.js";
import { errorText, h, mount, showFieldErrors, toast } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { can, changePassword, current } from "../core/session.js";

function passwordForm() {
  const form = h("form", { novalidate: true, "data-testid": "password-form" },
    h("label", { class: "field" }, h("span", { i18n: "field.old_password" }),
      h("input", { class: "input", type: "password", name: "old_password", autocomplete: "current-password", required: true })),
    h("label", { class: "field" }, h("span", { i18n: "field.new_password" }),
      h("input", { class: "input", type: "password", name: "new_password", autocomplete: "new-password", minlength: 8, maxlength: 128, required: true }),
      h("small", { class: "muted", i18n: "field.password_hint" })),
    h("label", { class: "field" }, h("span", { i18n: "field.confirm_password" }),
      h("input", { class: "input", type: "password", name: "confirm", autocomplete: "new-password", required: true })),
    h("p", { class: "form-error", role: "alert", hidden: true }),
    h("button", { type: "submit", class: "btn btn-primary", i18n: "account.change_password" }));
  const error = form.querySelector(".form-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    if (!form.reportValidity()) return;
    if (form.new_password.value !== form.confirm.value) {
      error.textContent = t("reset.mismatch");
      error.hidden = false;
      return;
    }
    try {
      const wasRequired = current().user.password_change_required;
      await changePassword(form.old_password.value, form.new_password.value);
      form.reset();
      current().user.password_change_required = false;
      toast(t("account.password_changed"), "ok");
      if (wasRequired) location.assign("/chat");  // the rest of the app opens once the password is changed
    } catch (err) {
      if (!showFieldErrors(form, err)) {
        error.textContent = errorText(err);
        error.hidden = false;
      }
    }
  });
  return form;
}

export function renderAccount(panel) {
  const me = current();
  mount(panel,
    me.user.password_change_required ? h("p", { class: "warning", role: "alert", i18n: "auth.password_change_required" }) : null,
    h("section", { class: "card" }, h("h2", { i18n: "account.profile" }),
      h("table", { class: "table kv" }, h("tbody", {},
        h("tr", {}, h("th", { i18n: "field.email" }), h("td", { text: me.user.email })),
        h("tr", {}, h("th", { i18n: "users.name" }), h("td", { text: me.user.name || "—" })),
        h("tr", {}, h("th", { i18n: "users.role" }), h("td", { i18n: `role.${me.user.role}` })),
        h("tr", {}, h("th", { i18n: "field.tenant_name" }), h("td", { text: me.tenant.name }))))),
    h("section", { class: "card" }, h("h2", { i18n: "account.change_password" }),
      h("p", { class: "muted small", i18n: "account.password_lead" }), passwordForm()));
}

export function renderOrganisation(panel) {
  const me = current();
  const form = h("form", { class: "form-row" },
    h("label", { class: "field" }, h("span", { i18n: "field.tenant_name" }),
      h("input", { class: "input", name: "name", value: me.tenant.name, maxlength: 120, required: true, disabled: !can("tenant:update") })),
    can("tenant:update") ? h("button", { type: "submit", class: "btn btn-primary", i18n: "common.save" }) : null);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const { tenant } = await api("/api/tenant", { method: "PATCH", body: { name: form.name.value.trim() } });
      me.tenant = tenant;
      document.querySelector("[data-tenant-name]").textContent = tenant.name;
      toast(t("common.saved"), "ok");
    } catch (err) {
      toast(errorText(err), "error");
    }
  });
  mount(panel, h("section", { class: "card" }, h("h2", { i18n: "settings.organisation" }), form,
    h("p", { class: "muted" }, h("span", { i18n: "usage.plan" }), ": ", h("span", { i18n: `plan.${me.tenant.plan}` }), " · ",
      h("a", { href: "/usage", i18n: "nav.usage" }))));
}
