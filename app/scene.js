// Everything the renderer draws for one graph, as flat vertex arrays: box quads, edge
// quads and arrowheads, glyph quads. Built once per model in the layout worker; the UI
// thread only uploads them. Ids index the renderer's per-item state texture:
// boxes 0..B-1 (graph inputs, ops, graph outputs; in the module view frames first and
// module boxes after the ops), ghosts B..B+G-1, edges after.

import { buildView, KIND_FRAME, KIND_GHOST, KIND_MODULE, KIND_OP, labelByName } from './graph-view.js';
import { layoutGraph } from './layout.js';
import { FRAME_HEADER, layoutModules } from './module-layout.js';
import { buildModuleView } from './module-view.js';
import { BOLD, REGULAR } from './text.js';

export const NODE_STRIDE = 10;   // x, y, localX, localY, w, h, category, headerH, id, kind
export const EDGE_STRIDE = 6;    // x, y, normalX, normalY, id, side (±1 line, 0 arrowhead)
export const TEXT_STRIDE = 7;    // x, y, u, v, fontSize, id, style
export const STYLE_ON_HEADER = 0, STYLE_BODY = 1, STYLE_LABEL = 2, STYLE_GHOST = 3;

const TITLE_SIZE = 11, BODY_SIZE = 9.5, LABEL_SIZE = 8, GHOST_SIZE = 9, FRAME_TITLE_SIZE = 10;
const PAD_X = 8, HEADER_H = 21, LINE_H = 13, PLAIN_H = 24, GHOST_H = 18, MIN_W = 44;
const ARROW_LEN = 6.5, ARROW_HALF = 3.2;

// Growable vertex and index arrays of one kind of primitive (a box, a glyph, an edge
// segment or arrowhead: its own vertices, a few triangles). finish() groups the
// primitives into spatial tiles so the renderer can skip the ones out of view.
class Mesh {
  // ordered: one tile, primitives drawn in the order added (module frames: parents first).
  constructor(stride, ordered = false) {
    this.stride = stride;
    this.ordered = ordered;
    this.a = new Float32Array(stride * 4096); this.nv = 0;
    this.idx = new Uint32Array(6 * 1024); this.ni = 0;
    this.firstIndex = new Uint32Array(1024); this.np = 0;   // per primitive
  }
  // Makes room for `vertices` more vertices, appends `pattern` (indices relative to the
  // first of them) to the index list, and returns that first vertex's float offset.
  add(vertices, pattern) {
    const need = (this.nv + vertices) * this.stride;
    if (need > this.a.length) this.a = grow(this.a, need);
    if (this.ni + pattern.length > this.idx.length) this.idx = grow(this.idx, this.ni + pattern.length);
    if (this.np + 2 > this.firstIndex.length) this.firstIndex = grow(this.firstIndex, this.np + 2);
    this.firstIndex[this.np++] = this.ni;
    for (let k = 0; k < pattern.length; k++) this.idx[this.ni++] = this.nv + pattern[k];
    const at = this.nv * this.stride;
    this.nv += vertices;
    return at;
  }

