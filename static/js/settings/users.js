// Settings › Users: list, invite or add, change role, deactivate.

import { api } from "../core/api.js";
import { emptyBlock, errorBlock, errorText, formatDateTime, h, loadingBlock, mount, showFieldErrors, toast } from "../core/dom.js";
import { confirmDialog, formDialog, secretDialog } from "../core/dialog.js";
import { t } from "../core/i18n.js";
import { can, current } from "../core/session.js";

export const ROLES = ["owner", "admin", "member", "viewer"];

function roleSelect(user, onChange) {
  const select = h("select", { class: "input input-sm", "aria-label": t("users.role"), dataset: { userId: user.id } },
    ROLES.map((r) => h("option", { value: r, i18n: `role.${r}`, selected: r === user.role })));
  select.addEventListener("change", () => onChange(select));
  return select;
}

async function addUser(reload) {
  const created = await formDialog({
    title: t("users.add_title"),
    submitKey: "users.add",
    build(form) {
      form.append(
        h("label", { class: "field" }, h("span", { i18n: "field.email" }), h("input", { class: "input", type: "email", name: "email", required: true })),
        h("label", { class: "field" }, h("span", { i18n: "field.name" }), h("input", { class: "input", name: "name", maxlength: 120 })),
        h("label", { class: "field" }, h("span", { i18n: "users.role" }),
          h("select", { class: "input", name: "role" }, ROLES.map((r) => h("option", { value: r, i18n: `role.${r}`, selected: r === "member" })))),
        h("label", { class: "field" }, h("span", { i18n: "users.initial_password" }),
          h("input", { class: "input", type: "password", name: "password", autocomplete: "new-password" }),
          h("small", { class: "muted", i18n: "users.initial_password_hint" })));
    },
    async submit(form) {
      const body = { email: form.email.value.trim(), name: form.name.value.trim(), role: form.role.value };
      if (form.password.value) body.password = form.password.value;
      return api("/api/tenant/users", { method: "POST", body });
    },
    onError: (err, form) => (showFieldErrors(form, err) ? t("errors.validation_error") : errorText(err)),
  });
  if (!created) return;
  reload();
  if (created.invitation) {
    await secretDialog({ title: t("users.invite_title"), message: t("users.invite_message"),
      secret: location.origin + created.invitation.accept_url });
  } else {
    toast(t("users.added"), "ok");
  }
}

/** Render the users tab into `panel`. */
export function renderUsers(panel) {
  const manage = can("users:manage");
  const table = h("div");
  const me = current().user;
  const reload = async () => {
    mount(table, loadingBlock());
    try {
      const { users } = await api("/api/tenant/users");
      if (!users.length) {
        mount(table, emptyBlock("users.none"));
        return;
      }
      const changeRole = async (select) => {
        try {
          await api(`/api/tenant/users/${select.dataset.userId}`, { method: "PATCH", body: { role: select.value } });
          toast(t("users.role_changed"), "ok");
        } catch (err) {
          toast(errorText(err), "error");
          reload();
        }
      };
      const deactivate = async (user) => {
        if (!(await confirmDialog({ title: t("users.deactivate_title"), message: t("users.deactivate_confirm", { email: user.email }), confirmKey: "users.deactivate", danger: true }))) return;
        try {
          await api(`/api/tenant/users/${user.id}`, { method: "PATCH", body: { is_active: false } });
          toast(t("users.deactivated"), "ok");
          reload();
        } catch (err) {
          toast(errorText(err), "error");
        }
      };
      mount(table, h("div", { class: "table-scroll" }, h("table", { class: "table", "data-testid": "users-table" },
        h("thead", {}, h("tr", {}, ["users.name", "field.email", "users.role", "users.status", "users.last_login", "common.actions"].map((k) => h("th", { i18n: k })))),
        h("tbody", {}, users.map((u) => h("tr", {},
          h("td", { text: u.name || "—" }),
          h("td", { text: u.email }),
          h("td", {}, manage && u.is_active && u.id !== me.id ? roleSelect(u, changeRole) : h("span", { i18n: `role.${u.role}` })),
          h("td", {}, h("span", { class: `badge ${u.is_active ? "badge-ok" : "badge-danger"}`, i18n: u.is_active ? "users.active" : "users.inactive" })),
          h("td", { text: u.last_login_at ? formatDateTime(u.last_login_at) : t("common.never") }),
          h("td", { class: "actions" }, manage && u.is_active && u.id !== me.id
            ? h("button", { type: "button", class: "btn btn-sm btn-danger-text", i18n: "users.deactivate", on: { click: () => deactivate(u) } }) : null)))))));
    } catch (err) {
      mount(table, errorBlock(err, reload));
    }
  };
  mount(panel, h("section", { class: "card" },
    h("div", { class: "card-head" }, h("h2", { i18n: "settings.users" }),
      manage ? h("button", { type: "button", class: "btn btn-primary", i18n: "users.add", on: { click: () => addUser(reload) } }) : null),
    table));
  reload();
}
