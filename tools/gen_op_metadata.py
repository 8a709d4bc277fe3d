"""Writes Wetron's op metadata from the frameworks' own op definitions.

    python tools/gen_op_metadata.py          (re)write every domain whose framework imports
    python tools/gen_op_metadata.py --check  exit 1 if a committed file differs

Run at development time (onnx, onnxruntime, tensorflow, ai_edge_litert and keras of
requirements-test.txt); the output is committed. Two files per domain:

  py/wetron/ops/metadata/<domain>.json  compact, loaded by wetron.ops.metadata: per op its
      display name, category and per since-version the input and output slot names
  opdocs/<domain>.json                  the documentation (description, typed inputs and
      outputs, attributes with defaults), fetched by the page only when the reader opens
      an op's "Operator" section (app/sidebar.js); never in the wheel or the snapshot

Sources: ONNX from onnx.defs (every schema with its history; ai.onnx, ai.onnx.ml,
ai.onnx.preview*), com.microsoft(.nchwc) from onnxruntime's contrib schemas; TFLite from
the LiteRT schema's BuiltinOperator enum; Keras from the classes of keras.layers; TF from
TensorFlow's op registry (OpDef: input_arg / output_arg / attr) and tf.raw_ops docstrings;
scikit-learn from sklearn.utils.all_estimators() (kind by mixin, parameters from each
class's signature); XGBoost's boosters and LightGBM's boosting types from a table here
(sklearn, xgboost and lightgbm: run in the test venv of tests/formats_trees_models.py).
What no framework states machine-readably is a table here, marked so: the category of
each op (Wetron's judgement: it picks the colour of a box), TFLite's display names and its
input slot names (from the kernels' tensor index constants in tensorflow/lite/kernels/).
"""
import argparse
import inspect
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPACT_DIR = os.path.join(ROOT, "py", "wetron", "ops", "metadata")
DOCS_DIR = os.path.join(ROOT, "opdocs")
MAX_TEXT = 6000   # characters of one description kept (a few TF docstrings are longer)

# The page's palette (app/graph-view.js CATEGORIES), in its order.
CATEGORIES = ["other", "conv", "matmul", "activation", "normalization", "pooling", "shape",
              "elementwise", "data", "control", "constant", "io"]


def table(**by_category):
    """{category: "Op Op ..."} -> {op: category}."""
    out = {}
    for cat, ops in by_category.items():
        assert cat in CATEGORIES, cat
        for op in ops.split():
            assert op not in out, op
            out[op] = cat
    return out


# --- categories: Wetron's judgement (which colour a box gets), not a framework's ---------

ONNX_CATEGORY = table(   # ai.onnx, ai.onnx.ml, com.microsoft (op names do not clash)
    conv="Conv ConvTranspose ConvInteger QLinearConv DeformConv FusedConv NhwcConv "
         "QLinearConvTranspose NhwcFusedConv ConvTransposeWithDynamicPads",
    matmul="MatMul Gemm MatMulInteger QLinearMatMul Einsum FusedMatMul FusedGemm Attention "
           "MultiHeadAttention MatMulNBits GroupQueryAttention MatMulIntegerToFloat "
           "DynamicQuantizeMatMul QAttention QOrderedMatMul GemmFastGelu MatMulBnb4 "
           "PackedAttention PackedMultiHeadAttention DecoderMaskedSelfAttention "
           "DecoderMaskedMultiHeadAttention SparseAttention PagedAttention QMoE MoE "
           "GatherBlockQuantized LinearClassifier LinearRegressor SVMClassifier SVMRegressor "
           "FusedMatMulActivation QGemm RotaryEmbedding",
    activation="Relu LeakyRelu PRelu Sigmoid Tanh Softmax LogSoftmax Gelu FastGelu BiasGelu "
               "QuickGelu Elu Selu Celu HardSigmoid HardSwish Softplus Softsign Mish "
               "ThresholdedRelu Hardmax Swish Shrink QLinearLeakyRelu QLinearSigmoid "
               "QLinearSoftmax BiasSoftmax ParametricSoftplus ScaledTanh Affine",
    normalization="BatchNormalization LayerNormalization InstanceNormalization "
                  "GroupNormalization LpNormalization LRN MeanVarianceNormalization "
                  "RMSNormalization SkipLayerNormalization SimplifiedLayerNormalization "
                  "SkipSimplifiedLayerNormalization Dropout EmbedLayerNormalization "
                  "SkipGroupNorm GroupNorm Normalizer",
    pooling="MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool GlobalLpPool MaxRoiPool "
            "RoiAlign MaxUnpool QLinearAveragePool QLinearGlobalAveragePool NhwcMaxPool",
    shape="Reshape Transpose Flatten Squeeze Unsqueeze Shape Size Expand DepthToSpace "
          "SpaceToDepth",
    data="Concat Split Slice Gather GatherElements GatherND Scatter ScatterElements ScatterND "
         "Tile Pad Identity Cast CastLike Resize Upsample Compress OneHot NonZero TopK Range "
         "Trilu Unique ReverseSequence SplitToSequence ConcatFromSequence SequenceAt "
         "SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength "
         "QuantizeLinear DequantizeLinear DynamicQuantizeLinear QLinearConcat "
         "CenterCropPad Col2Im ImageDecoder GridSample AffineGrid StringConcat "
         "StringNormalizer StringSplit RegexFullMatch TfIdfVectorizer CategoryMapper "
         "LabelEncoder DictVectorizer FeatureVectorizer Imputer OneHotEncoder Binarizer "
         "ArrayFeatureExtractor ZipMap CastMap Scaler",
    elementwise="Add Sub Mul Div Pow Sqrt Exp Log Abs Neg Reciprocal Floor Ceil Round Min Max "
                "Sum Mean Erf Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Equal "
                "Less LessOrEqual Greater GreaterOrEqual And Or Not Xor Clip Where Mod "
                "BitShift Sign IsNaN IsInf CumSum ReduceMean ReduceSum ReduceMax ReduceMin "
                "ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare "
                "ArgMax ArgMin BitwiseAnd BitwiseOr BitwiseXor BitwiseNot Det QLinearAdd "
                "QLinearMul BiasAdd",
    control="If Loop Scan SequenceMap",
    constant="Constant ConstantOfShape RandomNormal RandomNormalLike RandomUniform "
             "RandomUniformLike EyeLike Bernoulli Multinomial",
)

