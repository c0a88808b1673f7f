/* bench-run.c: runs one transfer or echo series (see the header). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench-run.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <gio/gio.h>

#define UNRELIABLE_QUIET_US (150 * 1000)   /* raw UDP: end of transfer after this silence */
#define UNRELIABLE_SAMPLE_US (200 * 1000)  /* raw UDP: an echo not back by then is lost */

typedef enum { RUN_TRANSFER, RUN_ECHO } RunKind;

typedef struct {
  GSubprocess *process;
  guint16 port;
} Relay;


typedef struct {
  const BenchPath *path;
  RunKind kind;
  guint64 total_bytes;
  gsize message_size;
  guint samples;
  gint64 interval_us;
  gint64 deadline_us;
  gint64 limit_us;

  GMutex lock;
  GCond cond;
  gboolean server_ready;
  guint16 server_port;
  GError *server_error;
  struct sockaddr_storage target;
  socklen_t target_len;

  gint done;                 /* receiver has everything */
  gint stop;                 /* tells the server to finish */
  gint sender_finished;      /* raw UDP: nothing more will come */

  /* server side */
  guint64 delivered;
  gint64 last_arrival_us;
  GQueue pending_echoes;     /* GBytes the server could not send yet */
  double server_cpu_s;
  double server_cpu_start;     /* at the first message; -1 before */
  guint64 server_wire;

  /* client side */
  gint64 start_us;
  gint64 *sent_at;
  gint64 *rtt;
  guint received;
  guint samples_sent;
  gint64 client_end_us;
  double client_cpu_s;
  guint64 client_wire;
  GError *client_error;

  GThread *server;
  GThread *client;
  Relay relay;
} RunState;

void
bench_outcome_clear (BenchOutcome *o)
{
  g_clear_pointer (&o->rtt_us, g_array_unref);
}

static gboolean
enter_netns (const char *name, GError **error)
{
  g_autofree char *path = NULL;
  int fd;

  if (name == NULL)
    return TRUE;
  path = g_strdup_printf ("/var/run/netns/%s", name);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return bench_set_error_errno (error, path);
  if (setns (fd, CLONE_NEWNET) < 0)
    {
      close (fd);
      return bench_set_error_errno (error, "setns");
    }
  close (fd);
  return TRUE;
}

/* Server and client on different CPUs when there are two: the same placement
 * every run, as two processes on two cores would be (an unpinned pair
 * flips between same-core and cross-core wakeups, 25 vs 60 µs here). */
static void
pin_thread (int which)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  cpu_set_t set;

  if (n < 2 || g_getenv ("BENCH_NO_PIN") != NULL)
    return;
  CPU_ZERO (&set);
  CPU_SET (which % n, &set);
  (void) pthread_setaffinity_np (pthread_self (), sizeof set, &set);
}

static void
server_on_message (BenchEndpoint *ep, const guint8 *data, gsize len, gpointer user_data)
{
  RunState *s = user_data;

  /* the server's CPU counts from the first message: setup is not the work */
  if (s->server_cpu_start < 0)
    s->server_cpu_start = bench_thread_cpu_s ();
  if (s->kind == RUN_TRANSFER)
    {
      s->delivered += len;
      s->last_arrival_us = bench_now_us ();
      return;
    }
  if (!g_queue_is_empty (&s->pending_echoes) || !s->path->contender->send (ep, data, len))
    g_queue_push_tail (&s->pending_echoes, g_bytes_new (data, len));
}

