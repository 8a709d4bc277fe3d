"""Real Darknet files for the tests, and what Darknet itself computes of them.

Darknet is Debian's `darknet` package (pjreddie's Darknet, libdarknet + the .cfg files it
ships in /usr/share/darknet/cfg); test.sh installs it. tests/darknet_oracle.c, built here
against its darknet.h and libdarknet.so, lets Darknet parse each .cfg and prints what it
computed: every layer's type, batch, out_w/out_h/out_c and outputs, and its parameter
arrays (count, first, last value, sum); Darknet's own layer table (with its BFLOPs) is
kept from stderr. For the models marked WEIGHTS, Darknet also writes the .weights
(save_weights), after filling the arrays it initialises to constants (biases, scales,
rolling statistics) with values that tell every array apart; the weights themselves
are Darknet's random initialisation.

  debian/<name>.cfg(+.weights)   every .cfg Debian ships (weights for the small ones)
  made/<name>.cfg + .weights     .cfg files written here for the layers and options
                                 Debian's files do not use (MADE)

Cached in tests/.cache/darknet-GENERATION-<package version>/, complete.json the index.
"""
import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SHARE = "/usr/share/darknet"
INCLUDE, LIB = "/usr/lib/darknet/include", "/usr/lib/darknet"
GENERATION = "1"
WEIGHTS = ("tiny", "writing", "gru", "yolov3-tiny")

MADE = {
    # most layer types and options, on a non-square input (24 wide, 20 high)
    "layers": """
[net]
batch=4
subdivisions=2
width=24
height=20
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky

[convolutional]
filters=4
groups=2
size=3
stride=1
padding=2
activation=linear

[maxpool]
size=3
stride=2

[maxpool]
size=2
stride=1
padding=0

[deconvolutional]
filters=4
size=4
stride=2
pad=1
batch_normalize=1
activation=relu

[local]
filters=3
size=3
stride=2
pad=1
activation=leaky

[batchnorm]

[normalization]
size=3

[activation]
activation=relu

[l2norm]

[logistic]

[reorg]
stride=2

[reorg]
stride=2
reverse=1

[upsample]
stride=2

[upsample]
stride=-2

[shortcut]
from=-6
activation=leaky

[route]
layers=-1,-2

[route]
layers=-1,0

[connected]
output=10
batch_normalize=1
activation=relu

[dropout]
probability=.3

[softmax]

[cost]
""",
    # the detection heads, and a crop
    "heads": """
[net]
width=13
height=11
channels=3

[convolutional]
filters=125
size=1
activation=linear

[region]
num=5
classes=20
coords=4

[route]
layers=0

[convolutional]
filters=21
size=3
pad=1

[yolo]
mask=0,1,2
num=6
classes=2

[route]
layers=0

[convolutional]
filters=8
size=1

[iseg]
classes=3
ids=5

[route]
layers=0

[connected]
output=52

[detection]
side=2
num=2
classes=3
coords=4

[route]
layers=0

[crop]
crop_height=9
crop_width=7
""",
    # recurrent layers on a flat input, over time steps
    "recurrent": """
[net]
inputs=16
batch=6
time_steps=3

[rnn]
output=8
activation=leaky

[lstm]
output=6
batch_normalize=1

[gru]
output=5

[connected]
output=3
""",
    # a convolutional recurrent layer (its width and height come out swapped), a flipped
    # convolution, and a layer Darknet neither writes nor reads (dontsave / dontload)
    "crnn": """
[net]
width=7
height=5
channels=2
batch=2
time_steps=2

[crnn]
hidden_filters=3
output_filters=4
batch_normalize=1
activation=leaky

[convolutional]
filters=6
size=2
stride=1
flipped=1
activation=relu

[convolutional]
filters=5
size=1
dontsave=1
dontload=1

[convolutional]
filters=2
size=3
pad=1
""",
}


def darknet_version():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "darknet"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def available():
    """Why Darknet's oracle cannot run here (None when it can)."""
    if darknet_version() is None or not os.path.exists(os.path.join(LIB, "libdarknet.so")):
        return "Debian's darknet package is not installed (test.sh installs it)"
    if shutil.which("cc") is None:
        return "no C compiler to build the Darknet oracle with"
    return None


def _run(oracle, mode, cfg, weights=None):
    args = [oracle, mode, cfg] + ([weights] if weights else [])
    out = subprocess.run(args, capture_output=True, text=True, cwd=SHARE, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"darknet oracle failed on {cfg}: {out.stderr[-2000:]}")
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {"net": lines[0]["net"], "layers": lines[1:], "table": out.stderr}


def _build(folder):
    oracle = os.path.join(folder, "darknet_oracle")
    subprocess.run(["cc", "-O1", "-o", oracle, os.path.join(HERE, "darknet_oracle.c"),
                    f"-I{INCLUDE}", f"-L{LIB}", "-ldarknet", f"-Wl,-rpath,{LIB}", "-lm"],
                   check=True, capture_output=True, timeout=300)
    index = {"darknet": darknet_version(), "models": {}}
    for sub in ("debian", "made"):
        os.makedirs(os.path.join(folder, sub))
    cfgs = [("debian", n[:-4], os.path.join(SHARE, "cfg", n))
            for n in sorted(os.listdir(os.path.join(SHARE, "cfg"))) if n.endswith(".cfg")]
    for name, text in MADE.items():
        path = os.path.join(folder, "made", name + ".cfg")
        with open(path, "w") as f:
            f.write(text.lstrip())
        cfgs.append(("made", name, path))
    for sub, name, path in cfgs:
        cfg = os.path.join(sub, name + ".cfg")
        if sub == "debian":
            shutil.copy(path, os.path.join(folder, cfg))
        entry = {"cfg": cfg, "weights": None}
        if sub == "made" or name in WEIGHTS:
            weights = os.path.join(sub, name + ".weights")
            entry.update(_run(oracle, "write", os.path.abspath(os.path.join(folder, cfg)),
                              os.path.join(folder, weights)))
            entry["weights"] = weights
        else:
            entry.update(_run(oracle, "shapes", path))
        index["models"][f"{sub}/{name}"] = entry
    return index


def darknet_files():
    """(folder, index): the files and what Darknet computed of them, built on first use."""
    import models
    key = f"darknet-{GENERATION}-{darknet_version()}".replace("+", "_").replace(":", "_")
    return models._cached_set(key, _build)
