// Everything the renderer draws for one graph, as flat vertex arrays: box quads, edge
// quads and arrowheads, glyph quads. Built once per model in the layout worker; the UI
// thread only uploads them. Ids index the renderer's per-item state texture:
// boxes 0..B-1 (graph inputs, ops, graph outputs), ghosts B..B+G-1, edges after.

import { buildView, KIND_GHOST, KIND_OP } from './graph-view.js';
import { layoutGraph } from './layout.js';
import { BOLD, REGULAR } from './text.js';

export const NODE_STRIDE = 10;   // x, y, localX, localY, w, h, category, headerH, id, kind
export const EDGE_STRIDE = 6;    // x, y, normalX, normalY, id, side (±1 line, 0 arrowhead)
export const TEXT_STRIDE = 7;    // x, y, u, v, fontSize, id, style
export const STYLE_ON_HEADER = 0, STYLE_BODY = 1, STYLE_LABEL = 2, STYLE_GHOST = 3;

const TITLE_SIZE = 11, BODY_SIZE = 9.5, LABEL_SIZE = 8, GHOST_SIZE = 9;
const PAD_X = 8, HEADER_H = 21, LINE_H = 13, PLAIN_H = 24, GHOST_H = 18, MIN_W = 44;
const ARROW_LEN = 6.5, ARROW_HALF = 3.2;

class Floats {   // growable Float32Array
  constructor(size = 1024) { this.a = new Float32Array(size); this.n = 0; }
  reserve(k) {
    if (this.n + k <= this.a.length) return;
    const b = new Float32Array(Math.max(this.a.length * 2, this.n + k));
    b.set(this.a.subarray(0, this.n)); this.a = b;
  }
  done() { return this.a.slice(0, this.n); }
}

class Quads {   // vertices plus a triangle index list
  constructor(stride) { this.v = new Floats(4096 * stride); this.stride = stride; this.count = 0; this.idx = new Uint32Array(4096); this.ni = 0; }
  index(list) {
    if (this.ni + list.length > this.idx.length) {
      const b = new Uint32Array(Math.max(this.idx.length * 2, this.ni + list.length)); b.set(this.idx); this.idx = b;
    }
    for (const k of list) this.idx[this.ni++] = this.count + k;
  }
  vertex(...f) { const v = this.v; v.reserve(f.length); for (const x of f) v.a[v.n++] = x; }
  finish() { return { vertices: this.v.done(), indices: this.idx.slice(0, this.ni) }; }
}

