// Settings › WeChat: the official account (admins) and a binding code (everyone who chats).

import { api } from "../core/api.js";
import { errorBlock, errorText, formatDateTime, h, loadingBlock, mount, showFieldErrors, toast } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { can } from "../core/session.js";

function bindCodeCard() {
  const out = h("div", { "data-testid": "bind-code" });
  let timer = null;
  const button = h("button", { type: "button", class: "btn btn-primary", i18n: "wechat.get_code", "data-testid": "get-bind-code" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const data = await api("/api/tenant/wechat/bind-code", { method: "POST" });
      const expires = new Date(data.expires_at).getTime();
      const left = h("span", { class: "muted small" });
      const tick = () => {
        const seconds = Math.max(0, Math.round((expires - Date.now()) / 1000));
        left.textContent = seconds ? t("wechat.expires_in", { m: Math.floor(seconds / 60), s: String(seconds % 60).padStart(2, "0") }) : t("wechat.expired");
        if (!seconds) clearInterval(timer);
      };
      clearInterval(timer);
      timer = setInterval(tick, 1000);
      tick();
      mount(out, h("p", { class: "bind-code" }, h("code", { class: "secret", text: data.send || data.code })), left,
        h("p", { class: "small", i18n: "wechat.code_help" }));
    } catch (err) {
      mount(out, h("p", { class: "form-error", role: "alert", text: errorText(err) }));
    } finally {
      button.disabled = false;
    }
  });
  return h("section", { class: "card" }, h("h2", { i18n: "wechat.bind_title" }), h("p", { class: "muted small", i18n: "wechat.bind_lead" }), button, out);
}

function accountForm(account, reload) {
  const field = (name, key, attrs = {}) => h("label", { class: "field" }, h("span", { i18n: key }), h("input", { class: "input", name, ...attrs }));
  const form = h("form", { novalidate: true },
    h("p", { class: "small" }, h("span", { i18n: "wechat.callback_url" }), ": ", h("code", { text: account.callback_url })),
    h("div", { class: "form-row" },
      field("app_id", "wechat.app_id", { value: account.app_id || "", placeholder: "wx…", required: !account.configured }),
      field("token", "wechat.token", { type: "password", autocomplete: "off", placeholder: account.configured ? t("wechat.keep_secret") : "" })),
    h("div", { class: "form-row" },
      field("app_secret", "wechat.app_secret", { type: "password", autocomplete: "off", placeholder: account.configured ? t("wechat.keep_secret") : "" }),
      field("aes_key", "wechat.aes_key", { type: "password", autocomplete: "off", placeholder: account.has_aes_key ? t("wechat.keep_secret") : t("wechat.aes_optional") })),
    h("div", { class: "checks" },
      h("label", {}, h("input", { type: "checkbox", name: "enabled", checked: account.configured ? account.enabled : true }), h("span", { i18n: "wechat.enabled" })),
      h("label", {}, h("input", { type: "checkbox", name: "verified", checked: Boolean(account.verified) }), h("span", { i18n: "wechat.verified" }))),
    h("label", { class: "field" }, h("span", { i18n: "wechat.deliver_mode" }),
      h("select", { class: "input", name: "deliver_mode" }, ["next_message", "push"].map((m) =>
        h("option", { value: m, i18n: `wechat.mode_${m}`, selected: (account.deliver_mode || "next_message") === m })))),
    h("p", { class: "form-error", role: "alert", hidden: true }),
    h("button", { type: "submit", class: "btn btn-primary", i18n: "common.save" }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = form.querySelector(".form-error");
    error.hidden = true;
    const body = { enabled: form.enabled.checked, verified: form.verified.checked, deliver_mode: form.deliver_mode.value };
    for (const name of ["app_id", "token", "app_secret", "aes_key"]) {
      if (form[name].value.trim()) body[name] = form[name].value.trim();
    }
    try {
      await api("/api/tenant/wechat", { method: "PUT", body });
      toast(t("common.saved"), "ok");
      reload();
    } catch (err) {
      if (!showFieldErrors(form, err)) {
        error.textContent = errorText(err);
        error.hidden = false;
      }
    }
  });
  return form;
}

function accountCard() {
  const box = h("div");
  const reload = async () => {
    mount(box, loadingBlock());
    try {
      const { wechat } = await api("/api/tenant/wechat");
      mount(box, h("p", {}, h("span", { class: `badge ${wechat.configured ? "badge-ok" : ""}`, i18n: wechat.configured ? "wechat.configured" : "wechat.not_configured" })),
        accountForm(wechat, reload),
        wechat.created_at ? h("p", { class: "muted small", text: formatDateTime(wechat.created_at) }) : null);
    } catch (err) {
      mount(box, err.status === 404 ? h("p", { class: "state state-error", i18n: "errors.api_missing" }) : errorBlock(err, reload));
    }
  };
  reload();
  return h("section", { class: "card" }, h("h2", { i18n: "wechat.account_title" }), h("p", { class: "muted small", i18n: "wechat.account_lead" }), box);
}

/** Render the WeChat tab into `panel`. */
export function renderWechat(panel) {
  mount(panel, can("chat:write") ? bindCodeCard() : null, can("integrations:manage") ? accountCard() : null);
}
