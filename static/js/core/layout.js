// Page start-up: translations, the session, the header (navigation by
// permission, language switch, user menu, logout).

import { applyI18n, getLang, initI18n, setLang, t } from "./i18n.js";
import { $, $$, errorBlock, h, mount } from "./dom.js";
import { can, current, isPlatformAdmin, restore, restoreFailureCode, signOut, toLogin } from "./session.js";

/** Wire the language switch buttons present on every page. */
export function bindLanguageSwitch() {
  $$("[data-lang-switch]").forEach((button) => {
    const update = () => {
      const other = getLang() === "zh" ? "en" : "zh";
      button.textContent = t(`lang.switch_to_${other}`);
      button.setAttribute("aria-label", t("lang.switch"));
      button.dataset.next = other;
    };
    update();
    button.addEventListener("click", async () => {
      await setLang(button.dataset.next);
      update();
    });
    document.addEventListener("hn:langchange", update);
  });
}

function fillHeader(me) {
  $$("[data-nav]").forEach((link) => {
    const need = link.dataset.need;
    const visible = !need || (need === "platform" ? isPlatformAdmin() : can(need));
    link.hidden = !visible;
  });
  const user = $("[data-user-name]");
  if (user) user.textContent = me.user.name || me.user.email;
  const tenant = $("[data-tenant-name]");
  if (tenant) tenant.textContent = me.tenant.name;
  const logout = $("[data-logout]");
  if (logout) {
    logout.addEventListener("click", async () => {
      logout.disabled = true;
      await signOut();
      location.assign("/login?reason=signed_out");
    });
  }
  const menu = $("[data-nav-toggle]");
  if (menu) {
    menu.addEventListener("click", () => {
      const open = document.body.classList.toggle("nav-open");
      menu.setAttribute("aria-expanded", String(open));
    });
  }
}

/**
 * Start a signed-in page: load translations, restore the session (or go to /login),
 * check `need` (a permission or "platform"), fill the header.  Resolves the caller.
 */
export async function startAppPage({ need } = {}) {
  await initI18n();
  bindLanguageSwitch();
  const main = $("main");
  let me;
  try {
    me = await restore();
  } catch (err) {
    mount(main, errorBlock(err, () => location.reload()));
    document.body.classList.add("ready");
    throw err;
  }
  if (!me) {
    toLogin(restoreFailureCode());
    return new Promise(() => {}); // navigating away
  }
  fillHeader(me);
  document.body.classList.add("ready");
  const allowed = !need || (need === "platform" ? isPlatformAdmin() : can(need));
  if (!allowed) {
    mount(main, h("div", { class: "state state-error", role: "alert" }, h("h2", { i18n: "errors.forbidden_page" }),
      h("a", { class: "btn", href: "/chat", i18n: "nav.chat" })));
    return new Promise(() => {});
  }
  if (me.user.password_change_required) {
    // Until the password is changed the browser offers nothing else (the API still answers).
    if (location.pathname !== "/settings") {
      location.replace("/settings#account");
      return new Promise(() => {});
    }
    document.body.classList.add("must-change-password");
    $$("[data-nav]").forEach((link) => { link.hidden = true; });
  }
  return current();
}

/** Start a public page (sign-in, registration): translations and the language switch. */
export async function startPublicPage() {
  await initI18n();
  bindLanguageSwitch();
  applyI18n(document);
  document.body.classList.add("ready");
}
