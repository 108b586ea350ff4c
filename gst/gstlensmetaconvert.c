/* PLACEHOLDER until the element lands. */
#include <gst/gst.h>

gboolean gst_element_register_lensmetaconvert (GstPlugin * plugin);

gboolean
gst_element_register_lensmetaconvert (GstPlugin * plugin)
{
  return TRUE;
}
