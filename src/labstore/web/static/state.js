// What the pages share: who is logged in, the schema, and moving to another page.

import { ApiError, get } from "./api.js";

const state = { me: undefined, models: null };

export async function whoAmI() {
  if (state.me === undefined) {
    try {
      state.me = await get("/api/me");
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      state.me = null;
    }
  }
  return state.me;
}

// The schema, as {key: model} with each model's children (relations pointing at it).
export async function models() {
  if (!state.models) {
    const schema = await get("/api/models");
    const byKey = {};
    for (const pack of schema.packs) for (const m of pack.models) byKey[m.key] = { ...m, children: [] };
    for (const m of Object.values(byKey)) {
      for (const rel of m.relations) {
        rel.targetKey = rel.target.includes("/") ? rel.target : `${m.pack}/${rel.target}`;
        // Relations marked not to browse (an odML section to every recording it describes)
        // would list half the database under one object.
        if (rel.browse === false) continue;
        byKey[rel.targetKey]?.children.push(
          { model: m.key, relation: rel.name, plural: rel.plural || `${m.name}s` });
      }
    }
    state.models = { byKey, common: schema.common_fields, packs: schema.packs };
  }
  return state.models;
}

// A new page without reloading; app.js draws it.
export function navigate(href) {
  history.pushState(null, "", href);
  window.dispatchEvent(new Event("labstore:navigate"));
}

export function forgetMe() {
  state.me = undefined;
}

