// Benefit groups: the list with a capacity bar, a plot by coordinates with the areas that
// still need a group, and the form that registers or edits one.
import { api, get } from "../api.js";
import { groupPlot } from "../charts.js";
import { t } from "../i18n.js";
import { branchField, field, h, invalid, list, number, onSubmit, say, section, table, value } from "../ui.js";

export default async function groups(ctx) {
  const [id] = ctx.params;
  if (id) return editor(ctx, id === "new" ? null : id);
  const city = ctx.query.get("city") || "";
  const filter = h("form", { class: "inline", role: "search", "aria-label": t("filter_city") },
    field(t("filter_city"), "city", { value: city }), h("button", { type: "submit" }, t("search")));
  onSubmit(filter, async (f) => ctx.go(`#/groups?${new URLSearchParams({ city: value(f, "city") })}`));
  const [found, tasks] = await Promise.all([get("/ops/groups", { city, limit: 1000 }), get("/ops/tasks")]);
  if (!ctx.current()) return;
  const limit = ctx.session.config.group_join_limit;
  const placed = found.filter((g) => g.location);
  const areas = tasks.filter((x) => x.kind === "new_group_needed" && x.lat !== null && (!city || x.city === city));
  ctx.body.append(
    filter,
    ctx.can("operator") ? h("p", {}, h("a", { href: "#/groups/new", class: "button" }, t("group_new"))) : null,
    section(t("groups"), table("", [
      [t("chat_id"), (g) => h("a", { href: `#/groups/${encodeURIComponent(g.chat_id)}` }, g.chat_id)],
      [t("name"), (g) => g.name], [t("city"), (g) => g.city || "—"], [t("kind"), (g) => g.kind || "—"],
      [t("capacity"), (g) => capacity(g.member_count, limit)],
      [t("branch"), (g) => g.branch || "—"], [t("status"), (g) => g.status],
    ], found)),
    section(t("group_map"), h("p", { class: "hint" }, t("group_map_desc")),
      groupPlot(placed, areas, `${t("group_map")}：${placed.length} / ${areas.length}`, limit)),
    section(t("tasks_open"), table("", [
      [t("city"), (x) => x.city], ["geohash", (x) => x.area_geohash], [t("lat"), (x) => x.lat], [t("lng"), (x) => x.lng],
      [t("description"), (x) => x.detail],
    ], areas)));
}

function capacity(count, limit) {
  return h("span", { class: "capacity" },
    h("meter", { min: 0, max: limit, low: limit * 0.6, high: limit * 0.8, optimum: 0, value: Math.min(count, limit) }),
    " ", t("members_of", { count, limit }));
}

async function editor(ctx, chatId) {
  const [group, branches] = await Promise.all([chatId ? get(`/ops/groups/${encodeURIComponent(chatId)}`) : null, get("/ops/branches")]);
  if (!ctx.current()) return;
  const g = group || {};
  const at = g.location || {};
  const form = h("form", { class: "stack", "aria-label": chatId ? t("group_edit") : t("group_new") },
    h("h2", {}, chatId ? `${t("group_edit")} ${chatId}` : t("group_new")),
    chatId ? null : field(t("chat_id"), "chat_id", { required: true }),
    field(t("name"), "name", { value: g.name || "", required: true }),
    field(t("owner_userid"), "owner_userid", { value: g.owner_userid || "", required: true }),
    field(t("city"), "city", { value: g.city || "", required: true }),
    field(t("kind"), "kind", { value: g.kind || "", required: true, hint: "food / travel / parenting …" }),
    field(t("lat"), "lat", { type: "number", value: at.source_lat ?? "", required: true, attrs: { step: "any" } }),
    field(t("lng"), "lng", { type: "number", value: at.source_lng ?? "", required: true, attrs: { step: "any" } }),
    field(t("coord_system"), "coord_system", { type: "select", value: at.source_system || "gcj02",
      options: ["wgs84", "gcj02", "bd09"].map((cs) => [cs, t(`cs_${cs}`)]) }),
    field(t("member_count"), "member_count", { type: "number", value: g.member_count ?? "" }),
    field(t("group_tags"), "tags", { value: (g.tags || []).join(", ") }),
    branchField(branches, g.branch || ""),
    h("button", { type: "submit" }, t("save")));
  onSubmit(form, async (f) => {
    const id = chatId || value(f, "chat_id");
    const body = {
      name: value(f, "name"), owner_userid: value(f, "owner_userid"), city: value(f, "city"), kind: value(f, "kind"),
      lat: number(f, "lat"), lng: number(f, "lng"), coord_system: value(f, "coord_system"),
      member_count: number(f, "member_count"),
      tags: list(value(f, "tags")), branch: value(f, "branch"),
    };
    if (g.welcome) body.welcome = g.welcome; // kept: this form does not edit it
    if (!id) throw invalid("chat_id", t("required"));
    await api("PUT", `/ops/groups/${encodeURIComponent(id)}`, { body });
    say(t("saved"));
    ctx.go("#/groups");
  });
  ctx.body.append(form);
}
