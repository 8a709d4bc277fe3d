// Graphs for the layout benchmark and the layout invariant test: generated model-like
// DAGs (transformer with mask/rotary fan-out, ResNet), real graphs from graph documents
// (`python -m wetron graph MODEL`), and quality metrics computed on drawn polylines.
// Plain ES module for node; nothing here is loaded by the site.

import { buildView } from '../app/graph-view.js';
import { estimatedSizes } from './module_docs.mjs';

// A layout input: {name, n, width, height, ghostWidth, ghostHeight, src, dst, value}.
class GraphBuilder {
  constructor(name) { this.name = name; this.w = []; this.h = []; this.src = []; this.dst = []; this.value = []; }
  // A box for `op` (with `lines` lines of attributes/weights), fed by the outputs of `inputs`.
  node(op, inputs = [], lines = 0) {
    const id = this.w.length;
    const text = Math.max(7 * op.length, lines ? 86 : 0);
    this.w.push(Math.max(44, text + 16));
    this.h.push(lines ? 21 + 13 * lines + 5 : 24);
    for (const u of inputs) { this.src.push(u); this.dst.push(id); this.value.push(u); }
    return id;
  }
  get size() { return this.w.length; }
  finish() {
    const n = this.w.length;
    const width = Float32Array.from(this.w), height = Float32Array.from(this.h);
    const ghostWidth = width.map((w) => Math.min(w, 120) * 0.8 + 20);
    return { name: this.name, n, width, height, ghostWidth, ghostHeight: 18,
      src: Int32Array.from(this.src), dst: Int32Array.from(this.dst), value: Int32Array.from(this.value) };
  }
}

// Decoder-only transformer as exported to ONNX: per layer RMS norms, q/k/v projections,
// rotary embedding applied to q and k (cos/sin tables shared by every layer), attention
// with a causal mask shared by every layer, a gated MLP and shape chains feeding the
// reshapes. About 50 nodes per layer.
export function transformerGraph(target) {
  const g = new GraphBuilder(`transformer-${target}`);
  const ids = g.node('input_ids');
  let h = g.node('Gather', [ids], 1);
  const shape = g.node('Shape', [ids]);
  const len = g.node('Gather', [shape], 1);
  const range = g.node('Range', [len]);
  const tri = g.node('Trilu', [g.node('ConstantOfShape', [len])]);
  const mask = g.node('Where', [g.node('Equal', [tri]), range]);
  const freqs = g.node('MatMul', [g.node('Unsqueeze', [range], 1)], 1);
  const cos = g.node('Cos', [freqs]), sin = g.node('Sin', [freqs]);
  const rotary = (x) => {
    const a = g.node('Mul', [x, cos]);
    const x1 = g.node('Slice', [x], 2), x2 = g.node('Slice', [x], 2);
    const rot = g.node('Concat', [g.node('Neg', [x2]), x1]);
    return g.node('Add', [a, g.node('Mul', [rot, sin])]);
  };
  while (g.size < target - 60) {
    const ln = g.node('SimplifiedLayerNormalization', [h], 1);
    const hs = g.node('Shape', [ln]);
    const dims = g.node('Concat', [g.node('Unsqueeze', [g.node('Gather', [hs], 1)], 1), g.node('Unsqueeze', [g.node('Gather', [hs], 1)], 1)], 1);
    const heads = (x) => g.node('Transpose', [g.node('Reshape', [x, dims])], 1);
    const q = rotary(heads(g.node('MatMul', [ln], 1)));
    const k = rotary(heads(g.node('MatMul', [ln], 1)));
    const v = heads(g.node('MatMul', [ln], 1));
    const kt = g.node('Transpose', [k], 1);
    const scores = g.node('Add', [g.node('Div', [g.node('MatMul', [q, kt])], 1), mask]);
    const attn = g.node('MatMul', [g.node('Softmax', [scores], 1), v]);
    const merged = g.node('Reshape', [g.node('Transpose', [attn], 1), dims]);
    h = g.node('Add', [h, g.node('MatMul', [merged], 1)]);
    const ln2 = g.node('SimplifiedLayerNormalization', [h], 1);
    const gate = g.node('MatMul', [ln2], 1);
    const act = g.node('Mul', [gate, g.node('Sigmoid', [gate])]);
    const up = g.node('Mul', [act, g.node('MatMul', [ln2], 1)]);
    h = g.node('Add', [h, g.node('MatMul', [up], 1)]);
  }
  g.node('output', [g.node('MatMul', [g.node('SimplifiedLayerNormalization', [h], 1)], 1)]);
  return g.finish();
}

