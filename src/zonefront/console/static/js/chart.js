// A line chart as inline SVG (no library, nothing fetched): series of
// [time ms, value] points, one polyline each, with a text summary for
// screen readers.
import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const s = (tag, attrs, ...kids) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...kids);
  return el;
};

export function lineChart(title, series, unit = "") {
  const W = 600, H = 180, P = 34;
  const pts = series.flatMap((x) => x.points);
  const fig = h("figure", { class: "chart" });
  fig.append(h("figcaption", {}, title));
  if (!pts.length) {
    fig.append(h("p", { class: "empty" }, "No data yet."));
    return fig;
  }
  const t0 = Math.min(...pts.map((p) => p[0])), t1 = Math.max(...pts.map((p) => p[0]), t0 + 1);
  const vmax = Math.max(...pts.map((p) => p[1]), 1e-9) * 1.1;
  const x = (t) => P + ((t - t0) / (t1 - t0)) * (W - 2 * P);
  const y = (v) => H - P + 10 - (v / vmax) * (H - P - 10);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  svg.append(s("line", { x1: P, y1: y(0), x2: W - P, y2: y(0), class: "axis" }));
  svg.append(s("text", { x: 2, y: y(vmax / 1.1) + 4, class: "tick" }, `${+(vmax / 1.1).toPrecision(3)}${unit}`));
  svg.append(s("text", { x: 2, y: y(0), class: "tick" }, `0${unit}`));
  series.forEach((ser, i) => {
    svg.append(s("polyline", { class: `line c${i % 6}`, fill: "none",
      points: ser.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ") }));
  });
  fig.append(svg);
  fig.append(h("ul", { class: "legend" }, series.map((ser, i) => {
    const last = ser.points.length ? ser.points[ser.points.length - 1][1] : null;
    return h("li", { class: `c${i % 6}` }, `${ser.name}: ${last === null ? "-" : +last.toPrecision(4)}${unit}`);
  })));
  return fig;
}
