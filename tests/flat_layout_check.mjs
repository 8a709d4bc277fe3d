// Checks app/layout.js's output on graphs for invariants of a flat layout (run by
// tests/test_layout.py): output arrays sized right, no two boxes overlapping, every
// drawn edge starting on the bottom of its source (or of the ghost standing for it) and
// ending on the top of its target, going down monotonically (up for the edges that
// close a cycle), never running through a box, all inside the reported bounds.
//
//   node tests/flat_layout_check.mjs SPEC.json  ->  prints a JSON report
// SPEC: [{name, graph: {kind: 'transformer'|'resnet', size} | {kind: 'doc', path} |
//         {kind: 'edges', n, edges: [[src, dst], ...]}, options: {...layoutGraph options}}]

import fs from 'node:fs';

import { layoutGraph } from '../app/layout.js';
import { documentGraph, resnetGraph, transformerGraph } from '../bench/layout_graphs.mjs';

const TOL = 0.01;

function makeGraph(spec) {
  if (spec.kind === 'transformer') return transformerGraph(spec.size);
  if (spec.kind === 'resnet') return resnetGraph(spec.size);
  if (spec.kind === 'doc') return documentGraph(JSON.parse(fs.readFileSync(spec.path, 'utf8')), spec.path);
  if (spec.kind === 'edges') {   // small hand-made graphs: cycles, self-loops, isolated boxes
    const n = spec.n, m = spec.edges.length;
    return { n, width: new Float32Array(n).fill(80), height: new Float32Array(n).fill(24),
      ghostWidth: new Float32Array(n).fill(50), ghostHeight: 18,
      src: Int32Array.from(spec.edges, (e) => e[0]), dst: Int32Array.from(spec.edges, (e) => e[1]),
      value: Int32Array.from(spec.edges, (e) => e[0]) };
  }
  throw new Error(`unknown graph kind ${spec.kind}`);
}

// Boxes bucketed in a uniform grid, for overlap and hit queries.
class BoxGrid {
  constructor(lay, count, cell = 128) {
    this.lay = lay; this.cell = cell; this.cells = new Map();
    for (let i = 0; i < count; i++) this.each(lay.x[i] - lay.w[i] / 2, lay.y[i] - lay.h[i] / 2, lay.x[i] + lay.w[i] / 2, lay.y[i] + lay.h[i] / 2, (k) => {
      let list = this.cells.get(k);
      if (!list) this.cells.set(k, (list = []));
      list.push(i);
    });
  }
  each(x0, y0, x1, y1, visit) {
    const c = this.cell;
    for (let cy = Math.floor(y0 / c); cy <= Math.floor(y1 / c); cy++) {
      for (let cx = Math.floor(x0 / c); cx <= Math.floor(x1 / c); cx++) visit(`${cx},${cy}`);
    }
  }
  // Boxes whose interior holds (x, y) strictly (by more than TOL).
  at(x, y) {
    const { lay } = this, out = [];
    for (const i of this.cells.get(`${Math.floor(x / this.cell)},${Math.floor(y / this.cell)}`) || []) {
      if (Math.abs(x - lay.x[i]) < lay.w[i] / 2 - TOL && Math.abs(y - lay.y[i]) < lay.h[i] / 2 - TOL) out.push(i);
    }
    return out;
  }
}

