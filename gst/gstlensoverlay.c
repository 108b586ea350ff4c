/* PLACEHOLDER until the element lands. */
#include <gst/gst.h>

gboolean gst_element_register_lensoverlay (GstPlugin * plugin);

gboolean
gst_element_register_lensoverlay (GstPlugin * plugin)
{
  return TRUE;
}
