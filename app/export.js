// Export the graph on screen as SVG or PNG. The SVG is redrawn from the scene's vector
// record (app/scene.js: edge control points, box category and header, every text run
// as the renderer draws it), so it matches the canvas but is made of real paths and
// <text> (searchable, editable). The text is set in the font the page draws with
// (app/text.js WEB_FONT, the site's own files in app/fonts/), embedded as data: URLs
// so the SVG looks the same on any machine; embedFont: false names the fonts only
// (a small SVG that falls back to DejaVu Sans or the system's sans-serif). PNG
// rasterises that SVG through an <img> onto a canvas at the size asked for, so the
// PNG carries the same drawing, embedded font included, at any resolution.

import { CATEGORIES, KIND_FRAME, KIND_GHOST, KIND_INPUT, KIND_MODULE, KIND_OUTPUT } from './graph-view.js';
import { PALETTES } from './renderer.js';
import { STYLE_BODY, STYLE_ON_HEADER } from './scene.js';
import { el } from './sidebar.js';
import { FONT_FAMILY, FONT_FILES, WEB_FONT } from './text.js';

// As app/scene.js and the renderer's shaders draw them (world units = CSS px at zoom 1).
const ARROW_LEN = 6.5, ARROW_HALF = 3.2, EDGE_WIDTH = 1.1, BORDER_WIDTH = 0.7, OP_RADIUS = 4, FRAME_RADIUS = 7;
const MARGIN = 16;
// A PNG larger than this is scaled down to fit (browsers refuse bigger canvases).
const MAX_PNG_SIDE = 16384, MAX_PNG_PIXELS = 120e6;

export const EXPORT_DEFAULTS = { region: 'graph', background: 'white', theme: 'light', scale: 2, embedFont: true };

