// The JSON API client.  The access token lives only in this module's memory;
// the refresh token is an httpOnly cookie JavaScript never sees.  An expired
// access token is renewed once through /api/auth/web/refresh (cookie + CSRF
// header), serialised across tabs with the Web Locks API so two tabs never
// present the same rotating refresh token.

const CSRF_COOKIE = "hn_csrf";
const REFRESH_LOCK = "hydronet-refresh";

let accessToken = null;
let expiresAt = 0;
let refreshing = null;
const listeners = new Set();

/** An API failure in the one error shape: code, message, status and extras (fields, quota…). */
export class ApiError extends Error {
  constructor(status, error, retryAfter) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (error && error.code) || (status === 0 ? "network_error" : "http_error");
    this.details = error || {};
    this.fields = (error && error.fields) || null;
    this.retryAfter = retryAfter || null;
  }
}

/** Remember a new access token (from sign-in or refresh). */
export function setAccessToken(token, expiresIn) {
  accessToken = token;
  expiresAt = token ? Date.now() + (Number(expiresIn) || 900) * 1000 : 0;
}

export function hasAccessToken() {
  return Boolean(accessToken);
}

/** Forget everything this module holds (logout). */
export function clearSession() {
  accessToken = null;
  expiresAt = 0;
}

/** Called with the reason when the session is gone for good (refresh refused). */
export function onSessionLost(listener) {
  listeners.add(listener);
}

export function csrfToken() {
  const match = document.cookie.split("; ").find((part) => part.startsWith(CSRF_COOKIE + "="));
  return match ? decodeURIComponent(match.slice(CSRF_COOKIE.length + 1)) : "";
}

async function errorFrom(resp) {
  let body = null;
  try {
    body = await resp.json();
  } catch {
    /* not JSON (a proxy error page) */
  }
  const error = body && body.error ? body.error : { code: resp.status >= 500 ? "server_error" : "http_error" };
  return new ApiError(resp.status, error, resp.headers.get("Retry-After"));
}

/** POST to /api/auth/web/<action> with the CSRF header; JSON in, JSON out. */
export async function webSession(action, body) {
  let resp;
  try {
    resp = await fetch(`/api/auth/web/${action}`, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRF-Token": csrfToken(),
        ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}),
      },
      body: JSON.stringify(body || {}),
    });
  } catch (err) {
    throw new ApiError(0, { code: "network_error", message: String(err) });
  }
  if (!resp.ok) throw await errorFrom(resp);
  const data = await resp.json();
  if (data.access_token) setAccessToken(data.access_token, data.expires_in);
  return data;
}

async function refreshOnce() {
  const run = () => webSession("refresh");
  if (navigator.locks && navigator.locks.request) {
    return navigator.locks.request(REFRESH_LOCK, run);
  }
  return run();
}

/** Renew the access token from the cookie; one request at a time per page. */
export function refreshAccess() {
  if (!refreshing) {
    refreshing = refreshOnce().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

function lost(err) {
  clearSession();
  for (const listener of listeners) listener(err);
}

async function ensureFresh() {
  if (accessToken && expiresAt - Date.now() > 20000) return;
  try {
    await refreshAccess();
  } catch (err) {
    if (err.status === 401 || err.status === 403) lost(err);
    throw err;
  }
}

function buildUrl(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, value);
  }
  const qs = params.toString();
  return qs ? `${path}${path.includes("?") ? "&" : "?"}${qs}` : path;
}

function authHeaders(extra) {
  return { ...(extra || {}), ...(accessToken ? { Authorization: `Bearer ${accessToken}` } : {}) };
}

/**
 * Call the API.  `opts`: method, body (JSON), query, signal, headers, raw (return the Response).
 * Throws ApiError; renews an expired access token once and retries.
 */
export async function api(path, opts = {}) {
  await ensureFresh();
  const send = async () => {
    const headers = authHeaders(opts.headers);
    let body;
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    try {
      return await fetch(buildUrl(path, opts.query), {
        method: opts.method || "GET", headers, body, signal: opts.signal, credentials: "same-origin",
      });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(0, { code: "network_error", message: String(err) });
    }
  };
  let resp = await send();
  if (resp.status === 401) {
    const err = await errorFrom(resp);
    if (!["token_expired", "token_revoked", "invalid_token", "unauthorized"].includes(err.code)) throw err;
    try {
      await refreshAccess();
    } catch (refreshErr) {
      lost(refreshErr);
      throw refreshErr;
    }
    resp = await send();
  }
  if (opts.raw) {
    if (!resp.ok) throw await errorFrom(resp);
    return resp;
  }
  if (!resp.ok) {
    const err = await errorFrom(resp);
    if (err.code === "tenant_suspended" || err.code === "account_disabled") lost(err);
    throw err;
  }
  return resp.json();
}

/**
 * POST a chat turn and relay its Server-Sent Events to `onEvent` as they arrive.
 * Resolves when the stream ends; an abort (the Stop button) rejects with AbortError.
 */
export async function streamPost(path, body, { signal, onEvent }) {
  const resp = await api(path, {
    method: "POST", body, signal, raw: true, headers: { Accept: "text/event-stream" },
  });
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      const data = frame
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data) onEvent(JSON.parse(data)); // comment frames (": heartbeat") carry no data
    }
  }
}

/**
 * Upload a multipart form with progress (XMLHttpRequest exposes upload progress; fetch does not).
 * `onProgress(fraction)`; resolves with the JSON body, rejects with ApiError.
 */
export async function upload(path, formData, onProgress) {
  await ensureFresh();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    if (accessToken) xhr.setRequestHeader("Authorization", `Bearer ${accessToken}`);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable && onProgress) onProgress(ev.loaded / ev.total);
    });
    xhr.addEventListener("load", () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body && body.error ? body.error : { code: "http_error" }));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { code: "network_error" })));
    xhr.addEventListener("abort", () => reject(new ApiError(0, { code: "aborted" })));
    xhr.send(formData);
  });
}

/** Fetch a file the API serves (CSV export) and hand it to the browser as a download. */
export async function download(path, query, filename) {
  const resp = await api(path, { query, raw: true });
  const blob = await resp.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
