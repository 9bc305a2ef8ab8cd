// Charts drawn here as SVG from the figures siyu computed: no chart library, no map tiles.
// Each chart is an image with a text alternative; the numbers are also in a table beside it.
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df", "#1b7c83", "#953800", "#57606a"];

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children.flat()) if (child) node.append(child instanceof Node ? child : String(child));
  return node;
}

function chart(width, height, label) {
  return s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart" },
    s("title", {}, label));
}

/** Horizontal bars, one per step, with each step's share of the one before. */
export function funnelChart(steps, label) {
  const width = 640, row = 34, height = steps.length * row + 10;
  const max = Math.max(1, ...steps.map((x) => x.count));
  const svg = chart(width, height, label);
  steps.forEach((step, i) => {
    const y = 5 + i * row;
    const w = Math.max(2, (step.count / max) * 360);
    const bar = s("g", { class: "bar", "data-step": step.key },
      s("title", {}, `${step.label}: ${step.count}`),
      s("text", { x: 120, y: y + 20, "text-anchor": "end", class: "axis" }, step.label),
      s("rect", { x: 130, y, width: w, height: row - 8, fill: COLORS[i % COLORS.length], rx: 3 }),
      s("text", { x: 136 + w, y: y + 20, class: "value" }, `${step.count}${step.rate ? `  (${step.rate})` : ""}`));
    svg.append(bar);
  });
  return svg;
}

/** One line per series over the days, with a legend. */
export function lineChart(days, series, label) {
  const width = 640, height = 240, left = 40, right = 10, top = 10, bottom = 40;
  const max = Math.max(1, ...series.flatMap((x) => x.values));
  const x = (i) => left + (days.length <= 1 ? 0 : (i / (days.length - 1)) * (width - left - right));
  const y = (v) => top + (1 - v / max) * (height - top - bottom);
  const svg = chart(width, height, label);
  svg.append(s("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), class: "axis-line" }));
  svg.append(s("text", { x: left - 4, y: y(max) + 4, "text-anchor": "end", class: "axis" }, max));
  svg.append(s("text", { x: left - 4, y: y(0), "text-anchor": "end", class: "axis" }, 0));
  [0, days.length - 1].forEach((i) => days[i] && svg.append(
    s("text", { x: x(i), y: height - bottom + 16, "text-anchor": i ? "end" : "start", class: "axis" }, days[i])));
  series.forEach((line, n) => {
    const color = COLORS[n % COLORS.length];
    const points = line.values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
    svg.append(s("polyline", { points, fill: "none", stroke: color, "stroke-width": 2, class: "series", "data-series": line.key },
      s("title", {}, `${line.label}: ${line.values.join(", ")}`)));
    svg.append(s("rect", { x: left + n * 100, y: height - 14, width: 10, height: 10, fill: color }));
    svg.append(s("text", { x: left + n * 100 + 14, y: height - 5, class: "axis" }, line.label));
  });
  return svg;
}

/** Groups by longitude and latitude (an equirectangular view fitted to them); each point
 *  links to its group, so the plot is walked with Tab as well. */
export function groupPlot(groups, tasks, label, limit) {
  const width = 640, height = 420, pad = 24;
  const points = [...groups.map((g) => [g.location.lng, g.location.lat]), ...tasks.map((t) => [t.lng, t.lat])];
  const svg = chart(width, height, label);
  if (!points.length) return svg;
  const lngs = points.map((p) => p[0]), lats = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...lngs), Math.max(...lngs), Math.min(...lats), Math.max(...lats)];
  const span = Math.max(x1 - x0, (y1 - y0) * 1.2, 0.01);
  const scale = (Math.min(width, height) - 2 * pad) / span;
  const px = (lng) => pad + (lng - x0) * scale;
  const py = (lat) => height - pad - (lat - y0) * scale;
  svg.append(s("rect", { x: 0, y: 0, width, height, class: "plot-bg" }));
  for (const task of tasks) {
    const [cx, cy] = [px(task.lng), py(task.lat)];
    svg.append(s("g", { class: "task" }, s("title", {}, `${task.city} ${task.detail}`),
      s("path", { d: `M${cx - 6} ${cy - 6} L${cx + 6} ${cy + 6} M${cx + 6} ${cy - 6} L${cx - 6} ${cy + 6}`, class: "task-mark" })));
  }
  for (const group of groups) {
    const fill = Math.min(1, group.member_count / limit);
    const color = fill >= 1 ? "#cf222e" : fill >= 0.8 ? "#bf8700" : "#2da44e";
    svg.append(s("a", { href: `#/groups/${encodeURIComponent(group.chat_id)}`, class: "point" },
      s("title", {}, `${group.name}（${group.city}）${group.member_count}/${limit}`),
      s("circle", { cx: px(group.location.lng), cy: py(group.location.lat), r: 6, fill: color })));
  }
  return svg;
}
