// Real Pyodide (npm package in node_modules) with the wetron package importable, and
// nothing else installed: no micropip, no packages from Pyodide's distribution.
import fs from "fs";
import path from "path";

// Boot Pyodide and make `import wetron` work: from the source tree py/wetron (copied
// into the in-memory file system, so no __pycache__ lands in the repo) or, with
// `wheel`, from a built wheel unpacked as the page does (app/parse-worker.js).
export async function bootPyodide(repo, { wheel = null } = {}) {
  const indexURL = path.join(repo, "node_modules", "pyodide") + "/";
  const { loadPyodide } = await import(path.join(indexURL, "pyodide.mjs"));
  const py = await loadPyodide({ indexURL, stdout: (s) => process.stderr.write(s + "\n") });
  if (wheel) {
    py.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel");
  } else {
    copyTree(py, path.join(repo, "py", "wetron"), "/lib/wetron");
    py.runPython("import sys; sys.path.insert(0, '/lib')");
  }
  py.runPython("import importlib; importlib.invalidate_caches()");
  return py;
}

function copyTree(py, src, dst) {
  py.FS.mkdirTree(dst);
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    if (e.name === "__pycache__") continue;
    const s = path.join(src, e.name);
    if (e.isDirectory()) copyTree(py, s, dst + "/" + e.name);
    else py.FS.writeFile(dst + "/" + e.name, fs.readFileSync(s));
  }
}

// A host file as the reader wetron.web expects: {size, read(offset, length) ->
// Uint8Array}, read range by range with fs.readSync (as the page reads Blob slices with
// FileReaderSync), never whole. Counts calls and bytes read.
export function fileReader(file) {
  const fd = fs.openSync(file, "r");
  const reader = {
    size: fs.fstatSync(fd).size, calls: 0, bytes: 0,
    read(offset, length) {
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = fs.readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;   // end of file: the short result is Python's to report
        got += n;
      }
      reader.calls += 1;
      reader.bytes += got;
      return new Uint8Array(buf.buffer, buf.byteOffset, got);
    },
    close() { fs.closeSync(fd); },
  };
  return reader;
}

// Which modules Python has loaded, and whether any comes from outside the standard
// library and wetron itself (which would mean something else was installed).
export function foreignModules(py) {
  return py.runPython(`
import sys, json
own = {"wetron", "pyodide", "pyodide_js", "_pyodide", "_pyodide_core", "js", "__main__"}
out = []
for name, mod in sorted(sys.modules.items()):
    top = name.split(".")[0]
    if top not in sys.stdlib_module_names and top not in own:
        out.append(f"{name} {getattr(mod, '__file__', None)}")
json.dumps(out)
`);
}