TFLITE_CATEGORY = table(
    conv="CONV_2D DEPTHWISE_CONV_2D TRANSPOSE_CONV CONV_3D CONV_3D_TRANSPOSE "
         "STABLEHLO_CONVOLUTION",
    matmul="FULLY_CONNECTED BATCH_MATMUL STABLEHLO_DOT_GENERAL",
    activation="RELU RELU6 RELU_N1_TO_1 RELU_0_TO_1 LOGISTIC TANH SOFTMAX LOG_SOFTMAX "
               "LEAKY_RELU PRELU ELU HARD_SWISH GELU STABLEHLO_LOGISTIC STABLEHLO_TANH",
    normalization="L2_NORMALIZATION LOCAL_RESPONSE_NORMALIZATION",
    pooling="AVERAGE_POOL_2D MAX_POOL_2D L2_POOL_2D REDUCE_WINDOW STABLEHLO_REDUCE_WINDOW",
    shape="RESHAPE TRANSPOSE SQUEEZE EXPAND_DIMS SHAPE RANK DEPTH_TO_SPACE SPACE_TO_DEPTH "
          "BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND BROADCAST_TO BROADCAST_ARGS STABLEHLO_RESHAPE "
          "STABLEHLO_TRANSPOSE STABLEHLO_BROADCAST_IN_DIM",
    data="CONCATENATION SPLIT SPLIT_V SLICE STRIDED_SLICE GATHER GATHER_ND SCATTER_ND TILE PAD "
         "PADV2 MIRROR_PAD CAST QUANTIZE DEQUANTIZE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR "
         "PACK UNPACK ONE_HOT TOPK_V2 UNIQUE REVERSE_V2 REVERSE_SEQUENCE EMBEDDING_LOOKUP "
         "DYNAMIC_UPDATE_SLICE FAKE_QUANT DENSIFY BITCAST STABLEHLO_CONCATENATE "
         "STABLEHLO_SLICE STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE "
         "STABLEHLO_GATHER STABLEHLO_SCATTER STABLEHLO_PAD STABLEHLO_CONVERT SPARSE_TO_DENSE "
         "MATRIX_DIAG MATRIX_SET_DIAG",
    elementwise="ADD SUB MUL DIV POW SQRT RSQRT EXP LOG ABS NEG FLOOR CEIL ROUND SIN COS "
                "SQUARE SQUARED_DIFFERENCE MAXIMUM MINIMUM ADD_N FLOOR_DIV FLOOR_MOD EQUAL "
                "NOT_EQUAL LESS LESS_EQUAL GREATER GREATER_EQUAL LOGICAL_AND LOGICAL_OR "
                "LOGICAL_NOT SELECT SELECT_V2 WHERE SIGN ATAN2 MEAN SUM REDUCE_PROD "
                "REDUCE_MAX REDUCE_MIN REDUCE_ANY REDUCE_ALL ARG_MAX ARG_MIN CUMSUM "
                "BITWISE_XOR RIGHT_SHIFT SEGMENT_SUM UNSORTED_SEGMENT_SUM UNSORTED_SEGMENT_PROD "
                "UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_MIN STABLEHLO_ADD STABLEHLO_DIVIDE "
                "STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM STABLEHLO_MINIMUM STABLEHLO_CLAMP "
                "STABLEHLO_ABS STABLEHLO_AND STABLEHLO_OR STABLEHLO_COSINE STABLEHLO_EXPONENTIAL "
                "STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_NEGATE STABLEHLO_POWER "
                "STABLEHLO_REMAINDER STABLEHLO_RSQRT STABLEHLO_SELECT STABLEHLO_SUBTRACT "
                "STABLEHLO_COMPARE STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_REDUCE",
    control="IF WHILE CALL CALL_ONCE STABLEHLO_WHILE STABLEHLO_CASE STABLEHLO_COMPOSITE",
    constant="FILL ZEROS_LIKE RANGE RANDOM_STANDARD_NORMAL RANDOM_UNIFORM MULTINOMIAL "
             "STABLEHLO_IOTA STABLEHLO_RNG_BIT_GENERATOR",
)

