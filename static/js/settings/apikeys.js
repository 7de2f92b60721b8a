// Settings › API keys: list, create (the key is shown once), revoke.

import { api } from "../core/api.js";
import { emptyBlock, errorBlock, errorText, formatDateTime, h, loadingBlock, mount, showFieldErrors, toast } from "../core/dom.js";
import { confirmDialog, formDialog, secretDialog } from "../core/dialog.js";
import { t } from "../core/i18n.js";

export const SCOPES = ["chat", "chat:read", "networks", "networks:read", "usage:read", "mcp"];

async function createKey(reload) {
  const created = await formDialog({
    title: t("keys.create_title"),
    submitKey: "common.create",
    build(form) {
      form.append(
        h("label", { class: "field" }, h("span", { i18n: "keys.name" }), h("input", { class: "input", name: "name", required: true, maxlength: 120 })),
        h("fieldset", { class: "field" }, h("legend", { i18n: "keys.scopes" }),
          h("div", { class: "checks" }, SCOPES.map((s) => h("label", {},
            h("input", { type: "checkbox", name: "scopes", value: s, checked: s === "chat" }), h("span", { i18n: `scope.${s}` }))))),
        h("label", { class: "field" }, h("span", { i18n: "keys.expires" }), h("input", { class: "input", type: "date", name: "expires_at" }),
          h("small", { class: "muted", i18n: "keys.expires_hint" })));
    },
    async submit(form) {
      const scopes = Array.from(form.querySelectorAll("input[name=scopes]:checked")).map((c) => c.value);
      const body = { name: form.name.value.trim(), scopes };
      if (form.expires_at.value) body.expires_at = new Date(`${form.expires_at.value}T23:59:59`).toISOString();
      return api("/api/tenant/api-keys", { method: "POST", body });
    },
    onError: (err, form) => (showFieldErrors(form, err) ? t("errors.validation_error") : errorText(err)),
  });
  if (!created) return;
  reload();
  await secretDialog({ title: t("keys.created_title"), message: t("keys.created_message"), secret: created.key });
}

/** Render the API keys tab into `panel`. */
export function renderApiKeys(panel) {
  const table = h("div");
  const reload = async () => {
    mount(table, loadingBlock());
    try {
      const { api_keys: keys } = await api("/api/tenant/api-keys");
      if (!keys.length) {
        mount(table, emptyBlock("keys.none", "keys.none_hint"));
        return;
      }
      const revoke = async (key) => {
        if (!(await confirmDialog({ title: t("keys.revoke_title"), message: t("keys.revoke_confirm", { name: key.name }), confirmKey: "keys.revoke", danger: true }))) return;
        try {
          await api(`/api/tenant/api-keys/${key.id}`, { method: "DELETE" });
          toast(t("keys.revoked"), "ok");
          reload();
        } catch (err) {
          toast(errorText(err), "error");
        }
      };
      mount(table, h("div", { class: "table-scroll" }, h("table", { class: "table", "data-testid": "keys-table" },
        h("thead", {}, h("tr", {}, ["keys.name", "keys.prefix", "keys.scopes", "keys.expires", "keys.last_used", "users.status", "common.actions"].map((k) => h("th", { i18n: k })))),
        h("tbody", {}, keys.map((k) => h("tr", {},
          h("td", { text: k.name }),
          h("td", {}, h("code", { text: `hn_${k.prefix}…` })),
          h("td", { text: (k.scopes || []).join(", ") }),
          h("td", { text: k.expires_at ? formatDateTime(k.expires_at) : t("keys.no_expiry") }),
          h("td", { text: k.last_used_at ? formatDateTime(k.last_used_at) : t("common.never") }),
          h("td", {}, h("span", { class: `badge ${k.revoked_at ? "badge-danger" : "badge-ok"}`, i18n: k.revoked_at ? "keys.revoked_state" : "users.active" })),
          h("td", { class: "actions" }, k.revoked_at ? null : h("button", { type: "button", class: "btn btn-sm btn-danger-text", i18n: "keys.revoke", on: { click: () => revoke(k) } }))))))));
    } catch (err) {
      mount(table, errorBlock(err, reload));
    }
  };
  mount(panel, h("section", { class: "card" },
    h("div", { class: "card-head" }, h("h2", { i18n: "settings.keys" }),
      h("button", { type: "button", class: "btn btn-primary", i18n: "keys.create", "data-testid": "create-key", on: { click: () => createKey(reload) } })),
    h("p", { class: "muted small", i18n: "keys.lead" }),
    table));
  reload();
}
