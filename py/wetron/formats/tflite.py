"""TensorFlow Lite / LiteRT (.tflite): a FlatBuffer with identifier "TFL3".

Field ids and enum values follow the LiteRT schema (tflite/converter/schema/
schema.fbs, schema version 3d; tests check them against ai_edge_litert's generated
code). Every subgraph is a graph (graphs[i] = subgraph i); tensors are values,
operators are nodes named after their first output tensor (TensorFlow scope names,
so hierarchy.py groups them), builtin options become attributes, and constant
tensors are weights whose bytes stay in the file until asked for.
"""
import struct

from .. import dtypes
from ..errors import ModelError
from ..flatbuffers import Reader
from ..util import MAX_NODES, MAX_TENSORS, too_many
from ..model import Attribute, Function, Graph, Model, Node, Tensor
from ..source import BytesSource
from ..weights import raw_decoder

FORMAT = "TensorFlow Lite"
EXTENSIONS = (".tflite",)
CAPABILITIES = frozenset({"tensor_values", "tensor_windows"})
IDENTIFIER = b"TFL3"
DOMAIN = "tflite"                 # builtin operators (the op registry's rules: ops/tflite.py)
CUSTOM_DOMAIN = "tflite.custom"   # custom operators, named by their custom code
# A dim that shape_signature gives as -1 (set at run time, e.g. Keras's batch) in an input
# of the main or a signature's subgraph, where its default `shape` has 1: the symbol
# DYNAMIC, whose size the model states as 1 (Model.sizes: what the interpreter allocates
# unless the input is resized; a user's size binds it). Every other -1 is unknown (None):
# an inner tensor's -1 is some function of the inputs' that the file does not give (its
# `shape` there is a placeholder 1, not the size at run time).
DYNAMIC = "dynamic"
MAX_METADATA_TEXT = 4096
MAX_QUANT_VALUES = 1 << 20

OPERATORS = """
ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE
DEQUANTIZE EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION
L2_POOL_2D LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D
MUL RELU RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF
TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD
UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE
MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE
BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE
BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2
GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE
TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT
REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK
REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE
RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE
CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG
QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4
NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL
PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG
REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE
REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE
BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU
DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX
UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR
RIGHT_SHIFT STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY
STABLEHLO_MAXIMUM STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE
STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION STABLEHLO_SLICE
STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS STABLEHLO_AND STABLEHLO_COSINE
STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM
STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT
STABLEHLO_SELECT STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER
STABLEHLO_COMPARE STABLEHLO_CONVERT STABLEHLO_DYNAMIC_SLICE
STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA STABLEHLO_DOT_GENERAL
STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER
STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW
STABLEHLO_COMPOSITE STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE
""".split()
CUSTOM = 32

# TensorType -> dtype names of the graph document ("resource"/"variant": TF handles).
TENSOR_TYPES = ["float32", "float16", "int32", "uint8", "int64", "string", "bool", "int16",
                "complex64", "int8", "float64", "complex128", "uint64", "resource", "variant",
                "uint32", "uint16", "int4", "bfloat16", "int2", "uint4", "float8e4m3fn",
                "float8e5m2"]

# Enums used by options: name -> (storage type, value names by code).
ENUMS = {
    "Padding": ("byte", ["SAME", "VALID"]),
    "Activation": ("byte", ["NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT"]),
    "TensorType": ("byte", TENSOR_TYPES),
    "LSHProjectionType": ("byte", ["UNKNOWN", "SPARSE", "DENSE"]),
    "WeightsFormat": ("byte", ["DEFAULT", "SHUFFLED4x16INT8"]),
    "LSTMKernelType": ("byte", ["FULL", "BASIC"]),
    "CombinerType": ("byte", ["SUM", "MEAN", "SQRTN"]),
    "MirrorPadMode": ("byte", ["REFLECT", "SYMMETRIC"]),
    "ReduceWindowFunction": ("int", ["UNSUPPORTED", "ADD", "MUL", "MINIMUM", "MAXIMUM",
                                     "ALL", "ANY"]),
    "RngAlgorithm": ("byte", ["DEFAULT", "PHILOX", "THREEFRY"]),
    "PrecisionConfig": ("uint", ["DEFAULT", "HIGH", "HIGHEST"]),
    "ComparisonDirection": ("uint", ["EQ", "NE", "GE", "GT", "LE", "LT"]),
    "ComparisonType": ("uint", ["NOTYPE", "FLOAT", "FLOAT_TOTAL_ORDER", "SIGNED",
                                "UNSIGNED"]),
    "CustomOptionsFormat": ("byte", ["FLEXBUFFERS"]),
}

