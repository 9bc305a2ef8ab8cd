// Tag rules: the list with each rule's backfill, and an editor whose condition is the
// rule language's JSON, previewed (who gains, who loses) before it is saved.
import { api, get } from "../api.js";
import { t } from "../i18n.js";
import { field, h, invalid, onSubmit, say, section, table, value } from "../ui.js";

const EXAMPLE = { field: "aggregates.purchase_count", op: ">=", value: 3 };

export default async function tagRules(ctx) {
  const [id] = ctx.params;
  if (id) return editor(ctx, id === "new" ? null : id);
  const rules = await get("/ops/tag-rules");
  if (!ctx.current()) return;
  ctx.body.append(
    ctx.can("operator") ? h("p", {}, h("a", { href: "#/tag-rules/new", class: "button" }, t("rule_new"))) : null,
    table(t("tag_rules"), [
      [t("rule_id"), (r) => h("a", { href: `#/tag-rules/${encodeURIComponent(r.id)}` }, r.id)],
      [t("tags"), (r) => `${r.tag.group}/${r.tag.name}`], [t("description"), (r) => r.description || "—"],
      [t("enabled"), (r) => (r.enabled ? t("yes") : t("no"))],
    ], rules));
}

async function editor(ctx, id) {
  const rule = id ? await get(`/ops/tag-rules/${encodeURIComponent(id)}`) : null;
  const backfill = id ? await get(`/ops/tag-rules/${encodeURIComponent(id)}/backfill`).catch(() => null) : null;
  if (!ctx.current()) return;
  const outcome = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "stack", "aria-label": id || t("rule_new") },
    h("h2", {}, id || t("rule_new")),
    id ? null : field(t("rule_id"), "rule_id"),
    field(t("tag_group"), "tag.group", { value: rule ? rule.tag.group : "" }),
    field(t("tag_name"), "tag.name", { value: rule ? rule.tag.name : "" }),
    field(t("condition"), "when", { type: "textarea", value: JSON.stringify(rule ? rule.when : EXAMPLE, null, 2), attrs: { rows: 8, class: "mono" } }),
    field(t("description"), "description", { value: rule ? rule.description : "" }),
    field(t("enabled"), "enabled", { type: "checkbox", value: rule ? rule.enabled : true }),
    h("div", { class: "buttons" },
      ctx.can("operator") ? h("button", { type: "button", class: "secondary", on: { click: () => previewRule(form, outcome) } }, t("rule_preview")) : null,
      ctx.can("operator") ? h("button", { type: "submit" }, t("save")) : null),
    outcome);
  onSubmit(form, async (f) => {
    const ruleId = id || value(f, "rule_id");
    if (!ruleId) throw invalid("rule_id", t("required"));
    await api("PUT", `/ops/tag-rules/${encodeURIComponent(ruleId)}`, { body: spec(f) });
    say(t("saved"));
    ctx.go("#/tag-rules");
  });
  ctx.body.append(form);
  if (backfill) ctx.body.append(section(t("backfill"), h("pre", { class: "mono" }, JSON.stringify(backfill, null, 2))));
}

function spec(f) {
  let when;
  try {
    when = JSON.parse(f.querySelector('[data-field="when"]').value);
  } catch (error) {
    throw invalid("when", error.message);
  }
  return {
    tag: { group: value(f, "tag.group"), name: value(f, "tag.name") }, when,
    description: value(f, "description"), enabled: value(f, "enabled"),
  };
}

async function previewRule(form, outcome) {
  try {
    const body = spec(form);
    const answer = await api("POST", "/ops/tag-rules:preview", { body });
    outcome.replaceChildren(h("pre", { class: "mono" }, JSON.stringify(answer, null, 2)));
  } catch (error) {
    if (!("status" in error)) throw error;
    outcome.replaceChildren(h("p", { class: "form-error", role: "alert" }, error.message));
  }
}
