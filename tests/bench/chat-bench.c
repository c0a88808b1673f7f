/* chat-bench.c: messages between two real user nodes (issue 6, "Benchmark").
 *
 *   build/tests/bench/chat-bench [--quick] [--suites rsa,25519] [--sizes 100,4096] ...
 *
 * For each crypto suite: one `chatd --server` whose seeded users have keys of
 * that suite ([server] user-suite), and two user nodes, Alice and Bob, logged
 * in with --daemon.  This process sends Alice -> Bob over Alice's control
 * socket (D-Bus `Run send`, as chatctl does, but without a process per
 * message), one message in flight and K in flight over C connections, and
 * follows Bob's events (`FollowBatched`).  The latency is measured inside the
 * daemons: from "accepted-us" (Alice's node took the send call) to
 * "stored-us" (Bob's node committed the message), both CLOCK_MONOTONIC, so
 * comparable between processes on one machine.  msgs/s is the daemons' own
 * rate (messages / (last stored - first accepted)); client/s what this
 * process saw (messages / (first call - last reply)).  CPU per 1000
 * messages of each daemon from /proc/PID/stat.  Then Bob's inbox must hold
 * every delivered message exactly once.  The control path's own ceiling
 * (Run calls per second of a trivial command with the same K and C) is
 * printed under the table.
 *
 * Exit status 1 if a send failed, a message did not reach Bob's events, or
 * Bob's inbox does not hold every message exactly once.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "bench-server.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifndef LOGIN_BENCH_CHATD
#define LOGIN_BENCH_CHATD "chatd"
#endif
#ifndef LOGIN_BENCH_CHATCTL
#define LOGIN_BENCH_CHATCTL "chatctl"
#endif
#ifndef LOGIN_BENCH_PLUGIN_DIR
#define LOGIN_BENCH_PLUGIN_DIR "."
#endif
#ifndef CHAT_BENCH_LOAD_DIR
#define CHAT_BENCH_LOAD_DIR NULL
#endif

#define CONTROL_PATH        "/org/chatd/Control"
#define CONTROL_INTERFACE   "org.chatd.Control1"
/* the daemon refuses more calls in flight on one connection (control-server.h) */
#define CALLS_PER_CONNECTION_MAX 64
#define CONNECTIONS_MAX     64
#define EVENT_WAIT_US       (15 * G_USEC_PER_SEC)
#define WARMUP_MESSAGES     2

typedef struct {
  gboolean quick;
  char    *suites, *sizes, *modes, *generators;
  gint     reps, inflight, connections, seq_messages, many_messages;
  double   time_limit_s;
  char    *chatd, *chatctl, *plugin_dir, *load_dir;
} Options;

/* one measurement's outcome; the table shows the median of each column */
typedef struct {
  guint  messages;        /* delivered and seen stored at Bob */
  double rate, client_rate;
  double p50_ms, p99_ms, p999_ms;
  double alice_cpu_1k, bob_cpu_1k, server_cpu_1k;
} Sample;

typedef struct {
  const char *mode, *suite, *generator;
  gsize       size;
  guint       inflight;
  Sample      median;
  guint       reps;
} Row;

/* the nodes of one suite and this process's connections to them */
typedef struct {
  BenchServer     *server;
  BenchUser       *alice, *bob;
  GDBusConnection *to_alice[CONNECTIONS_MAX];
  guint            n_to_alice;
  GDBusConnection *to_bob;
  guint            event_subscription;
  GHashTable      *stored;      /* message id -> gint64* stored-us, from Bob's message events */
  guint            doubled;     /* message events seen twice for one id */
  guint            delivered;   /* sends answered "delivered", warm-up included */
} Link;

typedef struct {
  char   id[40];
  gint64 accepted_us;
} Sent;

/* K calls in flight over the link's connections */
typedef struct {
  Link       *link;
  const char *command;
  GVariant   *args;           /* owned */
  gboolean    is_send;
  guint       target, issued, completed, failed, in_flight, inflight_max;
  guint       per_connection[CONNECTIONS_MAX];
  gint64      deadline_us;    /* no new call after this */
  gint64      first_call_us, last_reply_us;
  GArray     *sent;           /* Sent, of delivered messages */
  char       *first_failure;
} Load;

typedef struct {
  Load *load;
  guint connection;
} CallTag;

static gboolean
connect_node (const char *socket_path, GDBusConnection **ret, GError **error)
{
  g_autofree char *escaped = g_dbus_address_escape_value (socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);
  GDBusConnection *connection =
    g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                            NULL, NULL, error);
  if (connection == NULL)
    return FALSE;
  g_dbus_connection_set_exit_on_close (connection, FALSE);
  *ret = connection;
  return TRUE;
}

