/* The graph IR: named tensors and nodes over them, as imported and validated. */
#ifndef LENS_GRAPH_GRAPH_H
#define LENS_GRAPH_GRAPH_H

#include "core/status.h"

struct lens_op_def;

/* Values follow ONNX AttributeProto.AttributeType. */
typedef enum lens_attr_type {
  LENS_ATTR_UNDEFINED = 0,
  LENS_ATTR_FLOAT = 1,
  LENS_ATTR_INT = 2,
  LENS_ATTR_STRING = 3,
  LENS_ATTR_TENSOR = 4,
  LENS_ATTR_GRAPH = 5,
  LENS_ATTR_FLOATS = 6,
  LENS_ATTR_INTS = 7,
  LENS_ATTR_STRINGS = 8,
} lens_attr_type;

typedef struct lens_attr {
  char *name;
  lens_attr_type type;
  int64_t i;
  float f;
  char *s;          /* NUL-terminated copy; s_len excludes the terminator */
  size_t s_len;
  int64_t *ints;    /* count entries */
  float *floats;    /* count entries */
  char **strings;   /* count entries */
  size_t count;
  lens_tensor t;    /* LENS_ATTR_TENSOR: data owned by the attribute */
} lens_attr;

typedef struct lens_node {
  char *name;
  char *op_type;
  char *domain;                  /* "" for the default ONNX domain */
  const struct lens_op_def *def;
  int64_t opset;                 /* opset version of the node's domain */
  int n_inputs;
  int n_outputs;
  int *inputs;                   /* tensor index, or -1 for an omitted optional input */
  int *outputs;                  /* tensor index, or -1 for an omitted optional output */
  int n_attrs;
  lens_attr *attrs;
  void *params;                  /* parsed attributes, owned (freed with free()) */
} lens_node;

typedef enum lens_tensor_kind {
  LENS_TENSOR_INTERMEDIATE = 0,
  LENS_TENSOR_INPUT,
  LENS_TENSOR_INITIALIZER,
} lens_tensor_kind;

typedef struct lens_graph_tensor {
  char *name;
  lens_tensor_kind kind;
  lens_dtype dtype;              /* declared, or UNDEFINED until a session infers it */
  int rank;                      /* declared rank, -1 if not declared */
  int64_t dims[LENS_MAX_RANK];   /* -1 for symbolic or unknown */
  char *dim_params[LENS_MAX_RANK];
  void *data;                    /* initializer bytes (owned), NULL otherwise */
  size_t nbytes;
  int producer;                  /* index of the producing node, -1 if none */
  bool is_output;
} lens_graph_tensor;

typedef struct lens_graph {
  lens_graph_tensor *tensors;
  int n_tensors;
  int cap_tensors;
  lens_node *nodes;              /* topologically sorted by lens_graph_finalize */
  int n_nodes;
  int cap_nodes;
  int *inputs;                   /* tensor indices of real inputs (not initializers) */
  int n_inputs;
  int *outputs;
  int n_outputs;
  int64_t opset;                 /* opset of the default domain */
} lens_graph;

void lens_graph_init(lens_graph *g);
void lens_graph_free(lens_graph *g);
void lens_attr_clear(lens_attr *a);

/* Index of the tensor with this name, or -1. */
int lens_graph_find_tensor(const lens_graph *g, const char *name);
/* Adds a tensor named name (copied) and returns its index via *index. Fails on a duplicate. */
lens_status *lens_graph_add_tensor(lens_graph *g, const char *name, int *index);
/* Appends a zeroed node and returns a pointer to it (valid until the next add). */
lens_status *lens_graph_add_node(lens_graph *g, lens_node **out);

/* Validates the imported graph and orders it: binds each node to its operator and prepares
 * it (arity, attributes), checks single assignment, dangling inputs and outputs, then sorts
 * the nodes topologically (Kahn), failing on a cycle. */
lens_status *lens_graph_finalize(lens_graph *g);

/* "node 'name' (OpType): " style error. */
lens_status *lens_node_error(const lens_node *node, lens_status_code code, const char *fmt, ...)
    LENS_PRINTF(3, 4);

#endif
