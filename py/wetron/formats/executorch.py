"""ExecuTorch programs (.pte): a FlatBuffer (identifier "ET12") of executorch_flatbuffer.
Program, as executorch.exir's to_executorch() writes it for the ExecuTorch runtime.

File layout: bytes 0-4 the root offset, 4-8 "ET12", then (files with segments) the
extended header "eh00": u32 its length, u64 the flatbuffer's size, u64 the segment base
offset, u64 the segments' size (when the length says so). The flatbuffer comes first;
Program.segments ({offset, size}, relative to the segment base) lie after it: the
constant tensors (Program.constant_segment: a segment index and one offset per
data_buffer_idx, 0 reserved), mutable tensors' initial state (mutable_data_segments),
delegates' processed blobs and named data. Older programs keep constants inline in
Program.constant_buffer[data_buffer_idx].storage.

Field ids are declaration order in schema/program.fbs and scalar_type.fbs (ExecuTorch
0.1 to 1.x; fields are only ever appended): SCHEMA below lists each table's fields as
flatc numbers them (a union field is two, <name>_type and <name>); tests check it
against the program.fbs the installed ExecuTorch ships.

Each ExecutionPlan (method: "forward", ...) is a graph. Its values (EValue: Tensor, Int,
Bool, Double, String, IntList (of Int value indices), DoubleList, BoolList, TensorList
(of value indices), OptionalTensorList, Null) are the graph's values; instructions are
nodes: a KernelCall is an operator (Program's operators[op_index], "aten::convolution" +
overload "out": op "convolution", domain "aten", overload "out"), a DelegateCall one node
whose op is its backend's id (domain "executorch.delegate") with the size of its
processed blob. Arguments are value indices: tensors (and scalars computed at run time)
are the node's inputs, static scalars attributes named after the op's schema arguments
where ops/aten.py knows them, else arg<position>. A KernelCall's last argument is what it
returns (its out arguments alias it; a TensorList of them for several); a DelegateCall's
outputs are the arguments no earlier instruction wrote. A value written again (an
in-place op, a MoveCall) is a new version "<name>.<n>", so edges follow the data.
MoveCall, JumpFalseCall and FreeCall are plumbing: counted in the graph's metadata, not
drawn. Constant tensors (data_buffer_idx > 0, no allocation_info) and mutable ones with an
initial state are weights, read from their segment only when asked for.
"""
import struct

from ..dtypes import storage_bytes
from ..flatbuffers import Reader
from ..model import Attribute, Graph, Model, Node, Tensor
from ..ops.aten import ARGUMENTS
from ..util import MAX_NODES, MAX_TENSORS, too_many
from ..weights import raw_decoder

FORMAT = "ExecuTorch"
EXTENSIONS = (".pte",)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
NEVER_EMPTY = True
IDENTIFIER = b"ET12"
HEADER_MAGIC = b"eh00"
HEADER_MIN = 24                # magic, length, program size, segment base offset
DELEGATE_DOMAIN = "executorch.delegate"
MAX_RANK = 64
MAX_LIST = 1 << 16             # items of one list value shown as an attribute
MAX_FRAMES = 16                # stack frames kept per instruction
MAX_TEXT = 2000                # characters of a frame's text kept
MAX_SPEC = 256                 # bytes of a compile spec's value shown as text
_U64 = struct.Struct("<Q")

# program.fbs tables, fields in id order (flatc's numbering).
SCHEMA = """
Program version execution_plan constant_buffer backend_delegate_data segments constant_segment mutable_data_segments named_data
ExecutionPlan name container_meta_type values inputs outputs chains operators delegates non_const_buffer_sizes non_const_buffer_device
ContainerMetadata encoded_inp_str encoded_out_str
EValue val_type val
Tensor scalar_type storage_offset sizes dim_order requires_grad data_buffer_idx allocation_info layout shape_dynamism extra_tensor_info
ExtraTensorInfo mutable_data_segments_idx fully_qualified_name location device_type device_index
AllocationDetails memory_id memory_offset_low memory_offset_high
Int int_val
Bool bool_val
Double double_val
String string_val
IntList items
DoubleList items
BoolList items
TensorList items
OptionalTensorList items
Operator name overload
Chain inputs outputs instructions stacktrace
Instruction instr_args_type instr_args
KernelCall op_index args
DelegateCall delegate_index args
MoveCall move_from move_to
JumpFalseCall cond_value_index destination_instruction
FreeCall value_index
FrameList items
Frame filename lineno name context
BackendDelegate id processed compile_specs
BackendDelegateDataReference location index
CompileSpec key value
Buffer storage
BackendDelegateInlineData data
DataSegment offset size
SubsegmentOffsets segment_index offsets
NamedData key segment_index
"""
F = {line.split()[0]: {name: i for i, name in enumerate(line.split()[1:])}
     for line in SCHEMA.strip().splitlines()}
