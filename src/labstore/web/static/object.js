// One object's page: fields, relations (linked), tags, path, sharing, version, files, arrays
// drawn as plots, and the objects below it as a tree (odML sections and properties, a Neo
// block's segments and signals, an experiment's datasets).

import { api, errorBox, get, h, objectHref, qs, title } from "./api.js";
import { arrayPlot } from "./plot.js";
import { models, navigate, whoAmI } from "./state.js";

const LEVELS = { 1: "private", 2: "friendly (project members read)", 3: "public" };
const PERMISSIONS = ["read", "write", "delete", "share"];
const TREE_PAGE = 100;

function show(value, kind) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "—");
  if (kind === "json" || typeof value === "object") return h("pre", {}, JSON.stringify(value, null, 2));
  return String(value);
}

function fieldsTable(location, model, obj) {
  const rows = model.fields.map((f) => {
    let value = show(obj[f.name], f.kind);
    if (f.kind === "array" && obj[f.name] && obj[f.name].sha256) {
      const v = obj[f.name];
      value = [h("span", { class: "muted" }, `${v.dtype} ${JSON.stringify(v.shape)}` +
        (v.units ? ` ${v.units}` : "")), arrayPlot(location, f.name, v)];
    }
    return h("tr", {}, h("th", { title: f.doc || "" }, f.name), h("td", { dataset: { field: f.name } },
      value, f.unit ? h("span", { class: "muted" }, ` ${f.unit}`) : null));
  });
  for (const rel of model.relations) {
    const target = obj[rel.name];
    rows.push(h("tr", {}, h("th", {}, rel.name), h("td", { dataset: { field: rel.name } },
      target ? h("a", { href: objectHref(target), class: "relation" }, target) : show(null))));
  }
  return h("table", { class: "fields", id: "fields" }, rows);
}

async function aboutTable(location, obj) {
  const paths = await api("POST", "/api/paths/lookup", { locations: [location] });
  const path = paths[location];
  const folder = path ? path.slice(0, path.lastIndexOf("/")) : null;
  const rows = [
    ["location", obj.location], ["version", obj.version], ["owner", obj.owner],
    ["project", obj.project], ["created", obj.created], ["modified", obj.modified],
  ].map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { dataset: { field: k } }, show(v))));
  rows.push(h("tr", {}, h("th", {}, "path"), h("td", { id: "path" },
    path ? h("a", { href: `/browse${folder}` }, path) : h("span", { class: "muted" }, "not filed"))));
  return h("table", { class: "fields" }, rows);
}

function fileSection(obj) {
  if (obj.model !== "core/file" || !obj.sha256) return null;
  return [h("h2", {}, "File"), h("p", {},
    h("a", { href: `/api/blobs/${obj.sha256}`, download: obj.name, id: "download" },
      `Download ${obj.name}`),
    h("span", { class: "muted" }, obj.size !== null ? ` (${obj.size} bytes)` : ""))];
}

async function tagSection(location, mayWrite) {
  const box = h("div", { id: "tags" });
  async function redraw() {
    const tags = await get(`/api/${location}/tags`);
    box.replaceChildren(...tags.map((t) => h("span", { class: "tag" },
      t.project ? `${t.tag} (${t.project})` : t.tag,
      mayWrite ? h("button", { type: "button", title: `remove ${t.tag}`, onclick: () =>
        change("DELETE", { tags: [t.tag], project: t.project ?? null }) }, "×") : null)));
    if (!tags.length) box.append(h("span", { class: "muted" }, "no tags"));
  }
  async function change(method, body) {
    try {
      await api(method, `/api/${location}/tags`, body);
      await redraw();
    } catch (err) {
      box.append(errorBox(err));
    }
  }
  await redraw();
  const out = [h("h2", {}, "Tags"), box];
  if (mayWrite) {
    const input = h("input", { name: "tag", placeholder: "new tag" });
    const form = h("form", { class: "inline", id: "add-tag" }, input,
      h("button", { type: "submit" }, "Add tag"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (input.value.trim()) await change("POST", { tags: [input.value.trim()] });
      input.value = "";
    });
    out.push(form);
  }
  return out;
}

