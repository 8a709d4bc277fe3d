// Find nodes: the toolbar's search field. Ctrl+F or "/" focuses it; the list shows
// the matches and their count; arrow keys jump between them (select + centre), Enter
// keeps the one chosen and closes the list; "Highlight all" marks every match on the
// canvas. Searches the graph's flat node list (plus its inputs and outputs, and its
// tensors by name), so nodes inside collapsed modules are found too; selecting goes
// through the viewer. While the list is open, a match is centred in the part of the
// canvas the list leaves uncovered (viewer.centerTarget, app/main.js).
//
// Query syntax (docs/app.md), terms separated by spaces, all must match:
//   text          name or op type contains text (any case); a dims pattern such as
//                 3x3 or [3, 3] also matches an attribute value or a tensor shape
//   op:Conv       op type is exactly Conv (any case)
//   name:layer1   name contains layer1
//   attr:group    has an attribute named group
//   attr:group=32 attribute value: a number (a list matches if all its elements equal
//                 it), a list 3x3 / [3,3], or text (contains); "attr:" may be left out
//   shape:768     an input or output tensor has a dim 768 (or symbolic dim "batch")
//   shape:1x3x224x224   an input or output tensor has exactly this shape (? = any dim)

import { KIND_MODULE, KIND_OP } from './graph-view.js';
import { el } from './sidebar.js';
import { valueIndex } from './tensors.js';

const MAX_ROWS = 200;         // rows listed; the count covers every match
const MAX_QUERY = 500;        // characters of query considered
const MAX_TERMS = 16;
const LARGE_GRAPH = 20000;    // nodes: above this, the list updates once typing pauses

// --- the query ---

const DIMS = /^\[?\s*[\d?*]+(\s*[x×,]\s*[\w?*]+)*\s*\]?$/i;
const splitDims = (text) => text.replace(/^\[|\]$/g, '').split(/\s*[x×,]\s*/).map((d) => d.trim()).filter((d) => d !== '');
const isDimsPattern = (text) => DIMS.test(text) && (/[x×,]/i.test(text) || text.startsWith('['));

// A query value against an attribute value (number, string, list).
function valueMatches(value, query) {
  if (value == null) return false;
  if (typeof value === 'string') return value.toLowerCase().includes(query.toLowerCase());
  const parts = splitDims(query);
  const equal = (a, b) => {
    const n = Number(b);
    if (typeof a === 'number' && b !== '' && !Number.isNaN(n)) return a === n || Math.abs(a - n) <= 1e-6 * Math.max(Math.abs(a), Math.abs(n));
    return typeof a === 'string' && a.toLowerCase() === String(b).toLowerCase();
  };
  if (!Array.isArray(value)) return parts.length === 1 && equal(value, parts[0]);
  if (parts.length === 1 && !query.trim().startsWith('[')) return value.length > 0 && value.every((v) => equal(v, parts[0]));
  return value.length === parts.length && value.every((v, i) => equal(v, parts[i]));
}

// A dims query against a shape (list of ints, symbol strings, null = unknown).
function shapeMatches(shape, parts, exact) {
  const dimEq = (d, q) => q === '?' || q === '*' || (d != null && String(d).toLowerCase() === q.toLowerCase());
  if (!exact) return shape.some((d) => dimEq(d, parts[0]));
  return shape.length === parts.length && shape.every((d, i) => dimEq(d, parts[i]));
}

