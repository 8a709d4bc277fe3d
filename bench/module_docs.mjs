// Generated graph documents (docs/graph-schema.md) with a module hierarchy, for the
// hierarchy benchmark (bench/hierarchy_bench.mjs) and the layout invariants test
// (tests/layout_invariants.mjs). Plain ES module for node; the site never loads it.
//
// transformerDoc(layers): a BERT-like encoder as torch exports it to ONNX, about 50
// nodes per layer, modules embeddings / encoder/layer.N/{attention/{self/{query,key,
// value}, output/dense}, intermediate/dense, output/dense} / pooler, layers marked as
// repeats, plus shape constants at the top level feeding every layer (as torch does).

export function transformerDoc(layers) {
  const values = [], nodes = [], groups = [], nodeGroup = [], initializers = [], tensors = [];
  const byPath = new Map();
  const types = [{ kind: 'tensor', dtype: 'float32', shape: ['batch', 'sequence', 768] },
    { kind: 'tensor', dtype: 'int64', shape: [4] }];
  const value = (name, type = 0) => { values.push([name, type, null]); return values.length - 1; };
  const weight = (name, shape) => {
    tensors.push({ name, dtype: 'float32', shape, size: 4 * shape.reduce((a, b) => a * b, 1), location: 'inline' });
    values.push([name, null, tensors.length - 1]);
    initializers.push(values.length - 1);
    return values.length - 1;
  };
  const group = (path, repeat) => {
    if (byPath.has(path)) return byPath.get(path);
    const cut = path.lastIndexOf('/');
    const parent = cut < 0 ? -1 : group(path.slice(0, cut));
    groups.push({ name: path.slice(cut + 1), path, parent, nodes: 0, ...(repeat ? { repeat } : {}) });
    byPath.set(path, groups.length - 1);
    return groups.length - 1;
  };
  const node = (op, path, inputs, type = 0) => {
    const out = value(`/${path}/${op}_${nodes.length}_output_0`, type);
    nodes.push({ op, domain: '', name: `/${path}/${op}_${nodes.length}`, in: inputs, out: [out], attrs: [] });
    nodeGroup.push(path ? group(path) : -1);
    return out;
  };
  const linear = (path, x) => node('Add', path, [node('MatMul', path, [x, weight(`${path}.weight`, [768, 768])]), weight(`${path}.bias`, [768])]);
  const layerNorm = (path, x) => node('LayerNormalization', path, [x, weight(`${path}.ln.weight`, [768]), weight(`${path}.ln.bias`, [768])]);

  const ids = value('input_ids', 1), mask = value('attention_mask', 1);
  const heads = node('Constant', '', [], 1), split = node('Constant', '', [], 1);
  let h = layerNorm('embeddings', node('Add', 'embeddings', [node('Gather', 'embeddings', [weight('word_embeddings', [30522, 768]), ids]),
    node('Gather', 'embeddings', [weight('position_embeddings', [512, 768]), ids])]));
  const extended = node('Mul', '', [node('Sub', '', [node('Cast', '', [node('Unsqueeze', '', [mask])])])]);
  for (let l = 0; l < layers; l++) {
    const base = `encoder/layer.${l}`;
    group('encoder');
    group(base, { of: 'layer.#', index: l, count: layers });
    const self = `${base}/attention/self`;
    const shape = (x) => node('Transpose', self, [node('Reshape', self, [x, node('Concat', self, [node('Unsqueeze', self, [node('Gather', self, [node('Shape', self, [x], 1)], 1)], 1), heads], 1)])]);
    const q = shape(linear(`${self}/query`, h)), k = shape(linear(`${self}/key`, h)), v = shape(linear(`${self}/value`, h));
    const scores = node('Add', self, [node('Div', self, [node('MatMul', self, [q, node('Transpose', self, [k])])]), extended]);
    const context = node('MatMul', self, [node('Softmax', self, [scores]), v]);
    const merged = node('Reshape', self, [node('Transpose', self, [context]), split]);
    const attn = layerNorm(`${base}/attention/output`, node('Add', `${base}/attention/output`, [linear(`${base}/attention/output/dense`, merged), h]));
    const inter = node('Gelu', `${base}/intermediate`, [linear(`${base}/intermediate/dense`, attn)]);
    h = layerNorm(`${base}/output`, node('Add', `${base}/output`, [linear(`${base}/output/dense`, inter), attn]));
  }
  const pooled = node('Tanh', 'pooler', [linear('pooler/dense', node('Gather', 'pooler', [h]))]);
  // Node counts per group, all levels.
  for (const k of nodeGroup) for (let g = k; g >= 0; g = groups[g].parent) groups[g].nodes++;
  return {
    schema: 'wetron-graph', version: 1,
    model: { file: `generated-transformer-${layers}.onnx`, size: 0, format: 'ONNX', format_version: 'IR 9', producer: 'bench',
      domain: '', doc: '', model_version: null, imports: [['', 17]], metadata: [], parameters: 0, weight_bytes: 0, warnings: [] },
    types, tensors, functions: [], training: [],
    graphs: [{ name: 'main_graph', doc: '', parent: null, values, inputs: [ids, mask], outputs: [h, pooled],
      initializers, nodes, groups, node_group: nodeGroup }],
  };
}

// Box sizes as the page makes them, with glyph widths estimated (~6.6 px per character
// of the 11 px title, 5.6 of the body), for running the layout without a glyph atlas.
export function estimatedSizes(view) {
  const n = view.boxes.length;
  const width = new Float32Array(n), height = new Float32Array(n), ghostWidth = new Float32Array(n);
  view.boxes.forEach((b, i) => {
    let w = 6.6 * b.title.length;
    for (const line of b.lines) w = Math.max(w, 5.6 * line.length);
    width[i] = Math.max(44, Math.ceil(w + 16));
    height[i] = b.lines.length ? 21 + b.lines.length * 13 + 5 : 24;
    ghostWidth[i] = Math.ceil(5.4 * (b.title.length + 2) + 16);
  });
  return { width, height, ghostWidth, ghostHeight: 18 };
}