# The BuiltinOptions union in order (type code = position + 1): table name, then its
# fields in id order as name:type[=default]; "-" holds the id of a deprecated field.
BUILTIN_OPTIONS = """
Conv2DOptions padding:Padding stride_w:int stride_h:int fused_activation_function:Activation dilation_w_factor:int=1 dilation_h_factor:int=1 quantized_bias_type:TensorType
DepthwiseConv2DOptions padding:Padding stride_w:int stride_h:int depth_multiplier:int fused_activation_function:Activation dilation_w_factor:int=1 dilation_h_factor:int=1
ConcatEmbeddingsOptions num_channels:int num_columns_per_channel:[int] embedding_dim_per_channel:[int]
LSHProjectionOptions type:LSHProjectionType
Pool2DOptions padding:Padding stride_w:int stride_h:int filter_width:int filter_height:int fused_activation_function:Activation
SVDFOptions rank:int fused_activation_function:Activation asymmetric_quantize_inputs:bool
RNNOptions fused_activation_function:Activation asymmetric_quantize_inputs:bool
FullyConnectedOptions fused_activation_function:Activation weights_format:WeightsFormat keep_num_dims:bool asymmetric_quantize_inputs:bool quantized_bias_type:TensorType quant_spec:[ubyte]
SoftmaxOptions beta:float
ConcatenationOptions axis:int fused_activation_function:Activation
AddOptions fused_activation_function:Activation pot_scale_int16:bool=1
L2NormOptions fused_activation_function:Activation
LocalResponseNormalizationOptions radius:int bias:float alpha:float beta:float
LSTMOptions fused_activation_function:Activation cell_clip:float proj_clip:float kernel_type:LSTMKernelType asymmetric_quantize_inputs:bool
ResizeBilinearOptions - - align_corners:bool half_pixel_centers:bool
CallOptions subgraph:uint
ReshapeOptions new_shape:[int]
SkipGramOptions ngram_size:int max_skip_size:int include_all_ngrams:bool
SpaceToDepthOptions block_size:int
EmbeddingLookupSparseOptions combiner:CombinerType
MulOptions fused_activation_function:Activation
PadOptions
GatherOptions axis:int batch_dims:int
BatchToSpaceNDOptions
SpaceToBatchNDOptions
TransposeOptions
ReducerOptions keep_dims:bool
SubOptions fused_activation_function:Activation pot_scale_int16:bool=1
DivOptions fused_activation_function:Activation
SqueezeOptions squeeze_dims:[int]
SequenceRNNOptions time_major:bool fused_activation_function:Activation asymmetric_quantize_inputs:bool
StridedSliceOptions begin_mask:int end_mask:int ellipsis_mask:int new_axis_mask:int shrink_axis_mask:int offset:bool
ExpOptions
TopKV2Options
SplitOptions num_splits:int
LogSoftmaxOptions
CastOptions in_data_type:TensorType out_data_type:TensorType
DequantizeOptions
MaximumMinimumOptions
ArgMaxOptions output_type:TensorType
LessOptions
NegOptions
PadV2Options
GreaterOptions
GreaterEqualOptions
LessEqualOptions
SelectOptions
SliceOptions
TransposeConvOptions padding:Padding stride_w:int stride_h:int fused_activation_function:Activation quantized_bias_type:TensorType
SparseToDenseOptions validate_indices:bool
TileOptions
ExpandDimsOptions
EqualOptions
NotEqualOptions
ShapeOptions out_type:TensorType
PowOptions
ArgMinOptions output_type:TensorType
FakeQuantOptions min:float max:float num_bits:int narrow_range:bool
PackOptions values_count:int axis:int
LogicalOrOptions
OneHotOptions axis:int
LogicalAndOptions
LogicalNotOptions
UnpackOptions num:int axis:int
FloorDivOptions
SquareOptions
ZerosLikeOptions
FillOptions
BidirectionalSequenceLSTMOptions fused_activation_function:Activation cell_clip:float proj_clip:float merge_outputs:bool time_major:bool=1 asymmetric_quantize_inputs:bool
BidirectionalSequenceRNNOptions time_major:bool fused_activation_function:Activation merge_outputs:bool asymmetric_quantize_inputs:bool
UnidirectionalSequenceLSTMOptions fused_activation_function:Activation cell_clip:float proj_clip:float time_major:bool asymmetric_quantize_inputs:bool diagonal_recurrent_tensors:bool
FloorModOptions
RangeOptions
ResizeNearestNeighborOptions align_corners:bool half_pixel_centers:bool
LeakyReluOptions alpha:float
SquaredDifferenceOptions
MirrorPadOptions mode:MirrorPadMode
AbsOptions
SplitVOptions num_splits:int
UniqueOptions idx_out_type:TensorType=2
ReverseV2Options
AddNOptions
GatherNdOptions
CosOptions
WhereOptions
RankOptions
ReverseSequenceOptions seq_dim:int batch_dim:int
MatrixDiagOptions
QuantizeOptions
MatrixSetDiagOptions
HardSwishOptions
IfOptions then_subgraph_index:int else_subgraph_index:int
WhileOptions cond_subgraph_index:int body_subgraph_index:int
DepthToSpaceOptions block_size:int
NonMaxSuppressionV4Options
NonMaxSuppressionV5Options
ScatterNdOptions
SelectV2Options
DensifyOptions
SegmentSumOptions
BatchMatMulOptions adj_x:bool adj_y:bool asymmetric_quantize_inputs:bool
CumsumOptions exclusive:bool reverse:bool
CallOnceOptions init_subgraph_index:int
BroadcastToOptions
Rfft2dOptions
Conv3DOptions padding:Padding stride_d:int stride_w:int stride_h:int fused_activation_function:Activation dilation_d_factor:int=1 dilation_w_factor:int=1 dilation_h_factor:int=1
HashtableOptions table_id:int key_dtype:TensorType value_dtype:TensorType
HashtableFindOptions
HashtableImportOptions
HashtableSizeOptions
VarHandleOptions container:string shared_name:string
ReadVariableOptions
AssignVariableOptions
RandomOptions seed:long seed2:long
BucketizeOptions boundaries:[float]
GeluOptions approximate:bool
DynamicUpdateSliceOptions
UnsortedSegmentProdOptions
UnsortedSegmentMaxOptions
UnsortedSegmentMinOptions
UnsortedSegmentSumOptions
ATan2Options
SignOptions
BitcastOptions
BitwiseXorOptions
RightShiftOptions
"""