static gpointer
server_thread (gpointer data)
{
  RunState *s = data;
  const BenchContender *c = s->path->contender;
  double cpu0 = bench_thread_cpu_s ();
  struct sockaddr_in addr = { .sin_family = AF_INET };
  BenchEndpoint *ep = NULL;
  GError *error = NULL;
  guint16 port = 0;

  pin_thread (0);
  inet_pton (AF_INET, s->path->server_ip, &addr.sin_addr);
  if (enter_netns (s->path->server_netns, &error))
    ep = c->listen ((struct sockaddr *) &addr, sizeof addr, &port, &error);

  g_mutex_lock (&s->lock);
  s->server_ready = TRUE;
  s->server_port = port;
  s->server_error = error;
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);
  if (ep == NULL)
    return NULL;

  while (!g_atomic_int_get (&s->stop))
    {
      c->poll (ep, 1000, server_on_message, s);
      while (!g_queue_is_empty (&s->pending_echoes))
        {
          GBytes *b = g_queue_peek_head (&s->pending_echoes);
          gsize len;
          const guint8 *d = g_bytes_get_data (b, &len);
          if (!c->send (ep, d, len))
            break;
          g_bytes_unref (g_queue_pop_head (&s->pending_echoes));
        }
      if (s->kind == RUN_TRANSFER && !g_atomic_int_get (&s->done))
        {
          gboolean complete = s->delivered >= s->total_bytes;
          if (!c->reliable && g_atomic_int_get (&s->sender_finished) && s->last_arrival_us > 0 &&
              bench_now_us () - s->last_arrival_us > UNRELIABLE_QUIET_US)
            complete = TRUE;
          if (!c->reliable && g_atomic_int_get (&s->sender_finished) && s->last_arrival_us == 0 &&
              bench_now_us () > s->deadline_us)
            complete = TRUE;
          if (complete)
            g_atomic_int_set (&s->done, 1);
        }
    }
  s->server_cpu_s = bench_thread_cpu_s () - (s->server_cpu_start >= 0 ? s->server_cpu_start : cpu0);
  s->server_wire = c->wire_bytes (ep);
  c->free (ep);
  g_queue_clear_full (&s->pending_echoes, (GDestroyNotify) g_bytes_unref);
  return NULL;
}

static void
client_on_message (BenchEndpoint *ep, const guint8 *data, gsize len, gpointer user_data)
{
  RunState *s = user_data;
  guint32 seq;

  if (s->kind != RUN_ECHO || len < 4)
    return;
  seq = (guint32) data[0] << 24 | (guint32) data[1] << 16 | (guint32) data[2] << 8 | data[3];
  if (seq >= s->samples || s->sent_at[seq] == 0 || s->rtt[seq] != 0)
    return;
  s->rtt[seq] = MAX (1, bench_now_us () - s->sent_at[seq]);
  s->received++;
}

static void
client_transfer (RunState *s, BenchEndpoint *ep)
{
  const BenchContender *c = s->path->contender;
  gsize chunk = c->transfer_message;
  g_autofree guint8 *buf = g_malloc (chunk);
  guint64 sent = 0;

  for (gsize i = 0; i < chunk; i++)
    buf[i] = (guint8) (i * 7 + 1);
  s->start_us = bench_now_us ();
  while (sent < s->total_bytes && bench_now_us () < s->deadline_us && !g_atomic_int_get (&s->done))
    {
      gsize n = (gsize) MIN ((guint64) chunk, s->total_bytes - sent);
      if (c->send (ep, buf, n))
        sent += n;
      else
        c->poll (ep, 1000, client_on_message, s);
    }
  /* Let the endpoint push out what it queued, then wait for the receiver. */
  while (!c->idle (ep) && !g_atomic_int_get (&s->done) && bench_now_us () < s->deadline_us)
    c->poll (ep, 1000, client_on_message, s);
  g_atomic_int_set (&s->sender_finished, 1);
  while (!g_atomic_int_get (&s->done) && bench_now_us () < s->deadline_us)
    c->poll (ep, 1000, client_on_message, s);
}

static void
client_echo (RunState *s, BenchEndpoint *ep)
{
  const BenchContender *c = s->path->contender;
  g_autofree guint8 *buf = g_malloc0 (MAX (s->message_size, 4));
  guint sent = 0;
  gint64 next_send, last_send = 0;

  for (gsize i = 4; i < s->message_size; i++)
    buf[i] = (guint8) (i * 13 + 5);
  s->start_us = next_send = bench_now_us ();
  while (s->received < s->samples)
    {
      gint64 now = bench_now_us ();
      gboolean may_send;
      gint64 wait = 1000;

      if (now >= s->deadline_us)
        break;
      if (sent == s->samples && !c->reliable && now - last_send > UNRELIABLE_SAMPLE_US)
        break;
      if (s->interval_us > 0)
        may_send = sent < s->samples && now >= next_send;
      else
        may_send = sent < s->samples &&
                   (sent == 0 || s->rtt[sent - 1] != 0 ||
                    (!c->reliable && now - last_send > UNRELIABLE_SAMPLE_US));
      if (may_send)
        {
          buf[0] = sent >> 24; buf[1] = sent >> 16; buf[2] = sent >> 8; buf[3] = sent;
          s->sent_at[sent] = now;
          if (c->send (ep, buf, s->message_size))
            {
              last_send = now;
              sent++;
              next_send += s->interval_us;
              c->poll (ep, 0, client_on_message, s);
              continue;
            }
          s->sent_at[sent] = 0;
        }
      if (s->interval_us > 0 && sent < s->samples)
        wait = CLAMP (next_send - now, 0, 1000);
      c->poll (ep, wait, client_on_message, s);
    }
  s->samples_sent = sent;
}

