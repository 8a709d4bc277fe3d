"""Keras models: `.keras` archives (zip of config.json, metadata.json and
model.weights.h5), legacy `.h5` models (HDF5 with a model_config attribute and a
model_weights group), and weights-only `.h5` files (Keras 3 `.weights.h5`, Keras 2
`save_weights`). Other HDF5 files open as a tree of their datasets.

The graph comes from the model config: one node per layer call, edges from
`inbound_nodes` (Keras 2 lists and Keras 3 `__keras_tensor__` histories alike), nested
models flattened into 'outer/inner/layer' node names so hierarchy.py groups them.
Weights come from the HDF5 file, read lazily through wetron.hdf5.
"""
import json
import re
import struct
import zipfile
import zlib

from .. import hdf5
from ..errors import ModelError
from ..model import Attribute, Graph, Model, Node, Tensor
from ..source import BytesSource, SliceSource, SourceFile
from ..util import load_json

FORMAT = "Keras"
DOMAIN = "keras"   # the op registry's domain of Keras layers (wetron.ops.keras)
BATCH = "batch"    # the symbol of the free batch dim
EXTENSIONS = (".keras", ".h5")
CAPABILITIES = frozenset({"tensor_values"})
MAX_JSON_BYTES = 256 << 20
MAX_NESTING = 32            # models inside models
MAX_SCAN_DEPTH = 64         # nesting of inbound-node structures
MAX_LAYERS = 1 << 20
MAX_INFLATE = 1 << 30       # a compressed weights member is inflated in memory up to this
_ARCHIVE_MEMBERS = (b"metadata.json", b"config.json", b"model.weights.h5",
                    b"model.weights.npz", b"variables.h5")
_MODEL_CLASSES = {"Functional", "Sequential", "Model"}
# What zipfile raises on a damaged or unusual archive (ModelError from the Source passes).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, RuntimeError,
               NotImplementedError, struct.error, KeyError)


def match(head, name=""):
    """The HDF5 signature (any HDF5 file: those without a Keras model open as their
    datasets), or a zip whose first member is one of a .keras archive's."""
    if hdf5.find_signature(head) is not None:
        return 1.0
    if head.startswith(b"PK\x03\x04") and len(head) >= 30:
        n = struct.unpack_from("<H", head, 26)[0]
        return 1.0 if head[30:30 + n] in _ARCHIVE_MEMBERS else 0.0
    return 0.0


def parse(source, companions=None):
    try:
        head = source.read(0, min(source.size, 4096))
        if head.startswith(b"PK\x03\x04"):
            return _Archive(source).parse()
        return _parse_hdf5(source)
    except RecursionError:
        raise ModelError("nested too deeply", source.name, FORMAT) from None


def _error(source, message, offset=None):
    return ModelError(message, source.name, FORMAT, offset)


# --- .keras archives ----------------------------------------------------------------
class _Archive:
    def __init__(self, source):
        self.source = source
        try:
            self.zip = zipfile.ZipFile(SourceFile(source))
            self.members = {i.filename: i for i in self.zip.infolist()}
        except _ZIP_ERRORS as e:
            raise _error(source, f"not a readable .keras archive (zip): {e}") from None

    def read_json(self, name):
        info = self.members.get(name)
        if info is None:
            return None
        if info.file_size > MAX_JSON_BYTES:
            raise _error(self.source, f"{name} is {info.file_size} bytes, more than "
                         f"{MAX_JSON_BYTES}")
        try:
            text = self.zip.read(info).decode("utf-8", "replace")
        except _ZIP_ERRORS as e:
            raise _error(self.source, f"{name} cannot be read: {e}") from None
        return load_json(text, lambda message: _error(self.source, message), name)

    def weights_source(self, m):
        """(Source of model.weights.h5, offset of its bytes in the archive or None)."""
        info = self.members.get("model.weights.h5") or self.members.get("variables.h5")
        if info is None:
            if "model.weights.npz" in self.members:
                m.warnings.append("weights stored as model.weights.npz are not read")
            return None, None
        name = f"{self.source.name}:{info.filename}"
        if info.compress_type == zipfile.ZIP_STORED:
            local = self.source.read(info.header_offset, 30)
            if local[:4] != b"PK\x03\x04":
                raise _error(self.source, f"bad zip entry for {info.filename}", info.header_offset)
            n, extra = struct.unpack_from("<HH", local, 26)
            start = info.header_offset + 30 + n + extra
            if start + info.file_size > self.source.size:
                raise _error(self.source, f"{info.filename} lies beyond the end of the archive",
                             start)
            return SliceSource(self.source, start, info.file_size, name), start
        if info.file_size > MAX_INFLATE:
            raise _error(self.source, f"{info.filename} is compressed and {info.file_size} "
                         "bytes: too large to inflate in memory")
        try:
            data = self.zip.read(info)
        except _ZIP_ERRORS as e:
            raise _error(self.source, f"{info.filename} cannot be inflated: {e}") from None
        m.warnings.append(f"{info.filename} is compressed in the archive: it was inflated "
                          "in memory to be read")
        return BytesSource(data, name), None

    def parse(self):
        src = self.source
        config = self.read_json("config.json")
        if config is None:
            raise _error(src, "zip archive without config.json: not a .keras model")
        if not isinstance(config, dict):
            raise _error(src, "config.json does not hold a model config")
        metadata = self.read_json("metadata.json") or {}
        m = Model(src.name, src.size, FORMAT)
        m.format_version = ".keras (Keras 3 archive)"
        if isinstance(metadata, dict):
            version = str(metadata.get("keras_version") or "")
            m.producer = f"keras {version}".strip() if version else "keras"
            for key, value in metadata.items():
                m.metadata.append([str(key), _text(value)])
        _compile_metadata(m, config.get("compile_config"))
        wsource, offset = self.weights_source(m)
        store = None
        if wsource is not None:
            h5 = hdf5.File(wsource, FORMAT)
            store = _SavingLibWeights(m, h5, offset or 0, offset is not None)
        _Builder(m, store).build(config)
        return m


