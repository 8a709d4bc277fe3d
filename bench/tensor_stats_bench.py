#!/usr/bin/env python3
"""Tensor statistics benchmark: wetron.tensor_stats on big tensors, in CPython and in
real Pyodide (Node, the page's entry point wetron.web.tensor_stats with a JS reader).

Writes once tests/.cache/tensor-bench/big.safetensors (~470 MB, random values):
  f32_100M  float32 [10000, 10000]   past the cap: sampled in evenly spaced windows
  f32_4M    float32 [2048, 2048]     exactly the cap: every element read, twice
  f16_4M    float16 [2048, 2048]
  bf16_4M   bfloat16 [2048, 2048]
  i8_4M     int8 [2048, 2048]
and prints, per tensor, seconds for statistics + histogram (wall clock, and CPU time of
the process: on a shared machine wall time is mostly waiting), elements read, and for
f32_4M the seconds to write its .npy (16 MB).

    python bench/tensor_stats_bench.py            # CPython and Pyodide
    python bench/tensor_stats_bench.py --cpython  # CPython only
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "py"))
import wetron  # noqa: E402
from wetron import tensor_stats  # noqa: E402

FILE = os.path.join(REPO, "tests", ".cache", "tensor-bench", "big.safetensors")
TENSORS = [("f32_100M", "F32", (10000, 10000)), ("f32_4M", "F32", (2048, 2048)),
           ("f16_4M", "F16", (2048, 2048)), ("bf16_4M", "BF16", (2048, 2048)),
           ("i8_4M", "I8", (2048, 2048))]


def make_file():
    if os.path.exists(FILE):
        return FILE
    import numpy as np
    rng = np.random.default_rng(0)
    header, blobs, offset = {}, [], 0
    for name, dt, shape in TENSORS:
        n = int(np.prod(shape))
        if dt == "I8":
            data = rng.integers(-128, 128, n, dtype=np.int8).tobytes()
        else:
            x = rng.standard_normal(n, dtype=np.float32)
            x[:: 1000] = 0.0
            data = (x.astype(np.float16).tobytes() if dt == "F16" else
                    (x.view(np.uint32) >> 16).astype(np.uint16).tobytes() if dt == "BF16" else
                    x.tobytes())
        header[name] = {"dtype": dt, "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(os.path.dirname(FILE), exist_ok=True)
    with open(FILE + ".tmp", "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text)
        for b in blobs:
            f.write(b)
    os.rename(FILE + ".tmp", FILE)
    return FILE


class Null:
    def write(self, b):
        pass


def cpython():
    model = wetron.open(FILE)
    for t in model.tensors:
        start, cpu = time.perf_counter(), time.process_time()
        s = tensor_stats.tensor_stats(model, t.index)
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        print(f"  {t.name:9} {t.count:>11,} elements  {took:6.2f} s (CPU {cpu:5.2f} s)  "
              f"read {s['read']:,}{' (sampled)' if s['sampled'] else ''}")
    t = tensor_stats.find_tensor(model, "f32_4M")
    start, cpu = time.perf_counter(), time.process_time()
    tensor_stats.write_npy(model, t.index, Null())
    print(f"  .npy of f32_4M (16 MB): {time.perf_counter() - start:.2f} s "
          f"(CPU {time.process_time() - cpu:.2f} s)")


PYODIDE_SCRIPT = """
import { bootPyodide, fileReader } from "%s/tests/pyodide/pyodide-env.mjs";
const py = await bootPyodide(%s);
const web = py.pyimport("wetron.web");
const reader = fileReader(%s);
const doc = JSON.parse(web.open_file(reader, "big.safetensors", new Map()));
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
doc.tensors.forEach((t, i) => {
  const start = performance.now(), cpu = cpuSeconds();
  const s = JSON.parse(web.tensor_stats(i));
  const took = (performance.now() - start) / 1000, used = cpuSeconds() - cpu;
  console.log(`  ${t.name.padEnd(9)} ${s.count.toLocaleString("en-US").padStart(11)} elements  ${took.toFixed(2).padStart(6)} s (CPU ${used.toFixed(2).padStart(5)} s)  read ${s.read.toLocaleString("en-US")}${s.sampled ? " (sampled)" : ""}`);
});
const i = doc.tensors.findIndex((t) => t.name === "f32_4M");
const start = performance.now(), cpu = cpuSeconds();
let bytes = 0;
web.tensor_npy(i, (chunk) => { bytes += chunk.length; });
console.log(`  .npy of f32_4M (${(bytes / 1048576).toFixed(0)} MB): ${((performance.now() - start) / 1000).toFixed(2)} s (CPU ${(cpuSeconds() - cpu).toFixed(2)} s)`);
"""


def pyodide():
    script = PYODIDE_SCRIPT % (REPO, json.dumps(REPO), json.dumps(FILE))
    subprocess.run(["node", "--input-type=module", "-e", script], check=True, cwd=REPO)


if __name__ == "__main__":
    make_file()
    print(f"CPython {sys.version.split()[0]} (cap {tensor_stats.ELEMENT_CAP:,} elements):")
    cpython()
    if "--cpython" not in sys.argv:
        print("Pyodide (Node):")
        pyodide()