static gpointer
client_thread (gpointer data)
{
  RunState *s = data;
  const BenchContender *c = s->path->contender;
  double cpu0;
  BenchEndpoint *ep = NULL;

  pin_thread (1);
  if (enter_netns (s->path->client_netns, &s->client_error))
    ep = c->connect ((struct sockaddr *) &s->target, s->target_len, &s->client_error);
  if (ep != NULL)
    {
      /* the time limit counts from the established connection */
      s->deadline_us = bench_now_us () + s->limit_us;
      /* the client's CPU counts from the established connection to the end of its work */
      cpu0 = bench_thread_cpu_s ();
      if (s->kind == RUN_TRANSFER)
        client_transfer (s, ep);
      else
        client_echo (s, ep);
      s->client_cpu_s = bench_thread_cpu_s () - cpu0;
      s->client_end_us = bench_now_us ();
      s->client_wire = c->wire_bytes (ep);
      c->free (ep);
    }
  return NULL;
}

/* Spawned from the calling (main) thread: the relay dies with its parent
 * thread (PR_SET_PDEATHSIG), so never start it from a short-lived thread. */
static gboolean
relay_start (const BenchPath *path, guint16 upstream_port, double time_limit_s, Relay *ret, GError **error)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  GSubprocess *p;

  g_ptr_array_add (argv, g_strdup (path->relay_path));
  g_ptr_array_add (argv, g_strdup ("--listen=127.0.0.1:0"));
  g_ptr_array_add (argv, g_strdup_printf ("--upstream=%s:%u", path->server_ip, upstream_port));
  g_ptr_array_add (argv, g_strdup_printf ("--seed=%" G_GUINT64_FORMAT, path->relay_seed));
  g_ptr_array_add (argv, g_strdup_printf ("--duration=%.0f", time_limit_s + 60));
  for (const char *const *a = path->relay_args; *a != NULL; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, NULL);
  p = g_subprocess_newv ((const char *const *) argv->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
  if (p == NULL)
    return FALSE;
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  line = g_data_input_stream_read_line (out, NULL, NULL, error);
  if (line == NULL || !g_str_has_prefix (line, "LISTEN 127.0.0.1:"))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the relay did not start");
      g_subprocess_force_exit (p);
      g_object_unref (p);
      return FALSE;
    }
  ret->process = p;
  ret->port = (guint16) atoi (strrchr (line, ':') + 1);
  return TRUE;
}

static double
relay_stop (Relay *relay)
{
  g_autofree char *err = NULL;
  const char *cpu;
  double user = 0, sys = 0;

  if (relay->process == NULL)
    return 0;
  g_subprocess_send_signal (relay->process, SIGTERM);
  g_subprocess_communicate_utf8 (relay->process, NULL, NULL, NULL, &err, NULL);
  if (err != NULL && (cpu = strstr (err, "cpu user_s=")) != NULL)
    sscanf (cpu, "cpu user_s=%lf sys_s=%lf", &user, &sys);
  g_clear_object (&relay->process);
  return user + sys;
}

/* Starts the server thread, the relay (from this thread) and the client thread. */
static gboolean
run_start (RunState *s, double time_limit_s, GError **error)
{
  const BenchPath *path = s->path;
  struct sockaddr_in target = { .sin_family = AF_INET };

  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  g_queue_init (&s->pending_echoes);
  s->server_cpu_start = -1;
  s->limit_us = (gint64) (time_limit_s * G_USEC_PER_SEC);
  s->deadline_us = bench_now_us () + s->limit_us + 30 * G_USEC_PER_SEC;

  s->server = g_thread_new ("bench-server", server_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->server_ready)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  if (s->server_error != NULL)
    {
      g_thread_join (g_steal_pointer (&s->server));
      g_propagate_prefixed_error (error, g_steal_pointer (&s->server_error), "%s server: ",
                                  path->contender->name);
      return FALSE;
    }

  inet_pton (AF_INET, path->server_ip, &target.sin_addr);
  target.sin_port = htons (s->server_port);
  if (path->relay_path != NULL)
    {
      if (!relay_start (path, s->server_port, time_limit_s, &s->relay, error))
        {
          g_atomic_int_set (&s->stop, 1);
          g_thread_join (g_steal_pointer (&s->server));
          return FALSE;
        }
      inet_pton (AF_INET, "127.0.0.1", &target.sin_addr);
      target.sin_port = htons (s->relay.port);
    }
  memcpy (&s->target, &target, sizeof target);
  s->target_len = sizeof target;
  s->client = g_thread_new ("bench-client", client_thread, s);
  return TRUE;
}

