// What the page draws for one graph of a graph document (docs/graph-schema.md):
// boxes (graph inputs, op nodes, graph outputs) with their text, and the edges
// between them. Pure data, no DOM: used by the layout worker and by the UI thread.

export const KIND_OP = 0, KIND_INPUT = 1, KIND_OUTPUT = 2, KIND_GHOST = 3;
// Module hierarchy (app/module-view.js): a collapsed module's box, an expanded module's frame.
export const KIND_MODULE = 4, KIND_FRAME = 5;

// Categories index the renderer's palette (app/renderer.js PALETTES), keep in step.
export const CATEGORIES = ['other', 'conv', 'matmul', 'activation', 'normalization', 'pooling',
  'shape', 'elementwise', 'data', 'control', 'constant', 'io'];
const CAT = Object.fromEntries(CATEGORIES.map((name, i) => [name, i]));

// What the document's "operators" table (docs/graph-schema.md: display name, category,
// slot names, from wetron.ops.metadata, generated from the frameworks' own op
// definitions) says of a node's op, or null.
export function opInfo(doc, node) {
  const table = doc.operators, key = `${node.domain}:${node.op}`;
  const info = table && typeof table === 'object' && Object.hasOwn(table, key) ? table[key] : null;
  return info && typeof info === 'object' ? info : null;
}

export function opCategory(doc, node) {
  const info = opInfo(doc, node), c = info ? CATEGORIES.indexOf(info.category) : -1;
  return c >= 0 ? c : CAT.other;
}

// The category of op type `op` in lists by op type (the sidebar's "Operators"): the
// first entry of the table with that type.
const categoriesByType = new WeakMap();
export function opTypeCategory(doc, op) {
  let byType = categoriesByType.get(doc);
  if (!byType) {
    byType = new Map();
    for (const [key, info] of Object.entries(doc.operators || {})) {
      const type = key.slice(key.indexOf(':') + 1), c = info ? CATEGORIES.indexOf(info.category) : -1;
      if (!byType.has(type)) byType.set(type, c >= 0 ? c : CAT.other);
    }
    categoriesByType.set(doc, byType);
  }
  return byType.get(op) ?? CAT.other;
}

// The box title of a node's op: its display name (TFLite CONV_2D -> Conv2D).
export function opTitle(doc, node) {
  const info = opInfo(doc, node);
  return info && typeof info.name === 'string' && info.name ? info.name : String(node.op);
}

// Slot `slot` of `count` named by the metadata's list: a name ending in "..." takes any
// number of tensors (those between the fixed slots before and after it: ONNX Concat
// "inputs...", TF ConcatV2 "values...", "axis"). null where the list does not say.
function slotName(names, slot, count) {
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) return null;
  const variadic = names.filter((n) => n.endsWith('...')).length;
  if (variadic > 1) return null;
  const v = names.findIndex((n) => n.endsWith('...'));
  if (v < 0 || slot < v) return names[slot] ?? null;
  const after = names.length - 1 - v;
  if (slot >= count - after) return names[names.length - (count - slot)] ?? null;
  const base = names[v].slice(0, -3);
  return count - after - v > 1 ? `${base}[${slot - v}]` : base;
}

// The name of a node's input slot: the op's, from the metadata; else, for a weight named
// by its module path, its last part ("blk.0.attn_q.weight" -> "weight", "dense/kernel" ->
// "kernel": the file's own name, as PyTorch, GGUF, Keras, TensorFlow write them).
export function inputName(doc, node, slot, valueName = '') {
  const info = opInfo(doc, node);
  const name = info ? slotName(info.inputs, slot, node.in.length) : null;
  if (name) return name;
  const dot = Math.max(valueName.lastIndexOf('.'), valueName.lastIndexOf('/'));
  if (dot > 0 && dot < valueName.length - 1) return valueName.slice(dot + 1);
  return `in${slot}`;
}

export function outputName(doc, node, slot) {
  const info = opInfo(doc, node);
  const name = info ? slotName(info.outputs, slot, node.out.length) : null;
  return name || (node.out.length > 1 ? `out${slot}` : 'output');
}

