"""Writes Wetron's op metadata from the frameworks' own op definitions.

    python tools/gen_op_metadata.py          (re)write every domain whose framework imports
    python tools/gen_op_metadata.py --check  exit 1 if a committed file differs

Run at development time (onnx, onnxruntime, tensorflow, ai_edge_litert, keras and torch
of requirements-test.txt; paddle in its own venv: <paddle venv python>
tools/gen_op_metadata.py paddle, tests/formats_paddle_models.py); the output is committed.
A generator whose framework is missing is skipped (with --check too). Two files per domain:

  py/wetron/ops/metadata/<domain>.json  compact, loaded by wetron.ops.metadata: per op its
      display name, category and per since-version the input and output slot names
  opdocs/<domain>.json                  the documentation (description, typed inputs and
      outputs, attributes with defaults), fetched by the page only when the reader opens
      an op's "Operator" section (app/sidebar.js); never in the wheel or the snapshot

Sources: ONNX from onnx.defs (every schema with its history; ai.onnx, ai.onnx.ml,
ai.onnx.preview*), com.microsoft(.nchwc) from onnxruntime's contrib schemas; TFLite from
the LiteRT schema's BuiltinOperator enum; Keras from the classes of keras.layers; TF from
TensorFlow's op registry (OpDef: input_arg / output_arg / attr) and tf.raw_ops docstrings;
PaddlePaddle from its OpProto registry and op_compat mapping (gen_paddle); Darknet,
which lists its layers nowhere machine-readably, from a table here (DARKNET_LAYERS);
ncnn from formats/ncnn_schema.py (generated from ncnn's sources by tools/gen_ncnn_schema.py:
the layer registry, each layer's ParamDict ids, names and defaults) with each layer's
weights (formats/ncnn.py, from the layers' load_model) as its input slots; pnnx from torch
(nn modules with their constructor arguments, nn.functional) for the torch names pnnx
writes.
ATen and prims (torch.export's ops) from torch's operator schemas (those of its
dispatcher: name, overloads, typed arguments with defaults, returns) and torch's
docstrings; torch.nn from torch.nn.modules' classes (constructor arguments, docstrings);
"wetron", the module kinds Wetron guesses for weights-only files, from WETRON_KINDS.
Caffe's layer types from caffe.proto (tools/schemas/caffe.proto: LayerParameter's
*_param messages, V1LayerParameter's LayerType enum named as formats/caffe.py names it),
their parameters' fields with defaults and the .proto's comments.
MXNet's operators from its registry through its C API (MXListAllOpNames,
MXSymbolGetAtomicSymbolInfo: arguments with type info, defaults, descriptions), run in
the tests' MXNet venv (tests/formats_mxnet_models.py's pins: `--child mxnet OUT`).
OpenVINO's op types per operation set from the wheel's opsetN_tbl.hpp, each op version
(NodeFactory: the version id an IR layer names) with the slot names and arguments of the
Python API's function that makes it (openvino.opsetN), by the names the IR serializer
writes (ReLU, SoftMax, Const), in the tests' OpenVINO venv (`--child openvino OUT`).
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

ATEN_CATEGORY = table(   # ATen ops (torch.export); prims:: ops share their names
    conv="conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d convolution "
         "_convolution _convolution_mode convolution_overrideable conv_tbc conv_depthwise3d "
         "_conv_depthwise2d cudnn_convolution cudnn_convolution_transpose cudnn_convolution_relu "
         "cudnn_convolution_add_relu miopen_convolution miopen_convolution_transpose "
         "miopen_depthwise_convolution miopen_convolution_relu miopen_convolution_add_relu "
         "mkldnn_convolution slow_conv3d slow_conv3d_forward slow_conv_dilated2d "
         "slow_conv_dilated3d slow_conv_transpose2d slow_conv_transpose3d thnn_conv2d "
         "_slow_conv2d_forward _nnpack_spatial_convolution _mps_convolution "
         "_mps_convolution_transpose",
    matmul="linear matmul mm bmm addmm addmv addr addbmm baddbmm mv dot vdot inner outer ger "
           "einsum tensordot chain_matmul linalg_matmul linalg_multi_dot linalg_vecdot bilinear "
           "_trilinear kron scaled_dot_product_attention _scaled_dot_product_attention_math "
           "_scaled_dot_product_attention_math_for_mps _scaled_dot_product_flash_attention "
           "_scaled_dot_product_flash_attention_for_cpu _scaled_dot_product_efficient_attention "
           "_scaled_dot_product_cudnn_attention _scaled_dot_product_fused_attention_overrideable "
           "_flash_attention_forward _efficient_attention_forward _cudnn_attention_forward "
           "_native_multi_head_attention _transformer_encoder_layer_fwd _addmm_activation "
           "_int_mm _scaled_mm _scaled_mm_v2 _grouped_mm _scaled_grouped_mm _scaled_grouped_mm_v2 "
           "_weight_int4pack_mm _weight_int4pack_mm_for_cpu _weight_int4pack_mm_with_scales_and_zeros "
           "_weight_int8pack_mm _mixed_dtypes_linear _dyn_quant_matmul_4bit mkldnn_linear "
           "fbgemm_linear_fp16_weight fbgemm_linear_fp16_weight_fp32_activation "
           "fbgemm_linear_int8_weight fbgemm_linear_int8_weight_fp32_activation "
           "_wrapped_quantized_linear_prepacked smm hspmm sspaddmm _sparse_mm _sparse_addmm "
           "_sparse_semi_structured_linear _sparse_semi_structured_mm "
           "_sparse_semi_structured_addmm _cslt_sparse_mm",
    activation="relu relu6 gelu silu sigmoid tanh softmax log_softmax _softmax _log_softmax "
               "_safe_softmax _masked_softmax hardtanh hardsigmoid hardswish hardshrink "
               "softshrink leaky_relu elu selu celu mish softplus prelu _prelu_kernel rrelu "
               "rrelu_with_noise rrelu_with_noise_functional glu threshold log_sigmoid "
               "log_sigmoid_forward logit special_expit special_softmax special_log_softmax "
               "_add_relu",
    normalization="batch_norm native_batch_norm _native_batch_norm_legit "
                  "_native_batch_norm_legit_no_training _native_batch_norm_legit_functional "
                  "_batch_norm_impl_index _batch_norm_no_update _batch_norm_with_update "
                  "_batch_norm_with_update_functional cudnn_batch_norm miopen_batch_norm "
                  "batch_norm_elemt batch_norm_stats batch_norm_update_stats "
                  "batch_norm_gather_stats batch_norm_gather_stats_with_counts layer_norm "
                  "native_layer_norm group_norm native_group_norm instance_norm rms_norm "
                  "_fused_rms_norm quantized_batch_norm dropout native_dropout alpha_dropout "
                  "feature_alpha_dropout feature_dropout _fused_dropout _weight_norm "
                  "_weight_norm_interface renorm",
    pooling="avg_pool1d avg_pool2d avg_pool3d max_pool1d max_pool2d max_pool3d "
            "max_pool1d_with_indices max_pool2d_with_indices max_pool3d_with_indices "
            "adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d _adaptive_avg_pool2d "
            "_adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d "
            "fractional_max_pool2d fractional_max_pool3d max_unpool2d max_unpool3d "
            "mkldnn_max_pool2d mkldnn_max_pool3d mkldnn_adaptive_avg_pool2d "
            "quantized_max_pool1d quantized_max_pool2d quantized_max_pool3d",
    shape="view reshape _unsafe_view _reshape_alias _reshape_copy _reshape_from_tensor view_as "
          "reshape_as permute transpose t swapaxes swapdims movedim moveaxis unsqueeze squeeze "
          "flatten unflatten expand expand_as broadcast_to broadcast_tensors contiguous "
          "as_strided alias detach numpy_T mT mH adjoint matrix_H ravel view_as_real "
          "view_as_complex atleast_1d atleast_2d atleast_3d pixel_shuffle pixel_unshuffle "
          "channel_shuffle native_channel_shuffle unfold size sym_size sym_numel sym_stride "
          "sym_storage_offset numel dim stride _shape_as_tensor broadcast_in_dim collapse "
          "collapse_view split_dim view_of view_of_dtype",
    data="cat concat concatenate stack hstack vstack dstack column_stack row_stack _stack split "
         "split_with_sizes unsafe_split unsafe_split_with_sizes tensor_split chunk unsafe_chunk "
         "unbind hsplit vsplit dsplit slice select narrow index index_select gather scatter "
         "scatter_add scatter_reduce index_put _index_put_impl index_add index_copy index_fill "
         "index_reduce masked_fill masked_scatter masked_select take take_along_dim "
         "_unsafe_index _unsafe_index_put _unsafe_masked_index "
         "_unsafe_masked_index_put_accumulate slice_scatter select_scatter diagonal_scatter "
         "as_strided_scatter embedding embedding_bag _embedding_bag _embedding_bag_forward_only "
         "embedding_renorm pad constant_pad_nd reflection_pad1d reflection_pad2d "
         "reflection_pad3d replication_pad1d replication_pad2d replication_pad3d _pad_circular "
         "_pad_enum upsample_nearest1d upsample_nearest2d upsample_nearest3d upsample_bilinear2d "
         "upsample_bicubic2d upsample_linear1d upsample_trilinear3d _upsample_nearest_exact1d "
         "_upsample_nearest_exact2d _upsample_nearest_exact3d _upsample_bilinear2d_aa "
         "_upsample_bicubic2d_aa grid_sampler grid_sampler_2d grid_sampler_3d affine_grid_generator col2im im2col "
         "clone _to_copy to type_as copy _copy_from flip fliplr flipud roll rot90 repeat "
         "repeat_interleave tile tril triu diag diag_embed diagonal diagflat one_hot topk sort "
         "argsort msort unique_consecutive unique_dim _unique _unique2 nonzero nonzero_static "
         "argwhere searchsorted bucketize dequantize quantize_per_tensor quantize_per_channel "
         "quantize_per_tensor_dynamic fake_quantize_per_tensor_affine "
         "fake_quantize_per_channel_affine convert_element_type rev lift_fresh",
    elementwise="add sub rsub mul div true_divide floor_divide remainder fmod pow float_power "
                "sqrt rsqrt square exp exp2 expm1 log log2 log10 log1p abs absolute neg "
                "negative reciprocal sign sgn floor ceil round trunc frac fix clamp clamp_min "
                "clamp_max clip erf erfc erfinv sin cos tan asin acos atan atan2 arcsin arccos "
                "arctan arctan2 sinh cosh asinh acosh atanh arcsinh arccosh arctanh eq ne lt le "
                "gt ge greater greater_equal less less_equal not_equal logical_and logical_or "
                "logical_not logical_xor bitwise_and bitwise_or bitwise_xor bitwise_not "
                "bitwise_left_shift bitwise_right_shift where maximum minimum fmax fmin hypot "
                "lerp addcmul addcdiv sum mean prod amax amin max min aminmax _aminmax argmax "
                "argmin std var std_mean var_mean norm linalg_vector_norm linalg_norm "
                "linalg_matrix_norm frobenius_norm nuclear_norm logsumexp cumsum cumprod cummax "
                "cummin logcumsumexp all any nansum nanmean median nanmedian mode count_nonzero "
                "isnan isinf isfinite isneginf isposinf nan_to_num xlogy special_xlogy copysign "
                "heaviside logaddexp logaddexp2 digamma lgamma polygamma mvlgamma i0 sinc "
                "deg2rad rad2deg gcd lcm ldexp cosine_similarity pairwise_distance cdist dist "
                "signbit nextafter",
    constant="arange range linspace logspace zeros ones full empty empty_like zeros_like "
             "ones_like full_like empty_strided empty_permuted new_zeros new_ones new_full "
             "new_empty new_empty_strided eye rand randn randint rand_like randn_like "
             "randint_like randperm normal uniform bernoulli multinomial scalar_tensor zero fill tril_indices triu_indices hann_window hamming_window "
             "blackman_window bartlett_window kaiser_window _efficientzerotensor iota "
             "lift_fresh_copy",
)

TORCH_NN_CATEGORY = table(   # torch.nn's module classes (TorchScript, pickled modules, guesses)
    conv="Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d LazyConv1d "
         "LazyConv2d LazyConv3d LazyConvTranspose1d LazyConvTranspose2d LazyConvTranspose3d",
    matmul="Linear LazyLinear Bilinear NonDynamicallyQuantizableLinear MultiheadAttention",
    activation="ReLU ReLU6 LeakyReLU PReLU RReLU ELU SELU CELU GELU SiLU Mish Sigmoid Tanh "
               "Hardtanh Hardsigmoid Hardswish Hardshrink Softshrink Tanhshrink Softplus "
               "Softsign Softmax Softmax2d LogSoftmax Softmin LogSigmoid GLU Threshold",
    normalization="BatchNorm1d BatchNorm2d BatchNorm3d LazyBatchNorm1d LazyBatchNorm2d "
                  "LazyBatchNorm3d SyncBatchNorm InstanceNorm1d InstanceNorm2d InstanceNorm3d "
                  "LazyInstanceNorm1d LazyInstanceNorm2d LazyInstanceNorm3d LayerNorm GroupNorm "
                  "LocalResponseNorm CrossMapLRN2d RMSNorm Dropout Dropout1d Dropout2d Dropout3d "
                  "AlphaDropout FeatureAlphaDropout",
    pooling="AvgPool1d AvgPool2d AvgPool3d MaxPool1d MaxPool2d MaxPool3d AdaptiveAvgPool1d "
            "AdaptiveAvgPool2d AdaptiveAvgPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d "
            "AdaptiveMaxPool3d FractionalMaxPool2d FractionalMaxPool3d LPPool1d LPPool2d "
            "LPPool3d MaxUnpool1d MaxUnpool2d MaxUnpool3d",
    shape="Flatten Unflatten PixelShuffle PixelUnshuffle ChannelShuffle",
    data="Embedding EmbeddingBag Upsample UpsamplingNearest2d UpsamplingBilinear2d ZeroPad1d "
         "ZeroPad2d ZeroPad3d ConstantPad1d ConstantPad2d ConstantPad3d ReflectionPad1d "
         "ReflectionPad2d ReflectionPad3d ReplicationPad1d ReplicationPad2d ReplicationPad3d "
         "CircularPad1d CircularPad2d CircularPad3d Fold Unfold Identity",
    elementwise="CosineSimilarity PairwiseDistance",
    control="RNN LSTM GRU RNNCell LSTMCell GRUCell RNNBase RNNCellBase",
)

# Wetron's own names for modules of weights-only files that no one torch.nn class fits
# (wetron.weights.guess_op: a BatchNorm's rank is not in its weights). Domain "wetron".
WETRON_KINDS = {
    "BatchNorm": ("normalization", "A module holding running_mean / running_var: one of "
                  "torch.nn's BatchNorm1d, BatchNorm2d, BatchNorm3d, SyncBatchNorm (or an "
                  "InstanceNorm tracking its statistics); which one, its weights do not say."),
    "Norm": ("normalization", "A module with a rank-1 weight and bias whose name does not "
             "say which normalisation it is (LayerNorm, GroupNorm, a norm's affine part)."),
    "Scale": ("elementwise", "A module with a rank-1 weight and no bias: a per-channel "
              "scale (RMSNorm's weight, a layer scale)."),
    "Parameter": ("constant", "A tensor at the top level of the file, in no module."),
    "Constant": ("constant", "A TorchScript archive's constants (constants.pkl)."),
}

CAFFE_CATEGORY = table(
    conv="Convolution Deconvolution",
    matmul="InnerProduct Embed",
    activation="ReLU PReLU ELU Sigmoid TanH AbsVal BNLL Threshold Clip Swish Softmax",
    normalization="BatchNorm LRN MVN Dropout",
    pooling="Pooling SPP",
    shape="Reshape Flatten",
    data="Concat Slice Split Crop Tile Silence Im2col BatchReindex Filter",
    elementwise="Scale Bias Eltwise Power Exp Log Reduction ArgMax",
    control="LSTM RNN LSTMUnit",
    constant="Parameter",
    io="Input Data ImageData HDF5Data MemoryData DummyData WindowData HDF5Output",
)

MXNET_CATEGORY = table(
    conv="Convolution Convolution_v1 Deconvolution _npx_convolution _npx_deconvolution "
         "_contrib_DeformableConvolution _contrib_ModulatedDeformableConvolution "
         "_sg_mkldnn_conv",
    matmul="FullyConnected _npx_fully_connected dot batch_dot linalg_gemm linalg_gemm2 "
           "_np_dot _npi_matmul _npi_einsum khatri_rao _sg_mkldnn_fully_connected "
           "_contrib_interleaved_matmul_selfatt_qk "
           "_contrib_interleaved_matmul_selfatt_valatt _contrib_interleaved_matmul_encdec_qk "
           "_contrib_interleaved_matmul_encdec_valatt",
    activation="Activation LeakyReLU relu sigmoid tanh softmax log_softmax softmin softsign "
               "hard_sigmoid SoftmaxOutput SoftmaxActivation Softmax _npx_relu _npx_sigmoid "
               "_npx_activation _npx_leaky_relu _npx_softmax _npx_log_softmax",
    normalization="BatchNorm BatchNorm_v1 _npx_batch_norm InstanceNorm LayerNorm _npx_layer_norm "
                  "GroupNorm L2Normalization LRN Dropout _npx_dropout _contrib_SyncBatchNorm",
    pooling="Pooling Pooling_v1 _npx_pooling ROIPooling _contrib_ROIAlign "
            "_contrib_AdaptiveAvgPooling2D",
    shape="Flatten flatten Reshape reshape reshape_like transpose expand_dims squeeze SwapAxis "
          "swapaxes shape_array size_array depth_to_space space_to_depth _np_reshape "
          "_npx_reshape _np_transpose _np_squeeze _npi_expand_dims broadcast_to broadcast_like "
          "broadcast_axis broadcast_axes",
    data="Concat concat stack SliceChannel split slice slice_axis slice_like take batch_take "
         "pick gather_nd scatter_nd one_hot Embedding _npx_embedding tile repeat Pad pad Crop "
         "crop Cast cast amp_cast amp_multicast UpSampling _contrib_BilinearResize2D "
         "BilinearSampler GridGenerator SequenceMask SequenceLast SequenceReverse reverse flip "
         "topk sort argsort where identity _copy BlockGrad stop_gradient _npi_concatenate "
         "_npi_stack _npi_split _npi_where _npx_slice _npi_take _contrib_quantize "
         "_contrib_dequantize _contrib_quantize_v2",
    elementwise="elemwise_add elemwise_sub elemwise_mul elemwise_div broadcast_add "
                "broadcast_plus broadcast_sub broadcast_minus broadcast_mul broadcast_div "
                "broadcast_mod broadcast_power broadcast_maximum broadcast_minimum "
                "broadcast_hypot broadcast_equal broadcast_not_equal broadcast_greater "
                "broadcast_greater_equal broadcast_lesser broadcast_lesser_equal "
                "broadcast_logical_and broadcast_logical_or broadcast_logical_xor add_n "
                "ElementWiseSum _Plus _Minus _Mul _Div _plus _minus _mul _div _plus_scalar "
                "_minus_scalar _rminus_scalar _mul_scalar _div_scalar _rdiv_scalar _power "
                "_power_scalar _rpower_scalar _maximum _minimum _maximum_scalar "
                "_minimum_scalar _equal _not_equal _greater _greater_equal _lesser "
                "_lesser_equal abs sign round rint ceil floor trunc fix square sqrt rsqrt cbrt "
                "rcbrt exp expm1 log log10 log2 log1p sin cos tan arcsin arccos arctan sinh "
                "cosh arcsinh arccosh arctanh degrees radians reciprocal negative erf erfinv "
                "gamma gammaln clip logical_not sum mean prod max min nansum nanprod norm "
                "argmax argmin argmax_channel sum_axis max_axis min_axis moments cumsum "
                "_npi_add _npi_subtract _npi_multiply _npi_true_divide _npi_add_scalar "
                "_npi_subtract_scalar _npi_multiply_scalar _npi_true_divide_scalar _npi_power "
                "_npi_power_scalar _npi_mean _np_sum _npi_sqrt _npi_exp _npi_log _npi_tanh",
    control="RNN _foreach _while_loop _cond Custom",
    constant="zeros_like ones_like _zeros _ones _full _arange _linspace _eye random_uniform "
             "random_normal uniform normal _random_uniform _random_normal _npi_zeros _npi_ones "
             "_npi_full _npi_arange _npi_uniform _npi_normal",
)

OPENVINO_CATEGORY = table(
    conv="Convolution GroupConvolution ConvolutionBackpropData GroupConvolutionBackpropData "
         "BinaryConvolution DeformableConvolution",
    matmul="MatMul Einsum ScaledDotProductAttention GroupedMatMul",
    activation="ReLU PReLU Sigmoid Tanh Elu Gelu HSwish HSigmoid HardSigmoid Mish SoftPlus "
               "SoftSign Swish Selu Clamp SoftMax LogSoftmax",
    normalization="BatchNormInference MVN NormalizeL2 LRN GRN GroupNormalization",
    pooling="AvgPool MaxPool AdaptiveAvgPool AdaptiveMaxPool ROIPooling ROIAlign "
            "ROIAlignRotated PSROIPooling DeformablePSROIPooling",
    shape="Reshape Transpose Squeeze Unsqueeze ShapeOf Broadcast DepthToSpace SpaceToDepth "
          "BatchToSpace SpaceToBatch ShuffleChannels",
    data="Concat Split VariadicSplit Gather GatherElements GatherND GatherTree ScatterUpdate "
         "ScatterElementsUpdate ScatterNDUpdate StridedSlice Slice SliceScatter Tile Pad "
         "Convert ConvertLike ConvertPromoteTypes Interpolate TopK Reverse ReverseSequence Roll "
         "OneHot NonZero Unique Select FakeQuantize FakeConvert EmbeddingBagOffsetsSum "
         "EmbeddingBagPackedSum EmbeddingBagOffsets EmbeddingBagPacked EmbeddingSegmentsSum "
         "ExtractImagePatches Col2Im GridSample Identity Bucketize SearchSorted",
    elementwise="Add Subtract Multiply Divide Maximum Minimum Power SquaredDifference FloorMod "
                "Mod Equal NotEqual Less LessEqual Greater GreaterEqual LogicalAnd LogicalOr "
                "LogicalXor LogicalNot Abs Ceiling Floor Negative Sqrt Exp Log Sin Cos Tan Sinh "
                "Cosh Asin Acos Atan Asinh Acosh Atanh Erf ErfInv Sign Round IsFinite IsInf "
                "IsNaN BitwiseAnd BitwiseOr BitwiseXor BitwiseNot BitwiseLeftShift "
                "BitwiseRightShift ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd ReduceL1 "
                "ReduceL2 ReduceLogicalAnd ReduceLogicalOr CumSum SegmentMax",
    control="TensorIterator Loop If LSTMCell LSTMSequence GRUCell GRUSequence RNNCell "
            "RNNSequence",
    constant="Const Range RandomUniform Eye Multinomial",
    io="Parameter Result ReadValue Assign",
)

PADDLE_CATEGORY = table(   # legacy op types; a PIR op pd_op.X takes the category of X
    conv="conv2d depthwise_conv2d conv3d conv2d_transpose depthwise_conv2d_transpose "
         "conv3d_transpose deformable_conv fused_conv2d fused_conv2d_add_act",
    matmul="matmul matmul_v2 mul fc bmm einsum multihead_matmul fused_multi_transformer "
           "fused_attention flash_attn memory_efficient_attention linear",
    activation="relu relu6 leaky_relu prelu sigmoid tanh softmax log_softmax gelu elu selu "
               "celu hard_sigmoid hard_swish hardswish swish silu mish softplus softsign "
               "softshrink hard_shrink tanh_shrink thresholded_relu logsigmoid brelu stanh "
               "maxout",
    normalization="batch_norm sync_batch_norm layer_norm instance_norm group_norm rms_norm "
                  "lrn norm p_norm data_norm dropout affine_channel fused_bn_add_activation",
    pooling="pool2d pool3d max_pool2d_with_index max_pool3d_with_index adaptive_pool2d "
            "roi_pool roi_align psroi_pool unpool lp_pool2d",
    shape="reshape reshape2 transpose transpose2 flatten flatten2 flatten_contiguous_range "
          "squeeze squeeze2 unsqueeze unsqueeze2 shape shape64 size expand expand_v2 "
          "expand_as expand_as_v2 broadcast_to pixel_shuffle pixel_unshuffle space_to_depth "
          "view_shape",
    data="concat split slice strided_slice gather gather_nd scatter scatter_nd_add tile pad "
         "pad2d pad3d cast assign share_data lookup_table lookup_table_v2 embedding one_hot "
         "one_hot_v2 top_k top_k_v2 unique flip roll nearest_interp nearest_interp_v2 "
         "bilinear_interp bilinear_interp_v2 bicubic_interp_v2 linear_interp_v2 "
         "trilinear_interp_v2 unbind unstack stack index_select index_sample "
         "take_along_axis put_along_axis quantize_linear dequantize_linear "
         "fake_quantize_dequantize_moving_average_abs_max fake_channel_wise_quantize_dequantize_abs_max "
         "where_index masked_select tril_triu grid_sampler argsort sort",
    elementwise="elementwise_add elementwise_sub elementwise_mul elementwise_div "
                "elementwise_pow elementwise_max elementwise_min elementwise_mod "
                "elementwise_floordiv add subtract multiply divide sum add_n scale pow sqrt "
                "rsqrt square exp log log1p abs floor ceil round sin cos reciprocal sign "
                "erf clip equal not_equal less_than less_equal greater_than greater_equal "
                "logical_and logical_or logical_not logical_xor where "
                "reduce_mean reduce_sum reduce_max reduce_min reduce_prod reduce_all "
                "reduce_any mean max min maximum minimum arg_max arg_min argmax argmin "
                "cumsum isnan isinf isfinite bitwise_and bitwise_or bitwise_not",
    control="while conditional_block select_input select_output if pylayer recurrent",
    constant="fill_constant full full_int_array full_like full_with_tensor assign_value "
             "uniform_random gaussian_random range arange linspace eye "
             "fill_constant_batch_size_like fill_any_like",
    io="feed fetch data",
)

NCNN_CATEGORY = table(   # ncnn's layer types (src/CMakeLists.txt)
    conv="Convolution ConvolutionDepthWise Convolution1D ConvolutionDepthWise1D Convolution3D "
         "ConvolutionDepthWise3D Deconvolution DeconvolutionDepthWise Deconvolution1D "
         "DeconvolutionDepthWise1D Deconvolution3D DeconvolutionDepthWise3D DeformableConv2D",
    matmul="InnerProduct Gemm MatMul MultiHeadAttention SDPA Einsum",
    activation="ReLU Sigmoid TanH Softmax PReLU ELU SELU CELU GELU HardSigmoid HardSwish "
               "Swish Mish Softplus BNLL Clip Threshold Shrink GLU",
    normalization="BatchNorm LayerNorm InstanceNorm GroupNorm RMSNorm MVN Normalize LRN "
                  "Dropout Scale Bias",
    pooling="Pooling Pooling1D Pooling3D StatisticsPooling ROIPooling PSROIPooling ROIAlign "
            "SPP",
    shape="Reshape Permute Flatten Squeeze ExpandDims PixelShuffle ShuffleChannel Reorg Fold "
          "Unfold Packing",
    data="Concat Slice Split Crop Padding Tile Interp Embed Cast Quantize Dequantize "
         "Requantize CopyTo Flip GridSample DeepCopy Noop",
    elementwise="BinaryOp UnaryOp Eltwise AbsVal Exp Log Power Erf Reduction ArgMax "
                "CumulativeSum Diag RotaryEmbed",
    constant="MemoryData",
    io="Input",
)

PNNX_CATEGORY = table(   # pnnx's own ops and the torch names it writes
    conv="nn.Conv1d nn.Conv2d nn.Conv3d nn.ConvTranspose1d nn.ConvTranspose2d "
         "nn.ConvTranspose3d F.conv1d F.conv2d F.conv3d F.conv_transpose1d F.conv_transpose2d "
         "F.conv_transpose3d",
    matmul="nn.Linear F.linear torch.matmul torch.bmm torch.mm Tensor.matmul torch.einsum "
           "nn.MultiheadAttention F.scaled_dot_product_attention",
    activation="nn.ReLU F.relu nn.ReLU6 F.relu6 nn.LeakyReLU F.leaky_relu nn.Sigmoid "
               "F.sigmoid torch.sigmoid nn.Tanh F.tanh torch.tanh nn.GELU F.gelu nn.SiLU F.silu "
               "nn.Hardswish F.hardswish nn.Hardsigmoid F.hardsigmoid nn.Mish F.mish nn.ELU "
               "F.elu nn.SELU F.selu nn.PReLU F.prelu nn.Softmax F.softmax torch.softmax "
               "nn.LogSoftmax F.log_softmax nn.Softplus F.softplus nn.Hardtanh F.hardtanh",
    normalization="nn.BatchNorm1d nn.BatchNorm2d nn.BatchNorm3d F.batch_norm nn.LayerNorm "
                  "F.layer_norm nn.GroupNorm F.group_norm nn.InstanceNorm1d nn.InstanceNorm2d "
                  "nn.InstanceNorm3d F.instance_norm nn.RMSNorm F.rms_norm nn.Dropout "
                  "F.dropout nn.LocalResponseNorm",
    pooling="nn.MaxPool1d nn.MaxPool2d nn.MaxPool3d nn.AvgPool1d nn.AvgPool2d nn.AvgPool3d "
            "nn.AdaptiveAvgPool1d nn.AdaptiveAvgPool2d nn.AdaptiveAvgPool3d "
            "nn.AdaptiveMaxPool1d nn.AdaptiveMaxPool2d nn.AdaptiveMaxPool3d F.max_pool1d "
            "F.max_pool2d F.max_pool3d F.avg_pool1d F.avg_pool2d F.avg_pool3d "
            "F.adaptive_avg_pool1d F.adaptive_avg_pool2d F.adaptive_avg_pool3d",
    shape="Tensor.reshape Tensor.view Tensor.permute torch.permute torch.transpose "
          "Tensor.transpose torch.flatten Tensor.flatten nn.Flatten torch.squeeze "
          "torch.unsqueeze nn.PixelShuffle F.pixel_shuffle nn.Unflatten Tensor.contiguous",
    data="torch.cat torch.concat torch.stack Tensor.select Tensor.slice torch.chunk "
         "torch.split Tensor.expand Tensor.repeat nn.Embedding F.embedding Tensor.to "
         "F.interpolate nn.Upsample F.pad Tensor.index prim::TupleConstruct",
    elementwise="pnnx.Expression torch.mean torch.sum torch.max torch.min torch.amax "
                "torch.amin torch.abs torch.exp torch.neg torch.clamp",
    constant="pnnx.Attribute",
    io="pnnx.Input pnnx.Output",
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


# --- PyTorch: ATen and prims (torch.export), torch.nn modules ----------------------------

# The operator namespaces of torch's registry whose ops an ExportedProgram's nodes name
# (formats/pytorch.py: "torch.ops.aten.conv2d.default" -> domain "aten").
TORCH_NAMESPACES = ("aten", "prims")
# Argument types a serialized ExportedProgram may pass as a value of the graph (a node
# input) rather than an attribute: tensors always, these when they are symbolic.
_TORCH_SYMBOLIC = {"SymInt", "SymFloat", "SymBool", "Scalar"}


MAX_OVERLOADS = 24   # schemas listed in one op's documentation


def gen_torch():
    import torch
    # the dispatcher's ops (what torch.export can call), not TorchScript's builtins of the
    # same namespace (aten::append.t, aten::len.str ...)
    dispatched = set(torch._C._dispatch_get_all_op_names())
    by_op = {}
    for s in torch._C._jit_get_all_schemas():
        ns, _, name = s.name.partition("::")
        full = s.name + (f".{s.overload_name}" if s.overload_name else "")
        if ns in TORCH_NAMESPACES and full in dispatched:
            by_op.setdefault((ns, name), []).append(s)
    compact = {ns: {} for ns in TORCH_NAMESPACES}
    docs = {ns: {} for ns in TORCH_NAMESPACES}
    _check_table("aten/prims", ATEN_CATEGORY, {name for _, name in by_op})
    for (ns, name), schemas in sorted(by_op.items()):
        functional = [s for s in schemas if not any(a.is_out for a in s.arguments)] or schemas
        primary = next((s for s in functional if s.overload_name in ("", "default")), functional[0])
        # output names where the schema names them, the same in every overload
        returns = _torch_returns(primary)
        same = all(_torch_returns(o) == returns for o in functional)
        outputs = returns if returns and all(r.strip(".") for r in returns) and same else []
        compact[ns][name] = compact_entry(name, name, _torch_category(name), [
            {"since": 1, "inputs": _torch_slots(functional), "outputs": outputs}])
        doc, arg_docs = _torch_doc(torch, name)
        schemas_text = "\n".join(str(s) for s in functional[:MAX_OVERLOADS])
        if len(functional) > MAX_OVERLOADS:
            schemas_text += f"\n… {len(functional) - MAX_OVERLOADS} more overloads"
        description = (clip(doc) + "\n\n" if doc else "") + f"```\n{schemas_text}\n```"
        ins, attrs = [], []
        for a, text in _torch_arguments(primary):
            entry = {"name": a.name, "type": text}
            if arg_docs.get(a.name):
                entry["description"] = clip(arg_docs[a.name])
            if _torch_tensor_kind(text):
                entry["option"] = _torch_tensor_kind(text)
                ins.append(entry)
            else:
                entry["required"] = not a.has_default_value()
                if a.has_default_value() and _json_default(a.default_value) is not None:
                    entry["default"] = _json_default(a.default_value)
                attrs.append(entry)
        outs = [{"name": r.name or ("output" if len(primary.returns) == 1 else f"output{i}"),
                 "type": str(r.type)} for i, r in enumerate(primary.returns)]
        docs[ns][name] = [{"since": 1, "description": description, "inputs": ins,
                           "outputs": outs, "attributes": attrs}]
    compact["torch.nn"], docs["torch.nn"] = _torch_nn(torch)
    return compact, docs, f"torch {torch.__version__.split('+')[0]}"


def _torch_returns(schema):
    """Its returns' names ("" where unnamed); a list of tensors is variadic."""
    return [r.name + ("..." if r.type.kind() == "ListType" else "") for r in schema.returns]


