// Set a password with a one-time reset or invitation token (?token=…).
import { startPublicPage } from "../core/layout.js";
import { $, errorText, showFieldErrors } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { redeem } from "../core/session.js";

await startPublicPage();

const form = $("#reset-form");
const error = $(".form-error", form);
const token = new URLSearchParams(location.search).get("token") || "";
// Keep the one-time token out of the history and of any Referer.
history.replaceState(null, "", location.pathname);

function fail(text) {
  error.textContent = text;
  error.hidden = false;
}

if (!token) {
  fail(t("reset.missing_token"));
  form.querySelector("button[type=submit]").disabled = true;
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  if (!form.reportValidity()) return;
  if (form.password.value !== form.confirm.value) {
    fail(t("reset.mismatch"));
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await redeem(token, form.password.value);
    location.replace("/chat");
  } catch (err) {
    if (!showFieldErrors(form, err)) fail(errorText(err));
  } finally {
    button.disabled = false;
  }
});
