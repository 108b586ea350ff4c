/* The lens plugin: registers every Lens element. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "lensmeta.h"

GST_ELEMENT_REGISTER_DECLARE (lensinfer);
GST_ELEMENT_REGISTER_DECLARE (lensdetect);
GST_ELEMENT_REGISTER_DECLARE (lensclassify);
GST_ELEMENT_REGISTER_DECLARE (lensoverlay);
GST_ELEMENT_REGISTER_DECLARE (lensfps);
GST_ELEMENT_REGISTER_DECLARE (lensmetaconvert);
GST_ELEMENT_REGISTER_DECLARE (lenspublish);

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ok = TRUE;
  /* register the metas up front so that they exist before the first buffer */
  lens_latency_meta_get_info ();
  lens_tensor_meta_get_info ();
  ok &= GST_ELEMENT_REGISTER (lensinfer, plugin);
  ok &= GST_ELEMENT_REGISTER (lensdetect, plugin);
  ok &= GST_ELEMENT_REGISTER (lensclassify, plugin);
  ok &= GST_ELEMENT_REGISTER (lensoverlay, plugin);
  ok &= GST_ELEMENT_REGISTER (lensfps, plugin);
  ok &= GST_ELEMENT_REGISTER (lensmetaconvert, plugin);
  ok &= GST_ELEMENT_REGISTER (lenspublish, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, lens,
    "Lens video analytics: inference, detection, classification, overlay, FPS and metadata",
    plugin_init, PACKAGE_VERSION, "LGPL", "Lens", "https://example.invalid/lens")
