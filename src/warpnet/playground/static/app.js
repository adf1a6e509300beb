// warpnet playground page: sends settings and commands over a WebSocket, draws what the server's
// training session sends back. All names offered in the menus come from the server's registries.
// Text from the server or from files is only ever set with textContent (never parsed as HTML).
"use strict";

const COLORS = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [148, 103, 189], [214, 39, 40]];
const MAX_URL_POINTS = 2000; // edited point sets up to this size travel in the URL
const $ = (id) => document.getElementById(id);

const page = {
  ws: null,
  sid: null,
  choices: null,
  settings: null, // last settings the server confirmed
  points: [], // [[x, y, label, isTest], ...]
  custom: false,
  view: [-1, 1, -1, 1],
  nClasses: 2,
  running: false,
  update: null,
  history: [],
};

// ---------------------------------------------------------------------------------------------
// Errors and status

let errorTimer = null;
function showError(message) {
  $("error-text").textContent = String(message);
  $("error").hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => { $("error").hidden = true; }, 10000);
}

function showStatus() {
  const u = page.update;
  const where = u ? `step ${u.step} · epoch ${u.epoch}` : "step 0";
  $("status").textContent = `${where} · ${page.running ? "training" : "paused"}`;
  $("train-toggle").textContent = page.running ? "Pause" : "Start";
}

// ---------------------------------------------------------------------------------------------
// Settings <-> URL

function settingsToHash(s) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(s)) {
    params.set(key, Array.isArray(value) ? value.join(",") : String(value));
  }
  if (page.custom && page.points.length <= MAX_URL_POINTS) {
    params.set("pts", page.points.map((p) => p.join(",")).join(";"));
  }
  return "#" + params.toString();
}

// Settings from the URL hash, typed after the server's defaults; unknown keys are left out and
// the server validates the values (an error is shown and the defaults are used).
function settingsFromHash(defaults) {
  const params = new URLSearchParams(location.hash.slice(1));
  const s = {};
  for (const [key, fallback] of Object.entries(defaults)) {
    if (!params.has(key)) continue;
    const raw = params.get(key);
    if (Array.isArray(fallback)) {
      const items = raw === "" ? [] : raw.split(",");
      s[key] = key === "hidden" ? items.map(Number) : items;
    } else if (typeof fallback === "number") {
      s[key] = Number(raw);
    } else {
      s[key] = raw;
    }
  }
  let points = null;
  if (params.has("pts") && params.get("pts") !== "") {
    points = params.get("pts").split(";").map((row) => row.split(",").map(Number));
  }
  return { settings: s, points };
}

function updateUrl() {
  const hash = settingsToHash(page.settings);
  history.replaceState(null, "", hash);
  $("share-url").value = location.href;
  $("share-note").textContent = page.custom && page.points.length > MAX_URL_POINTS
    ? `The link holds the settings but not the ${page.points.length} edited points ` +
      `(at most ${MAX_URL_POINTS}); download them as CSV to share them.`
    : "";
}

// ---------------------------------------------------------------------------------------------
// Controls

function fillSelect(select, values, labels) {
  select.replaceChildren();
  values.forEach((value, i) => {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = labels ? labels[i] : String(value);
    select.appendChild(option);
  });
}

function buildChoices(choices) {
  fillSelect($("dataset"), Object.keys(choices.datasets));
  fillSelect($("loss"), choices.losses);
  fillSelect($("optimizer"), Object.keys(choices.optimizers));
  fillSelect($("warp_mode"), choices.warp_modes,
    choices.warp_modes.map((m) => (m === "pca" ? "2-D projection (PCA)" : "first two units")));
  $("layers").max = String(choices.limits.layers);
  $("points").max = String(choices.limits.points);
}

