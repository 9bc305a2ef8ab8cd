// The funnel by a chosen dimension with conversion between steps, the daily trend, and
// the health panel; the three load side by side.
import { get } from "../api.js";
import { funnelChart, lineChart } from "../charts.js";
import { t } from "../i18n.js";
import { field, h, onSubmit, percent, section, table, today, value, when } from "../ui.js";

const TREND = ["added", "joined_group", "first_purchase"];
const BY = ["channel", "staff", "city", "branch"];

export default async function dashboard(ctx) {
  const from = ctx.query.get("from") || today(-13);
  const to = ctx.query.get("to") || today();
  const by = BY.includes(ctx.query.get("by")) ? ctx.query.get("by") : "channel";
  const form = h("form", { class: "inline", "aria-label": t("funnel") },
    field(t("funnel_by"), "by", { type: "select", value: by, options: BY.map((b) => [b, t(`by_${b}`)]) }),
    field(t("window_from"), "from", { type: "date", value: from, required: true }),
    field(t("window_to"), "to", { type: "date", value: to, required: true }),
    h("button", { type: "submit" }, t("show")));
  onSubmit(form, async (f) => {
    ctx.go(`#/dashboard?${new URLSearchParams({ by: value(f, "by"), from: value(f, "from"), to: value(f, "to") })}`);
  });
  const funnelBox = h("div"), trendBox = h("div"), healthBox = h("div");
  ctx.body.append(form, section(t("funnel"), funnelBox), section(t("trend"), trendBox), section(t("health"), healthBox));
  const steps = ctx.session.config.steps;
  const [report, trend, health] = await Promise.all([
    get("/ops/reports/funnel", { from, to, by }),
    get("/ops/reports/funnel/trend", { from, to }),
    get("/ops/health"),
  ]);
  if (!ctx.current()) return;
  funnelBox.append(...funnel(report, steps));
  trendBox.append(...trendOf(trend));
  healthBox.append(...healthOf(health));
  ctx.body.dataset.ready = "dashboard";
}

function funnel(report, steps) {
  const total = report.rows[report.rows.length - 1];
  const chain = [steps[0].split("/")[1], ...steps.map((k) => k.split("/")[0])];
  const bars = chain.map((m, i) => ({
    key: m,
    label: t(`ms_${m}`),
    count: total.counts[m] || 0,
    rate: i ? percent(total.conversion[steps[i - 1]]) : "",
  }));
  const summary = bars.map((b) => `${b.label} ${b.count}`).join("，");
  const columns = [
    [t(`by_${report.by}`), (r) => r.value],
    ...chain.map((m) => [t(`ms_${m}`), (r) => r.counts[m] || 0]),
    ...steps.map((k) => [`${t("conversion")} ${t(`ms_${k.split("/")[0]}`)}`, (r) => percent(r.conversion[k])]),
    [t("ms_lost"), (r) => r.counts.lost || 0],
    [t("ms_referral_credited"), (r) => r.counts.referral_credited || 0],
  ];
  return [funnelChart(bars, t("chart_funnel", { summary })), table(t("funnel"), columns, report.rows)];
}

function trendOf(trend) {
  const lines = TREND.map((m) => ({ key: m, label: t(`ms_${m}`), values: trend.series[m] }));
  const label = t("chart_trend", { from: trend.from, to: trend.to, what: lines.map((l) => l.label).join("、") });
  const columns = [[t("day"), (r) => r.day], ...lines.map((l) => [l.label, (r) => r[l.key]])];
  const rows = trend.days.map((day, i) => Object.fromEntries([["day", day], ...lines.map((l) => [l.key, l.values[i]])]));
  return [lineChart(trend.days, lines, label), h("details", {}, h("summary", {}, t("trend")), table("", columns, rows))];
}

function healthOf(health) {
  const waiting = health.dead_letters.filter((d) => d.waiting !== 0);
  return [
    h("p", { class: "tasks" }, h("a", { href: "#/groups" }, `${t("open_tasks")}：${health.open_tasks}`)),
    waiting.length
      ? table(t("dead_letters"), [[t("topic"), (d) => `${d.topic}-dlq`], ["#", (d) => (d.waiting === null ? t("dead_letters_unknown") : `${d.waiting}${d.more ? "+" : ""}`)]], waiting)
      : h("p", { class: "ok" }, t("dead_letters_none")),
    table(t("ticks"), [[t("topic"), (x) => x.topic], [t("when"), (x) => when(x.last_at)]], health.ticks),
  ];
}
