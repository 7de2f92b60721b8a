// The browser session: sign-in, registration, restore on page load, logout.
// Nothing long-lived is stored in JavaScript-readable storage: the access token
// stays in memory (api.js), the refresh token in an httpOnly cookie.  Logout in
// one tab signs every tab of this browser out (BroadcastChannel).

import { api, clearSession, csrfToken, onSessionLost, refreshAccess, webSession } from "./api.js";

const channel = "BroadcastChannel" in window ? new BroadcastChannel("hydronet-session") : null;
let me = null;

/** The signed-in caller: {user, tenant, permissions}. */
export function current() {
  return me;
}

export function can(permission) {
  return Boolean(me && me.permissions.includes(permission));
}

export function isPlatformAdmin() {
  return Boolean(me && me.user.is_platform_admin);
}

async function loadMe() {
  const data = await api("/api/auth/me");
  me = { user: data.user, tenant: data.tenant, permissions: data.permissions || [] };
  return me;
}

/** Sign in; returns the API answer (password_change_required included). */
export async function signIn(email, password) {
  const data = await webSession("login", { email, password });
  await loadMe();
  channel && channel.postMessage({ type: "login" });
  return data;
}

/** Create an organisation and its owner, signed in. */
export async function signUp(values) {
  const data = await webSession("register", values);
  await loadMe();
  return data;
}

/** Set a password with a one-time reset or invitation token, signed in. */
export async function redeem(token, password) {
  const data = await webSession("reset-password", { token, password });
  await loadMe();
  return data;
}

/** Change one's password; re-authenticates first when the access token is not fresh. */
export async function changePassword(oldPassword, newPassword) {
  const body = { old_password: oldPassword, new_password: newPassword };
  try {
    return await webSession("change-password", body);
  } catch (err) {
    if (err.code !== "fresh_login_required" && err.code !== "token_expired") throw err;
    await webSession("login", { email: me.user.email, password: oldPassword });
    return webSession("change-password", body);
  }
}

let restoreFailure = null;

/** Why the last restore() found no session (an error code such as tenant_suspended), or null. */
export function restoreFailureCode() {
  return restoreFailure;
}

/** Restore the session from the cookie; null when there is none. */
export async function restore() {
  // Sign-in sets the script-readable CSRF cookie beside the httpOnly refresh cookie, with the same
  // lifetime: without it there is no session to restore, and probing would only earn a 401.
  if (!csrfToken()) {
    restoreFailure = null;
    return null;
  }
  try {
    await refreshAccess();
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      restoreFailure = err.code === "no_session" ? null : err.code;
      return null;
    }
    throw err;
  }
  return loadMe();
}

function wipeLocalData() {
  clearSession();
  me = null;
  try {
    sessionStorage.clear();
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith("hn_") && key !== "hn_lang") localStorage.removeItem(key);
    }
  } catch {
    /* storage disabled */
  }
}

/** Revoke this browser session on the server and forget everything here and in other tabs. */
export async function signOut() {
  try {
    await webSession("logout");
  } catch {
    /* already gone or offline: still forget it locally */
  }
  wipeLocalData();
  channel && channel.postMessage({ type: "logout" });
}

/** Send the browser to the sign-in page, coming back here afterwards. */
export function toLogin(reason) {
  const next = location.pathname + location.search;
  const params = new URLSearchParams({ next });
  if (reason) params.set("reason", reason);
  location.assign(`/login?${params}`);
}

/** A safe same-site path to go to after sign-in. */
export function nextPath(fallback = "/chat") {
  const next = new URLSearchParams(location.search).get("next") || "";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : fallback;
}

onSessionLost((err) => {
  wipeLocalData();
  const reason = err && err.code ? err.code : "expired";
  if (!location.pathname.startsWith("/login")) toLogin(reason);
});

if (channel) {
  channel.addEventListener("message", (ev) => {
    if (ev.data && ev.data.type === "logout" && !location.pathname.startsWith("/login")) {
      wipeLocalData();
      toLogin("signed_out");
    }
  });
}
