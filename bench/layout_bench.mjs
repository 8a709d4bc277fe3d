#!/usr/bin/env node
// Layout benchmark: app/layout.js against dagre (@dagrejs/dagre, a dev dependency of
// this script only; the site never loads it) on generated model-like graphs and real
// graph documents. Prints, per graph: boxes, edges, our time, dagre's time, and edge
// crossings and total edge length of both, computed the same way on the polylines each
// layout returns (points joined by straight segments; see layout_graphs.mjs).
//
// Ours is measured twice: "as drawn" (ghost copies stand in for far fan-out edges, so a
// ghosted edge is measured from the ghost) and "no ghosts" (fanout/maxSpan off: every
// edge drawn whole, the like-for-like comparison with dagre).
//
//   node bench/layout_bench.mjs [--sizes 1000,5000,...] [--dagre-max N] [--dagre-timeout S] [doc.json|model ...]
// Models (.onnx ...) are turned into graph documents with `python -m wetron graph`;
// with no file arguments: examples/*.onnx, and tests/.cache's and bench/.cache's torch
// exports where present (tests/models.py, bench/make_models.py write them). Our time:
// first and best of 3 runs. Dagre runs in a worker thread, on
// graphs of at most --dagre-max boxes (default 5000), given --dagre-timeout seconds
// (default 120).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { layoutGraph } from '../app/layout.js';
import { countCrossings, documentGraph, resnetGraph, totalLength, transformerGraph } from './layout_graphs.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SEP = { nodesep: 22, ranksep: 34, edgesep: 10 };   // layout.js's DEFAULTS

function parseArgs(argv) {
  const o = { sizes: [1000, 5000, 20000, 50000, 100000], dagreMax: 5000, dagreTimeout: 120, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--sizes') o.sizes = argv[++i].split(',').map(Number);
    else if (a === '--dagre-max') o.dagreMax = Number(argv[++i]);
    else if (a === '--dagre-timeout') o.dagreTimeout = Number(argv[++i]);
    else o.files.push(a);
  }
  if (!o.files.length) {   // the examples, and the torch exports the tests and benches cache
    const ex = path.join(ROOT, 'examples');
    o.files = fs.readdirSync(ex).filter((f) => f.endsWith('.onnx')).sort().map((f) => path.join(ex, f));
    for (const [folder, prefix, names] of [['tests/.cache', 'onnx-', ['cnn.onnx', 'transformer.onnx']],
      ['bench/.cache', 'torch-', ['resnet50.onnx', 'gpt2.onnx']]]) {
      const dir = path.join(ROOT, folder);
      if (!fs.existsSync(dir)) continue;
      for (const sub of fs.readdirSync(dir).filter((d) => d.startsWith(prefix) && d.includes('torch')).sort()) {
        for (const name of names) if (fs.existsSync(path.join(dir, sub, name))) o.files.push(path.join(dir, sub, name));
      }
    }
  }
  return o;
}

function loadGraph(file) {
  const text = file.endsWith('.json') ? fs.readFileSync(file, 'utf8')
    : execFileSync('python3', ['-m', 'wetron', 'graph', path.resolve(file)],
      { cwd: path.join(ROOT, 'py'), maxBuffer: 1 << 30, encoding: 'utf8' });
  return documentGraph(JSON.parse(text), path.basename(file));
}

// Our polylines: every edge's points; an edge replaced by a ghost starts at the ghost.
// Timed 3 times: the first run is what a page's layout worker sees (one layout per
// model, a cold heap), the best one is the steady state (the cores here are shared).
function ours(graph, options) {
  let lay, ms = Infinity, first = 0;
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    lay = layoutGraph(graph, options);
    const t = performance.now() - t0;
    if (run === 0) first = t;
    ms = Math.min(ms, t);
  }
  return { ms, first, ghosts: lay.ghostSource.length, crossings: countCrossings(lay.points, lay.pointStart),
    length: totalLength(lay.points, lay.pointStart) };
}