/* Waits for the client, stops the server and the relay, collects the outcome. */
static gboolean
run_finish (RunState *s, BenchOutcome *ret, GError **error)
{
  const BenchPath *path = s->path;
  BenchOutcome o = { 0 };

  g_thread_join (g_steal_pointer (&s->client));
  g_atomic_int_set (&s->stop, 1);
  g_thread_join (g_steal_pointer (&s->server));
  o.relay_cpu_s = relay_stop (&s->relay);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);

  if (s->client_error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&s->client_error), "%s client: ",
                                  path->contender->name);
      return FALSE;
    }
  o.cpu_s = s->server_cpu_s + s->client_cpu_s;
  o.wire_bytes = s->server_wire + s->client_wire;
  if (s->kind == RUN_TRANSFER)
    {
      /* complete: until the last byte arrived; cut short by the time limit
       * (or a transport that gave up): the whole time the sender tried */
      gboolean complete = s->delivered >= s->total_bytes || (!path->contender->reliable && s->done);
      gint64 end = complete && s->last_arrival_us > 0 ? s->last_arrival_us : s->client_end_us;
      o.delivered = s->delivered;
      o.seconds = MAX (1e-6, (double) (end - s->start_us) / 1e6);
      o.partial = s->delivered < s->total_bytes;
    }
  else
    {
      o.samples_sent = s->samples_sent;
      o.rtt_us = g_array_new (FALSE, FALSE, sizeof (gint64));
      for (guint i = 0; i < s->samples; i++)
        if (s->rtt[i] != 0)
          g_array_append_val (o.rtt_us, s->rtt[i]);
      o.partial = s->received < s->samples;
      o.delivered = (guint64) s->received * s->message_size * 2;
    }
  *ret = o;
  return TRUE;
}

static gboolean
run (RunState *s, double time_limit_s, BenchOutcome *ret, GError **error)
{
  return run_start (s, time_limit_s, error) && run_finish (s, ret, error);
}

gboolean
bench_run_echo_parallel (const BenchPath *paths, guint n_paths, gsize message_size, guint samples,
                         gint64 interval_us, double time_limit_s, BenchOutcome *ret_outcomes,
                         GError **error)
{
  g_autofree RunState *states = g_new0 (RunState, n_paths);
  g_autofree BenchOutcome *outcomes = g_new0 (BenchOutcome, n_paths);
  guint started = 0;
  gboolean ok = TRUE;

  for (guint i = 0; i < n_paths; i++)
    {
      states[i] = (RunState) { .path = &paths[i], .kind = RUN_ECHO, .message_size = MAX (message_size, 4),
                               .samples = samples, .interval_us = interval_us,
                               .sent_at = g_new0 (gint64, samples), .rtt = g_new0 (gint64, samples) };
      if (!run_start (&states[i], time_limit_s, error))
        {
          ok = FALSE;
          break;
        }
      started++;
    }
  for (guint i = 0; i < started; i++)
    if (!run_finish (&states[i], &outcomes[i], ok ? error : NULL))
      ok = FALSE;
  for (guint i = 0; i < n_paths; i++)
    {
      g_free (states[i].sent_at);
      g_free (states[i].rtt);
    }
  if (!ok)
    {
      for (guint i = 0; i < n_paths; i++)
        bench_outcome_clear (&outcomes[i]);
      return FALSE;
    }
  memcpy (ret_outcomes, outcomes, n_paths * sizeof (BenchOutcome));
  return TRUE;
}

gboolean
bench_run_transfer (const BenchPath *path, guint64 total_bytes, double time_limit_s,
                    BenchOutcome *ret_outcome, GError **error)
{
  RunState s = { .path = path, .kind = RUN_TRANSFER, .total_bytes = total_bytes };
  return run (&s, time_limit_s, ret_outcome, error);
}

gboolean
bench_run_echo (const BenchPath *path, gsize message_size, guint samples, gint64 interval_us,
                double time_limit_s, BenchOutcome *ret_outcome, GError **error)
{
  g_autofree gint64 *sent_at = g_new0 (gint64, samples);
  g_autofree gint64 *rtt = g_new0 (gint64, samples);
  RunState s = { .path = path, .kind = RUN_ECHO, .message_size = MAX (message_size, 4),
                 .samples = samples, .interval_us = interval_us, .sent_at = sent_at, .rtt = rtt };
  return run (&s, time_limit_s, ret_outcome, error);
}
