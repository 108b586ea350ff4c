/* ONNX import: protobuf-c unpacking, bounded and validated, into the graph IR. Every count,
 * dimension and byte size coming from the file is checked before it is used. */
#include "onnx/onnx_import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "raw_data is little-endian; a big-endian port must byte-swap it");

/* ---- protobuf nesting bound ------------------------------------------------------------- */

static bool read_varint(const uint8_t *p, size_t size, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= size) return false;
    uint8_t b = p[(*pos)++];
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

static lens_status *check_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
                                size_t size, size_t base, int depth, int max_depth) {
  if (depth > max_depth)
    return lens_error(LENS_ERR_INVALID_MODEL,
                      "protobuf messages nested deeper than %d at byte offset %zu", max_depth,
                      base);
  size_t pos = 0;
  while (pos < size) {
    size_t field_at = pos;
    uint64_t key;
    if (!read_varint(p, size, &pos, &key))
      return lens_error(LENS_ERR_INVALID_MODEL, "malformed protobuf field key at byte offset %zu",
                        base + field_at);
    unsigned wire = (unsigned)(key & 7);
    uint64_t number = key >> 3;
    uint64_t v;
    switch (wire) {
    case 0:
      if (!read_varint(p, size, &pos, &v))
        return lens_error(LENS_ERR_INVALID_MODEL, "malformed protobuf varint at byte offset %zu",
                          base + field_at);
      break;
    case 1:
    case 5: {
      size_t n = wire == 1 ? 8 : 4;
      if (size - pos < n)
        return lens_error(LENS_ERR_INVALID_MODEL, "protobuf field truncated at byte offset %zu",
                          base + field_at);
      pos += n;
      break;
    }
    case 2: {
      if (!read_varint(p, size, &pos, &v) || v > size - pos)
        return lens_error(LENS_ERR_INVALID_MODEL,
                          "protobuf field length runs past the end of the data at byte offset "
                          "%zu",
                          base + field_at);
      const ProtobufCFieldDescriptor *f =
          number <= UINT_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)number)
                             : NULL;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE)
        LENS_TRY(check_depth(f->descriptor, p + pos, (size_t)v, base + pos, depth + 1,
                             max_depth));
      pos += (size_t)v;
      break;
    }
    default:
      return lens_error(LENS_ERR_INVALID_MODEL,
                        "unsupported protobuf wire type %u at byte offset %zu", wire,
                        base + field_at);
    }
  }
  return NULL;
}

lens_status *lens_protobuf_check_depth(const ProtobufCMessageDescriptor *desc,
                                       const uint8_t *data, size_t size, int max_depth) {
  return check_depth(desc, data, size, 0, 0, max_depth);
}

/* ---- tensors ------------------------------------------------------------------------------ */

static bool dtype_supported(int32_t t) {
  switch (t) {
  case LENS_DTYPE_FLOAT32:
  case LENS_DTYPE_UINT8:
  case LENS_DTYPE_INT8:
  case LENS_DTYPE_INT32:
  case LENS_DTYPE_INT64:
  case LENS_DTYPE_BOOL:
  case LENS_DTYPE_FLOAT16:
    return true;
  default:
    return false;
  }
}

static const char *onnx_dtype_name(int32_t t) {
  static const char *names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",      "UINT16",
                                "INT16",     "INT32",  "INT64",     "STRING",    "BOOL",
                                "FLOAT16",   "DOUBLE", "UINT32",    "UINT64",    "COMPLEX64",
                                "COMPLEX128", "BFLOAT16"};
  if (t >= 0 && t < (int32_t)(sizeof names / sizeof names[0])) return names[t];
  return "unknown";
}