def _torch_arguments(schema):
    """[(Argument, its type as the schema writes it: "Tensor?", "SymInt[2]")]."""
    text = str(schema)
    inner = text[text.index("(") + 1:text.rindex(") ->")] if ") ->" in text else ""
    parts = [p.strip() for p in _split_top(inner) if p.strip() and p.strip() != "*"]
    out = []
    for a, part in zip(schema.arguments, parts):
        decl = part.split("=", 1)[0].rsplit(" ", 1)[0]
        out.append((a, re.sub(r"\([^)]*\)", "", decl)))   # Tensor(a!) -> Tensor
    return out


def _split_top(text):
    """Split at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, c in enumerate(text):
        if quote:
            quote = None if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _torch_tensor_kind(type_text):
    if type_text == "Tensor":
        return "single"
    if type_text == "Tensor?":
        return "optional"
    if type_text in ("Tensor[]", "Tensor?[]"):
        return "variadic"
    return None


def _torch_slots(schemas):
    """The op's input slot names: its tensor arguments in order, as far as a node's inputs
    are sure to line up with them whichever overload it calls. A serialized
    ExportedProgram passes each tensor argument as a node input (a list as several), but
    drops an absent optional one (None), and passes a symbolic SymInt/Scalar argument as
    an input too: past such an argument the positions may shift, so the names stop there
    (the first such one is named only when nothing can follow it)."""
    overloads = []
    for s in schemas:
        items = []   # (name, sure to be present)
        for a, text in _torch_arguments(s):
            kind = _torch_tensor_kind(text)
            if kind is not None:
                items.append((a.name + ("..." if kind == "variadic" else ""), kind != "optional"))
            elif text.rstrip("?") in _TORCH_SYMBOLIC:
                items.append((a.name, False))
        sure = []
        for i, (name, present) in enumerate(items):
            if not present and i < len(items) - 1:
                break
            sure.append(name)
            if not present:
                break
        overloads.append((len(items), sure))
    names = max((sure for _, sure in overloads), key=len, default=[])
    for count, sure in overloads:   # a position another overload may fill otherwise ends the names
        for i in range(min(count, len(names))):
            if i >= len(sure) or sure[i] != names[i]:
                names = names[:i]
                break
    return names


def _torch_category(name):
    """The table's category; an in-place form (relu_) and a copying view form (view_copy)
    take their op's."""
    for candidate in (name, name[:-1] if name.endswith("_") and not name.endswith("__") else None,
                      name[:-5] if name.endswith("_copy") else None):
        if candidate and candidate in ATEN_CATEGORY:
            return ATEN_CATEGORY[candidate]
    return "other"


