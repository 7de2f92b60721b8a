// Registration: a new organisation and its owner account.
import { startPublicPage } from "../core/layout.js";
import { $, errorText, showFieldErrors } from "../core/dom.js";
import { signUp } from "../core/session.js";

await startPublicPage();

const form = $("#register-form");
const error = $(".form-error", form);

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  if (!form.reportValidity()) return;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await signUp({
      tenant_name: form.tenant_name.value.trim(),
      name: form.name.value.trim(),
      email: form.email.value.trim(),
      password: form.password.value,
    });
    location.replace("/chat");
  } catch (err) {
    if (!showFieldErrors(form, err)) {
      error.textContent = errorText(err);
      error.hidden = false;
    }
  } finally {
    button.disabled = false;
  }
});