# The BuiltinOptions2 union (StableHLO and later ops), same notation.
BUILTIN_OPTIONS_2 = """
StablehloConcatenateOptions dimension:long
StablehloBroadcastInDimOptions broadcast_dimensions:[long]
StablehloSliceOptions start_indices:[long] limit_indices:[long] strides:[long]
StablehloConvolutionOptions window_strides:[long] padding:[long] lhs_dilation:[long] rhs_dilation:[long] window_reversal:[bool] input_batch_dimension:long input_feature_dimension:long input_spatial_dimensions:[long] kernel_input_feature_dimension:long kernel_output_feature_dimension:long kernel_spatial_dimensions:[long] output_batch_dimension:long output_feature_dimension:long output_spatial_dimensions:[long] feature_group_count:long batch_group_count:long precision_config:[PrecisionConfig]
StablehloCustomCallOptions call_target_name:string has_side_effect:bool backend_config:string api_version:int called_computations:[int] custom_attributes:[ubyte]
StablehloReduceOptions dimensions:[long] body_subgraph_index:int
StablehloScatterOptions indices_are_sorted:bool update_window_dims:[long] inserted_window_dims:[long] scatter_dims_to_operand_dims:[long] index_vector_dim:long unique_indices:bool update_computation_subgraph_index:int
StablehloCompareOptions comparison_direction:ComparisonDirection compare_type:ComparisonType
StablehloDynamicSliceOptions slice_sizes:[long]
StablehloPadOptions edge_padding_low:[long] edge_padding_high:[long] interior_padding:[long]
StablehloIotaOptions iota_dimension:long
StablehloDotGeneralOptions lhs_batching_dimensions:[long] rhs_batching_dimensions:[long] lhs_contracting_dimensions:[long] rhs_contracting_dimensions:[long] precision_config:[PrecisionConfig]
StablehloReduceWindowOptions window_dimensions:[long] window_strides:[long] base_dilations:[long] window_dilations:[long] padding:[long] body_subgraph_index:int
StablehloSortOptions dimension:long is_stable:bool comparator_subgraph_index:int
StablehloWhileOptions cond_subgraph_index:int body_subgraph_index:int
StablehloGatherOptions offset_dims:[long] collapsed_slice_dims:[long] start_index_map:[long] index_vector_dim:long slice_sizes:[long] indices_are_sorted:bool
StablehloTransposeOptions permutation:[long]
DilateOptions
StablehloRngBitGeneratorOptions algorithm:RngAlgorithm
ReduceWindowOptions reduce_function:ReduceWindowFunction
StableHLOCompositeOptions name:string decomposition_subgraph_index:int composite_attributes:[ubyte] composite_attributes_format:CustomOptionsFormat version:int
StablehloShiftLeftOptions
StablehloCaseOptions branch_subgraph_indices:[int]
"""
# Fields that name subgraphs: they become "graph"/"graphs" attributes.
_SUBGRAPH_FIELDS = {"subgraph", "then_subgraph_index", "else_subgraph_index",
                    "cond_subgraph_index", "body_subgraph_index", "init_subgraph_index",
                    "comparator_subgraph_index", "update_computation_subgraph_index",
                    "decomposition_subgraph_index", "called_computations",
                    "branch_subgraph_indices"}


