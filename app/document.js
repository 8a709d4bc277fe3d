// The graph document (docs/graph-schema.md) from the JSON texts the parse workers send:
// the document itself and, for a file opened by the two parse workers, its detail
// (wetron Model.detail_dict: value types, inferred shapes and cost, computed by the
// second worker at the same time). Used alike by the page and the layout worker.

// -> the document, with the detail merged in. Throws on anything not a graph document.
export function parseDocument(json, detailJson = null) {
  const doc = JSON.parse(json);
  if (doc.error) throw new Error(doc.error);
  if (doc.schema !== 'wetron-graph' || !Array.isArray(doc.graphs) || !doc.graphs.length) {
    throw new Error('not a wetron graph document');
  }
  if (detailJson != null) mergeDetail(doc, JSON.parse(detailJson));
  return doc;
}

// Detail type entries refer to other types (elem, value) by their index in the detail's
// own table, which is appended to the document's.
function mergeDetail(doc, detail) {
  const graphs = detail.graphs, types = detail.types;
  if (!Array.isArray(graphs) || !Array.isArray(types) || graphs.length !== doc.graphs.length ||
      graphs.some((d, i) => !Array.isArray(d.value_types) || d.value_types.length !== doc.graphs[i].values.length)) {
    throw new Error('the document detail does not match the document');
  }
  const offset = doc.types.length;
  const shift = (i) => (i == null ? null : i + offset);
  for (const t of types) {
    if (t.elem != null) t.elem = shift(t.elem);
    if (t.kind === 'map') t.value = shift(t.value);
    doc.types.push(t);
  }
  graphs.forEach((d, i) => {
    const g = doc.graphs[i];
    d.value_types.forEach((t, v) => { g.values[v][1] = shift(t); });
    if (d.inferred && d.inferred.length) g.inferred = d.inferred;
    g.cost = d.cost;
    if (g.groups && g.groups.length && g.cost && g.cost.nodes) g.cost.groups = groupSums(g);
    if (g.cost && g.cost.nodes) delete g.cost.nodes.weight_bytes;   // only needed for the sums
  });
}

// Work figures, summed over the nodes one run runs (wetron.cost.WORK; g.cost.not_run).
export const WORK = new Set(['flops', 'macs', 'activation_bytes']);

// Per group, sums of the per-node figures over every node inside it at all depths, as
// wetron.cost.group_sums gives them (None counts as 0; "unknown" counts nodes whose
// FLOPs are unknown; work and unknown over the nodes one run runs). Parents come
// before children in g.groups.
function groupSums(g) {
  const n = g.groups.length, nodes = g.cost.nodes, nodeGroup = g.node_group || [];
  const notRun = new Set(g.cost.not_run || []);
  const sums = {};
  for (const key of Object.keys(nodes)) {
    const acc = new Array(n).fill(0), values = nodes[key], work = WORK.has(key);
    nodeGroup.forEach((k, i) => { if (k >= 0 && k < n && values[i] && !(work && notRun.has(i))) acc[k] += values[i]; });
    sums[key] = acc;
  }
  const unknown = sums.unknown = new Array(n).fill(0), flops = nodes.flops || [];
  nodeGroup.forEach((k, i) => { if (k >= 0 && k < n && flops[i] == null && !notRun.has(i)) unknown[k]++; });
  for (const acc of Object.values(sums)) {
    for (let k = n - 1; k >= 0; k--) {
      const p = g.groups[k].parent;
      if (p >= 0 && p < k) acc[p] += acc[k];
    }
  }
  return sums;
}