// Dagre in a worker thread, so a graph it cannot finish is abandoned after the timeout.
const DAGRE_WORKER = `
const { parentData, parentPort, workerData } = require('node:worker_threads');
const dagre = require(workerData.dagre);
const { n, width, height, src, dst, sep } = workerData;
const g = new dagre.graphlib.Graph({ multigraph: true });
g.setGraph({ rankdir: 'TB', ...sep });
g.setDefaultEdgeLabel(() => ({}));
for (let i = 0; i < n; i++) g.setNode(String(i), { width: width[i], height: height[i] });
for (let e = 0; e < src.length; e++) if (src[e] !== dst[e]) g.setEdge(String(src[e]), String(dst[e]), {}, 'e' + e);
const t0 = performance.now();
dagre.layout(g);
const ms = performance.now() - t0;
const start = new Uint32Array(src.length + 1), pts = [];
for (let e = 0; e < src.length; e++) {
  const label = src[e] !== dst[e] ? g.edge(String(src[e]), String(dst[e]), 'e' + e) : null;
  if (label) for (const p of label.points) pts.push(p.x, p.y);
  start[e + 1] = pts.length / 2;
}
parentPort.postMessage({ ms, points: Float64Array.from(pts), start });
`;

function dagre(graph, timeoutS) {
  return new Promise((resolve) => {
    const worker = new Worker(DAGRE_WORKER, { eval: true, workerData: {
      dagre: path.join(ROOT, 'node_modules', '@dagrejs', 'dagre'), n: graph.n, width: graph.width,
      height: graph.height, src: graph.src, dst: graph.dst, sep: SEP,
    }, resourceLimits: { maxOldGenerationSizeMb: 4096, stackSizeMb: 64 } });
    const timer = setTimeout(() => { worker.terminate(); resolve({ skipped: `> ${timeoutS} s` }); }, timeoutS * 1000);
    worker.on('message', (r) => {
      clearTimeout(timer); worker.terminate();
      resolve({ ms: r.ms, crossings: countCrossings(r.points, r.start), length: totalLength(r.points, r.start) });
    });
    worker.on('error', (e) => { clearTimeout(timer); resolve({ skipped: `failed: ${String(e.message || e).slice(0, 40)}` }); });
  });
}

const fmt = (v, digits = 0) => (v === undefined ? '' : Number(v).toFixed(digits));
const ratio = (a, b) => (b ? (a / b).toFixed(2) : (a ? 'inf' : '1.00'));

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const graphs = [];
  for (const size of o.sizes) graphs.push(() => transformerGraph(size), () => resnetGraph(size));
  for (const file of o.files) graphs.push(() => loadGraph(file));
  layoutGraph(transformerGraph(2000));   // warm up the JIT
  const cols = ['graph', 'boxes', 'edges', 'ours ms 1st', 'ours ms best', 'ghosts', 'cross drawn', 'cross no-ghost', 'dagre ms',
    'dagre cross', 'length drawn', 'length no-ghost', 'dagre length', 'cross ×', 'length ×'];
  console.log(cols.join(' | '));
  console.log(cols.map(() => '---').join(' | '));
  for (const make of graphs) {
    const g = make();
    const drawn = ours(g, {});
    // Without ghosts, fan-out sources of deep graphs make millions of dummies: only
    // where dagre runs too.
    const compare = g.n <= o.dagreMax;
    const whole = compare ? ours(g, { fanout: Infinity, maxSpan: Infinity }) : {};
    const d = compare ? await dagre(g, o.dagreTimeout) : { skipped: `> ${o.dagreMax} boxes` };
    const row = [g.name, g.n, g.src.length, fmt(drawn.first), fmt(drawn.ms), drawn.ghosts, drawn.crossings, whole.crossings ?? '',
      d.skipped || fmt(d.ms), d.skipped ? '' : d.crossings, fmt(drawn.length), fmt(whole.length),
      d.skipped ? '' : fmt(d.length), d.skipped ? '' : ratio(whole.crossings, d.crossings),
      d.skipped ? '' : ratio(whole.length, d.length)];
    console.log(row.join(' | '));
  }
  console.log('\ncross ×, length ×: ours without ghosts / dagre (target ≤ 1.25). Lengths in layout px; ' +
    'crossings: proper intersections of straight segments between the returned points, between different edges.');
}

main();