_REST_ROLE = re.compile(r":(?:class|func|meth|attr|mod|ref|math|obj|data|exc|doc):`~?([^`]*)`")


def rest_text(text):
    """reST roles as code spans (":class:`~torch.nn.Conv2d`" -> "`torch.nn.Conv2d`")."""
    return _REST_ROLE.sub(lambda m: "`" + re.sub(r"\s*<[^>]*>", "", m.group(1)) + "`", text)


_TORCH_SECTIONS = re.compile(r"\n\s*(?:Args|Arguments|Keyword args|Keyword arguments|"
                             r"Parameters|Shape|Attributes|Returns?|Example|Examples|Note|"
                             r"Warning)s?:{1,2}\s*\n")


def _torch_doc(torch, name):
    """(description, {argument: text}) from torch's docstring of the op: torch.<op>,
    torch.nn.functional.<op>, the Tensor method, or torch.special/linalg/fft.<op>."""
    import torch.nn.functional as F
    candidates = [getattr(torch, name, None), getattr(F, name, None),
                  getattr(torch.Tensor, name, None)]
    for prefix, module in (("special_", torch.special), ("linalg_", torch.linalg),
                           ("fft_", torch.fft)):
        if name.startswith(prefix):
            candidates.insert(0, getattr(module, name[len(prefix):], None))
    for c in candidates:
        if c is None or inspect.isclass(c) or not callable(c):
            continue
        doc = c.__doc__
        if doc and doc.strip() and not doc.lstrip().startswith(("Call self as", "Initialize self")):
            doc = inspect.cleandoc(doc)
            intro = _TORCH_SECTIONS.split("\n" + doc, maxsplit=1)[0].strip()
            return rest_text(intro), {k: rest_text(v) for k, v in _google_args(doc).items()}
    return "", {}


