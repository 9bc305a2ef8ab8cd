// A customer manager's follow-up tasks: mark done, or snooze to a later day.
import { api, get } from "../api.js";
import { t } from "../i18n.js";
import { field, h, onSubmit, say, table, value, when } from "../ui.js";

export default async function followups(ctx) {
  const staff = ctx.query.get("staff") || "";
  const status = ctx.query.get("status") || "open";
  const form = h("form", { class: "inline", role: "search", "aria-label": t("followups_of") },
    field(t("staff"), "staff", { value: staff }),
    field(t("status"), "status", { type: "select", value: status, options: [["open", "open"], ["sent", "sent"], ["done", "done"], ["cancelled", "cancelled"]] }),
    h("button", { type: "submit" }, t("search")));
  onSubmit(form, async (f) => ctx.go(`#/followups?${new URLSearchParams({ staff: value(f, "staff"), status: value(f, "status") })}`));
  ctx.body.append(form);
  if (!staff) return;
  const found = await get("/ops/followups", { staff, status });
  if (!ctx.current()) return;
  const reload = async () => { ctx.body.replaceChildren(); await followups(ctx); };
  ctx.body.append(table(t("followups_of"), [
    [t("due_at"), (x) => when(x.due_at)], [t("reason"), (x) => x.reason],
    [t("customer"), (x) => h("a", { href: `#/customers?external_userid=${encodeURIComponent(x.external_userid)}` }, x.external_userid)],
    [t("note"), (x) => x.detail || x.note || "—"],
    ["", (x) => (ctx.can("operator") && ["open", "sent"].includes(x.status) ? actions(x, reload) : "")],
  ], found));
}

function actions(followup, reload) {
  const id = encodeURIComponent(followup.id);
  const snoozeForm = h("form", { class: "inline small", "aria-label": `${t("snooze")} ${followup.id}` },
    field(t("snooze_until"), "until", { type: "date" }), h("button", { type: "submit", class: "secondary" }, t("snooze")));
  onSubmit(snoozeForm, async (f) => {
    const day = value(f, "until");
    await api("POST", `/ops/followups/${id}:snooze`, { body: { until: day ? `${day}T09:00:00+08:00` : "" } });
    say(t("saved"));
    await reload();
  });
  return h("div", { class: "buttons" },
    h("button", { type: "button", on: { click: async () => { await api("POST", `/ops/followups/${id}:done`, { body: {} }); say(t("done")); await reload(); } } }, t("mark_done")),
    snoozeForm);
}
