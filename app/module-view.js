// The module view of a graph: what is drawn when the graph's module hierarchy
// (docs/graph-schema.md `groups`, `node_group`) is shown with some modules expanded.
// Pure data, no DOM: used by the layout worker, the UI thread and node scripts.
//
// Given the set of expanded module paths:
//   - an op node is drawn as its own box when every module enclosing it is expanded;
//   - every other op is inside exactly one collapsed module box: the outermost
//     collapsed module on its path (whose ancestors are all expanded);
//   - an expanded module whose ancestors are expanded is a frame holding its children;
//   - the flat edges (one per value and consumer, as in graph-view.js) are mapped onto
//     the visible boxes; edges inside one box vanish, the rest are aggregated into one
//     edge per (source box, target box) pair, labelled with the value's shape when it
//     carries one value, "N tensors" when several.

import {
  CATEGORIES, clip, ioBox, KIND_FRAME, KIND_INPUT, KIND_MODULE, KIND_OUTPUT, opBox, opCategory, shapeLabel,
} from './graph-view.js';

// Graphs with more op nodes than this open as modules (when they have groups); smaller
// ones open flat, everything drawn.
export const FLAT_MAX_NODES = 300;

// Whether a graph carries a usable hierarchy (a document made elsewhere may not: then
// the graph is drawn flat).
export const hasGroups = (g) => Array.isArray(g.groups) && g.groups.length > 0 && Array.isArray(g.node_group)
  && g.node_group.length === g.nodes.length && g.groups.every((x) => x && typeof x === 'object' && typeof x.path === 'string');

export function defaultMode(g) {
  return hasGroups(g) && g.nodes.length > FLAT_MAX_NODES ? 'modules' : 'flat';
}

// The modules a graph opens with expanded: while the view would show fewer than
// OPEN_MIN_BOXES boxes, its biggest collapsed module opens (a lone wrapper such as
// Hugging Face's "transformer" or a torch wrapper "m", then BERT's "bert" beside its
// small "cls" head, then "encoder"), as long as the view stays within OPEN_MAX_BOXES.
const OPEN_MIN_BOXES = 8, OPEN_MAX_BOXES = 40;
export function defaultExpanded(g) {
  if (!hasGroups(g)) return [];
  const tree = groupTree(g), G = tree.G;
  const children = new Int32Array(G + 1);   // boxes of a group's own level; [G]: the top's
  for (let i = 0; i < g.nodes.length; i++) children[tree.nodeGroup[i] >= 0 ? tree.nodeGroup[i] : G]++;
  for (let k = 0; k < G; k++) children[tree.parent[k] >= 0 ? tree.parent[k] : G]++;
  const open = new Uint8Array(G), expanded = [];
  for (let boxes = children[G]; boxes < OPEN_MIN_BOXES;) {
    let best = -1;   // the biggest module drawn as a box: its parent is open (or the top)
    for (let k = 0; k < G; k++) {
      const p = tree.parent[k];
      if (!open[k] && !tree.shape[k] && (p < 0 || open[p]) && (best < 0 || tree.nodes[k] > tree.nodes[best])) best = k;
    }
    if (best < 0 || boxes - 1 + children[best] > OPEN_MAX_BOXES) break;
    open[best] = 1;
    expanded.push(g.groups[best].path);
    boxes += children[best] - 1;
  }
  return expanded;
}

const CAT_SKIP = new Set(['other', 'constant', 'shape', 'io']);   // never a module's colour
const trees = new WeakMap();

/**
 * The static hierarchy of a graph, validated (the document is untrusted: a parent must
 * precede its child, a node's group must exist), computed once per graph object:
 *   {G, parent: Int32Array, depth: Int32Array, nodeGroup: Int32Array (per node, -1 none),
 *    nodes: Int32Array (ops inside each group, all levels), byPath: Map path -> group,
 *    shape: Uint8Array (1: a "shape computation" group)}
 * (the colours of the groups: groupCategories)
 */
