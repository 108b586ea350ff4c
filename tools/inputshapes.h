/* Input shapes from the command line, shared by lens-bench and lens-analyze: parses
 * `-shape NAME=1,3,640,640` and resolves every model input's full shape from those, from
 * input tensors read from files, from a batch size (`-b`), and from the declared dims. */
#ifndef LENS_TOOLS_INPUTSHAPES_H
#define LENS_TOOLS_INPUTSHAPES_H

#include <lens/lens.h>

typedef struct lens_shape_arg {
  const char *name; /* points into the parsed argument (argv outlives it) */
  size_t name_len;
  int rank;
  int64_t dims[LENS_MAX_RANK];
} lens_shape_arg;

/* Parses "NAME=d0,d1,..." (each d a positive integer, at most LENS_MAX_RANK of them;
 * "NAME=" alone is a scalar). */
lens_status *lens_shape_arg_parse(const char *text, lens_shape_arg *out);

/* One resolved shape per model input. */
typedef struct lens_bound_shapes {
  size_t count;
  int64_t (*dims)[LENS_MAX_RANK];
  lens_input_shape *shapes; /* shapes[i].dims points into dims[i]; ready for session options */
} lens_bound_shapes;

/* Resolves the shape of every input of model, in this order of precedence: a -shape argument
 * naming the input, the tensor read for it (files[i], when files is not NULL), its declared
 * dims. batch > 0 sets the first dimension of every input of rank >= 1: a symbolic first dim
 * takes it, a fixed or given one that differs is an error; with batch == 0 a symbolic first
 * dim defaults to 1. Any other symbolic or unknown dim is an error that names it and says
 * which -shape to give. A -shape that names no input is an error. Free with
 * lens_bound_shapes_free. */
lens_status *lens_bind_input_shapes(const lens_model *model, const lens_shape_arg *args,
                                    size_t n_args, const lens_tensor *files, int64_t batch,
                                    lens_bound_shapes *out);
void lens_bound_shapes_free(lens_bound_shapes *bound);

/* Writes dims as "1x3x224x224" ("scalar" for rank 0, "?" for rank -1, "?" for a dim < 0). */
void lens_format_dims(char *buf, size_t size, int rank, const int64_t *dims);

/* Parses a whole decimal integer in [min, max]; returns 0 on success. */
int lens_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);

#endif /* LENS_TOOLS_INPUTSHAPES_H */