def _google_args(doc):
    """{name: text} of a Google-style "Args:" section (torch's and keras's docstrings)."""
    m = re.search(r"\n(?:Args|Arguments|Parameters):\n(.*?)(?:\n\S|\Z)", "\n" + doc, re.S)
    out, current = {}, None
    for line in (m.group(1).splitlines() if m else []):
        head = re.match(r"^\s{2,8}\*{0,2}(\w+)\*{0,2}(?:\s*\([^)]*\))?:\s*(.*)$", line)
        if head:
            current = head.group(1)
            out[current] = head.group(2).strip()
        elif current and line.strip():
            out[current] = (out[current] + " " + line.strip()).strip()
    return out


def _torch_nn(torch):
    """torch.nn's module classes: torch.nn.modules.__all__, and the public Module classes
    of its submodules (NonDynamicallyQuantizableLinear, MultiheadAttention's projection)."""
    import importlib
    import pkgutil
    import torch.nn.modules as modules
    classes = {n: getattr(modules, n) for n in modules.__all__}
    for info in pkgutil.iter_modules(modules.__path__):
        sub = importlib.import_module(f"torch.nn.modules.{info.name}")
        for n, c in vars(sub).items():
            if not n.startswith("_") and inspect.isclass(c) and c.__module__ == sub.__name__:
                classes.setdefault(n, c)
    classes = {n: c for n, c in classes.items()
               if inspect.isclass(c) and issubclass(c, torch.nn.Module)}
    _check_table("torch.nn", TORCH_NN_CATEGORY, classes)
    compact, docs = {}, {}
    for name, cls in sorted(classes.items()):
        doc = inspect.getdoc(cls) or ""
        arg_docs = _google_args(doc)
        attrs = []
        for p in _parameters(cls.__init__):
            entry = {"name": p.name, "required": p.default is p.empty}
            if p.default is not p.empty and _json_default(p.default) is not None:
                entry["default"] = _json_default(p.default)
            if arg_docs.get(p.name):
                entry["description"] = clip(rest_text(arg_docs[p.name]))
            attrs.append(entry)
        ins = [{"name": p.name} for p in _parameters(cls.forward)] \
            if cls.forward is not torch.nn.Module.forward else []
        # Slot names stay empty: a module's node holds its weights, not forward()'s inputs.
        compact[name] = compact_entry(name, name, TORCH_NN_CATEGORY.get(name, "other"),
                                      [{"since": 1, "inputs": [], "outputs": []}])
        intro = _TORCH_SECTIONS.split("\n" + doc, maxsplit=1)[0].strip()
        docs[name] = [{"since": 1, "description": clip(rest_text(intro)), "inputs": ins,
                       "outputs": [], "attributes": attrs}]
    return compact, docs


