/* One JSON line per frame from the Lens metadata on a buffer, and the custom meta that
 * carries it from lensmetaconvert to lenspublish.
 *
 * The line (no newline, one object):
 *   {"timestamp": <pts ns or null>, "stream": <stream-id or null>, "frame": <n>,
 *    "width": <px>, "height": <px>,
 *    "objects": [{"id": <roi id>, "parent_id": <when set>, "roi_type": "...",
 *                 "full_frame": <bool>,
 *                 "box": {"x", "y", "w", "h" (pixels),
 *                         "normalized": {"x", "y", "w", "h"} (fractions of the frame)},
 *                 "label": "...", "label_id": <int, when known>,
 *                 "confidence": <double, when known>,
 *                 "classifications": {<classifier>: {"label", "label_id", "confidence",
 *                                                    "text", ... every field}}}],
 *    "latency": {<element>: {"preprocess_ms", "wait_ms", "inference_ms",
 *                            "postprocess_ms"}}}
 *
 * Strings that are not UTF-8 are repaired; NaN and infinities become null; doubles are
 * printed in their shortest exact form and always with a '.' or exponent.
 *
 * The meta is a GstCustomMeta named LENS_JSON_META_NAME whose structure holds the line in
 * the string field LENS_JSON_META_FIELD. */
#ifndef LENS_GST_LENSJSON_H
#define LENS_GST_LENSJSON_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define LENS_JSON_META_NAME "LensJsonMeta"
#define LENS_JSON_META_FIELD "json"

/* What the JSON of a frame needs besides the buffer: kept per element from the stream's
 * events and caps. */
typedef struct _LensJsonStreamState
{
  gchar *stream_id;             /* from STREAM_START, NULL before one */
  gint width, height;           /* from caps, 0 when unknown */
  guint64 frames;               /* frames serialised since the last reset */
} LensJsonStreamState;

/* Registers the custom meta (idempotent, thread-safe). */
const GstMetaInfo *lens_json_meta_get_info (void);

/* Stores the line on the buffer, replacing an existing one; the buffer must be writable. */
void lens_buffer_set_json (GstBuffer * buffer, const gchar * json);

/* The line on the buffer, or NULL; valid while the buffer is. */
const gchar *lens_buffer_get_json (GstBuffer * buffer);

void lens_json_stream_state_reset (LensJsonStreamState * state);

/* Updates the state from a STREAM_START or CAPS event; other events are ignored. */
void lens_json_stream_state_handle_event (LensJsonStreamState * state,
    GstEvent * event);

/* The frame's JSON line (g_free it); increments state->frames. */
gchar *lens_json_from_buffer (GstBuffer * buffer, LensJsonStreamState * state);

G_END_DECLS

#endif
