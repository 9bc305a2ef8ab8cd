// The console's shell: who is signed in, the navigation, and a page per #/route.
import { api, get, returnTo } from "./api.js";
import { t, translatePage } from "./i18n.js";
import { h, describe } from "./ui.js";
import dashboard from "./pages/dashboard.js";
import customers from "./pages/customers.js";
import groups from "./pages/groups.js";
import campaigns from "./pages/campaigns.js";
import tagRules from "./pages/tag_rules.js";
import channels from "./pages/channels.js";
import followups from "./pages/followups.js";
import transfers from "./pages/transfers.js";
import imports from "./pages/imports.js";
import calendar from "./pages/calendar.js";
import audit from "./pages/audit.js";

const PAGES = {
  dashboard, customers, groups, campaigns, "tag-rules": tagRules, channels,
  followups, transfers, imports, calendar, audit,
};
const TITLES = {
  dashboard: "page_dashboard", customers: "page_customers", groups: "page_groups",
  campaigns: "page_campaigns", "tag-rules": "page_tag_rules", channels: "page_channels",
  followups: "page_followups", transfers: "page_transfers", imports: "page_imports",
  calendar: "page_calendar", audit: "page_audit",
};
const ADMIN_ONLY = new Set(["audit"]);
const RANK = { viewer: 0, operator: 1, admin: 2 };

let session = null;
let shown = 0; // a later navigation wins over a page still loading

function route() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [page = "dashboard", ...params] = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { page: PAGES[page] ? page : "dashboard", params, query: new URLSearchParams(search) };
}

async function show() {
  if (location.hash && !location.hash.startsWith("#/")) return; // an in-page anchor (skip link)
  const { page, params, query } = route();
  const ticket = ++shown;
  const main = document.getElementById("main");
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const title = t(TITLES[page]);
  document.title = `${title} · ${t("brand")}`;
  const heading = h("h1", { tabindex: "-1" }, title);
  const body = h("div", { class: "page", "aria-busy": "true" });
  main.replaceChildren(heading, body);
  heading.focus();
  const ctx = {
    session, params, query, body,
    can: (role) => RANK[session.role] >= RANK[role],
    go: (hash) => { location.hash = hash; },
    current: () => ticket === shown,
  };
  try {
    await PAGES[page](ctx);
  } catch (error) {
    if (!("status" in error)) throw error;
    if (ticket === shown) body.append(h("p", { class: "form-error", role: "alert" }, describe(error)));
  } finally {
    body.removeAttribute("aria-busy");
  }
}

function navigation() {
  const list = document.querySelector("#nav ul");
  list.replaceChildren(...Object.keys(PAGES)
    .filter((page) => !ADMIN_ONLY.has(page) || session.role === "admin")
    .map((page) => h("li", {}, h("a", { href: `#/${page}`, dataset: { page } }, t(TITLES[page])))));
}

async function start() {
  translatePage();
  try {
    session = await get("/ops/me");
  } catch (error) {
    if (error.status === 401) { document.getElementById("main").replaceChildren(h("p", {}, t("signing_in"))); return; }
    throw error;
  }
  session.config = await get("/ops/console-config");
  const branches = session.branches.includes("*") ? t("all_branches") : session.branches.join("、");
  document.getElementById("who").textContent = `${t("who", { id: session.id, role: t(`role_${session.role}`) })} · ${branches}`;
  const signout = document.getElementById("signout");
  signout.hidden = false;
  signout.addEventListener("click", async () => {
    await api("POST", "/ops/logout");
    location.assign("/console");
  });
  navigation();
  window.addEventListener("hashchange", show);
  const back = returnTo();
  if (back && back !== location.hash) location.hash = back;
  else await show();
}

start();
