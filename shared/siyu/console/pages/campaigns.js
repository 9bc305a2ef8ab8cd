// Campaigns: the list, a form for every schedule kind whose copy is checked as it is
// typed, the preview of the next occurrence, and the runs with what was delivered.
import { api, get } from "../api.js";
import { t } from "../i18n.js";
import { branchField, checked, checks, field, h, invalid, list, number, onSubmit, say, section, table, value, when } from "../ui.js";

const KINDS = ["daily", "weekly", "monthly", "holiday", "meal", "birthday"];
const CHECK_DELAY_MS = 250;

export default async function campaigns(ctx) {
  const [id] = ctx.params;
  if (id) return detail(ctx, id === "new" ? null : id);
  const found = await get("/ops/campaigns");
  if (!ctx.current()) return;
  ctx.body.append(
    ctx.can("operator") ? h("p", {}, h("a", { href: "#/campaigns/new", class: "button" }, t("campaign_new"))) : null,
    table(t("campaigns"), [
      [t("campaign_id"), (c) => h("a", { href: `#/campaigns/${encodeURIComponent(c.id)}` }, c.id)],
      [t("name"), (c) => c.name], [t("schedule_kind"), (c) => t(`sk_${c.schedule.kind}`)],
      [t("audience"), (c) => t(`aud_${c.audience.kind}`)], [t("enabled"), (c) => (c.enabled ? t("yes") : t("no"))],
      [t("active_from"), (c) => c.active_from], [t("branch"), (c) => c.branch || "—"],
    ], found));
}

async function detail(ctx, id) {
  const [campaign, branches] = await Promise.all([id ? get(`/ops/campaigns/${encodeURIComponent(id)}`) : null, get("/ops/branches")]);
  if (!ctx.current()) return;
  const form = editor(ctx, campaign, branches);
  ctx.body.append(form);
  if (!id) return;
  const previewBox = h("div", { "aria-live": "polite" });
  const runsBox = h("div");
  ctx.body.append(
    section(t("preview"), ctx.can("operator") ? h("button", { type: "button", on: { click: () => preview(id, previewBox) } }, t("preview")) : null, previewBox),
    section(t("runs"), runsBox));
  await runs(ctx, id, runsBox);
}

