// Tensors (values) of the graph on screen: who produces and who consumes each, which
// drawn edges carry it, and which tensors a drawn edge carries (one in the flat view;
// in the module view an edge between two boxes stands for every tensor flowing between
// them, app/module-view.js). Pure data over the document and the scene, no DOM.

import { KIND_INPUT, KIND_MODULE, KIND_OP, KIND_OUTPUT, typeText } from './graph-view.js';
import { groupTree, hasGroups } from './module-view.js';

const graphIndexes = new WeakMap();   // graph -> {producer, consumerStart, consumers, isInput, isOutput, inferred}
const sceneIndexes = new WeakMap();   // scene -> {nodeBox, inputBox, outputBox}

// Producer and consumers of every value of graph g (flat, as the document has them).
export function valueIndex(g) {
  let ix = graphIndexes.get(g);
  if (ix) return ix;
  const V = g.values.length, N = g.nodes.length;
  const producer = new Int32Array(V).fill(-1);   // node index
  for (let i = 0; i < N; i++) for (const v of g.nodes[i].out) if (v >= 0 && v < V) producer[v] = i;
  const count = new Int32Array(V + 1);
  for (let i = 0; i < N; i++) {
    const seen = new Set();
    for (const v of g.nodes[i].in) if (v >= 0 && v < V && !seen.has(v)) { seen.add(v); count[v + 1]++; }
  }
  for (let v = 0; v < V; v++) count[v + 1] += count[v];
  const fill = count.slice(0, V), consumers = new Int32Array(count[V]);
  for (let i = 0; i < N; i++) {
    const seen = new Set();
    for (const v of g.nodes[i].in) if (v >= 0 && v < V && !seen.has(v)) { seen.add(v); consumers[fill[v]++] = i; }
  }
  const isWeight = (v) => g.values[v] && g.values[v][2] != null;
  const isInput = new Uint8Array(V), isOutput = new Uint8Array(V);
  for (const v of g.inputs) if (v >= 0 && v < V && !isWeight(v)) isInput[v] = 1;
  for (const v of g.outputs) if (v >= 0 && v < V) isOutput[v] = 1;
  ix = { producer, consumerStart: count, consumers, isInput, isOutput, inferred: new Set(g.inferred || []) };
  graphIndexes.set(g, ix);
  return ix;
}

const nodeName = (g, i) => g.nodes[i].name || `#${i}`;

// Everything the sidebar shows of value v: name, type, dtype, shape, weight, producer,
// consumers ({kind: 'node', index, name, op} or {kind: 'input'|'output', value, name}).
export function tensorInfo(doc, graphIndex, v) {
  const g = doc.graphs[graphIndex], ix = valueIndex(g);
  const [name, type, tensor] = g.values[v];
  const t = type != null ? doc.types[type] : null;
  const w = tensor != null ? doc.tensors[tensor] : null;
  let dtype = null, shape;
  if (t && (t.kind === 'tensor' || t.kind === 'sparse_tensor')) { dtype = t.dtype; shape = t.shape; }
  else if (w) { dtype = w.dtype; shape = w.shape; }
  let producer = null;
  if (ix.producer[v] >= 0) {
    const i = ix.producer[v];
    producer = { kind: 'node', index: i, name: nodeName(g, i), op: g.nodes[i].op };
  } else if (ix.isInput[v]) producer = { kind: 'input', value: v, name };
  const consumers = [];
  for (let k = ix.consumerStart[v]; k < ix.consumerStart[v + 1]; k++) {
    const i = ix.consumers[k];
    consumers.push({ kind: 'node', index: i, name: nodeName(g, i), op: g.nodes[i].op });
  }
  if (ix.isOutput[v]) consumers.push({ kind: 'output', value: v, name });
  return {
    value: v, name: name || '', type: t ? typeText(doc.types, type) : (w ? `${w.dtype}[${(w.shape || []).join(',')}]` : '?'),
    dtype, shape: shape === undefined ? null : shape, inferred: ix.inferred.has(v),
    weight: tensor != null ? tensor : null, producer, consumers,
  };
}