KERAS_CATEGORY = table(
    conv="Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose Conv3DTranspose Convolution1D "
         "Convolution2D Convolution3D Convolution1DTranspose Convolution2DTranspose "
         "Convolution3DTranspose DepthwiseConv1D DepthwiseConv2D SeparableConv1D "
         "SeparableConv2D SeparableConvolution1D SeparableConvolution2D ConvLSTM1D ConvLSTM2D "
         "ConvLSTM3D",
    matmul="Dense EinsumDense Attention AdditiveAttention MultiHeadAttention "
           "GroupQueryAttention Dot",
    activation="Activation ReLU LeakyReLU PReLU ELU Softmax",
    normalization="BatchNormalization LayerNormalization GroupNormalization RMSNormalization "
                  "UnitNormalization Normalization SpectralNormalization Dropout AlphaDropout "
                  "GaussianDropout SpatialDropout1D SpatialDropout2D SpatialDropout3D",
    pooling="AveragePooling1D AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D "
            "MaxPooling1D MaxPooling2D MaxPooling3D MaxPool1D MaxPool2D MaxPool3D "
            "GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D "
            "GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D GlobalMaxPooling1D "
            "GlobalMaxPooling2D GlobalMaxPooling3D GlobalMaxPool1D GlobalMaxPool2D "
            "GlobalMaxPool3D AdaptiveAveragePooling1D AdaptiveAveragePooling2D "
            "AdaptiveAveragePooling3D AdaptiveMaxPooling1D AdaptiveMaxPooling2D "
            "AdaptiveMaxPooling3D",
    shape="Reshape Flatten Permute RepeatVector",
    data="Concatenate Embedding ReversibleEmbedding Cropping1D Cropping2D Cropping3D "
         "ZeroPadding1D ZeroPadding2D ZeroPadding3D UpSampling1D UpSampling2D UpSampling3D "
         "Resizing Rescaling CenterCrop Identity Masking CategoryEncoding Hashing "
         "HashedCrossing IntegerLookup StringLookup TextVectorization Discretization",
    elementwise="Add Subtract Multiply Average Maximum Minimum",
    control="Lambda RNN SimpleRNN GRU LSTM Bidirectional TimeDistributed",
    io="InputLayer",
)

TF_CATEGORY = table(   # TensorFlow raw ops seen in GraphDefs and SavedModels
    conv="Conv2D Conv3D Conv2DBackpropInput Conv3DBackpropInputV2 DepthwiseConv2dNative "
         "FusedConv2DBiasActivation _FusedConv2D Conv Conv1D",
    matmul="MatMul BatchMatMul BatchMatMulV2 BatchMatMulV3 Einsum _FusedMatMul SparseMatMul",
    activation="Relu Relu6 Elu Selu LeakyRelu Sigmoid Tanh Softmax LogSoftmax Softplus Softsign",
    normalization="FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 LRN L2Loss",
    pooling="MaxPool MaxPoolV2 MaxPool3D AvgPool AvgPool3D MaxPoolWithArgmax",
    shape="Reshape Transpose Squeeze ExpandDims Shape ShapeN Size Rank BroadcastTo "
          "BroadcastArgs DepthToSpace SpaceToDepth BatchToSpaceND SpaceToBatchND",
    data="ConcatV2 Concat Split SplitV Slice StridedSlice Gather GatherV2 GatherNd ScatterNd "
         "Tile Pad PadV2 MirrorPad Cast Identity IdentityN Pack Unpack OneHot TopKV2 Unique "
         "ReverseV2 ResizeBilinear ResizeNearestNeighbor ResizeBicubic ResourceGather "
         "QuantizeV2 Dequantize FakeQuantWithMinMaxVars FakeQuantWithMinMaxArgs Bitcast "
         "StopGradient PreventGradient Snapshot EnsureShape CheckNumerics",
    elementwise="Add AddV2 AddN BiasAdd Sub Mul Div RealDiv FloorDiv FloorMod Mod Pow Sqrt "
                "Rsqrt Square SquaredDifference Exp Log Log1p Abs Neg Reciprocal Floor Ceil "
                "Round Rint Sin Cos Tan Erf Maximum Minimum Equal NotEqual Less LessEqual "
                "Greater GreaterEqual LogicalAnd LogicalOr LogicalNot Select SelectV2 Sign "
                "Mean Sum Prod Max Min Any All ArgMax ArgMin Cumsum ClipByValue DivNoNan "
                "MulNoNan Atan2 IsNan IsInf IsFinite",
    control="If StatelessIf While StatelessWhile PartitionedCall StatefulPartitionedCall "
            "Switch Merge Enter Exit NextIteration LoopCond NoOp",
    constant="Const Fill ZerosLike OnesLike Range RandomUniform RandomStandardNormal "
             "TruncatedNormal StatelessRandomUniformV2 StatelessRandomNormalV2",
    io="Placeholder PlaceholderWithDefault VarHandleOp ReadVariableOp AssignVariableOp "
       "VariableV2 Variable",
)

# --- TFLite: what its schema does not say -------------------------------------------------

# Display names where the generic rule (CONV_2D -> Conv2D: each word capitalised, a
# word that starts with a digit kept as is) would read oddly.
TFLITE_NAMES = {"TOPK_V2": "TopKV2", "BATCH_MATMUL": "BatchMatMul", "RFFT2D": "RFFT2D",
                "LSH_PROJECTION": "LSHProjection", "SVDF": "SVDF", "LRN": "LRN",
                "PADV2": "PadV2", "L2_NORMALIZATION": "L2Normalization",
                "L2_POOL_2D": "L2Pool2D", "ARG_MAX": "ArgMax", "ARG_MIN": "ArgMin",
                "GATHER_ND": "GatherNd", "SCATTER_ND": "ScatterNd", "ADD_N": "AddN",
                "RELU_N1_TO_1": "ReluN1To1", "RELU_0_TO_1": "Relu0To1",
                "NON_MAX_SUPPRESSION_V4": "NonMaxSuppressionV4",
                "NON_MAX_SUPPRESSION_V5": "NonMaxSuppressionV5"}

