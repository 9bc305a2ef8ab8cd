// Transfers of customers between customer managers (在职转接 / 离职继承): start one, and
// follow the latest as WeCom reports them.
import { api, get } from "../api.js";
import { t } from "../i18n.js";
import { field, h, list, onSubmit, say, section, table, value, when } from "../ui.js";

export default async function transfers(ctx) {
  const found = await get("/ops/transfers");
  if (!ctx.current()) return;
  if (ctx.can("admin")) {
    const form = h("form", { class: "stack", "aria-label": t("transfer_new") },
      h("h2", {}, t("transfer_new")),
      field(t("from_userid"), "from_userid"), field(t("to_userid"), "to_userid"),
      field(t("resigned"), "resigned", { type: "checkbox", value: false }),
      field(t("customer_ids"), "customers"),
      h("button", { type: "submit" }, t("save")));
    onSubmit(form, async (f) => {
      const customers = list(value(f, "customers"));
      await api("POST", "/ops/transfers", { body: {
        from_userid: value(f, "from_userid"), to_userid: value(f, "to_userid"), resigned: value(f, "resigned"),
        customers: customers.length ? customers : null,
      } });
      say(t("saved"));
      ctx.go(`#/transfers?at=${Date.now()}`);
    });
    ctx.body.append(form);
  }
  ctx.body.append(section(t("transfers"), table("", [
    ["ID", (x) => x.id], [t("from_userid"), (x) => x.from_userid], [t("to_userid"), (x) => x.to_userid],
    [t("resigned"), (x) => (x.resigned ? t("yes") : t("no"))], [t("when"), (x) => when(x.created_at)],
    [t("tally"), (x) => Object.entries(x.counts || {}).map(([k, n]) => `${k}: ${n}`).join("，") || "—"],
  ], found)));
}
