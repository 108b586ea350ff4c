/* The model registry of the Lens inference elements (see lensmodelpool.h). */
#include "lensmodelpool.h"

#include <string.h>

#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC (lens_model_pool_debug);
#define GST_CAT_DEFAULT lens_model_pool_debug

struct _LensModelPoolEntry
{
  gchar *instance_id;           /* NULL: private */
  gchar *path;                  /* canonical */
  lens_model *model;
  gint refcount;                /* under pool_lock */

  GMutex lock;                  /* protects everything below */
  GCond cond;
  gboolean have_sessions;
  LensModelPoolSessionConfig config;
  gchar *config_input_name;
  lens_session **sessions;
  guint n_sessions;
  GPtrArray *free_sessions;
};

static GMutex pool_lock;
static GHashTable *pool_shared;         /* instance id -> entry, under pool_lock */
static gint pool_load_count;            /* atomic */

G_DEFINE_QUARK (lens-model-pool-error-quark, lens_model_pool_error);

static void
pool_init_debug (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (lens_model_pool_debug, "lensmodelpool", 0,
        "Lens model registry");
    g_once_init_leave (&once, 1);
  }
}

static void
entry_free (LensModelPoolEntry * entry)
{
  for (guint i = 0; i < entry->n_sessions; i++)
    lens_session_free (entry->sessions[i]);
  g_free (entry->sessions);
  if (entry->free_sessions)
    g_ptr_array_unref (entry->free_sessions);
  lens_model_free (entry->model);
  g_free (entry->config_input_name);
  g_free (entry->instance_id);
  g_free (entry->path);
  g_mutex_clear (&entry->lock);
  g_cond_clear (&entry->cond);
  g_free (entry);
}

static LensModelPoolEntry *
entry_load (const gchar * path, GError ** error)
{
  lens_model *model = NULL;
  lens_status *st = lens_model_load_file (path, &model);
  g_atomic_int_inc (&pool_load_count);
  if (st) {
    g_set_error (error, LENS_MODEL_POOL_ERROR, LENS_MODEL_POOL_ERROR_LOAD,
        "%s", lens_status_message (st));
    lens_status_free (st);
    return NULL;
  }
  LensModelPoolEntry *entry = g_new0 (LensModelPoolEntry, 1);
  entry->model = model;
  entry->refcount = 1;
  g_mutex_init (&entry->lock);
  g_cond_init (&entry->cond);
  GST_DEBUG ("loaded model %s", path);
  return entry;
}

LensModelPoolEntry *
lens_model_pool_acquire (const gchar * instance_id, const gchar * path,
    GError ** error)
{
  pool_init_debug ();
  g_return_val_if_fail (path != NULL, NULL);
  gchar *canonical = g_canonicalize_filename (path, NULL);

  if (!instance_id || !*instance_id) {
    LensModelPoolEntry *entry = entry_load (canonical, error);
    if (entry)
      entry->path = canonical;
    else
      g_free (canonical);
    return entry;
  }

  g_mutex_lock (&pool_lock);
  if (!pool_shared)
    pool_shared = g_hash_table_new (g_str_hash, g_str_equal);
  LensModelPoolEntry *entry = g_hash_table_lookup (pool_shared, instance_id);
  if (entry) {
    if (strcmp (entry->path, canonical) != 0) {
      g_set_error (error, LENS_MODEL_POOL_ERROR, LENS_MODEL_POOL_ERROR_MISMATCH,
          "model-instance-id \"%s\" already holds %s, not %s", instance_id,
          entry->path, canonical);
      entry = NULL;
    } else {
      entry->refcount++;
      GST_DEBUG ("sharing model %s as \"%s\" (%d users)", canonical,
          instance_id, entry->refcount);
    }
    g_free (canonical);
    g_mutex_unlock (&pool_lock);
    return entry;
  }
  /* loading under the pool lock keeps a second user of the id from loading it again */
  entry = entry_load (canonical, error);
  if (entry) {
    entry->path = canonical;
    entry->instance_id = g_strdup (instance_id);
    g_hash_table_insert (pool_shared, entry->instance_id, entry);
  } else {
    g_free (canonical);
  }
  g_mutex_unlock (&pool_lock);
  return entry;
}

void
lens_model_pool_release (LensModelPoolEntry * entry)
{
  if (!entry)
    return;
  g_mutex_lock (&pool_lock);
  gboolean last = --entry->refcount == 0;
  if (last && entry->instance_id)
    g_hash_table_remove (pool_shared, entry->instance_id);
  g_mutex_unlock (&pool_lock);
  if (last)
    entry_free (entry);
}

const lens_model *
lens_model_pool_entry_model (LensModelPoolEntry * entry)
{
  return entry->model;
}

