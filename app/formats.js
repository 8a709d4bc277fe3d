// The formats Wetron reads, as the Python format modules declare them (dist/formats.json,
// written by build.py from wetron.formats.manifest()): which of several given files is
// the model, the file input's accept list and the start page's format list.

let loading = null;
// [{name, extensions, main_files, companions: [{pattern, what}], capabilities}]
export function loadFormats() {
  if (!loading) {
    loading = fetch('formats.json').then((response) => {
      if (!response.ok) throw new Error(`formats.json: ${response.status} ${response.statusText}`);
      return response.json();
    });
    loading.catch(() => { loading = null; });   // tried again on the next open
  }
  return loading;
}

const baseName = (path) => path.slice(path.lastIndexOf('/') + 1);
const folderOf = (path) => path.slice(0, path.lastIndexOf('/') + 1);
const depth = (path) => path.split('/').length;
// A companion pattern ('variables/variables.data-*', '*.bin') as a test of a path's tail.
const patternTest = (pattern) => new RegExp(`(^|/)${pattern.split('*').map((part) =>
  part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`, 'i');

// The rank of a file as the model among several (lower first), by name alone, the same
// rule for every format: a format's main file name (saved_model.pb, then model.json),
// else a format's extension, later when the name is also a companion's by a pattern at
// least as specific as that extension (a .bin may be PyTorch weights, TF.js shards or
// ONNX external data; ncnn's x.param.bin is a model beside its x.bin, though '*.bin'
// matches both), else anything (wetron.formats.model_rank).
// Weak extensions (.json, .txt: other files carry them too) rank after all of these.
function ranker(formats) {
  const mainFiles = formats.flatMap((f) => f.main_files.map((n) => n.toLowerCase()));
  const weak = formats.flatMap((f) => f.weak_extensions);
  const extensions = formats.flatMap((f) => f.extensions.filter((e) => !f.weak_extensions.includes(e)));
  const companions = formats.flatMap((f) => f.companions.map((c) => (
    { test: patternTest(c.pattern), tail: c.pattern.slice(c.pattern.lastIndexOf('*') + 1).length })));
  return (path) => {
    const name = baseName(path).toLowerCase();
    const main = mainFiles.indexOf(name);
    if (main >= 0) return main;
    const matched = Math.max(-1, ...extensions.filter((e) => name.endsWith(e)).map((e) => e.length));
    if (matched >= 0) {
      const companion = companions.some((c) => c.tail >= matched && c.test.test(path));
      return mainFiles.length + (companion ? 1 : 0);
    }
    return mainFiles.length + (weak.some((e) => name.endsWith(e)) ? 2 : 3);
  };
}

// entries: [{file, path}], path relative to what was given ('' folders for loose files).
// The model (best rank, nearest the top folder, largest), and every other file as a
// companion under its path relative to the model's folder and under its base name.
export function modelAndCompanions(formats, entries) {
  const rank = ranker(formats);
  const ranks = new Map(entries.map((e) => [e, rank(e.path)]));
  const best = (a, b) => ranks.get(a) - ranks.get(b) || depth(a.path) - depth(b.path) || b.file.size - a.file.size;
  const model = entries.reduce((a, b) => (best(b, a) < 0 ? b : a));
  const folder = folderOf(model.path);
  const companions = [];
  const seen = new Set([baseName(model.path)]);
  const add = (name, file) => { if (name && !seen.has(name)) { seen.add(name); companions.push({ name, file }); } };
  const others = entries.filter((e) => e !== model);
  for (const e of others) add(e.path.startsWith(folder) ? e.path.slice(folder.length) : e.path, e.file);
  for (const e of others) add(baseName(e.path), e.file);
  return { file: model.file, name: baseName(model.path), companions };
}

// The file input's accept list: every extension and main file's extension, and the
// companions' where a pattern ends in one ('*.bin', 'variables/variables.index').
export function acceptList(formats) {
  const out = new Set();
  const suffix = (name) => { const m = /(\.[a-z0-9]+)$/i.exec(name); return m ? m[1].toLowerCase() : null; };
  for (const f of formats) {
    for (const e of f.extensions) out.add(suffix(e));   // ('-symbol.json': '.json')
    for (const n of f.main_files) out.add(suffix(n));
    for (const c of f.companions) out.add(suffix(c.pattern));
  }
  out.delete(null);
  return [...out].join(',');
}

// The start page's list: "ONNX (.onnx), TensorFlow (.pb, saved_model.pb), …".
export function formatList(formats) {
  return formats.map((f) => {
    const names = [...f.extensions, ...f.main_files];
    return names.length ? `${f.name} (${names.join(' ')})` : f.name;
  }).join(', ');
}
