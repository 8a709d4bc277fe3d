// The sidebar's "Operator" section: an op's documentation (description, inputs and
// outputs with their types, attributes with their defaults) as the framework defines it,
// from opdocs/<domain>.json (written by tools/gen_op_metadata.py from onnx.defs, the
// LiteRT schema, keras.layers, TensorFlow's op registry). A domain's file is fetched the
// first time the reader opens an op's documentation, never for the first view.
// Text only: descriptions are markdown, shown as paragraphs, code blocks and `code`
// spans built with DOM nodes and textContent (no markup from any file reaches innerHTML).

import { el } from './sidebar.js';

const DOMAIN_NAME = /^[a-z][a-z0-9_.-]{0,63}$/i;   // a file name under opdocs/, never a path
const files = new Map();   // domain -> Promise of its parsed opdocs file

function loadDocs(domain) {
  if (!files.has(domain)) {
    const url = new URL(`../opdocs/${domain}.json`, import.meta.url);
    files.set(domain, fetch(url).then((r) => {
      if (r.status === 404) return null;   // a domain with metadata but no documentation
      if (!r.ok) throw new Error(`opdocs/${domain}.json: HTTP ${r.status}`);
      return r.json();
    }).catch((error) => { files.delete(domain); throw error; }));   // a later open retries
  }
  return files.get(domain);
}

// The op's version as the file says it, for the sidebar's Node section: ONNX the
// operator set the model imports for the op's domain (and the since-version of the schema
// in force there); TFLite the operator code's version (node metadata "version", 1 where
// the file leaves it out, the schema's default); other formats state none.
export function opVersion(info, node) {
  if (info && Number.isInteger(info.opset)) {
    return { key: 'opset', text: `${info.opset}${Number.isInteger(info.since) ? ` (${node.op} since ${info.since})` : ''}` };
  }
  const meta = Array.isArray(node.metadata) ? node.metadata.find((m) => Array.isArray(m) && m[0] === 'version') : null;
  if (meta) return { key: 'version', text: String(meta[1]) };
  if (info && (info.domain === 'tflite' || info.domain === 'tflite.custom')) return { key: 'version', text: '1' };
  return null;
}

// The section, or null where the metadata does not know the op. Its documentation loads
// when the reader opens it.
export function operatorSection(info, node, sidebar) {
  if (!info || typeof info.name !== 'string' || !DOMAIN_NAME.test(info.domain || '')) return null;
  const body = el('div', { class: 'sb-opdoc-body' });
  const details = el('details', { class: 'sb-opdoc' }, el('summary', { text: `${info.name} documentation` }), body);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    body.replaceChildren(el('div', { class: 'sb-muted', text: 'Loading…' }));
    try {
      const file = await loadDocs(info.domain);
      const versions = file && file.ops && Object.hasOwn(file.ops, node.op) ? file.ops[node.op] : null;
      const entry = Array.isArray(versions)
        ? versions.find((v) => v.since === info.since) || versions[versions.length - 1] : null;
      body.replaceChildren(...(entry ? docParts(entry, file.source, sidebar) : [el('div', { class: 'sb-muted', text: 'No documentation.' })]));
    } catch (error) {
      loaded = false;
      body.replaceChildren(el('div', { class: 'sb-error', text: error.message }));
    }
  });
  const section = sidebar.section('Operator', details);
  section.classList.add('sb-operator');
  return section;
}

function docParts(entry, source, sidebar) {
  const parts = [];
  if (entry.description) parts.push(markdown(entry.description));
  const param = (p) => {
    const head = el('div', { class: 'sb-mono' }, el('span', { class: 'sb-name', text: p.name }));
    const kind = [p.type, p.option && p.option !== 'single' ? p.option : ''].filter(Boolean).join(', ');
    if (kind) head.append(el('span', { class: 'sb-type', text: ` ${kind}` }));
    return el('div', { class: 'sb-param', 'data-name': p.name }, head, p.description ? markdown(p.description, true) : null);
  };
  const list = (title, items, cls) => (items && items.length
    ? el('div', { class: cls }, el('h4', { text: title }), ...items.map(param)) : null);
  parts.push(list('Inputs', entry.inputs, 'sb-opdoc-inputs'), list('Outputs', entry.outputs, 'sb-opdoc-outputs'));
  const attrs = (entry.attributes || []).map((a) => {
    const p = param(a);
    const facts = [a.required ? 'required' : null,
      Object.hasOwn(a, 'default') ? `default ${JSON.stringify(a.default)}` : null].filter(Boolean).join(', ');
    if (facts) p.firstChild.append(el('span', { class: 'sb-type', text: ` ${facts}` }));
    return p;
  });
  if (attrs.length) parts.push(el('div', { class: 'sb-opdoc-attributes' }, el('h4', { text: 'Attributes' }), ...attrs));
  const types = entry.type_constraints || [];
  if (types.length) {
    parts.push(el('div', { class: 'sb-opdoc-types' }, el('h4', { text: 'Type constraints' }),
      ...types.map((t) => sidebar.row(t.name, el('span', { class: 'sb-mono sb-wrap', text: (t.types || []).join(', ') })))));
  }
  if (source) parts.push(el('div', { class: 'sb-muted sb-opdoc-source', text: `From ${source}.` }));
  return parts.filter(Boolean);
}

// A small safe subset of markdown: blank-line paragraphs, ``` code blocks, `code` spans;
// everything else (links, emphasis, HTML) stays the text it is.
function markdown(text, inline = false) {
  const root = el('div', { class: inline ? 'sb-md sb-muted' : 'sb-md' });
  const blocks = String(text).split(/^```[^\n]*\n?/m);
  blocks.forEach((block, i) => {
    if (i % 2 === 1) { root.append(el('pre', { class: 'sb-code', text: block.replace(/\n$/, '') })); return; }
    for (const para of block.split(/\n\s*\n/)) {
      if (!para.trim()) continue;
      const p = el('p', {});
      para.trim().split(/(`[^`\n]+`)/).forEach((piece, j) => {
        p.append(j % 2 === 1 ? el('code', { text: piece.slice(1, -1) }) : document.createTextNode(piece));
      });
      root.append(p);
    }
  });
  return root;
}