/* Events (a(ssa{sv}s)): a batch of (id, kind, data, text) */
static void
on_bob_events (GDBusConnection *connection, const char *sender, const char *path, const char *interface,
               const char *signal, GVariant *parameters, gpointer user_data)
{
  Link *link = user_data;
  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a(ssa{sv}s))")))
    return;
  g_autoptr(GVariant) events = g_variant_get_child_value (parameters, 0);
  GVariantIter iter;
  const char *kind = NULL, *id = NULL;
  GVariant *data;
  g_variant_iter_init (&iter, events);
  while (g_variant_iter_next (&iter, "(&s&s@a{sv}&s)", NULL, &kind, &data, NULL))
    {
      g_autoptr(GVariant) owned = data;
      gint64 stored_us = 0;
      if (!g_str_equal (kind, "message") || !g_variant_lookup (data, "id", "&s", &id) ||
          !g_variant_lookup (data, "stored-us", "x", &stored_us))
        continue;
      if (g_hash_table_contains (link->stored, id))
        {
          link->doubled++;
          continue;
        }
      g_hash_table_insert (link->stored, g_strdup (id), g_memdup2 (&stored_us, sizeof stored_us));
    }
}

static void load_issue (Load *load);

static void
on_call_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree CallTag *tag = user_data;
  Load *load = tag->load;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  load->last_reply_us = g_get_monotonic_time ();
  load->in_flight--;
  load->per_connection[tag->connection]--;
  load->completed++;
  g_autoptr(GVariant) value = NULL;
  if (reply != NULL)
    g_variant_get (reply, "(vs)", &value, NULL);
  if (reply != NULL && load->is_send)
    {
      g_autoptr(GVariant) first = g_variant_is_of_type (value, G_VARIANT_TYPE ("aa{sv}")) &&
                                  g_variant_n_children (value) == 1 ? g_variant_get_child_value (value, 0) : NULL;
      const char *status = NULL, *id = NULL;
      Sent sent = { { 0 } };
      if (first != NULL && g_variant_lookup (first, "status", "&s", &status) && g_str_equal (status, "delivered") &&
          g_variant_lookup (first, "id", "&s", &id) && g_variant_lookup (first, "accepted-us", "x", &sent.accepted_us))
        {
          g_strlcpy (sent.id, id, sizeof sent.id);
          g_array_append_val (load->sent, sent);
          load->link->delivered++;
        }
      else
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "send answered without delivery (status %s%s)",
                     status ? status : "?", first == NULL ? ", no result" : "");
    }
  if (error != NULL)
    {
      load->failed++;
      if (load->first_failure == NULL)
        load->first_failure = g_strdup (error->message);
    }
  load_issue (load);
}

/* the time limit: no new call once the ones in flight would, at the rate
 * so far, end after it (so a run takes about the limit, even when slow) */
static gboolean
load_in_time (Load *load)
{
  if (load->issued == 0)
    return TRUE;
  gint64 now = g_get_monotonic_time ();
  if (now >= load->deadline_us)
    return FALSE;
  if (load->completed == 0)
    return TRUE;
  double us_per_call = (now - load->first_call_us) / (double) load->completed;
  return now + (gint64) ((load->in_flight + 1) * us_per_call) < load->deadline_us;
}

static void
load_issue (Load *load)
{
  while (load->issued < load->target && load->in_flight < load->inflight_max && load_in_time (load))
    {
      guint best = 0;
      for (guint c = 1; c < load->link->n_to_alice; c++)
        if (load->per_connection[c] < load->per_connection[best])
          best = c;
      CallTag *tag = g_new0 (CallTag, 1);
      tag->load = load;
      tag->connection = best;
      if (load->issued == 0)
        load->first_call_us = g_get_monotonic_time ();
      load->issued++;
      load->in_flight++;
      load->per_connection[best]++;
      /* a send waits on the network: no D-Bus timeout, as in chatctl */
      g_dbus_connection_call (load->link->to_alice[best], NULL, CONTROL_PATH, CONTROL_INTERFACE, "Run",
                              g_variant_new ("(s@a{sv})", load->command, load->args), G_VARIANT_TYPE ("(vs)"),
                              G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, on_call_done, tag);
    }
}