# Input and output slot names: the kernels' tensor index constants (kInputTensor = 0,
# kFilterTensor = 1, ...; tensorflow/lite/kernels/<op>.cc), which no machine-readable file
# carries. A name ending in "..." is variadic (any number of tensors).
_LSTM_INPUTS = ("input input_to_input_weights input_to_forget_weights input_to_cell_weights "
                "input_to_output_weights recurrent_to_input_weights recurrent_to_forget_weights "
                "recurrent_to_cell_weights recurrent_to_output_weights cell_to_input_weights "
                "cell_to_forget_weights cell_to_output_weights input_gate_bias "
                "forget_gate_bias cell_gate_bias output_gate_bias projection_weights "
                "projection_bias output_state cell_state input_layer_norm_coefficients "
                "forget_layer_norm_coefficients cell_layer_norm_coefficients "
                "output_layer_norm_coefficients")
_UNARY = ("ABS CEIL COS DEQUANTIZE ELU EXP FLOOR GELU HARD_SWISH L2_NORMALIZATION "
          "LOCAL_RESPONSE_NORMALIZATION LOG LOGISTIC LOG_SOFTMAX LOGICAL_NOT NEG QUANTIZE "
          "RELU RELU6 RELU_N1_TO_1 RELU_0_TO_1 ROUND RSQRT SIGN SIN SOFTMAX SQRT SQUARE TANH "
          "LEAKY_RELU CAST SHAPE RANK ZEROS_LIKE SQUEEZE DEPTH_TO_SPACE SPACE_TO_DEPTH "
          "AVERAGE_POOL_2D MAX_POOL_2D L2_POOL_2D FAKE_QUANT DENSIFY BITCAST")
_BINARY = ("ADD SUB MUL DIV POW MAXIMUM MINIMUM SQUARED_DIFFERENCE FLOOR_DIV FLOOR_MOD EQUAL "
           "NOT_EQUAL LESS LESS_EQUAL GREATER GREATER_EQUAL LOGICAL_AND LOGICAL_OR ATAN2 "
           "BITWISE_XOR RIGHT_SHIFT")
TFLITE_SLOTS = {
    **{op: ("input", "output") for op in _UNARY.split()},
    **{op: ("input1 input2", "output") for op in _BINARY.split()},
    "CONV_2D": ("input filter bias", "output"),
    "DEPTHWISE_CONV_2D": ("input filter bias", "output"),
    "CONV_3D": ("input filter bias", "output"),
    "TRANSPOSE_CONV": ("output_shape weights input bias", "output"),
    "CONV_3D_TRANSPOSE": ("output_shape filter input bias", "output"),
    "FULLY_CONNECTED": ("input weights bias", "output"),
    "BATCH_MATMUL": ("lhs rhs", "output"),
    "PRELU": ("input alpha", "output"),
    "RESHAPE": ("input shape", "output"),
    "TRANSPOSE": ("input perm", "output"),
    "EXPAND_DIMS": ("input axis", "output"),
    "BROADCAST_TO": ("input shape", "output"),
    "CONCATENATION": ("input...", "output"),
    "PACK": ("input...", "output"),
    "ADD_N": ("input...", "output"),
    "UNPACK": ("input", "output..."),
    "SPLIT": ("axis input", "output..."),
    "SPLIT_V": ("input size_splits axis", "output..."),
    "SLICE": ("input begin size", "output"),
    "STRIDED_SLICE": ("input begin end strides", "output"),
    "GATHER": ("input positions", "output"),
    "GATHER_ND": ("params indices", "output"),
    "SCATTER_ND": ("indices updates shape", "output"),
    "TILE": ("input multipliers", "output"),
    "PAD": ("input paddings", "output"),
    "PADV2": ("input paddings constant_values", "output"),
    "MIRROR_PAD": ("input paddings", "output"),
    "MEAN": ("input axis", "output"),
    "SUM": ("input axis", "output"),
    "REDUCE_PROD": ("input axis", "output"),
    "REDUCE_MAX": ("input axis", "output"),
    "REDUCE_MIN": ("input axis", "output"),
    "REDUCE_ANY": ("input axis", "output"),
    "REDUCE_ALL": ("input axis", "output"),
    "ARG_MAX": ("input axis", "output"),
    "ARG_MIN": ("input axis", "output"),
    "CUMSUM": ("input axis", "output"),
    "RESIZE_BILINEAR": ("input size", "output"),
    "RESIZE_NEAREST_NEIGHBOR": ("input size", "output"),
    "SELECT": ("condition x y", "output"),
    "SELECT_V2": ("condition x y", "output"),
    "WHERE": ("condition", "output"),
    "FILL": ("dims value", "output"),
    "RANGE": ("start limit delta", "output"),
    "TOPK_V2": ("input top_k", "values indices"),
    "UNIQUE": ("input", "output idx"),
    "ONE_HOT": ("indices depth on_value off_value", "output"),
    "EMBEDDING_LOOKUP": ("lookup value", "output"),
    "BATCH_TO_SPACE_ND": ("input block_shape crops", "output"),
    "SPACE_TO_BATCH_ND": ("input block_shape paddings", "output"),
    "REVERSE_V2": ("input axis", "output"),
    "REVERSE_SEQUENCE": ("input seq_lengths", "output"),
    "DYNAMIC_UPDATE_SLICE": ("operand update start_indices", "output"),
    "LSTM": (_LSTM_INPUTS, "output"),
    "UNIDIRECTIONAL_SEQUENCE_LSTM": (_LSTM_INPUTS, "output"),
    "BROADCAST_ARGS": ("shape1 shape2", "output"),
    "MATRIX_DIAG": ("diagonal", "output"),
    "MATRIX_SET_DIAG": ("input diagonal", "output"),
    "SEGMENT_SUM": ("data segment_ids", "output"),
}


