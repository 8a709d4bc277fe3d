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

// ONNX TensorProto.DataType codes, for the Cast "to" attribute.
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

const ints = (v) => (Array.isArray(v) ? v : [v]);
const allEqual = (v, x) => ints(v).every((e) => e === x);

// A few attributes worth reading on the box itself; everything is in the sidebar.
function attributeLines(node, doc) {
  const a = Object.create(null);
  for (const attr of node.attrs || []) a[attr.name] = attr;
  const val = (name) => (a[name] ? a[name].value : undefined);
  const lines = [];
  const parts = [];
  const kernel = val('kernel_shape');
  if (kernel !== undefined) parts.push(`kernel ${ints(kernel).join('×')}`);
  const strides = val('strides');
  if (strides !== undefined && !allEqual(strides, 1)) {
    const s = ints(strides);
    parts.push(`stride ${s.every((x) => x === s[0]) ? s[0] : s.join('×')}`);
  }
  if (parts.length) lines.push(parts.join(', '));
  const group = val('group');
  if (group !== undefined && group !== 1) lines.push(`groups ${group}`);
  const dil = val('dilations');
  if (dil !== undefined && !allEqual(dil, 1)) lines.push(`dilation ${ints(dil).join('×')}`);
  if (kernel !== undefined) return lines;
  if (node.domain === 'tflite') {
    const own = tfliteLines(val);
    if (own.length) return own;
  }
  if (node.domain === 'darknet') return darknetLines(val);

  switch (node.op) {
    case 'Cast': if (val('to') !== undefined) lines.push(`to ${dtypeName(val('to'))}`); return lines;
    case 'Transpose': if (val('perm') !== undefined) lines.push(`perm ${ints(val('perm')).join(',')}`); return lines;
    case 'Gemm': {
      const flags = [];
      if (val('transA')) flags.push('transA');
      if (val('transB')) flags.push('transB');
      if (flags.length) lines.push(flags.join(', '));
      return lines;
    }
    case 'Constant': {
      const attr = node.attrs && node.attrs[0];
      if (!attr) return lines;
      if (attr.type === 'tensor' && doc.tensors[attr.value]) {
        const t = doc.tensors[attr.value];
        lines.push(`${t.dtype} ⟨${t.shape.length ? dimsText(t.shape) : 'scalar'}⟩`);
      } else if (attr.value !== undefined) lines.push(clip(`${attr.name} ${JSON.stringify(attr.value)}`, 32));
      return lines;
    }
  }
  // Subgraphs by name (they open from the sidebar).
  for (const attr of node.attrs || []) {
    if (attr.type !== 'graph' || lines.length >= 3) continue;
    const g = doc.graphs[attr.value];
    lines.push(clip(`${attr.name} ▸ ${g && g.name ? g.name : `graph ${attr.value}`}`, 32));
  }
  if (lines.length) return lines;
  // Otherwise: the first two small scalar or short list attributes.
  const quiet = node.domain === 'tflite' ? TFLITE_QUIET : null;
  for (const attr of node.attrs || []) {
    if (lines.length >= 2) break;
    if (quiet && quiet.has(attr.name)) continue;
    const v = attr.value;
    if (typeof v === 'number') lines.push(`${attr.name} ${Number.isInteger(v) ? v : +v.toPrecision(4)}`);
    else if (typeof v === 'string' && attr.type === 'string') lines.push(clip(`${attr.name} ${v}`, 32));
    else if (Array.isArray(v) && v.length <= 6 && attr.type === 'ints') lines.push(`${attr.name} ${v.join(',')}`);
  }
  return lines;
}

// TFLite's builtin options worth reading on the box (the ops' defaults left out): the
// fused activation after the op's name ("Conv2D" then "+ Relu6"), the window, the depth
// multiplier, the matmul flags. Options that say nothing on a box are never shown.
const TFLITE_ACTIVATIONS = { RELU: 'Relu', RELU6: 'Relu6', RELU_N1_TO_1: 'ReluN1To1', TANH: 'Tanh', SIGN_BIT: 'SignBit' };
const TFLITE_QUIET = new Set(['fused_activation_function', 'pot_scale_int16', 'quantized_bias_type',
  'asymmetric_quantize_inputs', 'weights_format', 'keep_num_dims', 'quant_spec', 'padding',
  'stride_d', 'stride_h', 'stride_w', 'dilation_d_factor', 'dilation_h_factor', 'dilation_w_factor',
  'depth_multiplier', 'filter_height', 'filter_width', 'adj_x', 'adj_y']);
// "2" when every axis has the same value, "1×2×2" otherwise; null when all are 1 or absent.
function perAxis(values) {
  const v = values.filter((x) => x !== undefined);
  if (!v.length || v.every((x) => x === 1)) return null;
  return v.every((x) => x === v[0]) ? String(v[0]) : v.join('×');
}
function tfliteLines(val) {
  const lines = [];
  const act = TFLITE_ACTIVATIONS[val('fused_activation_function')];
  if (act) lines.push(`+ ${act}`);
  const parts = [];
  const fh = val('filter_height'), fw = val('filter_width');
  if (fh !== undefined && fw !== undefined) parts.push(`kernel ${fh}×${fw}`);
  const stride = perAxis([val('stride_d'), val('stride_h'), val('stride_w')]);
  if (stride) parts.push(`stride ${stride}`);
  if (val('padding') === 'VALID') parts.push('VALID');
  if (parts.length) lines.push(parts.join(', '));
  const dilation = perAxis([val('dilation_d_factor'), val('dilation_h_factor'), val('dilation_w_factor')]);
  if (dilation) lines.push(`dilation ${dilation}`);
  const mult = val('depth_multiplier');
  if (mult !== undefined && mult !== 1) lines.push(`multiplier ${mult}`);
  const flags = ['adj_x', 'adj_y', 'keep_num_dims'].filter((f) => val(f) === 'true');
  if (flags.length) lines.push(flags.join(', '));
  return lines;
}

// Darknet's layer options on the box (formats/darknet.py states the activation even where
// the .cfg leaves it at Darknet's default): the fused activation ("+ leaky"), the filters
// and window ("16 filters, 3×3/2"), what a route or shortcut reads.
function darknetLines(val) {
  const lines = [];
  const act = val('activation');
  if (act !== undefined && act !== 'linear') lines.push(`+ ${act}`);
  const parts = [];
  const filters = val('filters'), output = val('output'), size = val('size'), stride = val('stride');
  if (filters !== undefined) parts.push(`${filters} filters`);
  if (output !== undefined) parts.push(`output ${output}`);
  if (size !== undefined) parts.push(`${size}×${size}${stride !== undefined ? `/${stride}` : ''}`);
  else if (stride !== undefined) parts.push(`stride ${stride}`);
  if (val('batch_normalize') === 1) parts.push('batch norm');
  if (parts.length) lines.push(parts.join(', '));
  for (const name of ['layers', 'from', 'classes']) {
    const v = val(name);
    if (v !== undefined) lines.push(`${name} ${ints(v).join(',')}`);
  }
  return lines;
}

const MAX_WEIGHT_LINES = 4;

// The box of node i: op type, key attributes, one line per weight input. `produced(v)`:
// whether value v comes from a box (then it is an edge, not a weight line).
export function opBox(doc, graphIndex, i, produced) {
  const g = doc.graphs[graphIndex], values = g.values, tensors = doc.tensors, node = g.nodes[i];
  const lines = attributeLines(node, doc);
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
