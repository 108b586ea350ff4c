/* PLACEHOLDER until the element lands. */
#include <gst/gst.h>

gboolean gst_element_register_lenspublish (GstPlugin * plugin);

gboolean
gst_element_register_lenspublish (GstPlugin * plugin)
{
  return TRUE;
}
