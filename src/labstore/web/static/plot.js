// Array fields drawn on a <canvas> from min/max envelopes: the browser never gets the whole
// array, only as many (min, max) pairs as the canvas has pixels, for the range in view.
// Wheel zooms around the pointer, dragging pans; each change asks the server again.

import { get, h, qs } from "./api.js";

export function arrayPlot(location, field, value) {
  const canvas = h("canvas", { "aria-label": `plot of ${field}` });
  const status = h("span", {}, "loading…");
  const channelPicker = h("select", { title: "channel" });
  const box = h(
    "div",
    { class: "plot", dataset: { field } },
    canvas,
    h(
      "div",
      { class: "bar" },
      h("button", { type: "button", onclick: () => zoom(0.5, 0.5) }, "+"),
      h("button", { type: "button", onclick: () => zoom(2, 0.5) }, "−"),
      h("button", { type: "button", onclick: () => show(0, length) }, "reset"),
      channelPicker,
      status,
    ),
  );
  const shape = Array.isArray(value.shape) ? value.shape : [];
  const length = shape.length ? shape[0] : 0;
  const channels = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  if (channels > 1) {
    for (let c = 0; c < channels; c++) channelPicker.append(h("option", { value: c }, `channel ${c}`));
    channelPicker.addEventListener("change", () => show(view.start, view.stop));
  } else {
    channelPicker.hidden = true;
  }
  // Times of spikes or events: drawn as ticks along a time axis, not as a curve.
  const raster = shape.length === 1 && field === "times";
  const view = { start: 0, stop: length, data: null };
  let pending = 0;

  async function show(start, stop) {
    start = Math.max(0, Math.floor(start));
    stop = Math.min(length, Math.ceil(stop));
    if (stop - start < 2) return;
    view.start = start;
    view.stop = stop;
    const ticket = ++pending;
    const points = Math.max(16, Math.min(4000, canvas.clientWidth || 800));
    const params = { start, stop, points };
    if (channels > 1) params.channel = channelPicker.value || 0;
    try {
      const env = await get(`/api/${location}/arrays/${field}/envelope?${qs(params)}`);
      if (ticket !== pending) return; // a newer view was asked for meanwhile
      view.data = env;
      draw();
      status.textContent = `samples ${env.start} to ${env.stop} of ${env.length}` +
        ` (${env.min.length} points${env.unit ? ", " + env.unit : ""})`;
      box.dataset.ready = "1";
    } catch (err) {
      status.textContent = err.message;
      box.dataset.ready = "error";
    }
  }

  function draw() {
    const env = view.data;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth * ratio;
    const height = canvas.clientHeight * ratio;
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    const finite = (xs) => xs.filter((x) => x !== null && Number.isFinite(x));
    const lows = finite(env.min), highs = finite(env.max);
    if (!lows.length) return;
    let lo = Math.min(...lows), hi = Math.max(...highs);
    if (hi === lo) { hi += 1; lo -= 1; }
    if (raster) {
      drawTicks(ctx, env, lo, hi, width, height, ratio);
      return;
    }
    const pad = (hi - lo) * 0.05;
    const y = (v) => height - ((v - lo + pad) / (hi - lo + 2 * pad)) * height;
    const n = env.min.length;
    ctx.strokeStyle = "#2457c5";
    ctx.lineWidth = Math.max(1, ratio);
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (env.min[i] === null) continue;
      const x = ((i + 0.5) / n) * width;
      ctx.moveTo(x, y(env.min[i]));
      ctx.lineTo(x, y(env.max[i]) - 0.5);
      if (i + 1 < n && env.min[i + 1] !== null) {
        // join neighbouring buckets so a slow signal reads as a line, not dots
        ctx.lineTo(((i + 1.5) / n) * width, y(env.min[i + 1]));
      }
    }
    ctx.stroke();
    ctx.fillStyle = "#667085";
    ctx.font = `${11 * ratio}px system-ui`;
    ctx.fillText(hi.toPrecision(4), 4, 12 * ratio);
    ctx.fillText(lo.toPrecision(4), 4, height - 4);
  }

  // Each bucket's times span [min, max]: one tick when it holds one time, a bar when many.
  function drawTicks(ctx, env, lo, hi, width, height, ratio) {
    const x = (t) => ((t - lo) / (hi - lo)) * (width - 2 * ratio) + ratio;
    ctx.fillStyle = "#2457c5";
    for (let i = 0; i < env.min.length; i++) {
      if (env.min[i] === null) continue;
      const left = x(env.min[i]);
      ctx.fillRect(left, height * 0.2, Math.max(ratio, x(env.max[i]) - left), height * 0.6);
    }
    ctx.fillStyle = "#667085";
    ctx.font = `${11 * ratio}px system-ui`;
    ctx.fillText(lo.toPrecision(5), 4, height - 4);
    const right = hi.toPrecision(5);
    ctx.fillText(right, width - ctx.measureText(right).width - 4, height - 4);
  }

  function zoom(factor, at) {
    const span = view.stop - view.start;
    const centre = view.start + span * at;
    const next = Math.max(4, span * factor);
    show(centre - next * at, centre - next * at + next);
  }

  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const at = event.offsetX / canvas.clientWidth;
    zoom(event.deltaY < 0 ? 0.5 : 2, at);
  }, { passive: false });

  let drag = null;
  canvas.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, start: view.start, stop: view.stop };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointerup", (event) => {
    if (!drag) return;
    const span = drag.stop - drag.start;
    const shift = ((drag.x - event.clientX) / canvas.clientWidth) * span;
    const from = drag.start;
    drag = null;
    if (Math.abs(shift) >= 1) {
      const start = Math.min(Math.max(0, from + shift), length - span);
      show(start, start + span);
    }
  });

  // Asked for once the canvas is in the page and has a width (the page is built before it
  // is shown), and redrawn at each new size.
  new ResizeObserver(() => {
    if (!canvas.clientWidth) return;
    if (view.data) draw();
    else if (!pending) show(0, length);
  }).observe(canvas);
  return box;
}
