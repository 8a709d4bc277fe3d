// Checks app/document.js: a document opened by the page's two parse workers (the
// document without its detail, plus the detail, merged here) equals the whole document
// the CLI writes. Type references are compared by the types they name, since the merged
// document numbers its types in another order.
//   node tests/document_merge_check.mjs CASES.json   CASES: [{name, json, detail, full}]
//   prints [{name, problems: [...]}]
import fs from 'fs';
import { parseDocument } from '../app/document.js';

// The document with every type reference replaced by the type it names.
function resolved(doc) {
  const type = (i, depth = 0) => {
    if (i == null) return null;
    const t = { ...doc.types[i] };
    if (depth > 64) return t;
    if (t.elem != null) t.elem = type(t.elem, depth + 1);
    if (t.kind === 'map') t.value = type(t.value, depth + 1);
    return t;
  };
  return {
    ...doc, types: null,
    graphs: doc.graphs.map((g) => ({
      ...g,
      values: g.values.map(([name, t, w]) => [name, type(t), w]),
      nodes: g.nodes.map((n) => ({ ...n, attrs: n.attrs.map((a) => (a.type === 'type_proto' ? { ...a, value: type(a.value) }
        : a.type === 'type_protos' ? { ...a, value: a.value.map((v) => type(v)) } : a)) })),
    })),
  };
}

// Differences between a and b, as "path: a | b" lines (at most 5).
function differences(a, b, path = '', out = []) {
  if (out.length >= 5) return out;
  if (a === b) return out;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    out.push(`${path}: ${JSON.stringify(a)?.slice(0, 80)} | ${JSON.stringify(b)?.slice(0, 80)}`);
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) differences(a[k], b[k], `${path}/${k}`, out);
  return out;
}

const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const report = cases.map(({ name, json, detail, full }) => {
  const merged = parseDocument(fs.readFileSync(json, 'utf8'), fs.readFileSync(detail, 'utf8'));
  const whole = parseDocument(fs.readFileSync(full, 'utf8'));
  return { name, problems: differences(resolved(merged), resolved(whole)) };
});
console.log(JSON.stringify(report));
