// The planner's workbench page: plain JavaScript, no build step, no network beyond this server.
"use strict";
const LANG = document.body.dataset.lang === "en" ? "en" : "zh";
const TEXT = {
  zh: {title: "生活圈规划工作台", kind: "设施类型", undo: "撤销", redo: "重做", suggest: "推荐选址",
       suggestN: "个数", export: "导出情景", coverage: "步行覆盖率", targets: "规划目标",
       metrics: "指标", edits: "本情景的改动", value: "现状", target: "目标", gap: "差距",
       status: "状态", change: "变化", met: "达标", "not met": "未达标", assumed: "（含假设）",
       "not measured": "未测量", hint: "点击地图新增所选类型的设施；点击已有设施将其关闭。",
       within: "阈值内", twice: "阈值至两倍", beyond: "更远", unreachable: "不可达",
       added: "新增", closed: "关闭", accept: "采纳此选址", working: "计算中…",
       ready: "就绪", newName: "新建", moved: "移动",
       hintDrag: "拖动设施可移动它（关闭后在新位置新增，一步可撤销）。",
       layerCells: "人口网格（步行距离）", layerCatchments: "服务范围（最近设施）",
       layerCircles: "服务圈（步行可达）", layerFacilities: "设施", water: "水系",
       rail: "铁路", streets: "街道", labels: "路名与地名"},
  en: {title: "Life-circle planning workbench", kind: "Kind", undo: "Undo", redo: "Redo",
       suggest: "Suggest sites", suggestN: "how many", export: "Export scenario",
       coverage: "Walk coverage", targets: "Targets", metrics: "Metrics", edits: "Edits",
       value: "value", target: "target", gap: "gap", status: "status", change: "change",
       met: "met", "not met": "not met", assumed: " (assumed)", "not measured": "not measured",
       hint: "Click the map to add a facility of the chosen kind; click a facility to close it.",
       within: "within threshold", twice: "up to twice", beyond: "farther",
       unreachable: "unreachable", added: "add", closed: "close", accept: "Accept this site",
       working: "computing…", ready: "ready", newName: "New ", moved: "move",
       hintDrag: "Drag a facility to move it (closed, then added at the new point: one undo).",
       layerCells: "Population cells (walking distance)",
       layerCatchments: "Catchments (nearest facility)",
       layerCircles: "Service circles (walkable area)", layerFacilities: "Facilities",
       water: "Water", rail: "Railways", streets: "Streets", labels: "Street and place names"},
}[LANG];
const COLOURS = {within: "#2e7d32", twice: "#f9a825", beyond: "#c62828", unreachable: "#9e9e9e"};

let layers, kind, history = [[]], cursor = 0, answer = null, baseline = null;
const map = L.map("map", {preferCanvas: true});
// the offline basemap under the analysis (its own pane and canvas), its labels above the cells
map.createPane("base").style.zIndex = 250;
map.createPane("labels").style.zIndex = 450;
map.getPane("labels").style.pointerEvents = "none";
const baseRenderer = L.canvas({pane: "base"});
const base = {};
const cellLayer = L.layerGroup().addTo(map);
const catchmentLayer = L.geoJSON(null, {interactive: false, style: () => (
  {color: "#263238", weight: 1.4, opacity: 0.8, fill: false})}).addTo(map);
const circleLayer = L.geoJSON(null, {interactive: false, style: () => (
  {color: "#1565c0", weight: 0.8, opacity: 0.6, fillColor: "#64b5f6", fillOpacity: 0.18})});
const facilityLayer = L.layerGroup().addTo(map);
const proposalLayer = L.layerGroup().addTo(map);
let cellRects = [];

function $(id) { return document.getElementById(id); }
function say(text) { $("status").textContent = text; }
function kindLabel(k) { return layers.kinds[k] ? layers.kinds[k]["label_" + LANG] : k; }
function metricLabel(m) { return layers.labels[m] ? layers.labels[m][LANG] : m; }
function fmt(v, unit) {
  if (v === null || v === undefined) return "—";
  if (unit === "count") return String(v);
  return unit === "share" ? (100 * v).toFixed(2) + " %" : Number(v).toFixed(2);
}

