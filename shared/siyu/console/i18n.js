// The console's words: zh-CN first. `t("key", {var})` fills {var}; a missing key shows
// itself, so a gap is seen, not hidden.
import zhCN from "./i18n/zh-CN.js";

const LANGUAGES = { "zh-CN": zhCN };
export const lang = "zh-CN";
const words = LANGUAGES[lang];

export function t(key, vars = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function translatePage(root = document) {
  document.documentElement.lang = lang;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
}
