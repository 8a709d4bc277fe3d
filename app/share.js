// Shareable views: the page's address keeps what is on screen, so a link reopens the
// same view (a teacher's link opens the example at the layer being discussed):
//
//   ?url=examples/resnet-mini.onnx   the model, when it was opened by link (a local file
//                                    cannot be reopened by link: the rest still applies
//                                    when the same model is opened by link)
//   &graph=2                         graphs[2] of the document (a subgraph), if not 0
//   &node=/layer1/Conv               the selected node (or graph input/output) by name
//   &tensor=/layer1/Conv_output_0    or the selected tensor (an edge clicked) by name
//   &labels=names                    boxes titled by node name instead of op type
//   &mode=modules|flat               module view or every node (graphs with modules)
//   &expand=encoder/layer.3 (repeated)   expanded modules (module view)
//   &size=height=640 (repeated)      symbolic sizes the user set (the Sizes panel)
//   &view=120.5,340,1.25             centre of the canvas (world units) and zoom
//
// The address is updated with history.replaceState as the view changes (debounced);
// opening such an address restores the model, graph, modules, selection and viewport.

import { el } from './sidebar.js';

const OWN = ['url', 'graph', 'node', 'tensor', 'labels', 'mode', 'expand', 'size', 'view'];
const MAX_SIZES = 64;         // sizes kept in the address
const SIZE_PARAM = /^([^=]{1,200})=([1-9][0-9]{0,9})$/;
const DEBOUNCE_MS = 250;
const MAX_EXPAND = 256;       // expanded modules kept in the address (more: left out)
const MAX_PARAM = 2000;       // characters of a parameter read back

const round = (v, digits) => Math.round(v * 10 ** digits) / 10 ** digits;

// {x, y, zoom}: the world point at the canvas' centre, and CSS px per world unit.
export function viewportOf(renderer) {
  const { x, y, z } = renderer.cam;
  return { x: x + renderer.size.w / 2 / z, y: y + renderer.size.h / 2 / z, zoom: z };
}

export function setViewport(renderer, { x, y, zoom }) {
  renderer.setCamera({ ...renderer.cam, z: zoom });   // clamps the zoom
  renderer.centerOn(x, y, false);                     // keeps it; no longer "fitted"
}

// The address of the view on screen (the page's own address with our parameters set).
export function shareUrl(viewer) {
  const q = new URLSearchParams(location.search);
  for (const k of OWN) q.delete(k);
  if (viewer.doc) {
    if (viewer.sourceUrl) q.set('url', viewer.sourceUrl);
    if (viewer.graph) q.set('graph', String(viewer.graph));
    const selected = viewer.selected >= 0 ? viewer.boxName(viewer.selected) : null;
    if (selected) q.set('node', selected);
    const tensor = viewer.tensorSelection && viewer.tensorSelection.values.length === 1 ? viewer.tensorName(viewer.tensorSelection.values[0]) : null;
    if (!selected && tensor) q.set('tensor', tensor);
    if (viewer.labels === 'names') q.set('labels', 'names');
    const hasModules = typeof viewer.moduleTree === 'function' && viewer.moduleTree();
    if (hasModules) {
      q.set('mode', viewer.mode);
      const paths = viewer.mode === 'modules' ? viewer.expandedPaths() : [];
      if (paths.length <= MAX_EXPAND) for (const p of paths) q.append('expand', p);
    }
    for (const [name, value] of Object.entries(viewer.sizes || {}).slice(0, MAX_SIZES)) q.append('size', `${name}=${value}`);
    const v = viewportOf(viewer.renderer);
    q.set('view', `${round(v.x, 1)},${round(v.y, 1)},${Number(v.zoom.toPrecision(4))}`);
  }
  const query = q.toString();
  return location.origin + location.pathname + (query ? `?${query}` : '') + location.hash;
}

// What an address asks for, checked: {url, graph, node, expand, sizes, view} (missing: null).
export function parseShareUrl(search) {
  const q = new URLSearchParams(search);
  const text = (k) => { const v = q.get(k); return v && v.length <= MAX_PARAM ? v : null; };
  const graph = Number.parseInt(q.get('graph') || '0', 10);
  const parts = (text('view') || '').split(',').map(Number);
  const view = parts.length === 3 && parts.every(Number.isFinite) && parts[2] > 0 ? { x: parts[0], y: parts[1], zoom: parts[2] } : null;
  return {
    url: text('url'), graph: Number.isInteger(graph) && graph > 0 ? graph : 0, node: text('node'), tensor: text('tensor'),
    labels: q.get('labels') === 'names' ? 'names' : null,
    mode: ['modules', 'flat'].includes(q.get('mode')) ? q.get('mode') : null,
    expand: q.getAll('expand').filter((p) => p.length <= MAX_PARAM).slice(0, MAX_EXPAND), view,
    sizes: Object.fromEntries(q.getAll('size').slice(0, MAX_SIZES).map((p) => SIZE_PARAM.exec(p)).filter(Boolean).map((m) => [m[1], Number(m[2])])),
  };
}