def _compile_metadata(m, compile_config):
    if not isinstance(compile_config, dict):
        return
    opt = compile_config.get("optimizer")
    if isinstance(opt, dict):
        m.metadata.append(["optimizer", str(opt.get("class_name", ""))])
    elif isinstance(opt, str):
        m.metadata.append(["optimizer", opt])
    loss = compile_config.get("loss")
    if loss is not None:
        m.metadata.append(["loss", _text(loss)])


# --- HDF5 files ---------------------------------------------------------------------
def _parse_hdf5(source):
    h5 = hdf5.File(source, FORMAT)
    root = h5.root
    attrs = root.attrs
    m = Model(source.name, source.size, FORMAT)
    version = _text(attrs.get("keras_version", ""))
    for key in ("keras_version", "backend"):
        if key in attrs:
            m.metadata.append([key, _text(attrs[key])])
    if "model_config" in attrs:
        config = _json_attr(source, attrs["model_config"], "model_config")
        m.format_version = "HDF5 (legacy Keras model)"
        if "training_config" in attrs:
            training = _json_attr(source, attrs["training_config"], "training_config")
            if isinstance(training, dict):
                _compile_metadata(m, {"optimizer": training.get("optimizer_config"),
                                      "loss": training.get("loss")})
        group = root.child("model_weights")
        store = _LegacyWeights(m, h5, group) if isinstance(group, hdf5.Group) else None
        if store is not None and not version:
            version = _text(group.attrs.get("keras_version", ""))
        m.producer = f"keras {version}" if version else "keras"
        _Builder(m, store).build(config if isinstance(config, dict) else {})
        return m
    if _has_layer_names(root):
        m.format_version = "HDF5 weights (legacy Keras)"
        m.producer = f"keras {version}" if version else "keras"
        _legacy_weights_graph(m, _LegacyWeights(m, h5, root))
        return m
    if isinstance(root.child("layers"), hdf5.Group) or isinstance(root.child("vars"), hdf5.Group):
        m.format_version = "HDF5 weights (Keras 3)"
        m.producer = "keras"
        _SavingLibWeights(m, h5, 0, True).module_graph()
        return m
    m.format = "HDF5"
    m.format_version = f"superblock v{h5.superblock_version}"
    _dataset_graph(m, h5)
    return m


def _has_layer_names(group):
    names = group.attrs
    return "layer_names" in names or "layer_names0" in names


def _json_attr(source, value, name):
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else ""
    if not isinstance(value, str):
        raise _error(source, f"attribute {name} is not a JSON string")
    return load_json(value, lambda message: _error(source, message), f"attribute {name}")


def _chunked_attr(group, name):
    """Keras splits long name lists over attributes name0, name1, … (HDF5 header limit)."""
    attrs = group.attrs
    if name in attrs:
        value = attrs[name]
        return [_text(v) for v in (value if isinstance(value, list) else [value])]
    out, i = [], 0
    while f"{name}{i}" in attrs and i < MAX_LAYERS:
        value = attrs[f"{name}{i}"]
        out.extend(_text(v) for v in (value if isinstance(value, list) else [value]))
        i += 1
    return out