// Base64 of a font file, fetched (same origin, usually from the service worker's
// cache) once per page and weight.
const fontBase64 = new Map();
function fontData(weight) {
  if (!fontBase64.has(weight)) {
    fontBase64.set(weight, (async () => {
      const response = await fetch(FONT_FILES[weight]);
      if (!response.ok) throw new Error(`font ${FONT_FILES[weight]}: HTTP ${response.status}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    })().catch((error) => { fontBase64.delete(weight); throw error; }));
  }
  return fontBase64.get(weight);
}


const num = (v) => String(Math.round(v * 100) / 100);
// Text from the model file goes into XML: escape it, and drop what XML cannot hold.
const xmlText = (s) => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
  .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
function mix(hex, other, t) {
  const a = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const b = [1, 3, 5].map((i) => parseInt(other.slice(i, i + 2), 16));
  return '#' + a.map((v, i) => Math.round(v + (b[i] - v) * t).toString(16).padStart(2, '0')).join('');
}

// The world rectangle [x0, y0, x1, y1] to export: the whole graph or the canvas' view.
function regionOf(viewer, region) {
  const r = viewer.renderer, s = viewer.scene;
  if (region === 'view') {
    const { x, y, z } = r.cam;
    return [x, y, x + r.size.w / z, y + r.size.h / z];
  }
  const [x0, y0, x1, y1] = s.bounds;
  return [x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN];
}

// options: {region: 'graph'|'view', background: 'white'|'transparent'|'theme',
//           theme: 'light'|'dark', embedFont (default true), pixelWidth, pixelHeight
//           (the size attributes; default world units)}.
// Resolves with {svg, width, height} (width/height: world units).
export async function buildSVG(viewer, options = {}) {
  const s = viewer.scene;
  if (!s || !s.vector) throw new Error('no graph to export');
  const o = { ...EXPORT_DEFAULTS, ...options };
  const p = PALETTES[o.theme] || PALETTES.light;
  const V = s.vector;
  const [rx0, ry0, rx1, ry1] = regionOf(viewer, o.region);
  const width = rx1 - rx0, height = ry1 - ry0;
  const inside = (x0, y0, x1, y1) => x1 >= rx0 && x0 <= rx1 && y1 >= ry0 && y0 <= ry1;
  const catColor = (c) => p.categories[CATEGORIES[c]] || p.categories.other;
  const out = [];
  const pw = o.pixelWidth || width, ph = o.pixelHeight || height;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${num(pw)}" height="${num(ph)}" viewBox="${num(rx0)} ${num(ry0)} ${num(width)} ${num(height)}">`);
  const file = viewer.doc && viewer.doc.model.file;
  out.push(`<title>${xmlText(file ? `${file} — Wetron` : 'Wetron')}</title>`);
  if (o.background !== 'transparent') {
    const bg = o.background === 'theme' ? p.background : '#ffffff';
    out.push(`<rect x="${num(rx0)}" y="${num(ry0)}" width="${num(width)}" height="${num(height)}" fill="${bg}"/>`);
  }

  // Edges: curves between ranks (vertical tangents), straight through dummies.
  const P = V.points, start = V.pointStart, B = s.boxes;
  const lines = [], arrows = [];
  for (let e = 0; e < s.edges; e++) {
    const a = start[e], b = start[e + 1];
    if (b - a < 2) continue;
    let bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
    for (let i = a; i < b; i++) {
      bx0 = Math.min(bx0, P[2 * i]); bx1 = Math.max(bx1, P[2 * i]); by0 = Math.min(by0, P[2 * i + 1]); by1 = Math.max(by1, P[2 * i + 1]);
    }
    if (!inside(bx0, by0, bx1, by1)) continue;
    let d = `M${num(P[2 * a])} ${num(P[2 * a + 1])}`;
    let dx = 0, dy = 1;   // direction into the tip
    for (let i = a; i + 1 < b; i++) {
      const x0 = P[2 * i], y0 = P[2 * i + 1], x1 = P[2 * i + 2], y1 = P[2 * i + 3];
      if ((i - a) % 2 === 0 && Math.abs(x1 - x0) > 0.5) {
        const my = (y0 + y1) / 2;
        d += `C${num(x0)} ${num(my)} ${num(x1)} ${num(my)} ${num(x1)} ${num(y1)}`;
        dx = 0; dy = 1;
      } else {
        d += `L${num(x1)} ${num(y1)}`;
        const l = Math.hypot(x1 - x0, y1 - y0) || 1;
        dx = (x1 - x0) / l; dy = (y1 - y0) / l;
      }
    }
    lines.push(`<path d="${d}"/>`);
    const tx = P[2 * b - 2], ty = P[2 * b - 1], baseX = tx - dx * ARROW_LEN, baseY = ty - dy * ARROW_LEN;
    arrows.push(`<path d="M${num(tx)} ${num(ty)}L${num(baseX - dy * ARROW_HALF)} ${num(baseY + dx * ARROW_HALF)}L${num(baseX + dy * ARROW_HALF)} ${num(baseY - dx * ARROW_HALF)}Z"/>`);
  }
  // Boxes: body, header in the op category's colour, border. Module frames (expanded
  // modules: a light header bar over a faintly tinted region) go under everything.
  const boxes = [], frames = [];
  const N = s.boxes + s.ghosts;
  for (let i = 0; i < N; i++) {
    const w = s.w[i], h = s.h[i], x0 = s.x[i] - w / 2, y0 = s.y[i] - h / 2;
    if (!inside(x0, y0, x0 + w, y0 + h)) continue;
    const kind = i >= B ? KIND_GHOST : s.kinds[i];
    const cat = catColor(V.category[i]);
    const round = kind === KIND_INPUT || kind === KIND_OUTPUT || kind === KIND_GHOST;
    const r = round ? Math.min(h / 2, 12) : kind === KIND_FRAME ? FRAME_RADIUS : OP_RADIUS;
    const rect = (fill, inset, extra = '') => `<rect x="${num(x0 + inset)}" y="${num(y0 + inset)}" width="${num(w - 2 * inset)}" height="${num(h - 2 * inset)}" rx="${num(Math.max(0, r - inset))}" ${extra}fill="${fill}"/>`;
    const border = (color, inset = BORDER_WIDTH / 2) => rect('none', inset, `stroke="${color}" stroke-width="${BORDER_WIDTH}" `);
    const header = Math.min(h, V.header[i] || h);
    const headerPath = (fill) => {   // the top of the box, rounded above only
      const x1 = x0 + w, yh = y0 + header, rr = Math.min(r, header);
      return `<path d="M${num(x0)} ${num(yh)}V${num(y0 + rr)}A${num(rr)} ${num(rr)} 0 0 1 ${num(x0 + rr)} ${num(y0)}H${num(x1 - rr)}A${num(rr)} ${num(rr)} 0 0 1 ${num(x1)} ${num(y0 + rr)}V${num(yh)}Z" fill="${fill}"/>`;
    };
    if (kind === KIND_FRAME) {
      frames.push(`<g class="frame">${rect(mix(p.background, cat, 0.07), 0)}${headerPath(mix(cat, p.body, 0.72))}${border(mix(cat, p.background, 0.35))}</g>`);
      continue;
    }
    if (kind === KIND_GHOST) { boxes.push(`<g>${rect(p.body, 0)}${border(cat)}</g>`); continue; }
    let g = rect(header >= h ? cat : p.body, 0);
    if (header < h) g += headerPath(cat);
    const edge = mix(cat, '#000000', 0.22);
    g += border(edge);
    if (kind === KIND_MODULE) g += border(edge, BORDER_WIDTH + 2.6);   // a collapsed module: double border
    boxes.push(`<g${kind === KIND_MODULE ? ' class="module"' : ''}>${g}</g>`);
  }
  out.push(`<g class="frames">${frames.join('')}</g>`);
  out.push(`<g class="edges" fill="none" stroke="${p.edge}" stroke-width="${EDGE_WIDTH}">${lines.join('')}</g>`);
  out.push(`<g class="arrows" fill="${p.edge}">${arrows.join('')}</g>`);
  out.push(`<g class="boxes">${boxes.join('')}</g>`);

  // Text runs: box titles (bold), box lines, ghost and edge labels.
  const texts = V.text.split('\0'), R = V.runs;
  const colors = [p.onHeader, p.text, p.label, p.label];
  const runs = [], weights = new Set();
  for (let k = 0; k < texts.length && 6 * k < R.length; k++) {
    const weight = R[6 * k], size = R[6 * k + 1], x = R[6 * k + 2], y = R[6 * k + 3], id = R[6 * k + 4], style = R[6 * k + 5];
    if (!texts[k] || !inside(x, y - size, x + texts[k].length * size, y + size)) continue;
    weights.add(weight === 1 ? 'bold' : 'normal');
    const cls = id < N && weight === 1 ? 'title' : style === STYLE_ON_HEADER || style === STYLE_BODY ? 'line' : 'label';
    runs.push(`<text class="${cls}" x="${num(x)}" y="${num(y)}" font-size="${num(size)}"${weight === 1 ? ' font-weight="600"' : ''} fill="${colors[style] || p.text}">${xmlText(texts[k])}</text>`);
  }
  // Only the weights drawn are embedded (the 600 of titles is served by the bold face).
  let family = FONT_FAMILY.replace(`"${WEB_FONT}"`, '"DejaVu Sans"');
  if (o.embedFont && weights.size) {
    const faces = [];
    for (const w of ['normal', 'bold']) {
      if (weights.has(w)) faces.push(`@font-face { font-family: "${WEB_FONT}"; font-weight: ${w === 'bold' ? 700 : 400}; src: url(data:font/woff2;base64,${await fontData(w)}) format("woff2"); }`);
    }
    out.push(`<style>\n${faces.join('\n')}\n</style>`);
    family = FONT_FAMILY;
  }
  out.push(`<g class="text" font-family="${xmlText(family)}">${runs.join('')}</g>`);
  out.push('</svg>');
  return { svg: out.join('\n'), width, height };
}

// PNG of the same drawing. options as buildSVG, plus scale (default 2: of the graph at
// 100 % zoom, or of the canvas as on screen for the current view) or width (pixels;
// height follows). Resolves with a Blob (image/png) carrying .width and .height.
export async function exportPNG(viewer, options = {}) {
  const o = { ...EXPORT_DEFAULTS, ...options };
  if (!viewer.scene) throw new Error('no graph to export');
  const [x0, y0, x1, y1] = regionOf(viewer, o.region);
  const width = x1 - x0, height = y1 - y0, zoom = o.region === 'view' ? viewer.renderer.cam.z : 1;
  let scale = o.width ? o.width / width : (Number(o.scale) || 2) * zoom;
  scale = Math.min(scale, MAX_PNG_SIDE / Math.max(width, height), Math.sqrt(MAX_PNG_PIXELS / (width * height)));
  const W = Math.max(1, Math.round(width * scale)), H = Math.max(1, Math.round(height * scale));
  const { svg } = await buildSVG(viewer, { ...o, pixelWidth: W, pixelHeight: H });
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = W; canvas.height = H;
    canvas.getContext('2d').drawImage(img, 0, 0, W, H);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    if (!blob) throw new Error(`cannot make a ${W}×${H} PNG in this browser`);
    blob.width = W; blob.height = H;
    return blob;
  } finally {
    URL.revokeObjectURL(url);
  }
}

export async function exportSVG(viewer, options = {}) { return (await buildSVG(viewer, options)).svg; }

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// The toolbar's Export menu: region, background, theme, font, PNG scale; SVG and PNG buttons.
export function attachExportMenu(button, panel, viewer, onError) {
  const select = (name, label, choices, value) => el('label', { class: 'export-field' }, label,
    el('select', { name }, ...choices.map(([v, text]) => {
      const option = el('option', { value: v, text });
      if (v === value) option.selected = true;
      return option;
    })));
  const form = el('form', { class: 'export-form', onsubmit: (e) => e.preventDefault() },
    select('region', 'Region', [['graph', 'Whole graph'], ['view', 'Current view']], 'graph'),
    select('background', 'Background', [['white', 'White'], ['transparent', 'Transparent'], ['theme', 'Theme']], 'white'),
    select('theme', 'Colours', [['light', 'Light'], ['dark', 'Dark']], 'light'),
    select('embedFont', 'Font', [['1', 'Embedded'], ['', 'Named only']], '1'),
    select('scale', 'PNG size', [['1', '1×'], ['2', '2×'], ['3', '3×'], ['4', '4×']], '2'),
    el('div', { class: 'export-buttons' },
      el('button', { class: 'btn small', type: 'button', id: 'export-svg', text: 'Save SVG', onclick: () => save('svg') }),
      el('button', { class: 'btn small', type: 'button', id: 'export-png', text: 'Save PNG', onclick: () => save('png') })));
  panel.replaceChildren(form);
  const options = () => Object.fromEntries(new FormData(form));
  const baseName = () => ((viewer.doc && viewer.doc.model.file) || 'graph').replace(/\.[^.]*$/, '') || 'graph';
  async function save(kind) {
    try {
      const o = options();
      if (kind === 'svg') download(new Blob([await exportSVG(viewer, o)], { type: 'image/svg+xml' }), `${baseName()}.svg`);
      else download(await exportPNG(viewer, { ...o, scale: Number(o.scale) }), `${baseName()}.png`);
      panel.hidden = true;
    } catch (error) {
      onError(`Export failed: ${error.message}`);
    }
  }
  button.addEventListener('click', () => { panel.hidden = !panel.hidden; });
  document.addEventListener('mousedown', (e) => {
    if (!panel.hidden && !panel.contains(e.target) && e.target !== button) panel.hidden = true;
  });
}
