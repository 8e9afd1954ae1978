// Search by model with filters: the URL's query string is the API's (name__icontains=...),
// so a search page can be bookmarked and its answer is exactly GET /api/{pack}/{model}.

import { ApiError, errorBox, get, h, objectHref, qs, title } from "./api.js";
import { models, navigate } from "./state.js";

const LOOKUPS = ["exact", "iexact", "contains", "icontains", "startswith", "endswith",
  "gt", "gte", "lt", "lte", "in", "isnull"];
const PAGE = 50;
const SCALAR = new Set(["str", "int", "float", "bool", "date", "datetime"]);

function splitFilter(key) {
  const cut = key.lastIndexOf("__");
  if (cut > 0 && LOOKUPS.includes(key.slice(cut + 2))) return [key.slice(0, cut), key.slice(cut + 2)];
  return [key, "exact"];
}

function filterRow(fieldNames, [field, lookup, value] = ["", "exact", ""]) {
  const row = h(
    "div", { class: "inline filter" },
    h("input", { name: "field", list: "field-names", value: field, placeholder: "field", size: 22 }),
    h("select", { name: "lookup" },
      LOOKUPS.map((l) => h("option", { value: l, selected: l === lookup }, l))),
    h("input", { name: "value", value, placeholder: "value" }),
    h("button", { type: "button", title: "remove", onclick: () => row.remove() }, "×"),
  );
  return row;
}

function columnsOf(model) {
  const fields = model.fields.filter((f) => SCALAR.has(f.kind)).slice(0, 5).map((f) => f.name);
  return [...fields, ...model.relations.slice(0, 2).map((r) => r.name), "owner", "project", "modified"];
}

function cell(model, column, obj) {
  const value = obj[column];
  if (model.relations.some((r) => r.name === column) && value) {
    return h("td", {}, h("a", { href: objectHref(value) }, value.split("/").pop()));
  }
  return h("td", {}, value === null || value === undefined ? "" : String(value));
}

function modelChooser(byKey) {
  return [
    h("h1", {}, "Search"),
    h("p", {}, "Choose what to look for:"),
    h("ul", {}, Object.values(byKey).map((m) =>
      h("li", {}, h("a", { href: `/search/${m.key}` }, m.class_name), h("span", { class: "muted" },
        ` (${m.key}) ${m.doc}`)))),
  ];
}

export async function searchPage(key) {
  const { byKey, common } = await models();
  if (!key) return modelChooser(byKey);
  const model = byKey[key];
  if (!model) throw new ApiError(404, `unknown model ${key}`);
  document.title = `${model.class_name} · labstore`;
  const params = new URLSearchParams(location.search);
  params.delete("cursor");
  const fieldNames = [...common, ...model.fields].map((f) => f.name)
    .concat(model.relations.map((r) => r.name), ["tags"]);

  const rows = h("div", { id: "filters" });
  for (const [k, v] of params) rows.append(filterRow(fieldNames, [...splitFilter(k), v]));
  if (!rows.children.length) rows.append(filterRow(fieldNames));
  const form = h(
    "form", { id: "search" },
    h("datalist", { id: "field-names" }, fieldNames.map((n) => h("option", { value: n }))),
    rows,
    h("div", { class: "inline" },
      h("button", { type: "button", onclick: () => rows.append(filterRow(fieldNames)) }, "+ filter"),
      h("button", { type: "submit" }, "Search")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const out = new URLSearchParams();
    for (const row of rows.querySelectorAll(".filter")) {
      const field = row.querySelector("[name=field]").value.trim();
      const lookup = row.querySelector("[name=lookup]").value;
      if (field) out.append(lookup === "exact" ? field : `${field}__${lookup}`,
        row.querySelector("[name=value]").value);
    }
    navigate(`/search/${key}${out.toString() ? "?" + out : ""}`);
  });

  const out = [h("h1", {}, model.class_name, h("span", { class: "muted" }, ` ${model.key}`)),
    h("p", { class: "muted" }, model.doc), form];
  const columns = columnsOf(model);
  const table = h("table", { id: "results" },
    h("tr", {}, h("th", {}, "object"), columns.map((c) => h("th", {}, c))));
  const summary = h("p", { class: "muted", id: "summary" });
  const more = h("button", { type: "button", hidden: true }, "more");
  try {
    const [page, count] = await Promise.all([
      get(`/api/${key}?${qs([...params, ["limit", PAGE]])}`),
      get(`/api/${key}/count?${qs([...params])}`),
    ]);
    summary.textContent = `${count.count} found`;
    const addRows = (items) => items.forEach((obj) => table.append(h("tr", {},
      h("td", {}, h("a", { href: objectHref(obj.location) }, title(obj))),
      columns.map((c) => cell(model, c, obj)))));
    addRows(page.items);
    let cursor = page.next;
    more.hidden = !cursor;
    more.addEventListener("click", async () => {
      const next = await get(`/api/${key}?${qs([...params, ["limit", PAGE], ["cursor", cursor]])}`);
      addRows(next.items);
      cursor = next.next;
      more.hidden = !cursor;
    });
    out.push(summary, table, more);
  } catch (err) {
    if (err.status === 401) throw err;
    out.push(errorBox(err));
  }
  return out;
}