function parseQuery(text) {
  const tokens = text.slice(0, MAX_QUERY).match(/\S*\[[^\]]*\]?\S*|\S+/g) || [];
  return tokens.slice(0, MAX_TERMS).map((token) => {
    const colon = token.indexOf(':');
    const key = colon > 0 ? token.slice(0, colon).toLowerCase() : '';
    const rest = colon > 0 ? token.slice(colon + 1) : token;
    if (key === 'op') return { op: rest.toLowerCase() };
    if (key === 'name') return { name: rest.toLowerCase() };
    if (key === 'shape') {
      const parts = splitDims(rest);
      return { shape: parts, exact: parts.length > 1 || rest.startsWith('[') };
    }
    if (key === 'attr' || (!key && /^[A-Za-z_][\w.]*=/.test(token))) {
      const eq = rest.indexOf('=');
      return eq < 0 ? { attr: rest.toLowerCase() } : { attr: rest.slice(0, eq).toLowerCase(), value: rest.slice(eq + 1) };
    }
    return { text: token.toLowerCase(), dims: isDimsPattern(token) ? splitDims(token) : null, raw: token };
  });
}

// --- matching ---

// Shapes of the tensors a node reads and writes (declared/inferred types, else weights).
function shapesOf(doc, g, valueIndices) {
  const out = [];
  for (const v of valueIndices) {
    const entry = v >= 0 ? g.values[v] : null;
    if (!entry) continue;
    const t = entry[1] != null ? doc.types[entry[1]] : null;
    if (t && Array.isArray(t.shape)) out.push(t.shape);
    else if (entry[2] != null && doc.tensors[entry[2]] && Array.isArray(doc.tensors[entry[2]].shape)) out.push(doc.tensors[entry[2]].shape);
  }
  return out;
}

// One candidate (a node, a graph input or output) against every term.
function matches(terms, { name, op, attrs, shapes }) {
  const lname = name.toLowerCase(), lop = op.toLowerCase();
  return terms.every((t) => {
    if (t.op !== undefined) return lop === t.op;
    if (t.name !== undefined) return lname.includes(t.name);
    if (t.shape) return t.shape.length > 0 && shapes().some((s) => shapeMatches(s, t.shape, t.exact));
    if (t.attr !== undefined) {
      return attrs.some((a) => a.name.toLowerCase() === t.attr && (t.value === undefined || valueMatches(a.value, t.value)));
    }
    if (lname.includes(t.text) || lop.includes(t.text)) return true;
    if (!t.dims) return false;
    return attrs.some((a) => valueMatches(a.value, t.raw)) || shapes().some((s) => shapeMatches(s, t.dims, true));
  });
}

// Every match in graphs[graphIndex]: [{kind: 'node'|'input'|'output'|'tensor', index,
// name, op}] (index: the node's index, or the value's index for graph inputs, outputs
// and tensors; a tensor's op is 'tensor', or 'weight' for an initializer).
export function searchGraph(doc, graphIndex, query) {
  const terms = parseQuery(query.trim());
  const g = doc && doc.graphs[graphIndex];
  if (!g || !terms.length) return [];
  const results = [];
  const weights = new Set(g.initializers || []);
  const ioCandidate = (v, kind) => ({
    name: g.values[v] ? g.values[v][0] || '' : '', op: kind, attrs: [], shapes: () => shapesOf(doc, g, [v]),
  });
  g.inputs.forEach((v) => {
    if (!weights.has(v) && !(g.values[v] && g.values[v][2] != null) && matches(terms, ioCandidate(v, 'input'))) {
      results.push({ kind: 'input', index: v, name: g.values[v][0], op: 'input' });
    }
  });
  g.nodes.forEach((node, i) => {
    const candidate = { name: node.name || '', op: node.op || '', attrs: node.attrs || [],
      shapes: () => shapesOf(doc, g, [...node.in, ...node.out]) };
    if (matches(terms, candidate)) results.push({ kind: 'node', index: i, name: node.name || `#${i}`, op: node.op });
  });
  g.outputs.forEach((v) => {
    if (matches(terms, ioCandidate(v, 'output'))) results.push({ kind: 'output', index: v, name: g.values[v] ? g.values[v][0] : '?', op: 'output' });
  });
  // Tensors (values, weights included) by name, for a query naming something (a text or
  // name: term; op:, attr: and shape: alone find nodes only). A tensor whose producer is
  // a match already is left out (the node stands for its outputs); graph inputs and
  // outputs are found as themselves above.
  if (terms.some((t) => t.name !== undefined || (t.text !== undefined && !t.dims))) {
    const producer = valueIndex(g).producer, found = new Set();
    for (const r of results) if (r.kind === 'node') found.add(r.index);
    const io = new Set([...g.inputs, ...g.outputs]);
    g.values.forEach((entry, v) => {
      const name = entry && entry[0];
      if (!name || (io.has(v) && entry[2] == null) || (producer[v] >= 0 && found.has(producer[v]))) return;
      if (matches(terms, { name, op: '', attrs: [], shapes: () => shapesOf(doc, g, [v]) })) {
        results.push({ kind: 'tensor', index: v, name, op: entry[2] != null ? 'weight' : 'tensor' });
      }
    });
  }
  return results;
}