// ONNX TensorProto.DataType codes, for the sidebar's Cast "to" attribute.
const DTYPE_CODES = ['undefined', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64',
  'string', 'bool', 'float16', 'float64', 'uint32', 'uint64', 'complex64', 'complex128',
  'bfloat16', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz', 'uint4', 'int4',
  'float4e2m1', 'float8e8m0', 'uint2', 'int2', 'float6e2m3', 'float6e3m2'];
export const dtypeName = (code) => DTYPE_CODES[code] || `dtype${code}`;

const MAX_TEXT = 42;
export function clip(text, max = MAX_TEXT) {
  text = String(text);
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

// One dim as shown: an int, a symbol or a short polynomial of symbols ("batch",
// "2*seq+1") as it is; null, and expressions other tools write into files
// ("floor((height - 1)/2) + 1", which nest a level per strided layer), as "?": the
// sidebar gives the whole text as a tooltip (typeTitle), and setting the sizes
// (the Sizes panel) makes them numbers.
const PLAIN_DIM = /^[A-Za-z0-9_.+\-*]{1,24}$/;
export function dimText(d) {
  if (d === null || d === undefined) return '?';
  return typeof d === 'string' && !PLAIN_DIM.test(d) ? '?' : String(d);
}

export function dimsText(shape) {
  if (shape == null) return '?';
  return shape.map(dimText).join('×');
}

// The full type text when typeText shows some dim as "?" for its length, else ''.
export function typeTitle(types, index) {
  const t = index == null ? null : types[index];
  if (!t || !Array.isArray(t.shape) || !t.shape.some((d) => typeof d === 'string' && dimText(d) === '?')) return '';
  return `${t.dtype}[${t.shape.map((d) => (d === null ? '?' : d)).join(', ')}]`;
}

// "float32[batch,3,32,32]" style text for a type entry of the document.
export function typeText(types, index) {
  const t = index == null ? null : types[index];
  if (!t) return '?';
  switch (t.kind) {
    case 'tensor': case 'sparse_tensor': {
      const shape = t.shape == null ? '[?]' : `[${t.shape.map(dimText).join(',')}]`;
      return (t.kind === 'sparse_tensor' ? 'sparse ' : '') + t.dtype + shape;
    }
    case 'sequence': return `sequence<${typeText(types, t.elem)}>`;
    case 'optional': return `optional<${typeText(types, t.elem)}>`;
    case 'map': return `map<${t.key},${typeText(types, t.value)}>`;
    case 'opaque': return `opaque ${t.domain}.${t.name}`;
    default: return '?';
  }
}

// Edge label: the tensor's shape, where the document knows it.
export function shapeLabel(types, index) {
  const t = index == null ? null : types[index];
  if (!t || (t.kind !== 'tensor' && t.kind !== 'sparse_tensor') || t.shape == null) return '';
  return t.shape.length === 0 ? 'scalar' : clip(dimsText(t.shape), 32);
}

// The lines under a node's op name: the document gives them (docs/graph-schema.md, a
// node's "box": wetron.ops, each op's rule from its framework's attributes), the page
// cuts them to its boxes' width.
const BOX_LINE = 32;
const boxLines = (node) => (Array.isArray(node.box) ? node.box.map((line) => clip(line, BOX_LINE)) : []);

const MAX_WEIGHT_LINES = 4;

// The box of node i: op type, the document's box lines, one line per weight input. `produced(v)`:
// whether value v comes from a box (then it is an edge, not a weight line).
export function opBox(doc, graphIndex, i, produced) {
  const g = doc.graphs[graphIndex], values = g.values, tensors = doc.tensors, node = g.nodes[i];
  const lines = boxLines(node);
  let weights = 0;
  node.in.forEach((v, slot) => {
    if (v < 0 || !values[v] || values[v][2] == null || produced(v)) return;
    if (weights++ >= MAX_WEIGHT_LINES) return;
    const t = tensors[values[v][2]];
    lines.push(`${clip(inputName(doc, node, slot, values[v][0]), 16)} ⟨${t && t.shape ? (t.shape.length ? dimsText(t.shape) : 'scalar') : '?'}⟩`);
  });
  if (weights > MAX_WEIGHT_LINES) lines.push(`+${weights - MAX_WEIGHT_LINES} more`);
  return { kind: KIND_OP, ref: i, title: clip(opTitle(doc, node), 32), lines, category: opCategory(doc, node) };
}

// The box of graph input or output value v.
export function ioBox(doc, graphIndex, v, kind) {
  const values = doc.graphs[graphIndex].values;
  const t = values[v] ? values[v][1] : null;
  return { kind, ref: v, title: clip(values[v] ? values[v][0] : '?'), lines: [clip(typeText(doc.types, t))], category: CAT.io };
}

/**
 * The drawable view of graphs[graphIndex]:
 *   boxes: [{kind, ref, title, lines, category}] — ref is the node index (ops) or the
 *          value index (graph inputs/outputs); graph inputs first, then ops, then outputs.
 *   edgeSrc/edgeDst (Int32Array, box indices), edgeValue (Int32Array, value index),
 *   valueLabel: Map value -> shape text for edge labels.
 */
export function buildView(doc, graphIndex = 0) {
  const g = doc.graphs[graphIndex];
  const values = g.values, types = doc.types;
  const isWeight = (v) => values[v] && values[v][2] != null;
  const boxes = [];
  const producer = new Int32Array(values.length).fill(-1);   // value -> box

  const inputBox = new Map();
  for (const v of g.inputs) {
    if (isWeight(v) || inputBox.has(v)) continue;
    inputBox.set(v, boxes.length);
    producer[v] = boxes.length;
    boxes.push(ioBox(doc, graphIndex, v, KIND_INPUT));
  }
  const firstOp = boxes.length;
  g.nodes.forEach((node, i) => {
    boxes.push(opBox(doc, graphIndex, i, (v) => producer[v] >= 0));
    for (const v of node.out) if (v >= 0) producer[v] = firstOp + i;
  });

  const src = [], dst = [], val = [];
  g.nodes.forEach((node, i) => {
    for (const v of node.in) {
      if (v < 0 || producer[v] < 0 || producer[v] === firstOp + i) continue;
      src.push(producer[v]); dst.push(firstOp + i); val.push(v);
    }
  });
  for (const v of g.outputs) {
    const box = boxes.length;
    boxes.push(ioBox(doc, graphIndex, v, KIND_OUTPUT));
    if (producer[v] >= 0) { src.push(producer[v]); dst.push(box); val.push(v); }
  }

  const valueLabel = new Map();
  for (const v of val) if (!valueLabel.has(v)) valueLabel.set(v, values[v] ? shapeLabel(types, values[v][1]) : '');
  return {
    boxes, valueLabel,
    edgeSrc: Int32Array.from(src), edgeDst: Int32Array.from(dst), edgeValue: Int32Array.from(val),
  };
}

// --- box labels by node name (the toolbar's "Names", key N; app/viewer.js setLabels) ---

// A node name as a box title: whole when short, else its end (where the names of one
// model differ: "…/attention/self/query/MatMul"), cut after a separator if one is near.
export function nameTitle(name, max = 32) {
  name = String(name);
  if (name.length <= max) return name;
  let tail = name.slice(name.length - (max - 1));
  const cut = tail.search(/[/.:]/);
  if (cut > 0 && cut < tail.length - 12) tail = tail.slice(cut);
  return `…${tail}`;
}

// Retitles the op boxes of a view (graph-view.js or module-view.js) with their node's
// name; nodes without a name keep their op type. Module boxes and graph inputs/outputs
// are titled by name already.
export function labelByName(doc, graphIndex, boxes) {
  const nodes = doc.graphs[graphIndex].nodes;
  for (const b of boxes) if (b.kind === KIND_OP && nodes[b.ref] && nodes[b.ref].name) b.title = nameTitle(nodes[b.ref].name);
}