/* runs the calls; TRUE if every one succeeded */
static gboolean
load_run (Load *load)
{
  load_issue (load);
  while (load->in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
  return load->failed == 0;
}

static void
load_clear (Load *load)
{
  g_clear_pointer (&load->args, g_variant_unref);
  g_clear_pointer (&load->sent, g_array_unref);
  g_clear_pointer (&load->first_failure, g_free);
}

static GVariant *
send_args (const char *text)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "user", g_variant_new_string ("Bob"));
  g_variant_builder_add (&b, "{sv}", "message", g_variant_new_string (text));
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static char *
message_text (gsize size)
{
  char *text = g_malloc (size + 1);
  g_snprintf (text, size + 1, "chat-bench %zu bytes ", size);
  gsize head = strlen (text);
  for (gsize i = head; i < size; i++)
    text[i] = (char) ('a' + i % 26);
  text[size] = '\0';
  return text;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* the value below which a fraction q of the sorted values lie (nearest rank) */
static double
percentile (const double *sorted, guint n, double q)
{
  if (n == 0)
    return NAN;
  guint rank = (guint) ceil (q * n);
  return sorted[CLAMP (rank, 1, n) - 1];
}

static double
median (double *values, guint n)
{
  if (n == 0)
    return NAN;
  qsort (values, n, sizeof *values, compare_double);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static gboolean
cpu_of (gint pid, double *ret_cpu_s, GError **error)
{
  BenchProcSample sample;
  if (!bench_proc_sample (pid, &sample, error))
    return FALSE;
  *ret_cpu_s = sample.cpu_s;
  return TRUE;
}

/* waits until Bob's events hold every sent id */
static guint
wait_stored (Link *link, GArray *sent)
{
  gint64 deadline = g_get_monotonic_time () + EVENT_WAIT_US;
  guint seen = 0;
  for (;;)
    {
      seen = 0;
      for (guint i = 0; i < sent->len; i++)
        seen += g_hash_table_contains (link->stored, g_array_index (sent, Sent, i).id);
      if (seen == sent->len || g_get_monotonic_time () > deadline)
        return seen;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* the generator inside Alice's node: one `bench-send` call (plugins/bench-load) */
static gboolean
run_in_node (Load *load, gsize size, double time_limit_s)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "user", g_variant_new_string ("Bob"));
  g_variant_builder_add (&b, "{sv}", "count", g_variant_new_int64 (load->target));
  g_variant_builder_add (&b, "{sv}", "size", g_variant_new_int64 ((gint64) size));
  g_variant_builder_add (&b, "{sv}", "inflight", g_variant_new_int64 (load->inflight_max));
  g_variant_builder_add (&b, "{sv}", "time-limit-ms", g_variant_new_int64 ((gint64) (time_limit_s * 1000)));
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (load->link->to_alice[0], NULL, CONTROL_PATH,
                                                           CONTROL_INTERFACE, "Run",
                                                           g_variant_new ("(s@a{sv})", "bench-send",
                                                                          g_variant_builder_end (&b)),
                                                           G_VARIANT_TYPE ("(vs)"), G_DBUS_CALL_FLAGS_NONE,
                                                           G_MAXINT, NULL, &error);
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GVariant) ids = NULL, accepted = NULL;
  gint64 sent = 0, failed = 0;
  const char *failure = NULL;
  if (reply != NULL)
    {
      g_variant_get (reply, "(vs)", &result, NULL);
      if (!g_variant_is_of_type (result, G_VARIANT_TYPE_VARDICT) ||
          !g_variant_lookup (result, "sent", "x", &sent) || !g_variant_lookup (result, "failed", "x", &failed) ||
          !g_variant_lookup (result, "started-us", "x", &load->first_call_us) ||
          !g_variant_lookup (result, "ended-us", "x", &load->last_reply_us) ||
          (ids = g_variant_lookup_value (result, "ids", G_VARIANT_TYPE_STRING_ARRAY)) == NULL ||
          (accepted = g_variant_lookup_value (result, "accepted-us", G_VARIANT_TYPE ("ax"))) == NULL ||
          g_variant_n_children (ids) != g_variant_n_children (accepted))
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "bench-send: a malformed result");
      g_variant_lookup (result, "first-failure", "&s", &failure);
    }
  if (error != NULL)
    {
      load->failed = MAX (load->failed, 1);
      load->first_failure = g_strdup (error->message);
      return FALSE;
    }
  gsize n = 0;
  const gint64 *times = g_variant_get_fixed_array (accepted, &n, sizeof (gint64));
  for (gsize i = 0; i < n; i++)
    {
      Sent s = { .accepted_us = times[i] };
      g_autoptr(GVariant) id = g_variant_get_child_value (ids, i);
      g_strlcpy (s.id, g_variant_get_string (id, NULL), sizeof s.id);
      g_array_append_val (load->sent, s);
    }
  load->link->delivered += (guint) n;
  load->issued = (guint) sent;
  load->failed = (guint) failed;
  if (failure != NULL)
    load->first_failure = g_strdup (failure);
  return failed == 0;
}

/* one measurement: up to `messages` sends of `size` bytes with `inflight`
 * in flight, from this process over Alice's control socket or (in_node)
 * from inside Alice's node */