  // {vertices, indices (reordered by tile), tiles: Float32Array of x0,y0,x1,y1 per tile,
  //  ranges: Uint32Array of first index, index count per tile}
  finish() {
    const { a, idx, stride, np } = this;
    const first = this.firstIndex;
    first[np] = this.ni;
    // Each primitive's box (vertex positions are the first two floats).
    const box = new Float32Array(np * 4);
    let gx0 = Infinity, gy0 = Infinity, gx1 = -Infinity, gy1 = -Infinity;
    for (let p = 0; p < np; p++) {
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (let k = first[p]; k < first[p + 1]; k++) {
        const o = idx[k] * stride, x = a[o], y = a[o + 1];
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
      box[4 * p] = x0; box[4 * p + 1] = y0; box[4 * p + 2] = x1; box[4 * p + 3] = y1;
      if (x0 < gx0) gx0 = x0; if (y0 < gy0) gy0 = y0; if (x1 > gx1) gx1 = x1; if (y1 > gy1) gy1 = y1;
    }
    const size = this.ordered ? Infinity : Math.max(256, Math.sqrt(((gx1 - gx0) * (gy1 - gy0)) / 2048) || 0);
    const nx = Math.floor((gx1 - gx0) / size) + 1, ny = Math.floor((gy1 - gy0) / size) + 1;
    const key = new Int32Array(np), count = new Int32Array(np ? nx * ny + 1 : 1);
    for (let p = 0; p < np; p++) {
      const cx = (box[4 * p] + box[4 * p + 2]) / 2, cy = (box[4 * p + 1] + box[4 * p + 3]) / 2;
      key[p] = Math.floor((cy - gy0) / size) * nx + Math.floor((cx - gx0) / size);
      count[key[p] + 1] += first[p + 1] - first[p];
    }
    for (let k = 1; k < count.length; k++) count[k] += count[k - 1];
    const indices = new Uint32Array(this.ni), fill = count.slice();
    const tileBox = new Float32Array(count.length * 4);
    for (let t = 0; t < count.length; t++) { tileBox[4 * t] = Infinity; tileBox[4 * t + 1] = Infinity; tileBox[4 * t + 2] = -Infinity; tileBox[4 * t + 3] = -Infinity; }
    for (let p = 0; p < np; p++) {
      const t = key[p];
      for (let k = first[p]; k < first[p + 1]; k++) indices[fill[t]++] = idx[k];
      tileBox[4 * t] = Math.min(tileBox[4 * t], box[4 * p]); tileBox[4 * t + 1] = Math.min(tileBox[4 * t + 1], box[4 * p + 1]);
      tileBox[4 * t + 2] = Math.max(tileBox[4 * t + 2], box[4 * p + 2]); tileBox[4 * t + 3] = Math.max(tileBox[4 * t + 3], box[4 * p + 3]);
    }
    const tiles = [], ranges = [];
    for (let t = 0; t + 1 < count.length; t++) {
      if (count[t + 1] === count[t]) continue;
      tiles.push(tileBox[4 * t], tileBox[4 * t + 1], tileBox[4 * t + 2], tileBox[4 * t + 3]);
      ranges.push(count[t], count[t + 1] - count[t]);
    }
    return { vertices: a.slice(0, this.nv * stride), indices, tiles: Float32Array.from(tiles), ranges: Uint32Array.from(ranges) };
  }
}

function grow(array, need) {
  const b = new array.constructor(Math.max(array.length * 2, need));
  b.set(array);
  return b;
}

const QUAD = [0, 1, 2, 0, 2, 3], SEGMENT = [0, 1, 2, 1, 3, 2], TRIANGLE = [0, 1, 2];

// options: passed on to layoutGraph. modules: null draws every node (flat);
// {expanded: [paths], cache: Map} draws the module view (app/module-view.js) with those
// modules expanded, reusing the inner layouts in `cache` (kept per graph by the caller).
export function buildScene(doc, atlas, graphIndex = 0, options = {}, modules = null) {
  const t0 = performance.now();
  const view = modules ? buildModuleView(doc, graphIndex, modules.expanded) : buildView(doc, graphIndex);
  if (options.labels === 'names') labelByName(doc, graphIndex, view.boxes);   // boxes titled by node name
  const { boxes } = view;
  const B = boxes.length, E = view.edgeSrc.length;

  // Box sizes from the text they hold; registers every glyph with the atlas.
  const width = new Float32Array(B), height = new Float32Array(B), ghostWidth = new Float32Array(B);
  const ghostText = boxes.map((b) => `↳ ${b.title}`);
  boxes.forEach((b, i) => {
    let w = atlas.measure(b.title, BOLD, TITLE_SIZE);
    for (const line of b.lines) w = Math.max(w, atlas.measure(line, REGULAR, BODY_SIZE));
    if (b.kind === KIND_FRAME) w = atlas.measure(b.title, BOLD, FRAME_TITLE_SIZE);   // the frame's header
    width[i] = Math.max(MIN_W, Math.ceil(w + 2 * PAD_X));
    height[i] = b.lines.length ? HEADER_H + b.lines.length * LINE_H + 5 : PLAIN_H;
    ghostWidth[i] = Math.ceil(atlas.measure(ghostText[i], REGULAR, GHOST_SIZE) + 2 * PAD_X);
  });
  for (const label of view.valueLabel.values()) atlas.measure(label, REGULAR, LABEL_SIZE);
  const t1 = performance.now();

  const lay = modules
    ? layoutModules(view, { width, height, ghostWidth, ghostHeight: GHOST_H }, options, modules.cache)
    : layoutGraph({ n: B, width, height, ghostWidth, ghostHeight: GHOST_H,
      src: view.edgeSrc, dst: view.edgeDst, value: view.edgeValue }, options);
  const t2 = performance.now();
  const G = lay.ghostSource.length;
  const atlasImage = atlas.build();
  // --- vector record (app/export.js draws SVG from it): box styles, text runs ---
  const boxCategory = new Uint8Array(B + G), boxHeader = new Float32Array(B + G);
  const runText = [], runInfo = [];   // per run: weight, size, x, baseline, id, style

  // --- boxes and their text ---
  const nodes = new Mesh(NODE_STRIDE), text = new Mesh(TEXT_STRIDE), frames = new Mesh(NODE_STRIDE, true);
  const bounds = lay.bounds.slice();
  const glyphs = (str, weight, size, x, baseline, id, style) => {
    runText.push(str); runInfo.push(weight, size, x, baseline, id, style);   // vector record
    atlas.layout(str, weight, size, x, baseline, (x0, y0, x1, y1, u0, v0, u1, v1) => {
      if (x1 > bounds[2]) bounds[2] = x1;
      if (x0 < bounds[0]) bounds[0] = x0;
      const o = text.add(4, QUAD), a = text.a;
      glyphVertex(a, o, x0, y0, u0, v0, size, id, style);
      glyphVertex(a, o + TEXT_STRIDE, x1, y0, u1, v0, size, id, style);
      glyphVertex(a, o + 2 * TEXT_STRIDE, x1, y1, u1, v1, size, id, style);
      glyphVertex(a, o + 3 * TEXT_STRIDE, x0, y1, u0, v1, size, id, style);
    });
  };
  const box = (id, cx, cy, w, h, category, headerH, kind) => {
    const x0 = cx - w / 2, y0 = cy - h / 2;
    boxCategory[id] = category; boxHeader[id] = headerH;   // vector record
    const mesh = kind === KIND_FRAME ? frames : nodes;   // frames: drawn first, in their own mesh
    const o = mesh.add(4, QUAD), a = mesh.a;
    boxVertex(a, o, x0, y0, 0, 0, w, h, category, headerH, id, kind);
    boxVertex(a, o + NODE_STRIDE, x0 + w, y0, w, 0, w, h, category, headerH, id, kind);
    boxVertex(a, o + 2 * NODE_STRIDE, x0 + w, y0 + h, w, h, w, h, category, headerH, id, kind);
    boxVertex(a, o + 3 * NODE_STRIDE, x0, y0 + h, 0, h, w, h, category, headerH, id, kind);
  };
  const baselineIn = (top, lineH, size) => top + lineH / 2 + size * 0.36;
  for (let i = 0; i < B; i++) {
    const b = boxes[i];
    const cx = lay.x[i], cy = lay.y[i], w = lay.w[i], h = lay.h[i];
    const top = cy - h / 2, left = cx - w / 2;
    if (b.kind === KIND_FRAME) {   // module frame: a header bar with the module path
      box(i, cx, cy, w, h, b.category, FRAME_HEADER, b.kind);
      glyphs(b.title, BOLD, FRAME_TITLE_SIZE, left + PAD_X, baselineIn(top, FRAME_HEADER, FRAME_TITLE_SIZE), i, STYLE_BODY);
      continue;
    }
    const plain = b.kind === KIND_OP || b.kind === KIND_MODULE;
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
  const edges = new Mesh(EDGE_STRIDE);
  const labelled = new Set();
  const sx = [], sy = [];
  const sample = (x, y) => {   // extends a straight vertical run instead of adding to it
    const k = sx.length;
    if (k >= 2 && sx[k - 1] === x && sx[k - 2] === x) { sy[k - 1] = y; return; }
    sx.push(x); sy.push(y);
  };
  const P = lay.points;
  for (let e = 0; e < E; e++) {
    const a = lay.pointStart[e], b = lay.pointStart[e + 1];
    if (b - a < 2) continue;
    const id = B + G + e;
    sx.length = 0; sy.length = 0;
    sample(P[2 * a], P[2 * a + 1]);
    for (let i = a; i + 1 < b; i++) {
      const x0 = P[2 * i], y0 = P[2 * i + 1], x1 = P[2 * i + 2], y1 = P[2 * i + 3];
      const gap = (i - a) % 2 === 0;
      if (gap && Math.abs(x1 - x0) > 0.5) {   // cubic Bézier with vertical tangents
        const steps = Math.min(16, Math.max(2, Math.ceil(Math.sqrt(Math.abs(x1 - x0)) * 1.2)));
        const my = (y0 + y1) / 2;
        for (let s = 1; s <= steps; s++) {
          const t = s / steps, u = 1 - t;
          const c0 = u * u * u, c1 = 3 * u * u * t, c2 = 3 * u * t * t, c3 = t * t * t;
          sample(c0 * x0 + c1 * x0 + c2 * x1 + c3 * x1, c0 * y0 + c1 * my + c2 * my + c3 * y1);
        }
      } else sample(x1, y1);
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
      const o = edges.add(4, SEGMENT), f = edges.a;
      edgeVertex(f, o, sx[i], sy[i], nx, ny, id, 1);
      edgeVertex(f, o + EDGE_STRIDE, sx[i], sy[i], -nx, -ny, id, -1);
      edgeVertex(f, o + 2 * EDGE_STRIDE, sx[i + 1], sy[i + 1], nx, ny, id, 1);
      edgeVertex(f, o + 3 * EDGE_STRIDE, sx[i + 1], sy[i + 1], -nx, -ny, id, -1);
    }
    const o = edges.add(3, TRIANGLE), f = edges.a;
    edgeVertex(f, o, tipX, tipY, 0, 0, id, 0);
    edgeVertex(f, o + EDGE_STRIDE, baseX - dy * ARROW_HALF, baseY + dx * ARROW_HALF, 0, 0, id, 0);
    edgeVertex(f, o + 2 * EDGE_STRIDE, baseX + dy * ARROW_HALF, baseY - dx * ARROW_HALF, 0, 0, id, 0);
    // Shape label once per value, just below where its edges leave the producer: on
    // the outer side of an exit point off the centre (several outputs), else on the
    // side its first edge does not bend to (so converging edges keep them apart).
    const v = view.edgeValue[e];
    const label = view.valueLabel.get(v);
    if (label && !labelled.has(v) && lay.edgeGhost[e] < 0) {
      labelled.add(v);
      const x0 = P[2 * a], y0 = P[2 * a + 1], off = x0 - lay.x[view.edgeSrc[e]];
      const left = Math.abs(off) > 0.5 ? off < 0 : P[2 * a + 2] - x0 > 1;
      const x = left ? x0 - 4 - atlas.measure(label, REGULAR, LABEL_SIZE) : x0 + 4;
      glyphs(label, REGULAR, LABEL_SIZE, x, y0 + LABEL_SIZE + 2, id, STYLE_LABEL);
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
    bounds,
    meshes: { nodes: nodeBuf, edges: edgeBuf, text: textBuf, frames: frames.finish() },
    atlas: atlasImage,
    // What app/export.js needs to redraw the scene as SVG: edge control points (as the
    // layout gave them), box category and header height, every text run as drawn.
    vector: { points: lay.points, pointStart: lay.pointStart, category: boxCategory, header: boxHeader,
      text: runText.join('\0'), runs: Float32Array.from(runInfo) },
    stats: { ranks: lay.ranks, dummies: lay.dummies, crossings: lay.crossings,
      measureMs: t1 - t0, layoutMs: lay.ms, buildMs: t3 - t2, totalMs: t3 - t0 },
    // Module view only: what the boxes stand for (counts for state(), flat edges per edge).
    modules: modules ? { expanded: view.expanded, opsDrawn: view.opsDrawn, opsHidden: view.opsHidden,
      flatEdges: view.flatEdges, hiddenEdges: view.hiddenEdges, edgeFlat: view.edgeFlat,
      laidOut: lay.laidOut, cached: lay.cached } : null,
  };
  const transfer = [scene.kinds, scene.refs, scene.x, scene.y, scene.w, scene.h, scene.ghostSource,
    scene.edgeGhost, scene.edgeSrc, scene.edgeDst, scene.edgeValue, scene.atlas.data,
    scene.vector.points, scene.vector.pointStart, scene.vector.category, scene.vector.header, scene.vector.runs].map((a) => a.buffer);
  for (const mesh of Object.values(scene.meshes)) {
    transfer.push(mesh.vertices.buffer, mesh.indices.buffer, mesh.tiles.buffer, mesh.ranges.buffer);
  }
  return { scene, transfer };
}


function boxVertex(a, o, x, y, lx, ly, w, h, category, headerH, id, kind) {
  a[o] = x; a[o + 1] = y; a[o + 2] = lx; a[o + 3] = ly; a[o + 4] = w; a[o + 5] = h;
  a[o + 6] = category; a[o + 7] = headerH; a[o + 8] = id; a[o + 9] = kind;
}

function edgeVertex(a, o, x, y, nx, ny, id, side) {
  a[o] = x; a[o + 1] = y; a[o + 2] = nx; a[o + 3] = ny; a[o + 4] = id; a[o + 5] = side;
}

function glyphVertex(a, o, x, y, u, v, size, id, style) {
  a[o] = x; a[o + 1] = y; a[o + 2] = u; a[o + 3] = v; a[o + 4] = size; a[o + 5] = id; a[o + 6] = style;
}