# --- weights --------------------------------------------------------------------------
def _tensor(m, ds, name, offset_base=0, has_span=True):
    """A Tensor for an HDF5 dataset: metadata now, values through ds.read on request."""
    shape = ds.shape
    t = Tensor(name or f"<unnamed {len(m.tensors)}>", ds.dtype.name, tuple(shape) if shape else ())
    t.location = "inline"
    span = ds.data_span() if has_span else None
    if span is not None:
        t.data = (offset_base + span[0], span[1])
    t.decoder = lambda tensor, n, ds=ds: ds.read(n)
    return m.add_tensor(t)


def _sorted_datasets(group):
    """Datasets directly in a group, numbered names ('0', '1', … '10') in number order."""
    items = [(n, o) for n, o in group.items() if isinstance(o, hdf5.Dataset)]
    items.sort(key=lambda kv: (0, int(kv[0]), "") if kv[0].isdigit() else (1, 0, kv[0]))
    return items


def _var_names(cls, config, count):
    """Keras 3 stores a layer's variables as vars/0, vars/1, …: their names, where the
    layer class says them (None if unknown or the count disagrees)."""
    config = config if isinstance(config, dict) else {}
    bias = ["bias"] if config.get("use_bias", True) else []
    scale = ["gamma"] if config.get("scale", True) else []
    center = ["beta"] if config.get("center", True) else []
    names = None
    if cls in ("Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
               "Conv3DTranspose", "DepthwiseConv1D", "DepthwiseConv2D"):
        names = ["kernel"] + bias
    elif cls == "EinsumDense":
        names = ["kernel"] + (["bias"] if config.get("bias_axes") else [])
    elif cls in ("SeparableConv1D", "SeparableConv2D"):
        names = ["depthwise_kernel", "pointwise_kernel"] + bias
    elif cls == "Embedding":
        names = ["embeddings"]
    elif cls == "BatchNormalization":
        names = scale + center + ["moving_mean", "moving_variance"]
    elif cls in ("LayerNormalization", "GroupNormalization"):
        names = scale + center
    elif cls == "PReLU":
        names = ["alpha"]
    elif cls in ("LSTMCell", "GRUCell", "SimpleRNNCell"):
        names = ["kernel", "recurrent_kernel"] + bias
    elif cls == "sublayer dense":      # e.g. MultiHeadAttention's query_dense
        names = ["kernel", "bias"][:count]
    return names if names is not None and len(names) == count else None


