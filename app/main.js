// The page: wires the shell (toolbar, start screen, banner, progress, drop zone,
// theme) to the viewer, the renderer, the sidebar and the automation API.

import { installApi } from './api.js';
import { CATEGORIES } from './graph-view.js';
import { attachNavigation } from './input.js';
import { PALETTES, Renderer } from './renderer.js';
import { attachSearch } from './search.js';
import { Minimap } from './minimap.js';
import { hasGroups } from './module-view.js';
import { attachExportMenu, exportPNG, exportSVG } from './export.js';
import { ShareLink } from './share.js';
import { el, formatBytes, Sidebar } from './sidebar.js';
import { Viewer } from './viewer.js';

const $ = (id) => document.getElementById(id);
const ui = {
  canvas: $('graph'), start: $('start'), sidebar: $('sidebar'), sidebarBody: $('sidebar-body'),
  fileInput: $('file-input'), folderInput: $('folder-input'), banner: $('banner'), bannerText: $('banner-text'),
  progress: $('progress'), progressText: $('progress-text'), drop: $('drop-overlay'),
  modelName: $('model-name'), graphPath: $('graph-path'), examples: $('examples'), python: $('python-status'), legend: $('legend'),
};

let renderer;
try {
  renderer = new Renderer(ui.canvas);
} catch (error) {
  document.body.classList.add('no-webgl');
  ui.start.querySelector('.start-note').textContent = `This browser cannot draw graphs: ${error.message}`;
  throw error;
}
const sidebar = new Sidebar(ui.sidebarBody, {
  onTensor: (index) => viewer.parse.tensor(index, 256),
  onSelectValue: (v) => viewer.selectValueProducer(v),
  onOpenGraph: (i) => quietly(viewer.openGraph(i)),
});
let warningsDismissed = null;   // the document whose warnings the user closed
const viewer = new Viewer({ renderer, sidebar, onStatus: showStatus, onProgress: showProgress });
sidebar.tensorWorker = viewer.parse;   // tensor viewer (app/tensor-view.js) asks it for statistics, .npy
// --- shareable views (app/share.js): the address follows the view ---
const shareLink = new ShareLink(viewer);
renderer.addListener((what) => { if (what === 'view') shareLink.schedule(); });

// --- theme ---
const darkQuery = window.matchMedia('(prefers-color-scheme: dark)');
const storedTheme = () => { try { return localStorage.getItem('wetron-theme'); } catch { return null; } };
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  renderer.setTheme(theme);
  const p = PALETTES[theme];
  for (const c of CATEGORIES) document.documentElement.style.setProperty(`--cat-${c}`, p.categories[c]);
}
applyTheme(storedTheme() || (darkQuery.matches ? 'dark' : 'light'));
darkQuery.addEventListener('change', (e) => { if (!storedTheme()) applyTheme(e.matches ? 'dark' : 'light'); });
$('theme-toggle').addEventListener('click', () => {
  const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  try { localStorage.setItem('wetron-theme', next); } catch { /* private mode: not remembered */ }
  applyTheme(next);
});

// --- status, progress, errors ---
function showStatus() {
  const { status, error, doc } = viewer;
  document.body.classList.toggle('has-model', !!doc);
  ui.start.hidden = !!doc;
  // An error, else the open model's warnings (e.g. a companion file not given) until dismissed.
  const warnings = status !== 'error' && doc && doc !== warningsDismissed ? doc.model.warnings || [] : [];
  ui.banner.hidden = status !== 'error' && !warnings.length;
  ui.banner.classList.toggle('warning', !!warnings.length);
  ui.bannerText.textContent = error || warnings.join('\n');
  ui.modelName.textContent = doc ? doc.model.file || '' : '';
  // Inside a subgraph: where it hangs, and a way back up.
  const path = doc && viewer.graph !== 0 ? viewer.graphPath() : [];
  ui.graphPath.hidden = !path.length;
  ui.graphPath.replaceChildren(...path.flatMap((p) => [el('span', { class: 'sep', text: '›' }),
    el('a', { href: '#', text: p.name, onclick: (e) => { e.preventDefault(); quietly(viewer.openGraph(p.index)); } })]),
  el('button', { class: 'btn small', type: 'button', text: 'Up', title: 'Back to the enclosing graph',
    onclick: () => quietly(viewer.openParent()) }));
  ui.modelName.title = doc ? `${doc.model.format} · ${formatBytes(doc.model.size || 0)}` : '';
  showModulesToggle();   // module hierarchy
  shareLink.schedule();   // selection, graph or model changed
}
function showProgress(message) {
  ui.progress.hidden = message == null;
  ui.progressText.textContent = message || '';
}
function dismissBanner() {
  if (viewer.status === 'error') viewer.dismissError();
  else { warningsDismissed = viewer.doc; showStatus(); }
}
$('banner-close').addEventListener('click', dismissBanner);
$('progress-cancel').addEventListener('click', () => viewer.cancel());
viewer.ready().then((ms) => {
  ui.python.textContent = `Python ready (${(ms / 1000).toFixed(1)} s)`;
  ui.python.classList.add('ok');
}, (error) => {
  ui.python.textContent = error.message;
  ui.python.classList.add('bad');
});

