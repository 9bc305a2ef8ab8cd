// The audit log (admins): who changed what, before → after, filtered by target, actor, days.
import { get } from "../api.js";
import { t } from "../i18n.js";
import { field, h, onSubmit, table, value, when } from "../ui.js";

const FILTERS = ["target", "actor", "from", "to"];

export default async function audit(ctx) {
  const query = Object.fromEntries(FILTERS.map((k) => [k, ctx.query.get(k) || ""]));
  const form = h("form", { class: "inline", role: "search", "aria-label": t("audit") },
    field(t("target"), "target", { value: query.target, hint: "chat_id=… / campaign_id=…" }),
    field(t("actor"), "actor", { value: query.actor }),
    field(t("window_from"), "from", { type: "date", value: query.from }),
    field(t("window_to"), "to", { type: "date", value: query.to }),
    h("button", { type: "submit" }, t("search")));
  onSubmit(form, async (f) => ctx.go(`#/audit?${new URLSearchParams(FILTERS.map((k) => [k, value(f, k)]).filter(([, v]) => v))}`));
  ctx.body.append(form);
  const entries = await get("/ops/audit", query);
  if (!ctx.current()) return;
  ctx.body.append(table(t("audit"), [
    [t("when"), (e) => when(e.at)], [t("actor"), (e) => `${e.actor}（${e.actor_kind}）`], [t("route"), (e) => e.route],
    [t("target"), (e) => e.target], [t("status"), (e) => e.status],
    [t("before"), (e) => diff(e.before)], [t("after"), (e) => diff(e.after)],
  ], entries));
}

function diff(values) {
  if (!values || !Object.keys(values).length) return "—";
  return h("dl", { class: "diff" }, Object.entries(values).map(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "string" ? v : JSON.stringify(v))]));
}