def _options_table(spec):
    """[(table name, [(field id, name, type, default)])] from the notation above."""
    tables = []
    for line in spec.strip().splitlines():
        name, *fields = line.split()
        parsed = []
        for i, f in enumerate(fields):
            if f == "-":
                continue
            fname, _, ftype = f.partition(":")
            ftype, _, default = ftype.partition("=")
            parsed.append((i, fname, ftype, int(default) if default else 0))
        tables.append((name, parsed))
    return tables


OPTIONS = _options_table(BUILTIN_OPTIONS)
OPTIONS_2 = _options_table(BUILTIN_OPTIONS_2)

# Quantization details union (QuantizationParameters.details).
_QUANT_DETAILS = {1: "CustomQuantization", 2: "BlockwiseQuantization",
                  3: "MultiAxisQuantization"}
_MODEL_TYPES = ["NONE", "TF_SAVED_MODEL", "KERAS_MODEL", "TF_CONCRETE_FUNCTIONS",
                "TF_GRAPH_DEF", "TF_SESSION", "JAX", "PYTORCH"]
_OPTIMIZATION_MODES = {1001: "PTQ_FLOAT16", 1002: "PTQ_DYNAMIC_RANGE",
                       1003: "PTQ_FULL_INTEGER", 1004: "PTQ_INT16",
                       2000: "QUANTIZATION_AWARE_TRAINING", 3001: "RANDOM_SPARSITY",
                       3002: "BLOCK_SPARSITY", 3003: "STRUCTURED_SPARSITY"}


def match(head, name=""):
    if head[4:8] == IDENTIFIER:
        return 1.0
    # FlatBuffers may be written without their identifier: the extension alone.
    return 0.3 if name.lower().endswith(EXTENSIONS) and len(head) >= 8 else 0.0


def parse(source, companions=None):
    r = Reader(source, FORMAT)
    if source.size < 8:
        raise r.error(f"only {source.size} bytes: too short for a TensorFlow Lite model")
    ident = r.identifier()
    if ident != IDENTIFIER:
        # Without the identifier the root must still be a plausible Model table.
        try:
            r.root().tables(2)
        except ModelError:
            raise r.error(f"not a TensorFlow Lite model: no 'TFL3' identifier (bytes 4-8 are "
                          f"{ident!r}) and no readable model table") from None
    return _Parser(r, companions).model()