function check(g, lay) {
  const problems = [];
  const fail = (msg) => { if (problems.length < 8) problems.push(msg); };
  const { n, src, dst } = g, m = src.length;
  const G = lay.ghostSource.length, N = n + G;

  // --- arrays ---
  for (const k of ['x', 'y', 'w', 'h']) if (lay[k].length !== N) fail(`${k}.length ${lay[k].length} != boxes + ghosts ${N}`);
  if (lay.edgeGhost.length !== m) fail(`edgeGhost.length ${lay.edgeGhost.length} != edges ${m}`);
  if (lay.pointStart.length !== m + 1) fail(`pointStart.length ${lay.pointStart.length} != edges + 1`);
  if (lay.points.length !== 2 * lay.pointStart[m]) fail(`points.length ${lay.points.length} != 2 * pointStart[m]`);
  for (let gi = 0; gi < G; gi++) if (!(lay.ghostSource[gi] >= 0 && lay.ghostSource[gi] < n)) fail(`ghost ${gi} stands for ${lay.ghostSource[gi]}`);
  for (let i = 0; i < N; i++) {
    if (![lay.x[i], lay.y[i], lay.w[i], lay.h[i]].every(Number.isFinite)) fail(`box ${i} not finite`);
    if (i < n && (lay.w[i] !== g.width[i] || lay.h[i] !== g.height[i])) fail(`box ${i} resized`);
  }
  if (problems.length) return problems;

  // --- boxes: no overlaps, inside the bounds ---
  const [bx0, by0, bx1, by1] = lay.bounds;
  const grid = new BoxGrid(lay, N);
  for (let i = 0; i < N; i++) {
    const x0 = lay.x[i] - lay.w[i] / 2, x1 = lay.x[i] + lay.w[i] / 2, y0 = lay.y[i] - lay.h[i] / 2, y1 = lay.y[i] + lay.h[i] / 2;
    if (x0 < bx0 - TOL || x1 > bx1 + TOL || y0 < by0 - TOL || y1 > by1 + TOL) fail(`box ${i} outside the bounds`);
  }
  const seen = new Set();
  for (const list of grid.cells.values()) {
    for (let a = 0; a < list.length; a++) {
      for (let b = a + 1; b < list.length; b++) {
        const i = list[a], j = list[b];
        if (Math.abs(lay.x[i] - lay.x[j]) < (lay.w[i] + lay.w[j]) / 2 - TOL &&
            Math.abs(lay.y[i] - lay.y[j]) < (lay.h[i] + lay.h[j]) / 2 - TOL) {
          const key = i < j ? `${i},${j}` : `${j},${i}`;
          if (!seen.has(key)) { seen.add(key); fail(`boxes ${i} and ${j} overlap`); }
        }
      }
    }
  }

  // --- edges ---
  const P = lay.points;
  let drawn = 0, ghosted = 0, upward = 0;
  for (let e = 0; e < m; e++) {
    const a = lay.pointStart[e], b = lay.pointStart[e + 1];
    if (src[e] === dst[e]) { if (b !== a) fail(`self-loop ${e} has points`); continue; }
    if (b - a < 2) { fail(`edge ${e} has ${b - a} points`); continue; }
    drawn++;
    const ghost = lay.edgeGhost[e];
    if (ghost >= 0) {
      ghosted++;
      if (ghost < n || ghost >= N || lay.ghostSource[ghost - n] !== src[e]) { fail(`edge ${e}: ghost ${ghost} does not stand for its source`); continue; }
    }
    const from = ghost >= 0 ? ghost : src[e], to = dst[e];
    const down = lay.y[to] > lay.y[from];
    if (!down) upward++;
    // Upper end on the bottom of the upper box, lower end on the top of the lower box.
    const [top, bottom] = down ? [from, to] : [to, from];
    const [tx, ty] = down ? [P[2 * a], P[2 * a + 1]] : [P[2 * b - 2], P[2 * b - 1]];
    const [ux, uy] = down ? [P[2 * b - 2], P[2 * b - 1]] : [P[2 * a], P[2 * a + 1]];
    if (Math.abs(ty - (lay.y[top] + lay.h[top] / 2)) > 0.05 || Math.abs(tx - lay.x[top]) > lay.w[top] / 2 + TOL) {
      fail(`edge ${e} (${src[e]}→${dst[e]}) does not leave the bottom of box ${top}: (${tx}, ${ty})`);
    }
    if (Math.abs(uy - (lay.y[bottom] - lay.h[bottom] / 2)) > 0.05 || Math.abs(ux - lay.x[bottom]) > lay.w[bottom] / 2 + TOL) {
      fail(`edge ${e} (${src[e]}→${dst[e]}) does not enter the top of box ${bottom}: (${ux}, ${uy})`);
    }
    for (let i = a; i + 1 < b; i++) {
      const dy = P[2 * i + 3] - P[2 * i + 1];
      if (down ? dy < -TOL : dy > TOL) { fail(`edge ${e} turns back at point ${i - a}`); break; }
      const mx = (P[2 * i] + P[2 * i + 2]) / 2, my = (P[2 * i + 1] + P[2 * i + 3]) / 2;
      const hit = grid.at(mx, my);
      if (hit.length) { fail(`edge ${e} runs through box ${hit[0]}`); break; }
    }
  }
  return { problems, drawn, ghosted, upward };
}

const specs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const report = [];
for (const spec of specs) {
  const g = makeGraph(spec.graph);
  const lay = layoutGraph(g, spec.options || {});
  const result = check(g, lay);
  const problems = Array.isArray(result) ? result : result.problems;
  report.push({ name: spec.name, boxes: g.n, edges: g.src.length, ghosts: lay.ghostSource.length,
    ranks: lay.ranks, drawn: result.drawn, ghosted: result.ghosted, upward: result.upward, problems });
}
console.log(JSON.stringify(report));