// --- the field ---

// node index -> the box that shows it in the scene on screen: its own, else the box of
// the collapsed module holding it (-1: none)
const nodeBoxes = new WeakMap();
function boxOfResult(viewer, r) {
  const s = viewer.scene;
  let node = r.index;
  if (r.kind === 'tensor') {   // its producer's box, or its first consumer's
    const ix = valueIndex(viewer.doc.graphs[viewer.graph]);
    node = ix.producer[r.index] >= 0 ? ix.producer[r.index] : ix.consumerStart[r.index + 1] > ix.consumerStart[r.index] ? ix.consumers[ix.consumerStart[r.index]] : -1;
    if (node < 0) return -1;
  } else if (r.kind !== 'node') return viewer.findBox(r.name);
  let map = nodeBoxes.get(s);
  if (!map) {
    map = new Int32Array(viewer.doc.graphs[viewer.graph].nodes.length).fill(-1);
    for (let i = 0; i < s.boxes; i++) if (s.kinds[i] === KIND_OP && s.refs[i] < map.length) map[s.refs[i]] = i;
    const tree = typeof viewer.moduleTree === 'function' ? viewer.moduleTree() : null;
    if (tree) {
      const groupBox = new Map();
      for (let i = 0; i < s.boxes; i++) if (s.kinds[i] === KIND_MODULE) groupBox.set(s.refs[i], i);
      for (let n = 0; n < map.length; n++) {
        for (let k = tree.nodeGroup[n]; map[n] < 0 && k >= 0; k = tree.parent[k]) map[n] = groupBox.get(k) ?? -1;
      }
    }
    nodeBoxes.set(s, map);
  }
  return map[node] ?? -1;
}

