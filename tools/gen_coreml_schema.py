"""Writes what Wetron knows of Core ML from coremltools' own definitions:

  py/wetron/formats/coreml_schema.py   the NeuralNetwork.proto table coreml.py reads
      (from coremltools' generated protobuf code: NeuralNetwork.proto and the
      DataStructures.proto / Parameters.proto messages it uses)
  py/wetron/ops/metadata/coreml.json, coreml.mil.json   op metadata in the layout of
      wetron.ops.metadata: NeuralNetwork layer types (NeuralNetworkLayer's oneof) and
      MIL operations (coremltools' op registry, their input slots in definition order,
      the newest opset's first); categories are Wetron's judgement (CATEGORY below)

    <python with coremltools 9.0> tools/gen_coreml_schema.py          (re)write them
    <python with coremltools 9.0> tools/gen_coreml_schema.py --check  exit 1 if one differs

One line per message: `Name number:field:type ...`; type is a scalar (int32, uint64,
float, double, bool, string, bytes), `=Enum` or a message name; `*` marks a repeated
field and `|oneof` its oneof. One line per enum: `=Name number:VALUE ...`.
tests/test_format_coreml.py checks the module is this output.
"""
import json
import os
import sys

from google.protobuf.descriptor import FieldDescriptor

SCALARS = {FieldDescriptor.TYPE_DOUBLE: "double", FieldDescriptor.TYPE_FLOAT: "float",
           FieldDescriptor.TYPE_INT64: "int64", FieldDescriptor.TYPE_UINT64: "uint64",
           FieldDescriptor.TYPE_INT32: "int32", FieldDescriptor.TYPE_UINT32: "uint32",
           FieldDescriptor.TYPE_BOOL: "bool", FieldDescriptor.TYPE_STRING: "string",
           FieldDescriptor.TYPE_BYTES: "bytes", FieldDescriptor.TYPE_SINT32: "sint32",
           FieldDescriptor.TYPE_SINT64: "sint64", FieldDescriptor.TYPE_FIXED32: "fixed32",
           FieldDescriptor.TYPE_FIXED64: "fixed64"}


def short(full):
    return full.replace("CoreML.Specification.", "").replace(".", "_")


def lines():
    from coremltools.proto import NeuralNetwork_pb2
    out, enums, seen = [], {}, set()
    todo = list(NeuralNetwork_pb2.DESCRIPTOR.message_types_by_name.values())
    while todo:
        d = todo.pop(0)
        if d.full_name in seen or d.GetOptions().map_entry:
            continue
        seen.add(d.full_name)
        todo.extend(d.nested_types)
        parts = [short(d.full_name)]
        for f in sorted(d.fields, key=lambda f: f.number):
            if f.message_type is not None:
                t = short(f.message_type.full_name)
                if f.message_type.GetOptions().map_entry:
                    t = "map"
                elif f.message_type.full_name not in seen:
                    todo.append(f.message_type)
            elif f.enum_type is not None:
                t = "=" + short(f.enum_type.full_name)
                enums[t] = f.enum_type
            else:
                t = SCALARS[f.type]
            t += "*" if f.is_repeated else ""
            if f.containing_oneof is not None:
                t += "|" + f.containing_oneof.name
            parts.append(f"{f.number}:{f.name}:{t}")
        out.append(" ".join(parts))
    for name, e in sorted(enums.items()):
        out.append(" ".join([name] + [f"{v.number}:{v.name}" for v in e.values]))
    return out


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA_MODULE = os.path.join(ROOT, "py", "wetron", "formats", "coreml_schema.py")
METADATA = os.path.join(ROOT, "py", "wetron", "ops", "metadata")


def table(**by_category):
    out = {}
    for cat, ops in by_category.items():
        for op in ops.split():
            assert op not in out, op
            out[op] = cat
    return out


