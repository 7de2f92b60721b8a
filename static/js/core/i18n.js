// Translations: Chinese by default, English on request; the choice is kept in
// localStorage and mirrored to the `hn_lang` cookie so the server renders the
// next page in the same language.  Static text carries data-i18n attributes
// and is re-translated in place when the language changes.

const STORAGE_KEY = "hn_lang";
export const LANGUAGES = ["zh", "en"];
let lang = "zh";
let dict = {};

function stored() {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(value) ? value : null;
  } catch {
    return null;
  }
}

export function getLang() {
  return lang;
}

/** The locale for Intl formatting. */
export function locale() {
  return lang === "zh" ? "zh-CN" : "en-GB";
}

async function load(which) {
  const resp = await fetch(`/static/i18n/${which}.json`, { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`i18n ${which}: HTTP ${resp.status}`);
  return resp.json();
}

/** Load the chosen language (localStorage, then the page's own language). */
export async function initI18n() {
  const pageLang = document.documentElement.dataset.lang || "zh";
  lang = stored() || pageLang;
  dict = await load(lang);
  mirrorCookie(lang);
  if (lang !== pageLang) applyI18n(document);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.documentElement.dataset.lang = lang;
}

function mirrorCookie(value) {
  document.cookie = `hn_lang=${value}; path=/; max-age=31536000; SameSite=Lax`;
}

/** The text of `key` with {name} placeholders filled from `params`. */
export function t(key, params) {
  let text = dict[key];
  if (text === undefined) text = key;
  if (params) {
    text = text.replace(/\{(\w+)\}/g, (m, name) => (params[name] === undefined || params[name] === null ? m : String(params[name])));
  }
  return text;
}

/** True when the dictionary has `key`. */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(dict, key);
}

const ATTRIBUTES = ["placeholder", "title", "aria-label"];

/** Re-translate every element under `root` that names its key in data-i18n*. */
export function applyI18n(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    const params = el.dataset.i18nParams ? JSON.parse(el.dataset.i18nParams) : undefined;
    el.textContent = t(el.dataset.i18n, params);
  });
  for (const attr of ATTRIBUTES) {
    const data = "i18n" + attr.replace(/(^|-)(\w)/g, (m, dash, c) => c.toUpperCase());
    root.querySelectorAll(`[data-i18n-${attr}]`).forEach((el) => {
      el.setAttribute(attr, t(el.dataset[data]));
    });
  }
  const titleKey = document.body && document.body.dataset.titleKey;
  if (root === document && titleKey) document.title = `${t(titleKey)} · HydroNet`;
}

/** Switch language everywhere on the page and remember it. */
export async function setLang(next) {
  if (!LANGUAGES.includes(next) || next === lang) return;
  dict = await load(next);
  lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* private mode: the cookie still remembers */
  }
  mirrorCookie(next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
  document.documentElement.dataset.lang = next;
  applyI18n(document);
  document.dispatchEvent(new CustomEvent("hn:langchange", { detail: { lang: next } }));
}

/** Run `render` whenever the language changes. */
export function onLangChange(render) {
  document.addEventListener("hn:langchange", () => render());
}