export function groupTree(g) {
  let tree = trees.get(g);
  if (tree) return tree;
  const groups = hasGroups(g) ? g.groups : [];
  const G = groups.length, N = g.nodes.length;
  const parent = new Int32Array(G), depth = new Int32Array(G), byPath = new Map();
  for (let k = 0; k < G; k++) {
    const p = groups[k] && Number.isInteger(groups[k].parent) ? groups[k].parent : -1;
    parent[k] = p >= 0 && p < k ? p : -1;
    depth[k] = parent[k] >= 0 ? depth[parent[k]] + 1 : 0;
    const path = groups[k] && typeof groups[k].path === 'string' ? groups[k].path : `#${k}`;
    if (!byPath.has(path)) byPath.set(path, k);
  }
  const nodeGroup = new Int32Array(N).fill(-1);
  const nodes = new Int32Array(G);
  if (G) {
    for (let i = 0; i < N; i++) {
      const k = g.node_group[i];
      if (!Number.isInteger(k) || k < 0 || k >= G) continue;
      nodeGroup[i] = k;
      nodes[k]++;
    }
  }
  for (let k = G - 1; k >= 0; k--) {   // children follow parents: sums flow upwards
    if (parent[k] >= 0) nodes[parent[k]] += nodes[k];
  }
  const shape = new Uint8Array(G);
  for (let k = 0; k < G; k++) if (groups[k] && groups[k].kind === 'shape') shape[k] = 1;
  tree = { G, parent, depth, nodeGroup, nodes, byPath, shape };
  trees.set(g, tree);
  return tree;
}

// Per group of graph g of doc, its colour: the most frequent op category inside (by the
// document's "operators" table); a group "shape computation" (docs/graph-schema.md, kind
// "shape") is coloured as what it holds, and never opened for the reader (defaultExpanded).
const groupColours = new WeakMap();
export function groupCategories(doc, g) {
  let category = groupColours.get(g);
  if (category) return category;
  const tree = groupTree(g), { G, parent, nodeGroup } = tree;
  const C = CATEGORIES.length, catCount = new Int32Array(G * C);
  for (let i = 0; i < g.nodes.length; i++) if (nodeGroup[i] >= 0) catCount[nodeGroup[i] * C + opCategory(doc, g.nodes[i])]++;
  for (let k = G - 1; k >= 0; k--) {   // children follow parents: sums flow upwards
    const p = parent[k];
    if (p >= 0) for (let c = 0; c < C; c++) catCount[p * C + c] += catCount[k * C + c];
  }
  category = new Uint8Array(G);
  const SHAPE = CATEGORIES.indexOf('shape');
  for (let k = 0; k < G; k++) {
    let best = 0, bestCount = 0;
    for (let c = 0; c < C; c++) {
      if (CAT_SKIP.has(CATEGORIES[c])) continue;
      if (catCount[k * C + c] > bestCount) { best = c; bestCount = catCount[k * C + c]; }
    }
    category[k] = tree.shape[k] ? SHAPE : best;
  }
  groupColours.set(g, category);
  return category;
}

// Ancestors of group k, outermost first, k included.
export function groupChain(tree, k) {
  const chain = [];
  for (let p = k; p >= 0; p = tree.parent[p]) chain.unshift(p);
  return chain;
}

export function humanCount(n) {
  for (const [unit, k] of [['G', 1e9], ['M', 1e6], ['K', 1e3]]) if (n >= k) return `${+(n / k).toPrecision(3)}${unit}`;
  return String(n);
}