function editor(ctx, c, branches) {
  const config = ctx.session.config;
  const s = (c && c.schedule) || { kind: "daily", at: "10:00" };
  const a = (c && c.audience) || { kind: "customers" };
  const scheduleBox = h("div", { class: "sub" });
  const audienceBox = h("div", { class: "sub" });
  const verdict = h("p", { class: "verdict", id: "copy-verdict", "aria-live": "polite" });
  const form = h("form", { class: "stack", "aria-label": c ? c.name : t("campaign_new") },
    h("h2", {}, c ? `${c.name}（${c.id}）` : t("campaign_new")),
    c ? null : field(t("campaign_id"), "campaign_id", { hint: "A–Z a–z 0–9 _ -" }),
    field(t("name"), "name", { value: c ? c.name : "" }),
    field(t("schedule_kind"), "schedule.kind", { type: "select", value: s.kind, options: KINDS.map((k) => [k, t(`sk_${k}`)]) }),
    scheduleBox,
    field(t("active_from"), "active_from", { type: "date", value: c ? c.active_from : new Date().toISOString().slice(0, 10) }),
    field(t("active_to"), "active_to", { type: "date", value: (c && c.active_to) || "" }),
    field(t("priority"), "priority", { type: "number", value: c ? c.priority : 50 }),
    field(t("audience"), "audience.kind", { type: "select", value: a.kind, options: [["customers", t("aud_customers")], ["groups", t("aud_groups")]] }),
    audienceBox,
    field(t("content"), "content.text", { type: "textarea", value: c ? c.content.text : "",
      hint: t("content_hint", { vars: config.template_vars.map((v) => `{${v}}`).join(" ") }), attrs: { rows: 5 } }),
    verdict,
    field(t("enabled"), "enabled", { type: "checkbox", value: c ? c.enabled : true }),
    branchField(branches, c ? c.branch : ""),
    ctx.can("operator") ? h("button", { type: "submit" }, t("save")) : null);
  const kind = form.querySelector('[data-field="schedule.kind"]');
  const audienceKind = form.querySelector('[data-field="audience.kind"]');
  const drawSchedule = () => scheduleBox.replaceChildren(...scheduleFields(kind.value, kind.value === s.kind ? s : {}, config));
  const drawAudience = () => audienceBox.replaceChildren(...audienceFields(audienceKind.value, audienceKind.value === a.kind ? a : {}, config));
  kind.addEventListener("change", drawSchedule);
  audienceKind.addEventListener("change", drawAudience);
  drawSchedule();
  drawAudience();
  watchCopy(form.querySelector('[data-field="content.text"]'), verdict);
  onSubmit(form, async (f) => {
    const id = c ? c.id : value(f, "campaign_id");
    if (!id) throw invalid("campaign_id", t("required"));
    const body = {
      name: value(f, "name"), schedule: schedule(f), active_from: value(f, "active_from"),
      active_to: value(f, "active_to") || null, priority: number(f, "priority"), audience: audience(f),
      content: { text: f.querySelector('[data-field="content.text"]').value, attachments: c ? c.content.attachments : [] },
      enabled: value(f, "enabled"), branch: value(f, "branch"),
    };
    await api("PUT", `/ops/campaigns/${encodeURIComponent(id)}`, { body });
    say(t("saved"));
    if (c) ctx.go(`#/campaigns/${encodeURIComponent(id)}?saved=${Date.now()}`); else ctx.go("#/campaigns");
  });
  return form;
}

function scheduleFields(kind, s, config) {
  const at = field(t("at"), "schedule.at", { type: "time", value: s.at || "10:00" });
  const workdays = field(t("workdays_only"), "schedule.workdays_only", { type: "checkbox", value: s.workdays_only });
  switch (kind) {
    case "daily": return [at, workdays];
    case "weekly": return [checks(t("weekdays"), "schedule.weekdays", [1, 2, 3, 4, 5, 6, 7].map((d) => [d, t(`weekday_${d}`)]), s.weekdays || [1]), at];
    case "monthly": return [field(t("days"), "schedule.days", { value: (s.days || [1]).join(", ") }), at];
    case "holiday": return [
      checks(t("holidays"), "schedule.holidays", Object.entries(config.holidays), s.holidays || []),
      field(t("holiday_on"), "schedule.on", { type: "select", value: s.on || "first_day",
        options: [["eve", t("on_eve")], ["first_day", t("on_first_day")], ["every_day", t("on_every_day")]] }), at];
    case "meal": return [checks(t("meals"), "schedule.meals", ["breakfast", "lunch", "dinner"].map((m) => [m, t(`meal_${m}`)]), s.meals || ["lunch"]), workdays];
    default: return [at];
  }
}

function schedule(f) {
  const kind = value(f, "schedule.kind");
  const at = value(f, "schedule.at");
  switch (kind) {
    case "daily": return { kind, at, workdays_only: value(f, "schedule.workdays_only") };
    case "weekly": return { kind, at, weekdays: checked(f, "schedule.weekdays").map(Number) };
    case "monthly": return { kind, at, days: list(value(f, "schedule.days")).map((d) => (d === "last" ? d : Number(d))) };
    case "holiday": return { kind, at, holidays: checked(f, "schedule.holidays"), on: value(f, "schedule.on") };
    case "meal": return { kind, meals: checked(f, "schedule.meals"), workdays_only: value(f, "schedule.workdays_only") };
    default: return { kind, at };
  }
}

