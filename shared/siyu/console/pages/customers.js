// Find a customer by WeCom id or bank customer number; their page reads as a timeline.
import { get } from "../api.js";
import { t } from "../i18n.js";
import { field, h, onSubmit, section, table, value, when } from "../ui.js";

export default async function customers(ctx) {
  const external = ctx.query.get("external_userid") || "";
  const bank = ctx.query.get("bank_customer_id") || "";
  const form = h("form", { class: "inline", role: "search", "aria-label": t("find_customer") },
    field(t("external_userid"), "external_userid", { value: external }),
    field(t("bank_customer_id"), "bank_customer_id", { value: bank }),
    h("button", { type: "submit" }, t("search")));
  onSubmit(form, async (f) => {
    const query = { external_userid: value(f, "external_userid"), bank_customer_id: value(f, "bank_customer_id") };
    if (query.external_userid) delete query.bank_customer_id; else delete query.external_userid;
    ctx.go(`#/customers?${new URLSearchParams(query)}`);
  });
  ctx.body.append(form);
  if (!external && !bank) return;
  const page = await get("/ops/customer-timeline", external ? { external_userid: external } : { bank_customer_id: bank });
  if (ctx.current()) ctx.body.append(render(page, ctx.session.config));
}

function render(page, config) {
  const customer = page.customer;
  const bankCustomer = page.bank_customer;
  const heading = [customer && customer.name, page.external_userid, page.bank_customer_id].filter(Boolean).join(" · ");
  return h("article", { class: "customer", "aria-label": heading },
    h("h2", {}, heading),
    h("dl", { class: "facts" },
      h("dt", {}, t("stage")), h("dd", {}, config.stages[page.stage] || page.stage || "—"),
      h("dt", {}, t("segment")), h("dd", {}, page.segment || "—"),
      bankCustomer ? [h("dt", {}, t("marketing")), h("dd", {}, t(bankCustomer.marketing_opt_out ? "opted_out" : "opted_in"))] : null),
    section(t("relations"), table("", [
      [t("staff"), (r) => r.staff_userid], [t("state"), (r) => r.state || "—"],
      [t("status"), (r) => r.status], [t("added_at"), (r) => when(r.added_at)],
    ], customer ? customer.relations : [])),
    section(t("tags"), ["rule", "channel", "manual"].map((source) =>
      h("div", { class: "tagline" }, h("strong", {}, `${t(`tags_${source}`)}：`),
        (page.tags[source] || []).map((tag) => h("span", { class: "tag" }, `${tag.group}/${tag.name}`)),
        (page.tags[source] || []).length ? null : "—"))),
    section(t("invites"), table("", [
      [t("when"), (i) => when(i.issued_at)], [t("group"), (i) => i.group_name], [t("distance_m"), (i) => Math.round(i.distance_m)],
    ], bankCustomer ? [...bankCustomer.invites].reverse() : [])),
    section(t("referral"), page.referral
      ? h("p", {}, `${page.referral.status} · ${page.referral.referrer || "—"} · ${page.referral.day}`)
      : h("p", { class: "empty" }, t("none"))),
    section(t("followups"), table("", [
      [t("due_at"), (f) => when(f.due_at)], [t("reason"), (f) => f.reason], [t("staff"), (f) => f.staff_userid], [t("status"), (f) => f.status],
    ], page.followups)),
    section(t("campaigns_received"), table("", [
      [t("day"), (c) => c.day], [t("campaign_id"), (c) => h("a", { href: `#/campaigns/${encodeURIComponent(c.run_id.split("@")[0])}` }, c.run_id)],
    ], page.campaigns)),
    section(t("timeline"), page.timeline.length
      ? h("ol", { class: "timeline" }, page.timeline.map((e) =>
        h("li", { dataset: { kind: e.kind } }, h("time", { datetime: e.at }, when(e.at)), " ", t(`ev_${e.kind}`, e))))
      : h("p", { class: "empty" }, t("none"))));
}
