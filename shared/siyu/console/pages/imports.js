// CSV imports of groups or bank customers: every row is validated, the valid ones written;
// the page follows the job while it runs and lists each refused row with its reason.
import { api, get } from "../api.js";
import { t } from "../i18n.js";
import { field, h, invalid, onSubmit, say, section, table, value } from "../ui.js";

const POLL_MS = 400;

export default async function imports(ctx) {
  const progress = h("progress", { max: 1, value: 0, "aria-label": t("import_progress", { written: 0, valid: 0, rows: 0 }) });
  const words = h("p", { "aria-live": "polite" });
  const result = h("div");
  const form = h("form", { class: "stack", "aria-label": t("page_imports") },
    field(t("import_kind"), "kind", { type: "select", value: "groups", options: [["groups", t("kind_groups")], ["customers", t("kind_customers")]] }),
    field(t("import_file"), "file", { type: "file", attrs: { accept: ".csv,text/csv" } }),
    ctx.can("operator") ? h("button", { type: "submit" }, t("import_start")) : null);
  onSubmit(form, async (f) => {
    const file = f.querySelector('[data-field="file"]').files[0];
    if (!file) throw invalid("file", t("required"));
    const job = crypto.randomUUID();
    const body = { kind: value(f, "kind"), filename: file.name, content_base64: await base64(file) };
    let running = true;
    const follow = async () => {
      while (running) {
        const seen = await get(`/ops/imports/${job}`).catch(() => null);
        if (seen && running) show(seen, progress, words);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    };
    follow();
    try {
      const done = await api("PUT", `/ops/imports/${job}`, { body }).catch((error) => {
        if (error.field === "content_base64" || error.field === "filename") error.field = "file";
        throw error;
      });
      show(done, progress, words);
      result.replaceChildren(table(t("import_errors"), [
        [t("row"), (e) => e.row], [t("column"), (e) => e.column], [t("message"), (e) => e.message],
      ], done.errors));
      say(t("import_done"));
    } finally {
      running = false;
    }
  });
  ctx.body.append(form, section(t("import_status"), progress, words, result));
}

function show(job, progress, words) {
  const text = t("import_progress", { written: job.written, valid: job.valid, rows: job.rows });
  progress.max = Math.max(1, job.valid);
  progress.value = job.written;
  progress.setAttribute("aria-label", text);
  words.textContent = job.status === "done" ? `${t("import_done")}：${text}` : text;
}

function base64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