/* Opens base_dir/location for reading, refusing anything that could escape base_dir. */
static lens_status *open_external(const char *base_dir, const char *location, const char *what,
                                  int *out_fd, off_t *out_size) {
  if (!base_dir)
    return lens_error(LENS_ERR_INVALID_MODEL,
                      "%s: external data '%s' is not allowed for a model loaded from memory "
                      "without a base directory",
                      what, location);
  if (location[0] == '\0' || location[0] == '/')
    return lens_error(LENS_ERR_INVALID_MODEL,
                      "%s: external data location '%s' must be a relative path inside the "
                      "model's directory",
                      what, location);
  for (const char *c = location; *c;) {
    const char *slash = strchr(c, '/');
    size_t len = slash ? (size_t)(slash - c) : strlen(c);
    if ((len == 2 && c[0] == '.' && c[1] == '.') || memchr(c, '\\', len))
      return lens_error(LENS_ERR_INVALID_MODEL,
                        "%s: external data location '%s' leaves the model's directory", what,
                        location);
    c += len;
    if (*c == '/') c++;
  }
  char path[PATH_MAX];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", base_dir, location) >= sizeof path)
    return lens_error(LENS_ERR_INVALID_MODEL, "%s: external data path is too long", what);
  struct stat lst;
  if (lstat(path, &lst) != 0)
    return lens_error(LENS_ERR_IO, "%s: external data file '%s': %s", what, location,
                      strerror(errno));
  if (S_ISLNK(lst.st_mode))
    return lens_error(LENS_ERR_INVALID_MODEL,
                      "%s: external data file '%s' is a symbolic link, which is not allowed",
                      what, location);
  if (!S_ISREG(lst.st_mode))
    return lens_error(LENS_ERR_INVALID_MODEL, "%s: external data '%s' is not a regular file",
                      what, location);
  char real_base[PATH_MAX], real_file[PATH_MAX];
  if (!realpath(base_dir, real_base) || !realpath(path, real_file))
    return lens_error(LENS_ERR_IO, "%s: cannot resolve external data '%s': %s", what, location,
                      strerror(errno));
  size_t bl = strlen(real_base);
  if (strncmp(real_file, real_base, bl) != 0 || (real_file[bl] != '/' && bl > 1))
    return lens_error(LENS_ERR_INVALID_MODEL,
                      "%s: external data '%s' resolves outside the model's directory", what,
                      location);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return lens_error(LENS_ERR_IO, "%s: cannot open external data '%s': %s", what, location,
                      strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return lens_error(LENS_ERR_INVALID_MODEL, "%s: external data '%s' is not a regular file",
                      what, location);
  }
  *out_fd = fd;
  *out_size = st.st_size;
  return NULL;
}

static lens_status *parse_u64(const char *s, const char *key, const char *what, uint64_t *out) {
  char *end;
  errno = 0;
  if (!s[0] || s[0] == '-') goto bad;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) goto bad;
  *out = v;
  return NULL;
bad:
  return lens_error(LENS_ERR_INVALID_MODEL,
                    "%s: external data %s '%s' is not a non-negative integer", what, key, s);
}

/* Opens a tensor's external data and checks that nbytes at its offset lie inside the file,
 * before anything is allocated for it. */
static lens_status *open_external_data(const Onnx__TensorProto *tp, const char *base_dir,
                                       const char *what, size_t nbytes, int *out_fd,
                                       uint64_t *out_offset, const char **out_location) {
  const char *location = NULL;
  uint64_t offset = 0, length = 0;
  bool has_length = false;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (!e->key || !e->value) continue;
    if (strcmp(e->key, "location") == 0) location = e->value;
    else if (strcmp(e->key, "offset") == 0) LENS_TRY(parse_u64(e->value, "offset", what, &offset));
    else if (strcmp(e->key, "length") == 0) {
      LENS_TRY(parse_u64(e->value, "length", what, &length));
      has_length = true;
    }
  }
  if (!location)
    return lens_error(LENS_ERR_INVALID_MODEL, "%s: external data has no location", what);
  if (has_length && length != nbytes)
    return lens_error(LENS_ERR_INVALID_MODEL,
                      "%s: external data length %llu does not match the %zu bytes its shape "
                      "needs",
                      what, (unsigned long long)length, nbytes);
  int fd;
  off_t file_size;
  LENS_TRY(open_external(base_dir, location, what, &fd, &file_size));
  if (offset > (uint64_t)file_size || nbytes > (uint64_t)file_size - offset) {
    close(fd);
    return lens_error(LENS_ERR_INVALID_MODEL,
                      "%s: external data '%s' at offset %llu with %zu bytes runs past the end "
                      "of the %lld-byte file",
                      what, location, (unsigned long long)offset, nbytes, (long long)file_size);
  }
  *out_fd = fd;
  *out_offset = offset;
  *out_location = location;
  return NULL;
}