def _parameters(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p for p in params
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _check_table(what, categories, ops):
    """A category table names only ops the framework defines (a typo would colour nothing)."""
    unknown = sorted(set(categories) - set(ops))
    if unknown:
        raise SystemExit(f"{what}: the category table names ops the framework does not "
                         f"define: {' '.join(unknown)}")


def gen_wetron():
    """Wetron's own module kinds (WETRON_KINDS): no framework defines them."""
    compact = {op: compact_entry(op, op, cat, [{"since": 1, "inputs": [], "outputs": []}])
               for op, (cat, _) in WETRON_KINDS.items()}
    docs = {op: [{"since": 1, "description": text, "inputs": [], "outputs": [], "attributes": []}]
            for op, (_, text) in WETRON_KINDS.items()}
    return {"wetron": compact}, {"wetron": docs}, "Wetron (module kinds guessed from weights)"


# --- Caffe ---------------------------------------------------------------------------------

CAFFE_PROTO = os.path.join(ROOT, "tools", "schemas", "caffe.proto")
# LayerParameter's parameter messages that no layer type is named after.
CAFFE_SHARED_PARAMS = {"TransformationParameter", "LossParameter", "RecurrentParameter"}
# What caffe.proto does not say (BVLC Caffe's src/caffe/layers/*.cpp): the parameter
# fields a layer type reads beyond the message named after it, and the registered types
# (REGISTER_LAYER_CLASS) that neither a message nor the V1 LayerType enum names.
CAFFE_MORE_PARAMS = {
    "Deconvolution": ["convolution_param"], "Im2col": ["convolution_param"],
    "LSTM": ["recurrent_param"], "RNN": ["recurrent_param"],
    "SoftmaxWithLoss": ["softmax_param", "loss_param"],
    "SigmoidCrossEntropyLoss": ["loss_param"],
    "Data": ["transform_param"], "ImageData": ["transform_param"],
    "WindowData": ["transform_param"], "MemoryData": ["transform_param"],
    "LSTMUnit": [], "BatchReindex": [], "Filter": [],
}


def gen_caffe():
    sys.path.insert(0, os.path.join(ROOT, "py"))
    from wetron.formats import caffe, caffe_schema
    with open(CAFFE_PROTO, encoding="utf-8") as f:
        comments = proto_comments(f.read())
    messages = caffe_schema.MESSAGES
    params = {}    # layer type -> [parameter field of LayerParameter]
    origin = {}    # layer type -> how caffe.proto names it
    fields = {spec[0]: spec[1] for spec in messages["LayerParameter"].values()}
    for field, kind in fields.items():
        if field.endswith("_param") and isinstance(kind, tuple) and kind[0] == "message" \
                and kind[1].endswith("Parameter") and kind[1] not in CAFFE_SHARED_PARAMS:
            op = kind[1][:-len("Parameter")]
            params[op] = [field]
            origin[op] = f"LayerParameter.{field} ({kind[1]})"
    for value in caffe_schema.ENUMS["V1LayerParameter.LayerType"].values():
        op = caffe.V1_TYPES.get(value)
        if op:
            params.setdefault(op, [])
            origin[op] = (origin[op] + "; " if op in origin else "") + f"V1 LayerType {value}"
    for op, more in CAFFE_MORE_PARAMS.items():
        params.setdefault(op, [])
        params[op] += [f for f in more if f not in params[op]]
        assert all(f in fields for f in more), op
    _check_table("caffe", CAFFE_CATEGORY, params)
    compact, docs = {}, {}
    for op in sorted(params):
        compact[op] = compact_entry(op, op, CAFFE_CATEGORY.get(op, "other"),
                                    [{"since": 1, "inputs": [], "outputs": []}])
        own = f"{op}Parameter"
        text = comments.get(own, "")
        own_field = next((f for f in params[op] if fields[f][1] == own), None)
        note = f"Named in caffe.proto by {origin[op]}." if op in origin else \
            "A layer type of BVLC Caffe (REGISTER_LAYER_CLASS) with no message of its own."
        attrs = []
        for field in params[op]:
            message = fields[field][1]
            for name, kind, repeated, _, default in messages[message].values():
                entry = {"name": name, "type": kind[1] if isinstance(kind, tuple) else kind}
                if repeated:
                    entry["type"] = f"repeated {entry['type']}"
                if default is not None:
                    entry["default"] = default
                if comments.get(f"{message}.{name}"):
                    entry["description"] = clip(comments[f"{message}.{name}"])
                if field != own_field:   # another type's or a shared message
                    entry["description"] = (f"({field}) " + entry.get("description", "")).strip()
                attrs.append(entry)
        ins = [{"name": "bottom", "option": "variadic", "description": "the blobs it reads"}]
        ins += [{"name": b, "description": f"learned blob {i} (blobs[{i}])"}
                for i, b in enumerate(caffe.BLOB_SLOTS.get(op, ()))]
        docs[op] = [{"since": 1, "description": clip("\n\n".join(filter(None, [text, note]))),
                     "inputs": ins, "outputs": [{"name": "top", "option": "variadic"}],
                     "attributes": attrs}]
    return {"caffe": compact}, {"caffe": docs}, "BVLC Caffe caffe.proto"


def proto_comments(text):
    """{"Message": text, "Message.field": text} from a .proto's // comments: the lines
    right above a message or field, and the one after a field on its line."""
    out, scope, pending = {}, [], []
    for line in text.splitlines():
        code, _, comment = line.partition("//")
        code = code.strip()
        if not code:   # a comment line joins the next declaration's text; a blank one ends it
            if line.strip().startswith("//"):
                pending.append(comment.strip())
            else:
                pending = []
            continue
        m = re.match(r"(message|enum)\s+(\w+)\s*\{", code)
        if m:
            scope.append(m.group(2))
            if m.group(1) == "message" and pending:
                out[".".join(scope)] = " ".join(pending)
        else:
            f = re.match(r"(?:optional|repeated|required)\s+[\w.]+\s+(\w+)\s*=", code)
            if f and scope:
                text_ = " ".join(pending + ([comment.strip()] if comment.strip() else []))
                if text_:
                    out[".".join(scope + [f.group(1)])] = text_
            for _ in range(code.count("}")):
                if scope:
                    scope.pop()
        pending = []
    return out


# --- frameworks in venvs of their own ---------------------------------------------------

TESTS = os.path.join(ROOT, "tests")


def tests_module(name):
    """A module of tests/ (framework_venvs, the pins of the tests' model builders)."""
    import importlib
    if TESTS not in sys.path:
        sys.path.insert(0, TESTS)
    return importlib.import_module(name)


def venv_facts(framework, venv, pins):
    """What the child (`--child FRAMEWORK OUT`) writes, run in the framework's venv
    (tests/framework_venvs.py: the same venv and pins as the tests' models); ImportError
    when that venv cannot be had (the generator is then skipped)."""
    import tempfile
    framework_venvs = tests_module("framework_venvs")
    try:
        python = framework_venvs.venv_python(venv, pins)
    except framework_venvs.VenvUnavailable as e:
        raise ImportError(str(e).splitlines()[0]) from None
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "facts.json")
        framework_venvs.run_child(python, os.path.abspath(__file__), ["--child", framework, out])
        with open(out, encoding="utf-8") as f:
            return json.load(f)


