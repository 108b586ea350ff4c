/* ONNX protobuf -> graph IR. */
#ifndef LENS_ONNX_IMPORT_H
#define LENS_ONNX_IMPORT_H

#include "graph/graph.h"
#include "onnx.pb-c.h"

/* The oldest and newest default-domain opsets whose semantics Lens implements. */
#define LENS_OPSET_MIN 7
#define LENS_OPSET_MAX 17

/* Parses ONNX bytes into g (which must be initialised and empty). base_dir: directory that
 * external data must live in (NULL: external data is refused). Does not finalize. */
lens_status *lens_onnx_import(const uint8_t *data, size_t size, const char *base_dir,
                              lens_graph *g);

/* Converts a TensorProto into a dense tensor with owned data. what names it in errors. */
lens_status *lens_onnx_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir,
                                         const char *what, lens_tensor *out);

/* Rejects protobuf input whose message nesting is deeper than max_depth, before protobuf-c
 * (which recurses without a bound) unpacks it. */
lens_status *lens_protobuf_check_depth(const ProtobufCMessageDescriptor *desc,
                                       const uint8_t *data, size_t size, int max_depth);

#endif
