"""build.py is reproducible: the same sources give the same site, byte for byte (the
snapshot of Python's memory included), so a redeploy that changed nothing keeps every
content hash and the service worker's version, and returning visitors download nothing."""
import hashlib
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _digests(dist):
    out = {}
    for folder, _dirs, names in os.walk(dist):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, dist)] = hashlib.sha256(f.read()).hexdigest()
    return out


def test_two_builds_give_the_same_bytes(tmp_path):
    sites = []
    for run in ("a", "b"):
        out = str(tmp_path / run)
        subprocess.run([sys.executable, os.path.join(REPO, "build.py"), "--out", out],
                       check=True, capture_output=True, timeout=600)
        sites.append(_digests(out))
    a, b = sites
    assert "pyodide/snapshot.bin.gz" in a and "sw.js" in a
    assert a.keys() == b.keys()
    assert [p for p in a if a[p] != b[p]] == []
