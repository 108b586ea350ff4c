/* PLACEHOLDER until the element lands. */
#include <gst/gst.h>

gboolean gst_element_register_lensclassify (GstPlugin * plugin);

gboolean
gst_element_register_lensclassify (GstPlugin * plugin)
{
  return TRUE;
}
