// Invariants of the module view and its layout (app/module-view.js, app/module-layout.js)
// over generated and real graph documents, for tests/test_layout_invariants.py
// (the flat layout's own checks are tests/flat_layout_check.mjs):
//
//   node tests/layout_invariants.mjs [--generated] [graph-document.json ...]
//
// For each graph with groups and several sets of expanded modules (none, each top-level
// module, a deep chain, random sets, everything) it checks:
//   - counting: every op is inside exactly one drawn box; the aggregated edges stand for
//     every flat edge that joins two different boxes, one edge per box pair;
//   - no two boxes (ops, module boxes, frames, inputs/outputs) placed in the same
//     layout overlap, so sibling frames do not overlap either;
//   - every box lies inside the frame of the module holding it, below its header;
//   - every edge goes downward: its polyline's y never decreases;
//   - the per-module layout cache changes nothing: going through the sets in turn with
//     one cache gives exactly the layout computed from scratch.
// Prints one JSON line per graph ({name, cases, boxes, edges, frames, cached}) and the
// failures; exits with status 1 if any invariant fails.

import fs from 'node:fs';
import { KIND_FRAME, KIND_MODULE, KIND_OP } from '../app/graph-view.js';
import { FRAME_HEADER, layoutModules } from '../app/module-layout.js';
import { buildModuleView, groupTree } from '../app/module-view.js';
import { estimatedSizes, transformerDoc } from '../bench/module_docs.mjs';

const EPS = 0.5;
const failures = [];