function layerRow(i, units, activation) {
  const row = document.createElement("div");
  row.className = "layer-row";
  const label = document.createElement("span");
  label.textContent = `Layer ${i + 1}`;
  const unitsInput = document.createElement("input");
  unitsInput.type = "number";
  unitsInput.min = "1";
  unitsInput.max = String(page.choices.limits.units);
  unitsInput.value = String(units);
  unitsInput.className = "units";
  unitsInput.dataset.testid = `units-${i}`;
  unitsInput.setAttribute("aria-label", `units in layer ${i + 1}`);
  const act = document.createElement("select");
  fillSelect(act, page.choices.activations);
  act.value = activation;
  act.className = "activation";
  act.dataset.testid = `activation-${i}`;
  act.setAttribute("aria-label", `activation of layer ${i + 1}`);
  unitsInput.addEventListener("change", configure);
  act.addEventListener("change", configure);
  row.append(label, unitsInput, act);
  return row;
}

// Show the server's settings in the controls, leaving alone the control the user is editing.
function setControl(id, value) {
  const el = $(id);
  if (el !== document.activeElement) el.value = String(value);
}

function showSettings(s) {
  setControl("dataset", s.dataset);
  fillSelect($("classes"), page.choices.datasets[s.dataset]);
  $("classes").value = String(s.classes);
  for (const key of ["noise", "points", "test_share", "seed", "l2", "dropout", "lr", "momentum", "batch"]) {
    setControl(key, s[key]);
  }
  setControl("loss", s.loss);
  setControl("optimizer", s.optimizer);
  $("momentum").disabled = !page.choices.optimizers[s.optimizer].momentum;
  setControl("layers", s.hidden.length);
  const shown = [...document.querySelectorAll("#layer-rows .layer-row")].map(
    (row) => `${row.querySelector(".units").value}:${row.querySelector(".activation").value}`);
  const wanted = s.hidden.map((u, i) => `${u}:${s.activations[i]}`);
  if (shown.join() !== wanted.join()) {
    $("layer-rows").replaceChildren(...s.hidden.map((u, i) => layerRow(i, u, s.activations[i])));
  }
  const layers = [0, ...s.hidden.map((_, i) => i + 1)];
  fillSelect($("warp_layer"), layers, layers.map((k) => (k === 0 ? "input (no layer)" : `hidden layer ${k}`)));
  $("warp_layer").value = String(s.warp_layer);
  $("warp_mode").value = s.warp_mode;
}

function showPointCount() {
  const test = page.points.filter((p) => p[3]).length;
  const custom = page.custom ? ", edited" : "";
  $("point-count").textContent =
    `${page.points.length} points (${page.points.length - test} train, ${test} test${custom})`;
}

function showClasses(n) {
  const previous = $("add-class").value;
  fillSelect($("add-class"), [...Array(n).keys()], [...Array(n).keys()].map((k) => `class ${k}`));
  if (previous !== "" && Number(previous) < n) $("add-class").value = previous;
}

// The settings as the controls show them now.
function readSettings() {
  const num = (id) => Number($(id).value);
  const hidden = [...document.querySelectorAll("#layer-rows .units")].map((el) => Number(el.value));
  const activations = [...document.querySelectorAll("#layer-rows .activation")].map((el) => el.value);
  const nLayers = Math.max(0, Math.min(page.choices.limits.layers, Math.round(num("layers")) || 0));
  while (hidden.length < nLayers) {
    hidden.push(hidden.length ? hidden[hidden.length - 1] : 8);
    activations.push(activations.length ? activations[activations.length - 1] : page.choices.activations[0]);
  }
  hidden.length = nLayers;
  activations.length = nLayers;
  const dataset = $("dataset").value;
  let classes = num("classes");
  if (!page.choices.datasets[dataset].includes(classes)) classes = page.choices.datasets[dataset][0];
  return {
    dataset, classes, noise: num("noise"), points: num("points"), test_share: num("test_share"),
    seed: num("seed"), hidden, activations, loss: $("loss").value, l2: num("l2"),
    dropout: num("dropout"), optimizer: $("optimizer").value, lr: num("lr"),
    momentum: num("momentum"), batch: num("batch"),
    warp_layer: Math.min(num("warp_layer"), nLayers), warp_mode: $("warp_mode").value,
  };
}

