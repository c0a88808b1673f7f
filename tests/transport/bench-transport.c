/* bench-transport.c: loopback figures of the transport (a benchmark, not a
 * test): goodput of a 100 MiB transfer between two endpoints (each on its
 * own thread and main loop) and small-message echo latency.
 *
 *   build/tests/transport/bench-transport [--mib 100] [--samples 2000] [--size 64]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "chatd-transport.h"

#include <gcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct
{
  GMainContext *context;
  GMainLoop *loop;
  ChatdTransport *transport;
  GMutex lock;
  GCond ready;
  gboolean started;
  gboolean echo;
  guint64 bytes;
  guint messages;
} Receiver;

static void
receiver_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
                  gpointer user_data)
{
  Receiver *r = user_data;
  r->bytes += g_bytes_get_size (message);
  r->messages++;
  if (r->echo)
    chatd_transport_send_on (r->transport, conn, message, NULL, NULL);
}

static gpointer
receiver_thread (gpointer data)
{
  Receiver *r = data;
  g_main_context_push_thread_default (r->context);
  g_autoptr(GError) error = NULL;
  r->transport = chatd_transport_new ("127.0.0.1", 0, NULL, r->context, &error);
  g_assert_no_error (error);
  chatd_transport_set_message_callback (r->transport, receiver_message, r);
  g_mutex_lock (&r->lock);
  r->started = TRUE;
  g_cond_signal (&r->ready);
  g_mutex_unlock (&r->lock);
  g_main_loop_run (r->loop);
  chatd_transport_free (r->transport);
  g_main_context_pop_thread_default (r->context);
  return NULL;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static Receiver *
receiver_start (gboolean echo)
{
  Receiver *r = g_new0 (Receiver, 1);
  r->context = g_main_context_new ();
  r->loop = g_main_loop_new (r->context, FALSE);
  r->echo = echo;
  g_mutex_init (&r->lock);
  g_cond_init (&r->ready);
  GThread *t = g_thread_new ("receiver", receiver_thread, r);
  g_thread_unref (t);
  g_mutex_lock (&r->lock);
  while (!r->started)
    g_cond_wait (&r->ready, &r->lock);
  g_mutex_unlock (&r->lock);
  return r;
}

static void
receiver_stop (Receiver *r)
{
  g_main_context_invoke (r->context, quit_loop, r->loop);
  g_usleep (100000);
}

typedef struct
{
  GMainLoop *loop;
  guint acked;
  guint target;
  guint failed;
  gint64 rtt_start;
  GArray *rtts;
  guint samples;
  ChatdTransport *t;
  ChatdAddress peer;
  GBytes *payload;
} Sender;

static void
sent_cb (ChatdEndpoint *ep, ChatdConnection *conn, const GError *error, gpointer user_data)
{
  Sender *s = user_data;
  if (error)
    {
      g_printerr ("send failed: %s\n", error->message);
      s->failed++;
    }
  else
    s->acked++;
  if (s->acked + s->failed >= s->target)
    g_main_loop_quit (s->loop);
}

static void
echo_cb (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
         gpointer user_data)
{
  Sender *s = user_data;
  gint64 now = g_get_monotonic_time ();
  double us = (double) (now - s->rtt_start);
  if (s->samples >= 100) /* warm-up */
    g_array_append_val (s->rtts, us);
  s->samples++;
  if (s->rtts->len >= s->target)
    {
      g_main_loop_quit (s->loop);
      return;
    }
  s->rtt_start = g_get_monotonic_time ();
  chatd_transport_send (s->t, &s->peer, s->payload, NULL, NULL);
}


/* ---- raw UDP blast baseline: 1452-byte datagrams, sendmmsg batches of 64,
 * no reliability; goodput = bytes the receiver got / time ---- */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct
{
  int fd;
  guint64 bytes;
  gint64 last;
  volatile gboolean stop;
} RawReceiver;