static gboolean
measure (Link *link, const Options *o, gboolean in_node, gsize size, guint inflight, guint messages,
         Sample *ret, GError **error)
{
  g_autofree char *text = message_text (size);
  Load load = {
    .link = link, .command = "send", .args = send_args (text), .is_send = TRUE, .target = messages,
    .inflight_max = inflight, .sent = g_array_new (FALSE, FALSE, sizeof (Sent)),
  };
  double cpu0[3], cpu1[3];
  gint pids[3] = { link->alice->pid, link->bob->pid, link->server->pid };
  for (guint i = 0; i < 3; i++)
    if (!cpu_of (pids[i], &cpu0[i], error))
      {
        load_clear (&load);
        return FALSE;
      }
  load.deadline_us = g_get_monotonic_time () + (gint64) (o->time_limit_s * G_USEC_PER_SEC);
  gboolean ok = in_node ? run_in_node (&load, size, o->time_limit_s) : load_run (&load);
  guint seen = wait_stored (link, load.sent);
  for (guint i = 0; i < 3; i++)
    if (!cpu_of (pids[i], &cpu1[i], error))
      {
        load_clear (&load);
        return FALSE;
      }
  if (!ok || seen != load.sent->len)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "%u of %u sends failed (first: %s); %u of %u delivered messages seen stored at Bob",
                   load.failed, load.issued, load.first_failure ? load.first_failure : "-", seen, load.sent->len);
      load_clear (&load);
      return FALSE;
    }
  guint n = load.sent->len;
  g_autofree double *latency = g_new (double, MAX (n, 1));
  gint64 first_accepted = G_MAXINT64, last_stored = G_MININT64;
  for (guint i = 0; i < n; i++)
    {
      const Sent *s = &g_array_index (load.sent, Sent, i);
      gint64 stored = *(gint64 *) g_hash_table_lookup (link->stored, s->id);
      latency[i] = (stored - s->accepted_us) / 1000.0;
      first_accepted = MIN (first_accepted, s->accepted_us);
      last_stored = MAX (last_stored, stored);
    }
  qsort (latency, n, sizeof *latency, compare_double);
  double span_s = (last_stored - first_accepted) / (double) G_USEC_PER_SEC;
  double client_s = (load.last_reply_us - load.first_call_us) / (double) G_USEC_PER_SEC;
  *ret = (Sample) {
    .messages = n,
    .rate = span_s > 0 ? n / span_s : NAN,
    .client_rate = client_s > 0 ? n / client_s : NAN,
    .p50_ms = percentile (latency, n, 0.50),
    .p99_ms = percentile (latency, n, 0.99),
    .p999_ms = percentile (latency, n, 0.999),
    .alice_cpu_1k = (cpu1[0] - cpu0[0]) * 1000.0 / MAX (n, 1),
    .bob_cpu_1k = (cpu1[1] - cpu0[1]) * 1000.0 / MAX (n, 1),
    .server_cpu_1k = (cpu1[2] - cpu0[2]) * 1000.0 / MAX (n, 1),
  };
  load_clear (&load);
  return TRUE;
}

/* the control path alone: Run calls of a trivial command (status) per second */
static double
control_ceiling (Link *link, guint inflight, double seconds)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  Load load = {
    .link = link, .command = "status", .args = g_variant_ref_sink (g_variant_builder_end (&b)),
    .target = G_MAXUINT, .inflight_max = inflight,
  };
  load.deadline_us = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  load_run (&load);
  double span = (load.last_reply_us - load.first_call_us) / (double) G_USEC_PER_SEC;
  double rate = load.failed == 0 && span > 0 ? load.completed / span : NAN;
  load_clear (&load);
  return rate;
}

/* the in-node generator alone: bench-send to an invalid name, which the
 * messaging service refuses at once (no crypto, no network): sends per second */
static double
node_ceiling (Link *link, guint inflight, double seconds)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "user", g_variant_new_string ("-"));
  g_variant_builder_add (&b, "{sv}", "count", g_variant_new_int64 (10000000));
  g_variant_builder_add (&b, "{sv}", "size", g_variant_new_int64 (100));
  g_variant_builder_add (&b, "{sv}", "inflight", g_variant_new_int64 (inflight));
  g_variant_builder_add (&b, "{sv}", "time-limit-ms", g_variant_new_int64 ((gint64) (seconds * 1000)));
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (link->to_alice[0], NULL, CONTROL_PATH, CONTROL_INTERFACE,
                                                           "Run", g_variant_new ("(s@a{sv})", "bench-send",
                                                                                 g_variant_builder_end (&b)),
                                                           G_VARIANT_TYPE ("(vs)"), G_DBUS_CALL_FLAGS_NONE,
                                                           G_MAXINT, NULL, NULL);
  g_autoptr(GVariant) result = NULL;
  gint64 failed = 0, started = 0, ended = 0;
  if (reply == NULL)
    return NAN;
  g_variant_get (reply, "(vs)", &result, NULL);
  if (!g_variant_lookup (result, "failed", "x", &failed) || !g_variant_lookup (result, "started-us", "x", &started) ||
      !g_variant_lookup (result, "ended-us", "x", &ended) || ended <= started)
    return NAN;
  return failed / ((ended - started) / (double) G_USEC_PER_SEC);
}