function send(message) {
  if (page.ws && page.ws.readyState === WebSocket.OPEN) page.ws.send(JSON.stringify(message));
}

function configure() {
  page.history = [];
  send({ type: "configure", settings: readSettings() });
}

// ---------------------------------------------------------------------------------------------
// Drawing

function decodeBytes(b64) {
  const text = atob(b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function toCanvas(canvas, x, y) {
  const [x0, x1, y0, y1] = page.view;
  return [((x - x0) / (x1 - x0)) * canvas.width, ((y1 - y) / (y1 - y0)) * canvas.height];
}

function drawPoint(ctx, px, py, label, isTest) {
  const [r, g, b] = COLORS[label % COLORS.length];
  ctx.beginPath();
  ctx.arc(px, py, isTest ? 4.5 : 4, 0, 2 * Math.PI);
  ctx.fillStyle = isTest ? "#ffffff" : `rgb(${r},${g},${b})`;
  ctx.fill();
  ctx.lineWidth = isTest ? 2.2 : 1;
  ctx.strokeStyle = isTest ? `rgb(${r},${g},${b})` : "#ffffff";
  ctx.stroke();
}

const heat = document.createElement("canvas");
function drawBoundary() {
  const canvas = $("boundary-canvas");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const grid = page.update && page.update.grid;
  if (grid) {
    const { size, classes } = grid;
    const probs = decodeBytes(grid.probs);
    heat.width = size;
    heat.height = size;
    const hctx = heat.getContext("2d");
    const image = hctx.createImageData(size, size);
    for (let cell = 0; cell < size * size; cell++) {
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < classes; k++) {
        const p = probs[cell * classes + k] / 255;
        r += p * COLORS[k][0]; g += p * COLORS[k][1]; b += p * COLORS[k][2];
      }
      // Blend towards white so the points stay readable on top.
      image.data[cell * 4] = 255 - 0.45 * (255 - r);
      image.data[cell * 4 + 1] = 255 - 0.45 * (255 - g);
      image.data[cell * 4 + 2] = 255 - 0.45 * (255 - b);
      image.data[cell * 4 + 3] = 255;
    }
    hctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heat, 0, 0, canvas.width, canvas.height);
  }
  for (const [x, y, label, isTest] of page.points) {
    const [px, py] = toCanvas(canvas, x, y);
    drawPoint(ctx, px, py, label, isTest);
  }
}

function drawWarp() {
  const canvas = $("warp-canvas");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const warp = page.update && page.update.warp;
  if (!warp) return;
  const pts = new Float32Array(decodeBytes(warp.points).buffer);
  const lines = new Float32Array(decodeBytes(warp.lines).buffer);
  // Fit the view to the points (the grid lines may reach far out; they are clipped).
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < pts.length; i += 2) {
    x0 = Math.min(x0, pts[i]); x1 = Math.max(x1, pts[i]);
    y0 = Math.min(y0, pts[i + 1]); y1 = Math.max(y1, pts[i + 1]);
  }
  const span = Math.max(x1 - x0, y1 - y0, 1e-6) * 1.15;
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const map = (x, y) => [((x - cx) / span + 0.5) * canvas.width, (0.5 - (y - cy) / span) * canvas.height];
  ctx.lineWidth = 1;
  ctx.strokeStyle = "rgba(60, 70, 90, 0.35)";
  for (let l = 0; l < warp.n_lines; l++) {
    ctx.beginPath();
    for (let s = 0; s < warp.per_line; s++) {
      const i = 2 * (l * warp.per_line + s);
      const [px, py] = map(lines[i], lines[i + 1]);
      if (s === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    }
    ctx.stroke();
  }
  for (let i = 0; i < warp.n_points && i < page.points.length; i++) {
    const [px, py] = map(pts[2 * i], pts[2 * i + 1]);
    drawPoint(ctx, px, py, page.points[i][2], page.points[i][3]);
  }
}