async function api(path, body) {
  const options = body === undefined ? {} : {method: "POST", body: JSON.stringify(body),
                                             headers: {"content-type": "application/json"}};
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function interventions() { return history[cursor]; }

async function apply(items) {
  say(TEXT.working);
  try {
    answer = await api("/api/scenario", {interventions: items});
    await redraw();
    say(TEXT.ready);
    return true;
  } catch (error) { say(error.message); return false; }
}

async function edit(...items) {
  // one history step per user action (a move is a close and an add, undone together)
  const saved = [history, cursor];
  history = history.slice(0, cursor + 1).concat([interventions().concat(items)]);
  cursor += 1;
  if (!await apply(interventions())) {
    [history, cursor] = saved;
    redraw().catch(() => drawPanel());  // a refused move puts the marker back
  }
}

async function move(step) {
  const target = cursor + step;
  if (target < 0 || target >= history.length) return;
  cursor = target;
  if (!await apply(interventions())) { cursor -= step; drawPanel(); }
}

function colourOf(d, threshold) {
  if (d < 0) return COLOURS.unreachable;
  if (d <= threshold) return COLOURS.within;
  return d <= 2 * threshold ? COLOURS.twice : COLOURS.beyond;
}

async function redraw() {
  const view = await api("/api/view?kind=" + encodeURIComponent(kind));
  const threshold = view.threshold_m;
  cellRects.forEach((rect, i) => {
    const d = view.distances ? view.distances[i] : -1;
    rect.setStyle({fillColor: colourOf(d, threshold)});
  });
  catchmentLayer.clearLayers();
  if (view.catchments) catchmentLayer.addData(view.catchments);
  circleLayer.clearLayers();
  if (view.circles) circleLayer.addData(view.circles);
  facilityLayer.clearLayers();
  for (const f of view.facilities) {
    if (f.kind !== kind) continue;
    const added = f.source === "scenario";
    const marker = L.marker([f.lat, f.lon], {
      draggable: true, autoPan: true, bubblingMouseEvents: false, title: f.name || f.id,
      icon: L.divIcon({className: added ? "facility added" : "facility",
                       iconSize: added ? [16, 16] : [13, 13]}),
    }).bindTooltip(`${f.name || f.id} (${kindLabel(f.kind)})`);
    marker.on("click", (event) => {
      L.DomEvent.stopPropagation(event);
      edit({close: {id: f.id}});
    });
    marker.facility = f;  // read by the browser tests
    marker.on("dragend", () => moveFacility(f, marker.getLatLng()));
    marker.addTo(facilityLayer);
  }
  drawPanel();
}

function moveFacility(f, latlng) {
  // a move = close the facility + add the same facility (name, capacity, size) at the new point
  const add = {kind: f.kind, name: f.name || f.id,
               lon: Number(latlng.lng.toFixed(6)), lat: Number(latlng.lat.toFixed(6))};
  if (f.capacity !== null) add.capacity = f.capacity;
  if (f.size_m2 !== null) add.size_m2 = f.size_m2;
  else if (f.kind === "park") add.size_m2 = 5000;  // a park needs a size (assumption)
  return edit({close: {id: f.id}}, {add});
}

function drawPanel() {
  findMoves();
  const id = "walk_coverage." + kind;
  const metric = answer.metrics[id];
  const value = metric ? metric.value : null;
  $("coverage-value").textContent = `${kindLabel(kind)} ${fmt(value, "share")}`;
  $("coverage-value").dataset.value = value === null ? "" : String(value);
  const change = answer.changes[id];
  $("coverage-change").textContent = change ? `${change > 0 ? "+" : ""}${(100 * change).toFixed(2)} pt` : "";
  $("coverage-change").className = change > 0 ? "up" : change < 0 ? "down" : "";
  const rows = answer.targets.filter((t) => t.metric).map((t) => {
    const status = t.status === "met" ? "met" : t.status === "not met" ? "notmet" : "none";
    const unit = answer.metrics[t.metric] ? answer.metrics[t.metric].unit : "";
    return `<tr><td title="${t.id}">${metricLabel(t.metric)}</td><td>${fmt(t.value, unit)}</td>` +
      `<td>${t.comparator} ${fmt(t.target, unit)}</td><td>${fmt(t.gap, unit)}</td>` +
      `<td class="${status}">${TEXT[t.status] || t.status}${t.assumed ? TEXT.assumed : ""}</td></tr>`;
  });
  $("targets").innerHTML = `<tr><th></th><th>${TEXT.value}</th><th>${TEXT.target}</th>` +
    `<th>${TEXT.gap}</th><th>${TEXT.status}</th></tr>` + rows.join("");
  const metricRows = Object.entries(answer.metrics).filter(([, m]) => m.unit !== "none")
    .map(([mid, m]) => {
      const c = answer.changes[mid];
      const cls = c > 0 ? "up" : c < 0 ? "down" : "";
      return `<tr data-metric="${mid}"><td>${metricLabel(mid)}</td><td>${fmt(m.value, m.unit)}</td>` +
        `<td class="${cls}">${c ? fmt(c, m.unit) : ""}</td></tr>`;
    });
  $("metrics").innerHTML = `<tr><th></th><th>${TEXT.value}</th><th>${TEXT.change}</th></tr>` +
    metricRows.join("");
  const items = interventions();
  $("edits").innerHTML = items.map((i, n) => {
    const next = items[n + 1], prev = items[n - 1];
    if (i.close && next && next.add && movedPairs.has(n)) return "";
    const where = i.add ? `${i.add.lat.toFixed(5)}, ${i.add.lon.toFixed(5)}` : "";
    if (i.add && prev && movedPairs.has(n - 1))
      return `<li>${TEXT.moved} ${escapeHtml(i.add.name)} → ${where}</li>`;
    return i.add ? `<li>${TEXT.added} ${kindLabel(i.add.kind)} ${where}</li>` :
      `<li>${TEXT.closed} ${escapeHtml(i.close ? (i.close.id || i.close.name || i.close.kind) : "grow")}</li>`;
  }).join("");
  $("undo").disabled = cursor === 0;
  $("redo").disabled = cursor === history.length - 1;
}

function escapeHtml(text) {
  const el = document.createElement("span");
  el.textContent = String(text);
  return el.innerHTML;
}

// positions (in the intervention list) of closes that start a move: a close followed by an add
// of the same kind in the same history step
let movedPairs = new Set();
function findMoves() {
  movedPairs = new Set();
  for (let step = 1; step <= cursor; step += 1) {
    const before = history[step - 1].length, now = history[step];
    if (now.length === before + 2 && now[before].close && now[before + 1].add) movedPairs.add(before);
  }
}

async function drawBasemap() {
  const data = await api("/api/basemap");
  if (!data.styles) return;
  const lines = (fc, style) => L.geoJSON(fc, {renderer: baseRenderer, pane: "base",
                                              interactive: false, style: () => style});
  if (data.water_areas) {
    base.water = L.layerGroup([
      lines(data.water_areas, {color: data.styles.water, weight: 0, fillColor: data.styles.water,
                               fillOpacity: 0.75}),
      lines(data.water_lines, {color: data.styles.water_line, weight: 2, opacity: 0.9})]);
  }
  if (data.rail) base.rail = lines(data.rail, {color: data.styles.rail, weight: 1.6,
                                               dashArray: "6 4", opacity: 0.9});
  if (data.streets) {
    base.streets = L.layerGroup(Object.entries(data.streets).map(([cls, fc]) => lines(fc, {
      color: data.styles.streets[cls].colour, weight: data.styles.streets[cls].weight,
      opacity: 0.9, lineCap: "round"})));
  }
  // the minor labels (short streets, neighbourhoods) would crowd a district-wide view
  const labels = (data["labels_" + LANG] || []).filter((l) => !l[4]);
  if (labels.length) {
    base.labels = L.layerGroup(labels.map(([lat, lon, html, size]) => L.marker([lat, lon], {
      pane: "labels", interactive: false, keyboard: false,
      icon: L.divIcon({className: "base-label base-label-" + size, iconSize: null,
                       html: `<span>${html}</span>`})})));
  }
  for (const group of Object.values(base)) group.addTo(map);
}

function newFacility(latlng) {
  const n = interventions().filter((i) => i.add).length + 1;
  const add = {kind, name: `${TEXT.newName}${kindLabel(kind)} ${n}`,
               lon: Number(latlng.lng.toFixed(6)), lat: Number(latlng.lat.toFixed(6))};
  if (kind === "park") add.size_m2 = 5000;  // a park needs a size for its tier (assumption)
  return {add};
}

async function suggest() {
  say(TEXT.working);
  proposalLayer.clearLayers();
  try {
    const report = await api("/api/site", {kind, add: Number($("suggest-n").value)});
    for (const s of report.sites) {
      const marker = L.circleMarker([s.lat, s.lon], {radius: 9, color: "#6a1b9a", weight: 3,
                                                      fillOpacity: 0.2, bubblingMouseEvents: false});
      const button = document.createElement("button");
      button.textContent = `${TEXT.accept} (#${s.order})`;
      button.onclick = () => {
        proposalLayer.removeLayer(marker);
        edit(newFacility({lat: s.lat, lng: s.lon}));
      };
      marker.bindPopup(button).addTo(proposalLayer);
    }
    say(TEXT.ready);
  } catch (error) { say(error.message); }
}

async function start() {
  document.title = TEXT.title;
  $("title").textContent = TEXT.title;
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = TEXT[el.dataset.t]; });
  layers = await api("/api/layers");
  baseline = await api("/api/baseline");
  await drawBasemap();
  const select = $("kind");
  for (const k of Object.keys(layers.kinds)) select.add(new Option(kindLabel(k), k));
  kind = layers.kinds.primary_school ? "primary_school" : Object.keys(layers.kinds)[0];
  select.value = kind;
  select.onchange = () => { kind = select.value; proposalLayer.clearLayers(); redraw(); };
  cellRects = layers.cells.map(([cs, cw, cn, ce]) => L.rectangle([[cs, cw], [cn, ce]], {
    stroke: false, fillOpacity: 0.55, interactive: false}).addTo(cellLayer));
  const [s, w, n, e] = layers.bounds;
  map.fitBounds(cellRects.length ? L.featureGroup(cellRects).getBounds() : [[s, w], [n, e]]);
  L.rectangle([[s, w], [n, e]], {fill: false, color: "#555", weight: 1, dashArray: "4 4",
                                  interactive: false}).addTo(map);
  $("legend").innerHTML = ["within", "twice", "beyond", "unreachable"].map((k) =>
    `<span class="legend-swatch" style="background:${COLOURS[k]}"></span>${TEXT[k]}`).join("");
  const overlays = {[TEXT.layerCells]: cellLayer, [TEXT.layerCatchments]: catchmentLayer,
                    [TEXT.layerCircles]: circleLayer, [TEXT.layerFacilities]: facilityLayer};
  for (const [key, group] of Object.entries(base)) overlays[TEXT[key]] = group;
  L.control.layers(null, overlays, {collapsed: true}).addTo(map);
  map.on("click", (event) => edit(newFacility(event.latlng)));
  $("undo").onclick = () => move(-1);
  $("redo").onclick = () => move(1);
  $("suggest").onclick = suggest;
  $("export").onclick = () => { window.location.href = "/api/export"; };
  await apply([]);
  document.body.dataset.ready = "1";
}

// for tests and the console
window.workbench = {map, edit, apply, moveFacility, base,
                    layers: {cells: cellLayer, catchments: catchmentLayer, circles: circleLayer,
                             facilities: facilityLayer}};
start();