/* Bob's inbox (recv) must hold every delivered message exactly once */
static gboolean
check_inbox (Link *link, GString *report, GError **error)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (link->to_bob, NULL, CONTROL_PATH, CONTROL_INTERFACE, "Run",
                                                           g_variant_new ("(s@a{sv})", "recv", g_variant_builder_end (&b)),
                                                           G_VARIANT_TYPE ("(vs)"), G_DBUS_CALL_FLAGS_NONE, G_MAXINT,
                                                           NULL, error);
  if (reply == NULL)
    {
      g_prefix_error (error, "Bob's recv: ");
      return FALSE;
    }
  g_autoptr(GVariant) list = NULL;
  g_variant_get (reply, "(vs)", &list, NULL);
  if (!g_variant_is_of_type (list, G_VARIANT_TYPE ("aa{sv}")))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bob's recv: not a list");
      return FALSE;
    }
  gsize n = g_variant_n_children (list);
  g_autoptr(GHashTable) ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint missing = 0;
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (list, i);
      const char *id = "";
      g_variant_lookup (item, "id", "&s", &id);
      g_hash_table_add (ids, g_strdup (id));
    }
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, link->stored);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    missing += !g_hash_table_contains (ids, key);
  g_string_append_printf (report, "Bob's inbox holds %zu messages (%u distinct); %u sends delivered; "
                          "%u message events, %u doubled; %u event ids not in the inbox",
                          n, g_hash_table_size (ids), link->delivered, g_hash_table_size (link->stored),
                          link->doubled, missing);
  if (n != link->delivered || g_hash_table_size (ids) != n || link->doubled != 0 || missing != 0 ||
      g_hash_table_size (link->stored) != n)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "not every message stored exactly once: %s",
                   report->str);
      return FALSE;
    }
  return TRUE;
}

/* FALSE (with error) if a node logged a sanitizer report or a critical error */
static gboolean
link_close (Link *link, GError **error)
{
  gboolean clean = TRUE;
  if (link->to_bob != NULL && link->event_subscription != 0)
    g_dbus_connection_signal_unsubscribe (link->to_bob, link->event_subscription);
  for (guint i = 0; i < link->n_to_alice; i++)
    g_clear_object (&link->to_alice[i]);
  g_clear_object (&link->to_bob);
  if (link->server != NULL)
    {
      clean = bench_user_stop (link->server, link->alice, error) && clean;
      clean = bench_user_stop (link->server, link->bob, clean ? error : NULL) && clean;
      clean = bench_server_stop (link->server, clean ? error : NULL) && clean;
    }
  g_clear_pointer (&link->server, bench_server_free);
  g_clear_pointer (&link->stored, g_hash_table_unref);
  return clean;
}

static gboolean
link_open (Link *link, const BenchServerConfig *config, const char *load_dir, guint connections, GError **error)
{
  link->stored = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  link->server = bench_server_start (config, error);
  if (link->server == NULL)
    return FALSE;
  /* seeded users: passwords are the names */
  link->alice = bench_user_start (link->server, "Alice", "Alice", load_dir, error);
  if (link->alice == NULL)
    return FALSE;
  link->bob = bench_user_start (link->server, "Bob", "Bob", NULL, error);
  if (link->bob == NULL || !connect_node (link->bob->socket_path, &link->to_bob, error))
    return FALSE;
  link->event_subscription = g_dbus_connection_signal_subscribe (link->to_bob, NULL, CONTROL_INTERFACE, "Events",
                                                                 CONTROL_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                                 on_bob_events, link, NULL);
  g_autoptr(GVariant) followed = g_dbus_connection_call_sync (link->to_bob, NULL, CONTROL_PATH, CONTROL_INTERFACE,
                                                              "FollowBatched", g_variant_new ("(s)", ""), NULL,
                                                              G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (followed == NULL)
    return FALSE;
  for (guint i = 0; i < connections; i++)
    {
      if (!connect_node (link->alice->socket_path, &link->to_alice[i], error))
        return FALSE;
      link->n_to_alice++;
    }
  return TRUE;
}

static char *
load_average (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("?");
  g_auto(GStrv) parts = g_strsplit (text, " ", 4);
  return g_strv_length (parts) >= 3 ? g_strjoin (" ", parts[0], parts[1], parts[2], NULL) : g_strdup ("?");
}

static void
row_median (Row *row, Sample *samples, guint n)
{
  double v[9][64];
  n = MIN (n, 64);
  for (guint i = 0; i < n; i++)
    {
      v[0][i] = samples[i].messages;
      v[1][i] = samples[i].rate;
      v[2][i] = samples[i].client_rate;
      v[3][i] = samples[i].p50_ms;
      v[4][i] = samples[i].p99_ms;
      v[5][i] = samples[i].p999_ms;
      v[6][i] = samples[i].alice_cpu_1k;
      v[7][i] = samples[i].bob_cpu_1k;
      v[8][i] = samples[i].server_cpu_1k;
    }
  row->reps = n;
  row->median = (Sample) {
    .messages = (guint) median (v[0], n), .rate = median (v[1], n), .client_rate = median (v[2], n),
    .p50_ms = median (v[3], n), .p99_ms = median (v[4], n), .p999_ms = median (v[5], n),
    .alice_cpu_1k = median (v[6], n), .bob_cpu_1k = median (v[7], n), .server_cpu_1k = median (v[8], n),
  };
}

static void
print_header (void)
{
  printf ("%-9s %-5s %-6s %6s %8s %8s %9s %9s %8s %8s %8s %9s %9s %9s\n", "mode", "load", "suite", "size", "inflight",
          "messages", "msgs/s", "client/s", "p50 ms", "p99 ms", "p99.9 ms", "alice s/k", "bob s/k",
          "server s/k");
}

static void
print_row (const Row *r)
{
  const Sample *s = &r->median;
  printf ("%-9s %-5s %-6s %6zu %8u %8u %9.1f %9.1f %8.2f %8.2f %8.2f %9.3f %9.3f %9.3f\n", r->mode, r->generator,
          r->suite, r->size,
          r->inflight, s->messages, s->rate, s->client_rate, s->p50_ms, s->p99_ms, s->p999_ms, s->alice_cpu_1k,
          s->bob_cpu_1k, s->server_cpu_1k);
}

static gboolean
parse_list (const char *text, const char *const *allowed, GStrv *ret, GError **error)
{
  g_auto(GStrv) items = g_strsplit (text, ",", 0);
  for (guint i = 0; items[i] != NULL; i++)
    if (allowed != NULL && !g_strv_contains (allowed, items[i]))
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown value '%s' in '%s'", items[i], text);
        return FALSE;
      }
  if (items[0] == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "empty list");
      return FALSE;
    }
  *ret = g_steal_pointer (&items);
  return TRUE;
}

