/* Running a folder in ONNX's test layout (model.onnx + test_data_set_N/input_K.pb and
 * output_K.pb) and comparing outputs as numpy.allclose does. */
#ifndef LENS_TOOLS_TESTFOLDER_H
#define LENS_TOOLS_TESTFOLDER_H

#include <stdio.h>

#include "lens/lens.h"

typedef struct lens_compare_result {
  double max_abs;      /* largest |actual - expected| */
  double max_rel;      /* largest |actual - expected| / |expected| over nonzero expected */
  long long mismatches;/* elements outside atol + rtol * |expected| */
  long long first_bad; /* index of the first mismatch, -1 if none */
} lens_compare_result;

/* Compares two tensors; a dtype or shape difference is reported in the status. */
lens_status *lens_compare_tensors(const lens_tensor *actual, const lens_tensor *expected,
                                  double rtol, double atol, lens_compare_result *out);

typedef struct lens_folder_options {
  double rtol, atol;
  int threads;
  const char *device;
  int reference_only;
  FILE *log; /* per-output lines; NULL: quiet */
  const char *precision; /* session precision (NULL: fp32) */
  /* > 0: an output passes when max |actual - expected| <= range_tol * (max - min of
   * expected), in place of rtol/atol (for fp16, whose error scales with the values) */
  double range_tol;
} lens_folder_options;

/* Runs every test_data_set_* of the folder. *passed is 1 when every output of every data set
 * is within tolerance. The status is for errors that stop the run (load, session, run). */
lens_status *lens_run_test_folder(const char *folder, const lens_folder_options *o, int *passed);

#endif