def tflite_display_name(op):
    if op in TFLITE_NAMES:
        return TFLITE_NAMES[op]
    return "".join(w if w[0].isdigit() else w[0] + w[1:].lower() for w in op.split("_") if w)


# --- helpers ---------------------------------------------------------------------------

def clip(text):
    text = (text or "").strip()
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1].rstrip() + "…"


def slot_list(names):
    """'a b c...' -> ['a', 'b', 'c...']."""
    return names.split() if isinstance(names, str) else list(names)


def compact_entry(op, name, category, versions):
    """An op of the compact file: the display name where it is not the op type, the
    category where it is not "other", and per version [since, inputs, outputs]."""
    entry = {"versions": [[v["since"], v["inputs"], v["outputs"]] for v in versions]}
    if name != op:
        entry["name"] = name
    if category != "other":
        entry["category"] = category
    return entry


# --- ONNX ------------------------------------------------------------------------------

ONNX_DOMAINS = {"": "ai.onnx", "ai.onnx.ml": "ai.onnx.ml",
                "ai.onnx.preview.training": "ai.onnx.preview.training",
                "ai.onnx.preview": "ai.onnx.preview",
                "com.microsoft": "com.microsoft", "com.microsoft.nchwc": "com.microsoft.nchwc"}


def onnx_default(attr_proto_or_bytes):
    import onnx
    from onnx import helper
    a = attr_proto_or_bytes
    if isinstance(a, bytes):
        p = onnx.AttributeProto()
        p.ParseFromString(a)
        a = p
    if a is None or not a.name or a.type == 0:
        return None
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, (list, tuple)):
        return [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v]
    if isinstance(v, float):
        return float(f"{v:.7g}")   # float32 defaults as written (0.0001, not 9.99999974e-05)
    if isinstance(v, (int, str)):
        return v
    return None   # tensors, graphs: not shown as a default


def onnx_param(p, ort):
    option = int(p.option.value if hasattr(p.option, "value") else p.option)
    return {"name": p.name, "type": p.typeStr if ort else p.type_str,
            "option": ["single", "optional", "variadic"][option],
            "description": clip(p.description)}


def onnx_schemas():
    """(domain, schema, from onnxruntime) for every schema of every version."""
    from onnx import defs
    for s in defs.get_all_schemas_with_history():
        yield ONNX_DOMAINS.get(s.domain, s.domain), s, False
    try:
        from onnxruntime.capi import onnxruntime_pybind11_state as ort
        get = ort.get_all_operator_schema
    except (ImportError, AttributeError):   # onnxruntime absent, or built without schemas
        return
    for s in get():
        if s.domain.startswith("com.microsoft") and s.domain in ONNX_DOMAINS:
            yield s.domain, s, True


def gen_onnx():
    compact, docs = {}, {}
    for domain, s, ort in onnx_schemas():
        if s.deprecated:
            continue
        ins = [onnx_param(p, ort) for p in s.inputs]
        outs = [onnx_param(p, ort) for p in s.outputs]
        attrs = []
        for name, a in sorted(s.attributes.items()):
            default = onnx_default(a._default_value if ort else a.default_value)
            entry = {"name": name, "type": str(a.type).rsplit(".", 1)[-1].lower(),
                     "required": bool(a.required), "description": clip(a.description)}
            if default is not None:
                entry["default"] = default
            attrs.append(entry)
        types = [{"name": t.type_param_str, "types": list(t.allowed_type_strs),
                  "description": clip(t.description)} for t in s.type_constraints]
        version = {"since": s.since_version,
                   "inputs": [p["name"] + ("..." if p["option"] == "variadic" else "") for p in ins],
                   "outputs": [p["name"] + ("..." if p["option"] == "variadic" else "") for p in outs]}
        versions = compact.setdefault(domain, {}).setdefault(s.name, [])
        if any(v["since"] == s.since_version for v in versions):
            continue   # onnxruntime repeats ONNX's own schemas
        versions.append(version)
        docs.setdefault(domain, {}).setdefault(s.name, []).append(
            {"since": s.since_version, "description": clip(s.doc), "inputs": ins,
             "outputs": outs, "attributes": attrs, "type_constraints": types})
    for domain in compact:
        for op, versions in compact[domain].items():
            versions.sort(key=lambda v: v["since"])
            docs[domain][op].sort(key=lambda v: v["since"])
            compact[domain][op] = compact_entry(op, op, ONNX_CATEGORY.get(op, "other"), versions)
    import onnx
    return compact, docs, f"onnx {onnx.__version__}" + _ort_version()


def _ort_version():
    try:
        import onnxruntime
        return f", onnxruntime {onnxruntime.__version__} (com.microsoft)"
    except ImportError:
        return ""


# --- TFLite ----------------------------------------------------------------------------