# --- MXNet -------------------------------------------------------------------------------

MXNET_TENSORS = {"NDArray-or-Symbol": "single", "NDArray": "single", "Symbol": "single",
                 "NDArray-or-Symbol[]": "variadic", "Symbol[]": "variadic",
                 "Symbol or Symbol[]": "variadic"}
# An input MXNet's own description calls conditional ("Only required when
# use_data_lengths is true", RNN's state_cell "only for LSTM"): absent, the inputs after
# it move up a place, so the slot names stop before it.
_MXNET_CONDITIONAL = re.compile(r"\bonly (?:for|required|used)\b", re.I)


def child_mxnet(out):
    """MXNet's operator registry through its C API: every registered name
    (MXListAllOpNames) with MXSymbolGetAtomicSymbolInfo's real name, description and
    arguments (name, type info, description)."""
    import ctypes
    import mxnet as mx
    from mxnet.base import _LIB, c_str, check_call, mx_uint, py_str
    names_p, count = ctypes.POINTER(ctypes.c_char_p)(), mx_uint()
    check_call(_LIB.MXListAllOpNames(ctypes.byref(count), ctypes.byref(names_p)))
    ops = {}
    for name in sorted(py_str(names_p[i]) for i in range(count.value)):
        handle = mx.base.OpHandle()
        check_call(_LIB.NNGetOpHandle(c_str(name), ctypes.byref(handle)))
        real, desc, key_var, ret = (ctypes.c_char_p() for _ in range(4))
        n = mx_uint()
        arg_names, arg_types, arg_descs = (ctypes.POINTER(ctypes.c_char_p)() for _ in range(3))
        check_call(_LIB.MXSymbolGetAtomicSymbolInfo(
            handle, ctypes.byref(real), ctypes.byref(desc), ctypes.byref(n),
            ctypes.byref(arg_names), ctypes.byref(arg_types), ctypes.byref(arg_descs),
            ctypes.byref(key_var), ctypes.byref(ret)))
        text = lambda p: py_str(p.value) if p.value else ""   # noqa: E731
        ops[name] = {"name": text(real), "description": text(desc),
                     "args": [[py_str(arg_names[i]), py_str(arg_types[i]), py_str(arg_descs[i])]
                              for i in range(n.value)],
                     "key_var_num_args": text(key_var)}
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"version": mx.__version__, "ops": ops}, f)


def gen_mxnet():
    models = tests_module("formats_mxnet_models")
    facts = venv_facts("mxnet", models.VENV_NAME, models.VENV_PINS)
    # gradients are never in a saved symbol
    ops = {n: op for n, op in facts["ops"].items() if not n.startswith("_backward")}
    _check_table("mxnet", MXNET_CATEGORY, ops)
    compact, docs = {}, {}
    for name, op in sorted(ops.items()):
        ins, attrs, slots, cut = [], [], [], False
        for arg, type_info, desc in op["args"]:
            kind, required, default = _mxnet_type(type_info)
            entry = {"name": arg, "type": kind}
            if desc:
                entry["description"] = clip(rest_text(desc))
            option = MXNET_TENSORS.get(kind)
            if option:
                entry["option"] = option
                ins.append(entry)
                cut = cut or bool(_MXNET_CONDITIONAL.search(desc))
                if not cut:
                    slots.append(arg + ("..." if option == "variadic" else ""))
                continue
            entry["required"] = required
            if default is not None:
                entry["default"] = default
            attrs.append(entry)
        if cut and len(slots) == len(ins):   # the conditional input is the last: nothing moves
            slots.append(ins[-1]["name"] + ("..." if ins[-1]["option"] == "variadic" else ""))
        compact[name] = compact_entry(name, name, MXNET_CATEGORY.get(name, "other"),
                                      [{"since": 1, "inputs": slots, "outputs": []}])
        text = rest_text(op["description"])
        if op["name"] != name:
            text = f"Registered as an alias of `{op['name']}`.\n\n{text}"
        docs[name] = [{"since": 1, "description": clip(text), "inputs": ins, "outputs": [],
                       "attributes": attrs}]
    return {"mxnet": compact}, {"mxnet": docs}, f"mxnet {facts['version']}"


def _mxnet_type(info):
    """MXNet's type info ("int, optional, default='1'", "{'relu', 'tanh'}, required") ->
    (type, required, default as a number, bool or text, or None)."""
    m = re.search(r",\s*(required|optional)(?:\s*,\s*default=(.*))?\s*$", info, re.S)
    kind = (info[:m.start()] if m else info).strip()
    required = bool(m and m.group(1) == "required")
    default = m.group(2) if m else None
    if default is None:
        return kind, required, None
    default = default.strip()
    if len(default) >= 2 and default[0] == default[-1] and default[0] in "'\"":
        default = default[1:-1]
    base = kind.split(" ")[0]
    try:
        if base == "boolean" and default in ("0", "1", "True", "False", "true", "false"):
            return kind, required, default in ("1", "True", "true")
        if base in ("int", "long"):
            return kind, required, int(default)
        if base in ("float", "double"):
            return kind, required, float(f"{float(default):.7g}")
    except ValueError:
        pass
    return kind, required, default


# --- OpenVINO ----------------------------------------------------------------------------

def child_openvino(out):
    """OpenVINO's operation sets: the op types of each opsetN (the wheel's
    include/openvino/opsets/opsetN_tbl.hpp) with the version each is in that set
    (NodeFactory("opsetN"): the type info's version_id, what an IR layer's `version`
    says); per op version the Python API's function that makes it (openvino.opsetN:
    arguments, annotations, defaults, docstring); and the type names the IR serializer
    writes where they differ from the op's (a model of such ops, saved and read back)."""
    import glob
    import importlib
    import tempfile
    import numpy as np
    import openvino as ov
    from openvino import _pyopenvino
    root = os.path.dirname(os.path.abspath(ov.__file__))
    opsets = {}
    for path in glob.glob(os.path.join(root, "include", "openvino", "opsets", "opset*_tbl.hpp")):
        with open(path, encoding="utf-8") as f:
            opsets[int(re.search(r"opset(\d+)_tbl", path).group(1))] = \
                re.findall(r"^_OPENVINO_OP_REG\((\w+),\s*[\w:]+\)", f.read(), re.M)

    def version_id(opset, type_name):
        try:
            node = _pyopenvino.NodeFactory(f"opset{opset}").create(type_name)
            return node.get_type_info().version_id
        except Exception:   # not made by the factory (Constant): the set's number stands
            return None
    types = {}
    for n in sorted(opsets):
        for t in opsets[n]:
            types.setdefault(t, []).append([n, version_id(n, t)])
    functions = {}
    for n in sorted(opsets):
        try:
            module = importlib.import_module(f"openvino.opset{n}")
        except ImportError:
            continue
        for name in sorted(dir(module)):
            fn = getattr(module, name)
            if name.startswith("_") or not inspect.isfunction(fn):
                continue
            try:
                made = set(re.findall(r'_get_node_factory_opset(\d+)\(\)\.create\(\s*"(\w+)"',
                                      inspect.getsource(fn)))
            except OSError:
                continue
            if len(made) != 1:
                continue
            (k, type_name), = made
            key = f"{type_name}:{version_id(int(k), type_name)}"
            if key in functions:
                continue
            params = []
            for p in inspect.signature(fn).parameters.values():
                params.append([p.name, "" if p.annotation is p.empty else str(p.annotation),
                               p.default is not p.empty,
                               p.default if isinstance(p.default, (bool, int, float, str))
                               and p.default is not p.empty else None])
            functions[key] = {"function": f"openvino.opset{n}.{name}", "params": params,
                              "doc": inspect.getdoc(fn) or ""}
    # the ops OpenVINO's serializer renames (src/core/src/pass/serialize.cpp), saved
    o = ov.opset13
    x = o.parameter([1, 3, 4, 4], ov.Type.f32)
    slope = o.constant(np.ones([3, 1, 1], np.float32))
    relu = o.relu(x)
    prelu = o.prelu(relu, slope)
    softmax1 = ov.opset1.softmax(prelu, 1)
    softmax8 = ov.opset8.softmax(softmax1, 1)
    made = [x, slope, relu, prelu, softmax1, softmax8]
    for i, node in enumerate(made):
        node.set_friendly_name(f"n{i}")
    model = ov.Model([softmax8], [x])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.xml")
        ov.save_model(model, path, compress_to_fp16=False)
        with open(path, encoding="utf-8") as f:
            layers = dict(re.findall(r'<layer id="\d+" name="(n\d+)" type="(\w+)"', f.read()))
    ir_names = {}
    for i, node in enumerate(made):
        t = node.get_type_info().name
        if layers.get(f"n{i}", t) != t:
            ir_names[t] = layers[f"n{i}"]
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"version": ov.__version__.split("-")[0], "types": types,
                   "functions": functions, "ir_names": ir_names}, f)


