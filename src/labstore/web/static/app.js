// The labstore web UI: pages drawn from /api answers, routed on the URL path.
// Every page reads through the same API as the Python client, so it shows exactly what the
// user may see; the server answers a hidden object with 404 and so does the page.

import { api, ApiError, errorBox, get, h, objectHref } from "./api.js";
import { objectPage } from "./object.js";
import { searchPage } from "./search.js";
import { forgetMe, models, navigate, whoAmI } from "./state.js";

const main = document.getElementById("main");
function loginPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  const user = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const problem = h("div");
  const form = h(
    "form", { class: "login" },
    h("label", {}, "User name", h("br"), user),
    h("label", {}, "Password", h("br"), password),
    h("button", { type: "submit" }, "Log in"),
    problem,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.replaceChildren();
    try {
      await api("POST", "/login", { username: user.value, password: password.value });
      forgetMe();
      // only a path on this site: never a redirect elsewhere
      navigate(next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (err) {
      problem.replaceChildren(errorBox(err));
    }
  });
  return [h("h1", {}, "Log in"), form];
}

async function homePage() {
  const me = await whoAmI();
  const { packs } = await models();
  const out = [h("h1", {}, me ? `Hello, ${me.full_name || me.username}` : "labstore")];
  if (me) {
    out.push(h("h2", {}, "Projects"));
    out.push(me.projects.length
      ? h("ul", {}, me.projects.map((p) => h("li", {}, h("a", { href: `/browse/${p}` }, p))))
      : h("p", { class: "muted" }, "You are in no project yet."));
  } else {
    out.push(h("p", {}, "You see public objects only. ", h("a", { href: "/login" }, "Log in"),
      " to see yours and your projects'."));
  }
  out.push(h("h2", {}, "Models"));
  const rows = [];
  for (const pack of packs) {
    for (const m of pack.models) {
      const count = h("td", { class: "muted" }, "…");
      get(`/api/${m.key}/count`).then((c) => { count.textContent = c.count; },
        () => { count.textContent = "–"; });
      rows.push(h("tr", {}, h("td", {}, h("a", { href: `/search/${m.key}` }, m.class_name)),
        h("td", { class: "muted" }, m.key), count, h("td", {}, m.doc)));
    }
  }
  out.push(h("table", {}, h("tr", {}, h("th", {}, "model"), h("th", {}, "key"),
    h("th", {}, "objects"), h("th", {}, "")), rows));
  return out;
}

async function browsePage(path) {
  const crumbs = [h("a", { href: "/browse" }, "all projects")];
  const parts = path.split("/").filter(Boolean);
  parts.forEach((_, i) => {
    const sub = parts.slice(0, i + 1).join("/");
    crumbs.push(h("a", { href: `/browse/${sub}` }, parts[i]));
  });
  const listing = await get(`/api/paths/ls?path=${encodeURIComponent("/" + parts.join("/"))}`);
  const rows = listing.items.map((item) => h(
    "tr", {},
    h("td", {}, item.resource_type === "folder"
      ? h("a", { href: `/browse${item.path}` }, `📁 ${item.name}`)
      : h("a", { href: objectHref(item.location) }, item.name)),
    h("td", { class: "muted" }, item.resource_type),
  ));
  return [
    h("h1", {}, parts.length ? `/${parts.join("/")}` : "Folders"),
    h("p", { class: "crumbs" }, crumbs),
    rows.length
      ? h("table", { class: "listing" }, h("tr", {}, h("th", {}, "name"), h("th", {}, "type")), rows)
      : h("p", { class: "muted" }, "Nothing here (that you may see)."),
  ];
}

const ROUTES = [
  [/^\/login$/, () => loginPage()],
  [/^\/$/, () => homePage()],
  [/^\/browse(?:\/(.*))?$/, (m) => browsePage(decodeURIComponent(m[1] || ""))],
  [/^\/search(?:\/([^/]+\/[^/]+))?$/, (m) => searchPage(m[1] || null)],
  [/^\/objects\/([^/]+\/[^/]+\/[^/]+)$/, (m) => objectPage(m[1])],
];

async function showWho() {
  const who = document.getElementById("who");
  const me = await whoAmI().catch(() => null);
  if (!me) {
    who.replaceChildren(h("a", { href: "/login" }, "Log in"));
    return;
  }
  const out = h("button", { type: "button", id: "logout" }, "Log out");
  out.addEventListener("click", async () => {
    await api("POST", "/logout").catch(() => null);
    forgetMe();
    navigate("/login");
  });
  who.replaceChildren(h("span", { id: "username" }, me.username), " ", out);
}

async function route() {
  const path = location.pathname;
  document.title = "labstore";
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  showWho();
  for (const [pattern, render] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    try {
      main.replaceChildren(...[await render(match)].flat());
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && path !== "/login") {
        navigate(`/login?next=${encodeURIComponent(path + location.search)}`);
        return;
      }
      main.replaceChildren(h("h1", {}, err.status === 404 ? "Not found" : "Error"), errorBox(err));
      if (err.status === 404 && !(await whoAmI())) {
        main.append(h("p", {}, h("a", { href: `/login?next=${encodeURIComponent(path)}` },
          "Log in"), " to see objects that are not public."));
      }
    }
    main.dataset.page = path;
    return;
  }
  main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, `No page ${path}.`));
}

// Links inside the site change the page without reloading it.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a");
  if (!link || link.target || link.hasAttribute("download") || event.ctrlKey || event.metaKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/api/") ||
      url.pathname.startsWith("/docs")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener("popstate", route);
window.addEventListener("labstore:navigate", route);
route();