// Where each entity of the graph is drawn in the scene: nodeBox (per node: its own box,
// else the box of the collapsed module holding it, -1 none), inputBox/outputBox (value ->
// box).
export function sceneBoxes(scene, g) {
  let sb = sceneIndexes.get(scene);
  if (sb) return sb;
  const nodeBox = new Int32Array(g.nodes.length).fill(-1), inputBox = new Map(), outputBox = new Map();
  const moduleBox = new Map();
  for (let i = 0; i < scene.boxes; i++) {
    const k = scene.kinds[i], r = scene.refs[i];
    if (k === KIND_OP && r < nodeBox.length) nodeBox[r] = i;
    else if (k === KIND_INPUT) inputBox.set(r, i);
    else if (k === KIND_OUTPUT) { if (!outputBox.has(r)) outputBox.set(r, i); }
    else if (k === KIND_MODULE) moduleBox.set(r, i);
  }
  if (moduleBox.size && hasGroups(g)) {
    const tree = groupTree(g);
    for (let n = 0; n < nodeBox.length; n++) {
      for (let k = tree.nodeGroup[n]; nodeBox[n] < 0 && k >= 0; k = tree.parent[k]) nodeBox[n] = moduleBox.get(k) ?? -1;
    }
  }
  sb = { nodeBox, inputBox, outputBox };
  sceneIndexes.set(scene, sb);
  return sb;
}

// The box drawing value v's producer (-1: none drawn, or a weight).
export function producerBox(scene, g, v) {
  const ix = valueIndex(g), sb = sceneBoxes(scene, g);
  if (ix.producer[v] >= 0) return sb.nodeBox[ix.producer[v]];
  return ix.isInput[v] ? sb.inputBox.get(v) ?? -1 : -1;
}

// The boxes drawing value v's consumers (a Set).
export function consumerBoxes(scene, g, v) {
  const ix = valueIndex(g), sb = sceneBoxes(scene, g), out = new Set();
  for (let k = ix.consumerStart[v]; k < ix.consumerStart[v + 1]; k++) {
    const b = sb.nodeBox[ix.consumers[k]];
    if (b >= 0) out.add(b);
  }
  if (ix.isOutput[v] && sb.outputBox.has(v)) out.add(sb.outputBox.get(v));
  return out;
}

// The values drawn edge e carries: its own, or for an aggregated edge of the module
// view (edgeValue >= values.length) every value flowing from its source box to its
// target box, in value order.
export function edgeTensors(scene, g, e) {
  const v = scene.edgeValue[e];
  if (v < g.values.length) return [v];
  const src = scene.edgeSrc[e], dst = scene.edgeDst[e], sb = sceneBoxes(scene, g), out = new Set();
  for (let n = 0; n < g.nodes.length; n++) {
    if (sb.nodeBox[n] !== dst) continue;
    for (const w of g.nodes[n].in) if (w >= 0 && w < g.values.length && !out.has(w) && producerBox(scene, g, w) === src) out.add(w);
  }
  for (const [w, b] of sb.outputBox) if (b === dst && producerBox(scene, g, w) === src) out.add(w);
  return [...out].sort((a, b) => a - b);
}

// The drawn edges carrying any of `values` (an edge from the value's producer box to
// one of its consumer boxes: the value's own, or an aggregated one).
export function tensorEdges(scene, g, values) {
  const V = g.values.length, out = [];
  const want = new Map();   // producer box -> {values: Set, consumers: Set}
  for (const v of values) {
    const p = producerBox(scene, g, v);
    if (p < 0) continue;
    const entry = want.get(p) || { values: new Set(), consumers: new Set() };
    entry.values.add(v);
    for (const c of consumerBoxes(scene, g, v)) entry.consumers.add(c);
    want.set(p, entry);
  }
  for (let e = 0; e < scene.edges; e++) {
    const entry = want.get(scene.edgeSrc[e]);
    if (!entry || !entry.consumers.has(scene.edgeDst[e])) continue;
    const ev = scene.edgeValue[e];
    if (ev >= V ? edgeTensors(scene, g, e).some((w) => entry.values.has(w)) : entry.values.has(ev)) out.push(e);
  }
  return out;
}