static gpointer
raw_receiver_thread (gpointer data)
{
  RawReceiver *r = data;
  static guint8 bufs[64][2048];
  struct mmsghdr msgs[64];
  struct iovec iov[64];
  while (!r->stop)
    {
      for (int i = 0; i < 64; i++)
        {
          iov[i] = (struct iovec) { bufs[i], sizeof bufs[i] };
          memset (&msgs[i], 0, sizeof msgs[i]);
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
        }
      struct timespec ts = { 0, 100 * 1000 * 1000 };
      int n = recvmmsg (r->fd, msgs, 64, MSG_WAITFORONE, &ts);
      for (int i = 0; i < n; i++)
        r->bytes += msgs[i].msg_len;
      if (n > 0)
        r->last = g_get_monotonic_time ();
    }
  return NULL;
}

static double
raw_blast (guint64 total)
{
  int rx = socket (AF_INET, SOCK_DGRAM, 0), tx = socket (AF_INET, SOCK_DGRAM, 0);
  int size = 16 * 1024 * 1024;
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  if (setsockopt (rx, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    setsockopt (rx, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  struct timeval tv = { 0, 200000 };
  setsockopt (rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bind (rx, (struct sockaddr *) &a, sizeof a);
  getsockname (rx, (struct sockaddr *) &a, &alen);
  RawReceiver r = { rx, 0, 0, FALSE };
  GThread *t = g_thread_new ("raw", raw_receiver_thread, &r);
  static guint8 payload[1452];
  struct mmsghdr msgs[64];
  struct iovec iov = { payload, sizeof payload };
  for (int i = 0; i < 64; i++)
    {
      memset (&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &a;
      msgs[i].msg_hdr.msg_namelen = sizeof a;
      msgs[i].msg_hdr.msg_iov = &iov;
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  gint64 t0 = g_get_monotonic_time ();
  for (guint64 sent = 0; sent < total;)
    {
      int n = sendmmsg (tx, msgs, 64, 0);
      if (n > 0)
        sent += (guint64) n * sizeof payload;
    }
  g_usleep (300000);
  r.stop = TRUE;
  g_thread_join (t);
  close (rx);
  close (tx);
  double secs = (r.last - t0) / 1e6;
  return r.bytes / secs / 1e9;
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
print_counter (const char *name, guint64 value, gpointer user_data)
{
  if (value && (g_str_has_prefix (name, "conn.packets") || g_str_has_prefix (name, "io.") ||
                g_str_has_prefix (name, "conn.bytes_retrans") || g_str_has_prefix (name, "conn.probe")))
    g_print ("    %-28s %" G_GUINT64_FORMAT "\n", name, value);
}

int
main (int argc, char **argv)
{
  guint mib = 100, samples = 2000, repeat = 5;
  gsize echo_size = 64, chunk = 1024 * 1024;
  gboolean verbose = FALSE;
  for (int i = 1; i < argc; i++)
    {
      if (!strcmp (argv[i], "--mib") && i + 1 < argc)
        mib = atoi (argv[++i]);
      else if (!strcmp (argv[i], "--samples") && i + 1 < argc)
        samples = atoi (argv[++i]);
      else if (!strcmp (argv[i], "--size") && i + 1 < argc)
        echo_size = atoi (argv[++i]);
      else if (!strcmp (argv[i], "--chunk") && i + 1 < argc)
        chunk = atoi (argv[++i]);
      else if (!strcmp (argv[i], "--repeat") && i + 1 < argc)
        repeat = atoi (argv[++i]);
      else if (!strcmp (argv[i], "-v"))
        verbose = TRUE;
    }
  repeat = MAX (repeat, 1u);
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_autoptr(GError) error = NULL;

  g_autoptr(GArray) runs = g_array_new (FALSE, FALSE, sizeof (double));
  guint failed_total = 0;
  for (guint run = 0; run < repeat; run++)
  {
  /* goodput */
  Receiver *r = receiver_start (FALSE);
  Sender s = { 0 };
  s.loop = g_main_loop_new (NULL, FALSE);
  s.t = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  guint8 *data = g_malloc (chunk);
  for (gsize i = 0; i < chunk; i++)
    data[i] = (guint8) (i * 7);
  g_autoptr(GBytes) payload = g_bytes_new_take (data, chunk);
  guint n = (guint) ((guint64) mib * 1024 * 1024 / chunk);
  g_autofree ChatdSendRequest *reqs = g_new (ChatdSendRequest, n);
  for (guint i = 0; i < n; i++)
    reqs[i] = (ChatdSendRequest) { chatd_transport_get_local_address (r->transport), payload, sent_cb, &s };
  s.target = n;
  gint64 t0 = g_get_monotonic_time ();
  gint64 c0 = g_get_monotonic_time ();
  struct rusage ru0, ru1;
  getrusage (RUSAGE_SELF, &ru0);
  chatd_transport_send_many (s.t, reqs, n);
  g_main_loop_run (s.loop);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  getrusage (RUSAGE_SELF, &ru1);
  double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) + (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
               ((ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) + (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec)) / 1e6;
  (void) c0;
  double mibps = (double) n * chunk / (1024.0 * 1024.0) / secs;
  g_print ("transport goodput: %u x %" G_GSIZE_FORMAT " B = %.0f MiB in %.3f s: %.0f MiB/s (%.2f GB/s), "
           "process CPU %.2f s, received %" G_GUINT64_FORMAT " B, failed %u\n",
           n, chunk, (double) n * chunk / 1048576.0, secs, mibps, mibps * 1048576.0 / 1e9, cpu,
           r->bytes, s.failed);
  if (verbose)
    chatd_transport_foreach_counter (s.t, print_counter, NULL);
  receiver_stop (r);
  chatd_transport_free (s.t);
  g_main_loop_unref (s.loop);
  g_array_append_val (runs, mibps);
  failed_total += s.failed;
  }
  g_array_sort (runs, cmp_double);
  double median = g_array_index (runs, double, runs->len / 2);
  double raw = raw_blast ((guint64) mib * 1024 * 1024);
  g_print ("raw UDP blast (1452 B, sendmmsg): %.2f GB/s\n", raw);
  g_print ("transport goodput median of %u: %.0f MiB/s = %.2f GB/s = %.2fx raw UDP\n", repeat, median,
           median * 1048576.0 / 1e9, median * 1048576.0 / 1e9 / raw);

  /* echo latency */
  Receiver *e = receiver_start (TRUE);
  Sender es = { 0 };
  es.loop = g_main_loop_new (NULL, FALSE);
  es.t = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  es.peer = *chatd_transport_get_local_address (e->transport);
  es.rtts = g_array_new (FALSE, FALSE, sizeof (double));
  es.target = samples;
  g_autofree guint8 *edata = g_malloc0 (echo_size + 1);
  es.payload = g_bytes_new (edata, echo_size);
  chatd_transport_set_message_callback (es.t, echo_cb, &es);
  es.rtt_start = g_get_monotonic_time ();
  chatd_transport_send (es.t, &es.peer, es.payload, NULL, NULL);
  g_main_loop_run (es.loop);
  g_array_sort (es.rtts, cmp_double);
  double p50 = g_array_index (es.rtts, double, es.rtts->len / 2);
  double p99 = g_array_index (es.rtts, double, (guint) (es.rtts->len * 0.99));
  g_print ("transport echo %" G_GSIZE_FORMAT " B: p50 %.1f us, p99 %.1f us (%u samples)\n",
           echo_size, p50, p99, es.rtts->len);
  receiver_stop (e);
  chatd_transport_free (es.t);
  g_bytes_unref (es.payload);
  g_array_unref (es.rtts);
  return failed_total ? 1 : 0;
}
