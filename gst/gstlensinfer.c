/* PLACEHOLDER until the element lands. */
#include <gst/gst.h>

gboolean gst_element_register_lensinfer (GstPlugin * plugin);

gboolean
gst_element_register_lensinfer (GstPlugin * plugin)
{
  return TRUE;
}
