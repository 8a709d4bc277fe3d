// Module hierarchy benchmark: what the layout worker does when the page opens a large
// model as modules and when one module is expanded (app/module-view.js, the view;
// app/module-layout.js, the layouts, with the per-module cache kept between steps).
// Glyph measurement and vertex buffers are not included (they need a browser's
// OffscreenCanvas; they scale with the boxes drawn, not with the model).
//
//   node bench/hierarchy_bench.mjs [--layers 1170] [graph-document.json ...]
//
// Without files: a generated BERT-like encoder of --layers layers (43 nodes each, so
// 1170 layers is a 50,000-node graph). Times are wall clock and, in brackets, this
// process's CPU time (the figure to trust on a machine busy with other work). Files: graph documents written by
// `PYTHONPATH=py python -m wetron graph MODEL > doc.json`, each with groups.

import fs from 'node:fs';
import { layoutModules } from '../app/module-layout.js';
import { buildModuleView, groupTree } from '../app/module-view.js';
import { estimatedSizes, transformerDoc } from './module_docs.mjs';

const args = process.argv.slice(2);
let layers = 1170;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--layers') layers = Number(args[++i]);
  else files.push(args[i]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

function step(doc, expanded, cache) {
  const t0 = performance.now(), c0 = cpu();
  const view = buildModuleView(doc, 0, expanded);
  const t1 = performance.now(), c1 = cpu();
  const lay = layoutModules(view, estimatedSizes(view), {}, cache);
  const t2 = performance.now(), c2 = cpu();
  return { view, lay, viewMs: t1 - t0, layoutMs: t2 - t1, totalMs: t2 - t0, viewCpu: c1 - c0, layoutCpu: c2 - c1, totalCpu: c2 - c0 };
}

const ms = (wall, cpuMs) => `${wall.toFixed(1).padStart(6)} ms (${cpuMs.toFixed(0).padStart(4)})`;

function report(label, r) {
  console.log(`  ${label.padEnd(44)} ${String(r.view.boxes.length).padStart(6)} boxes ${String(r.view.edgeSrc.length).padStart(6)} edges`
    + `  laid out ${String(r.lay.laidOut).padStart(3)} cached ${String(r.lay.cached).padStart(3)}`
    + `  view ${ms(r.viewMs, r.viewCpu)}  layout ${ms(r.layoutMs, r.layoutCpu)}  total ${ms(r.totalMs, r.totalCpu)}`);
}

function bench(name, doc) {
  const g = doc.graphs[0];
  const tree = groupTree(g);
  console.log(`${name}: ${g.nodes.length} nodes, ${tree.G} modules`);
  if (!tree.G) { console.log('  no groups: nothing to measure'); return; }
  const cache = new Map();
  const paths = g.groups.map((x) => x.path);
  const top = g.groups.filter((x) => x.parent < 0).map((x) => x.path);
  report('open as modules (top level)', step(doc, [], cache));
  // The top-level module with the most nodes, then its children one by one.
  const biggest = top.reduce((a, b) => (tree.nodes[tree.byPath.get(b)] > tree.nodes[tree.byPath.get(a)] ? b : a));
  report(`expand ${biggest}`, step(doc, [biggest], cache));
  const children = paths.filter((p, k) => g.groups[k].parent === tree.byPath.get(biggest));
  const picks = children.length > 5 ? [0.5, 0.1, 0.3, 0.7, 0.9].map((f) => children[Math.floor(f * (children.length - 1))]) : children;
  const times = [], cpus = [];
  for (const child of picks) {
    const r = step(doc, [biggest, child], cache);
    times.push(r.totalMs); cpus.push(r.totalCpu);
    report(`expand ${child}`, r);
    report('  collapse it again (cached)', step(doc, [biggest], cache));
  }
  if (times.length) console.log(`  expand one module: median ${median(times).toFixed(1)} ms wall, ${median(cpus).toFixed(1)} ms CPU over ${times.length} (view + layout)`);
  const deep = picks.length ? paths.filter((p) => p.startsWith(`${picks[0]}/`)).pop() : null;
  if (deep) {
    const chain = paths.filter((p) => deep === p || deep.startsWith(`${p}/`));
    report(`expand ${deep} (and its ancestors)`, step(doc, chain, cache));
  }
  const coldCache = new Map();
  step(doc, [], coldCache);
  report(`expand ${biggest}, nothing cached but the top`, step(doc, [biggest], coldCache));
  report('every module expanded (nothing cached)', step(doc, paths, new Map()));
}

if (!files.length) {
  const t0 = performance.now();
  const doc = transformerDoc(layers);
  console.log(`generated in ${(performance.now() - t0).toFixed(0)} ms`);
  bench(doc.model.file, doc);
}
for (const file of files) bench(file, JSON.parse(fs.readFileSync(file, 'utf8')));