static lens_status *read_external_data(int fd, uint64_t offset, const char *location,
                                       const char *what, void *dst, size_t nbytes) {
  size_t done = 0;
  while (done < nbytes) {
    ssize_t n = pread(fd, (char *)dst + done, nbytes - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return lens_error(LENS_ERR_IO, "%s: reading external data '%s' at byte offset %llu: %s",
                        what, location, (unsigned long long)(offset + done),
                        n < 0 ? strerror(errno) : "unexpected end of file");
    done += (size_t)n;
  }
  return NULL;
}

lens_status *lens_onnx_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir,
                                         const char *what, lens_tensor *out) {
  memset(out, 0, sizeof *out);
  if (tp->segment)
    return lens_error(LENS_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", what);
  if (!dtype_supported(tp->data_type)) {
    /* a type ONNX defines but Lens lacks is unsupported; anything else is malformed */
    bool known = tp->data_type >= 1 && tp->data_type <= 16;
    return lens_error(known ? LENS_ERR_UNSUPPORTED : LENS_ERR_INVALID_MODEL,
                      "%s: data type %s (%d) is %s", what, onnx_dtype_name(tp->data_type),
                      (int)tp->data_type, known ? "not supported" : "not a valid tensor type");
  }
  if (tp->n_dims > LENS_MAX_RANK)
    return lens_error(LENS_ERR_UNSUPPORTED, "%s: rank %zu exceeds the maximum of %d", what,
                      tp->n_dims, LENS_MAX_RANK);
  lens_tensor t = {.dtype = (lens_dtype)tp->data_type, .rank = (int)tp->n_dims};
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0)
      return lens_error(LENS_ERR_INVALID_MODEL, "%s: dimension %zu is negative (%lld)", what, i,
                        (long long)tp->dims[i]);
    t.dims[i] = tp->dims[i];
  }
  int64_t count;
  size_t es = lens_dtype_size(t.dtype);
  char dbuf[200];
  if (!lens_dims_product(t.dims, t.rank, &count) || count > LENS_MAX_TENSOR_BYTES / (int64_t)es)
    return lens_error(LENS_ERR_INVALID_MODEL, "%s: shape %s is too large", what,
                      lens_format_dims(dbuf, sizeof dbuf, t.dims, t.rank));
  size_t n = (size_t)count, nbytes = n * es;
  t.nbytes = nbytes;

  /* Every size is checked against the data actually present before anything is allocated,
   * so a small file cannot make the loader reserve memory for a huge declared shape. */
  bool external =
      tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  int fd = -1;
  uint64_t ext_offset = 0;
  const char *ext_location = NULL;
  size_t have = 0;
  const char *field = NULL;
  if (external) {
    LENS_TRY(open_external_data(tp, base_dir, what, nbytes, &fd, &ext_offset, &ext_location));
  } else if (tp->has_raw_data) {
    if (tp->raw_data.len != nbytes)
      return lens_error(LENS_ERR_INVALID_MODEL,
                        "%s: raw_data has %zu bytes but shape %s of %s needs %zu", what,
                        tp->raw_data.len, lens_format_dims(dbuf, sizeof dbuf, t.dims, t.rank),
                        lens_dtype_name(t.dtype), nbytes);
  } else {
    switch (t.dtype) {
    case LENS_DTYPE_FLOAT32: have = tp->n_float_data; field = "float_data"; break;
    case LENS_DTYPE_INT64: have = tp->n_int64_data; field = "int64_data"; break;
    default: have = tp->n_int32_data; field = "int32_data"; break;
    }
    if (have != n)
      return lens_error(LENS_ERR_INVALID_MODEL, "%s: %s has %zu values but shape %s needs %zu",
                        what, field, have, lens_format_dims(dbuf, sizeof dbuf, t.dims, t.rank),
                        n);
  }
  /* one spare byte keeps malloc(0) from returning NULL for empty tensors */
  t.data = malloc(nbytes ? nbytes : 1);
  if (!t.data) {
    if (fd >= 0) close(fd);
    return lens_error(LENS_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu bytes", what, nbytes);
  }
  lens_status *st = NULL;
  if (external) {
    st = read_external_data(fd, ext_offset, ext_location, what, t.data, nbytes);
    close(fd);
  } else if (tp->has_raw_data) {
    if (nbytes) memcpy(t.data, tp->raw_data.data, nbytes);
  } else {
    for (size_t i = 0; i < n; i++) {
      switch (t.dtype) {
      case LENS_DTYPE_FLOAT32: ((float *)t.data)[i] = tp->float_data[i]; break;
      case LENS_DTYPE_INT64: ((int64_t *)t.data)[i] = tp->int64_data[i]; break;
      case LENS_DTYPE_INT32: ((int32_t *)t.data)[i] = tp->int32_data[i]; break;
      case LENS_DTYPE_INT8: ((int8_t *)t.data)[i] = (int8_t)tp->int32_data[i]; break;
      case LENS_DTYPE_UINT8: ((uint8_t *)t.data)[i] = (uint8_t)tp->int32_data[i]; break;
      case LENS_DTYPE_BOOL: ((uint8_t *)t.data)[i] = tp->int32_data[i] != 0; break;
      /* float16 travels as its bit pattern in int32_data */
      case LENS_DTYPE_FLOAT16: ((uint16_t *)t.data)[i] = (uint16_t)tp->int32_data[i]; break;
      default: break;
      }
    }
  }
  if (st) {
    free(t.data);
    return st;
  }
  *out = t;
  return NULL;
}

