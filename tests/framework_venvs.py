"""Virtual environments of their own for frameworks that cannot be installed beside the
test environment's packages (an older numpy, another protobuf), under
tests/.cache/venvs/NAME/, created once by the test setup from pinned PyPI packages.

venv_python(name, pins) -> the venv's python (created on first use; VenvUnavailable if
that fails: no registry, a wheel missing for this Python, ...). Its complete.json holds
the pins, the versions pip installed and the seconds it took; a venv whose pins changed
is made again. run_child(python, script, args) runs a generator script in it, with its
own scratch home and, where `unshare -n` works, without network, so nothing in a model
file comes from the network.
(tests/readability_models.py has its own copy of this for the torchvision venv.)
"""
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENVS = os.path.join(HERE, ".cache", "venvs")
MARKER = "complete.json"


class VenvUnavailable(RuntimeError):
    pass


_errors = {}   # name -> message: a failed install is not retried per test


def _ok(folder, pins):
    try:
        with open(os.path.join(folder, MARKER)) as f:
            done = json.load(f)
    except (OSError, ValueError):
        return None
    ok = done.get("pins") == pins and os.path.exists(os.path.join(folder, "bin", "python"))
    return done if ok else None


def _clean_env():
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def venv_info(name, pins):
    folder = os.path.join(VENVS, name)
    done = _ok(folder, pins)
    if done:
        return done
    if name in _errors:
        raise VenvUnavailable(_errors[name])
    os.makedirs(VENVS, exist_ok=True)
    with open(os.path.join(VENVS, name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)          # one process creates it, the others wait
        done = _ok(folder, pins)
        if done:
            return done
        tmp = tempfile.mkdtemp(prefix=name + ".tmp-", dir=VENVS)
        env = _clean_env()
        step = "python -m venv"
        try:
            t0 = time.time()
            subprocess.run([sys.executable, "-m", "venv", tmp], check=True, capture_output=True,
                           text=True, timeout=600, env=env)
            t1 = time.time()
            python = os.path.join(tmp, "bin", "python")
            step = "pip install " + " ".join(pins)
            subprocess.run([python, "-m", "pip", "install", "--no-input", "--progress-bar", "off",
                            "--disable-pip-version-check", *pins], check=True,
                           capture_output=True, text=True, timeout=3600, env=env)
            t2 = time.time()
            versions = json.loads(subprocess.run(
                [python, "-c", "import importlib.metadata as m, json; print(json.dumps("
                 "{d.metadata['Name'].lower(): d.version for d in m.distributions()}))"],
                check=True, capture_output=True, text=True, timeout=600, env=env).stdout)
            done = {"pins": pins, "versions": versions,
                    "seconds": {"venv": round(t1 - t0, 1), "pip_install": round(t2 - t1, 1)}}
            with open(os.path.join(tmp, MARKER), "w") as f:
                json.dump(done, f, indent=1)
            if os.path.isdir(folder):              # an older or half-made one
                shutil.rmtree(folder, ignore_errors=True)
            os.rename(tmp, folder)                 # a venv runs from its new place too
            return done
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
            out = getattr(e, "stderr", None) or getattr(e, "stdout", None) or ""
            if isinstance(out, bytes):
                out = out.decode("utf-8", "replace")
            _errors[name] = f"{name}: {step} failed: {e}\n{out[-3000:]}"
            raise VenvUnavailable(_errors[name]) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def venv_python(name, pins):
    venv_info(name, pins)
    return os.path.join(VENVS, name, "bin", "python")


def _no_network():
    if not hasattr(_no_network, "prefix"):
        ok = shutil.which("unshare") and subprocess.run(
            ["unshare", "-n", "true"], capture_output=True).returncode == 0
        _no_network.prefix = ["unshare", "-n"] if ok else []
    return _no_network.prefix


def run_child(python, script, args, timeout=1800):
    """Runs `python script *args` in a scratch home without network; its stderr on failure."""
    scratch = tempfile.mkdtemp(prefix="venv-child-")
    env = _clean_env()
    env.update(HOME=scratch, XDG_CACHE_HOME=os.path.join(scratch, "cache"),
               MXNET_HOME=os.path.join(scratch, "mxnet"), PYTHONNOUSERSITE="1",
               PYTHONIOENCODING="utf-8", OMP_NUM_THREADS="1", MXNET_ENGINE_TYPE="NaiveEngine")
    try:
        proc = subprocess.run(_no_network() + [python, script, *args], env=env, cwd=scratch,
                              capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{os.path.basename(script)} {' '.join(args)} failed:\n"
                           + proc.stderr[-4000:])
    return proc.stdout


def child_set(python, script, key):
    """(folder, index) of the models a generator script writes with the venv's `python`:
    run as `script child FOLDER`, it leaves FOLDER/_index.json, which becomes the index of
    the cached set tests/.cache/<key>/ (models._cached_set), built once."""
    import models

    def build(folder):
        run_child(python, script, ["child", folder])
        path = os.path.join(folder, "_index.json")
        with open(path) as f:
            index = json.load(f)
        os.remove(path)
        return index
    return models._cached_set(key, build)
