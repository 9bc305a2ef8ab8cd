// Elements are built, never parsed from strings: data from the API cannot become markup.
import { t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

let uid = 0;

/** A labelled control; `name` is the API's field path, so a 400 finds its input. */
export function field(label, name, { type = "text", value = "", options, hint, required, attrs = {} } = {}) {
  const id = `f${++uid}`;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : undefined;
  let control;
  const common = { id, name, dataset: { field: name }, "aria-describedby": [hintId, errorId].filter(Boolean).join(" "), required, ...attrs };
  if (type === "textarea") control = h("textarea", { ...common, rows: attrs.rows || 4 }, value);
  else if (type === "select") {
    control = h("select", common, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));
  } else if (type === "checkbox") control = h("input", { ...common, type, checked: Boolean(value) });
  else control = h("input", { ...common, type, value });
  const box = h("div", { class: `field field-${type}` },
    type === "checkbox" ? [control, h("label", { for: id }, label)] : [h("label", { for: id }, label), control],
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    h("p", { class: "error", id: errorId, hidden: true }));
  return box;
}

/** The branch a thing belongs to: the head office (none) or one of `branches`. */
export function branchField(branches, value = "") {
  return field(t("branch"), "branch", { type: "select", value,
    options: [["", t("head_office")], ...branches.map((b) => [b.id, t("branch_option", b)])] });
}

/** A group of checkboxes named `name` (a list field). */
export function checks(legend, name, options, chosen = []) {
  return h("fieldset", { class: "checks", dataset: { field: name } },
    h("legend", {}, legend),
    options.map(([value, text]) => {
      const id = `f${++uid}`;
      return h("span", { class: "check" },
        h("input", { type: "checkbox", id, name, value, checked: chosen.map(String).includes(String(value)) }),
        h("label", { for: id }, text));
    }),
    h("p", { class: "error", hidden: true }));
}

export const checked = (form, name) =>
  [...form.querySelectorAll(`input[type=checkbox][name="${name}"]:checked`)].map((i) => i.value);

export const value = (form, name) => {
  const node = form.querySelector(`[data-field="${name}"]`);
  if (!node) return undefined;
  return node.type === "checkbox" ? node.checked : node.value.trim();
};

/** A number field's value, or null when empty (the API then names the field). */
export const number = (form, name) => {
  const raw = value(form, name);
  return raw === "" || raw === undefined ? null : Number(raw);
};

/** An error found before sending, shown as the API would show it. */
export const invalid = (fieldName, message) => Object.assign(new Error(message), { status: 400, field: fieldName, message });

export const list = (text) => (text || "").split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);

export function clearErrors(form) {
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of form.querySelectorAll(".error")) { node.hidden = true; node.textContent = ""; }
}

/** Put an API error next to the field it names (`schedule.weekly.at` finds `schedule.at`),
 *  or at the top of the form; focus goes there so a keyboard user hears it. */
export function showError(form, error) {
  clearErrors(form);
  const target = error.field ? findField(form, error.field) : null;
  const message = describe(error);
  if (target) {
    const box = target.closest(".field, fieldset");
    const slot = box.querySelector(".error");
    slot.textContent = t("error_field", { field: labelOf(box) || error.field, message: error.message });
    slot.hidden = false;
    target.setAttribute("aria-invalid", "true");
    target.focus();
    return;
  }
  let top = form.querySelector(".form-error");
  if (!top) { top = h("p", { class: "form-error", role: "alert", tabindex: "-1" }); form.prepend(top); }
  top.textContent = message;
  top.focus();
}

function labelOf(box) {
  const label = box.querySelector("legend, label");
  return label ? label.textContent : "";
}

function findField(form, path) {
  const parts = path.split(".");
  const tries = [path, parts.filter((_, i) => i !== 1).join(".")];
  for (let n = parts.length - 1; n > 0; n--) tries.push(parts.slice(0, n).join("."));
  for (const name of tries) {
    const node = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
    if (node) return node.tagName === "FIELDSET" ? node.querySelector("input") || node : node;
  }
  return null;
}

export function describe(error) {
  if (error.status === 0) return t("error_network");
  if (error.status === 403) return t("error_forbidden", { message: error.message });
  if (error.field) return t("error_field", { field: error.field, message: error.message });
  return t("error_prefix") + error.message;
}

export function say(message) {
  const status = document.getElementById("status");
  status.textContent = "";
  requestAnimationFrame(() => { status.textContent = message; });
}

/** Run a form's submit: the button is busy meanwhile, errors land on their fields. */
export function onSubmit(form, work) {
  form.noValidate = true; // the API's answer names the field, in the console's words
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    clearErrors(form);
    try {
      await work(form);
    } catch (error) {
      if (!("status" in error)) throw error;
      showError(form, error);
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

export function table(caption, columns, rows) {
  if (!rows.length) return h("p", { class: "empty" }, caption ? `${caption}：${t("none")}` : t("none"));
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map(([label]) => h("th", { scope: "col" }, label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row))))))));
}

export function section(title, ...children) {
  return h("section", {}, h("h2", {}, title), children);
}

export const when = (iso) => (iso ? new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : "—");
export const today = (offsetDays = 0) => {
  const shanghai = new Date(Date.now() + 8 * 3600e3 + offsetDays * 86400e3);
  return shanghai.toISOString().slice(0, 10);
};
export const percent = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);