// --- opening ---
// Several files (or a folder): the model is chosen by name alone, the same rule for
// every format: saved_model.pb (TensorFlow SavedModel), else model.json (TF.js), else
// a file with a model extension (.bin last: it is also ONNX external data and TF.js
// shards), largest first, else the largest file. Every other file is a companion,
// under its path relative to the model's folder (e.g. 'variables/variables.index')
// and under its base name.
const MODEL_EXTENSION = /\.(onnx|tflite|pt|pth|pt2|keras|h5|safetensors|gguf|pb)$/i;
const baseName = (path) => path.slice(path.lastIndexOf('/') + 1);
const folderOf = (path) => path.slice(0, path.lastIndexOf('/') + 1);
const depth = (path) => path.split('/').length;

function modelRank({ path }) {
  const name = baseName(path).toLowerCase();
  if (name === 'saved_model.pb') return 0;
  if (name === 'model.json') return 1;
  if (MODEL_EXTENSION.test(name)) return 2;
  if (/\.bin$/.test(name)) return 3;
  return 4;
}

// entries: [{file, path}], path relative to what was given ('' folders for loose files).
function modelAndCompanions(entries) {
  const best = (a, b) => modelRank(a) - modelRank(b) || depth(a.path) - depth(b.path) || b.file.size - a.file.size;
  const model = entries.reduce((a, b) => (best(b, a) < 0 ? b : a));
  const folder = folderOf(model.path);
  const companions = [];
  const seen = new Set([baseName(model.path)]);
  const add = (name, file) => { if (name && !seen.has(name)) { seen.add(name); companions.push({ name, file }); } };
  const others = entries.filter((e) => e !== model);
  for (const e of others) add(e.path.startsWith(folder) ? e.path.slice(folder.length) : e.path, e.file);
  for (const e of others) add(baseName(e.path), e.file);
  return { file: model.file, name: baseName(model.path), companions };
}

const MAX_FILES = 10000;   // a dropped folder is walked up to this many files
const entryOf = (file) => ({ file, path: (file.webkitRelativePath || file.name).replace(/^\/+/, '') });

// Dropped folders, walked through the File System entries API.
async function walkEntries(roots) {
  const out = [];
  const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject));
  const readBatch = (reader) => new Promise((resolve, reject) => reader.readEntries(resolve, reject));
  const stack = [...roots];
  while (stack.length && out.length < MAX_FILES) {
    const entry = stack.pop();
    if (entry.isFile) {
      out.push({ file: await fileOf(entry), path: entry.fullPath.replace(/^\/+/, '') });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (let batch = await readBatch(reader); batch.length; batch = await readBatch(reader)) stack.push(...batch);
    }
  }
  return out;
}

// chosenAt: the choosing event's timeStamp (the open's timings start there)
async function openFiles(files, chosenAt = null) {
  const entries = files.map((f) => (f instanceof File ? entryOf(f) : f));
  if (!entries.length) return;
  await viewer.open(modelAndCompanions(entries.slice(0, MAX_FILES)), chosenAt);
}
// From the UI: failures are shown in the banner, nothing else to do.
const quietly = (promise) => promise.catch(() => {});

for (const input of [ui.fileInput, ui.folderInput]) {
  input.addEventListener('change', (event) => {
    const files = [...input.files];
    input.value = '';
    quietly(openFiles(files, event.timeStamp));
  });
}
for (const id of ['open-button', 'start-open']) $(id).addEventListener('click', () => ui.fileInput.click());
$('open-folder-button').addEventListener('click', () => ui.folderInput.click());

