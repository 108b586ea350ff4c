/* Every element of the lens plugin, as GStreamer's generic states test does it: created from
 * its factory, taken NULL -> READY -> PAUSED -> PLAYING and back, repeatedly, with criticals
 * fatal. Inference elements are run twice: without a model they must refuse PAUSED cleanly
 * (an error message on the bus, no crash); with a real PaddleOCR model of their kind (the
 * detector for lensdetect, the direction classifier otherwise) they must reach PLAYING.
 *   test_generic_states [OCR_MODELS_DIR] */
#include <gst/check/gstcheck.h>

static const gchar *models_dir;


static gboolean
is_inference_element (const gchar * name)
{
  return g_str_equal (name, "lensinfer") || g_str_equal (name, "lensdetect")
      || g_str_equal (name, "lensclassify");
}

static GstStateChangeReturn
set_and_wait (GstElement * e, GstState state)
{
  GstStateChangeReturn ret = gst_element_set_state (e, state);
  if (ret == GST_STATE_CHANGE_ASYNC)
    ret = gst_element_get_state (e, NULL, NULL, 5 * GST_SECOND);
  return ret;
}

static void
cycle_element (const gchar * factory_name, gboolean with_model)
{
  GstElement *e = gst_element_factory_make (factory_name, NULL);
  GstBus *bus = gst_bus_new ();
  fail_unless (e != NULL, "cannot create %s", factory_name);
  gst_element_set_bus (e, bus);
  gboolean infer = is_inference_element (factory_name);
  if (infer && with_model) {
    gchar *model = g_build_filename (models_dir,
        g_str_equal (factory_name, "lensdetect") ? "ch_PP-OCRv4_det_infer.onnx" :
        "ch_ppocr_mobile_v2.0_cls_infer.onnx", NULL);
    g_object_set (e, "model", model, NULL);
    g_free (model);
  }
  for (int round = 0; round < 3; round++) {
    static const GstState up[] = { GST_STATE_READY, GST_STATE_PAUSED,
      GST_STATE_PLAYING
    };
    gboolean refused = FALSE;
    for (guint i = 0; i < G_N_ELEMENTS (up) && !refused; i++) {
      GstStateChangeReturn ret = set_and_wait (e, up[i]);
      if (ret == GST_STATE_CHANGE_FAILURE) {
        /* only an inference element without a model may refuse, and it must say why */
        fail_unless (infer && !with_model, "%s refused %s", factory_name,
            gst_element_state_get_name (up[i]));
        GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
        fail_unless (msg != NULL, "%s failed without an error message",
            factory_name);
        gst_message_unref (msg);
        refused = TRUE;
      }
    }
    if (infer && !with_model)
      fail_unless (refused, "%s started without a model", factory_name);
    fail_unless (set_and_wait (e, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE
        || refused);
    fail_unless_equals_int (set_and_wait (e, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    gst_bus_set_flushing (bus, TRUE);
    gst_bus_set_flushing (bus, FALSE);
  }
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
}

static GList *
lens_factories (void)
{
  GList *features = gst_registry_get_feature_list_by_plugin (gst_registry_get (),
      "lens");
  GList *names = NULL;
  for (GList * l = features; l; l = l->next)
    if (GST_IS_ELEMENT_FACTORY (l->data))
      names = g_list_prepend (names,
          g_strdup (gst_plugin_feature_get_name (l->data)));
  gst_plugin_feature_list_free (features);
  return g_list_sort (names, (GCompareFunc) g_strcmp0);
}

GST_START_TEST (test_every_element_is_registered)
{
  static const gchar *expected[] = { "lensclassify", "lensdetect", "lensfps",
    "lensinfer", "lensmetaconvert", "lensoverlay", "lenspublish"
  };
  GList *names = lens_factories ();
  fail_unless_equals_int (g_list_length (names), G_N_ELEMENTS (expected));
  guint i = 0;
  for (GList * l = names; l && i < G_N_ELEMENTS (expected); l = l->next, i++)
    fail_unless_equals_string (l->data, expected[i]);
  g_list_free_full (names, g_free);
}

GST_END_TEST;

GST_START_TEST (test_states_without_model)
{
  GList *names = lens_factories ();
  for (GList * l = names; l; l = l->next)
    cycle_element (l->data, FALSE);
  g_list_free_full (names, g_free);
}

GST_END_TEST;

GST_START_TEST (test_states_with_model)
{
  if (!models_dir || !g_file_test (models_dir, G_FILE_TEST_IS_DIR)) {
    g_print ("SKIP: no PaddleOCR models at %s\n", models_dir ? models_dir : "(none)");
    return;
  }
  GList *names = lens_factories ();
  for (GList * l = names; l; l = l->next)
    if (is_inference_element (l->data))
      cycle_element (l->data, TRUE);
  g_list_free_full (names, g_free);
}

GST_END_TEST;

static Suite *
states_suite (void)
{
  Suite *s = suite_create ("lens-generic-states");
  TCase *tc = tcase_create ("states");
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_every_element_is_registered);
  tcase_add_test (tc, test_states_without_model);
  tcase_add_test (tc, test_states_with_model);
  return s;
}

int
main (int argc, char **argv)
{
  models_dir = argc > 1 ? argv[1] : NULL;
  gst_check_init (NULL, NULL);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  Suite *s = states_suite ();
  SRunner *sr = srunner_create (s);
  srunner_run_all (sr, CK_NORMAL);
  int run = srunner_ntests_run (sr), failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  g_print ("%d passed, %d failed\n", run - failed, failed);
  return failed ? 1 : 0;
}