/* ---- names -------------------------------------------------------------------------------- */

/* Open-addressing map from tensor name to index, so imports stay linear in graph size. */
typedef struct name_map {
  int *slots; /* tensor index + 1; 0 = empty */
  size_t cap;
  const lens_graph *g;
} name_map;

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

static int map_find(const name_map *m, const char *name) {
  for (size_t i = hash_name(name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    int s = m->slots[i];
    if (!s) return -1;
    if (strcmp(m->g->tensors[s - 1].name, name) == 0) return s - 1;
  }
}

static lens_status *map_insert(name_map *m, int index) {
  if ((size_t)index * 2 >= m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 256;
    while ((size_t)index * 2 >= cap) cap *= 2;
    int *slots = calloc(cap, sizeof *slots);
    if (!slots) return lens_error_oom();
    int *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i]) {
        size_t j = hash_name(m->g->tensors[old[i] - 1].name) & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = old[i];
      }
    free(old);
  }
  size_t j = hash_name(m->g->tensors[index].name) & (m->cap - 1);
  while (m->slots[j]) j = (j + 1) & (m->cap - 1);
  m->slots[j] = index + 1;
  return NULL;
}

/* The index of name, creating an intermediate tensor if it is new. */
static lens_status *tensor_for_name(lens_graph *g, name_map *m, const char *name, int *out) {
  int i = m->cap ? map_find(m, name) : -1;
  if (i < 0) {
    LENS_TRY(lens_graph_add_tensor(g, name, &i));
    LENS_TRY(map_insert(m, i));
  }
  *out = i;
  return NULL;
}

/* ---- value infos, attributes, nodes -------------------------------------------------------- */

static lens_status *apply_value_info(lens_graph_tensor *t, const Onnx__ValueInfoProto *vi) {
  if (!vi->type) return NULL;
  if (vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    return lens_error(LENS_ERR_UNSUPPORTED, "tensor '%s': only tensor types are supported",
                      t->name);
  const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
  if (tt->has_elem_type && tt->elem_type != 0) {
    if (!dtype_supported(tt->elem_type))
      return lens_error(LENS_ERR_UNSUPPORTED, "tensor '%s': data type %s (%d) is not supported",
                        t->name, onnx_dtype_name(tt->elem_type), (int)tt->elem_type);
    t->dtype = (lens_dtype)tt->elem_type;
  }
  if (!tt->shape) return NULL;
  if (tt->shape->n_dim > LENS_MAX_RANK)
    return lens_error(LENS_ERR_UNSUPPORTED, "tensor '%s': rank %zu exceeds the maximum of %d",
                      t->name, tt->shape->n_dim, LENS_MAX_RANK);
  t->rank = (int)tt->shape->n_dim;
  for (size_t d = 0; d < tt->shape->n_dim; d++) {
    const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
    t->dims[d] = -1;
    if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (dim->dim_value < 0)
        return lens_error(LENS_ERR_INVALID_MODEL, "tensor '%s': dimension %zu is negative (%lld)",
                          t->name, d, (long long)dim->dim_value);
      t->dims[d] = dim->dim_value;
    } else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
               dim->dim_param && dim->dim_param[0]) {
      free(t->dim_params[d]);
      t->dim_params[d] = lens_strdup(dim->dim_param);
      if (!t->dim_params[d]) return lens_error_oom();
    }
  }
  return NULL;
}