def gen_openvino():
    models = tests_module("formats_openvino_models")
    facts = venv_facts("openvino", f"openvino-{models.VERSION}", models.PINS)
    ir_names = facts["ir_names"]
    _check_table("openvino", OPENVINO_CATEGORY, {ir_names.get(t, t) for t in facts["types"]})
    compact, docs = {}, {}
    for type_name, listed in sorted(facts["types"].items()):
        op = ir_names.get(type_name, type_name)
        first = {}   # version id -> the first opset listing it
        for n, vid in listed:
            first.setdefault(vid, n)
        by_since = {}   # a version id "opsetN" is the op's version since opset N
        for vid, n in first.items():
            m = re.fullmatch(r"opset(\d+)", vid or "")
            by_since[int(m.group(1)) if m else n] = vid
        versions, entries = [], []
        for since, vid in sorted(by_since.items()):
            fn = facts["functions"].get(f"{type_name}:{vid}")
            ins, attrs, param_docs = [], [], _sphinx_params(fn["doc"]) if fn else {}
            for name, annotation, has_default, default in (fn["params"] if fn else []):
                if name == "name":
                    continue   # every function's: the new node's friendly name
                entry = {"name": name, "type": _ov_type(annotation)}
                if param_docs.get(name):
                    entry["description"] = clip(param_docs[name])
                if "Node" in annotation:
                    entry["option"] = "variadic" if annotation.startswith("list[") else \
                        "optional" if has_default else "single"
                    ins.append(entry)
                else:
                    entry["required"] = not has_default
                    if default is not None:
                        entry["default"] = default
                    attrs.append(entry)
            slots = [p["name"] + ("..." if p["option"] == "variadic" else "") for p in ins]
            versions.append({"since": since, "inputs": slots, "outputs": []})
            what = f"OpenVINO's {type_name}" \
                + (f" (written {op} in an IR)" if op != type_name else "") \
                + f", the version of opset{since}"
            if fn:
                what += f"; made by `{fn['function']}`."
                intro = re.split(r"\n\s*:(?:param|return|rtype)", "\n" + fn["doc"], maxsplit=1)[0]
                description = f"{intro.strip()}\n\n{what}"
            else:
                description = what + "."
            entries.append({"since": since, "description": clip(description), "inputs": ins,
                            "outputs": [], "attributes": attrs})
        compact[op] = compact_entry(op, op, OPENVINO_CATEGORY.get(op, "other"), versions)
        docs[op] = entries
    return {"openvino": compact}, {"openvino": docs}, f"openvino {facts['version']}"


def _sphinx_params(doc):
    """{name: text} of a docstring's ":param name: text" lines (OpenVINO's)."""
    out, current = {}, None
    for line in doc.splitlines():
        m = re.match(r"\s*:param\s+(\w+):\s*(.*)$", line)
        if m:
            current = m.group(1)
            out[current] = m.group(2).strip()
        elif re.match(r"\s*:", line):
            current = None
        elif current and line.strip():
            out[current] += " " + line.strip()
    return out


def _ov_type(annotation):
    """A Python API annotation as its docs write it: NodeInput for a node's input."""
    if "Node" in annotation:
        return "list[NodeInput]" if annotation.startswith("list[") else "NodeInput"
    return re.sub(r"\b(?:typing|openvino\._pyopenvino|openvino)\.", "", annotation) \
        .replace("<class '", "").replace("'>", "")


# --- PaddlePaddle ----------------------------------------------------------------------

# PIR ops whose operands are not what the op_compat mapping lists (a legacy-only Bias;
# ops PIR added), as Operation.get_input_names() gives them for the ops of Paddle-written
# programs (tests/test_format_paddle.py checks every op of its models).
PADDLE_PIR_SLOTS = {
    "conv2d_transpose": ("x filter output_size", "out"),
    "depthwise_conv2d_transpose": ("x filter output_size", "out"),
    "shape64": ("input", "out"),
}

PADDLE_ATTR_TYPES = {0: "int", 1: "float", 2: "string", 3: "ints", 4: "floats", 5: "strings",
                     6: "boolean", 7: "booleans", 8: "block", 9: "long", 10: "blocks",
                     11: "longs", 12: "float64s", 13: "var", 14: "vars", 15: "float64",
                     16: "scalar", 17: "scalars"}


def gen_paddle():
    """Legacy ops from Paddle's OpProto registry (core.get_all_op_protos: slots in
    definition order, duplicable ones variadic, attributes with their comments and
    core.get_op_attrs_default_value's defaults); PIR ops (pd_op.<name>) are the op
    builders of core.pir.ops, their slots from Paddle's op_compat mapping
    (paddle.incubate.autograd.phi_ops_map: the legacy op each one translates, its
    inputs in the PIR op's order, then the IntArray / Scalar arguments a tensor may
    give, which PIR makes operands), variadic where the legacy slot is duplicable;
    PADDLE_PIR_SLOTS where that mapping is not the PIR op's."""
    import paddle
    from paddle.base import core
    from paddle.base.proto import framework_pb2
    from paddle.incubate.autograd.phi_ops_map import op_map
    compact, docs = {}, {}
    protos = {}
    for raw in core.get_all_op_protos():
        p = framework_pb2.OpProto.FromString(raw)
        protos[p.type] = p
    for op in sorted(protos):
        p = protos[op]
        try:
            defaults = core.get_op_attrs_default_value(op.encode())
        except Exception:   # an op whose checker cannot give defaults
            defaults = {}
        slot = lambda v: v.name + ("..." if v.duplicable else "")   # noqa: E731
        ins = [{"name": v.name, "option": "variadic" if v.duplicable else
                "optional" if v.dispensable else "single", "description": clip(v.comment)}
               for v in p.inputs]
        outs = [{"name": v.name, "option": "variadic" if v.duplicable else
                 "optional" if v.dispensable else "single", "description": clip(v.comment)}
                for v in p.outputs]
        attrs = []
        for a in p.attrs:
            entry = {"name": a.name, "type": PADDLE_ATTR_TYPES.get(a.type, str(a.type)),
                     "description": clip(a.comment)}
            d = _json_default(defaults.get(a.name)) if a.name in defaults else None
            if d is not None and d != "None":
                entry["default"] = d
            if a.extra:
                entry["extra"] = True
            attrs.append(entry)
        compact[op] = compact_entry(op, op, PADDLE_CATEGORY.get(op, "other"),
                                    [{"since": 1, "inputs": [slot(v) for v in p.inputs],
                                      "outputs": [slot(v) for v in p.outputs]}])
        docs[op] = [{"since": 1, "description": clip(p.comment), "inputs": ins,
                     "outputs": outs, "attributes": attrs}]
    by_phi = {}
    for legacy, entry in sorted(op_map.items()):
        by_phi.setdefault(entry["phi_name"], (legacy, entry))
    for name in sorted(dir(core.pir.ops)):
        if name.startswith("_") or name.endswith(("_grad", "_grad_")):
            continue
        base = name[:-1] if name.endswith("_") and name[:-1] in by_phi else name
        legacy, entry = by_phi.get(base, (None, None))
        op = f"pd_op.{name}"
        category = PADDLE_CATEGORY.get(base) or PADDLE_CATEGORY.get(legacy or "", "other")
        ins, outs, attrs = [], [], []
        if entry is not None:
            lp = protos.get(legacy)
            dup_in = {v.name for v in lp.inputs if v.duplicable} if lp else set()
            dup_out = {v.name for v in lp.outputs if v.duplicable} if lp else set()
            for pir, old in entry.get("inputs", {}).items():
                ins.append({"name": pir, "legacy": old,
                            "option": "variadic" if old in dup_in else "single"})
            for kind in ("int_array", "scalar"):
                for pir, spec in (entry.get(kind) or {}).items():
                    if str(spec.get("support_tensor", "True")) != "False" or \
                            "tensor_name" in spec or "tensors_name" in spec:
                        ins.append({"name": pir, "option": "single",
                                    "description": f"{kind}: a tensor of the value"})
            for pir, old in entry.get("outputs", {}).items():
                outs.append({"name": pir, "legacy": old,
                             "option": "variadic" if old in dup_out else "single"})
            renamed = entry.get("attrs") or {}
            legacy_name = {v: k for k, v in renamed.items()}
            for a in docs.get(legacy, [{}])[0].get("attributes", []):
                if not a.get("extra"):
                    attrs.append(dict(a, name=legacy_name.get(a["name"], a["name"])))
        if base in PADDLE_PIR_SLOTS:
            fixed_in, fixed_out = (x.split() for x in PADDLE_PIR_SLOTS[base])
            known = {v["name"]: v for v in ins + outs}
            ins = [known.get(n, {"name": n, "option": "single"}) for n in fixed_in]
            outs = [known.get(n, {"name": n, "option": "single"}) for n in fixed_out]
        slot = lambda v: v["name"] + ("..." if v["option"] == "variadic" else "")   # noqa: E731
        compact[op] = compact_entry(op, name, category,
                                    [{"since": 1, "inputs": [slot(v) for v in ins],
                                      "outputs": [slot(v) for v in outs]}])
        docs[op] = [{"since": 1, "description": (f"The PIR form of the op {legacy} (Paddle's "
                                                 f"op_compat mapping); its attributes are "
                                                 f"that op's." if legacy else ""),
                     "inputs": ins, "outputs": outs, "attributes": attrs}]
    return {"paddle": compact}, {"paddle": docs}, f"paddlepaddle {paddle.__version__}"