export class ShareLink {
  constructor(viewer) {
    this.viewer = viewer;
    this.timer = 0;
    this.restoring = false;   // the address is not rewritten while it is being restored
  }

  // Rewrite the address soon (called on every view, selection or model change).
  schedule() {
    if (this.restoring || !this.viewer.doc) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.write(), DEBOUNCE_MS);
  }

  write() {
    if (this.restoring || !this.viewer.doc) return;
    const url = shareUrl(this.viewer);
    if (url !== location.href) history.replaceState(history.state, '', url);
  }

  // The start page again (the model closed): the address loses the view's parameters.
  clear() {
    clearTimeout(this.timer);
    const q = new URLSearchParams(location.search);
    for (const k of OWN) q.delete(k);
    const query = q.toString();
    history.replaceState(history.state, '', location.pathname + (query ? `?${query}` : '') + location.hash);
  }

  // Opens what the page's address asks for (nothing without ?url=). Rejects as open() does.
  async restore() {
    const want = parseShareUrl(location.search);
    if (want.labels && typeof this.viewer.setLabels === 'function') await this.viewer.setLabels(want.labels);   // before the first layout
    if (!want.url) return;
    const viewer = this.viewer;
    this.restoring = true;
    try {
      await viewer.open(want.url);
      // sizes first: they change shapes and cost, not what the rest below selects
      if (Object.keys(want.sizes).length && typeof viewer.setSizes === 'function') {
        try { await viewer.setSizes(want.sizes); } catch (error) { console.warn('wetron: the link\'s sizes:', error.message); }
      }
      if (want.graph && viewer.doc.graphs[want.graph]) await viewer.openGraph(want.graph);
      if (typeof viewer.setExpanded === 'function' && viewer.moduleTree()) {
        if (want.mode === 'flat') { if (viewer.mode !== 'flat') await viewer.setMode('flat'); }
        else if (want.expand.length || (want.mode === 'modules' && viewer.mode !== 'modules')) await viewer.setExpanded(want.expand);
      }
      if (want.node) await selectByName(viewer, want.node);
      else if (want.tensor && typeof viewer.revealTensor === 'function') {
        const v = viewer.valueIndexOf(want.tensor);
        if (v >= 0) await viewer.revealTensor(v, { center: false });
      }
      if (want.view) setViewport(viewer.renderer, want.view);
    } finally {
      this.restoring = false;
      this.schedule();
    }
  }

  // The "Copy link" button: copies the address and says what it can reopen.
  attachButton(button, panel) {
    button.addEventListener('click', async () => {
      if (!panel.hidden) { panel.hidden = true; return; }
      this.write();
      const url = shareUrl(this.viewer);
      const field = el('input', { class: 'share-url', type: 'text', readonly: '', value: url, 'aria-label': 'Link to this view' });
      let copied = false;
      try { await navigator.clipboard.writeText(url); copied = true; } catch { /* no permission: select it instead */ }
      const note = this.viewer.sourceUrl
        ? (copied ? 'Link copied: it opens this model at this view.' : 'Copy this link: it opens this model at this view.')
        : 'This model was opened from a local file, which a link cannot reopen: the link keeps the view '
          + '(selection, modules, viewport) for when the model is opened by link (?url=).';
      panel.replaceChildren(el('p', { class: 'share-note', text: note }), field);
      panel.hidden = false;
      field.focus(); field.select();
    });
    document.addEventListener('mousedown', (e) => {
      if (!panel.hidden && !panel.contains(e.target) && e.target !== button) panel.hidden = true;
    });
  }
}

// Select a node (or graph input/output, or module) by name; a node inside a collapsed
// module through the viewer's revealNode, which expands the modules holding it.
async function selectByName(viewer, name) {
  const box = viewer.findBox(name);
  if (box >= 0) { viewer.selectBox(box); return; }
  if (typeof viewer.revealNode !== 'function') return;
  const index = viewer.nodeIndexOf(name);
  if (index >= 0) await viewer.revealNode(index, { center: false });
}