class _SavingLibWeights:
    """Weights as Keras 3's saving library writes them (.keras and .weights.h5):
    layers/<snake_case class>[_n]/vars/<i>, nested models under their own layers/."""

    def __init__(self, m, h5, offset, has_span):
        self.m, self.h5, self.offset, self.has_span = m, h5, offset, has_span
        self.claimed = set()

    def container(self, path):
        g = self.h5.root.get(path) if path else self.h5.root
        return g if isinstance(g, hdf5.Group) else None

    def layer_groups(self, container_path, layers, sequential):
        """{layer index: group path} matching config layers to saved groups: by the
        layer name Keras records on vars/, else by its class-name key and order."""
        layers_path = f"{container_path}/layers" if container_path else "layers"
        group = self.container(layers_path)
        if group is None:
            return {}
        by_name, keys = {}, set()
        for key, obj in group.items():
            keys.add(key)
            v = obj.child("vars") if isinstance(obj, hdf5.Group) else None
            if v is not None and isinstance(v.attrs.get("name"), str):
                by_name.setdefault(v.attrs["name"], key)
        out, used = {}, {}
        for i, layer in enumerate(layers):
            cls = _class_name(layer)
            if sequential and cls == "InputLayer":
                continue
            key = _snake(cls)
            if key in used:
                used[key] += 1
                key = f"{key}_{used[key]}"
            else:
                used[key] = 0
            name = _layer_name(layer)
            chosen = by_name.get(name) if by_name else None
            chosen = chosen or (key if key in keys else None)
            if chosen is not None:
                out[i] = f"{layers_path}/{chosen}"
        return out

    def layer_tensors(self, group_path, layer_path, cls, config):
        """Tensors of one layer: its vars/ and its sub-objects' (cells, sublayers)."""
        group = self.container(group_path)
        if group is None:
            return []
        out = []
        stack = [(group, [], cls, config, 0)]
        while stack:
            g, rel, owner_cls, owner_cfg, depth = stack.pop()
            if g.address in self.claimed:
                continue
            self.claimed.add(g.address)
            vars_group = g.child("vars")
            if isinstance(vars_group, hdf5.Group) and vars_group.address not in self.claimed:
                self.claimed.add(vars_group.address)
                items = _sorted_datasets(vars_group)
                names = _var_names(owner_cls, owner_cfg, len(items))
                for j, (key, ds) in enumerate(items):
                    leaf = names[j] if names else key
                    name = "/".join([layer_path] + rel + [leaf])
                    out.append(_tensor(self.m, ds, name, self.offset, self.has_span))
            subs = []
            for key, obj in g.items():
                if key in ("vars", "layers") or not isinstance(obj, hdf5.Group):
                    continue
                v = obj.child("vars")
                label = v.attrs.get("name") if isinstance(v, hdf5.Group) else None
                label = label if isinstance(label, str) and label else key
                sub_cls = _sub_class(key, label)
                if depth < MAX_NESTING:
                    subs.append((obj, rel + [label], sub_cls, owner_cfg, depth + 1))
            stack.extend(reversed(subs))
        return out

    def module_graph(self):
        """Weights-only file: one node per object holding variables."""
        g = self.m.add_graph(Graph("weights"))
        optimizer = 0
        for path, obj in self.h5.walk():
            if not isinstance(obj, hdf5.Group) or obj.name != "vars":
                continue
            parts = path.strip("/").split("/")[:-1]
            if parts[:1] in (["optimizer"], ["metrics"]):     # training state, not the model
                optimizer += len(_sorted_datasets(obj))
                continue
            items = _sorted_datasets(obj)
            if not items:
                continue
            labels = self.labels(parts)
            key = parts[-1] if parts else "model"
            if len(parts) < 2 or parts[-2] != "layers":
                # A sub-object (an RNN cell, a sublayer): its recorded name says more.
                name = obj.attrs.get("name")
                if isinstance(name, str) and name.endswith("_cell"):
                    key = name
            op = _camel(re.sub(r"_\d+$", "", key))
            tensors = []
            names = _var_names(op, {}, len(items)) or _var_names(
                _sub_class(parts[-1] if parts else "", obj.attrs.get("name")), {}, len(items))
            for j, (k, ds) in enumerate(items):
                leaf = names[j] if names else k
                tensors.append(_tensor(self.m, ds, "/".join(labels + [leaf]), self.offset,
                                       self.has_span))
            _add_module(g, labels, op, tensors)
        if optimizer:
            self.m.metadata.append(["training_variables", str(optimizer)])
        return g

    def labels(self, parts):
        """Display path of a saved object: the names Keras recorded, 'layers' dropped."""
        out = []
        for i, part in enumerate(parts):
            if part == "layers":
                continue
            g = self.container("/".join(parts[:i + 1]))
            v = g.child("vars") if g is not None else None
            name = v.attrs.get("name") if isinstance(v, hdf5.Group) else None
            out.append(name if isinstance(name, str) and name else part)
        return [p.replace("/", "\\") for p in out]


def _sub_class(key, label):
    """What a layer's sub-object is, where its attribute key or recorded name says it."""
    cells = {"lstm_cell": "LSTMCell", "gru_cell": "GRUCell", "simple_rnn_cell": "SimpleRNNCell"}
    if isinstance(label, str) and label in cells:
        return cells[label]
    return "sublayer dense" if key.endswith("_dense") else None


class _LegacyWeights:
    """Weights in Keras 2's HDF5 layout (also Keras 3's legacy .h5): one group per layer
    (attribute layer_names), each listing its datasets in attribute weight_names."""

    def __init__(self, m, h5, group):
        self.m, self.h5, self.group = m, h5, group
        self.offset = 0

    def layers(self):
        """[(layer group name, [Tensor])] in layer_names order."""
        out = []
        names = _chunked_attr(self.group, "layer_names")
        seen = set()
        for lname in names or [n for n, _ in self.group.items()]:
            lg = self.group.child(lname)
            if not isinstance(lg, hdf5.Group) or lname in seen:
                continue
            seen.add(lname)
            tensors = []
            for wname in _chunked_attr(lg, "weight_names"):
                ds = lg.get(wname)
                if not isinstance(ds, hdf5.Dataset):
                    self.m.warnings.append(f"weight '{wname}' of layer '{lname}' not found")
                    continue
                tensors.append(_tensor(self.m, ds, wname))
            out.append((lname, tensors))
        return out


def _legacy_weights_graph(m, store):
    """One node per layer, or per sublayer its weight names lead to
    ('bi' + 'bi/forward_gru/gru_cell/kernel' -> bi/forward_gru/gru_cell)."""
    g = m.add_graph(Graph("weights"))
    for lname, tensors in store.layers():
        modules = {}
        for t in tensors:
            parts = [p.split(":")[0] for p in t.name.split("/")[:-1]]
            if lname in parts:
                parts = parts[len(parts) - parts[::-1].index(lname):]
            modules.setdefault(tuple(parts), []).append(t)
        for parts, members in modules.items():
            labels = [p.replace("/", "\\") for p in (lname,) + parts]
            _add_module(g, labels, _guess_op(members), members)