def tflite_schema():
    try:
        from ai_edge_litert import schema_py_generated as schema
        return schema, "ai_edge_litert"
    except ImportError:
        from tensorflow.lite.python import schema_py_generated as schema
        return schema, "tensorflow.lite"


def gen_tflite():
    sys.path.insert(0, os.path.join(ROOT, "py"))
    schema, source = tflite_schema()
    ops = schema.BuiltinOperator
    compact, docs = {}, {}
    for op, code in sorted(((k, v) for k, v in vars(ops).items()
                            if not k.startswith("_") and isinstance(v, int)), key=lambda kv: kv[1]):
        if op in ("CUSTOM", "DELEGATE", "PLACEHOLDER_FOR_GREATER_OP_CODES"):
            continue
        ins, outs = (slot_list(x) for x in TFLITE_SLOTS.get(op, ((), ())))
        compact[op] = compact_entry(op, tflite_display_name(op), TFLITE_CATEGORY.get(op, "other"),
                                    [{"since": 1, "inputs": ins, "outputs": outs}])
        options = _tflite_options(op)
        docs[op] = [{"since": 1, "code": code, "description": "",
                     "inputs": [{"name": n} for n in ins], "outputs": [{"name": n} for n in outs],
                     "attributes": options}]
    version = getattr(sys.modules.get(source.split(".")[0]), "__version__", "")
    return {"tflite": compact}, {"tflite": docs}, f"{source} {version}".strip()


# Ops whose BuiltinOptions table is not named after the op (the schema's union pairs them
# only by convention; the converter writes these).
TFLITE_OPTIONS = {
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions", "MEAN": "ReducerOptions", "SUM": "ReducerOptions",
    "REDUCE_PROD": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
    "REDUCE_MIN": "ReducerOptions", "REDUCE_ANY": "ReducerOptions",
    "REDUCE_ALL": "ReducerOptions", "L2_NORMALIZATION": "L2NormOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "BIDIRECTIONAL_SEQUENCE_LSTM": "BidirectionalSequenceLSTMOptions",
    "UNIDIRECTIONAL_SEQUENCE_RNN": "SequenceRNNOptions",
    "BIDIRECTIONAL_SEQUENCE_RNN": "BidirectionalSequenceRNNOptions",
    "LSTM": "LSTMOptions", "RNN": "RNNOptions", "TOPK_V2": "TopKV2Options",
    "SELECT_V2": "SelectV2Options", "PADV2": "PadV2Options", "SPLIT_V": "SplitVOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions", "PACK": "PackOptions",
    "LEAKY_RELU": "LeakyReluOptions", "GELU": "GeluOptions", "CUMSUM": "CumsumOptions",
    "BATCH_MATMUL": "BatchMatMulOptions", "LOG_SOFTMAX": "LogSoftmaxOptions",
    "ARG_MAX": "ArgMaxOptions", "ARG_MIN": "ArgMinOptions",
}


def _tflite_options(op):
    """The fields of the op's BuiltinOptions table, as Wetron's reader names them
    (py/wetron/formats/tflite.py, checked against the LiteRT schema by its tests), with
    the schema's defaults (enums by name)."""
    from wetron.formats import tflite
    tables = dict(tflite.OPTIONS + tflite.OPTIONS_2)
    name = TFLITE_OPTIONS.get(op, f"{tflite_display_name(op)}Options")
    out = []
    for _, field, ftype, default in tables.get(name, ()):
        entry = {"name": field, "type": ftype}
        if ftype in tflite.ENUMS:
            codes = tflite.ENUMS[ftype][1]
            entry["default"] = codes[default] if default < len(codes) else default
        elif ftype == "bool":
            entry["default"] = bool(default)
        elif ftype == "float":
            entry["default"] = float(default)
        elif not ftype.startswith("["):
            entry["default"] = default
        out.append(entry)
    return out


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


# --- Keras -----------------------------------------------------------------------------

def gen_keras():
    import keras
    compact, docs = {}, {}
    for name in sorted(dir(keras.layers)):
        cls = getattr(keras.layers, name)
        if name.startswith("_") or not inspect.isclass(cls) or not issubclass(cls, keras.layers.Layer):
            continue
        doc = inspect.getdoc(cls) or ""
        attrs = []
        try:
            params = inspect.signature(cls.__init__).parameters.values()
        except (TypeError, ValueError):
            params = []
        for p in params:
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            entry = {"name": p.name, "required": p.default is p.empty}
            if p.default is not p.empty and _json_default(p.default) is not None:
                entry["default"] = _json_default(p.default)
            attrs.append(entry)
        compact[name] = compact_entry(name, name, KERAS_CATEGORY.get(name, "other"),
                                      [{"since": 1, "inputs": [], "outputs": []}])
        docs[name] = [{"since": 1, "description": clip(_first_paragraphs(doc)),
                       "inputs": [], "outputs": [], "attributes": attrs}]
    return {"keras": compact}, {"keras": docs}, f"keras {keras.__version__}"


