/* PLACEHOLDER until the element lands. */
#include <gst/gst.h>

gboolean gst_element_register_lensfps (GstPlugin * plugin);

gboolean
gst_element_register_lensfps (GstPlugin * plugin)
{
  return TRUE;
}
