// Acquisition channels (联系我 codes): the list and the form; WeCom makes the code.
import { api, get } from "../api.js";
import { t } from "../i18n.js";
import { branchField, field, h, invalid, list, onSubmit, say, table, value } from "../ui.js";

export default async function channels(ctx) {
  const [state] = ctx.params;
  if (state) return editor(ctx, state === "new" ? null : state);
  const found = await get("/ops/channels");
  if (!ctx.current()) return;
  ctx.body.append(
    ctx.can("operator") ? h("p", {}, h("a", { href: "#/channels/new", class: "button" }, t("channel_new"))) : null,
    table(t("channels"), [
      [t("channel_state"), (c) => h("a", { href: `#/channels/${encodeURIComponent(c.state)}` }, c.state)],
      [t("name"), (c) => c.name], [t("city"), (c) => c.city || "—"], [t("channel_staff"), (c) => c.staff.join("、") || "—"],
      [t("tags"), (c) => c.tags.map((x) => `${x.group}/${x.name}`).join("、") || "—"],
      [t("qr_code"), (c) => (c.qr_code ? h("a", { href: c.qr_code, rel: "noreferrer" }, t("open")) : "—")],
      [t("branch"), (c) => c.branch || "—"],
    ], found));
}

async function editor(ctx, state) {
  const [c, branches] = await Promise.all([state ? get(`/ops/channels/${encodeURIComponent(state)}`) : null, get("/ops/branches")]);
  if (!ctx.current()) return;
  const form = h("form", { class: "stack", "aria-label": state || t("channel_new") },
    h("h2", {}, state || t("channel_new")),
    state ? null : field(t("channel_state"), "state", { hint: t("state_hint") }),
    field(t("name"), "name", { value: c ? c.name : "" }),
    field(t("welcome_text"), "welcome_text", { type: "textarea", value: c ? c.welcome_text : "" }),
    field(t("channel_tags"), "tags", { value: c ? c.tags.map((x) => `${x.group}/${x.name}`).join(", ") : "" }),
    field(t("channel_staff"), "staff", { value: c ? c.staff.join(", ") : "" }),
    field(t("skip_verify"), "skip_verify", { type: "checkbox", value: c ? c.skip_verify : true }),
    field(t("city"), "city", { value: c ? c.city : "" }),
    branchField(branches, c ? c.branch : ""),
    ctx.can("operator") ? h("button", { type: "submit" }, t("save")) : null);
  onSubmit(form, async (f) => {
    const id = state || value(f, "state");
    if (!id) throw invalid("state", t("required"));
    const tags = list(value(f, "tags")).map((text) => {
      const [group, name] = text.split("/");
      if (!name) throw invalid("tags", t("tag_format"));
      return { group, name };
    });
    await api("PUT", `/ops/channels/${encodeURIComponent(id)}`, { body: {
      name: value(f, "name"), welcome_text: f.querySelector('[data-field="welcome_text"]').value, tags,
      staff: list(value(f, "staff")), skip_verify: value(f, "skip_verify"), city: value(f, "city"),
      branch: value(f, "branch"), attachments: c ? c.attachments : [],
    } });
    say(t("saved"));
    ctx.go("#/channels");
  });
  ctx.body.append(form);
}
