/* liblens built without OpenCL: no device "gpu", and the device list is empty. */
#include "core/backend.h"
#include "core/status.h"

const lens_backend *lens_opencl_backend(void) { return NULL; }

lens_status *lens_device_count(size_t *count) {
  if (!count) return lens_error(LENS_ERR_INVALID_ARGUMENT, "count is NULL");
  *count = 0;
  return NULL;
}

lens_status *lens_device_get_info(size_t index, lens_device_info *out) {
  (void)out;
  return lens_error(LENS_ERR_UNSUPPORTED,
                    "device %zu: liblens was built without OpenCL (install ocl-icd-opencl-dev "
                    "and opencl-c-headers, then reconfigure)", index);
}