# Union members in declaration order (type code = position + 1).
KERNEL_TYPES = ("Null", "Int", "Bool", "Double", "Tensor", "String", "IntList", "DoubleList",
                "BoolList", "TensorList", "OptionalTensorList")
INSTRUCTIONS = ("KernelCall", "DelegateCall", "MoveCall", "JumpFalseCall", "FreeCall")
# scalar_type.fbs ScalarType -> dtype names of the graph document (the quantized types
# by their storage, as formats/pytorch.py names torch's).
SCALAR_TYPES = {0: "uint8", 1: "int8", 2: "int16", 3: "int32", 4: "int64", 5: "float16",
                6: "float32", 7: "float64", 11: "bool", 12: "int8", 13: "uint8", 14: "int32",
                15: "bfloat16", 23: "float8e5m2", 24: "float8e4m3fn", 25: "float8e5m2fnuz",
                26: "float8e4m3fnuz", 27: "uint16", 28: "uint32", 29: "uint64"}
DYNAMISM = ("static", "dynamic bound", "dynamic unbound")
_SCALAR_ATTRS = {"Int": "int", "Bool": "int", "Double": "float", "String": "string",
                 "IntList": "ints", "BoolList": "ints", "DoubleList": "floats"}


def match(head, name=""):
    return 1.0 if head[4:8] == IDENTIFIER else 0.0


def parse(source, companions=None):
    r = Reader(source, FORMAT)
    if source.size < 8 or r.identifier() != IDENTIFIER:
        raise r.error("not an ExecuTorch program: no 'ET12' identifier at bytes 4-8")
    return _Parser(r).model()


class _Value:
    """One EValue as read: its kind and, for tensors, the Tensor table; for scalars and
    lists, the Python value."""
    __slots__ = ("kind", "table", "value")

    def __init__(self, kind, table, value=None):
        self.kind, self.table, self.value = kind, table, value


