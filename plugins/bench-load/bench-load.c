/* bench-load.c: `bench-send USER COUNT SIZE INFLIGHT [--time-limit-ms MS]`,
 * a load generator inside a user node for tests/bench/chat-bench: COUNT
 * messages of SIZE bytes to USER through the messaging service, INFLIGHT at
 * a time, without a control-socket call per message, so that the generator
 * is not what limits the rate.  Not installed and not in the build's plugin
 * directory: a node loads it only when CHATD_PLUGIN_PATH (or --plugin-dir)
 * names build/plugins/bench-load.
 *
 * The result (a{sv}): requested, sent, delivered, failed, first-failure,
 * started-us and ended-us (monotonic: first send issued, last outcome), and
 * for each delivered message its id ("ids", as) and the time the messaging
 * service took it ("accepted-us", ax), in the same order.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <chatd/chatd-plugin.h>
#include <chatd/service-messaging.h>

#include <gmodule.h>
#include <string.h>

#define BENCH_LOAD_COUNT_MAX     10000000
#define BENCH_LOAD_SIZE_MAX      (1024 * 1024)
#define BENCH_LOAD_INFLIGHT_MAX  100000

typedef struct {
  const ChatdHost             *host;
  ChatdCall                   *call;
  const ChatdMessagingService *messaging;
  char                        *to;
  char                        *text;
  gint64                       count, issued, completed, delivered, failed, in_flight, inflight_max;
  gint64                       deadline_us, started_us, ended_us;
  GPtrArray                   *ids;
  GArray                      *accepted_us;
  char                        *first_failure;
  gboolean                     issuing;
} BenchLoad;

static void
bench_load_finish (BenchLoad *load)
{
  const ChatdHost *host = load->host;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "requested", g_variant_new_int64 (load->count));
  g_variant_builder_add (&b, "{sv}", "sent", g_variant_new_int64 (load->issued));
  g_variant_builder_add (&b, "{sv}", "delivered", g_variant_new_int64 (load->delivered));
  g_variant_builder_add (&b, "{sv}", "failed", g_variant_new_int64 (load->failed));
  if (load->first_failure != NULL)
    g_variant_builder_add (&b, "{sv}", "first-failure", g_variant_new_string (load->first_failure));
  g_variant_builder_add (&b, "{sv}", "started-us", g_variant_new_int64 (load->started_us));
  g_variant_builder_add (&b, "{sv}", "ended-us", g_variant_new_int64 (load->ended_us));
  g_ptr_array_add (load->ids, NULL);
  g_variant_builder_add (&b, "{sv}", "ids",
                         g_variant_new_strv ((const char *const *) load->ids->pdata, load->ids->len - 1));
  g_variant_builder_add (&b, "{sv}", "accepted-us",
                         g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, load->accepted_us->data,
                                                    load->accepted_us->len, sizeof (gint64)));
  host->call_return (load->call, g_variant_builder_end (&b));
  g_ptr_array_unref (load->ids);
  g_array_unref (load->accepted_us);
  g_free (load->first_failure);
  g_free (load->to);
  g_free (load->text);
  g_free (load);
}

static void bench_load_issue (BenchLoad *load);

static void
on_send_done (GVariant *result, const GError *error, gpointer user_data)
{
  BenchLoad *load = user_data;
  load->in_flight--;
  load->completed++;
  load->ended_us = g_get_monotonic_time ();
  g_autoptr(GVariant) first = result != NULL && g_variant_is_of_type (result, G_VARIANT_TYPE ("aa{sv}")) &&
                              g_variant_n_children (result) == 1 ? g_variant_get_child_value (result, 0) : NULL;
  /* one pass over the result's members (g_variant_lookup parses a format
   * string and scans the dictionary per key: a few microseconds a message,
   * charged to the node being measured) */
  const char *status = NULL, *id = NULL, *reason = NULL;
  gint64 accepted = 0;
  if (first != NULL && g_variant_is_of_type (first, G_VARIANT_TYPE_VARDICT))
    {
      gsize n = g_variant_n_children (first);
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) entry = g_variant_get_child_value (first, i);
          g_autoptr(GVariant) key = g_variant_get_child_value (entry, 0);
          g_autoptr(GVariant) boxed = g_variant_get_child_value (entry, 1);
          g_autoptr(GVariant) value = g_variant_get_variant (boxed);
          const char *name = g_variant_get_string (key, NULL);
          gboolean is_string = g_variant_is_of_type (value, G_VARIANT_TYPE_STRING);
          /* the strings stay valid: first holds them */
          if (is_string && g_str_equal (name, "status"))
            status = g_variant_get_string (value, NULL);
          else if (is_string && g_str_equal (name, "id"))
            id = g_variant_get_string (value, NULL);
          else if (is_string && g_str_equal (name, "reason"))
            reason = g_variant_get_string (value, NULL);
          else if (g_str_equal (name, "accepted-us") && g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
            accepted = g_variant_get_int64 (value);
        }
    }
  if (g_strcmp0 (status, "delivered") == 0 && id != NULL)
    {
      /* the messaging service's own time stamp if it gives one (else 0) */
      g_ptr_array_add (load->ids, g_strdup (id));
      g_array_append_val (load->accepted_us, accepted);
      load->delivered++;
    }
  else
    {
      load->failed++;
      if (load->first_failure == NULL)
        load->first_failure = g_strdup (error != NULL ? error->message
                                        : reason != NULL ? reason : "no delivery in the result");
    }
  bench_load_issue (load);
}

/* --time-limit-ms: no new send once those in flight would, at the rate so
 * far, end after it */