// The text of a collapsed module's box.
function moduleBox(g, tree, category, k) {
  const group = g.groups[k];
  const cost = g.cost && g.cost.groups ? g.cost.groups : null;
  const figure = (key) => (cost && Array.isArray(cost[key]) && typeof cost[key][k] === 'number' ? cost[key][k] : 0);
  const n = tree.nodes[k];
  const params = figure('params'), flops = figure('flops'), unknown = figure('unknown');
  const lines = [`${n} node${n === 1 ? '' : 's'}${params ? ` · ${humanCount(params)} params` : ''}`];
  // nodes not counted (sizes not set, no rule): the sum is only a lower bound, never the figure
  if (unknown) lines.push(flops ? `≥ ${humanCount(flops)} FLOPs` : 'FLOPs not counted');
  else if (flops) lines.push(`${humanCount(flops)} FLOPs`);
  const r = group.repeat;
  if (r && Number.isInteger(r.count) && Number.isInteger(r.index)) lines.push(clip(`repeat ${r.index + 1} of ${r.count} (${r.of})`, 32));
  return { kind: KIND_MODULE, ref: k, title: clip(String(group.name ?? `#${k}`), 32), lines, category: category[k],
    repeat: !!r };
}

const flats = new WeakMap();

// The flat edges of a graph (as graph-view.js draws them: one per value and consumer,
// from its producer, a node or graph input), once per graph object. Ends are
// entities: nodes 0..N-1, graph inputs that are not weights N..N+I-1, outputs after.
function flatGraph(g) {
  let f = flats.get(g);
  if (f) return f;
  const values = g.values, N = g.nodes.length;
  const producer = new Int32Array(values.length).fill(-1);   // value -> entity
  const inputs = [];
  for (const v of g.inputs) {
    if (!values[v] || values[v][2] != null || producer[v] >= 0) continue;
    producer[v] = N + inputs.length;
    inputs.push(v);
  }
  for (let i = 0; i < N; i++) for (const v of g.nodes[i].out) if (v >= 0 && v < values.length) producer[v] = i;
  const src = [], dst = [], value = [];
  for (let i = 0; i < N; i++) {
    const node = g.nodes[i];
    for (const v of node.in) {
      if (v < 0 || v >= values.length || producer[v] < 0) continue;
      if (node.out.includes(v)) continue;   // a node reading its own output: no edge
      src.push(producer[v]); dst.push(i); value.push(v);
    }
  }
  g.outputs.forEach((v, k) => {
    if (v >= 0 && v < values.length && producer[v] >= 0) { src.push(producer[v]); dst.push(N + inputs.length + k); value.push(v); }
  });
  f = { inputs, producer, src: Int32Array.from(src), dst: Int32Array.from(dst), value: Int32Array.from(value) };
  flats.set(g, f);
  return f;
}

/**
 * The view of graphs[graphIndex] with the modules whose paths are in `expanded` open:
 *   boxes: [{kind, ref, title, lines, category}] — frames first (parents before
 *          children; ref = group), then graph inputs, ops (ref = node), collapsed modules
 *          (ref = group), graph outputs;
 *   container: Int32Array per box, the group whose frame holds it (-1: the top level);
 *   frameOf: Map group -> its frame box;
 *   edgeSrc/edgeDst (box indices), edgeValue (the value, or a key >= values.length for
 *   an edge of several values), edgeFlat (flat edges it stands for), valueLabel;
 *   opsDrawn, opsHidden (ops inside collapsed modules), flatEdges, hiddenEdges (flat
 *   edges inside one collapsed module).
 */
