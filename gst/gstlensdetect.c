/* PLACEHOLDER until the element lands. */
#include <gst/gst.h>

gboolean gst_element_register_lensdetect (GstPlugin * plugin);

gboolean
gst_element_register_lensdetect (GstPlugin * plugin)
{
  return TRUE;
}