// ResNet: bottleneck blocks (conv-bn-relu ×3, residual add, relu), a projection
// shortcut at the start of every stage of 4 blocks.
export function resnetGraph(target) {
  const g = new GraphBuilder(`resnet-${target}`);
  const cbr = (x, relu = true) => {
    const bn = g.node('BatchNormalization', [g.node('Conv', [x], 3)], 4);
    return relu ? g.node('Relu', [bn]) : bn;
  };
  let h = g.node('MaxPool', [cbr(g.node('input'))], 2);
  for (let block = 0; g.size < target - 20; block++) {
    const body = cbr(cbr(cbr(h)), false);
    const shortcut = block % 4 === 0 ? cbr(h, false) : h;
    h = g.node('Relu', [g.node('Add', [body, shortcut])]);
  }
  g.node('output', [g.node('Gemm', [g.node('Flatten', [g.node('GlobalAveragePool', [h])])], 2)]);
  return g.finish();
}

// Boxes and edges of graphs[0] of a graph document, sized as the page sizes them
// (glyph widths estimated: module_docs.mjs estimatedSizes).
export function documentGraph(doc, name) {
  const view = buildView(doc, 0);
  return { name, n: view.boxes.length, ...estimatedSizes(view),
    src: Int32Array.from(view.edgeSrc), dst: Int32Array.from(view.edgeDst), value: Int32Array.from(view.edgeValue) };
}

export function totalLength(points, start) {
  let total = 0;
  for (let e = 0; e + 1 < start.length; e++) {
    for (let i = start[e]; i + 1 < start[e + 1]; i++) {
      total += Math.hypot(points[2 * i + 2] - points[2 * i], points[2 * i + 3] - points[2 * i + 1]);
    }
  }
  return total;
}

// Proper crossings between segments of different edges (touching at an end point, as
// edges leaving one port do, is not a crossing). Uniform grid: each pair is tested in
// every cell both segments overlap and counted only in the cell holding the crossing.
export function countCrossings(points, start, cell = 48) {
  const segs = [];
  for (let e = 0; e + 1 < start.length; e++) {
    for (let i = start[e]; i + 1 < start[e + 1]; i++) {
      if (points[2 * i] === points[2 * i + 2] && points[2 * i + 1] === points[2 * i + 3]) continue;
      segs.push(i, e);
    }
  }
  const S = segs.length / 2;
  const buckets = new Map();
  for (let s = 0; s < S; s++) {
    const i = segs[2 * s];
    const x0 = Math.min(points[2 * i], points[2 * i + 2]), x1 = Math.max(points[2 * i], points[2 * i + 2]);
    const y0 = Math.min(points[2 * i + 1], points[2 * i + 3]), y1 = Math.max(points[2 * i + 1], points[2 * i + 3]);
    for (let cy = Math.floor(y0 / cell); cy <= Math.floor(y1 / cell); cy++) {
      for (let cx = Math.floor(x0 / cell); cx <= Math.floor(x1 / cell); cx++) {
        const k = cy * 1e7 + cx;
        let list = buckets.get(k);
        if (!list) { list = []; buckets.set(k, list); }
        list.push(s);
      }
    }
  }
  let total = 0;
  const eps = 1e-6;
  for (const [k, list] of buckets) {
    const cy = Math.round(k / 1e7), cx = k - cy * 1e7;
    for (let a = 0; a < list.length; a++) {
      const sa = list[a], i = segs[2 * sa];
      const ax = points[2 * i], ay = points[2 * i + 1], bx = points[2 * i + 2], by = points[2 * i + 3];
      for (let b = a + 1; b < list.length; b++) {
        const sb = list[b];
        if (segs[2 * sb + 1] === segs[2 * sa + 1]) continue;
        const j = segs[2 * sb];
        const cx0 = points[2 * j], cy0 = points[2 * j + 1], dx1 = points[2 * j + 2], dy1 = points[2 * j + 3];
        const rx = bx - ax, ry = by - ay, sx = dx1 - cx0, sy = dy1 - cy0;
        const den = rx * sy - ry * sx;
        if (Math.abs(den) < 1e-12) continue;   // parallel
        const t = ((cx0 - ax) * sy - (cy0 - ay) * sx) / den, u = ((cx0 - ax) * ry - (cy0 - ay) * rx) / den;
        if (t <= eps || t >= 1 - eps || u <= eps || u >= 1 - eps) continue;
        const px = ax + t * rx, py = ay + t * ry;
        if (Math.floor(px / cell) === cx && Math.floor(py / cell) === cy) total++;
      }
    }
  }
  return total;
}