def _json_default(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v if v is not None else "None"
    if isinstance(v, float):
        return float(f"{v:.7g}")
    if isinstance(v, tuple) and all(isinstance(x, (int, float, str)) for x in v):
        return list(v)
    return None


def _first_paragraphs(doc):
    """The docstring up to its "Args:" section (the arguments are listed apart)."""
    return re.split(r"\n\s*(?:Args|Arguments|Call arguments|Input shape):\s*\n", doc, maxsplit=1)[0]


# --- TensorFlow raw ops ----------------------------------------------------------------

TF_TYPES = {1: "float", 2: "double", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
            9: "int64", 10: "bool", 19: "half", 14: "bfloat16", 20: "resource", 21: "variant"}


def gen_tf():
    import tensorflow as tf
    from tensorflow.python.framework import op_def_registry
    compact, docs = {}, {}
    for name in sorted(dir(tf.raw_ops)):
        if name.startswith("_"):
            continue
        op = op_def_registry.get(name)
        if op is None:
            continue
        arg_docs = _args_section(getattr(tf.raw_ops, name).__doc__ or "")

        def arg(a):
            many = bool(a.number_attr or a.type_list_attr)
            t = a.type_attr or a.type_list_attr or TF_TYPES.get(a.type, str(a.type))
            return {"name": a.name, "type": t, "option": "variadic" if many else "single",
                    "description": clip(a.description or arg_docs.get(a.name, ""))}
        ins = [arg(a) for a in op.input_arg]
        outs = [arg(a) for a in op.output_arg]
        attrs = []
        for a in op.attr:
            entry = {"name": a.name, "type": a.type, "description": clip(a.description or arg_docs.get(a.name, ""))}
            if a.HasField("default_value"):
                d = _tf_attr_value(a.default_value)
                if d is not None:
                    entry["default"] = d
            attrs.append(entry)
        slot = lambda p: p["name"] + ("..." if p["option"] == "variadic" else "")   # noqa: E731
        compact[name] = compact_entry(name, name, TF_CATEGORY.get(name, "other"),
                                      [{"since": 1, "inputs": [slot(p) for p in ins],
                                        "outputs": [slot(p) for p in outs]}])
        doc = getattr(tf.raw_ops, name).__doc__ or op.summary
        docs[name] = [{"since": 1, "description": clip(_first_paragraphs(inspect.cleandoc(doc))),
                       "inputs": ins, "outputs": outs, "attributes": attrs}]
    return {"tf": compact}, {"tf": docs}, f"tensorflow {tf.__version__}"


def _args_section(doc):
    """{name: text} from a tf.raw_ops docstring's "Args:" list."""
    doc = inspect.cleandoc(doc)
    m = re.search(r"\nArgs:\n(.*?)(?:\n\S|\Z)", doc, re.S)
    out, current = {}, None
    for line in (m.group(1).splitlines() if m else []):
        head = re.match(r"^  (\w+): (.*)$", line)
        if head:
            current = head.group(1)
            out[current] = head.group(2).strip()
        elif current and line.strip():
            out[current] += " " + line.strip()
    return out


def _tf_attr_value(v):
    kind = v.WhichOneof("value")
    if kind in ("i", "f", "b"):
        x = getattr(v, kind)
        return float(f"{x:.7g}") if kind == "f" else x
    if kind == "s":
        return v.s.decode("utf-8", "replace")
    if kind == "type":
        return TF_TYPES.get(v.type, f"type {v.type}")
    if kind == "list":
        lst = v.list
        for field in ("i", "f", "s", "type"):
            items = list(getattr(lst, field))
            if items:
                return [x.decode("utf-8", "replace") if isinstance(x, bytes)
                        else TF_TYPES.get(x, x) if field == "type" else x for x in items]
        return []
    if kind == "shape":
        return "unknown rank" if v.shape.unknown_rank else [d.size for d in v.shape.dim]
    return None


# --- tree models: scikit-learn, XGBoost, LightGBM ---------------------------------------

# The category of an estimator by its kind, the mixin it derives from (Wetron's judgement:
# the colour of a box): what it does to the features.
SKLEARN_KINDS = (("classifier", "activation"), ("regressor", "matmul"),
                 ("cluster", "pooling"), ("outlier_detector", "elementwise"),
                 ("transformer", "normalization"))
SKLEARN_COMPOSITES = {"Pipeline", "ColumnTransformer", "FeatureUnion"}
# The nodes of drawn trees (wetron.trees), in every tree domain
TREE_NODES = {
    "Split": ("control", "A split of a decision tree: the rows that pass its test (the `if` "
                         "attribute) go to its yes output (the tree's left child), the others "
                         "to its no output; a missing value goes where `missing` says."),
    "Leaf": ("constant", "A leaf of a decision tree: its `value` is what the tree gives for "
                         "the rows that reach it."),
}


def _tree_nodes(compact, docs):
    for op, (category, text) in TREE_NODES.items():
        compact[op] = compact_entry(op, op, category, [{"since": 1, "inputs": ["rows"],
                                                        "outputs": [] if op == "Leaf"
                                                        else ["yes", "no"]}])
        docs[op] = [{"since": 1, "description": text, "inputs": [{"name": "rows"}],
                     "outputs": [] if op == "Leaf" else [{"name": "yes"}, {"name": "no"}],
                     "attributes": []}]


def sklearn_kind(cls):
    """classifier, regressor, cluster, outlier_detector, transformer, composite or ""."""
    from sklearn import base
    if cls.__name__ in SKLEARN_COMPOSITES:
        return "composite"
    for kind, mixin in (("classifier", base.ClassifierMixin), ("regressor", base.RegressorMixin),
                        ("cluster", base.ClusterMixin), ("outlier_detector", base.OutlierMixin),
                        ("transformer", base.TransformerMixin)):
        if issubclass(cls, mixin):
            return kind
    return ""


def gen_sklearn():
    import sklearn
    from sklearn.utils import all_estimators
    category = dict(SKLEARN_KINDS, composite="control")
    compact, docs = {}, {}
    found = dict(all_estimators())
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline
    found.update(Pipeline=Pipeline, ColumnTransformer=ColumnTransformer, FeatureUnion=FeatureUnion)
    for name, cls in sorted(found.items()):
        kind = sklearn_kind(cls)
        compact[name] = compact_entry(name, name, category.get(kind, "other"),
                                      [{"since": 1, "inputs": [], "outputs": []}])
        attrs = []
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            entry = {"name": p.name, "required": p.default is p.empty}
            if p.default is not p.empty and _json_default(p.default) is not None:
                entry["default"] = _json_default(p.default)
            attrs.append(entry)
        doc = inspect.getdoc(cls) or ""
        docs[name] = [{"since": 1, "kind": kind, "module": cls.__module__,
                       "description": clip(re.split(r"\n\s*Parameters\n-{3,}", doc, maxsplit=1)[0]),
                       "inputs": [], "outputs": [], "attributes": attrs}]
    compact["passthrough"] = compact_entry("passthrough", "passthrough", "data",
                                           [{"since": 1, "inputs": [], "outputs": []}])
    docs["passthrough"] = [{"since": 1, "description": "A ColumnTransformer's or Pipeline's "
                            "'passthrough': its columns go on unchanged.", "inputs": [],
                            "outputs": [], "attributes": []}]
    _tree_nodes(compact, docs)
    return {"sklearn": compact}, {"sklearn": docs}, f"scikit-learn {sklearn.__version__}"


# XGBoost's boosters (its `booster` parameter) and LightGBM's boosting types (`boosting`):
# their packages list them only in prose, so this table is Wetron's, checked against the
# models the tests train.
XGBOOST_BOOSTERS = {
    "gbtree": "Gradient-boosted decision trees: the prediction is base_score plus the sum of "
              "the trees' leaves (per class for multi-class objectives), through the "
              "objective's link.",
    "dart": "Gradient-boosted trees with dropout (DART): as gbtree, each tree scaled by its "
            "weight_drop.",
    "gblinear": "A linear booster: the prediction is the features times `weight` plus "
                "`bias`, through the objective's link.",
}
LIGHTGBM_BOOSTERS = {
    "gbdt": "Gradient-boosted decision trees: the prediction is the sum of the trees' leaves "
            "(per class for multi-class objectives), through the objective's link.",
    "rf": "A random forest: the trees' leaves averaged (average_output).",
    "dart": "Gradient-boosted trees with dropout (DART).",
    "goss": "Gradient-boosted trees trained with gradient-based one-side sampling (LightGBM "
            "before 4.0 named it a boosting type).",
}


def _boosters(domain, table):
    compact, docs = {}, {}
    for op, text in table.items():
        compact[op] = compact_entry(op, op, "control", [{"since": 1, "inputs": ["features"],
                                                         "outputs": ["prediction"]}])
        docs[op] = [{"since": 1, "description": text, "inputs": [{"name": "features"}],
                     "outputs": [{"name": "prediction"}], "attributes": []}]
    _tree_nodes(compact, docs)
    return {domain: compact}, {domain: docs}


def gen_xgboost():
    import xgboost
    compact, docs = _boosters("xgboost", XGBOOST_BOOSTERS)
    return compact, docs, f"Wetron's table (XGBoost {xgboost.__version__})"


def gen_lightgbm():
    import lightgbm
    compact, docs = _boosters("lightgbm", LIGHTGBM_BOOSTERS)
    return compact, docs, f"Wetron's table (LightGBM {lightgbm.__version__})"


# --- writing ---------------------------------------------------------------------------

GENERATORS = {"onnx": gen_onnx, "tflite": gen_tflite, "keras": gen_keras, "tf": gen_tf,
              "sklearn": gen_sklearn, "xgboost": gen_xgboost, "lightgbm": gen_lightgbm}


def dump(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


# Domains whose ops have versions (ONNX operator sets): describe() picks the schema in
# force at the model's opset; the others have one definition per op.
VERSIONED = {"onnx"}


def render(key):
    """{path: text} of the files one generator writes."""
    compact, docs, source = GENERATORS[key]()
    files = {}
    for domain in compact:
        files[os.path.join(COMPACT_DIR, f"{domain}.json")] = dump(
            {"domain": domain, "source": source, "versioned": key in VERSIONED,
             "docs": f"opdocs/{domain}.json", "ops": compact[domain]})
        files[os.path.join(DOCS_DIR, f"{domain}.json")] = dump(
            {"domain": domain, "source": source, "ops": docs[domain]})
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("only", nargs="*", help=f"generators to run: {' '.join(GENERATORS)}")
    args = parser.parse_args(argv)
    for key in args.only:
        if key not in GENERATORS:
            parser.error(f"no generator {key!r}")
    stale = []
    for key in args.only or GENERATORS:
        try:
            files = render(key)
        except ImportError as e:
            print(f"{key}: skipped ({e})", file=sys.stderr)
            continue
        for path, text in files.items():
            rel = os.path.relpath(path, ROOT)
            old = open(path, encoding="utf-8").read() if os.path.exists(path) else None
            if old == text:
                continue
            stale.append(rel)
            if not args.check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            print(f"{'differs' if args.check else 'wrote'} {rel} ({len(text.encode()) >> 10} KiB)")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
