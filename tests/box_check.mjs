// The op boxes app/graph-view.js builds for graph documents (pure data, no DOM), for the
// tests that check what a box reads (tests/test_ops_box.py, test_ops_tflite.py,
// test_format_darknet.py):
//
//   node tests/box_check.mjs graph-document.json ...
//
// Prints one JSON line per document: [{op, title, lines}] of graph 0's op boxes.
import fs from 'node:fs';
import { opBox } from '../app/graph-view.js';

for (const path of process.argv.slice(2)) {
  const doc = JSON.parse(fs.readFileSync(path, 'utf8'));
  const g = doc.graphs[0];
  const produced = new Set(g.nodes.flatMap((n) => n.out));
  const boxes = g.nodes.map((node, i) => {
    const box = opBox(doc, 0, i, (v) => produced.has(v));
    return { op: node.op, title: box.title, lines: box.lines };
  });
  console.log(JSON.stringify(boxes));
}