def _dataset_graph(m, h5):
    """Any other HDF5 file: datasets grouped by their parent group."""
    g = m.add_graph(Graph("datasets"))
    groups = {}
    for path, obj in h5.walk():
        if isinstance(obj, hdf5.Dataset):
            parent = path.rsplit("/", 1)[0]
            groups.setdefault(parent, []).append(_tensor(m, obj, path.lstrip("/")))
    for parent, tensors in groups.items():
        labels = [p for p in parent.strip("/").split("/") if p]
        op = _guess_op(tensors) if labels else "Datasets"
        _add_module(g, labels, "Group" if op == "Layer" else op, tensors, "hdf5")


def _add_module(g, labels, op, tensors, domain=DOMAIN):
    for t in tensors:
        g.initializers.append(t)
        g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")
    name = "/".join(labels + [op]) if labels else op
    g.nodes.append(Node(op, domain, name, inputs=[t.name for t in tensors]))


def _guess_op(tensors):
    """Layer kind from its variable names and shapes (weights-only files)."""
    leaves = {}
    for t in tensors:
        leaves.setdefault(t.name.rsplit("/", 1)[-1].split(":")[0], t)
    keys = set(leaves)
    kernel = leaves.get("kernel")
    if "depthwise_kernel" in keys:
        rank = len(leaves["depthwise_kernel"].dims)
        return f"SeparableConv{rank - 2}D" if "pointwise_kernel" in keys else f"DepthwiseConv{rank - 2}D"
    if "embeddings" in keys:
        return "Embedding"
    if "moving_mean" in keys:
        return "BatchNormalization"
    if "recurrent_kernel" in keys and kernel is not None and len(kernel.dims) == 2:
        units = leaves["recurrent_kernel"].dims[0] or 1
        return {4: "LSTM", 3: "GRU"}.get(kernel.dims[1] // units, "SimpleRNN")
    if kernel is not None:
        rank = len(kernel.dims)
        bias = leaves.get("bias")
        if bias is not None and len(bias.dims) > 1:
            return "EinsumDense"
        return "Dense" if rank == 2 else (f"Conv{rank - 2}D" if 3 <= rank <= 5 else "Layer")
    if keys and keys <= {"gamma", "beta"}:
        return "LayerNormalization"
    return "Layer"


# --- the graph from the model config -----------------------------------------------------
def _class_name(layer):
    return str(layer.get("class_name", "")) if isinstance(layer, dict) else ""


def _layer_name(layer):
    if not isinstance(layer, dict):
        return ""
    name = layer.get("name")
    if not isinstance(name, str):
        cfg = layer.get("config")
        name = cfg.get("name") if isinstance(cfg, dict) else None
    return name if isinstance(name, str) else ""


def _is_model(layer):
    cfg = layer.get("config") if isinstance(layer, dict) else None
    return isinstance(cfg, dict) and isinstance(cfg.get("layers"), list) and (
        _class_name(layer) in _MODEL_CLASSES or "layers" in cfg)


def _value(path, node, tensor):
    """Name of output `tensor` of call `node` of a layer: 'dense', 'dense:1', 'lstm:0:2'."""
    path = path or "<unnamed>"
    if tensor == 0:
        return path if node == 0 else f"{path}:{node}"
    return f"{path}:{node}:{tensor}"


class _Builder:
    """Layers of a model config -> nodes, with weights from a weight store."""

    def __init__(self, m, store):
        self.m, self.store = m, store
        self.g = None
        self.alias = {}        # value name -> the value it stands for (nested models)
        self.pending = []      # (Node, [input value names]) resolved at the end
        self.legacy = {}       # layer path -> [Tensor] (legacy HDF5 weights)
        self.layer_paths = set()
        self.weights_of = {}   # layer path -> names of its weight tensors
        self.node_paths = []   # (Node, the layer path its weights go by)
        self.count = 0

    def build(self, config):
        m = self.m
        cfg = config.get("config") if isinstance(config.get("config"), dict) else {}
        self.g = g = m.add_graph(Graph(str(cfg.get("name", "")) if cfg else ""))
        if config.get("class_name"):
            g.metadata.append(["class_name", str(config.get("class_name"))])
        if not isinstance(cfg.get("layers"), list):
            # A subclassed model or a single layer: no layer graph in the config.
            m.warnings.append(f"the model config of class '{config.get('class_name', '')}' "
                              "lists no layers: showing its weights only")
            self.weights_only()
            return
        if isinstance(self.store, _LegacyWeights):
            self.legacy = self.collect_legacy()
        self.model(config, "", None, "", 0, "")
        for node, inputs in self.pending:
            node.inputs = [self.resolve(v) for v in inputs] + node.inputs
        g.outputs = [self.resolve(v) for v in g.outputs]
        g.inputs = [self.resolve(v) for v in g.inputs]
        self.attach_leftover_legacy()

    def weights_only(self):
        store = self.store
        if isinstance(store, _SavingLibWeights):
            self.m.graphs.pop()
            store.module_graph()
        elif isinstance(store, _LegacyWeights):
            self.m.graphs.pop()
            _legacy_weights_graph(self.m, store)

    def resolve(self, name):
        for _ in range(MAX_NESTING * 4):
            nxt = self.alias.get(name)
            if nxt is None or nxt == name:
                return name
            name = nxt
        return name

    # --- models ---------------------------------------------------------------------
    def model(self, layer, prefix, inputs, group, depth, wprefix):
        """Add a model's layers; returns its output value names. `inputs`: the value
        names a nested model is called on (None at the top). `group`: the model's
        saved group path for .keras weights. `wprefix`: the path prefix its layers'
        weights go by (a nested model called twice has one set of weights)."""
        if depth > MAX_NESTING:
            raise ModelError(f"models nested deeper than {MAX_NESTING}", self.m.file, FORMAT)
        cfg = layer.get("config")
        layers = cfg.get("layers")
        layers = [x for x in layers if isinstance(x, dict)]
        if len(layers) > MAX_LAYERS:
            raise ModelError(f"more than {MAX_LAYERS} layers", self.m.file, FORMAT)
        sequential = _class_name(layer) == "Sequential" or not any(
            x.get("inbound_nodes") for x in layers)
        groups = {}
        if isinstance(self.store, _SavingLibWeights):
            groups = self.store.layer_groups(group, layers, sequential)
        if sequential:
            return self.sequential(layers, cfg, prefix, inputs, groups, depth, wprefix)
        return self.functional(layers, cfg, prefix, inputs, groups, depth, wprefix)

    def sequential(self, layers, cfg, prefix, inputs, groups, depth, wprefix):
        g = self.g
        current = inputs[0] if inputs else None
        for i, layer in enumerate(layers):
            name = _layer_name(layer) or f"layer_{i}"
            path = prefix + name
            lcfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
            if _class_name(layer) == "InputLayer":
                value = _value(path, 0, 0)
                if current is not None and inputs:
                    self.alias[value] = current
                else:
                    g.inputs.append(value)
                    self.input_type(value, lcfg)
                current = value
                continue
            if current is None:       # Keras 2: the first layer says the input shape
                current = "input"
                g.inputs.append(current)
                shape = lcfg.get("batch_input_shape") or lcfg.get("batch_shape") \
                    or cfg.get("build_input_shape")
                self.input_type(current, {"batch_shape": shape, "dtype": lcfg.get("dtype")})
            if _is_model(layer):
                outs = self.model(layer, path + "/", [current], groups.get(i, ""), depth + 1,
                                  wprefix + name + "/")
                current = outs[0] if outs else current
                continue
            out = _value(path, 0, 0)
            self.layer_node(layer, path, [current], [out], groups.get(i), wprefix + name)
            current = out
        if inputs is None and current is not None:
            g.outputs.append(current)
        return [current] if current is not None else []

    def functional(self, layers, cfg, prefix, inputs, groups, depth, wprefix):
        g = self.g
        names = {_layer_name(x) for x in layers}
        calls = {}            # layer name -> [[(name, node, tensor, type)], …] per call
        outputs_of = {}       # (name, node) -> number of outputs used
        for layer in layers:
            nodes = layer.get("inbound_nodes")
            refs = []
            for node in nodes if isinstance(nodes, list) else []:
                found = []
                _scan_refs(node, names, found, 0)
                refs.append(found)
                for n, k, t, _ in found:
                    outputs_of[(n, k)] = max(outputs_of.get((n, k), 1), t + 1)
            calls[_layer_name(layer)] = refs
        input_refs = _history_list(cfg.get("input_layers"), names)
        output_refs = _history_list(cfg.get("output_layers"), names)
        for n, k, t, _ in output_refs:
            outputs_of[(n, k)] = max(outputs_of.get((n, k), 1), t + 1)
        # Keras 2 numbers the calls of a nested model from 1 (its node 0 is the one
        # linking its own inputs to outputs): seen as references past its last call.
        first_ref = {}
        for n, k in outputs_of:
            lo, hi = first_ref.get(n, (k, k))
            first_ref[n] = (min(lo, k), max(hi, k))
        # Inputs: at the top they are the graph's; inside they stand for the call's.
        for j, (n, k, t, _) in enumerate(input_refs):
            value = _value(prefix + n, k, t)
            if inputs is None:
                g.inputs.append(value)
            elif j < len(inputs):
                self.alias[value] = inputs[j]
        for i, layer in enumerate(layers):
            name = _layer_name(layer)
            path = prefix + name
            lcfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
            if _class_name(layer) == "InputLayer":
                if inputs is None:
                    self.input_type(_value(path, 0, 0), lcfg)
                continue
            ncalls = len(calls.get(name, []))
            lo, hi = first_ref.get(name, (0, 0))
            shift = 1 if _is_model(layer) and lo >= 1 and hi >= ncalls else 0
            for k, found in enumerate(calls.get(name, [])):
                in_values = []
                for n, kk, t, typ in found:
                    v = _value(prefix + n, kk, t)
                    in_values.append(v)
                    if typ is not None:
                        g.types.setdefault(v, typ)
                count = outputs_of.get((name, k + shift), 1)
                outs = [_value(path, k + shift, t) for t in range(count)]
                if _is_model(layer):
                    inner = self.model(layer, (path if k == 0 else f"{path}:{k}") + "/",
                                       in_values, groups.get(i, ""), depth + 1,
                                       wprefix + name + "/")
                    for t, v in enumerate(outs):
                        if t < len(inner):
                            self.alias[v] = inner[t]
                    continue
                self.layer_node(layer, path if k == 0 else f"{path}:{k}", in_values, outs,
                                groups.get(i), wprefix + name)
        result = [_value(prefix + n, k, t) for n, k, t, _ in output_refs]
        if inputs is None:
            g.outputs.extend(result)
        return result

    def input_type(self, value, cfg):
        shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
        dtype = cfg.get("dtype")
        typ = _tensor_type(shape, dtype)
        if typ is not None:
            self.g.types[value] = typ

    # --- layers ---------------------------------------------------------------------
    def layer_node(self, layer, name, inputs, outputs, group, weights_path):
        self.count += 1
        if self.count > MAX_LAYERS:
            raise ModelError(f"more than {MAX_LAYERS} layer calls", self.m.file, FORMAT)
        cls = _class_name(layer) or "Layer"
        lcfg = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        path = weights_path
        node = Node(cls, DOMAIN, name, outputs=outputs, attributes=_attributes(lcfg))
        if path not in self.layer_paths:
            self.layer_paths.add(path)
            tensors = []
            if isinstance(self.store, _SavingLibWeights) and group:
                tensors = self.store.layer_tensors(group, path, cls, lcfg)
            tensors += self.legacy.pop(path, [])
            self.add_weights(tensors)
            self.weights_of[path] = [t.name for t in tensors]
        node.inputs = list(self.weights_of.get(path, []))
        self.g.nodes.append(node)
        self.node_paths.append((node, path))
        self.pending.append((node, inputs))

    def add_weights(self, tensors):
        for t in tensors:
            self.g.initializers.append(t)
            self.g.types[t.name] = ("tensor", t.dtype, tuple(t.dims), "")

    def collect_legacy(self):
        """Legacy weights by the layer path they belong to: the weight name's directory
        when it names a layer ('inner/d1/kernel' -> 'inner/d1'), else the group's layer."""
        out = {}
        for lname, tensors in self.store.layers():
            for t in tensors:
                out.setdefault(lname, []).append(t)
        return out

    def attach_leftover_legacy(self):
        """Weights of nested models sit in the nested model's group: give each to the
        inner layer its name leads to (every call of it), else to a node of its own."""
        if not self.legacy:
            return
        nodes_of = {}          # weights path -> nodes (one per call)
        for node, path in self.node_paths:
            nodes_of.setdefault(path, []).append(node)
        by_last = {}
        for path in nodes_of:
            by_last.setdefault(path.rsplit("/", 1)[-1], []).append(path)
        for lname, tensors in self.legacy.items():
            for t in tensors:
                parts = [p.split(":")[0] for p in t.name.split("/")[:-1]]
                target = None
                for j in range(len(parts)):
                    candidate = "/".join(parts[j:])
                    for path in (candidate, f"{lname}/{candidate}"):
                        if target is None and path in nodes_of:
                            target = path
                if target is None:
                    for p in reversed(parts):
                        paths = [x for x in by_last.get(p, []) if x.startswith(lname + "/")]
                        if paths:
                            target = paths[0]
                            break
                self.add_weights([t])
                if target is not None:
                    for node in nodes_of[target]:
                        node.inputs.append(t.name)
                else:
                    self.g.nodes.append(Node("Weights", DOMAIN, f"{lname}/Weights", inputs=[t.name]))


def _scan_refs(node, names, found, depth):
    """Tensor references in one inbound node, in order: Keras 3 writes
    {"keras_history": [layer, node, tensor]} (with shape and dtype), Keras 2 writes
    [layer, node, tensor, kwargs] lists."""
    if depth > MAX_SCAN_DEPTH:
        return
    if isinstance(node, dict):
        cfg = node.get("config")
        if node.get("class_name") == "__keras_tensor__" and isinstance(cfg, dict):
            h = cfg.get("keras_history")
            if _is_history(h, names):
                found.append((h[0], h[1], h[2], _tensor_type(cfg.get("shape"), cfg.get("dtype"))))
                return
        for v in node.values():
            _scan_refs(v, names, found, depth + 1)
    elif isinstance(node, list):
        if _is_history(node, names):
            found.append((node[0], node[1], node[2], None))
            if len(node) > 3:
                _scan_refs(node[3], names, found, depth + 1)
            return
        for v in node:
            _scan_refs(v, names, found, depth + 1)


def _is_history(h, names):
    return (isinstance(h, list) and len(h) >= 3 and isinstance(h[0], str) and h[0] in names
            and isinstance(h[1], int) and isinstance(h[2], int)
            and not isinstance(h[1], bool) and 0 <= h[1] < MAX_LAYERS and 0 <= h[2] < 4096)


def _history_list(value, names):
    found = []
    _scan_refs(value, names, found, 0)
    return found


def _tensor_type(shape, dtype):
    """A Keras tensor's type: dim 0 is the batch, which Keras leaves free (None): the
    symbol "batch", the same in every tensor of the model; other free dims are unknown."""
    if not isinstance(shape, list) or len(shape) > hdf5.MAX_RANK:
        return None
    dims = tuple(d if isinstance(d, int) and not isinstance(d, bool) else None for d in shape)
    if dims and dims[0] is None:
        dims = (BATCH,) + dims[1:]
    if isinstance(dtype, dict):        # a dtype policy
        dtype = (dtype.get("config") or {}).get("name") if isinstance(dtype.get("config"), dict) else None
    return ("tensor", dtype if isinstance(dtype, str) else "undefined", dims, "")


_SKIPPED_CONFIG = {"name"}


def _attributes(cfg):
    out = []
    for key, value in cfg.items():
        if key in _SKIPPED_CONFIG or value is None:
            continue
        if key == "trainable" and value is True:
            continue
        out.append(_attribute(str(key), value))
    return out


def _attribute(key, v):
    if isinstance(v, bool):
        return Attribute(key, "string", "true" if v else "false")
    if isinstance(v, int):
        return Attribute(key, "int", v)
    if isinstance(v, float):
        return Attribute(key, "float", v)
    if isinstance(v, str):
        return Attribute(key, "string", v)
    if isinstance(v, list) and v:
        if all(isinstance(x, int) and not isinstance(x, bool) for x in v):
            return Attribute(key, "ints", list(v))
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            return Attribute(key, "floats", [float(x) for x in v])
        if all(isinstance(x, str) for x in v):
            return Attribute(key, "strings", list(v))
    return Attribute(key, "string", _text(v))


def _text(v):
    """A config value as short text: serialized objects by class name (and settings)."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and "class_name" in v:
        cfg = v.get("config")
        if v.get("class_name") in ("DTypePolicy", "Policy") and isinstance(cfg, dict):
            return str(cfg.get("name", ""))
        if isinstance(cfg, dict):
            cfg = {k: x for k, x in cfg.items() if x is not None and k != "name"}
        return str(v["class_name"]) + (_compact(cfg) if cfg else "")
    if isinstance(v, list):
        v = [_json_ready(x) for x in v]
    return _compact(v)


def _json_ready(v):
    if isinstance(v, dict) and "class_name" in v:
        return _text(v)
    return v


def _compact(v):
    try:
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return str(v)


def _snake(name):
    """keras.src.utils.naming.to_snake_case: the key a layer is saved under."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_CAMEL_EXCEPTIONS = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN", "prelu": "PReLU",
                     "re_lu": "ReLU", "leaky_re_lu": "LeakyReLU", "elu": "ELU",
                     "conv_lstm1d": "ConvLSTM1D", "conv_lstm2d": "ConvLSTM2D",
                     "conv_lstm3d": "ConvLSTM3D", "lstm_cell": "LSTMCell", "gru_cell": "GRUCell",
                     "simple_rnn_cell": "SimpleRNNCell"}


def _camel(key):
    """Class name back from a saved key: 'max_pooling2d' -> 'MaxPooling2D'."""
    if key in _CAMEL_EXCEPTIONS:
        return _CAMEL_EXCEPTIONS[key]
    name = "".join(p[:1].upper() + p[1:] for p in key.split("_") if p)
    return re.sub(r"(\d)d(?=[A-Z]|$)", r"\1D", name) or "Layer"
