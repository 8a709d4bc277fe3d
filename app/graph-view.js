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

const OPS_BY_CATEGORY = {
  conv: 'Conv ConvTranspose ConvInteger QLinearConv DeformConv FusedConv NhwcConv Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d',
  matmul: 'MatMul Gemm MatMulInteger QLinearMatMul Einsum FusedMatMul FusedGemm Attention MultiHeadAttention Linear Dense FullyConnected MatMulNBits GroupQueryAttention',
  activation: 'Relu LeakyRelu PRelu Sigmoid Tanh Softmax LogSoftmax Gelu FastGelu BiasGelu QuickGelu Elu Selu Celu HardSigmoid HardSwish Softplus Softsign Mish ThresholdedRelu Hardmax Swish SiLU ReLU GELU ReLU6 Relu6',
  normalization: 'BatchNormalization LayerNormalization InstanceNormalization GroupNormalization LpNormalization LRN MeanVarianceNormalization RMSNormalization SkipLayerNormalization SimplifiedLayerNormalization SkipSimplifiedLayerNormalization Dropout BatchNorm BatchNorm1d BatchNorm2d BatchNorm3d LayerNorm GroupNorm RMSNorm',
  pooling: 'MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool GlobalLpPool MaxRoiPool RoiAlign MaxUnpool AdaptiveAvgPool2d MaxPool2d AvgPool2d',
  shape: 'Reshape Transpose Flatten Squeeze Unsqueeze Shape Size Expand DepthToSpace SpaceToDepth',
  data: 'Concat Split Slice Gather GatherElements GatherND Scatter ScatterElements ScatterND Tile Pad Identity Cast CastLike Resize Upsample Compress OneHot NonZero TopK Range Trilu Unique ReverseSequence SplitToSequence ConcatFromSequence SequenceAt SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength QuantizeLinear DequantizeLinear DynamicQuantizeLinear Embedding',
  elementwise: 'Add Sub Mul Div Pow Sqrt Exp Log Abs Neg Reciprocal Floor Ceil Round Min Max Sum Mean Erf Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Equal Less LessOrEqual Greater GreaterOrEqual And Or Not Xor Clip Where Mod BitShift Sign IsNaN IsInf CumSum ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare ArgMax ArgMin BitwiseAnd BitwiseOr BitwiseXor BitwiseNot Det',
  control: 'If Loop Scan SequenceMap',
  constant: 'Constant ConstantOfShape RandomNormal RandomNormalLike RandomUniform RandomUniformLike EyeLike Bernoulli Multinomial',
};
const OP_CATEGORY = new Map();
for (const [cat, ops] of Object.entries(OPS_BY_CATEGORY)) for (const op of ops.split(' ')) OP_CATEGORY.set(op, CAT[cat]);
const CATEGORY_PATTERNS = [   // for op names not in the table (other formats, custom domains)
  [/conv/i, CAT.conv], [/matmul|gemm|linear|dense|attention/i, CAT.matmul],
  [/norm/i, CAT.normalization], [/pool/i, CAT.pooling],
  [/relu|gelu|sigmoid|tanh|softmax|silu|swish|elu$|mish|activation/i, CAT.activation],
  [/reshape|transpose|squeeze|flatten|permute|view/i, CAT.shape],
  [/concat|split|slice|gather|scatter|embed|quantize|cast/i, CAT.data],
];

export function opCategory(op) {
  const known = OP_CATEGORY.get(op);
  if (known !== undefined) return known;
  for (const [re, cat] of CATEGORY_PATTERNS) if (re.test(op)) return cat;
  return CAT.other;
}

// Input slot names of common ONNX ops, so weights read "W ⟨64×3×7×7⟩" rather than "in1".
const INPUT_NAMES = {
  Conv: ['X', 'W', 'B'], ConvTranspose: ['X', 'W', 'B'], Gemm: ['A', 'B', 'C'], MatMul: ['A', 'B'],
  BatchNormalization: ['X', 'scale', 'B', 'mean', 'var'], LayerNormalization: ['X', 'scale', 'B'],
  InstanceNormalization: ['input', 'scale', 'B'], GroupNormalization: ['X', 'scale', 'bias'],
  Add: ['A', 'B'], Sub: ['A', 'B'], Mul: ['A', 'B'], Div: ['A', 'B'], Pow: ['X', 'Y'],
  Reshape: ['data', 'shape'], Expand: ['input', 'shape'], Gather: ['data', 'indices'],
  Slice: ['data', 'starts', 'ends', 'axes', 'steps'], Unsqueeze: ['data', 'axes'],
  Squeeze: ['data', 'axes'], Concat: [], Pad: ['data', 'pads', 'constant_value', 'axes'],
  Resize: ['X', 'roi', 'scales', 'sizes'], Clip: ['input', 'min', 'max'], PRelu: ['X', 'slope'],
  Where: ['condition', 'X', 'Y'], Split: ['input', 'split'], Tile: ['input', 'repeats'],
  ReduceMean: ['data', 'axes'], ReduceSum: ['data', 'axes'], Range: ['start', 'limit', 'delta'],
  LSTM: ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h', 'initial_c', 'P'],
  GRU: ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h'], RNN: ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h'],
  QuantizeLinear: ['x', 'y_scale', 'y_zero_point'], DequantizeLinear: ['x', 'x_scale', 'x_zero_point'],
  Einsum: [], Sum: [], Max: [], Min: [], Mean: [],
};

// `valueName`: for ops not in the table, a dotted or slashed weight name gives its last
// part ("blk.0.attn_q.weight" -> "weight", "dense/kernel" -> "kernel"), as module paths
// from PyTorch, GGUF, Keras, TensorFlow … do.
export function inputName(op, slot, valueName = '') {
  const names = INPUT_NAMES[op];
  if (names && names[slot]) return names[slot];
  const dot = Math.max(valueName.lastIndexOf('.'), valueName.lastIndexOf('/'));
  if (!names && dot > 0 && dot < valueName.length - 1) return valueName.slice(dot + 1);
  return slot === 0 ? 'X' : `in${slot}`;
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

export function dimsText(shape) {
  if (shape == null) return '?';
  return shape.map((d) => (d === null ? '?' : String(d))).join('×');
}

// "float32[batch,3,32,32]" style text for a type entry of the document.
export function typeText(types, index) {
  const t = index == null ? null : types[index];
  if (!t) return '?';
  switch (t.kind) {
    case 'tensor': case 'sparse_tensor': {
      const shape = t.shape == null ? '[?]' : `[${t.shape.map((d) => (d === null ? '?' : d)).join(',')}]`;
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
    lines.push(`${clip(inputName(node.op, slot, values[v][0]), 16)} ⟨${t && t.shape ? (t.shape.length ? dimsText(t.shape) : 'scalar') : '?'}⟩`);
  });
  if (weights > MAX_WEIGHT_LINES) lines.push(`+${weights - MAX_WEIGHT_LINES} more`);
  return { kind: KIND_OP, ref: i, title: clip(node.op, 32), lines, category: opCategory(node.op) };
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
