// The page: wires the shell (toolbar, start screen, banner, progress, drop zone,
// theme) to the viewer, the renderer, the sidebar and the automation API.

import { installApi } from './api.js';
import { CATEGORIES } from './graph-view.js';
import { attachNavigation } from './input.js';
import { PALETTES, Renderer } from './renderer.js';
import { attachSearch } from './search.js';
import { el, formatBytes, Sidebar } from './sidebar.js';
import { Viewer } from './viewer.js';

const $ = (id) => document.getElementById(id);
const ui = {
  canvas: $('graph'), start: $('start'), sidebar: $('sidebar'), sidebarBody: $('sidebar-body'),
  fileInput: $('file-input'), banner: $('banner'), bannerText: $('banner-text'),
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
// The canvas size once a model is open (the sidebar may not be showing yet).
function viewportSize() {
  const stage = $('stage').getBoundingClientRect();
  const sidebarComing = !document.body.classList.contains('has-model') && !document.body.classList.contains('sidebar-hidden');
  return { width: Math.max(200, stage.width - (sidebarComing ? 340 : 0)), height: Math.max(200, stage.height) };
}
const viewer = new Viewer({ renderer, sidebar, onStatus: showStatus, onProgress: showProgress, viewportSize });

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
  ui.banner.hidden = status !== 'error';
  ui.bannerText.textContent = error || '';
  ui.modelName.textContent = doc ? doc.model.file || '' : '';
  // Inside a subgraph: where it hangs, and a way back up.
  const path = doc && viewer.graph !== 0 ? viewer.graphPath() : [];
  ui.graphPath.hidden = !path.length;
  ui.graphPath.replaceChildren(...path.flatMap((p) => [el('span', { class: 'sep', text: '›' }),
    el('a', { href: '#', text: p.name, onclick: (e) => { e.preventDefault(); quietly(viewer.openGraph(p.index)); } })]),
  el('button', { class: 'btn small', type: 'button', text: 'Up', title: 'Back to the enclosing graph',
    onclick: () => quietly(viewer.openParent()) }));
  ui.modelName.title = doc ? `${doc.model.format} · ${formatBytes(doc.model.size || 0)}` : '';
}
function showProgress(message) {
  ui.progress.hidden = message == null;
  ui.progressText.textContent = message || '';
}
$('banner-close').addEventListener('click', () => viewer.dismissError());
$('progress-cancel').addEventListener('click', () => viewer.cancel());
viewer.ready().then((ms) => {
  ui.python.textContent = `Python ready (${(ms / 1000).toFixed(1)} s)`;
  ui.python.classList.add('ok');
}, (error) => {
  ui.python.textContent = error.message;
  ui.python.classList.add('bad');
});

// --- opening ---
// Several files: the model is the largest .onnx file (else the largest file); the
// others are its companions (external data and the like).
function modelAndCompanions(files) {
  const onnx = files.filter((f) => /\.onnx$/i.test(f.name));
  const pool = onnx.length ? onnx : files;
  const model = pool.reduce((a, b) => (b.size > a.size ? b : a));
  return { file: model, name: model.name,
    companions: files.filter((f) => f !== model).map((f) => ({ name: f.name, file: f })) };
}
async function openFiles(files) {
  if (!files.length) return;
  await viewer.open(modelAndCompanions(files));
}
// From the UI: failures are shown in the banner, nothing else to do.
const quietly = (promise) => promise.catch(() => {});

ui.fileInput.addEventListener('change', () => {
  const files = [...ui.fileInput.files];
  ui.fileInput.value = '';
  quietly(openFiles(files));
});
for (const id of ['open-button', 'start-open']) $(id).addEventListener('click', () => ui.fileInput.click());

let dragDepth = 0;
const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
window.addEventListener('dragenter', (e) => { if (hasFiles(e)) { dragDepth++; ui.drop.hidden = false; e.preventDefault(); } });
window.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; ui.drop.hidden = true; } });
window.addEventListener('dragover', (e) => { if (hasFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } });
window.addEventListener('drop', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0; ui.drop.hidden = true;
  quietly(openFiles([...e.dataTransfer.files]));
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
    const i = renderer.pick(x, y);
    if (i < 0) viewer.clearSelection(); else viewer.selectBox(i);
  },
  onEscape: () => { viewer.dismissError(); viewer.clearSelection(); },
});
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

attachSearch($('search'), $('search-results'), viewer);
installApi(viewer, { openFiles });
showStatus();

const urlParam = new URLSearchParams(location.search).get('url');
if (urlParam) quietly(viewer.open(urlParam));

// Offline after the first visit (dist/sw.js, written by build.py). Registered once
// Python is up so the precache does not compete with the first start.
if ('serviceWorker' in navigator && location.protocol.startsWith('http')) {
  viewer.ready().then(() => navigator.serviceWorker.register('sw.js')).catch(() => {});
}
