// The official calendar: the years loaded, and loading one from the State Council's notice
// (as JSON: holidays with their first and last day, and the make-up working days).
import { api, get } from "../api.js";
import { t } from "../i18n.js";
import { field, h, invalid, onSubmit, say, section, table } from "../ui.js";

export default async function calendar(ctx) {
  const years = await get("/ops/calendar");
  if (!ctx.current()) return;
  const labels = ctx.session.config.holidays;
  const columns = [
    [t("name"), (p) => labels[p.name] || p.name], [t("active_from"), (p) => p.first_day], [t("active_to"), (p) => p.last_day],
  ];
  ctx.body.append(section(t("calendar_years"), years.length
    ? years.map((y) => h("div", { class: "year" }, table(String(y.year), columns, y.holidays),
      h("p", {}, `${t("make_up_days")}：${y.working_days.join("、") || "—"}`)))
    : h("p", { class: "empty" }, t("none"))));
  if (!ctx.can("admin")) return;
  const form = h("form", { class: "stack", "aria-label": t("calendar_load") },
    h("h2", {}, t("calendar_load")),
    field(t("calendar_file"), "file", { type: "file", attrs: { accept: ".json,application/json" } }),
    h("button", { type: "submit" }, t("save")));
  onSubmit(form, async (f) => {
    const file = f.querySelector('[data-field="file"]').files[0];
    if (!file) throw invalid("file", t("required"));
    let year;
    try {
      year = JSON.parse(await file.text());
    } catch (error) {
      throw invalid("file", error.message);
    }
    await api("PUT", `/ops/calendar/${encodeURIComponent(year.year)}`, { body: year }).catch((error) => {
      if (error.field) { // the file is the one control: the message keeps where in it
        error.message = `${error.field}: ${error.message}`;
        error.field = "file";
      }
      throw error;
    });
    say(t("saved"));
    ctx.go(`#/calendar?loaded=${year.year}`);
  });
  ctx.body.append(form);
}
