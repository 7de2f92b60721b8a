// The network map: map.json (nodes as Points, links as LineStrings in model
// coordinates) drawn on a <canvas>, nodes coloured by their value (pressure),
// with hover details, wheel/pinch-free zoom buttons, drag to pan, double-click to reset.

import { h } from "../core/dom.js";
import { t } from "../core/i18n.js";
import { formatValue } from "../core/results.js";

// Low values red (poor pressure), high values blue.
const STOPS = [[215, 48, 39], [252, 141, 89], [254, 224, 139], [145, 191, 219], [69, 117, 180]];

export function colorAt(fraction) {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0.5)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(f));
  const local = f - i;
  const c = STOPS[i].map((v, k) => Math.round(v + (STOPS[i + 1][k] - v) * local));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export class NetworkMap {
  constructor() {
    this.canvas = h("canvas", { role: "img", "aria-label": t("net.map_label"), "data-testid": "network-map" });
    this.tip = h("div", { class: "map-tip", hidden: true });
    this.el = h("div", { class: "map-wrap" }, this.canvas, this.tip);
    this.legend = h("div", { class: "legend" });
    this.view = { scale: 1, dx: 0, dy: 0 };
    this.features = { nodes: [], links: [] };
    this.bindEvents();
    new ResizeObserver(() => this.draw()).observe(this.el);
  }

  /**
   * Show a FeatureCollection.  Nodes are coloured by their value (low = red); when only links
   * carry values (velocity) the links are coloured instead, high = red.  `unit` labels the legend.
   */
  setData(collection, { valueLabel = "", unit = "", highIsBad = false, categories = null, marks = null } = {}) {
    const features = (collection && collection.features) || [];
    this.features = {
      nodes: features.filter((f) => f.geometry && f.geometry.type === "Point"),
      links: features.filter((f) => f.geometry && f.geometry.type === "LineString"),
    };
    this.linkMode = !collection.node_value_range && Boolean(collection.link_value_range);
    this.range = this.linkMode ? collection.link_value_range : collection.node_value_range || this.valueRange();
    this.valueLabel = valueLabel;
    this.unit = unit;
    // highIsBad: nodes with high values red (water age, pressure drop); categories: {legend: [{color, label}],
    // nodes: {name: color}, links: {name: color}} colours named elements instead of a value scale.
    this.highIsBad = highIsBad;
    this.categories = categories;
    // marks: {links|nodes: {name: color}, legend: [{color, label}]} picks out a few elements (closed pipes, the leak)
    // on top of a value scale.
    this.marks = marks;
    this.bounds = this.computeBounds();
    this.view = { scale: 1, dx: 0, dy: 0 };
    this.renderLegend();
    this.draw();
  }

  valueRange() {
    const values = this.features.nodes.map((f) => f.properties.value).filter((v) => typeof v === "number");
    return values.length ? [Math.min(...values), Math.max(...values)] : null;
  }

  computeBounds() {
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    const add = ([x, y]) => {
      if (typeof x !== "number" || typeof y !== "number") return;
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    };
    this.features.nodes.forEach((f) => add(f.geometry.coordinates));
    this.features.links.forEach((f) => f.geometry.coordinates.forEach(add));
    if (!Number.isFinite(minX)) return null;
    return { minX, minY, maxX, maxY };
  }

  /** Model coordinates → canvas pixels (y up in the model, down on screen). */
  transform() {
    const { width, height } = this.size;
    const b = this.bounds;
    const pad = 24;
    const spanX = Math.max(b.maxX - b.minX, 1e-9);
    const spanY = Math.max(b.maxY - b.minY, 1e-9);
    const base = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
    const k = base * this.view.scale;
    const ox = (width - spanX * k) / 2 + this.view.dx;
    const oy = (height - spanY * k) / 2 + this.view.dy;
    return ([x, y]) => [ox + (x - b.minX) * k, height - (oy + (y - b.minY) * k)];
  }

  draw() {
    const rect = this.el.getBoundingClientRect();
    if (!rect.width || !rect.height) return;
    const ratio = window.devicePixelRatio || 1;
    this.size = { width: rect.width, height: rect.height };
    this.canvas.width = Math.round(rect.width * ratio);
    this.canvas.height = Math.round(rect.height * ratio);
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, rect.width, rect.height);
    if (!this.bounds) {
      ctx.fillStyle = "#5f6f80";
      ctx.font = "14px sans-serif";
      ctx.fillText(t("net.map_no_coordinates"), 16, 28);
      return;
    }
    const map = this.transform();
    ctx.lineCap = "round";
    for (const link of this.features.links) {
      const pts = link.geometry.coordinates.map(map);
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      const { type, value, name } = link.properties;
      const category = (this.categories && this.categories.links && this.categories.links[name])
        || (this.marks && this.marks.links && this.marks.links[name]);
      if (category) {
        ctx.strokeStyle = category;
        ctx.lineWidth = 4;
      } else if (this.categories) {
        ctx.strokeStyle = "#c5d0dc";
        ctx.lineWidth = type === "Pipe" ? 1.5 : 2.5;
      } else if (this.linkMode && typeof value === "number") {
        ctx.strokeStyle = colorAt(1 - this.fraction(value));
        ctx.lineWidth = 3.5;
      } else {
        ctx.strokeStyle = type === "Pump" ? "#8e24aa" : type === "Valve" ? "#00838f" : "#8fa3b8";
        ctx.lineWidth = type === "Pipe" ? 2 : 3;
      }
      ctx.stroke();
    }
    this.screen = [];
    // Nodes an overlay names are drawn last and larger, so a tank beside them cannot hide them.
    const named = (node) => Boolean(this.categories && this.categories.nodes && this.categories.nodes[node.properties.name]);
    const nodes = this.categories ? [...this.features.nodes].sort((a, b) => named(a) - named(b)) : this.features.nodes;
    for (const node of nodes) {
      const [x, y] = map(node.geometry.coordinates);
      const p = node.properties;
      const fraction = !this.linkMode && typeof p.value === "number" ? this.fraction(p.value) : NaN;
      const category = this.categories && this.categories.nodes && this.categories.nodes[p.name];
      if (this.categories && !category && p.type === "Junction") continue;  // only the named nodes (and sources) matter
      const mark = this.marks && this.marks.nodes && this.marks.nodes[p.name];
      ctx.fillStyle = category || (Number.isNaN(fraction) ? "#b0bec5" : colorAt(this.highIsBad ? 1 - fraction : fraction));
      ctx.strokeStyle = mark || "#1d2733";
      ctx.lineWidth = mark ? 3 : 0.8;
      ctx.beginPath();
      if (p.type === "Tank") ctx.rect(x - 6, y - 6, 12, 12);
      else if (p.type === "Reservoir") {
        ctx.moveTo(x, y - 7); ctx.lineTo(x + 7, y + 6); ctx.lineTo(x - 7, y + 6); ctx.closePath();
      } else ctx.arc(x, y, category || mark ? 7 : 4.5, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
      this.screen.push({ x, y, node });
    }
  }

  /** Where `value` sits in the colour range, 0..1. */
  fraction(value) {
    return this.range ? (value - this.range[0]) / Math.max(this.range[1] - this.range[0], 1e-9) : NaN;
  }

  renderLegend() {
    this.legend.replaceChildren();
    if (this.categories) {
      this.appendSwatches(this.categories.legend || []);
      this.legend.append(h("span", { class: "muted", i18n: "net.map_shapes" }));
      return;
    }
    if (!this.range) {
      this.legend.append(h("span", { i18n: "net.map_no_values" }));
      return;
    }
    const bar = h("canvas", { width: 180, height: 10, "aria-hidden": "true" });
    const ctx = bar.getContext("2d");
    for (let x = 0; x < 180; x += 1) {
      ctx.fillStyle = colorAt(this.linkMode || this.highIsBad ? 1 - x / 179 : x / 179);
      ctx.fillRect(x, 0, 1, 10);
    }
    this.legend.append(h("span", { text: this.valueLabel }), h("span", { text: formatValue(this.range[0]) }), bar,
      h("span", { text: `${formatValue(this.range[1])} ${this.unit}` }));
    this.appendSwatches((this.marks && this.marks.legend) || []);
    this.legend.append(h("span", { class: "muted", i18n: "net.map_shapes" }));
  }

  appendSwatches(items) {
    for (const item of items) {
      const swatch = h("span", { class: "swatch" });
      swatch.style.background = item.color;  // through CSSOM: CSP forbids style attributes
      this.legend.append(h("span", { class: "swatch-item" }, swatch, h("span", { text: item.label })));
    }
  }

  nearest(px, py) {
    let best = null;
    let bestDist = 12 * 12;
    for (const item of this.screen || []) {
      const d = (item.x - px) ** 2 + (item.y - py) ** 2;
      if (d < bestDist) {
        best = item;
        bestDist = d;
      }
    }
    return best;
  }

  bindEvents() {
    let drag = null;
    this.canvas.addEventListener("pointerdown", (ev) => {
      drag = { x: ev.clientX, y: ev.clientY, dx: this.view.dx, dy: this.view.dy };
      this.canvas.setPointerCapture(ev.pointerId);
    });
    this.canvas.addEventListener("pointerup", () => { drag = null; });
    this.canvas.addEventListener("pointermove", (ev) => {
      const rect = this.canvas.getBoundingClientRect();
      if (drag) {
        this.view.dx = drag.dx + (ev.clientX - drag.x);
        this.view.dy = drag.dy - (ev.clientY - drag.y);
        this.draw();
        return;
      }
      const hit = this.nearest(ev.clientX - rect.left, ev.clientY - rect.top);
      if (!hit) {
        this.tip.hidden = true;
        return;
      }
      const p = hit.node.properties;
      this.tip.textContent = `${p.type} ${p.name}` + (typeof p.value === "number" ? ` · ${formatValue(p.value)} ${this.unit}` : "");
      this.tip.hidden = false;
      // Position through CSSOM (not a style attribute): allowed by the page's CSP.
      this.tip.style.left = `${Math.min(hit.x + 10, rect.width - 160)}px`;
      this.tip.style.top = `${Math.max(hit.y - 30, 4)}px`;
    });
    this.canvas.addEventListener("pointerleave", () => { this.tip.hidden = true; });
    this.canvas.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      this.view.scale = Math.min(40, Math.max(0.5, this.view.scale * (ev.deltaY < 0 ? 1.2 : 1 / 1.2)));
      this.draw();
    }, { passive: false });
    this.canvas.addEventListener("dblclick", () => {
      this.view = { scale: 1, dx: 0, dy: 0 };
      this.draw();
    });
  }

  /** Node and link names, for the element pickers. */
  names() {
    return {
      nodes: this.features.nodes.map((f) => f.properties.name),
      junctions: this.features.nodes.filter((f) => f.properties.type === "Junction").map((f) => f.properties.name),
      links: this.features.links.map((f) => f.properties.name),
    };
  }
}