class _Parser:
    def __init__(self, r, companions):
        self.r = r
        self.companions = companions
        self.m = Model(r.source.name, r.size, FORMAT)
        self.decode = raw_decoder(r.source, FORMAT)
        self.tensor_names = []   # per subgraph: value name of each tensor index
        self.calls = []          # (Attribute, subgraph indices, caller Graph, node index)
        self.defaults = {}       # (graph index, name) -> (shape_signature, shape) with -1s

    def model(self):
        r, m = self.r, self.m
        root = r.root()
        version = root.get(0, "uint")
        m.format_version = f"schema v{version}"
        codes = [self.opcode(t) for t in root.tables(1)]
        subgraphs = root.tables(2)
        m.doc = root.string(3)
        self.buffers = root.tables(4)
        if not subgraphs:
            raise r.error("the model has no subgraphs")
        metadata = [(t.string(0), t.get(1, "uint")) for t in root.tables(6)]
        producer = m.doc
        for name, buffer in metadata:
            value = self.metadata_value(name, buffer)
            if name == "CONVERSION_METADATA" and isinstance(value, dict):
                if value.get("tensorflow_version"):
                    producer = f"TensorFlow Lite converter {value['tensorflow_version']}"
                for k, v in value.items():
                    m.metadata.append([f"conversion.{k}", v])
            else:
                m.metadata.append([name, value])
        m.producer = producer
        if m.doc:
            m.metadata.insert(0, ["description", m.doc])
        # Counted from the vectors' lengths before anything is built for them.
        n_ops = sum((t.vector(3, 4) or (0, 0))[1] for t in subgraphs)
        if n_ops > MAX_NODES:
            raise r.error(too_many(n_ops, "operators", MAX_NODES))
        n_tensors = sum((t.vector(0, 4) or (0, 0))[1] for t in subgraphs)
        if n_tensors > MAX_TENSORS:
            raise r.error(too_many(n_tensors, "tensors", MAX_TENSORS))
        graphs = [m.add_graph(Graph()) for _ in subgraphs]
        for i, (g, t) in enumerate(zip(graphs, subgraphs)):
            self.subgraph(i, g, t, codes, graphs)
        self.link_subgraphs(graphs)
        for sig in root.tables(7):
            self.signature(sig, graphs)
        for i, g in enumerate(graphs):
            if i == 0 or any(k == "signature" for k, *_ in g.metadata):
                self.dynamic_inputs(g)
        return m

    # --- operator codes ------------------------------------------------------
    def opcode(self, t):
        deprecated = t.get(0, "byte")
        code = max(deprecated, t.get(3, "int"))
        custom = t.string(1)
        version = t.get(2, "int", 1)
        if code == CUSTOM:
            return (custom or "CUSTOM", CUSTOM_DOMAIN, version, code)
        name = OPERATORS[code] if 0 <= code < len(OPERATORS) else f"BUILTIN_OPERATOR_{code}"
        return (name, DOMAIN, version, code)

    # --- metadata --------------------------------------------------------------
    def buffer_bytes(self, index, limit):
        """Bytes of buffer `index` if it holds at most `limit`, else its size."""
        if not 0 <= index < len(self.buffers):
            return None
        at = self.buffer_span(self.buffers[index])
        if at is None:
            return b""
        if at[1] > limit:
            return at[1]
        return self.r.bytes(at[0], at[1], "metadata buffer")

    def metadata_value(self, name, buffer):
        data = self.buffer_bytes(buffer, 1 << 20)
        if data is None:
            return f"(buffer {buffer} does not exist)"
        if isinstance(data, int):
            return f"{data} bytes"
        if name == "CONVERSION_METADATA":
            try:
                return _conversion_metadata(data)
            except Exception:  # noqa: BLE001 - a damaged side table must not fail the model
                return f"{len(data)} bytes (unreadable conversion metadata)"
        text = data.rstrip(b"\0")
        if len(text) <= MAX_METADATA_TEXT and text.isascii() and \
                all(32 <= c < 127 or c in (9, 10, 13) for c in text):
            return text.decode("ascii")
        return f"{len(data)} bytes"

    # --- subgraphs -------------------------------------------------------------
    def subgraph(self, index, g, t, codes, graphs):
        r = self.r
        g.name = t.string(4) or f"subgraph {index}"
        g.quantization = {}
        tensors = t.tables(0)
        names = []
        seen = set()
        for k, tt in enumerate(tensors):
            name = tt.string(3)
            if not name or name in seen:
                name = f"{name or 'tensor'}#{k}"
            seen.add(name)
            names.append(name)
        self.tensor_names.append(names)
        for k, tt in enumerate(tensors):
            self.tensor(g, tt, names[k])

        def name_of(i):
            if i == -1:
                return ""
            if not 0 <= i < len(names):
                raise r.error(f"subgraph {index} refers to tensor {i}, it has {len(names)}",
                              t.pos)
            return names[i]

        g.inputs = [name_of(i) for i in t.scalars(1, "int")]
        g.outputs = [name_of(i) for i in t.scalars(2, "int")]
        for op in t.tables(3):
            g.nodes.append(self.operator(op, codes, name_of, g, graphs))

    def tensor(self, g, tt, name):
        r = self.r
        dtype_code = tt.get(1, "byte")
        dtype = TENSOR_TYPES[dtype_code] if 0 <= dtype_code < len(TENSOR_TYPES) \
            else f"dtype{dtype_code}"
        shape = tt.scalars(0, "int")
        signature = tt.scalars(7, "int") if tt.has(7) else None
        dims = signature if signature is not None and len(signature) == len(shape) else shape
        g.types[name] = ("tensor", dtype, tuple(None if d < 0 else d for d in dims), "")
        if -1 in dims:
            self.defaults[(g.index, name)] = (dims, shape)
        quant = tt.table(4)
        if quant is not None:
            q = self.quantization(quant)
            if q:
                g.quantization[name] = q
        buffer = tt.get(2, "uint")
        external = tt.get(10, "uint")
        if external:
            w = Tensor(name, dtype, tuple(shape))
            w.location = "external"
            w.error = (f"tensor '{name}': its data is in a LiteRT external buffer "
                       f"({external}); external buffers are not read yet")
            self.add_weight(g, w)
            return
        if buffer == 0 or buffer >= len(self.buffers):
            if buffer >= len(self.buffers):
                raise r.error(f"tensor '{name}' refers to buffer {buffer}, the model has "
                              f"{len(self.buffers)}", tt.pos)
            return
        at = self.buffer_span(self.buffers[buffer])
        if at is None or at[1] == 0:
            return   # a variable or an output: a buffer with no data
        w = Tensor(name, dtype, tuple(shape))
        w.location = "inline"
        w.data = at
        w.ref = (tt.pos, tt.tlen)
        if any(d < 0 for d in shape):
            w.error = f"tensor '{name}' has a constant buffer but shape {shape}"
        elif tt.has(6):
            w.error = (f"tensor '{name}' is stored sparse (TFLite sparsity parameters); "
                       "its values are not decoded")
        elif dtype == "string":
            w.decoder = self.decode_strings
        elif dtype in dtypes.BITS and dtype != "string":
            w.decoder = self.decode
        if name in g.quantization:
            w.doc = "quantization: " + _quant_text(g.quantization[name])
        self.add_weight(g, w)

    def add_weight(self, g, w):
        self.m.add_tensor(w)
        g.initializers.append(w)

    def buffer_span(self, b):
        """(offset, length) of a buffer's bytes in the file, or None."""
        v = b.vector(0, 1)
        if v is not None and v[1]:
            return v
        offset, size = b.get(1, "ulong"), b.get(2, "ulong")
        if offset > 1:   # >2 GB models: data after the FlatBuffer, offset from file start
            if offset + size > self.r.size:
                raise self.r.error(f"buffer data [{offset}, {offset + size}) lies outside the "
                                   f"file ({self.r.size} bytes)", b.pos)
            return (offset, size)
        return v

    def quantization(self, q):
        out = {}
        for key, fid, kind in (("min", 0, "float"), ("max", 1, "float"),
                               ("scale", 2, "float"), ("zero_point", 3, "long")):
            values = q.scalars(fid, kind, MAX_QUANT_VALUES)
            if values:
                out[key] = values
        code, details = q.union(4, 5)
        if code:
            d = {"kind": _QUANT_DETAILS.get(code, f"details{code}")}
            if details is not None and code in (2, 3):
                d["scales"] = details.get(0, "int")
                d["zero_points"] = details.get(1, "int")
                d["block_size"] = details.get(2, "int")
                if code == 3:
                    d["quantized_dimensions"] = details.scalars(3, "int")
            elif details is not None and code == 1:
                v = details.vector(0, 1)
                d["bytes"] = v[1] if v else 0
            out["details"] = d
        if out:
            out["quantized_dimension"] = q.get(6, "int")
        return out

    # --- operators -------------------------------------------------------------
    def operator(self, op, codes, name_of, g, graphs):
        r = self.r
        index = op.get(0, "uint")
        if index >= len(codes):
            raise r.error(f"operator refers to operator code {index}, the model has "
                          f"{len(codes)}", op.pos)
        opname, domain, version, code = codes[index]
        inputs = [name_of(i) for i in op.scalars(1, "int")]
        outputs = [name_of(i) for i in op.scalars(2, "int")]
        first = next((o for o in outputs if o), "")
        n = Node(opname, domain, first.split(";")[0], inputs, outputs)
        if version != 1:
            n.metadata.append(["version", str(version)])
        node_index = len(g.nodes)
        for union_type, union_value, tables in ((3, 4, OPTIONS), (13, 14, OPTIONS_2)):
            kind, table = op.union(union_type, union_value)
            if kind and table is not None and kind <= len(tables):
                n.attributes.extend(self.options(table, tables[kind - 1][1], g, graphs,
                                                 node_index))
        custom = op.vector(5, 1)
        size = custom[1] if custom else 0
        if not size and op.get(10, "ulong") > 1:
            size = op.get(11, "ulong")
        if size:
            n.attributes.append(Attribute("custom_options", "string",
                                          f"{size} bytes (flexbuffers)"))
        intermediates = op.scalars(8, "int")
        if intermediates:
            n.attributes.append(Attribute("intermediates", "strings",
                                          [name_of(i) for i in intermediates]))
        return n

    def options(self, t, fields, g, graphs, node_index):
        attrs = []
        for fid, name, ftype, default in fields:
            if name in _SUBGRAPH_FIELDS:
                indices = t.scalars(fid, "int") if ftype == "[int]" \
                    else [t.get(fid, ftype, default)]
                a = Attribute(name, "ints" if ftype == "[int]" else "int",
                              indices if ftype == "[int]" else indices[0])
                if all(0 <= i < len(graphs) for i in indices):
                    self.calls.append((a, indices, g, node_index))
                attrs.append(a)
            elif ftype in ENUMS:
                storage, names = ENUMS[ftype]
                v = t.get(fid, storage, default)
                attrs.append(Attribute(name, "string", names[v] if 0 <= v < len(names)
                                       else str(v)))
            elif ftype == "bool":
                attrs.append(Attribute(name, "string",
                                       "true" if t.get(fid, "bool", bool(default)) else "false"))
            elif ftype == "float":
                attrs.append(Attribute(name, "float", t.get(fid, "float", float(default))))
            elif ftype == "string":
                attrs.append(Attribute(name, "string", t.string(fid)))
            elif ftype == "[ubyte]":
                v = t.vector(fid, 1)
                attrs.append(Attribute(name, "string", f"{v[1] if v else 0} bytes"))
            elif ftype == "[bool]":
                attrs.append(Attribute(name, "strings", ["true" if x else "false"
                                                         for x in t.scalars(fid, "bool")]))
            elif ftype == "[float]":
                attrs.append(Attribute(name, "floats", t.scalars(fid, "float")))
            elif ftype.startswith("[") and ftype[1:-1] in ENUMS:
                storage, names = ENUMS[ftype[1:-1]]
                attrs.append(Attribute(name, "strings", [names[v] if 0 <= v < len(names)
                                                         else str(v)
                                                         for v in t.scalars(fid, storage)]))
            elif ftype.startswith("["):
                attrs.append(Attribute(name, "ints", t.scalars(fid, ftype[1:-1])))
            else:
                attrs.append(Attribute(name, "int", t.get(fid, ftype, default)))
        return attrs

    def link_subgraphs(self, graphs):
        """A subgraph called from exactly one attribute of a graph before it nests under
        that node (a "graph" attribute, like an ONNX Loop body); every other subgraph
        (shared, recursive, or a signature's entry point) is a function, and attributes
        name it."""
        callers = {}
        for a, indices, g, node in self.calls:
            for i in indices:
                callers.setdefault(i, []).append((a, g))
        nested = set()
        for a, indices, g, node in self.calls:
            if len(set(indices)) == len(indices) and all(
                    len(callers[i]) == 1 and i > g.index for i in indices):
                refs = [graphs[i] for i in indices]
                for ref in refs:
                    ref.parent = (g, node, a.name)
                    nested.add(ref.index)
                a.type, a.value = ("graphs", refs) if a.type == "ints" else ("graph", refs[0])
        names = set()
        for g in graphs[1:]:
            if g.index in nested:
                continue
            if g.name in names:
                g.name = f"{g.name}#{g.index}"
            names.add(g.name)
            self.m.functions.append(Function(g.name, "", "", list(g.inputs), list(g.outputs),
                                             [], g, []))
        for a, indices, g, node in self.calls:
            if a.type in ("int", "ints"):
                values = [graphs[i].name for i in indices]
                a.type, a.value = ("strings", values) if a.type == "ints" else \
                    ("string", values[0])

    def dynamic_inputs(self, g):
        """An entry graph's inputs: a -1 whose default is 1 becomes DYNAMIC (above)."""
        for name in g.inputs:
            dims, shape = self.defaults.get((g.index, name), (None, None))
            if dims is None or name not in g.types:
                continue
            t = g.types[name]
            g.types[name] = (t[0], t[1], tuple(
                DYNAMIC if d == -1 and s == 1 else x for d, s, x in zip(dims, shape, t[2])), t[3])
            if DYNAMIC in g.types[name][2]:
                self.m.sizes[DYNAMIC] = 1

    # --- signatures ------------------------------------------------------------
    def signature(self, sig, graphs):
        key = sig.string(2)
        index = sig.get(4, "uint")
        if index >= len(graphs):
            self.m.warnings.append(f"signature '{key}' refers to subgraph {index}, "
                                   f"the model has {len(graphs)}")
            return
        g = graphs[index]
        tensor_names = self.tensor_names[index]
        g.metadata.append(["signature", key])
        for field, label in ((0, "input"), (1, "output")):
            for tm in sig.tables(field):
                i = tm.get(1, "uint")
                target = tensor_names[i] if i < len(tensor_names) else f"tensor {i}"
                g.metadata.append([f"signature.{label}.{tm.string(0)}", target])

    # --- values on request -----------------------------------------------------
    def decode_strings(self, t, n):
        """TFLite string buffers: int32 count, count+1 int32 offsets, then the bytes."""
        offset, length = t.data
        r = self.r
        if length < 4:
            raise r.error(f"string tensor '{t.name}' has {length} bytes of data", offset)
        count = struct.unpack("<i", r.bytes(offset, 4))[0]
        n = min(n, max(0, count))
        if count < 0 or 4 + 4 * (count + 1) > length:
            raise r.error(f"string tensor '{t.name}': bad string count {count}", offset)
        ends = struct.unpack(f"<{n + 1}i", r.bytes(offset + 4, 4 * (n + 1)))
        if n == 0:
            return []
        lo, hi = ends[0], ends[n]
        if not 0 <= lo <= hi <= length or any(a > b for a, b in zip(ends, ends[1:])):
            raise r.error(f"string tensor '{t.name}': string offsets outside its data", offset)
        blob = r.bytes(offset + lo, hi - lo)
        return [blob[a - lo:b - lo].decode("utf-8", "replace") for a, b in zip(ends, ends[1:])]