async function sharingSection(location, mayShare) {
  const box = h("div", { id: "sharing" });
  async function redraw(problem) {
    const p = await get(`/api/${location}/permissions`);
    const rows = p.shares.map((s) => h("tr", {}, h("td", {}, s.with), h("td", {},
      s.permissions.join(", ")), h("td", {}, mayShare ? h("button", { type: "button",
      onclick: () => change("DELETE", `/api/${location}/shares/${encodeURIComponent(s.with)}`) },
      "unshare") : null)));
    box.replaceChildren(
      h("p", {}, "Safety level: ", h("strong", { id: "safety-level" },
        `${p.safety_level} ${LEVELS[p.safety_level] || ""}`),
        p.inherited_from ? h("span", { class: "muted" }, " inherited from ",
          h("a", { href: objectHref(p.inherited_from) }, p.inherited_from)) : null),
      rows.length ? h("table", { id: "shares" }, h("tr", {}, h("th", {}, "shared with"),
        h("th", {}, "may"), h("th", {}, "")), rows) : h("p", { class: "muted" }, "Not shared."),
      problem ? errorBox(problem) : "",
    );
    if (mayShare) box.append(levelForm(p.safety_level), shareForm());
  }
  async function change(method, path, body) {
    try {
      await api(method, path, body);
      await redraw();
    } catch (err) {
      await redraw(err);
    }
  }
  function levelForm(current) {
    const select = h("select", { name: "safety_level" }, Object.entries(LEVELS).map(([v, label]) =>
      h("option", { value: v, selected: Number(v) === current }, `${v} ${label}`)));
    const form = h("form", { class: "inline", id: "safety-form" }, "Change to ", select,
      h("button", { type: "submit" }, "Save"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      change("PUT", `/api/${location}/permissions`, { safety_level: Number(select.value) });
    });
    return form;
  }
  function shareForm() {
    const who = h("input", { name: "with", placeholder: "user or project:NAME", required: true });
    const boxes = PERMISSIONS.map((p) => h("label", {}, h("input",
      { type: "checkbox", name: p, checked: p === "read", disabled: p === "read" }), ` ${p}`));
    const form = h("form", { class: "inline", id: "share-form" }, "Share with ", who, boxes,
      h("button", { type: "submit" }, "Share"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const permissions = PERMISSIONS.filter((p) => form.querySelector(`[name=${p}]`).checked);
      change("POST", `/api/${location}/shares`, { with: who.value.trim(), permissions });
    });
    return form;
  }
  await redraw();
  return [h("h2", {}, "Sharing"), box];
}

// The objects below one object, each a <details> that loads its own children when opened.
async function childTree(byKey, model, id) {
  const branches = [];
  for (const child of model.children) {
    const answer = await get(`/api/${child.model}?${qs({ [child.relation]: id, limit: TREE_PAGE })}`);
    if (!answer.items.length) continue;
    const childModel = byKey[child.model];
    const more = answer.next ? h("li", { class: "muted" }, h("a", {
      href: `/search/${child.model}?${qs({ [child.relation]: id })}` }, "all of them…")) : null;
    branches.push(h("details", { class: "tree", open: true, dataset: { children: child.model } },
      h("summary", {}, `${child.plural} (${answer.items.length}${answer.next ? "+" : ""})`),
      h("ul", {}, answer.items.map((obj) => h("li", {}, treeNode(byKey, childModel, obj))), more)));
  }
  return branches;
}

// An odML property's values (and unit) beside its name, so the tree reads as metadata.
function valueNote(obj) {
  if (!Array.isArray(obj.values) && obj.value === undefined) return null;
  const values = Array.isArray(obj.values) ? obj.values.join(", ") : String(obj.value);
  return h("span", { class: "value" }, ` = ${values}${obj.unit ? " " + obj.unit : ""}`);
}

function treeNode(byKey, model, obj) {
  const link = h("a", { href: objectHref(obj.location) }, title(obj));
  if (!model.children.length) {
    return [link, valueNote(obj), h("span", { class: "muted" }, ` ${model.class_name}`)];
  }
  const node = h("details", { class: "tree" }, h("summary", {}, link,
    h("span", { class: "muted" }, ` ${model.class_name}`)));
  node.addEventListener("toggle", async () => {
    if (!node.open || node.dataset.loaded) return;
    node.dataset.loaded = "1";
    const branches = await childTree(byKey, model, obj.id).catch((err) => [errorBox(err)]);
    node.append(...(branches.length ? branches : [h("p", { class: "muted" }, "nothing below")]));
  });
  return node;
}

export async function objectPage(location) {
  const { byKey } = await models();
  const obj = await get(`/api/${location}`);
  const model = byKey[obj.model];
  document.title = `${title(obj)} · ${model.class_name} · labstore`;
  const me = await whoAmI();
  const mine = me ? (await get(`/api/${location}/permissions/mine`)).permissions : [];
  const out = [
    h("h1", {}, `${model.class_name} `, h("span", { id: "title" }, title(obj))),
    h("p", { class: "muted" }, model.doc, " · ",
      h("a", { href: `/search/${model.key}`, onclick: (e) => { e.preventDefault();
        navigate(`/search/${model.key}`); } }, `all ${model.class_name} objects`)),
    await aboutTable(location, obj),
    h("h2", {}, "Fields"),
    fieldsTable(location, model, obj),
    fileSection(obj),
    await tagSection(location, mine.includes("write")),
  ];
  if (me) out.push(await sharingSection(location, mine.includes("share")));
  const tree = await childTree(byKey, model, obj.id);
  if (tree.length) out.push(h("h2", {}, "Below this object"), ...tree);
  return out.filter(Boolean).flat();
}
