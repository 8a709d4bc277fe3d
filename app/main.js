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
import { addRecent, clearRecent, showRecent } from './recent.js';
import { acceptList, formatList, loadFormats, modelAndCompanions } from './formats.js';

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
  // a selected tensor's producer and consumers (app/tensors.js)
  onSelectNode: (i) => quietly(viewer.revealNode(i, { center: true })),
  onSelectBox: (name) => { const i = viewer.findBox(name); if (i >= 0) viewer.selectBox(i, { center: true }); },
});
let warningsDismissed = null;   // the document whose warnings the user closed
let recentDoc = null;           // the document last added to the recent files (app/recent.js)
const viewer = new Viewer({ renderer, sidebar, onStatus: showStatus, onProgress: showProgress });
sidebar.tensorWorker = viewer.parse;   // tensor viewer (app/tensor-view.js) asks it for statistics, .npy
sidebar.onSizes = (sizes) => viewer.setSizes(sizes);   // the Sizes panel (app/cost-view.js)
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
  showLabelsToggle();    // boxes by node name
  shareLink.schedule();   // selection, graph or model changed
  // The tab's title names the model; the start page lists the recent ones.
  document.title = doc && doc.model.file ? `${doc.model.file} — Wetron` : 'Wetron';
  if (status === 'ready' && doc && doc !== recentDoc) {
    recentDoc = doc;
    addRecent({ name: doc.model.file || 'model', url: viewer.sourceUrl || null, format: doc.model.format });
  }
  if (!doc) showRecent($('recent-block'), $('recent'), openRecent);
}
// A recent file: one opened by link opens again; a file from disk cannot be reopened by
// name (the page never learns its path), so the file chooser opens.
function openRecent(entry) {
  if (entry.url) quietly(viewer.open(entry.url));
  else ui.fileInput.click();
}
$('recent-clear').addEventListener('click', () => { clearRecent(); showRecent($('recent-block'), $('recent'), openRecent); });
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
// Several files (or a folder): the model is chosen by name alone, by the rule of
// app/formats.js over the formats' declarations (formats.json); every other file is a
// companion, under its path relative to the model's folder (e.g.
// 'variables/variables.index') and under its base name.
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
  let formats = [];   // one file is the model whatever the formats say
  if (entries.length > 1) {
    try {
      formats = await loadFormats();
    } catch (error) {
      viewer.setStatus('error', `Cannot tell which of the ${entries.length} files is the model: ${error.message}`);
      throw error;
    }
  }
  await viewer.open(modelAndCompanions(formats, entries.slice(0, MAX_FILES)), chosenAt);
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

// The file chooser's accept list and the start page's format list, from formats.json.
loadFormats().then((formats) => {
  ui.fileInput.accept = acceptList(formats);
  $('format-list').textContent = formatList(formats);
}, (error) => console.warn('wetron:', error.message));

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
    quietly(viewer.click(x, y));   // a box (a frame header collapses), else an edge's tensor
  },
  onEscape: () => {
    if (document.body.classList.contains('drawer-open')) { setDrawer(false); return; }
    dismissBanner(); viewer.clearSelection();
  },
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
// The sidebar: beside the canvas on a wide page (the button shows or hides it); below
// 720 px a drawer over the canvas, closed until the button opens it (× or Escape closes it).
const narrow = window.matchMedia('(max-width: 720px)');
function setDrawer(open) {
  document.body.classList.toggle('drawer-open', open);
  showSidebarToggle();
}
function showSidebarToggle() {
  const shown = narrow.matches ? document.body.classList.contains('drawer-open') : !document.body.classList.contains('sidebar-hidden');
  $('sidebar-toggle').setAttribute('aria-pressed', String(shown));
}
$('sidebar-toggle').addEventListener('click', () => {
  if (narrow.matches) setDrawer(!document.body.classList.contains('drawer-open'));
  else { document.body.classList.toggle('sidebar-hidden'); showSidebarToggle(); }
});
$('drawer-close').addEventListener('click', () => setDrawer(false));
narrow.addEventListener('change', showSidebarToggle);
showSidebarToggle();

// --- what a found node is centred in: the canvas less the search results and the drawer ---
viewer.centerTarget = () => freeCenter(ui.canvas, [$('search-results'), narrow.matches && document.body.classList.contains('drawer-open') ? ui.sidebar : null]);

// --- box labels: op type or node name (button "Names", key N) ---
$('labels-toggle').addEventListener('click', () => toggleLabels());
function toggleLabels() {
  quietly(viewer.setLabels(viewer.labels === 'names' ? 'ops' : 'names'));
  showLabelsToggle();
}
function showLabelsToggle() {
  $('labels-toggle').setAttribute('aria-pressed', String(viewer.labels === 'names'));
}

// --- the brand goes back to the start page (the model is closed) ---
$('brand').addEventListener('click', () => {
  setDrawer(false);
  viewer.close();
  shareLink.clear();
});

// --- keys: Ctrl+O / Cmd+O opens the file chooser (anywhere); N toggles the labels ---
window.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'o') {
    e.preventDefault();
    ui.fileInput.click();
    return;
  }
  const t = e.target;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable)) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if ((e.key === 'n' || e.key === 'N') && viewer.doc) { e.preventDefault(); toggleLabels(); }
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

// The canvas pixel {x, y} at the middle of the largest part of `canvas` that none of
// `covers` (elements; hidden ones and nulls ignored) hides; null when nothing covers it.
// Candidates are the strips left, right, above and below each cover, intersected.
function freeCenter(canvas, covers) {
  const c = canvas.getBoundingClientRect();
  const rects = [];
  for (const element of covers) {
    if (!element || element.hidden) continue;
    const r = element.getBoundingClientRect();
    const x0 = Math.max(c.left, r.left), y0 = Math.max(c.top, r.top), x1 = Math.min(c.right, r.right), y1 = Math.min(c.bottom, r.bottom);
    if (x1 - x0 > 1 && y1 - y0 > 1) rects.push([x0, y0, x1, y1]);
  }
  if (!rects.length) return null;
  let candidates = [[c.left, c.top, c.right, c.bottom]];
  for (const [x0, y0, x1, y1] of rects) {
    const next = [];
    for (const [a0, b0, a1, b1] of candidates) {
      for (const [p0, q0, p1, q1] of [[a0, b0, Math.min(a1, x0), b1], [Math.max(a0, x1), b0, a1, b1], [a0, b0, a1, Math.min(b1, y0)], [a0, Math.max(b0, y1), a1, b1]]) {
        if (p1 - p0 > 1 && q1 - q0 > 1) next.push([p0, q0, p1, q1]);
      }
    }
    candidates = next;
  }
  if (!candidates.length) return null;
  const area = (r) => (r[2] - r[0]) * (r[3] - r[1]);
  const best = candidates.reduce((a, b) => (area(b) > area(a) ? b : a));
  return { x: (best[0] + best[2]) / 2 - c.left, y: (best[1] + best[3]) / 2 - c.top };
}
