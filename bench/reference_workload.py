"""A fixed pure-Python workload shaped like a parse (varints from bytes, small objects,
string decoding, json.dumps), run in CPython and in Pyodide to tell how much of the
Pyodide/CPython parse ratio is the interpreter itself rather than the parser."""
import json
import time


def _varints(buf):
    out, p, n = [], 0, len(buf)
    while p < n:
        result = shift = 0
        while True:
            b = buf[p]
            p += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
        out.append(result)
    return out


def workload():
    data = bytes((i * 131 + 7) % 256 for i in range(200_000))
    values = _varints(data)
    nodes = [{"op": f"Op{v % 37}", "name": data[i:i + 24].decode("utf-8", "replace"),
              "in": [v, v + 1], "attrs": {"k": v % 5}} for i, v in enumerate(values[:20_000])]
    return len(json.dumps(nodes))


def bytecode():
    """Plain interpreter loops (arithmetic, a builtin call, a dict method): no work done
    in C libraries such as json, so it shows the eval loop's own speed."""
    x, d, total = [1, 2, 3], {1: 2}, 0
    for i in range(300_000):
        total += i + len(x) + d.get(1)
    return total


def run(repeat=5, work=workload):
    """Median seconds of `repeat` runs of the workload."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        work()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


if __name__ == "__main__":
    print(f"workload {run() * 1000:.1f} ms, bytecode {run(work=bytecode) * 1000:.1f} ms")