static lens_status *import_attr(const Onnx__AttributeProto *ap, const char *base_dir,
                                const char *node_name, lens_attr *a) {
  if (!ap->name || !ap->name[0])
    return lens_error(LENS_ERR_INVALID_MODEL, "node '%s': an attribute has no name", node_name);
  a->name = lens_strdup(ap->name);
  if (!a->name) return lens_error_oom();
  lens_attr_type type = ap->has_type ? (lens_attr_type)ap->type : LENS_ATTR_UNDEFINED;
  if (type == LENS_ATTR_UNDEFINED) { /* IR < 3 files may omit the type: infer it */
    if (ap->n_floats) type = LENS_ATTR_FLOATS;
    else if (ap->n_ints) type = LENS_ATTR_INTS;
    else if (ap->n_strings) type = LENS_ATTR_STRINGS;
    else if (ap->t) type = LENS_ATTR_TENSOR;
    else if (ap->g) type = LENS_ATTR_GRAPH;
    else if (ap->has_s) type = LENS_ATTR_STRING;
    else if (ap->has_f) type = LENS_ATTR_FLOAT;
    else if (ap->has_i) type = LENS_ATTR_INT;
  }
  a->type = type;
  switch (type) {
  case LENS_ATTR_FLOAT: a->f = ap->f; break;
  case LENS_ATTR_INT: a->i = ap->i; break;
  case LENS_ATTR_STRING:
    a->s = lens_strndup((const char *)ap->s.data ? (const char *)ap->s.data : "", ap->s.len);
    if (!a->s) return lens_error_oom();
    a->s_len = ap->s.len;
    break;
  case LENS_ATTR_FLOATS:
    a->count = ap->n_floats;
    if (a->count) {
      a->floats = malloc(a->count * sizeof *a->floats);
      if (!a->floats) return lens_error_oom();
      memcpy(a->floats, ap->floats, a->count * sizeof *a->floats);
    }
    break;
  case LENS_ATTR_INTS:
    a->count = ap->n_ints;
    if (a->count) {
      a->ints = malloc(a->count * sizeof *a->ints);
      if (!a->ints) return lens_error_oom();
      memcpy(a->ints, ap->ints, a->count * sizeof *a->ints);
    }
    break;
  case LENS_ATTR_STRINGS:
    a->strings = calloc(ap->n_strings ? ap->n_strings : 1, sizeof *a->strings);
    if (!a->strings) return lens_error_oom();
    a->count = ap->n_strings;
    for (size_t i = 0; i < ap->n_strings; i++) {
      a->strings[i] = lens_strndup(ap->strings[i].data ? (const char *)ap->strings[i].data : "",
                                   ap->strings[i].len);
      if (!a->strings[i]) return lens_error_oom();
    }
    break;
  case LENS_ATTR_TENSOR: {
    if (!ap->t)
      return lens_error(LENS_ERR_INVALID_MODEL, "node '%s': tensor attribute '%s' has no tensor",
                        node_name, ap->name);
    char what[300];
    snprintf(what, sizeof what, "node '%s' attribute '%s'", node_name, ap->name);
    LENS_TRY(lens_onnx_tensor_from_proto(ap->t, base_dir, what, &a->t));
    break;
  }
  case LENS_ATTR_GRAPH:
    break; /* kept as a marker: operators with subgraphs are not supported */
  default:
    /* sparse tensors, type protos and lists of tensors/graphs: no supported op uses them */
    a->type = LENS_ATTR_UNDEFINED;
    break;
  }
  return NULL;
}

