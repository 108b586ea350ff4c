#!/usr/bin/python3
"""Writes the seed corpus for the loader fuzzer (tests/fuzz/corpus).

Usage: /usr/bin/python3 scripts/gen_fuzz_corpus.py [OUTDIR]   (default: tests/fuzz/corpus)

Small (< 4 KiB each) valid models that reach the interesting parts of the loader (every
dtype, raw and typed data, attributes of every kind, optional inputs, several outputs,
symbolic dims, a Constant node with a tensor attribute) and a few invalid ones whose
neighbourhoods are worth mutating (bad dims, short data, a cycle, external data, which the
fuzz target never allows). The files are checked in; regenerate them only when the loader
grows features the seeds do not reach.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper

OPSET = 13
MAX_BYTES = 4096


def model_of(nodes, inputs, outputs, inits=(), opset=OPSET, ir_version=8, extra_opsets=()):
    graph = helper.make_graph(nodes, "seed", inputs, outputs, initializer=list(inits))
    opsets = [helper.make_opsetid("", opset)] + list(extra_opsets)
    model = helper.make_model(graph, opset_imports=opsets, producer_name="gen_fuzz_corpus")
    model.ir_version = ir_version
    return model


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def raw(name, dtype, dims, data):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = data
    return t


def seeds():
    T = TensorProto
    out = {}
    # --- valid -------------------------------------------------------------------------
    out["valid_add"] = model_of(
        [helper.make_node("Add", ["X", "W"], ["Y"], name="add0")],
        [vi("X", ["batch", 4])], [vi("Y", ["batch", 4])],
        [helper.make_tensor("W", T.FLOAT, [4], [1, 2, 3, 4])])
    cw = raw("cw", T.FLOAT, [4, 2, 3, 3], np.linspace(-1, 1, 72, dtype="<f4").tobytes())
    cb = helper.make_tensor("cb", T.FLOAT, [4], [0, 0.5, -0.5, 1])
    out["valid_conv_relu_pool"] = model_of(
        [helper.make_node("Conv", ["X", "cw", "cb"], ["c"], name="conv0", kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
         helper.make_node("Relu", ["c"], ["r"], name="relu0"),
         helper.make_node("MaxPool", ["r"], ["p"], name="pool0", kernel_shape=[2, 2],
                          strides=[2, 2], auto_pad="NOTSET"),
         helper.make_node("GlobalAveragePool", ["p"], ["Y"], name="gap0")],
        [vi("X", [1, 2, 8, 8])], [vi("Y", [1, 4, 1, 1])], [cw, cb])
    gw = helper.make_tensor("gw", T.FLOAT, [3, 2], [1, 2, 3, 4, 5, 6])
    gb = raw("gb", T.FLOAT, [2], np.asarray([0.1, 0.2], "<f4").tobytes())
    out["valid_gemm_softmax"] = model_of(
        [helper.make_node("Gemm", ["X", "gw", "gb"], ["g"], name="gemm0", alpha=1.0, beta=1.0,
                          transB=0),
         helper.make_node("LeakyRelu", ["g"], ["l"], name="lrelu0", alpha=0.1),
         helper.make_node("Softmax", ["l"], ["Y"], name="softmax0", axis=-1)],
        [vi("X", ["n", 3])], [vi("Y", ["n", 2])], [gw, gb])
    shape = helper.make_tensor("shape", T.INT64, [2], [-1, 6])
    out["valid_reshape_transpose"] = model_of(
        [helper.make_node("Reshape", ["X", "shape"], ["r"], name="reshape0"),
         helper.make_node("Transpose", ["r"], ["Y"], name="transpose0", perm=[1, 0])],
        [vi("X", [2, 3, 2])], [vi("Y", [6, 2])], [shape])
    out["valid_constant_attr"] = model_of(
        [helper.make_node("Constant", [], ["k"], name="const0",
                          value=helper.make_tensor("kv", T.FLOAT, [2, 2], [1, 2, 3, 4])),
         helper.make_node("Mul", ["X", "k"], ["Y"], name="mul0")],
        [vi("X", [2, 2])], [vi("Y", [2, 2])])
    split = helper.make_tensor("split", T.INT64, [2], [1, 3])
    out["valid_split_multi_output"] = model_of(
        [helper.make_node("Split", ["X", "split"], ["a", "b"], name="split0", axis=1),
         helper.make_node("Sigmoid", ["a"], ["Ya"], name="sig0"),
         helper.make_node("Tanh", ["b"], ["Yb"], name="tanh0")],
        [vi("X", [1, 4])], [vi("Ya", [1, 1]), vi("Yb", [1, 3])], [split])
    # Clip with its 'min' omitted (empty name) and 'max' given.
    out["valid_optional_input"] = model_of(
        [helper.make_node("Clip", ["X", "", "mx"], ["Y"], name="clip0")],
        [vi("X", [3])], [vi("Y", [3])], [helper.make_tensor("mx", T.FLOAT, [], [6.0])])
    inits = [
        raw("f16", T.FLOAT16, [2], np.asarray([1, -2], "<f2").tobytes()),
        helper.make_tensor("i64", T.INT64, [2], [1, 1 << 40]),
        helper.make_tensor("i32", T.INT32, [2], [3, -4]),
        helper.make_tensor("i8", T.INT8, [2], [-5, 6]),
        raw("u8", T.UINT8, [2], b"\x07\xf8"),
        helper.make_tensor("b", T.BOOL, [2], [1, 0]),
        helper.make_tensor("scalar", T.FLOAT, [], [9.0]),
    ]
    out["valid_dtypes"] = model_of(
        [helper.make_node("Identity", [t.name], ["o_" + t.name], name="id_" + t.name)
         for t in inits],
        [], [vi("o_" + t.name, list(t.dims), t.data_type) for t in inits], inits)
    # Attributes of every kind on one node of an unknown domain (imported): the importer
    # must walk them all before rejecting the operator.
    odd = helper.make_node("Anything", ["X"], ["Y"], name="odd0", domain="com.example",
                           f=1.5, i=7, s="str", floats=[1.0, 2.0], ints=[1, 2, 3],
                           strings=["a", "b"],
                           t=helper.make_tensor("tv", T.INT32, [1], [1]))
    out["unsupported_domain_all_attrs"] = model_of(
        [odd], [vi("X", [1])], [vi("Y", [1])],
        extra_opsets=[helper.make_opsetid("com.example", 1)])
    # --- invalid -------------------------------------------------------------------------
    out["bad_neg_dim"] = model_of(
        [helper.make_node("Add", ["X", "w_neg"], ["Y"], name="add0")],
        [vi("X", [2, 2])], [vi("Y", [2, 2])],
        [raw("w_neg", T.FLOAT, [2, -2], b"\0" * 16)])
    out["bad_raw_short"] = model_of(
        [helper.make_node("Add", ["X", "w_short"], ["Y"], name="add0")],
        [vi("X", [2, 2])], [vi("Y", [2, 2])],
        [raw("w_short", T.FLOAT, [2, 2], b"\0" * 12)])
    out["bad_wrapping_dims"] = model_of(
        [helper.make_node("Add", ["X", "w_wrap"], ["Y"], name="add0")],
        [vi("X", [2, 2])], [vi("Y", [2, 2])],
        [raw("w_wrap", T.FLOAT, [(1 << 62) + 1, 4], b"\0" * 16)])
    out["bad_cycle"] = model_of(
        [helper.make_node("Add", ["X", "b"], ["a"], name="cyc_a"),
         helper.make_node("Relu", ["a"], ["b"], name="cyc_b"),
         helper.make_node("Relu", ["a"], ["Y"], name="out0")],
        [vi("X", [2])], [vi("Y", [2])])
    out["bad_dangling"] = model_of(
        [helper.make_node("Add", ["X", "t_nowhere"], ["Y"], name="n_dangle")],
        [vi("X", [2])], [vi("Y", [2])])
    ext = TensorProto()
    ext.name = "w_ext"
    ext.data_type = T.FLOAT
    ext.dims.extend([2])
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "8")):
        e = ext.external_data.add()
        e.key, e.value = k, v
    out["bad_external_data"] = model_of(
        [helper.make_node("Add", ["X", "w_ext"], ["Y"], name="add0")],
        [vi("X", [2])], [vi("Y", [2])], [ext])
    conv = helper.make_node("Conv", ["X", "cw"], ["Y"], name="conv_badattr", kernel_shape=[1, 1])
    conv.attribute.append(helper.make_attribute("strides", 1.0))
    out["bad_attr_type"] = model_of(
        [conv], [vi("X", [1, 1, 2, 2])], [vi("Y", [1, 1, 2, 2])],
        [helper.make_tensor("cw", T.FLOAT, [1, 1, 1, 1], [1.0])])
    out["bad_opset6"] = model_of(
        [helper.make_node("Relu", ["X"], ["Y"], name="relu0")], [vi("X", [2])], [vi("Y", [2])],
        opset=6, ir_version=3)
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fuzz", "corpus")
    os.makedirs(outdir, exist_ok=True)
    for name, model in sorted(seeds().items()):
        data = model.SerializeToString()
        assert len(data) < MAX_BYTES, (name, len(data))
        with open(os.path.join(outdir, name + ".onnx"), "wb") as f:
            f.write(data)
    # the one non-protobuf seed: a truncated model
    data = seeds()["valid_conv_relu_pool"].SerializeToString()
    with open(os.path.join(outdir, "bad_truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    print("gen_fuzz_corpus: wrote %d seeds to %s" % (len(seeds()) + 1, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