function audienceFields(kind, a, config) {
  if (kind === "groups") {
    return [
      field(t("aud_cities"), "audience.cities", { value: (a.cities || []).join(", ") }),
      field(t("aud_kinds"), "audience.kinds", { value: (a.kinds || []).join(", ") }),
      field(t("aud_group_tags"), "audience.tags", { value: (a.tags || []).join(", ") }),
    ];
  }
  return [
    field(t("aud_tags"), "audience.tags", { value: (a.tags || []).join(", ") }),
    checks(t("aud_stages"), "audience.stages", Object.entries(config.stages), a.stages || []),
    checks(t("aud_segments"), "audience.segments", config.segments.map((x) => [x, x]), a.segments || []),
  ];
}

function audience(f) {
  const kind = value(f, "audience.kind");
  if (kind === "groups") {
    return { kind, cities: list(value(f, "audience.cities")), kinds: list(value(f, "audience.kinds")), tags: list(value(f, "audience.tags")) };
  }
  return { kind, tags: list(value(f, "audience.tags")), stages: checked(f, "audience.stages"), segments: checked(f, "audience.segments") };
}

/** The copy is checked by siyu (the same rules a save applies) a moment after typing stops. */
function watchCopy(textarea, verdict) {
  let timer = 0, asked = 0;
  const check = async () => {
    const ticket = ++asked;
    const answer = await api("POST", "/ops/campaigns:check", { body: { text: textarea.value } }).catch(() => null);
    if (!answer || ticket !== asked) return;
    const bad = answer.banned.length > 0 || answer.bytes > answer.max_bytes;
    if (bad) textarea.setAttribute("aria-invalid", "true"); else textarea.removeAttribute("aria-invalid");
    verdict.className = bad ? "verdict bad" : "verdict ok";
    verdict.textContent = answer.banned.length
      ? t("banned_found", { words: answer.banned.join("、") })
      : t(answer.bytes > answer.max_bytes ? "copy_too_long" : "copy_ok", { bytes: answer.bytes, max: answer.max_bytes });
  };
  textarea.setAttribute("aria-describedby", `${textarea.getAttribute("aria-describedby")} copy-verdict`);
  textarea.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, CHECK_DELAY_MS); });
  if (textarea.value) check();
}

async function preview(id, box) {
  box.replaceChildren(h("p", {}, t("loading")));
  try {
    const p = await api("POST", `/ops/campaigns/${encodeURIComponent(id)}/preview`);
    box.replaceChildren(
      h("dl", { class: "facts" },
        h("dt", {}, t("next_at")), h("dd", {}, p.next_occurrence ? when(p.next_occurrence.at) : (p.note || "—")),
        h("dt", {}, t("audience_size")), h("dd", {}, t("with_opted_out", p)),
        h("dt", {}, t("sample")), h("dd", {}, h("blockquote", {}, p.sample || "—"))),
      table(t("by_sender"), [[t("staff"), (r) => r[0]], ["#", (r) => r[1]]], Object.entries(p.by_sender)));
  } catch (error) {
    box.replaceChildren(h("p", { class: "form-error", role: "alert" }, error.message));
  }
}

async function runs(ctx, id, box) {
  const found = await get(`/ops/campaigns/${encodeURIComponent(id)}/runs`);
  box.replaceChildren(table("", [
    [t("occurrence"), (r) => r.occurrence.key], [t("when"), (r) => when(r.occurrence.at)], [t("run_status"), (r) => r.status],
    [t("audience_size"), (r) => r.audience], [t("delivered"), (r) => r.delivered], [t("not_delivered"), (r) => r.not_delivered],
    ["", (r) => (ctx.can("operator") && r.status === "batched"
      ? h("button", { type: "button", on: { click: async (e) => {
        e.target.disabled = true;
        await api("POST", `/ops/campaigns/${encodeURIComponent(id)}/runs/${encodeURIComponent(r.occurrence.key)}:cancel`);
        say(t("cancelled"));
        await runs(ctx, id, box);
      } } }, t("cancel_run")) : "")],
  ], found));
}
