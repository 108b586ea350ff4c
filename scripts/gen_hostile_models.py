#!/usr/bin/python3
"""Writes hostile (malformed, unsupported or malicious) ONNX models for the loader tests.

Usage: /usr/bin/python3 scripts/gen_hostile_models.py OUTDIR

Every case is built in code (onnx.helper / raw protobuf messages, or raw bytes for the
non-protobuf ones), one file per case, plus OUTDIR/cases.txt:

    FILENAME<TAB>EXPECTED_CODE<TAB>EXPECTED_SUBSTRING

FILENAME is relative to OUTDIR (a few cases live in subdirectories so that external data
can point outside "their" directory). EXPECTED_CODE is OK, INVALID_MODEL, UNSUPPORTED or IO.
EXPECTED_SUBSTRING is a fragment the error message must contain: always a tensor, node,
operator or domain name chosen here (never loader wording), or '*' where the input has no
name to give (empty file, truncated bytes, random bytes). The lone exception is the two
opset cases, whose substring is "opset".

Each hostile model has exactly one defect, so the expected error is unambiguous. The
deterministic output (fixed seeds, fixed offsets) keeps failures reproducible.
"""
import os
import random
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

OPSET = 13
IR_VERSION = 8

cases = []  # (filename, code, substring)


def out_path(outdir, name):
    path = os.path.join(outdir, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def write_bytes(outdir, name, data, code, substring):
    with open(out_path(outdir, name), "wb") as f:
        f.write(data)
    cases.append((name, code, substring))


def write_model(outdir, name, model, code, substring):
    write_bytes(outdir, name, model.SerializeToString(), code, substring)


def model_of(nodes, inputs, outputs, initializers=(), opsets=None, ir_version=IR_VERSION,
             name="hostile"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    if opsets is None:
        opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="gen_hostile_models")
    model.ir_version = ir_version
    return model


def fvi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def raw_tensor(name, dtype, dims, raw):
    """A TensorProto with exactly these dims and raw bytes (no consistency checks)."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def f32(values):
    return np.asarray(values, dtype="<f4").tobytes()


def add_model_with(w, x_shape=(2, 2), node_name="add0"):
    """Y = Add(X, w): the initializer w is the thing under test."""
    return model_of([helper.make_node("Add", ["X", w.name], ["Y"], name=node_name)],
                    [fvi("X", list(x_shape))], [fvi("Y", list(x_shape))], [w])


def valid_add_model():
    w = helper.make_tensor("W", TensorProto.FLOAT, [2], [0.5, -1.0])
    return model_of([helper.make_node("Add", ["X", "W"], ["Y"], name="add0")],
                    [fvi("X", ["batch", 2])], [fvi("Y", ["batch", 2])], [w])


def external_tensor(name, location, dims=(2, 2), dtype=TensorProto.FLOAT, offset=None,
                    length=None, extra=()):
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    entries = []
    if location is not None:
        entries.append(("location", location))
    if offset is not None:
        entries.append(("offset", str(offset)))
    if length is not None:
        entries.append(("length", str(length)))
    entries.extend(extra)
    for k, v in entries:
        e = t.external_data.add()
        e.key = k
        e.value = v
    return t


def parses(data):
    m = onnx.ModelProto()
    try:
        m.ParseFromString(data)
        return True
    except Exception:  # google.protobuf.message.DecodeError (and friends)
        return False


# ---------------------------------------------------------------------------------------
# Non-protobuf and damaged-protobuf inputs


def gen_bytes_cases(outdir):
    write_bytes(outdir, "empty.onnx", b"", "INVALID_MODEL", "*")
    write_bytes(outdir, "text.onnx",
                b"This is not an ONNX model.\nir_version: 8\ngraph { node { op_type: 'Add' } }\n",
                "INVALID_MODEL", "*")
    rng = random.Random(0x1E45)
    write_bytes(outdir, "random_bytes.onnx", bytes(rng.getrandbits(8) for _ in range(4096)),
                "INVALID_MODEL", "*")
    # All 0xff: an endless varint, then a length prefix near 2^64.
    write_bytes(outdir, "all_ff.onnx", b"\xff" * 64, "INVALID_MODEL", "*")
    # A graph field (7, length-delimited) claiming 2^62 bytes.
    write_bytes(outdir, "huge_length_prefix.onnx",
                bytes([0x08, 0x08, 0x3A]) + b"\x80\x80\x80\x80\x80\x80\x80\x80\x40" + b"\x00" * 8,
                "INVALID_MODEL", "*")
    # A valid protobuf of the wrong message type (a TensorProto), read as a model.
    t = helper.make_tensor("not_a_model", TensorProto.FLOAT, [2, 2], [1, 2, 3, 4])
    write_bytes(outdir, "tensor_not_model.onnx", t.SerializeToString(), "INVALID_MODEL", "*")
    # A model that parses but has no graph at all.
    m = onnx.ModelProto()
    m.ir_version = IR_VERSION
    m.opset_import.append(helper.make_opsetid("", OPSET))
    write_model(outdir, "no_graph.onnx", m, "INVALID_MODEL", "*")

    # Truncations of a valid model. Only offsets where protobuf parsing itself must fail are
    # kept (a cut that happens to land on a field boundary can still parse), so the only
    # right answer is a parse error.
    full = conv_model().SerializeToString()
    n = len(full)
    wanted = [n // 2, 1, 2, 5, n // 3, (2 * n) // 3, n - 1, n - 5, n - 17]
    done = set()
    for off in wanted:
        cut = off
        while 0 < cut < n and (cut in done or parses(full[:cut])):
            cut += 1
        if not (0 < cut < n) or cut in done:
            continue
        done.add(cut)
        label = "half" if off == n // 2 else str(cut)
        write_bytes(outdir, "trunc_%s.onnx" % label, full[:cut], "INVALID_MODEL", "*")


def conv_model():
    w = helper.make_tensor("cw", TensorProto.FLOAT, [2, 1, 3, 3], [0.1] * 18)
    b = helper.make_tensor("cb", TensorProto.FLOAT, [2], [0.0, 1.0])
    conv = helper.make_node("Conv", ["X", "cw", "cb"], ["c"], name="conv0",
                            kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    relu = helper.make_node("Relu", ["c"], ["Y"], name="relu0")
    return model_of([conv, relu], [fvi("X", [1, 1, 4, 4])], [fvi("Y", [1, 2, 4, 4])], [w, b])


# ---------------------------------------------------------------------------------------
# Initializers


def gen_initializer_cases(outdir):
    F = TensorProto.FLOAT
    write_model(outdir, "init_neg_dim.onnx",
                add_model_with(raw_tensor("w_neg", F, [2, -2], f32([1, 2, 3, 4]))),
                "INVALID_MODEL", "w_neg")
    # 2^80 elements.
    write_model(outdir, "init_overflow_dims.onnx",
                add_model_with(raw_tensor("w_ovf", F, [1 << 40, 1 << 40], f32([1, 2, 3, 4]))),
                "INVALID_MODEL", "w_ovf")
    # (2^62 + 1) * 4 elements = 2^64 + 4, i.e. 4 modulo 2^64, and 16 bytes modulo 2^64: an
    # unchecked multiplication "matches" the 16 raw bytes given.
    write_model(outdir, "init_wrapping_dims.onnx",
                add_model_with(raw_tensor("w_wrap", F, [(1 << 62) + 1, 4], f32([1, 2, 3, 4]))),
                "INVALID_MODEL", "w_wrap")
    # INT64_MAX as a dim.
    write_model(outdir, "init_int64max_dim.onnx",
                add_model_with(raw_tensor("w_i64max", F, [(1 << 63) - 1], f32([1, 2, 3, 4]))),
                "INVALID_MODEL", "w_i64max")
    # 2 * (2^33 + 1) float32 = 2^36 + 8 bytes: just over LENS_MAX_TENSOR_BYTES. No data is
    # given; the loader must refuse before trying to allocate 64 GiB.
    write_model(outdir, "init_absurd_dims.onnx",
                add_model_with(raw_tensor("w_big", F, [2, (1 << 33) + 1], b"")),
                "INVALID_MODEL", "w_big")
    # Same, but declared through typed data (no raw_data field at all).
    big = TensorProto()
    big.name = "w_big_typed"
    big.data_type = F
    big.dims.extend([1 << 20, (1 << 14) + 1])  # 2^34 + 2^20 floats
    big.float_data.extend([1.0, 2.0])
    write_model(outdir, "init_absurd_dims_typed.onnx", add_model_with(big),
                "INVALID_MODEL", "w_big_typed")
    # Shapes well under the limit (16 GiB) whose data is tiny: the size checks must come
    # before the allocation. (The harness caps the address space, or ASan's largest
    # allocation, at 4 GiB, so allocating first shows up as OUT_OF_MEMORY.)
    big16 = [4, 1 << 30]
    write_model(outdir, "init_raw_short_16gib.onnx",
                add_model_with(raw_tensor("w_short_16g", F, big16, f32([1, 2, 3, 4]))),
                "INVALID_MODEL", "w_short_16g")
    fc16 = TensorProto()
    fc16.name = "w_fcount_16g"
    fc16.data_type = F
    fc16.dims.extend(big16)
    fc16.float_data.extend([1.0, 2.0, 3.0, 4.0])
    write_model(outdir, "init_float_data_count_16gib.onnx", add_model_with(fc16),
                "INVALID_MODEL", "w_fcount_16g")
    write_model(outdir, "init_raw_short.onnx",
                add_model_with(raw_tensor("w_short", F, [2, 2], f32([1, 2, 3]))),
                "INVALID_MODEL", "w_short")
    write_model(outdir, "init_raw_long.onnx",
                add_model_with(raw_tensor("w_long", F, [2, 2], f32([1, 2, 3, 4, 5]))),
                "INVALID_MODEL", "w_long")
    # float16 raw data of odd length.
    write_model(outdir, "init_raw_odd_f16.onnx",
                model_of([helper.make_node("Cast", ["w_odd16"], ["Y"], name="cast0", to=F)],
                         [], [fvi("Y", [3])],
                         [raw_tensor("w_odd16", TensorProto.FLOAT16, [3], b"\x00\x3c" * 2 + b"\x00")]),
                "INVALID_MODEL", "w_odd16")
    fc = TensorProto()
    fc.name = "w_fcount"
    fc.data_type = F
    fc.dims.extend([2, 2])
    fc.float_data.extend([1.0, 2.0, 3.0])
    write_model(outdir, "init_float_data_count.onnx", add_model_with(fc), "INVALID_MODEL",
                "w_fcount")
    ic = TensorProto()
    ic.name = "w_icount"
    ic.data_type = TensorProto.INT64
    ic.dims.extend([3])
    ic.int64_data.extend([1, 2])
    write_model(outdir, "init_int64_data_count.onnx",
                model_of([helper.make_node("Add", ["X", "w_icount"], ["Y"], name="add0")],
                         [fvi("X", [3], TensorProto.INT64)], [fvi("Y", [3], TensorProto.INT64)],
                         [ic]),
                "INVALID_MODEL", "w_icount")
    # Unsupported element types, each used by a node (valid ONNX: Cast from string/double).
    s = TensorProto()
    s.name = "w_str"
    s.data_type = TensorProto.STRING
    s.dims.extend([2])
    s.string_data.extend([b"1.5", b"2.5"])
    write_model(outdir, "init_dtype_string.onnx",
                model_of([helper.make_node("Cast", ["w_str"], ["Y"], name="cast_str", to=F)],
                         [], [fvi("Y", [2])], [s]),
                "UNSUPPORTED", "w_str")
    d = helper.make_tensor("w_f64", TensorProto.DOUBLE, [2], [1.5, 2.5])
    write_model(outdir, "init_dtype_double.onnx",
                model_of([helper.make_node("Cast", ["w_f64"], ["Y"], name="cast_f64", to=F)],
                         [], [fvi("Y", [2])], [d]),
                "UNSUPPORTED", "w_f64")
    # data_type UNDEFINED (0).
    write_model(outdir, "init_dtype_undefined.onnx",
                add_model_with(raw_tensor("w_undef", TensorProto.UNDEFINED, [2, 2],
                                          f32([1, 2, 3, 4]))),
                "INVALID_MODEL", "w_undef")
    # Rank 9 (> LENS_MAX_RANK): a limitation of Lens, not a malformed file.
    write_model(outdir, "init_rank9.onnx",
                model_of([helper.make_node("Identity", ["w_rank9"], ["Y"], name="id0")],
                         [], [fvi("Y", [1] * 9)],
                         [raw_tensor("w_rank9", F, [1] * 9, f32([7]))]),
                "UNSUPPORTED", "w_rank9")
    # Two initializers with the same name.
    w1 = helper.make_tensor("w_twice", F, [2], [1, 2])
    w2 = helper.make_tensor("w_twice", F, [2], [3, 4])
    write_model(outdir, "init_duplicate_name.onnx",
                model_of([helper.make_node("Add", ["X", "w_twice"], ["Y"], name="add0")],
                         [fvi("X", [2])], [fvi("Y", [2])], [w1, w2]),
                "INVALID_MODEL", "w_twice")


# ---------------------------------------------------------------------------------------
# Graph structure


def gen_graph_cases(outdir):
    X, Y = fvi("X", [2]), fvi("Y", [2])
    # cyc_a reads t_cyc_b, cyc_b reads t_cyc_a.
    write_model(outdir, "graph_cycle.onnx",
                model_of([helper.make_node("Add", ["X", "t_cyc_b"], ["t_cyc_a"], name="cyc_a"),
                          helper.make_node("Relu", ["t_cyc_a"], ["t_cyc_b"], name="cyc_b"),
                          helper.make_node("Relu", ["t_cyc_a"], ["Y"], name="after_cycle")],
                         [X], [Y]),
                "INVALID_MODEL", "cyc_")
    # A node that reads itself.
    write_model(outdir, "graph_self_loop.onnx",
                model_of([helper.make_node("Add", ["X", "t_self"], ["t_self"], name="self_loop"),
                          helper.make_node("Relu", ["t_self"], ["Y"], name="relu0")],
                         [X], [Y]),
                "INVALID_MODEL", "self_loop")
    write_model(outdir, "graph_dangling_input.onnx",
                model_of([helper.make_node("Add", ["X", "t_nowhere"], ["Y"], name="n_dangle")],
                         [X], [Y]),
                "INVALID_MODEL", "t_nowhere")
    write_model(outdir, "graph_duplicate_producer.onnx",
                model_of([helper.make_node("Relu", ["X"], ["t_dup"], name="dup_a"),
                          helper.make_node("Neg", ["X"], ["t_dup"], name="dup_b"),
                          helper.make_node("Relu", ["t_dup"], ["Y"], name="relu0")],
                         [X], [Y]),
                "INVALID_MODEL", "t_dup")
    write_model(outdir, "graph_output_unproduced.onnx",
                model_of([helper.make_node("Relu", ["X"], ["Y"], name="relu0")],
                         [X], [Y, fvi("y_orphan", [2])]),
                "INVALID_MODEL", "y_orphan")
    write_model(outdir, "graph_overwrite_input.onnx",
                model_of([helper.make_node("Relu", ["X"], ["x_victim"], name="n_clobber"),
                          helper.make_node("Relu", ["X"], ["Y"], name="relu0")],
                         [X, fvi("x_victim", [2])], [Y]),
                "INVALID_MODEL", "x_victim")
    wv = helper.make_tensor("w_victim", TensorProto.FLOAT, [2], [1, 2])
    write_model(outdir, "graph_overwrite_initializer.onnx",
                model_of([helper.make_node("Relu", ["X"], ["w_victim"], name="n_clobber_init"),
                          helper.make_node("Add", ["X", "w_victim"], ["Y"], name="add0")],
                         [X], [Y], [wv]),
                "INVALID_MODEL", "w_victim")
    # Declared shapes: rank beyond LENS_MAX_RANK (descriptors hold 8 dims) and a negative dim.
    write_model(outdir, "graph_input_rank9.onnx",
                model_of([helper.make_node("Relu", ["x_rank9"], ["Y"], name="relu0")],
                         [fvi("x_rank9", [1] * 9)], [fvi("Y", [1] * 9)]),
                "UNSUPPORTED", "x_rank9")
    write_model(outdir, "graph_output_rank9.onnx",
                model_of([helper.make_node("Relu", ["X"], ["y_rank9"], name="relu0")],
                         [X], [fvi("y_rank9", [1] * 9)]),
                "UNSUPPORTED", "y_rank9")
    neg = fvi("x_negdim", [2])
    neg.type.tensor_type.shape.dim[0].dim_value = -5
    write_model(outdir, "graph_input_negative_dim.onnx",
                model_of([helper.make_node("Relu", ["x_negdim"], ["Y"], name="relu0")],
                         [neg], [Y]),
                "INVALID_MODEL", "x_negdim")
    write_model(outdir, "graph_duplicate_input.onnx",
                model_of([helper.make_node("Relu", ["x_twice"], ["Y"], name="relu0")],
                         [fvi("x_twice", [2]), fvi("x_twice", [2])], [Y]),
                "INVALID_MODEL", "x_twice")


# ---------------------------------------------------------------------------------------
# Operators: attributes, arity, unknown operators and domains, opsets


def pb_key(field, wire):
    return pb_varint((field << 3) | wire)


def pb_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_bytes(field, data):
    return pb_key(field, 2) + pb_varint(len(data)) + data


def nested_graph_model(depth):
    """ModelProto whose graph holds a node with a GRAPH attribute holding a node with a GRAPH
    attribute ... depth levels deep, as raw protobuf bytes (a recursive parser would blow the
    stack; the Python protobuf library refuses to build it)."""
    graph = b""
    for _ in range(depth):
        attr = pb_bytes(1, b"g") + pb_bytes(6, graph) + pb_key(20, 0) + pb_varint(5)
        node = pb_bytes(4, b"Nest") + pb_bytes(3, b"n_nest") + pb_bytes(5, attr)
        graph = pb_bytes(1, node)
    opset = pb_bytes(1, b"") + pb_key(2, 0) + pb_varint(OPSET)
    return pb_key(1, 0) + pb_varint(IR_VERSION) + pb_bytes(7, graph) + pb_bytes(8, opset)


def gen_op_cases(outdir):
    X4 = fvi("X", [1, 1, 4, 4])
    cw = helper.make_tensor("cw", TensorProto.FLOAT, [1, 1, 3, 3], [0.1] * 9)
    conv = helper.make_node("Conv", ["X", "cw"], ["Y"], name="conv_badattr", kernel_shape=[3, 3])
    conv.attribute.append(helper.make_attribute("strides", 1.0))  # FLOAT, not INTS
    write_model(outdir, "attr_wrong_type.onnx",
                model_of([conv], [X4], [fvi("Y", [1, 1, 2, 2])], [cw]),
                "INVALID_MODEL", "conv_badattr")
    X, Y = fvi("X", [2]), fvi("Y", [2])
    write_model(outdir, "arity_add_1_input.onnx",
                model_of([helper.make_node("Add", ["X"], ["Y"], name="add_one")], [X], [Y]),
                "INVALID_MODEL", "add_one")
    write_model(outdir, "arity_add_3_inputs.onnx",
                model_of([helper.make_node("Add", ["X", "X", "X"], ["Y"], name="add_three")],
                         [X], [Y]),
                "INVALID_MODEL", "add_three")
    write_model(outdir, "op_unknown.onnx",
                model_of([helper.make_node("HostileFrobnicate", ["X"], ["Y"], name="n_unknown")],
                         [X], [Y]),
                "UNSUPPORTED", "HostileFrobnicate")
    # The domain is imported (so the model is well-formed ONNX); Lens just does not know it.
    write_model(outdir, "op_unknown_domain.onnx",
                model_of([helper.make_node("Relu", ["X"], ["Y"], name="n_foreign",
                                           domain="com.example.hostile")],
                         [X], [Y],
                         opsets=[helper.make_opsetid("", OPSET),
                                 helper.make_opsetid("com.example.hostile", 1)]),
                "UNSUPPORTED", "com.example.hostile")
    # A Constant whose tensor attribute has too little data: attribute tensors get the same
    # checks as initializers (node and tensor names share "k_short").
    kbad = raw_tensor("k_short", TensorProto.FLOAT, [2, 2], f32([1, 2, 3]))
    write_model(outdir, "attr_tensor_raw_short.onnx",
                model_of([helper.make_node("Constant", [], ["k"], name="k_short_node", value=kbad),
                          helper.make_node("Add", ["X", "k"], ["Y"], name="add0")],
                         [fvi("X", [2, 2])], [fvi("Y", [2, 2])]),
                "INVALID_MODEL", "k_short")
    kbig = raw_tensor("k_big", TensorProto.FLOAT, [1 << 40, 1 << 40], b"")
    write_model(outdir, "attr_tensor_absurd_dims.onnx",
                model_of([helper.make_node("Constant", [], ["k"], name="k_big_node", value=kbig),
                          helper.make_node("Add", ["X", "k"], ["Y"], name="add0")],
                         [fvi("X", [2, 2])], [fvi("Y", [2, 2])]),
                "INVALID_MODEL", "k_big")
    k16 = raw_tensor("k_short_16g", TensorProto.FLOAT, [4, 1 << 30], f32([1, 2, 3, 4]))
    write_model(outdir, "attr_tensor_raw_short_16gib.onnx",
                model_of([helper.make_node("Constant", [], ["k"], name="k_short_16g_node",
                                           value=k16),
                          helper.make_node("Add", ["X", "k"], ["Y"], name="add0")],
                         [fvi("X", [2, 2])], [fvi("Y", [2, 2])]),
                "INVALID_MODEL", "k_short_16g")
    # A subgraph attribute (If): Lens runs no control flow.
    then_g = helper.make_graph([helper.make_node("Identity", ["X"], ["t_out"], name="then_id")],
                               "then", [], [fvi("t_out", [2])])
    else_g = helper.make_graph([helper.make_node("Neg", ["X"], ["e_out"], name="else_neg")],
                               "else", [], [fvi("e_out", [2])])
    write_model(outdir, "op_if_subgraph.onnx",
                model_of([helper.make_node("If", ["C"], ["Y"], name="n_if_sub",
                                           then_branch=then_g, else_branch=else_g)],
                         [fvi("C", [], TensorProto.BOOL), X], [Y]),
                "UNSUPPORTED", "n_if_sub")
    # Subgraphs nested 5000 deep (about 100 KB).
    write_bytes(outdir, "deep_nesting.onnx", nested_graph_model(5000), "INVALID_MODEL", "*")
    write_model(outdir, "opset_99.onnx",
                model_of([helper.make_node("Relu", ["X"], ["Y"], name="relu0")], [X], [Y],
                         opsets=[helper.make_opsetid("", 99)]),
                "UNSUPPORTED", "opset")
    write_model(outdir, "opset_missing.onnx",
                model_of([helper.make_node("Relu", ["X"], ["Y"], name="relu0")], [X], [Y],
                         opsets=[]),
                "INVALID_MODEL", "opset")
    write_model(outdir, "opset_6.onnx",
                model_of([helper.make_node("Relu", ["X"], ["Y"], name="relu0")], [X], [Y],
                         opsets=[helper.make_opsetid("", 6)], ir_version=3),
                "UNSUPPORTED", "opset")


# ---------------------------------------------------------------------------------------
# External data


EXT_FILE = "ext_data.bin"  # 64 bytes: floats 0..15


def ext_model(w):
    return add_model_with(w)


def gen_external_cases(outdir):
    absdir = os.path.abspath(outdir)
    with open(out_path(outdir, EXT_FILE), "wb") as f:
        f.write(f32(range(16)))
    # A valid file, named by an absolute path: still refused (only relative names).
    write_model(outdir, "ext_absolute.onnx",
                ext_model(external_tensor("w_ext_abs", os.path.join(absdir, EXT_FILE),
                                          offset=0, length=16)),
                "INVALID_MODEL", "w_ext_abs")
    # In a subdirectory, reaching up to the valid file with '..'.
    write_model(outdir, "dotdot/model.onnx",
                ext_model(external_tensor("w_ext_dotdot", "../" + EXT_FILE, offset=0, length=16)),
                "INVALID_MODEL", "w_ext_dotdot")
    # '..' that would land back inside the directory: '..' components are refused outright.
    os.makedirs(os.path.join(outdir, "sub"), exist_ok=True)
    write_model(outdir, "ext_dotdot_inside.onnx",
                ext_model(external_tensor("w_ext_dotdot2", "sub/../" + EXT_FILE, offset=0,
                                          length=16)),
                "INVALID_MODEL", "w_ext_dotdot2")
    # In a subdirectory, a symlink in that directory pointing outside it.
    link = out_path(outdir, "symlink/link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("../" + EXT_FILE, link)
    write_model(outdir, "symlink/model.onnx",
                ext_model(external_tensor("w_ext_link", "link.bin", offset=0, length=16)),
                "INVALID_MODEL", "w_ext_link")
    # A symlinked directory component: only the last component is a regular file.
    esc = out_path(outdir, "symlink_dir/escape")
    if os.path.lexists(esc):
        os.remove(esc)
    os.symlink("..", esc)
    write_model(outdir, "symlink_dir/model.onnx",
                ext_model(external_tensor("w_ext_linkdir", "escape/" + EXT_FILE, offset=0,
                                          length=16)),
                "INVALID_MODEL", "w_ext_linkdir")
    # A FIFO: opening it for reading would block forever.
    fifo = os.path.join(outdir, "a_fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    write_model(outdir, "ext_fifo.onnx",
                ext_model(external_tensor("w_ext_fifo", "a_fifo", offset=0, length=16)),
                "INVALID_MODEL", "w_ext_fifo")
    write_model(outdir, "ext_empty_location.onnx",
                ext_model(external_tensor("w_ext_emptyloc", "", offset=0, length=16)),
                "INVALID_MODEL", "w_ext_emptyloc")
    write_model(outdir, "ext_huge_length.onnx",
                ext_model(external_tensor("w_ext_hugelen", EXT_FILE, offset=0, length=1 << 62)),
                "INVALID_MODEL", "w_ext_hugelen")
    # Absurd shape backed by a real file and no length: refused before any read or allocation.
    write_model(outdir, "ext_absurd_dims.onnx",
                ext_model(external_tensor("w_ext_big", EXT_FILE, dims=(2, (1 << 33) + 1))),
                "INVALID_MODEL", "w_ext_big")
    # A 16 GiB shape on the 64-byte file: refused from the file size, not after allocating.
    write_model(outdir, "ext_past_eof_16gib.onnx",
                ext_model(external_tensor("w_ext_eof_16g", EXT_FILE, dims=(4, 1 << 30))),
                "INVALID_MODEL", "w_ext_eof_16g")
    write_model(outdir, "ext_past_eof.onnx",
                ext_model(external_tensor("w_ext_eof", EXT_FILE, offset=56, length=16)),
                "INVALID_MODEL", "w_ext_eof")
    # No length: the rest of the file (8 bytes) is shorter than the 16 the shape needs.
    write_model(outdir, "ext_past_eof_nolength.onnx",
                ext_model(external_tensor("w_ext_eof2", EXT_FILE, offset=56)),
                "INVALID_MODEL", "w_ext_eof2")
    # offset + length overflows int64.
    write_model(outdir, "ext_offset_overflow.onnx",
                ext_model(external_tensor("w_ext_ovf", EXT_FILE, offset=(1 << 63) - 8,
                                          length=16)),
                "INVALID_MODEL", "w_ext_ovf")
    write_model(outdir, "ext_negative_offset.onnx",
                ext_model(external_tensor("w_ext_negoff", EXT_FILE, offset=-8, length=16)),
                "INVALID_MODEL", "w_ext_negoff")
    write_model(outdir, "ext_bad_number.onnx",
                ext_model(external_tensor("w_ext_badnum", EXT_FILE, offset="16abc", length=16)),
                "INVALID_MODEL", "w_ext_badnum")
    # length present but not what the shape needs (12 bytes for 4 floats).
    write_model(outdir, "ext_length_mismatch.onnx",
                ext_model(external_tensor("w_ext_len", EXT_FILE, offset=0, length=12)),
                "INVALID_MODEL", "w_ext_len")
    write_model(outdir, "ext_no_location.onnx",
                ext_model(external_tensor("w_ext_noloc", None, offset=0, length=16)),
                "INVALID_MODEL", "w_ext_noloc")
    # A directory is not a regular file.
    os.makedirs(os.path.join(outdir, "a_directory"), exist_ok=True)
    write_model(outdir, "ext_directory.onnx",
                ext_model(external_tensor("w_ext_dir", "a_directory", offset=0, length=16)),
                "INVALID_MODEL", "w_ext_dir")
    write_model(outdir, "ext_missing_file.onnx",
                ext_model(external_tensor("w_ext_missing", "no_such_file.bin", offset=0,
                                          length=16)),
                "IO", "w_ext_missing")


# ---------------------------------------------------------------------------------------
# Valid controls: the harness must tell these from the hostile ones


def gen_controls(outdir):
    write_model(outdir, "ok_add.onnx", valid_add_model(), "OK", "*")
    write_model(outdir, "ok_external.onnx",
                ext_model(external_tensor("w_ext_ok", EXT_FILE, offset=16, length=16)),
                "OK", "*")
    # One initializer per supported dtype, raw_data and typed fields, each passed through.
    T = TensorProto
    inits = [
        helper.make_tensor("i_f32", T.FLOAT, [2], [1.0, -2.0]),
        helper.make_tensor("i_f32_scalar", T.FLOAT, [], [3.0]),
        raw_tensor("i_f16", T.FLOAT16, [2], np.asarray([1.0, 0.5], "<f2").tobytes()),
        helper.make_tensor("i_f16_typed", T.FLOAT16, [2],
                           np.asarray([1.0, 0.5], "<f2").view(np.uint16).tolist()),
        helper.make_tensor("i_i64", T.INT64, [3], [1, -2, 1 << 40]),
        raw_tensor("i_i64_raw", T.INT64, [2], np.asarray([5, -6], "<i8").tobytes()),
        helper.make_tensor("i_i32", T.INT32, [2], [7, -8]),
        helper.make_tensor("i_i8", T.INT8, [2], [-128, 127]),
        raw_tensor("i_u8", T.UINT8, [3], b"\x00\x7f\xff"),
        helper.make_tensor("i_bool", T.BOOL, [2], [1, 0]),
        raw_tensor("i_empty", T.FLOAT, [0, 4], b""),
    ]
    dt = {t.name: t.data_type for t in inits}
    dims = {t.name: list(t.dims) for t in inits}
    nodes = [helper.make_node("Identity", [t.name], ["o_" + t.name], name="id_" + t.name)
             for t in inits]
    outs = [fvi("o_" + t.name, dims[t.name], dt[t.name]) for t in inits]
    write_model(outdir, "ok_dtypes.onnx", model_of(nodes, [], outs, inits), "OK", "*")
    # IR version 3: initializers are also listed among the graph inputs (as defaults).
    w = helper.make_tensor("W", T.FLOAT, [2], [0.5, -1.0])
    write_model(outdir, "ok_initializer_as_input.onnx",
                model_of([helper.make_node("Add", ["X", "W"], ["Y"], name="add0")],
                         [fvi("X", [2]), fvi("W", [2])], [fvi("Y", [2])], [w],
                         opsets=[helper.make_opsetid("", 9)], ir_version=3),
                "OK", "*")


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: gen_hostile_models.py OUTDIR\n")
        return 2
    outdir = sys.argv[1]
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    gen_bytes_cases(outdir)
    gen_initializer_cases(outdir)
    gen_graph_cases(outdir)
    gen_op_cases(outdir)
    gen_external_cases(outdir)
    gen_controls(outdir)
    with open(os.path.join(outdir, "cases.txt"), "w") as f:
        f.write("# FILENAME\tEXPECTED_CODE\tEXPECTED_SUBSTRING ('*': any message)\n")
        for name, code, sub in cases:
            assert "\t" not in name and "\t" not in sub
            f.write("%s\t%s\t%s\n" % (name, code, sub))
    print("gen_hostile_models: %d cases in %s" % (len(cases), outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