export function buildModuleView(doc, graphIndex, expanded) {
  const g = doc.graphs[graphIndex], values = g.values, N = g.nodes.length;
  const tree = groupTree(g), { G, parent, nodeGroup } = tree, category = groupCategories(doc, g);
  const open = new Uint8Array(G);
  for (const path of expanded) { const k = tree.byPath.get(path); if (k !== undefined) open[k] = 1; }
  // top[k]: the outermost collapsed group on k's path, -1 when all of it is expanded.
  const top = new Int32Array(G);
  for (let k = 0; k < G; k++) {
    const p = parent[k];
    top[k] = p >= 0 && top[p] >= 0 ? top[p] : (open[k] ? -1 : k);
  }

  const boxes = [], container = [];
  const frameOf = new Map(), moduleOf = new Int32Array(G).fill(-1);
  for (let k = 0; k < G; k++) {
    if (top[k] !== -1) continue;
    frameOf.set(k, boxes.length);
    boxes.push({ kind: KIND_FRAME, ref: k, title: clip(g.groups[k].path ?? `#${k}`, 60), lines: [], category: category[k] });
    container.push(parent[k]);
  }
  const flat = flatGraph(g), I = flat.inputs.length, O = g.outputs.length;
  const entityBox = new Int32Array(N + I + O);   // flat edge ends (nodes, inputs, outputs) -> box
  for (let k = 0; k < I; k++) {
    entityBox[N + k] = boxes.length;
    boxes.push(ioBox(doc, graphIndex, flat.inputs[k], KIND_INPUT));
    container.push(-1);
  }
  for (let k = 0; k < G; k++) if (top[k] === k) moduleOf[k] = -2;   // boxes made below, after the ops
  const nodeBox = new Int32Array(N);
  let opsDrawn = 0;
  for (let i = 0; i < N; i++) {
    const k = nodeGroup[i];
    if (k >= 0 && top[k] >= 0) { nodeBox[i] = -1 - top[k]; continue; }   // resolved below
    nodeBox[i] = boxes.length;
    container.push(k);
    boxes.push(opBox(doc, graphIndex, i, (v) => flat.producer[v] >= 0));
    opsDrawn++;
  }
  for (let k = 0; k < G; k++) {
    if (moduleOf[k] !== -2) continue;
    moduleOf[k] = boxes.length;
    boxes.push(moduleBox(g, tree, category, k));
    container.push(parent[k]);
  }
  for (let i = 0; i < N; i++) {
    if (nodeBox[i] < 0) nodeBox[i] = moduleOf[-1 - nodeBox[i]];
    entityBox[i] = nodeBox[i];
  }
  for (let k = 0; k < O; k++) {
    entityBox[N + I + k] = boxes.length;
    boxes.push(ioBox(doc, graphIndex, g.outputs[k], KIND_OUTPUT));
    container.push(-1);
  }

  // Flat edges onto the boxes; those between two boxes are sorted by (source box,
  // target box, value) and aggregated per box pair (no hashing: 50k-node graphs).
  const FE = flat.src.length, V = values.length + 1, NB = boxes.length + 1;
  const keys = [];
  let hiddenEdges = 0;
  for (let e = 0; e < FE; e++) {
    const a = entityBox[flat.src[e]], b = entityBox[flat.dst[e]];
    if (a === b) hiddenEdges++;
    else keys.push((a * NB + b) * V + flat.value[e]);   // < 2^53 for any graph this page can hold
  }
  const flatEdges = FE;
  const sorted = Float64Array.from(keys).sort();
  const src = [], dst = [], perEdge = [], edgeValueList = [], valueLabel = new Map();
  for (let k = 0; k < sorted.length;) {
    const pair = Math.floor(sorted[k] / V), v0 = sorted[k] - pair * V;
    let count = 0, distinct = 0;
    for (let last = -1; k < sorted.length && Math.floor(sorted[k] / V) === pair; k++) {
      const v = sorted[k] - pair * V;
      if (v !== last) distinct++;
      last = v; count++;
    }
    const e = src.length;
    src.push(Math.floor(pair / NB)); dst.push(pair % NB); perEdge.push(count);
    if (distinct > 1) {
      edgeValueList.push(values.length + e);
      valueLabel.set(values.length + e, `${distinct} tensors`);
    } else {
      edgeValueList.push(v0);
      if (!valueLabel.has(v0)) valueLabel.set(v0, values[v0] ? shapeLabel(doc.types, values[v0][1]) : '');
    }
  }
  const edgeValue = Int32Array.from(edgeValueList);
  return {
    boxes, container: Int32Array.from(container), frameOf, moduleOf, nodeBox,
    edgeSrc: Int32Array.from(src), edgeDst: Int32Array.from(dst), edgeValue, edgeFlat: Int32Array.from(perEdge), valueLabel,
    opsDrawn, opsHidden: N - opsDrawn, flatEdges, hiddenEdges,
    expanded: [...frameOf.keys()].map((k) => g.groups[k].path),
  };
}