# Categories (the colour of a box): Wetron's judgement, not coremltools'.
CATEGORY = {
    "coreml": table(
        conv="convolution convolution3d",
        matmul="innerProduct batchedMatmul embedding embeddingND dot",
        activation="activation softmax softmaxND gelu clampedReLU erf",
        normalization="batchnorm mvn l2normalize lrn layerNormalization",
        pooling="pooling pooling3d globalPooling3d",
        shape="reshape flatten permute reshapeLike reshapeStatic reshapeDynamic "
              "rankPreservingReshape flattenTo2D squeeze expandDims transpose getShape "
              "reorganizeData",
        elementwise="unary add multiply average scale bias max min clip ceil floor sign round "
                    "exp2 sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh equal "
                    "notEqual lessThan lessEqual greaterThan greaterEqual logicalOr logicalXor "
                    "logicalNot logicalAnd modBroadcastable minBroadcastable maxBroadcastable "
                    "addBroadcastable powBroadcastable divideBroadcastable "
                    "floorDivBroadcastable multiplyBroadcastable subtractBroadcastable "
                    "whereBroadcastable",
        data="crop padding upsample resizeBilinear cropResize concat split sequenceRepeat "
             "slice tile stack gather scatter gatherND scatterND gatherAlongAxis "
             "scatterAlongAxis reverse reverseSeq splitND concatND sliceStatic sliceDynamic "
             "slidingWindows topK argMin argMax fillLike fillStatic fillDynamic "
             "broadcastToLike broadcastToStatic broadcastToDynamic constantPad oneHot cumSum "
             "argSort copy whereNonZero matrixBandPart lowerTriangular upperTriangular "
             "rangeStatic rangeDynamic reduce reduceL1 reduceL2 reduceMax reduceMin reduceSum "
             "reduceProd reduceMean reduceLogSum reduceSumSquare reduceLogSumExp",
        control="branch loop loopBreak loopContinue",
        constant="loadConstant loadConstantND",
    ),
    "coreml.mil": table(
        conv="conv conv_transpose conv_quantized",
        matmul="linear matmul einsum scaled_dot_product_attention",
        activation="relu relu6 sigmoid sigmoid_hard silu softmax softplus softplus_parametric "
                   "softsign tanh scaled_tanh elu gelu leaky_relu linear_activation prelu "
                   "thresholded_relu clamped_relu erf",
        normalization="batch_norm instance_norm layer_norm l2_norm local_response_norm",
        pooling="avg_pool max_pool l2_pool",
        shape="reshape reshape_like transpose squeeze expand_dims flatten2d shape "
              "depth_to_space space_to_depth pixel_shuffle pixel_unshuffle batch_to_space "
              "space_to_batch",
        elementwise="abs acos add asin atan atanh ceil clip cos cosh equal exp exp2 floor "
                    "floor_div greater greater_equal inverse less less_equal log logical_and "
                    "logical_not logical_or logical_xor maximum minimum mod mul not_equal pow "
                    "real_div round rsqrt select sign sin sinh sqrt square sub tan threshold "
                    "affine",
        data="concat split stack gather gather_along_axis gather_nd scatter "
             "scatter_along_axis scatter_nd slice_by_index slice_by_size slice_update tile pad "
             "crop crop_resize resize resize_bilinear resize_nearest_neighbor "
             "upsample_bilinear upsample_nearest_neighbor resample reverse reverse_sequence "
             "topk argsort one_hot non_zero range_1d fill fill_like band_part cumsum "
             "sliding_windows cast identity reduce_argmax reduce_argmin reduce_l1_norm "
             "reduce_l2_norm reduce_log_sum reduce_log_sum_exp reduce_max reduce_mean "
             "reduce_min reduce_prod reduce_sum reduce_sum_square quantize dequantize "
             "non_maximum_suppression list_gather list_length list_read list_scatter "
             "list_write make_list read_state random_bernoulli random_categorical "
             "random_normal random_uniform classify",
        control="cond while_loop",
        constant="const _const_symbolic constexpr_affine_dequantize "
                 "constexpr_blockwise_shift_scale constexpr_cast constexpr_lut_to_dense "
                 "constexpr_lut_to_sparse constexpr_sparse_blockwise_shift_scale "
                 "constexpr_sparse_to_dense",
    ),
}


def metadata_tables():
    import coremltools
    from coremltools.converters.mil.mil.input_type import TupleInputType
    from coremltools.converters.mil.mil.ops.registry import SSAOpRegistry
    import coremltools.converters.mil.mil.ops.defs  # noqa: F401 (registers the ops)
    from coremltools.proto import NeuralNetwork_pb2
    source = f"coremltools {coremltools.__version__}"
    layer = NeuralNetwork_pb2.NeuralNetworkLayer.DESCRIPTOR.oneofs_by_name["layer"]
    nn = {}
    for f in layer.fields:
        entry = {}
        cat = CATEGORY["coreml"].get(f.name)
        if cat:
            entry["category"] = cat
        entry["versions"] = [[1, [], []]]   # a layer's inputs are names, not slots
        nn[f.name] = entry
    mil = {}
    for op, by_opset in sorted(SSAOpRegistry.core_ops.items()):
        slots = []
        for target in sorted(by_opset, key=lambda t: -t.value):   # newest first
            spec = by_opset[target].input_spec
            for name, kind in (spec.input_types.items() if spec else ()):
                slot = name + ("..." if isinstance(kind, TupleInputType) else "")
                if slot not in slots:
                    slots.append(slot)
        entry = {}
        cat = CATEGORY["coreml.mil"].get(op)
        if cat:
            entry["category"] = cat
        entry["versions"] = [[1, slots, []]]
        mil[op] = entry
    for domain, ops in (("coreml", nn), ("coreml.mil", mil)):
        missing = set(CATEGORY[domain]) - set(ops)
        assert not missing, (domain, sorted(missing))
    return {"coreml": {"domain": "coreml", "ops": nn, "source": source + " NeuralNetwork.proto"},
            "coreml.mil": {"domain": "coreml.mil", "ops": mil,
                           "source": source + " MIL op registry"}}


def outputs():
    """{path: text} of every file this script writes."""
    out = {SCHEMA_MODULE: module()}
    for domain, t in metadata_tables().items():
        out[os.path.join(METADATA, f"{domain}.json")] = json.dumps(t, separators=(",", ":"), sort_keys=True) + "\n"
    return out


def module():
    import coremltools
    return (f'"""Core ML NeuralNetwork.proto as a table, generated by tools/gen_coreml_schema.py\n'
            f'from coremltools {coremltools.__version__}\'s protobuf code: do not edit (the\n'
            f'notation is in that script\'s docstring)."""\n'
            f'COREMLTOOLS = "{coremltools.__version__}"\n'
            'NN_SCHEMA = """\n' + "\n".join(lines()) + '\n"""\n')


if __name__ == "__main__":
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in outputs().items():
        old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if old != text:
            stale.append(path)
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    print(("differ: " if check else "written: ") + (", ".join(stale) or "none"))
    sys.exit(1 if check and stale else 0)