static int
run_benchmark (const Options *o, const char *command_line)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) suites = NULL, sizes = NULL, modes = NULL;
  static const char *const known_suites[] = { "rsa", "25519", NULL };
  /* envelope: the nodes do not speak peer sessions (CHATD_PEER_SESSIONS=0),
   * every message is a signed, sealed envelope; session: forward-secret peer
   * sessions (issue 8), one handshake, then MACed receipts */
  static const char *const known_modes[] = { "envelope", "session", NULL };
  if (!parse_list (o->suites, known_suites, &suites, &error) || !parse_list (o->sizes, NULL, &sizes, &error) ||
      !parse_list (o->modes, known_modes, &modes, &error))
    {
      g_printerr ("chat-bench: %s\n", error->message);
      return 2;
    }
  static const char *const known_generators[] = { "ctl", "node", NULL };
  g_auto(GStrv) generators = NULL;
  if (!parse_list (o->generators, known_generators, &generators, &error))
    {
      g_printerr ("chat-bench: %s\n", error->message);
      return 2;
    }
  gboolean use_ctl = g_strv_contains ((const char *const *) generators, "ctl");
  gboolean use_node = g_strv_contains ((const char *const *) generators, "node");
  if (use_node && o->load_dir == NULL)
    {
      g_printerr ("chat-bench: the node generator needs plugins/bench-load (--load-dir)\n");
      return 2;
    }
  /* the rows of each suite and size: from this process, 1 and K in flight;
   * from inside Alice's node, K in flight */
  struct { gboolean in_node; guint inflight; } row_kinds[3];
  guint n_rows = 0;
  if (use_ctl)
    row_kinds[n_rows++] = (typeof (row_kinds[0])) { FALSE, 1 };
  if (use_ctl && o->inflight > 1)
    row_kinds[n_rows++] = (typeof (row_kinds[0])) { FALSE, (guint) o->inflight };
  if (use_node)
    row_kinds[n_rows++] = (typeof (row_kinds[0])) { TRUE, (guint) o->inflight };
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) checks = g_string_new (NULL);
  g_autoptr(GString) ceilings = g_string_new (NULL);
  g_autofree char *load_before = load_average ();
  gint64 t0 = g_get_monotonic_time ();
  gboolean passed = TRUE;

  for (guint m = 0; modes[m] != NULL && passed; m++)
    for (guint si = 0; suites[si] != NULL && passed; si++)
      {
        BenchServerConfig config = {
          .chatd = o->chatd, .chatctl = o->chatctl, .plugin_dir = o->plugin_dir,
          .pow_bits = 6, .kdf_memory_kib = 256, .kdf_passes = 1, .user_suite = suites[si],
        };
        Link link = { 0 };
        gint64 s0 = g_get_monotonic_time ();
        g_setenv ("CHATD_PEER_SESSIONS", g_str_equal (modes[m], "session") ? "1" : "0", TRUE);   /* the nodes inherit it */
        if (!link_open (&link, &config, use_node ? o->load_dir : NULL, (guint) o->connections, &error))
          {
            g_printerr ("chat-bench: suite %s: %s\n", suites[si], error->message);
            link_close (&link, NULL);
            return 1;
          }
        g_printerr ("chat-bench: suite %s: server and two user nodes up in %.1f s\n", suites[si],
                    (g_get_monotonic_time () - s0) / 1e6);
        /* warm-up: contact pinned, key records fetched, connections open */
        Sample ignored;
        gboolean ok = measure (&link, o, FALSE, 100, 1, WARMUP_MESSAGES, &ignored, &error);
        for (guint z = 0; sizes[z] != NULL && ok; z++)
          {
            guint64 size = 0;
            if (!g_ascii_string_to_unsigned (sizes[z], 10, 1, 1024 * 1024, &size, &error))
              {
                ok = FALSE;
                break;
              }
            for (guint k = 0; k < n_rows && ok; k++)
              {
                Sample samples[64];
                guint reps = (guint) MIN (o->reps, 64);
                gboolean in_node = row_kinds[k].in_node;
                guint inflight = row_kinds[k].inflight;
                guint target = inflight == 1 ? (guint) o->seq_messages : (guint) o->many_messages;
                for (guint r = 0; r < reps && ok; r++)
                  {
                    ok = measure (&link, o, in_node, (gsize) size, inflight, target, &samples[r], &error);
                    if (ok)
                      g_printerr ("chat-bench: %s %s %s %" G_GUINT64_FORMAT " B, %u in flight, run %u: %u messages, "
                                  "%.1f msgs/s, p50 %.2f ms\n", modes[m], suites[si], in_node ? "node" : "ctl",
                                  size, inflight, r + 1, samples[r].messages, samples[r].rate, samples[r].p50_ms);
                  }
                if (!ok)
                  break;
                Row *row = g_new0 (Row, 1);
                row->mode = g_intern_string (modes[m]);
                row->generator = in_node ? "node" : "ctl";
                row->suite = g_intern_string (suites[si]);
                row->size = (gsize) size;
                row->inflight = inflight;
                row_median (row, samples, reps);
                g_ptr_array_add (rows, row);
              }
          }
        if (ok && si == 0 && m == 0)
          {
            double one = control_ceiling (&link, 1, o->quick ? 0.3 : 1.0);
            double many = control_ceiling (&link, (guint) o->inflight, o->quick ? 0.3 : 1.0);
            g_string_append_printf (ceilings, "control path alone (Run `status` on Alice's node, calls/s): "
                                    "%.0f with 1 in flight, %.0f with %d in flight over %d connections\n",
                                    one, many, o->inflight, o->connections);
            if (use_node)
              g_string_append_printf (ceilings, "bench-send alone (in Alice's node; sends the messaging service "
                                      "refuses at once, an invalid recipient; sends/s): %.0f with %d in flight\n",
                                      node_ceiling (&link, (guint) o->inflight, o->quick ? 0.3 : 1.0), o->inflight);
          }
        if (ok)
          {
            g_autoptr(GString) report = g_string_new (NULL);
            ok = check_inbox (&link, report, &error);
            g_string_append_printf (checks, "%s %s: %s%s\n", modes[m], suites[si], report->str,
                                    ok ? ": ok" : ": FAILED");
          }
        if (!ok)
          {
            g_printerr ("chat-bench: %s %s: %s\n", modes[m], suites[si], error->message);
            g_string_append_printf (checks, "%s %s: FAILED: %s\n", modes[m], suites[si], error->message);
            passed = FALSE;
          }
        g_clear_error (&error);
        if (!link_close (&link, &error))
          {
            g_printerr ("chat-bench: %s %s: %s\n", modes[m], suites[si], error->message);
            g_string_append_printf (checks, "%s %s: FAILED: %s\n", modes[m], suites[si], error->message);
            passed = FALSE;
            g_clear_error (&error);
          }
      }

  g_autofree char *load_after = load_average ();
  printf ("\nchat-bench: %s\n", command_line);
  printf ("Alice -> Bob, two user nodes and a server on 127.0.0.1; many in flight = %d over %d control "
          "connections; %d run(s) per row, medians; %.0f s in all; load average %s at the start, %s at the "
          "end (%u CPUs)\n\n", o->inflight, o->connections, o->reps,
          (g_get_monotonic_time () - t0) / 1e6, load_before, load_after, g_get_num_processors ());
  print_header ();
  for (guint i = 0; i < rows->len; i++)
    print_row (rows->pdata[i]);
  printf ("\nload: ctl = this process, one control-socket call (D-Bus Run send) per message, K over %d connections; "
          "node = bench-send inside Alice's node (plugins/bench-load), K sends in flight through the messaging service.\n"
          "msgs/s: messages / (first accepted at Alice .. last stored at Bob), inside the daemons; client/s: "
          "as the generator saw it (first call .. last reply, which waits for Bob's receipt).\n"
          "p50/p99/p99.9: Alice's node took the send call .. Bob's node committed it (CLOCK_MONOTONIC). "
          "s/k: CPU seconds per 1000 messages (/proc/PID/stat; server: the manifest fetched per send).\n",
          o->connections);
  printf ("%s", ceilings->str);
  printf ("%s", checks->str);
  if (!passed)
    printf ("FAIL: see above\n");
  return passed ? 0 : 1;
}