let dragDepth = 0;
const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
window.addEventListener('dragenter', (e) => { if (hasFiles(e)) { dragDepth++; ui.drop.hidden = false; e.preventDefault(); } });
window.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; ui.drop.hidden = true; } });
window.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } });
window.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0; ui.drop.hidden = true;
  // Entries must be taken now: the drop's data is gone once this handler returns.
  const roots = [...e.dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry());
  const files = [...e.dataTransfer.files];
  const hasFolder = roots.some((r) => r && r.isDirectory);
  quietly(hasFolder ? walkEntries(roots.filter(Boolean)).then(openFiles) : openFiles(files));
});

async function listExamples() {
  try {
    const response = await fetch('examples/index.json');
    if (!response.ok) return;
    const examples = await response.json();
    if (!Array.isArray(examples) || !examples.length) return;
    ui.examples.replaceChildren(...examples.map((ex) => el('button', {
      class: 'example', type: 'button', onclick: () => quietly(viewer.open(ex.url || `examples/${ex.file}`)),
    }, el('strong', { text: ex.name || ex.file }), el('span', { text: ex.description || '' }),
    ex.size ? el('small', { text: formatBytes(ex.size) }) : null)));
    ui.examples.parentElement.hidden = false;
  } catch { /* no examples bundled */ }
}
listExamples();

// --- canvas, toolbar ---
attachNavigation(ui.canvas, renderer, {
  onClick: (x, y) => {
    if (!viewer.scene) return;
    quietly(viewer.clickBox(renderer.pick(x, y), renderer.screenToWorld(x, y)));   // a frame header collapses
  },
  onEscape: () => { dismissBanner(); viewer.clearSelection(); },
});
// --- module hierarchy (app/module-view.js): double-click expands, Modules/Flat toggle ---
ui.canvas.addEventListener('dblclick', (e) => {
  if (!viewer.scene) return;
  const r = ui.canvas.getBoundingClientRect();
  quietly(viewer.doubleClickBox(renderer.pick(e.clientX - r.left, e.clientY - r.top)));
});
$('modules-toggle').addEventListener('click', () => quietly(viewer.setMode(viewer.mode === 'modules' ? 'flat' : 'modules')));
function showModulesToggle() {
  const g = viewer.doc && viewer.doc.graphs[viewer.graph];
  const button = $('modules-toggle');
  button.hidden = !(g && hasGroups(g));
  button.setAttribute('aria-pressed', String(viewer.mode === 'modules'));
  button.textContent = viewer.mode === 'modules' ? 'Modules' : 'Flat';
}
const center = () => [renderer.size.w / 2, renderer.size.h / 2];
$('zoom-in').addEventListener('click', () => renderer.zoomAt(1.25, ...center(), true));
$('zoom-out').addEventListener('click', () => renderer.zoomAt(0.8, ...center(), true));
$('zoom-fit').addEventListener('click', () => renderer.fit(true));
$('sidebar-toggle').addEventListener('click', () => {
  document.body.classList.toggle('sidebar-hidden');
  $('sidebar-toggle').setAttribute('aria-pressed', String(!document.body.classList.contains('sidebar-hidden')));
});
ui.legend.replaceChildren(...CATEGORIES.filter((c) => c !== 'other').map((c) =>
  el('span', { class: 'legend-item' }, el('i', { class: `sb-chip small cat-${c}` }), c)));
// --- minimap (app/minimap.js): overview in the corner; click or drag moves the view ---
new Minimap($('minimap'), renderer);

const search = attachSearch($('search'), $('search-results'), viewer);
// --- export (app/export.js) and "Copy link" (app/share.js) ---
attachExportMenu($('export-button'), $('export-panel'), viewer, (message) => {
  ui.banner.hidden = false; ui.banner.classList.remove('warning'); ui.bannerText.textContent = message;
});
shareLink.attachButton($('share-button'), $('share-panel'));
installApi(viewer, { openFiles, search, shareLink, exportSVG, exportPNG });
showStatus();

quietly(shareLink.restore());   // ?url= (and the view a shared link keeps)

// Offline after the first visit (dist/sw.js, written by build.py). Registered once
// Python is up so the precache does not compete with the first start.
if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
  viewer.ready().then(() => navigator.serviceWorker.register('sw.js')).catch(() => {});
}
