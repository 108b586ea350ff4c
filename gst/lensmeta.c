/* LensLatencyMeta and LensTensorMeta registration and transforms. */
#include "lensmeta.h"

#include <string.h>

/* ---- latency ------------------------------------------------------------------------------ */

GType
lens_latency_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };
  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("LensLatencyMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
latency_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  LensLatencyMeta *m = (LensLatencyMeta *) meta;
  m->n_entries = 0;
  memset (m->entries, 0, sizeof m->entries);
  return TRUE;
}

static gboolean
latency_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer,
    GQuark type, gpointer data)
{
  LensLatencyMeta *src = (LensLatencyMeta *) meta;
  /* latency is a property of the frame's journey: copy it whatever the transform */
  LensLatencyMeta *dst = (LensLatencyMeta *) gst_buffer_add_meta (dest,
      LENS_LATENCY_META_INFO, NULL);
  if (!dst)
    return FALSE;
  dst->n_entries = src->n_entries;
  memcpy (dst->entries, src->entries, sizeof src->entries);
  return TRUE;
}

const GstMetaInfo *
lens_latency_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (LENS_LATENCY_META_API_TYPE,
        "LensLatencyMeta", sizeof (LensLatencyMeta), latency_meta_init, NULL,
        latency_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

LensLatencyEntry *
lens_buffer_add_latency_entry (GstBuffer * buffer, const gchar * element)
{
  LensLatencyMeta *m = gst_buffer_get_lens_latency_meta (buffer);
  if (!m)
    m = (LensLatencyMeta *) gst_buffer_add_meta (buffer, LENS_LATENCY_META_INFO, NULL);
  if (!m || m->n_entries >= LENS_LATENCY_MAX_ENTRIES)
    return NULL;
  LensLatencyEntry *e = &m->entries[m->n_entries++];
  memset (e, 0, sizeof *e);
  g_strlcpy (e->element, element ? element : "", sizeof e->element);
  return e;
}

/* ---- tensors ------------------------------------------------------------------------------ */

GType
lens_tensor_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };
  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("LensTensorMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
tensor_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  LensTensorMeta *m = (LensTensorMeta *) meta;
  m->model = NULL;
  m->n_tensors = 0;
  m->tensors = NULL;
  return TRUE;
}

static void
tensor_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  LensTensorMeta *m = (LensTensorMeta *) meta;
  for (guint i = 0; i < m->n_tensors; i++) {
    g_free (m->tensors[i].name);
    if (m->tensors[i].data)
      g_bytes_unref (m->tensors[i].data);
  }
  g_free (m->tensors);
  g_free (m->model);
}

static gboolean
tensor_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer,
    GQuark type, gpointer data)
{
  LensTensorMeta *src = (LensTensorMeta *) meta;
  LensTensorMeta *dst = lens_buffer_add_tensor_meta (dest, src->model,
      src->n_tensors);
  if (!dst)
    return FALSE;
  for (guint i = 0; i < src->n_tensors; i++) {
    dst->tensors[i] = src->tensors[i];
    dst->tensors[i].name = g_strdup (src->tensors[i].name);
    if (src->tensors[i].data)
      dst->tensors[i].data = g_bytes_ref (src->tensors[i].data);
  }
  return TRUE;
}

const GstMetaInfo *
lens_tensor_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (LENS_TENSOR_META_API_TYPE,
        "LensTensorMeta", sizeof (LensTensorMeta), tensor_meta_init,
        tensor_meta_free, tensor_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

LensTensorMeta *
lens_buffer_add_tensor_meta (GstBuffer * buffer, const gchar * model, guint n_tensors)
{
  LensTensorMeta *m = (LensTensorMeta *) gst_buffer_add_meta (buffer,
      LENS_TENSOR_META_INFO, NULL);
  if (!m)
    return NULL;
  m->model = g_strdup (model);
  m->n_tensors = n_tensors;
  m->tensors = g_new0 (LensTensor, n_tensors ? n_tensors : 1);
  return m;
}