class _Parser:
    def __init__(self, r):
        self.r = r
        self.m = Model(r.source.name, r.size, FORMAT)
        self.decode = raw_decoder(r.source, FORMAT)
        self.nodes = 0
        self.tensors = {}          # (kind, buffer index) -> Tensor, shared across plans

    def error(self, message, at=None):
        return self.r.error(message, at)

    # --- the file ---------------------------------------------------------------------
    def model(self):
        r, m = self.r, self.m
        self.header()
        program = r.root()
        P = F["Program"]
        m.format_version = f"schema {program.get(P['version'], 'uint')}"
        self.segments = self.read_segments(program.tables(P["segments"]))
        self.program = program
        plans = program.tables(P["execution_plan"])
        if not plans:
            raise self.error("the program has no execution plan", program.pos)
        n_values = sum((p.vector(F["ExecutionPlan"]["values"], 4) or (0, 0))[1] for p in plans)
        if n_values > MAX_TENSORS:
            raise self.error(too_many(n_values, "values", MAX_TENSORS), program.pos)
        # the method called "forward" is the main graph
        plans.sort(key=lambda p: p.string(F["ExecutionPlan"]["name"]) != "forward")
        for plan in plans:
            self.plan(m.add_graph(Graph()), plan)
        named = program.tables(P["named_data"])
        if named:
            N = F["NamedData"]
            total = 0
            for t in named:
                i = t.get(N["segment_index"], "uint")
                total += self.segments[i][1] if i < len(self.segments) else 0
            m.metadata.append(["named data", f"{len(named):,} blobs, {total:,} bytes "
                                             "(read by delegates)"])
        return m

    def header(self):
        """The extended header's segment base offset (0: none, so no segments)."""
        r = self.r
        self.base = 0
        if r.size < 8 + HEADER_MIN or r.bytes(8, 4) != HEADER_MAGIC:
            return
        length = r.u32(12, "header length")
        if length < HEADER_MIN:
            raise self.error(f"extended header of {length} bytes, fewer than {HEADER_MIN}", 8)
        size = r.scalar(_U64, 16, "program size")
        base = r.scalar(_U64, 24, "segment base offset")
        if size > r.size or base > r.size:
            raise self.error(f"the extended header puts the program's end ({size}) or its "
                             f"segments ({base}) past the file's {r.size} bytes: truncated", 8)
        self.base = base

    def read_segments(self, tables):
        D = F["DataSegment"]
        out = []
        for t in tables:
            offset, size = t.get(D["offset"], "ulong"), t.get(D["size"], "ulong")
            out.append((offset, size))
        return out

    def segment(self, index, what):
        """(absolute start, size) of segment `index`, checked against the file."""
        if not self.base:
            raise ValueError(f"{what} lies in segment {index}, but the file has no extended "
                             "header locating its segments")
        if index >= len(self.segments):
            raise ValueError(f"{what} lies in segment {index} of {len(self.segments)}")
        offset, size = self.segments[index]
        start = self.base + offset
        if start + size > self.r.size:
            raise ValueError(f"segment {index} ({size:,} bytes at {start:,}) lies past the "
                             f"file's end ({self.r.size:,} bytes): truncated")
        return start, size

    # --- one method -------------------------------------------------------------------
    def plan(self, g, plan):
        E = F["ExecutionPlan"]
        g.name = plan.string(E["name"])
        values = [self.value(t, i) for i, t in enumerate(plan.tables(E["values"]))]
        self.values = values
        operators = [(o.string(F["Operator"]["name"]), o.string(F["Operator"]["overload"]))
                     for o in plan.tables(E["operators"])]
        delegates = plan.tables(E["delegates"])
        chains = plan.tables(E["chains"])
        C = F["Chain"]
        n = sum((c.vector(C["instructions"], 4) or (0, 0))[1] for c in chains)
        self.nodes += n
        if self.nodes > MAX_NODES:
            raise self.error(too_many(self.nodes, "instructions", MAX_NODES), plan.pos)

        # value index -> its current name; a value is "defined" once the plan gets it
        # (inputs), holds it (constants, static scalars) or an instruction wrote it
        self.names, self.versions = {}, {}
        self.base_names = self.value_names(values)
        inputs = self.indices(plan.scalars(E["inputs"], "int"), values, "input")
        outputs = self.indices(plan.scalars(E["outputs"], "int"), values, "output")
        written = self.written(chains, values)
        self.defined = set()
        self.dynamic = set(inputs) | written
        for i, v in enumerate(values):
            if v.kind == "Tensor":
                t = self.weight(v.table, i)
                if t is not None:
                    self.defined.add(i)
                    if t not in g.initializers:
                        g.initializers.append(t)
                    self.names[i] = t.name
        self.memory = {}           # planned memory -> the value last written there
        self.view_of = {}          # a view's value -> the value it views
        g.inputs = [self.write(g, i) for i in inputs]
        counts = dict.fromkeys(INSTRUCTIONS, 0)
        for c in chains:
            frames = c.tables(C["stacktrace"])
            for k, ins in enumerate(c.tables(C["instructions"])):
                I = F["Instruction"]
                code, body = ins.union(I["instr_args_type"], I["instr_args"])
                kind = INSTRUCTIONS[code - 1] if 0 < code <= len(INSTRUCTIONS) else None
                if kind is None or body is None:
                    raise self.error(f"method '{g.name}': instruction {k} has unknown kind "
                                     f"{code}", ins.pos)
                counts[kind] += 1
                if kind == "KernelCall":
                    node = self.kernel_call(g, body, operators, k)
                elif kind == "DelegateCall":
                    node = self.delegate_call(g, body, delegates, k)
                elif kind == "MoveCall":
                    self.move(body, k)
                    continue
                else:
                    continue
                if k < len(frames):
                    node.doc = self.frames(frames[k])
                g.nodes.append(node)
        g.outputs = [self.name(i) for i in outputs]
        for i in outputs:
            g.types.setdefault(self.name(i), self.type(values[i]))
        plumbing = [f"{counts[k]:,} {k}" for k in ("MoveCall", "JumpFalseCall", "FreeCall")
                    if counts[k]]
        g.metadata.append(["instructions", f"{n:,}: {counts['KernelCall']:,} KernelCall, "
                                           f"{counts['DelegateCall']:,} DelegateCall"
                           + "".join(", " + p for p in plumbing)])
        if counts["JumpFalseCall"]:
            g.metadata.append(["control flow", "jumps between instructions: the graph "
                                               "shows them in program order"])
        sizes = plan.scalars(E["non_const_buffer_sizes"], "long", 64)
        if len(sizes) > 1:
            g.metadata.append(["planned memory", ", ".join(f"{s:,} bytes" for s in sizes[1:])])

    def indices(self, indices, values, what):
        for i in indices:
            if not 0 <= i < len(values):
                raise self.error(f"{what} value {i} out of range ({len(values)} values)")
        return indices

    def value_names(self, values):
        """A value's name: a tensor's fully qualified name where the file gives one
        (unique), else %<index>."""
        names, taken = [], set()
        X = F["ExtraTensorInfo"]
        for i, v in enumerate(values):
            name = f"%{i}"
            if v.kind == "Tensor":
                extra = v.table.table(F["Tensor"]["extra_tensor_info"])
                fqn = extra.string(X["fully_qualified_name"]) if extra is not None else ""
                if fqn and fqn not in taken:
                    name = fqn
            taken.add(name)
            names.append(name)
        return names

    def name(self, i):
        return self.names.get(i) or self.base_names[i]

    def write(self, g, i):
        """The name of value i as written now: a new version when it was defined."""
        if i in self.defined:
            n = self.versions[i] = self.versions.get(i, 0) + 1
            self.names[i] = f"{self.base_names[i]}.{n}"
        self.defined.add(i)
        name = self.name(i)
        g.types.setdefault(name, self.type(self.values[i]))
        memory = self.memory_key(i)
        if memory is not None:
            self.memory[memory] = i
        return name

    def memory_key(self, i):
        """(memory id, offset, bytes) of a planned tensor, else None."""
        v = self.values[i]
        if v.kind != "Tensor":
            return None
        a = v.table.table(F["Tensor"]["allocation_info"])
        if a is None:
            return None
        A = F["AllocationDetails"]
        offset = a.get(A["memory_offset_low"], "uint") | a.get(A["memory_offset_high"], "uint") << 32
        count = 1
        for d in self.tensor_dims(v.table):
            count *= d
        return a.get(A["memory_id"], "uint"), offset, storage_bytes(self.dtype(v.table), count)

    def read(self, g, j, k):
        """The name of tensor j as an instruction reads it. One that nothing wrote yet
        but that lies where the last tensor written to the same planned memory (id,
        offset, size) lies is a view of it (the emitter's memory.view becomes no
        instruction): a "view" node links them. Any other is state the method finds
        in its memory."""
        if j not in self.defined:
            key = self.memory_key(j)
            source = self.memory.get(key) if key is not None else None
            if source is not None and source != j:
                source = self.view_of.get(source, source)   # a view of a view: its origin
                view = Node("view", "executorch", f"{g.name}/{k}.view", [self.name(source)])
                view.outputs = [self.write(g, j)]
                self.view_of[j] = source
                g.nodes.append(view)
            else:
                self.defined.add(j)
                g.types.setdefault(self.name(j), self.type(self.values[j]))
        return self.name(j)

    def written(self, chains, values):
        """Values some instruction writes: what a KernelCall returns (a TensorList's
        items too) and where a MoveCall moves to."""
        out = set()
        C, I = F["Chain"], F["Instruction"]
        for c in chains:
            for ins in c.tables(C["instructions"]):
                code, body = ins.union(I["instr_args_type"], I["instr_args"])
                if body is None:
                    continue
                if code == 1:
                    args = body.scalars(F["KernelCall"]["args"], "int")
                    if args and 0 <= args[-1] < len(values):
                        out.add(args[-1])
                        v = values[args[-1]]
                        if v.kind in ("TensorList", "OptionalTensorList"):
                            out.update(j for j in v.value if 0 <= j < len(values))
                elif code == 3:
                    out.add(body.get(F["MoveCall"]["move_to"], "int"))
        return out

    # --- values -----------------------------------------------------------------------
    def value(self, t, index):
        code, body = t.union(F["EValue"]["val_type"], F["EValue"]["val"])
        kind = KERNEL_TYPES[code - 1] if 0 < code <= len(KERNEL_TYPES) else None
        if kind is None or (body is None and kind != "Null"):
            return _Value("None" if kind is None else kind, None)
        if kind == "Tensor":
            return _Value(kind, body)
        if kind in ("Int", "Bool", "Double", "String"):
            field = F[kind][kind.lower() + "_val"]
            if kind == "String":
                return _Value(kind, None, body.string(field))
            return _Value(kind, None, body.get(field, {"Int": "long", "Bool": "bool",
                                                       "Double": "double"}[kind]))
        if kind == "Null":
            return _Value(kind, None)
        element = {"IntList": "long", "DoubleList": "double", "BoolList": "bool",
                   "TensorList": "int", "OptionalTensorList": "int"}[kind]
        items = body.scalars(F[kind]["items"], element, MAX_LIST + 1)
        if len(items) > MAX_LIST:
            raise self.error(f"value {index}: a {kind} of more than {MAX_LIST:,} items", t.pos)
        return _Value(kind, None, items)

    def tensor_dims(self, t):
        T = F["Tensor"]
        sizes = t.scalars(T["sizes"], "int", MAX_RANK + 1)
        if len(sizes) > MAX_RANK:
            raise self.error(f"a tensor of more than {MAX_RANK} dimensions", t.pos)
        if any(s < 0 for s in sizes):
            raise self.error(f"a tensor with a negative size in {sizes}", t.pos)
        return tuple(sizes)

    def type(self, v):
        if v.kind != "Tensor":
            return ("opaque", "executorch", v.kind, "")
        t = v.table
        T = F["Tensor"]
        dims = self.tensor_dims(t)
        if t.get(T["shape_dynamism"], "byte"):   # sizes are a bound, or not the size at all
            dims = (None,) * len(dims)
        return ("tensor", self.dtype(t), dims, "")

    def dtype(self, t):
        code = t.get(F["Tensor"]["scalar_type"], "byte")
        return SCALAR_TYPES.get(code, f"dtype{code}")

    def weight(self, t, index):
        """The Tensor of a value with data in the file (a constant, or a mutable tensor's
        initial state), else None. Shared by the plans that use the same data."""
        T, X = F["Tensor"], F["ExtraTensorInfo"]
        idx = t.get(T["data_buffer_idx"], "uint")
        extra = t.table(T["extra_tensor_info"])
        external = extra is not None and extra.get(X["location"], "byte") == 1
        if not idx and not external:
            return None
        mutable = t.has(T["allocation_info"])
        segment = extra.get(X["mutable_data_segments_idx"], "ulong") if mutable and extra else 0
        key = ("external", extra.string(X["fully_qualified_name"])) if external else \
            ("mutable", segment, idx) if mutable else ("constant", idx)
        found = self.tensors.get(key)
        if found is not None:
            return found
        dims = self.tensor_dims(t)
        tensor = Tensor(self.base_names[index], self.dtype(t), dims)
        notes = []
        if mutable:
            notes.append("mutable: its initial state")
        order = t.scalars(T["dim_order"], "ubyte", MAX_RANK + 1)
        if order and order != list(range(len(dims))):
            notes.append(f"dim order {tuple(order)}")
        tensor.doc = "; ".join(notes)
        if external:
            tensor.location = "external"
            tensor.error = ("stored outside the program, in a separate data file (.ptd) "
                            "under this name")
        else:
            try:
                tensor.data = self.locate(t, idx, mutable, segment, tensor)
                tensor.location = "inline"
                if order and order != list(range(len(dims))):
                    tensor.error = (f"stored in dim order {tuple(order)}: values are not "
                                    "decoded")
                elif t.get(T["storage_offset"], "int"):
                    tensor.error = "a storage offset other than 0: values are not decoded"
                else:
                    tensor.decoder = self.decode
            except ValueError as e:
                tensor.error = f"tensor '{tensor.name}': {e}"
        self.m.add_tensor(tensor)
        self.tensors[key] = tensor
        return tensor

    def locate(self, t, idx, mutable, segment, tensor):
        """(offset, length) of a tensor's bytes in the file."""
        nbytes = storage_bytes(tensor.dtype, tensor.count)
        if tensor.count and not nbytes:
            raise ValueError(f"element type {tensor.dtype}: its size is not known")
        P, S = F["Program"], F["SubsegmentOffsets"]
        if mutable:
            tables = self.program.tables(P["mutable_data_segments"])
            if segment >= len(tables):
                raise ValueError(f"mutable data segment {segment} of {len(tables)}")
            sub = tables[segment]
        else:
            sub = self.program.table(P["constant_segment"])
        offsets = sub.vector(S["offsets"], 8) if sub is not None else None
        if not mutable and not (offsets and offsets[1]):
            # a program from before constant segments: the bytes inline, per index
            buffers = self.program.tables(P["constant_buffer"])
            if idx >= len(buffers):
                raise ValueError(f"constant {idx} of {len(buffers)}: neither the constant "
                                 "segment nor the constant buffers hold it")
            v = buffers[idx].vector(F["Buffer"]["storage"], 1)
            start, n = v if v is not None else (0, 0)
            if n < nbytes:
                raise ValueError(f"its buffer holds {n:,} bytes, its shape needs {nbytes:,}")
            return start, nbytes
        if offsets is None or idx >= offsets[1]:
            raise ValueError(f"data index {idx} has no offset in its segment")
        offset = self.r.scalar(_U64, offsets[0] + 8 * idx, "offset")
        start, size = self.segment(sub.get(S["segment_index"], "uint"), "its data")
        if offset + nbytes > size:
            raise ValueError(f"{nbytes:,} bytes at {offset:,} lie past its segment's "
                             f"{size:,} bytes")
        return start + offset, nbytes

    # --- instructions -----------------------------------------------------------------
    def kernel_call(self, g, body, operators, k):
        K = F["KernelCall"]
        i = body.get(K["op_index"], "int")
        if not 0 <= i < len(operators):
            raise self.error(f"method '{g.name}': instruction {k} calls operator {i} of "
                             f"{len(operators)}", body.pos)
        name, overload = operators[i]
        domain, _, op = name.rpartition("::")
        node = Node(op or name, domain)
        node.overload = overload
        args = self.args(body.scalars(K["args"], "int"), g, k)
        if not args:
            raise self.error(f"method '{g.name}': instruction {k} ({name}) has no "
                             "arguments", body.pos)
        ret = args[-1]
        v = self.values[ret]
        out = list(v.value) if v.kind in ("TensorList", "OptionalTensorList") else [ret]
        out = [j for j in out if 0 <= j < len(self.values)]
        # out arguments (what the call writes, not yet defined) are not inputs; an
        # in-place op's self is both
        fresh = {j for j in out if j not in self.defined}
        if ret not in out:
            fresh.add(ret)
        names = ARGUMENTS.get(f"{op}.{overload or 'default'}", ())
        for p, j in enumerate(args[:-1]):
            if j not in fresh:
                self.argument(g, node, j, names[p] if p < len(names) else f"arg{p}", k)
        node.outputs = [self.write(g, j) for j in out]
        node.name = f"{g.name}/{k}"
        return node

    def delegate_call(self, g, body, delegates, k):
        D = F["DelegateCall"]
        i = body.get(D["delegate_index"], "int")
        if not 0 <= i < len(delegates):
            raise self.error(f"method '{g.name}': instruction {k} calls delegate {i} of "
                             f"{len(delegates)}", body.pos)
        B, R, S = F["BackendDelegate"], F["BackendDelegateDataReference"], F["CompileSpec"]
        d = delegates[i]
        node = Node(d.string(B["id"]) or "delegate", DELEGATE_DOMAIN)
        args = self.args(body.scalars(D["args"], "int"), g, k)
        out = []
        for p, j in enumerate(args):
            if j in self.defined or self.values[j].kind not in ("Tensor", "Int", "Bool",
                                                                 "Double"):
                self.argument(g, node, j, f"arg{p}", k)
            elif j not in out:
                out.append(j)
        node.outputs = [self.write(g, j) for j in out]
        ref = d.table(B["processed"])
        node.attributes.append(Attribute("delegate", "int", i))
        if ref is not None:
            where, index = ref.get(R["location"], "byte"), ref.get(R["index"], "uint")
            node.attributes.append(Attribute("processed", "string", self.blob(where, index)))
        for spec in d.tables(B["compile_specs"]):
            value = spec.vector(S["value"], 1)
            n = value[1] if value else 0
            text = self.r.bytes(value[0], n).decode("utf-8", "replace") \
                if value and n <= MAX_SPEC else None
            shown = text if text is not None and text.isprintable() else f"{n:,} bytes"
            node.attributes.append(Attribute(spec.string(S["key"]), "string", shown))
        node.name = f"{g.name}/{k}"
        return node

    def blob(self, where, index):
        """'<size> bytes, <where>' of a delegate's processed data."""
        P = F["Program"]
        if where == 0:
            inline = self.program.tables(P["backend_delegate_data"])
            if index >= len(inline):
                return f"inline data {index} of {len(inline)}: missing"
            v = inline[index].vector(F["BackendDelegateInlineData"]["data"], 1)
            return f"{v[1] if v else 0:,} bytes, inline"
        try:
            _, size = self.segment(index, "the processed data")
        except ValueError as e:
            return str(e)
        return f"{size:,} bytes, segment {index}"

    def args(self, args, g, k):
        for j in args:
            if not 0 <= j < len(self.values):
                raise self.error(f"method '{g.name}': instruction {k} names value {j} of "
                                 f"{len(self.values)}")
        return args

    def argument(self, g, node, j, name, k):
        """Value j as an argument of instruction k: tensors and run-time scalars are
        inputs, static scalars attributes."""
        v = self.values[j]
        if v.kind == "Tensor":
            if j not in self.defined and 0 in self.tensor_dims(v.table):
                node.inputs.append("")   # an omitted optional tensor
            else:
                node.inputs.append(self.read(g, j, k))
        elif v.kind in ("TensorList", "OptionalTensorList"):
            for item in v.value:
                ok = 0 <= item < len(self.values) and self.values[item].kind == "Tensor"
                node.inputs.append(self.read(g, item, k) if ok else "")
        elif v.kind == "Null":
            return
        elif j in self.dynamic:
            node.inputs.append(self.name(j))
        elif v.kind == "IntList":
            items = []
            for item in v.value:
                x = self.values[item] if 0 <= item < len(self.values) else None
                if x is None or x.kind != "Int":
                    return
                if item in self.dynamic:   # a size known at run time only
                    node.inputs.append(self.name(item))
                    return
                items.append(x.value)
            node.attributes.append(Attribute(name, "ints", items))
        elif v.kind in _SCALAR_ATTRS:
            value = v.value
            if v.kind in ("Bool", "BoolList"):
                value = [int(x) for x in value] if v.kind == "BoolList" else int(value)
            node.attributes.append(Attribute(name, _SCALAR_ATTRS[v.kind], value))

    def move(self, body, k):
        M = F["MoveCall"]
        src, dst = body.get(M["move_from"], "int"), body.get(M["move_to"], "int")
        n = len(self.values)
        if not (0 <= src < n and 0 <= dst < n):
            raise self.error(f"instruction {k} moves value {src} to {dst} of {n}", body.pos)
        self.names[dst] = self.name(src)
        self.defined.add(dst)

    def frames(self, t):
        Fr = F["Frame"]
        lines = []
        for f in t.tables(F["FrameList"]["items"])[-MAX_FRAMES:]:
            lines.append(f"{f.string(Fr['filename'])}:{f.get(Fr['lineno'], 'int')} in "
                         f"{f.string(Fr['name'])}")
            context = f.string(Fr["context"]).strip()
            if context:
                lines.append("    " + context[:MAX_TEXT])
        return "\n".join(lines)[-MAX_TEXT * 2:]