static gboolean
bench_load_in_time (BenchLoad *load)
{
  if (load->issued == 0 || load->deadline_us == 0)
    return TRUE;
  gint64 now = g_get_monotonic_time ();
  if (now >= load->deadline_us)
    return FALSE;
  if (load->completed == 0)
    return TRUE;
  double us_per_send = (now - load->started_us) / (double) load->completed;
  return now + (gint64) ((load->in_flight + 1) * us_per_send) < load->deadline_us;
}

static void
bench_load_issue (BenchLoad *load)
{
  if (load->issuing)   /* a send that ended at once, inside the loop below */
    return;
  load->issuing = TRUE;
  GCancellable *cancellable = load->host->call_get_cancellable (load->call);
  while (!g_cancellable_is_cancelled (cancellable) && load->issued < load->count &&
         load->in_flight < load->inflight_max && bench_load_in_time (load))
    {
      ChatdCall *send = load->host->call_new_internal (load->host, "bench-send", on_send_done, load);
      if (load->issued == 0)
        load->started_us = g_get_monotonic_time ();
      load->issued++;
      load->in_flight++;
      load->messaging->send (load->host, send, load->to, load->text);
    }
  load->issuing = FALSE;
  if (load->in_flight == 0)
    bench_load_finish (load);
}

static void
bench_send_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const char *to = NULL;
  gint64 count = 0, size = 0, inflight = 0, time_limit_ms = 0;
  g_variant_lookup (args, "user", "&s", &to);
  g_variant_lookup (args, "count", "x", &count);
  g_variant_lookup (args, "size", "x", &size);
  g_variant_lookup (args, "inflight", "x", &inflight);
  g_variant_lookup (args, "time-limit-ms", "x", &time_limit_ms);
  const ChatdMessagingService *messaging = host->get_service (host, CHATD_SERVICE_MESSAGING);
  g_autoptr(GError) error = NULL;
  if (!CHATD_HOST_HAS (host, call_new_internal))
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED, "this chatd has no internal calls");
  else if (messaging == NULL)
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED, "this node does not do messaging");
  else if (count < 1 || count > BENCH_LOAD_COUNT_MAX || size < 1 || size > BENCH_LOAD_SIZE_MAX ||
           inflight < 1 || inflight > BENCH_LOAD_INFLIGHT_MAX || time_limit_ms < 0)
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                 "COUNT 1..%d, SIZE 1..%d bytes, INFLIGHT 1..%d, --time-limit-ms at least 0",
                 BENCH_LOAD_COUNT_MAX, BENCH_LOAD_SIZE_MAX, BENCH_LOAD_INFLIGHT_MAX);
  if (error != NULL)
    {
      host->call_fail (call, error);
      return;
    }
  BenchLoad *load = g_new0 (BenchLoad, 1);
  load->host = host;
  load->call = call;
  load->messaging = messaging;
  load->to = g_strdup (to);
  load->text = g_malloc ((gsize) size + 1);
  for (gint64 i = 0; i < size; i++)
    load->text[i] = (char) ('a' + i % 26);
  load->text[size] = '\0';
  load->count = count;
  load->inflight_max = inflight;
  load->deadline_us = time_limit_ms > 0 ? g_get_monotonic_time () + time_limit_ms * 1000 : 0;
  load->ids = g_ptr_array_new_with_free_func (g_free);
  load->accepted_us = g_array_new (FALSE, FALSE, sizeof (gint64));
  bench_load_issue (load);
}

static char *
bench_send_render (GVariant *result)
{
  gint64 sent = 0, delivered = 0, failed = 0, started = 0, ended = 0;
  const char *failure = NULL;
  g_variant_lookup (result, "sent", "x", &sent);
  g_variant_lookup (result, "delivered", "x", &delivered);
  g_variant_lookup (result, "failed", "x", &failed);
  g_variant_lookup (result, "started-us", "x", &started);
  g_variant_lookup (result, "ended-us", "x", &ended);
  g_variant_lookup (result, "first-failure", "&s", &failure);
  double seconds = (ended - started) / 1e6;
  return g_strdup_printf ("%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " delivered in %.3f s (%.1f msgs/s), %"
                          G_GINT64_FORMAT " failed%s%s", delivered, sent, seconds,
                          seconds > 0 ? delivered / seconds : 0.0, failed, failure ? ": " : "",
                          failure ? failure : "");
}

static const ChatdOption bench_send_options[] = {
  { "time-limit-ms", CHATD_TYPE_INT, "MS",
    "send no new message once those in flight would end after MS milliseconds (0: no limit)" },
  { NULL }
};

static const ChatdArgument bench_send_arguments[] = {
  { "user", CHATD_TYPE_STRING, "the recipient", CHATD_ARG_REQUIRED },
  { "count", CHATD_TYPE_INT, "how many messages", CHATD_ARG_REQUIRED },
  { "size", CHATD_TYPE_INT, "bytes per message", CHATD_ARG_REQUIRED },
  { "inflight", CHATD_TYPE_INT, "messages in flight at once", CHATD_ARG_REQUIRED },
  { NULL }
};

static const ChatdCommand bench_send_command = {
  .name = "bench-send",
  .summary = "Benchmark load: send COUNT messages of SIZE bytes to USER, INFLIGHT at a time (chat-bench)",
  .roles = CHATD_ROLE_USER,
  .options = bench_send_options,
  .arguments = bench_send_arguments,
  .run = bench_send_run,
  .render = bench_send_render,
};

static gboolean
bench_load_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  return host->add_command (plugin, &bench_send_command, error);
}

CHATD_PLUGIN_DEFINE (bench_load_register)
