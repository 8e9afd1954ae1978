// Talking to /api and building DOM: everything the pages share.
// The login is an HttpOnly cookie the page cannot read; every call sends the web header, which
// the server requires on changes made with the cookie (another site's page cannot add it).

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const WEB_HEADER = { "X-Labstore-Web": "1" };

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { ...WEB_HEADER } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const answer = await fetch(path, init);
  if (answer.status === 204) return null;
  const data = await answer.json().catch(() => null);
  if (!answer.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(answer.status, err.message || `HTTP ${answer.status}`, err.code);
  }
  return data;
}

export const get = (path) => api("GET", path);

// h("a", {href: "/x"}, "text", child...): an element; strings become text nodes, never HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function errorBox(err) {
  return h("p", { class: "error", role: "alert" }, err.message || String(err));
}

// A query string from [[key, value], ...] or an object.
export function qs(params) {
  return new URLSearchParams(params).toString();
}

export const objectHref = (location) => `/objects/${location}`;

// How an object is named in lists: its name-like field, else its id.
export function title(obj) {
  for (const key of ["name", "nickname", "username", "title"]) {
    if (typeof obj[key] === "string" && obj[key]) return obj[key];
  }
  if (typeof obj.date === "string") return obj.number ? `${obj.date} #${obj.number}` : obj.date;
  return obj.id;
}