export function buildScene(doc, atlas, graphIndex = 0) {
  const t0 = performance.now();
  const view = buildView(doc, graphIndex);
  const { boxes } = view;
  const B = boxes.length, E = view.edgeSrc.length;

  // Box sizes from the text they hold; registers every glyph with the atlas.
  const width = new Float32Array(B), height = new Float32Array(B), ghostWidth = new Float32Array(B);
  const ghostText = boxes.map((b) => `↳ ${b.title}`);
  boxes.forEach((b, i) => {
    let w = atlas.measure(b.title, BOLD, TITLE_SIZE);
    for (const line of b.lines) w = Math.max(w, atlas.measure(line, REGULAR, BODY_SIZE));
    width[i] = Math.max(MIN_W, Math.ceil(w + 2 * PAD_X));
    height[i] = b.lines.length ? HEADER_H + b.lines.length * LINE_H + 5 : PLAIN_H;
    ghostWidth[i] = Math.ceil(atlas.measure(ghostText[i], REGULAR, GHOST_SIZE) + 2 * PAD_X);
  });
  for (const label of view.valueLabel.values()) atlas.measure(label, REGULAR, LABEL_SIZE);
  const t1 = performance.now();

  const lay = layoutGraph({ n: B, width, height, ghostWidth, ghostHeight: GHOST_H,
    src: view.edgeSrc, dst: view.edgeDst, value: view.edgeValue });
  const t2 = performance.now();
  const G = lay.ghostSource.length;
  const atlasImage = atlas.build();

  // --- boxes and their text ---
  const nodes = new Quads(NODE_STRIDE), text = new Quads(TEXT_STRIDE);
  const glyphs = (str, weight, size, x, baseline, id, style) => {
    atlas.layout(str, weight, size, x, baseline, (x0, y0, x1, y1, u0, v0, u1, v1) => {
      text.index([0, 1, 2, 0, 2, 3]);
      text.vertex(x0, y0, u0, v0, size, id, style, x1, y0, u1, v0, size, id, style,
        x1, y1, u1, v1, size, id, style, x0, y1, u0, v1, size, id, style);
      text.count += 4;
    });
  };
  const box = (id, cx, cy, w, h, category, headerH, kind) => {
    const x0 = cx - w / 2, y0 = cy - h / 2;
    nodes.index([0, 1, 2, 0, 2, 3]);
    nodes.vertex(x0, y0, 0, 0, w, h, category, headerH, id, kind,
      x0 + w, y0, w, 0, w, h, category, headerH, id, kind,
      x0 + w, y0 + h, w, h, w, h, category, headerH, id, kind,
      x0, y0 + h, 0, h, w, h, category, headerH, id, kind);
    nodes.count += 4;
  };
  const baselineIn = (top, lineH, size) => top + lineH / 2 + size * 0.36;
  for (let i = 0; i < B; i++) {
    const b = boxes[i];
    const cx = lay.x[i], cy = lay.y[i], w = lay.w[i], h = lay.h[i];
    const top = cy - h / 2, left = cx - w / 2;
    const plain = b.kind === KIND_OP;
    const headerH = plain && b.lines.length ? HEADER_H : h;   // graph inputs/outputs: all header colour
    box(i, cx, cy, w, h, b.category, headerH, b.kind);
    const titleW = atlas.measure(b.title, BOLD, TITLE_SIZE);
    glyphs(b.title, BOLD, TITLE_SIZE, cx - titleW / 2, baselineIn(top, b.lines.length ? HEADER_H : PLAIN_H, TITLE_SIZE), i, STYLE_ON_HEADER);
    b.lines.forEach((line, k) => {
      const y = baselineIn(top + HEADER_H + k * LINE_H - 1, LINE_H, BODY_SIZE);
      if (plain) glyphs(line, REGULAR, BODY_SIZE, left + PAD_X, y, i, STYLE_BODY);
      else glyphs(line, REGULAR, BODY_SIZE, cx - atlas.measure(line, REGULAR, BODY_SIZE) / 2, y, i, STYLE_ON_HEADER);
    });
  }
  for (let g = 0; g < G; g++) {
    const id = B + g, source = lay.ghostSource[g];
    const cx = lay.x[id], cy = lay.y[id], w = lay.w[id], h = lay.h[id];
    box(id, cx, cy, w, h, boxes[source].category, 0, KIND_GHOST);
    glyphs(ghostText[source], REGULAR, GHOST_SIZE, cx - w / 2 + PAD_X, baselineIn(cy - h / 2, h, GHOST_SIZE), id, STYLE_GHOST);
  }

  // --- edges: curves between ranks, straight through dummies, arrowheads ---
  const edges = new Quads(EDGE_STRIDE);
  const labelled = new Set();
  const sx = [], sy = [];
  const P = lay.points;
  for (let e = 0; e < E; e++) {
    const a = lay.pointStart[e], b = lay.pointStart[e + 1];
    if (b - a < 2) continue;
    const id = B + G + e;
    sx.length = 0; sy.length = 0;
    sx.push(P[2 * a]); sy.push(P[2 * a + 1]);
    for (let i = a; i + 1 < b; i++) {
      const x0 = P[2 * i], y0 = P[2 * i + 1], x1 = P[2 * i + 2], y1 = P[2 * i + 3];
      const gap = (i - a) % 2 === 0;
      if (gap && Math.abs(x1 - x0) > 0.5) {   // cubic Bézier with vertical tangents
        const steps = Math.min(16, Math.max(4, Math.ceil(Math.abs(x1 - x0) / 8)));
        const my = (y0 + y1) / 2;
        for (let s = 1; s <= steps; s++) {
          const t = s / steps, u = 1 - t;
          const c0 = u * u * u, c1 = 3 * u * u * t, c2 = 3 * u * t * t, c3 = t * t * t;
          sx.push(c0 * x0 + c1 * x0 + c2 * x1 + c3 * x1);
          sy.push(c0 * y0 + c1 * my + c2 * my + c3 * y1);
        }
      } else { sx.push(x1); sy.push(y1); }
    }
    // Arrowhead at the end; the line stops at its base.
    const k = sx.length - 1;
    const tipX = sx[k], tipY = sy[k];
    let dx = tipX - sx[k - 1], dy = tipY - sy[k - 1];
    const len = Math.hypot(dx, dy) || 1;
    dx /= len; dy /= len;
    const baseX = tipX - dx * ARROW_LEN, baseY = tipY - dy * ARROW_LEN;
    if (len > ARROW_LEN) { sx[k] = baseX; sy[k] = baseY; } else { sx.pop(); sy.pop(); }
    for (let i = 0; i + 1 < sx.length; i++) {
      let nx = -(sy[i + 1] - sy[i]), ny = sx[i + 1] - sx[i];
      const l = Math.hypot(nx, ny);
      if (l === 0) continue;
      nx /= l; ny /= l;
      edges.index([0, 1, 2, 1, 3, 2]);
      edges.vertex(sx[i], sy[i], nx, ny, id, 1, sx[i], sy[i], -nx, -ny, id, -1,
        sx[i + 1], sy[i + 1], nx, ny, id, 1, sx[i + 1], sy[i + 1], -nx, -ny, id, -1);
      edges.count += 4;
    }
    edges.index([0, 1, 2]);
    edges.vertex(tipX, tipY, 0, 0, id, 0, baseX - dy * ARROW_HALF, baseY + dx * ARROW_HALF, 0, 0, id, 0,
      baseX + dy * ARROW_HALF, baseY - dx * ARROW_HALF, 0, 0, id, 0);
    edges.count += 3;
    // Shape label once per value, beside where its edges leave the producer.
    const v = view.edgeValue[e];
    const label = view.valueLabel.get(v);
    if (label && !labelled.has(v) && lay.edgeGhost[e] < 0) {
      labelled.add(v);
      glyphs(label, REGULAR, LABEL_SIZE, P[2 * a] + 4, P[2 * a + 1] + LABEL_SIZE + 2, id, STYLE_LABEL);
    }
  }
  const t3 = performance.now();

  const nodeBuf = nodes.finish(), edgeBuf = edges.finish(), textBuf = text.finish();
  const scene = {
    boxes: B, ghosts: G, edges: E,
    kinds: Uint8Array.from(boxes, (b) => b.kind), refs: Int32Array.from(boxes, (b) => b.ref),
    x: lay.x, y: lay.y, w: lay.w, h: lay.h,
    ghostSource: lay.ghostSource, edgeGhost: lay.edgeGhost,
    edgeSrc: view.edgeSrc, edgeDst: view.edgeDst, edgeValue: view.edgeValue,
    bounds: lay.bounds,
    nodeVertices: nodeBuf.vertices, nodeIndices: nodeBuf.indices,
    edgeVertices: edgeBuf.vertices, edgeIndices: edgeBuf.indices,
    textVertices: textBuf.vertices, textIndices: textBuf.indices,
    atlas: atlasImage,
    stats: { ranks: lay.ranks, dummies: lay.dummies, crossings: lay.crossings,
      measureMs: t1 - t0, layoutMs: lay.ms, buildMs: t3 - t2, totalMs: t3 - t0 },
  };
  const transfer = [scene.kinds, scene.refs, scene.x, scene.y, scene.w, scene.h, scene.ghostSource,
    scene.edgeGhost, scene.edgeSrc, scene.edgeDst, scene.edgeValue, scene.nodeVertices, scene.nodeIndices,
    scene.edgeVertices, scene.edgeIndices, scene.textVertices, scene.textIndices, scene.atlas.data].map((a) => a.buffer);
  return { scene, transfer };
}

