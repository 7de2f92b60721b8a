// Sign-in page.
import { startPublicPage } from "../core/layout.js";
import { $, errorText } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { nextPath, restore, signIn } from "../core/session.js";

await startPublicPage();

const form = $("#login-form");
const error = $(".form-error", form);
const notice = $("[data-notice]");
const reason = new URLSearchParams(location.search).get("reason");
if (reason) {
  const key = `login.reason_${reason}`;
  const text = t(key);
  notice.textContent = text === key ? t("login.reason_expired") : text;
  notice.hidden = false;
}

// Already signed in (the cookie is still good)? Go straight on.  Signing in waits for this
// check, so its answer can never arrive after (and undo) a new sign-in's cookies.
const restoring = reason ? Promise.resolve(null)
  : restore().then((me) => { if (me) location.replace(nextPath()); return me; }).catch(() => null);

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  if (!form.reportValidity()) return;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    if (await restoring) return;
    const data = await signIn(form.email.value.trim(), form.password.value);
    location.replace(data.password_change_required ? "/settings#account" : nextPath());
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
    form.password.select();
  } finally {
    button.disabled = false;
  }
});