# --- Darknet ---------------------------------------------------------------------------
# Darknet has no machine-readable list of its layers: this table is Wetron's, from
# src/parser.c (string_to_layer_type, each parse_* function's options and defaults) of
# pjreddie's Darknet, and AlexeyAB's fork for [scale_channels] and [sam]. Per layer: its
# category, input slots (the data inputs, then the parameters as formats/darknet.py puts
# them on the node), what it does, and the options Darknet reads with their defaults.
_CONV_SLOTS = "input weights biases scales rolling_mean rolling_variance"
DARKNET_LAYERS = {
    "convolutional": ("conv", _CONV_SLOTS, "2-D convolution, batch normalisation and "
                      "activation fused", "filters=1 size=1 stride=1 pad=0 padding=0 "
                      "groups=1 batch_normalize=0 activation=logistic"),
    "deconvolutional": ("conv", _CONV_SLOTS, "transposed 2-D convolution",
                        "filters=1 size=1 stride=1 pad=0 padding=0 batch_normalize=0 "
                        "activation=logistic"),
    "local": ("conv", "input weights biases", "locally connected layer: a filter per "
              "output position", "filters=1 size=1 stride=1 pad=0 activation=logistic"),
    "crnn": ("conv", "input", "convolutional recurrent layer (3x3 input, self and output "
             "convolutions)", "hidden_filters=1 output_filters=1 batch_normalize=0 "
             "activation=logistic"),
    "connected": ("matmul", _CONV_SLOTS, "fully connected layer", "output=1 "
                  "batch_normalize=0 activation=logistic"),
    "rnn": ("matmul", "input", "recurrent layer (input, self and output connected "
            "layers)", "output=1 batch_normalize=0 activation=logistic"),
    "gru": ("matmul", "input", "gated recurrent unit", "output=1 batch_normalize=0 tanh=0"),
    "lstm": ("matmul", "input", "long short-term memory", "output=1 batch_normalize=0"),
    "activation": ("activation", "input", "an activation alone", "activation=linear"),
    "logistic": ("activation", "input", "logistic with cross-entropy loss", ""),
    "softmax": ("activation", "input", "softmax (per group)", "groups=1 temperature=1"),
    "batchnorm": ("normalization", "input scales rolling_mean rolling_variance",
                  "batch normalisation alone", ""),
    "normalization": ("normalization", "input", "local response normalisation",
                      "size=5 alpha=0.0001 beta=0.75 kappa=1"),
    "l2norm": ("normalization", "input", "L2 normalisation across channels", ""),
    "dropout": ("normalization", "input", "dropout (identity at inference)",
                "probability=0.5"),
    "maxpool": ("pooling", "input", "max pooling", "stride=1 size=stride padding=size-1"),
    "avgpool": ("pooling", "input", "global average pooling", ""),
    "upsample": ("data", "input", "nearest-neighbour upsampling (a negative stride "
                 "downsamples)", "stride=2 scale=1"),
    "reorg": ("shape", "input", "space to depth (reverse=1: depth to space)",
              "stride=1 reverse=0 flatten=0 extra=0"),
    "route": ("data", "input...", "concatenates the channels of the layers it names",
              "layers groups=1 group_id=0"),
    "crop": ("data", "input", "crop (and shift) of the image", "crop_height=1 crop_width=1"),
    "shortcut": ("elementwise", "input from...", "adds the output of the layer `from` "
                 "names (residual)", "from activation=linear alpha=1 beta=1"),
    "scale_channels": ("elementwise", "input from", "scales the channels of `from`'s "
                       "output (AlexeyAB's fork)", "from scale_wh=0 activation=linear"),
    "sam": ("elementwise", "input from", "spatial attention: `from`'s output times the "
            "input (AlexeyAB's fork)", "from activation=linear"),
    "yolo": ("other", "input", "YOLOv3 detection head", "classes=20 num=1 mask anchors "
             "jitter=0.2 ignore_thresh=0.5 truth_thresh=1"),
    "region": ("other", "input", "YOLOv2 detection head", "classes=20 coords=4 num=1 "
               "anchors softmax=0"),
    "detection": ("other", "input", "YOLOv1 detection head", "classes=1 coords=1 num=1 "
                  "side=7 softmax=0 sqrt=0"),
    "iseg": ("other", "input", "instance segmentation head", "classes=20 ids=32"),
    "cost": ("other", "input", "training loss (nothing at inference)", "type=sse scale=1"),
}


def gen_darknet():
    compact, docs = {}, {}
    for op, (category, slots, text, options) in DARKNET_LAYERS.items():
        ins = slot_list(slots)
        compact[op] = compact_entry(op, op, category, [{"since": 1, "inputs": ins,
                                                        "outputs": ["output"]}])
        attrs = []
        for item in options.split():
            name, _, default = item.partition("=")
            attrs.append({"name": name, **({"default": default} if default else {})})
        docs[op] = [{"since": 1, "description": text, "inputs": [{"name": n} for n in ins],
                     "outputs": [{"name": "output"}], "attributes": attrs}]
    return {"darknet": compact}, {"darknet": docs}, "Wetron's table (Darknet's src/parser.c)"
# --- ncnn ------------------------------------------------------------------------------

def gen_ncnn():
    """From ncnn's sources as tools/gen_ncnn_schema.py read them (formats/ncnn_schema.py:
    the layer registry and each layer's ParamDict ids) and formats/ncnn.py's weights per
    layer (each layer's load_model): inputs are the bottom then the weights."""
    sys.path.insert(0, os.path.join(ROOT, "py"))
    from wetron.formats import ncnn, ncnn_schema
    compact, docs = {}, {}
    for code, op in enumerate(ncnn_schema.LAYER_TYPES):
        slots = ncnn.weight_slots(op)
        ins = ["input"] + slots if slots else []
        compact[op] = compact_entry(op, op, NCNN_CATEGORY.get(op, "other"),
                                    [{"since": 1, "inputs": ins, "outputs": []}])
        attrs = []
        for pid, name, kind, default in ncnn_schema.PARAMS.get(op, ()):
            entry = {"name": name, "type": kind, "id": pid}
            if default is not None:
                entry["default"] = default
            attrs.append(entry)
        docs[op] = [{"since": 1, "code": code, "description": "",
                     "inputs": [{"name": n} for n in ins], "outputs": [],
                     "attributes": attrs}]
    return {"ncnn": compact}, {"ncnn": docs}, "ncnn sources (src/layer, src/CMakeLists.txt)"


# --- pnnx ------------------------------------------------------------------------------

def gen_pnnx():
    """pnnx names ops as torch does: nn.<Module> (the module's constructor arguments are
    the parameters pnnx writes), F.<function> (torch.nn.functional), and the torch /
    Tensor functions of PNNX_CATEGORY; pnnx's own pnnx.Input/Output/Attribute/Expression."""
    import torch
    from torch import nn
    import torch.nn.functional as F
    compact, docs = {}, {}

    def add(op, doc, attrs):
        compact[op] = compact_entry(op, op, PNNX_CATEGORY.get(op, "other"),
                                    [{"since": 1, "inputs": [], "outputs": []}])
        docs[op] = [{"since": 1, "description": clip(_first_paragraphs(doc)),
                     "inputs": [], "outputs": [], "attributes": attrs}]

    for name in sorted(dir(nn)):
        cls = getattr(nn, name)
        if name.startswith("_") or not inspect.isclass(cls) or not issubclass(cls, nn.Module) \
                or cls.__module__.split(".")[:3] != ["torch", "nn", "modules"]:
            continue
        add(f"nn.{name}", inspect.getdoc(cls) or "", _signature(cls.__init__))
    for name in sorted(dir(F)):
        fn = getattr(F, name)
        if name.startswith("_") or not callable(fn) or inspect.isclass(fn) or \
                getattr(fn, "__module__", "") != "torch.nn.functional":
            continue
        add(f"F.{name}", inspect.getdoc(fn) or "", _signature(fn))
    for op in sorted(PNNX_CATEGORY):
        if op not in compact:
            add(op, "", [])
    return {"pnnx": compact}, {"pnnx": docs}, f"torch {torch.__version__} (nn, nn.functional)"


def _signature(fn):
    attrs = []
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return attrs
    for p in params:
        if p.name in ("self", "input") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        entry = {"name": p.name, "required": p.default is p.empty}
        if p.default is not p.empty and _json_default(p.default) is not None:
            entry["default"] = _json_default(p.default)
        attrs.append(entry)
    return attrs


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
              "torch": gen_torch, "wetron": gen_wetron, "caffe": gen_caffe,
              "mxnet": gen_mxnet, "openvino": gen_openvino, "paddle": gen_paddle,
              "darknet": gen_darknet, "ncnn": gen_ncnn, "pnnx": gen_pnnx,
              "sklearn": gen_sklearn, "xgboost": gen_xgboost, "lightgbm": gen_lightgbm}
# generators' facts read in the framework's venv (venv_facts)
CHILDREN = {"mxnet": child_mxnet, "openvino": child_openvino}


def dump(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


# Domains whose ops have versions (ONNX and OpenVINO operator sets): describe() picks the
# schema in force at the model's (ONNX) or the layer's (OpenVINO) opset; the others have
# one definition per op.
VERSIONED = {"onnx", "openvino"}


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
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"] and len(argv) == 3 and argv[1] in CHILDREN:
        CHILDREN[argv[1]](argv[2])
        return 0
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