def _quant_text(q):
    parts = []
    for key in ("scale", "zero_point", "min", "max"):
        if key in q:
            v = q[key]
            parts.append(f"{key}={v[0]:g}" if len(v) == 1 else f"{key}=[{len(v)} values]")
    if "scale" in q and len(q["scale"]) > 1:
        parts.append(f"quantized_dimension={q['quantized_dimension']}")
    if "details" in q:
        parts.append(q["details"]["kind"])
    return ", ".join(parts)


def _conversion_metadata(data):
    """The converter's CONVERSION_METADATA buffer: a small FlatBuffer of its own
    (tensorflow/lite/experimental/acceleration/.../conversion_metadata.fbs)."""
    r = Reader(BytesSource(data, "CONVERSION_METADATA"), FORMAT)
    root = r.root()
    out = {}
    env = root.table(0)
    if env is not None:
        out["tensorflow_version"] = env.string(0)
        out["api_version"] = str(env.get(1, "uint"))
        mt = env.get(2, "int")
        out["model_type"] = _MODEL_TYPES[mt] if 0 <= mt < len(_MODEL_TYPES) else str(mt)
    opts = root.table(1)
    if opts is not None:
        modes = [_OPTIMIZATION_MODES.get(x, str(x)) for x in opts.scalars(0, "int", 64)]
        if modes:
            out["optimization_modes"] = ", ".join(modes)
        for fid, key in ((1, "allow_custom_ops"), (2, "enable_select_tf_ops"),
                         (3, "force_select_tf_ops")):
            if opts.get(fid, "bool"):
                out[key] = "true"
    return out
