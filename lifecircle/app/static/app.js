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
       ready: "就绪", newName: "新建"},
  en: {title: "Life-circle planning workbench", kind: "Kind", undo: "Undo", redo: "Redo",
       suggest: "Suggest sites", suggestN: "how many", export: "Export scenario",
       coverage: "Walk coverage", targets: "Targets", metrics: "Metrics", edits: "Edits",
       value: "value", target: "target", gap: "gap", status: "status", change: "change",
       met: "met", "not met": "not met", assumed: " (assumed)", "not measured": "not measured",
       hint: "Click the map to add a facility of the chosen kind; click a facility to close it.",
       within: "within threshold", twice: "up to twice", beyond: "farther",
       unreachable: "unreachable", added: "add", closed: "close", accept: "Accept this site",
       working: "computing…", ready: "ready", newName: "New "},
}[LANG];
const COLOURS = {within: "#2e7d32", twice: "#f9a825", beyond: "#c62828", unreachable: "#9e9e9e"};

let layers, kind, history = [[]], cursor = 0, answer = null, baseline = null;
const map = L.map("map", {preferCanvas: true});
const cellLayer = L.layerGroup().addTo(map);
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

async function edit(item) {
  const saved = [history, cursor];
  history = history.slice(0, cursor + 1).concat([interventions().concat([item])]);
  cursor += 1;
  if (!await apply(interventions())) { [history, cursor] = saved; drawPanel(); }
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
  facilityLayer.clearLayers();
  for (const f of view.facilities) {
    const chosen = f.kind === kind;
    if (!chosen) continue;
    const marker = L.circleMarker([f.lat, f.lon], {
      radius: f.source === "scenario" ? 8 : 6, weight: 2, color: "#0d47a1",
      fillColor: f.source === "scenario" ? "#ffeb3b" : "#42a5f5", fillOpacity: 1,
      bubblingMouseEvents: false,
    }).bindTooltip(`${f.name || f.id} (${kindLabel(f.kind)})`);
    marker.on("click", (event) => {
      L.DomEvent.stopPropagation(event);
      edit({close: {id: f.id}});
    });
    marker.addTo(facilityLayer);
  }
  drawPanel();
}

function drawPanel() {
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
  $("edits").innerHTML = interventions().map((i) => i.add ?
    `<li>${TEXT.added} ${kindLabel(i.add.kind)} ${i.add.lat.toFixed(5)}, ${i.add.lon.toFixed(5)}</li>` :
    `<li>${TEXT.closed} ${i.close ? (i.close.id || i.close.name || i.close.kind) : "grow"}</li>`).join("");
  $("undo").disabled = cursor === 0;
  $("redo").disabled = cursor === history.length - 1;
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
  map.on("click", (event) => edit(newFacility(event.latlng)));
  $("undo").onclick = () => move(-1);
  $("redo").onclick = () => move(1);
  $("suggest").onclick = suggest;
  $("export").onclick = () => { window.location.href = "/api/export"; };
  await apply([]);
  document.body.dataset.ready = "1";
}

window.workbench = {map, edit, apply};  // for tests and the console
start();
