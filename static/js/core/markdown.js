// Markdown → sanitized DOM.  Model answers are untrusted: marked turns them
// into HTML, DOMPurify removes anything that could run script (handlers,
// javascript: URLs, <script>, <style>, forms, frames) and the fragment is then
// inserted as nodes.  The page's CSP (no inline script or style) is the second wall.

import { Marked } from "../../vendor/marked/marked.esm.js";
import DOMPurify from "../../vendor/dompurify/purify.es.js";

const marked = new Marked({ gfm: true, breaks: true, async: false });

const PURIFY = {
  RETURN_DOM_FRAGMENT: true,
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed", "svg", "math"],
  FORBID_ATTR: ["style", "class", "id", "srcset"],
  ALLOW_DATA_ATTR: false,
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("rel", "noopener noreferrer nofollow");
    node.setAttribute("target", "_blank");
  }
  if (node.tagName === "IMG") {
    // Only images the page may load anyway (CSP img-src 'self' data: blob:); others become links.
    const src = node.getAttribute("src") || "";
    if (!/^(\/(?!\/)|data:image\/(png|gif|jpeg|webp);)/i.test(src)) node.removeAttribute("src");
    node.setAttribute("loading", "lazy");
  }
});

/** Sanitized DOM for a piece of Markdown (tables wrapped so they scroll on phones). */
export function renderMarkdown(text) {
  const html = marked.parse(String(text || ""));
  const fragment = DOMPurify.sanitize(html, PURIFY);
  fragment.querySelectorAll("table").forEach((table) => {
    const wrap = document.createElement("div");
    wrap.className = "table-scroll";
    table.replaceWith(wrap);
    wrap.append(table);
  });
  return fragment;
}
