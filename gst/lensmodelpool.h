/* The model registry of the Lens inference elements: one loaded lens_model and its sessions
 * (one per inference request in flight), shared by every element that names the same
 * model-instance-id (several camera branches, one copy of the weights), refcounted and
 * thread-safe. Elements without an instance id get a private entry with the same API. */
#ifndef LENS_GST_LENSMODELPOOL_H
#define LENS_GST_LENSMODELPOOL_H

#include <glib.h>

#include "lens/lens.h"

G_BEGIN_DECLS

typedef struct _LensModelPoolEntry LensModelPoolEntry;

/* The sessions an entry runs: created once by the first element, checked by the others. */
typedef struct {
  const gchar *device;         /* "cpu", "gpu", or a fallback list "gpu,cpu" */
  gint threads;                /* threads per request (>= 1) */
  guint n_sessions;            /* requests in flight (>= 1) */
  const gchar *input_name;     /* the image input */
  gint rank;
  gint64 dims[LENS_MAX_RANK];  /* its full shape, batch dimension included */
} LensModelPoolSessionConfig;

/* Returns the entry for instance_id (NULL or "": a private one) holding the model at path,
 * loading it if this is the first user. Fails (sets *error, returns NULL) when the file
 * cannot be loaded or the instance id is already bound to another model file. */
LensModelPoolEntry *lens_model_pool_acquire (const gchar * instance_id,
    const gchar * path, GError ** error);

/* Drops one reference; the last one frees the sessions and the model. NULL is ignored. */
void lens_model_pool_release (LensModelPoolEntry * entry);

const lens_model *lens_model_pool_entry_model (LensModelPoolEntry * entry);

/* Creates the entry's sessions the first time; later calls check that the shape matches
 * (sessions are shared, so their shape must be too). When the device list falls back, the
 * devices that failed are described in *fallback_note (free with g_free; NULL if none). */
gboolean lens_model_pool_entry_ensure_sessions (LensModelPoolEntry * entry,
    const LensModelPoolSessionConfig * config, gchar ** fallback_note,
    GError ** error);

/* Any one session, to read bound shapes (valid while the entry is held); NULL before
 * ensure_sessions succeeded. */
const lens_session *lens_model_pool_entry_peek_session (LensModelPoolEntry * entry);

/* Takes a free session, waiting while all are busy; give it back with _give_session. */
lens_session *lens_model_pool_entry_take_session (LensModelPoolEntry * entry);
void lens_model_pool_entry_give_session (LensModelPoolEntry * entry,
    lens_session * session);

/* For tests and debugging: how many times a model file has been loaded since the process
 * started, and how many shared (named) entries are alive. */
guint lens_model_pool_load_count (void);
guint lens_model_pool_shared_count (void);

#define LENS_MODEL_POOL_ERROR (lens_model_pool_error_quark ())
GQuark lens_model_pool_error_quark (void);

typedef enum {
  LENS_MODEL_POOL_ERROR_LOAD,          /* the model file could not be loaded */
  LENS_MODEL_POOL_ERROR_MISMATCH,      /* the instance id is bound to something else */
  LENS_MODEL_POOL_ERROR_SESSION,       /* a session could not be created */
} LensModelPoolError;

G_END_DECLS

#endif