function drawCurves() {
  const canvas = $("curves-canvas");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const h = page.history;
  const half = canvas.height / 2;
  ctx.strokeStyle = "#d8dce4";
  ctx.beginPath(); ctx.moveTo(0, half); ctx.lineTo(canvas.width, half); ctx.stroke();
  if (h.length < 2) return;
  const maxLoss = Math.max(1e-6, ...h.map((r) => Math.max(r.trainLoss, r.testLoss ?? 0)));
  const series = [
    ["trainLoss", "#0877bd", (v) => half - 6 - (v / maxLoss) * (half - 12)],
    ["testLoss", "#f59322", (v) => half - 6 - (v / maxLoss) * (half - 12)],
    ["trainAcc", "#0877bd", (v) => canvas.height - 6 - v * (half - 12)],
    ["testAcc", "#f59322", (v) => canvas.height - 6 - v * (half - 12)],
  ];
  for (const [key, color, y] of series) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    const first = h[0].step, span = Math.max(1, h[h.length - 1].step - first);
    h.forEach((r) => {
      if (r[key] === null || r[key] === undefined) return;
      const px = ((r.step - first) / span) * canvas.width;  // x axis: training steps
      if (started) ctx.lineTo(px, y(r[key])); else ctx.moveTo(px, y(r[key]));
      started = true;
    });
    ctx.stroke();
  }
  ctx.fillStyle = "#5b6475";
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillText(`loss (max ${maxLoss.toFixed(3)})`, 4, 12);
  ctx.fillText("accuracy (0 to 100%)", 4, half + 12);
  ctx.textAlign = "right";
  ctx.fillText(`step ${h[h.length - 1].step}`, canvas.width - 4, canvas.height - 4);
  ctx.textAlign = "left";
}

function drawConfusion() {
  const table = $("confusion");
  const u = page.update;
  if (!u) { table.replaceChildren(); return; }
  const rows = [];
  const head = document.createElement("tr");
  head.appendChild(document.createElement("th"));
  u.confusion.forEach((_, k) => {
    const th = document.createElement("th");
    th.textContent = `pred ${k}`;
    head.appendChild(th);
  });
  rows.push(head);
  u.confusion.forEach((counts, k) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = `true ${k}`;
    tr.appendChild(th);
    counts.forEach((c, j) => {
      const td = document.createElement("td");
      td.textContent = String(c);
      if (j === k) td.style.fontWeight = "700";
      tr.appendChild(td);
    });
    rows.push(tr);
  });
  table.replaceChildren(...rows);
  $("confusion-caption").textContent =
    `Confusion matrix on the ${u.confusion_of} points (rows: true class, columns: predicted)`;
}

const percent = (m) => (m ? `${(100 * m.accuracy).toFixed(1)}%` : "–");
const lossText = (m) => (m ? m.loss.toFixed(4) : "–");

function showUpdate(u) {
  page.update = u;
  $("accuracy-train").textContent = percent(u.train);
  $("accuracy-test").textContent = percent(u.test);
  $("loss-value").textContent = lossText(u.train);
  $("test-loss").textContent = lossText(u.test);
  const last = page.history[page.history.length - 1];
  if (!last || last.step !== u.step) {
    page.history.push({
      step: u.step, trainLoss: u.train ? u.train.loss : null, testLoss: u.test ? u.test.loss : null,
      trainAcc: u.train ? u.train.accuracy : null, testAcc: u.test ? u.test.accuracy : null,
    });
    if (page.history.length > 600) page.history = page.history.filter((_, i) => i % 2 === 0);
  }
  draw();
  showStatus();
}

function draw() {
  drawBoundary();
  drawWarp();
  drawCurves();
  drawConfusion();
}

// ---------------------------------------------------------------------------------------------
// Messages from the server