static lens_status *import_node(lens_graph *g, name_map *map, const Onnx__NodeProto *np,
                                int index, const Onnx__ModelProto *mp, const char *base_dir) {
  lens_node *node;
  LENS_TRY(lens_graph_add_node(g, &node));
  if (!np->op_type || !np->op_type[0])
    return lens_error(LENS_ERR_INVALID_MODEL, "node %d has no op_type", index);
  node->op_type = lens_strdup(np->op_type);
  node->domain = lens_strdup(np->domain && strcmp(np->domain, "ai.onnx") ? np->domain : "");
  if (np->name && np->name[0]) {
    node->name = lens_strdup(np->name);
  } else { /* unnamed nodes get a stable name for messages and profiles */
    char buf[320];
    snprintf(buf, sizeof buf, "%s_%d", np->op_type, index);
    node->name = lens_strdup(buf);
  }
  if (!node->op_type || !node->domain || !node->name) return lens_error_oom();
  node->opset = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
    if (strcmp(d, "ai.onnx") == 0) d = "";
    if (strcmp(d, node->domain) == 0) node->opset = mp->opset_import[i]->version;
  }
  if (node->opset < 0)
    return lens_node_error(node, LENS_ERR_INVALID_MODEL, "the model imports no opset for domain "
                                                         "'%s'",
                           node->domain);
  if (np->n_input > 1024 || np->n_output > 1024)
    return lens_node_error(node, LENS_ERR_UNSUPPORTED, "too many inputs or outputs");
  node->n_inputs = (int)np->n_input;
  node->n_outputs = (int)np->n_output;
  node->inputs = malloc((np->n_input ? np->n_input : 1) * sizeof *node->inputs);
  node->outputs = malloc((np->n_output ? np->n_output : 1) * sizeof *node->outputs);
  node->attrs = calloc(np->n_attribute ? np->n_attribute : 1, sizeof *node->attrs);
  if (!node->inputs || !node->outputs || !node->attrs) return lens_error_oom();
  for (size_t i = 0; i < np->n_input; i++) {
    node->inputs[i] = -1;
    if (np->input[i] && np->input[i][0]) {
      int t;
      LENS_TRY(tensor_for_name(g, map, np->input[i], &t));
      node->inputs[i] = t;
    }
  }
  for (size_t i = 0; i < np->n_output; i++) {
    node->outputs[i] = -1;
    if (np->output[i] && np->output[i][0]) {
      int t;
      LENS_TRY(tensor_for_name(g, map, np->output[i], &t));
      node->outputs[i] = t;
    }
  }
  for (size_t i = 0; i < np->n_attribute; i++) {
    node->n_attrs = (int)i + 1;
    LENS_TRY(import_attr(np->attribute[i], base_dir, node->name, &node->attrs[i]));
    for (size_t j = 0; j < i; j++)
      if (strcmp(node->attrs[j].name, node->attrs[i].name) == 0)
        return lens_node_error(node, LENS_ERR_INVALID_MODEL, "attribute '%s' appears twice",
                               node->attrs[i].name);
  }
  return NULL;
}