function rng(seed) {   // small deterministic PRNG (mulberry32)
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expandedSets(g, tree) {
  const paths = g.groups.map((x) => x.path);
  const sets = [['none', []]];
  g.groups.forEach((x) => { if (x.parent < 0) sets.push([`top ${x.path}`, [x.path]]); });
  const deepest = tree.depth.reduce((best, d, k) => (d > tree.depth[best] ? k : best), 0);
  const chain = [];
  for (let k = deepest; k >= 0; k = tree.parent[k]) chain.unshift(paths[k]);
  sets.push(['deep chain', chain]);
  const random = rng(7);
  for (let r = 0; r < 4; r++) sets.push([`random ${r}`, paths.filter(() => random() < 0.3)]);
  if (paths.length <= 3000) sets.push(['everything', paths]);
  return sets;
}

function check(name, doc, expanded, cache) {
  const fail = (what) => { if (failures.length < 50) failures.push(`${name}: ${what}`); };
  const g = doc.graphs[0];
  const view = buildModuleView(doc, 0, expanded);
  const lay = layoutModules(view, estimatedSizes(view), {}, null);
  const again = layoutModules(view, estimatedSizes(view), {}, cache);
  for (const key of ['x', 'y', 'w', 'h', 'points', 'pointStart', 'edgeGhost', 'ghostSource']) {
    if (lay[key].length !== again[key].length || lay[key].some((v, i) => v !== again[key][i])) { fail(`cached layout differs in ${key}`); break; }
  }
  const { boxes, container } = view, B = boxes.length;

  // Counting.
  const inside = new Int32Array(B);
  const tree = groupTree(g);
  for (let i = 0; i < g.nodes.length; i++) {
    const b = view.nodeBox[i];
    if (b < 0 || b >= B) { fail(`node ${i} is in no box`); continue; }
    inside[b]++;
    const kind = boxes[b].kind;
    if (kind === KIND_OP && boxes[b].ref !== i) fail(`node ${i} drawn as node ${boxes[b].ref}`);
    if (kind === KIND_MODULE) {   // the module box must be one of the node's modules
      let k = tree.nodeGroup[i];
      while (k >= 0 && k !== boxes[b].ref) k = tree.parent[k];
      if (k < 0) fail(`node ${i} in module box ${boxes[b].ref} that does not hold it`);
    }
    if (kind !== KIND_OP && kind !== KIND_MODULE) fail(`node ${i} in a box of kind ${kind}`);
  }
  let ops = 0;
  for (let b = 0; b < B; b++) {
    if (boxes[b].kind === KIND_OP) { ops++; if (inside[b] !== 1) fail(`op box ${b} holds ${inside[b]} nodes`); }
    if (boxes[b].kind === KIND_MODULE && inside[b] !== tree.nodes[boxes[b].ref]) fail(`module box ${b} holds ${inside[b]} of ${tree.nodes[boxes[b].ref]} nodes`);
  }
  if (ops !== view.opsDrawn || ops + view.opsHidden !== g.nodes.length) fail(`ops drawn ${ops}, hidden ${view.opsHidden}, nodes ${g.nodes.length}`);
  const E = view.edgeSrc.length, pairs = new Set();
  let represented = 0;
  for (let e = 0; e < E; e++) {
    const key = `${view.edgeSrc[e]}>${view.edgeDst[e]}`;
    if (pairs.has(key)) fail(`two edges for box pair ${key}`);
    pairs.add(key);
    if (view.edgeSrc[e] === view.edgeDst[e]) fail(`edge ${e} is a loop`);
    represented += view.edgeFlat[e];
  }
  if (represented + view.hiddenEdges !== view.flatEdges) fail(`edges stand for ${represented} + ${view.hiddenEdges} hidden of ${view.flatEdges} flat edges`);

  // Geometry: boxes by the layout (container) they are placed in.
  const rect = (b) => [lay.x[b] - lay.w[b] / 2, lay.y[b] - lay.h[b] / 2, lay.x[b] + lay.w[b] / 2, lay.y[b] + lay.h[b] / 2];
  const byContainer = new Map();
  for (let b = 0; b < B; b++) {
    if (!byContainer.has(container[b])) byContainer.set(container[b], []);
    byContainer.get(container[b]).push(b);
    if (container[b] >= 0) {
      const f = view.frameOf.get(container[b]);
      if (f === undefined) { fail(`box ${b} in module ${container[b]} which has no frame`); continue; }
      const [x0, y0, x1, y1] = rect(b), [fx0, fy0, fx1, fy1] = rect(f);
      if (x0 < fx0 - EPS || x1 > fx1 + EPS || y0 < fy0 + FRAME_HEADER - EPS || y1 > fy1 + EPS) {
        fail(`box ${b} (${boxes[b].title}) outside its frame ${boxes[f].title}`);
      }
    }
  }
  for (const [c, list] of byContainer) {
    const sorted = list.map((b) => [b, ...rect(b)]).sort((a, b) => a[1] - b[1]);
    for (let i = 0; i < sorted.length; i++) {   // sweep over x
      for (let j = i + 1; j < sorted.length && sorted[j][1] < sorted[i][3] - EPS; j++) {
        const a = sorted[i], b = sorted[j];
        if (a[2] < b[4] - EPS && b[2] < a[4] - EPS) { fail(`boxes ${boxes[a[0]].title} and ${boxes[b[0]].title} overlap in module ${c}`); break; }
      }
    }
  }
  for (let e = 0; e < E; e++) {
    for (let k = lay.pointStart[e] + 1; k < lay.pointStart[e + 1]; k++) {
      if (lay.points[2 * k + 1] < lay.points[2 * k - 1] - EPS) { fail(`edge ${e} goes up`); break; }
    }
  }
  return { boxes: B, edges: E, frames: boxes.filter((b) => b.kind === KIND_FRAME).length, cached: again.cached };
}

const docs = [];
for (const a of process.argv.slice(2)) {
  if (a === '--generated') { docs.push(['generated-12', transformerDoc(12)]); docs.push(['generated-200', transformerDoc(200)]); }
  else docs.push([a.split('/').pop(), JSON.parse(fs.readFileSync(a, 'utf8'))]);
}
for (const [name, doc] of docs) {
  const g = doc.graphs[0];
  const tree = groupTree(g);
  if (!tree.G) { console.log(JSON.stringify({ name, cases: 0, note: 'no groups' })); continue; }
  let cases = 0, boxes = 0, edges = 0, frames = 0, cached = 0;
  const cache = new Map();
  for (const [label, expanded] of expandedSets(g, tree)) {
    const r = check(`${name} [${label}]`, doc, expanded, cache);
    cases++; boxes += r.boxes; edges += r.edges; frames += r.frames; cached += r.cached;
  }
  console.log(JSON.stringify({ name, nodes: g.nodes.length, groups: tree.G, cases, boxes, edges, frames, cached }));
}
for (const f of failures) console.log(`FAIL ${f}`);
process.exit(failures.length ? 1 : 0);