int
main (int argc, char **argv)
{
  Options o = {
    .reps = -1, .inflight = -1, .connections = -1, .seq_messages = -1, .many_messages = -1,
    .time_limit_s = -1,
  };
  g_autofree char *command_line = g_strjoinv (" ", argv);
  GOptionEntry entries[] = {
    { "quick", 0, 0, G_OPTION_ARG_NONE, &o.quick, "Smoke test: few messages, one run per row", NULL },
    { "modes", 0, 0, G_OPTION_ARG_STRING, &o.modes, "Modes (envelope,session)", "LIST" },
    { "suites", 0, 0, G_OPTION_ARG_STRING, &o.suites, "Suites of the users' keys (rsa,25519)", "LIST" },
    { "sizes", 0, 0, G_OPTION_ARG_STRING, &o.sizes, "Message sizes in bytes (100,4096)", "LIST" },
    { "load", 0, 0, G_OPTION_ARG_STRING, &o.generators,
      "Load generators: ctl (this process, a control call per message), node (bench-send inside Alice's node) "
      "(ctl,node)", "LIST" },
    { "reps", 0, 0, G_OPTION_ARG_INT, &o.reps, "Runs per row, the table shows medians (3; --quick 1)", "N" },
    { "inflight", 'k', 0, G_OPTION_ARG_INT, &o.inflight, "Sends in flight in the 'many' rows (64; --quick 16)", "K" },
    { "connections", 'c', 0, G_OPTION_ARG_INT, &o.connections,
      "Control connections to Alice's node for them (4; --quick 2)", "C" },
    { "seq-messages", 0, 0, G_OPTION_ARG_INT, &o.seq_messages, "Messages per run, one in flight (300; --quick 8)", "N" },
    { "many-messages", 0, 0, G_OPTION_ARG_INT, &o.many_messages, "Messages per run, K in flight (3000; --quick 24)", "N" },
    { "time-limit", 0, 0, G_OPTION_ARG_DOUBLE, &o.time_limit_s,
      "Time per run: no new send once those in flight would end later (3; --quick 2)", "S" },
    { "chatd", 0, 0, G_OPTION_ARG_FILENAME, &o.chatd, "The chatd executable", "PATH" },
    { "chatctl", 0, 0, G_OPTION_ARG_FILENAME, &o.chatctl, "The chatctl executable", "PATH" },
    { "plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.plugin_dir, "chatd's plugin directory", "DIR" },
    { "load-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.load_dir, "The directory of bench-load.so (Alice's CHATD_PLUGIN_PATH)", "DIR" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- messages between two real chatd user nodes");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("chat-bench: %s\n", error->message);
      return 2;
    }
#define DEFAULT(field, normal, small) if (o.field < 0) o.field = o.quick ? (small) : (normal)
  DEFAULT (reps, 3, 1);
  DEFAULT (inflight, 64, 16);
  DEFAULT (connections, 4, 2);
  DEFAULT (seq_messages, 300, 8);
  DEFAULT (many_messages, 3000, 24);
  DEFAULT (time_limit_s, 3.0, 2.0);
#undef DEFAULT
  if (o.modes == NULL)
    o.modes = g_strdup ("envelope,session");
  if (o.suites == NULL)
    o.suites = g_strdup ("rsa,25519");
  if (o.sizes == NULL)
    o.sizes = g_strdup ("100,4096");
  if (o.generators == NULL)
    o.generators = g_strdup ("ctl,node");
  if (o.load_dir == NULL && CHAT_BENCH_LOAD_DIR != NULL)
    o.load_dir = g_strdup (CHAT_BENCH_LOAD_DIR);
  if (o.reps < 1 || o.reps > 64 || o.inflight < 1 || o.connections < 1 || o.connections > CONNECTIONS_MAX ||
      (o.inflight + o.connections - 1) / o.connections > CALLS_PER_CONNECTION_MAX || o.seq_messages < 1 ||
      o.many_messages < 1 || o.time_limit_s <= 0 || o.time_limit_s > 3600)
    {
      g_printerr ("chat-bench: an option is out of range (at most %d in flight per connection)\n",
                  CALLS_PER_CONNECTION_MAX);
      return 2;
    }
  if (o.chatd == NULL)
    o.chatd = g_strdup (g_getenv ("CHATD") ? g_getenv ("CHATD") : LOGIN_BENCH_CHATD);
  if (o.chatctl == NULL)
    o.chatctl = g_strdup (g_getenv ("CHATCTL") ? g_getenv ("CHATCTL") : LOGIN_BENCH_CHATCTL);
  if (o.plugin_dir == NULL)
    o.plugin_dir = g_strdup (g_getenv ("CHATD_PLUGIN_DIR") ? g_getenv ("CHATD_PLUGIN_DIR") : LOGIN_BENCH_PLUGIN_DIR);
  int status = run_benchmark (&o, command_line);
  g_free (o.chatd);
  g_free (o.chatctl);
  g_free (o.plugin_dir);
  g_free (o.modes);
  g_free (o.suites);
  g_free (o.sizes);
  g_free (o.generators);
  g_free (o.load_dir);
  return status;
}