static lens_status *import_graph(const Onnx__ModelProto *mp, const char *base_dir, lens_graph *g,
                                 name_map *map) {
  const Onnx__GraphProto *gp = mp->graph;
  g->opset = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const char *d = mp->opset_import[i]->domain ? mp->opset_import[i]->domain : "";
    if (d[0] == '\0' || strcmp(d, "ai.onnx") == 0) g->opset = mp->opset_import[i]->version;
  }
  if (g->opset < 0)
    return lens_error(LENS_ERR_INVALID_MODEL, "the model imports no opset of the default ONNX "
                                              "domain");
  if (g->opset < LENS_OPSET_MIN || g->opset > LENS_OPSET_MAX)
    return lens_error(LENS_ERR_UNSUPPORTED,
                      "the model uses opset %lld of the ONNX domain; Lens supports %d to %d",
                      (long long)g->opset, LENS_OPSET_MIN, LENS_OPSET_MAX);
  if (gp->n_sparse_initializer)
    return lens_error(LENS_ERR_UNSUPPORTED, "sparse initializers are not supported");

  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    if (!tp->name || !tp->name[0])
      return lens_error(LENS_ERR_INVALID_MODEL, "initializer %zu has no name", i);
    if (map->cap && map_find(map, tp->name) >= 0)
      return lens_error(LENS_ERR_INVALID_MODEL, "initializer '%s' is defined twice", tp->name);
    int idx;
    LENS_TRY(lens_graph_add_tensor(g, tp->name, &idx));
    LENS_TRY(map_insert(map, idx));
    char what[300];
    snprintf(what, sizeof what, "initializer '%s'", tp->name);
    lens_tensor t;
    LENS_TRY(lens_onnx_tensor_from_proto(tp, base_dir, what, &t));
    lens_graph_tensor *gt = &g->tensors[idx];
    gt->kind = LENS_TENSOR_INITIALIZER;
    gt->dtype = t.dtype;
    gt->rank = t.rank;
    memcpy(gt->dims, t.dims, sizeof gt->dims);
    gt->data = t.data;
    gt->nbytes = t.nbytes;
  }

  g->inputs = malloc((gp->n_input ? gp->n_input : 1) * sizeof *g->inputs);
  g->outputs = malloc((gp->n_output ? gp->n_output : 1) * sizeof *g->outputs);
  if (!g->inputs || !g->outputs) return lens_error_oom();
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi->name || !vi->name[0])
      return lens_error(LENS_ERR_INVALID_MODEL, "graph input %zu has no name", i);
    int idx = map->cap ? map_find(map, vi->name) : -1;
    if (idx >= 0 && g->tensors[idx].kind == LENS_TENSOR_INITIALIZER)
      continue; /* IR < 4 lists initializers as inputs too; they stay constants */
    if (idx >= 0)
      return lens_error(LENS_ERR_INVALID_MODEL, "graph input '%s' is listed twice", vi->name);
    LENS_TRY(lens_graph_add_tensor(g, vi->name, &idx));
    LENS_TRY(map_insert(map, idx));
    g->tensors[idx].kind = LENS_TENSOR_INPUT;
    LENS_TRY(apply_value_info(&g->tensors[idx], vi));
    if (g->tensors[idx].dtype == LENS_DTYPE_UNDEFINED || g->tensors[idx].rank < 0)
      return lens_error(LENS_ERR_INVALID_MODEL, "graph input '%s' declares no tensor type and "
                                                "shape",
                        vi->name);
    g->inputs[g->n_inputs++] = idx;
  }

  for (size_t i = 0; i < gp->n_node; i++) LENS_TRY(import_node(g, map, gp->node[i], (int)i, mp,
                                                               base_dir));

  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    if (!vi->name || !vi->name[0])
      return lens_error(LENS_ERR_INVALID_MODEL, "graph output %zu has no name", i);
    int idx;
    LENS_TRY(tensor_for_name(g, map, vi->name, &idx));
    LENS_TRY(apply_value_info(&g->tensors[idx], vi));
    g->tensors[idx].is_output = true;
    g->outputs[g->n_outputs++] = idx;
  }
  if (g->n_outputs == 0) return lens_error(LENS_ERR_INVALID_MODEL, "the graph has no outputs");
  return NULL;
}

lens_status *lens_onnx_import(const uint8_t *data, size_t size, const char *base_dir,
                              lens_graph *g) {
  if (size == 0) return lens_error(LENS_ERR_INVALID_MODEL, "the model is empty (0 bytes)");
  LENS_TRY(lens_protobuf_check_depth(&onnx__model_proto__descriptor, data, size, 64));
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
  if (!mp)
    return lens_error(LENS_ERR_INVALID_MODEL,
                      "the data (%zu bytes) is not a valid ONNX protobuf ModelProto", size);
  lens_status *st = NULL;
  name_map map = {NULL, 0, g};
  if (!mp->graph)
    st = lens_error(LENS_ERR_INVALID_MODEL, "the model has no graph");
  else
    st = import_graph(mp, base_dir, g, &map);
  free(map.slots);
  onnx__model_proto__free_unpacked(mp, NULL);
  return st;
}
