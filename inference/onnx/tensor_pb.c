/* TensorProto files (.pb), the format of ONNX's test data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_import.h"

lens_status *lens_tensor_load_pb(const char *path, lens_tensor *out, char **out_name) {
  if (!path || !out) return lens_error(LENS_ERR_INVALID_ARGUMENT, "path or out is NULL");
  memset(out, 0, sizeof *out);
  if (out_name) *out_name = NULL;
  uint8_t *data;
  size_t size;
  LENS_TRY(lens_read_file(path, (size_t)INT32_MAX, &data, &size));
  lens_status *st = lens_protobuf_check_depth(&onnx__tensor_proto__descriptor, data, size, 16);
  Onnx__TensorProto *tp = st ? NULL : onnx__tensor_proto__unpack(NULL, size, data);
  free(data);
  if (st) return lens_error_wrap(st, "%s: ", path);
  if (!tp) return lens_error(LENS_ERR_INVALID_MODEL, "%s: not a valid TensorProto", path);
  st = lens_onnx_tensor_from_proto(tp, NULL, path, out);
  if (!st && out_name && tp->name) {
    *out_name = lens_strdup(tp->name);
    if (!*out_name) {
      lens_tensor_free(out);
      st = lens_error_oom();
    }
  }
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return st;
}

lens_status *lens_tensor_save_pb(const char *path, const lens_tensor *t, const char *name) {
  if (!path || !t) return lens_error(LENS_ERR_INVALID_ARGUMENT, "path or tensor is NULL");
  if (t->rank < 0 || t->rank > LENS_MAX_RANK)
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "rank %d is out of range", t->rank);
  int64_t n = lens_tensor_elements(t);
  if (n < 0 || (size_t)n * lens_dtype_size(t->dtype) != t->nbytes || !lens_dtype_size(t->dtype))
    return lens_error(LENS_ERR_INVALID_ARGUMENT, "tensor shape, dtype and nbytes disagree");
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  int64_t dims[LENS_MAX_RANK];
  memcpy(dims, t->dims, sizeof dims);
  tp.n_dims = (size_t)t->rank;
  tp.dims = dims;
  tp.has_data_type = 1;
  tp.data_type = (int32_t)t->dtype;
  tp.name = (char *)(name ? name : "");
  tp.has_raw_data = 1;
  tp.raw_data.len = t->nbytes;
  tp.raw_data.data = t->data;
  size_t size = onnx__tensor_proto__get_packed_size(&tp);
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) return lens_error_oom();
  onnx__tensor_proto__pack(&tp, buf);
  FILE *f = fopen(path, "wb");
  lens_status *st = NULL;
  if (!f || fwrite(buf, 1, size, f) != size)
    st = lens_error(LENS_ERR_IO, "cannot write '%s'", path);
  if (f && fclose(f) != 0 && !st) st = lens_error(LENS_ERR_IO, "cannot write '%s'", path);
  free(buf);
  return st;
}

void lens_tensor_free(lens_tensor *t) {
  if (!t) return;
  free(t->data);
  t->data = NULL;
  t->nbytes = 0;
}

int64_t lens_tensor_elements(const lens_tensor *t) {
  int64_t n;
  if (!t || t->rank < 0 || t->rank > LENS_MAX_RANK || !lens_dims_product(t->dims, t->rank, &n))
    return -1;
  return n;
}