static gboolean
config_equal (const LensModelPoolSessionConfig * a,
    const LensModelPoolSessionConfig * b)
{
  if (a->rank != b->rank || strcmp (a->input_name, b->input_name) != 0)
    return FALSE;
  for (gint i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return FALSE;
  return TRUE;
}

static gchar *
describe_shape (const LensModelPoolSessionConfig * c)
{
  GString *s = g_string_new ("[");
  for (gint i = 0; i < c->rank; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", c->dims[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static lens_status *
create_sessions (LensModelPoolEntry * entry,
    const LensModelPoolSessionConfig * config, const gchar * device)
{
  lens_session_options opts;
  lens_session_options_init (&opts);
  opts.device = device;
  opts.threads = MAX (config->threads, 1);
  lens_input_shape shape = { config->input_name, config->rank, config->dims };
  opts.input_shapes = &shape;
  opts.n_input_shapes = 1;

  /* the requests of a CPU model hold its prepared weights once */
  gboolean share = device == NULL || g_strcmp0 (device, "cpu") == 0;
  entry->sessions = g_new0 (lens_session *, config->n_sessions);
  for (guint i = 0; i < config->n_sessions; i++) {
    opts.share_weights_with = share && i > 0 ? entry->sessions[0] : NULL;
    lens_status *st = lens_session_create (entry->model, &opts,
        &entry->sessions[i]);
    if (st) {
      for (guint j = 0; j < i; j++)
        lens_session_free (entry->sessions[j]);
      g_clear_pointer (&entry->sessions, g_free);
      return st;
    }
  }
  entry->n_sessions = config->n_sessions;
  return NULL;
}

gboolean
lens_model_pool_entry_ensure_sessions (LensModelPoolEntry * entry,
    const LensModelPoolSessionConfig * config, gchar ** fallback_note,
    GError ** error)
{
  gboolean ok = TRUE;
  g_return_val_if_fail (config->n_sessions > 0 && config->rank > 0
      && config->rank <= LENS_MAX_RANK && config->input_name, FALSE);
  if (fallback_note)
    *fallback_note = NULL;

  g_mutex_lock (&entry->lock);
  if (entry->have_sessions) {
    if (!config_equal (&entry->config, config)) {
      gchar *have = describe_shape (&entry->config);
      gchar *want = describe_shape (config);
      g_set_error (error, LENS_MODEL_POOL_ERROR, LENS_MODEL_POOL_ERROR_MISMATCH,
          "model-instance-id \"%s\" runs input %s with shape %s; this element "
          "needs %s (shared models need the same batch-size and input size)",
          entry->instance_id ? entry->instance_id : "", entry->config.input_name,
          have, want);
      g_free (have);
      g_free (want);
      ok = FALSE;
    } else if (config->n_sessions != entry->config.n_sessions
        || config->threads != entry->config.threads) {
      GST_INFO ("model-instance-id \"%s\": keeping the first user's %u "
          "requests of %d threads", entry->instance_id, entry->config.n_sessions,
          entry->config.threads);
    }
    g_mutex_unlock (&entry->lock);
    return ok;
  }

  const gchar *list = config->device && *config->device ? config->device : "cpu";
  gchar **devices = g_strsplit (list, ",", -1);
  GString *failures = g_string_new (NULL);
  lens_status *st = NULL;
  gboolean created = FALSE;
  for (gchar ** d = devices; *d; d++) {
    gchar *name = g_strstrip (*d);
    if (!*name)
      continue;
    lens_status_free (st);
    st = create_sessions (entry, config, name);
    if (!st) {
      created = TRUE;
      break;
    }
    g_string_append_printf (failures, "%s%s: %s", failures->len ? "; " : "",
        name, lens_status_message (st));
  }
  if (created) {
    entry->have_sessions = TRUE;
    entry->config = *config;
    entry->config_input_name = g_strdup (config->input_name);
    entry->config.input_name = entry->config_input_name;
    entry->config.device = NULL;
    entry->free_sessions = g_ptr_array_new ();
    for (guint i = 0; i < entry->n_sessions; i++)
      g_ptr_array_add (entry->free_sessions, entry->sessions[i]);
    if (failures->len && fallback_note)
      *fallback_note = g_strdup (failures->str);
  } else {
    g_set_error (error, LENS_MODEL_POOL_ERROR, LENS_MODEL_POOL_ERROR_SESSION,
        "%s", failures->len ? failures->str : "no device given");
    ok = FALSE;
  }
  lens_status_free (st);
  g_string_free (failures, TRUE);
  g_strfreev (devices);
  g_mutex_unlock (&entry->lock);
  return ok;
}

const lens_session *
lens_model_pool_entry_peek_session (LensModelPoolEntry * entry)
{
  g_mutex_lock (&entry->lock);
  const lens_session *s = entry->n_sessions ? entry->sessions[0] : NULL;
  g_mutex_unlock (&entry->lock);
  return s;
}

lens_session *
lens_model_pool_entry_take_session (LensModelPoolEntry * entry)
{
  g_mutex_lock (&entry->lock);
  while (entry->free_sessions->len == 0)
    g_cond_wait (&entry->cond, &entry->lock);
  lens_session *s = g_ptr_array_steal_index_fast (entry->free_sessions,
      entry->free_sessions->len - 1);
  g_mutex_unlock (&entry->lock);
  return s;
}

void
lens_model_pool_entry_give_session (LensModelPoolEntry * entry,
    lens_session * session)
{
  g_mutex_lock (&entry->lock);
  g_ptr_array_add (entry->free_sessions, session);
  g_cond_signal (&entry->cond);
  g_mutex_unlock (&entry->lock);
}

guint
lens_model_pool_load_count (void)
{
  return (guint) g_atomic_int_get (&pool_load_count);
}

guint
lens_model_pool_shared_count (void)
{
  g_mutex_lock (&pool_lock);
  guint n = pool_shared ? g_hash_table_size (pool_shared) : 0;
  g_mutex_unlock (&pool_lock);
  return n;
}