function onMessage(event) {
  let msg;
  try {
    msg = JSON.parse(event.data);
  } catch (err) {
    showError("the server sent a message that is not JSON");
    return;
  }
  switch (msg.type) {
    case "welcome": {
      page.sid = msg.session;
      page.choices = msg.choices;
      buildChoices(msg.choices);
      const base = encodeURIComponent(page.sid);
      $("download-csv").href = `/api/session/${base}/points.csv`;
      $("download-model").href = `/api/session/${base}/model`;
      const { settings, points } = settingsFromHash(msg.choices.defaults);
      const message = { type: "configure", settings: { ...msg.choices.defaults, ...settings } };
      if (points) message.points = points;
      send(message);
      for (const id of ["train-toggle", "step", "reset"]) $(id).disabled = false;
      break;
    }
    case "state":
      page.settings = msg.settings;
      page.points = msg.points;
      page.custom = msg.custom;
      page.view = msg.view;
      page.nClasses = msg.n_classes;
      showSettings(msg.settings);
      showClasses(msg.n_classes);
      showPointCount();
      updateUrl();
      draw();
      break;
    case "update":
      showUpdate(msg);
      break;
    case "status":
      page.running = msg.running;
      showStatus();
      break;
    case "error":
      showError(msg.message);
      // Settings from a bad link were refused: start from the defaults instead.
      if (!page.settings && page.choices) send({ type: "configure", settings: page.choices.defaults });
      break;
    default:
      break;
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  page.ws = ws;
  ws.addEventListener("message", onMessage);
  ws.addEventListener("close", () => {
    page.running = false;
    for (const id of ["train-toggle", "step", "reset"]) $(id).disabled = true;
    $("status").textContent = "disconnected: reload the page to start a new session";
  });
}

// ---------------------------------------------------------------------------------------------
// Wiring

function onPlotClick(event) {
  const canvas = $("boundary-canvas");
  const [x0, x1, y0, y1] = page.view;
  // offsetX/Y are measured from the canvas's padding edge, i.e. inside its border.
  const x = x0 + (event.offsetX / canvas.clientWidth) * (x1 - x0);
  const y = y1 - (event.offsetY / canvas.clientHeight) * (y1 - y0);
  const removing = event.shiftKey || document.querySelector('input[name="click-mode"]:checked').value === "remove";
  if (removing) {
    send({ type: "remove_point", x, y, radius: 0.03 * (x1 - x0) });
  } else {
    send({ type: "add_point", x, y, label: Number($("add-class").value) });
  }
}

async function onUpload() {
  const file = $("upload").files[0];
  $("upload").value = "";
  if (!file || !page.sid) return;
  try {
    const response = await fetch(`/api/session/${encodeURIComponent(page.sid)}/points`, {
      method: "POST", body: file, headers: { "Content-Type": "text/csv" },
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({ error: response.statusText }));
      showError(`CSV upload failed: ${body.error}`);
    }
  } catch (err) {
    showError(`CSV upload failed: ${err}`);
  }
}

function init() {
  $("train-toggle").addEventListener("click", () => {
    send({ type: page.running ? "pause" : "start" });
  });
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => { page.history = []; send({ type: "reset" }); });
  $("error-close").addEventListener("click", () => { $("error").hidden = true; });
  for (const id of ["dataset", "classes", "noise", "points", "test_share", "seed", "layers", "loss",
    "l2", "dropout", "optimizer", "lr", "momentum", "batch"]) {
    $(id).addEventListener("change", configure);
  }
  for (const id of ["warp_layer", "warp_mode"]) {
    $(id).addEventListener("change", () => {
      const warp_layer = Number($("warp_layer").value);
      const warp_mode = $("warp_mode").value;
      page.settings = { ...page.settings, warp_layer, warp_mode };
      updateUrl();
      send({ type: "display", warp_layer, warp_mode });
    });
  }
  $("boundary-canvas").addEventListener("click", onPlotClick);
  $("upload").addEventListener("change", onUpload);
  $("share-url").addEventListener("focus", (e) => e.target.select());
  connect();
}

document.addEventListener("DOMContentLoaded", init);