// panel: the drop-down under the field (a header with the count and "Highlight all",
// then the list of matches).
export function attachSearch(input, panel, viewer) {
  let results = [], active = -1, highlightAll = false;
  const count = el('span', { class: 'search-count' });
  const highlightButton = el('button', { class: 'btn small search-highlight', type: 'button', text: 'Highlight all',
    'aria-pressed': 'false', title: 'Mark every match on the graph',
    onmousedown: (e) => { e.preventDefault(); setHighlightAll(!highlightAll); } });
  const list = el('ul', { role: 'listbox', 'aria-label': 'Matches' });
  panel.replaceChildren(el('div', { class: 'search-header' }, count, highlightButton), list);

  const close = () => { panel.hidden = true; };
  // Select a result and bring it to the centre (expanding its modules where the viewer can).
  const jump = async (i) => {
    const r = results[i];
    if (!r) return;
    try {
      if (r.kind === 'node' && typeof viewer.revealNode === 'function') await viewer.revealNode(r.index, { center: true });
      else if (r.kind === 'tensor' && typeof viewer.revealTensor === 'function') await viewer.revealTensor(r.index, { center: true });
      else {
        const box = boxOfResult(viewer, r);
        if (box >= 0) viewer.selectBox(box, { center: true });
      }
    } catch { return; }   // expanding failed or was superseded: the banner says why
    if (highlightAll) markAll();
  };
  const mark = (i) => {
    active = i;
    const rows = [...list.children];
    rows.forEach((c, k) => c.classList.toggle('active', k === i));
    if (rows[i]) rows[i].scrollIntoView({ block: 'nearest' });
  };
  const markAll = () => {
    if (viewer.scene) viewer.highlightBoxes(results.map((r) => boxOfResult(viewer, r)).filter((b) => b >= 0));
  };
  const setHighlightAll = (on) => {
    highlightAll = on;
    highlightButton.setAttribute('aria-pressed', String(on));
    if (on) markAll();
    else if (viewer.selected >= 0) viewer.selectBox(viewer.selected);
    else viewer.clearSelection();
  };

  const update = () => {
    results = viewer.doc ? searchGraph(viewer.doc, viewer.graph, input.value) : [];
    active = -1;
    if (!input.value.trim() || !viewer.scene) { close(); if (highlightAll) setHighlightAll(false); return; }
    count.textContent = results.length === 1 ? '1 match' : `${results.length} matches`;
    const rows = results.slice(0, MAX_ROWS).map((r, k) => el('li', { role: 'option', 'data-result': String(k),
      onmousedown: (e) => { e.preventDefault(); mark(k); close(); jump(k); input.blur(); } },
    el('span', { class: 'search-op', text: r.op }), el('span', { class: 'search-name', text: r.name || '(unnamed)' })));
    if (results.length > MAX_ROWS) rows.push(el('li', { class: 'search-more', text: `… ${results.length - MAX_ROWS} more` }));
    list.replaceChildren(...rows);
    panel.hidden = false;
    mark(results.length ? 0 : -1);   // Enter takes the first; arrows move on from it
    if (highlightAll) markAll();
  };

  // Large graphs: wait for a pause in typing (a query over 100k nodes takes ~0.1 s).
  let typing = 0;
  input.addEventListener('input', () => {
    clearTimeout(typing);
    const nodes = viewer.doc ? viewer.doc.graphs[viewer.graph].nodes.length : 0;
    if (nodes > LARGE_GRAPH) typing = setTimeout(() => { typing = 0; update(); }, 150); else update();
  });
  input.addEventListener('focus', () => { if (input.value) { const a = active; update(); mark(a); } });
  input.addEventListener('blur', close);
  input.addEventListener('keydown', (e) => {
    if (typing && (e.key === 'Enter' || e.key.startsWith('Arrow'))) { clearTimeout(typing); typing = 0; update(); }
    const n = Math.min(results.length, MAX_ROWS);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!n) return;
      const next = e.key === 'ArrowDown' ? (active + 1) % n : (active <= 0 ? n - 1 : active - 1);
      mark(next); jump(next);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (!n) return;
      const chosen = active >= 0 ? active : 0;
      // closed first: the node is centred on the whole canvas, no longer beside the list
      mark(chosen); close(); jump(chosen); input.blur();
    } else if (e.key === 'Escape') {
      input.value = ''; close(); input.blur();
      if (highlightAll) setHighlightAll(false);
    }
  });
  window.addEventListener('keydown', (e) => {   // "/" or Ctrl+F jumps to the field
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA')) return;
    if ((e.key === '/' || ((e.ctrlKey || e.metaKey) && e.key === 'f')) && viewer.scene) { e.preventDefault(); input.focus(); input.select(); }
  });

  return {
    // For the automation API: matches of `query` as {kind, index, name, op}.
    find: (query) => (viewer.doc ? searchGraph(viewer.doc, viewer.graph, query) : []),
    // Select and centre the k-th match of `query`; the match or null.
    async jumpTo(query, k = 0) {
      input.value = query; update(); close();
      if (!results[k]) return null;
      mark(k); await jump(k);
      return results[k];
    },
    // Mark every match of `query` (null: stop marking); number of boxes marked.
    highlightAll(query) {
      if (query == null) { setHighlightAll(false); return 0; }
      input.value = query; update(); close();
      setHighlightAll(true);
      return viewer.highlight ? viewer.highlight.boxes : 0;
    },
  };
}
