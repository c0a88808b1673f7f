/* test-netsim-relay: the impairment model on its own, then the real relay
 * program driven over UDP on 127.0.0.1. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <gio/gio.h>

#include "netsim-impair.h"
#include "netsim-queue.h"

#define MS (G_GINT64_CONSTANT (1000))

/* ---- the model, without sockets ---- */

static void
test_model_loss_is_seeded (void)
{
  NetsimImpairment imp;
  guint dropped[2] = { 0, 0 };
  gboolean same = TRUE;

  netsim_impairment_init (&imp);
  imp.loss = 0.25;
  {
    g_autoptr (NetsimDirection) a = netsim_direction_new (&imp, 42);
    g_autoptr (NetsimDirection) b = netsim_direction_new (&imp, 42);
    for (guint i = 0; i < 10000; i++)
      {
        guint8 byte = 0;
        NetsimFate fa, fb;
        netsim_direction_judge (a, i, &byte, 1, &fa);
        netsim_direction_judge (b, i, &byte, 1, &fb);
        same = same && fa.kind == fb.kind;
        dropped[0] += fa.kind == NETSIM_FATE_DROP_LOSS;
        dropped[1] += fb.kind == NETSIM_FATE_DROP_LOSS;
      }
  }
  g_assert_true (same);
  /* 2500 expected, sd 43: five standard deviations either side. */
  g_assert_cmpuint (dropped[0], >, 2283);
  g_assert_cmpuint (dropped[0], <, 2717);
  netsim_impairment_clear (&imp);
}

static void
test_model_jitter_bounds_and_fifo (void)
{
  NetsimImpairment imp;
  guint64 last = 0, min = G_MAXUINT64, max = 0;

  netsim_impairment_init (&imp);
  imp.delay_ms = 46;
  imp.jitter_ms = 16;
  imp.fifo = TRUE;
  {
    g_autoptr (NetsimDirection) d = netsim_direction_new (&imp, 7);
    for (guint64 i = 0; i < 2000; i++)
      {
        guint8 byte = 0;
        NetsimFate f;
        guint64 now = i * 20 * NETSIM_NS_PER_MS;
        netsim_direction_judge (d, now, &byte, 1, &f);
        g_assert_cmpint (f.kind, ==, NETSIM_FATE_FORWARD);
        g_assert_cmpuint (f.due_ns[0], >=, last);
        g_assert_cmpuint (f.due_ns[0] - now, >=, 30 * NETSIM_NS_PER_MS);
        /* fifo may hold a datagram behind its predecessor, never beyond 62 ms after it arrived */
        g_assert_cmpuint (f.due_ns[0] - now, <=, 62 * NETSIM_NS_PER_MS);
        min = MIN (min, f.due_ns[0] - now);
        max = MAX (max, f.due_ns[0] - now);
        last = f.due_ns[0];
      }
  }
  g_assert_cmpuint (min, <, 31 * NETSIM_NS_PER_MS);
  g_assert_cmpuint (max, >, 61 * NETSIM_NS_PER_MS);
  netsim_impairment_clear (&imp);
}

static void
test_model_burst_clusters (void)
{
  NetsimImpairment imp;
  guint lost = 0, runs = 0;
  gboolean previous_lost = FALSE;

  netsim_impairment_init (&imp);
  imp.burst_enter = 0.02;
  imp.burst_leave = 0.2;
  imp.burst_loss = 1.0;
  {
    g_autoptr (NetsimDirection) d = netsim_direction_new (&imp, 3);
    for (guint i = 0; i < 20000; i++)
      {
        guint8 byte = 0;
        NetsimFate f;
        netsim_direction_judge (d, i, &byte, 1, &f);
        gboolean is_lost = f.kind == NETSIM_FATE_DROP_BURST;
        lost += is_lost;
        runs += is_lost && !previous_lost;
        previous_lost = is_lost;
      }
  }
  /* Stationary bad share 0.02/0.22 = 9 %; mean run 1/0.2 = 5. */
  g_assert_cmpuint (lost, >, 20000 * 6 / 100);
  g_assert_cmpuint (lost, <, 20000 * 12 / 100);
  g_assert_cmpfloat ((double) lost / runs, >, 3.5);
  g_assert_cmpfloat ((double) lost / runs, <, 7.0);
  netsim_impairment_clear (&imp);
}

static void
test_model_queue_order (void)
{
  g_autoptr (NetsimQueue) q = netsim_queue_new ();
  g_autoptr (GRand) rng = g_rand_new_with_seed (9);
  guint64 last_due = 0, last_seq = 0;

  for (guint i = 0; i < 5000; i++)
    netsim_queue_push (q, netsim_pending_new (g_rand_int_range (rng, 0, 100), NULL, NULL, 0));
  for (guint i = 0; i < 5000; i++)
    {
      g_autofree NetsimPending *p = netsim_queue_pop (q);
      g_assert_nonnull (p);
      g_assert_cmpuint (p->due_ns, >=, last_due);
      if (p->due_ns == last_due && i > 0)
        g_assert_cmpuint (p->seq, >, last_seq);
      last_due = p->due_ns;
      last_seq = p->seq;
    }
  g_assert_null (netsim_queue_pop (q));
}

/* ---- the relay program ---- */

typedef struct {
  GSubprocess *process;
  guint16 port;
  gint64 started_us;   /* when we read its LISTEN line */
} Relay;

static Relay *
relay_start (guint16 upstream_port, const char *const *extra)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  Relay *relay = g_new0 (Relay, 1);

  g_ptr_array_add (argv, g_strdup (NETSIM_RELAY_PATH));
  g_ptr_array_add (argv, g_strdup ("--listen=127.0.0.1:0"));
  g_ptr_array_add (argv, g_strdup_printf ("--upstream=127.0.0.1:%u", upstream_port));
  g_ptr_array_add (argv, g_strdup ("--duration=60"));
  for (; extra != NULL && *extra != NULL; extra++)
    g_ptr_array_add (argv, g_strdup (*extra));
  g_ptr_array_add (argv, NULL);

  relay->process = g_subprocess_newv ((const char *const *) argv->pdata,
                                      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                      &error);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (relay->process));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  relay->started_us = g_get_monotonic_time ();
  g_assert_true (g_str_has_prefix (line, "LISTEN 127.0.0.1:"));
  relay->port = (guint16) atoi (strrchr (line, ':') + 1);
  g_assert_cmpuint (relay->port, >, 0);
  return relay;
}

static char *
read_all (GInputStream *stream)
{
  GString *text = g_string_new (NULL);
  char buf[4096];
  gssize n;
  while ((n = g_input_stream_read (stream, buf, sizeof buf, NULL, NULL)) > 0)
    g_string_append_len (text, buf, n);
  return g_string_free (text, FALSE);
}

/* Stops the relay with SIGTERM; returns its stderr (the summary). */
static char *
relay_stop (Relay *relay)
{
  g_autoptr (GError) error = NULL;
  char *err_text;

  g_subprocess_send_signal (relay->process, SIGTERM);
  err_text = read_all (g_subprocess_get_stderr_pipe (relay->process));
  g_subprocess_wait (relay->process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (relay->process));
  g_assert_cmpint (g_subprocess_get_exit_status (relay->process), ==, 0);
  g_object_unref (relay->process);
  g_free (relay);
  return err_text;
}

/* The value of key=VALUE on the summary line that starts with prefix. */
static guint64
summary_value (const char *summary, const char *prefix, const char *key)
{
  g_auto (GStrv) lines = g_strsplit (summary, "\n", -1);
  g_autofree char *needle = g_strdup_printf (" %s=", key);

  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, prefix))
      {
        const char *at = strstr (*l, needle);
        g_assert_nonnull (at);
        return g_ascii_strtoull (at + strlen (needle), NULL, 10);
      }
  g_error ("no summary line \"%s\" in: %s", prefix, summary);
  return 0;
}

static int
udp_socket (guint16 *ret_port)
{
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int size = 4 * 1024 * 1024;

  g_assert_cmpint (fd, >=, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &a, &len), ==, 0);
  if (ret_port != NULL)
    *ret_port = ntohs (a.sin_port);
  return fd;
}

static void
send_to_port (int fd, guint16 port, const void *data, gsize len)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK),
                           .sin_port = htons (port) };
  g_assert_cmpint (sendto (fd, data, len, 0, (struct sockaddr *) &a, sizeof a), ==, (gssize) len);
}

/* Receives one datagram within timeout_ms; returns its length or -1. */
static gssize
receive_within (int fd, void *buf, gsize size, int timeout_ms, struct sockaddr_in *ret_from)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  socklen_t len = sizeof *ret_from;
  struct sockaddr_in from;

  if (poll (&p, 1, timeout_ms) <= 0)
    return -1;
  return recvfrom (fd, buf, size, 0, (struct sockaddr *) (ret_from ? ret_from : &from), &len);
}

typedef struct {
  guint32 seq;
  gint64 sent_us;
  guint8 filler[52];
} Probe;

static void
probe_fill (Probe *p, guint32 seq)
{
  p->seq = seq;
  p->sent_us = g_get_monotonic_time ();
  for (guint i = 0; i < sizeof p->filler; i++)
    p->filler[i] = (guint8) (seq * 31 + i);
}

/* Sends count probes client -> relay, paced in groups; returns how many
 * copies of each sequence number arrived at the upstream socket. */
static guint *
blast_up (int client, int upstream, guint16 relay_port, guint count)
{
  guint *seen = g_new0 (guint, count);
  Probe p;
  for (guint i = 0; i < count; i++)
    {
      probe_fill (&p, i);
      send_to_port (client, relay_port, &p, sizeof p);
      if (i % 100 == 99)
        g_usleep (2000);
    }
  while (receive_within (upstream, &p, sizeof p, 300, NULL) == sizeof p)
    if (p.seq < count)
      seen[p.seq]++;
  return seen;
}

static void
test_relay_plain_and_mapping (void)
{
  guint16 up_port;
  int upstream = udp_socket (&up_port);
  int client_a = udp_socket (NULL), client_b = udp_socket (NULL);
  Relay *relay = relay_start (up_port, NULL);
  struct sockaddr_in from_a, from_b, from;
  char buf[64];
  g_autofree char *summary = NULL;

  send_to_port (client_a, relay->port, "from-a", 6);
  g_assert_cmpint (receive_within (upstream, buf, sizeof buf, 2000, &from_a), ==, 6);
  g_assert_cmpmem (buf, 6, "from-a", 6);
  send_to_port (client_b, relay->port, "from-b", 6);
  g_assert_cmpint (receive_within (upstream, buf, sizeof buf, 2000, &from_b), ==, 6);
  g_assert_cmpmem (buf, 6, "from-b", 6);
  /* one upstream socket per client */
  g_assert_cmpuint (from_a.sin_port, !=, from_b.sin_port);

  /* answers go back to the right client, from the relay's listening port */
  sendto (upstream, "to-b", 4, 0, (struct sockaddr *) &from_b, sizeof from_b);
  sendto (upstream, "to-a", 4, 0, (struct sockaddr *) &from_a, sizeof from_a);
  g_assert_cmpint (receive_within (client_a, buf, sizeof buf, 2000, &from), ==, 4);
  g_assert_cmpmem (buf, 4, "to-a", 4);
  g_assert_cmpuint (ntohs (from.sin_port), ==, relay->port);
  g_assert_cmpint (receive_within (client_b, buf, sizeof buf, 2000, NULL), ==, 4);
  g_assert_cmpmem (buf, 4, "to-b", 4);

  summary = relay_stop (relay);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "forwarded"), ==, 2);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: down", "forwarded"), ==, 2);
  g_assert_nonnull (strstr (summary, "netsim-relay: cpu user_s="));
  close (upstream);
  close (client_a);
  close (client_b);
}

/* Runs 2000 probes at 10 % loss with the given seed; returns the pattern. */
static GString *
loss_pattern (const char *seed_arg, guint *ret_arrived)
{
  const guint count = 2000;
  const char *args[] = { "--loss-up=10", seed_arg, NULL };
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  g_autofree guint *seen = blast_up (client, upstream, relay->port, count);
  g_autofree char *summary = relay_stop (relay);
  GString *pattern = g_string_sized_new (count);
  guint arrived = 0;

  for (guint i = 0; i < count; i++)
    {
      g_assert_cmpuint (seen[i], <=, 1);
      arrived += seen[i];
      g_string_append_c (pattern, seen[i] ? '1' : '0');
    }
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "received"), ==, count);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "loss"), ==, count - arrived);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "forwarded"), ==, arrived);
  close (upstream);
  close (client);
  *ret_arrived = arrived;
  return pattern;
}

static void
test_relay_loss (void)
{
  guint arrived_a, arrived_b, arrived_c;
  g_autoptr (GString) a = loss_pattern ("--seed=7", &arrived_a);
  g_autoptr (GString) b = loss_pattern ("--seed=7", &arrived_b);
  g_autoptr (GString) c = loss_pattern ("--seed=8", &arrived_c);

  /* 200 lost expected, sd 13.4: five standard deviations either side */
  g_assert_cmpuint (2000 - arrived_a, >, 133);
  g_assert_cmpuint (2000 - arrived_a, <, 267);
  /* the same seed drops the same datagrams; another seed others */
  g_assert_cmpstr (a->str, ==, b->str);
  g_assert_cmpstr (a->str, !=, c->str);
}

static void
test_relay_burst (void)
{
  const guint count = 3000;
  const char *args[] = { "--burst-up=2:20:100", "--seed=5", NULL };
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  g_autofree guint *seen = blast_up (client, upstream, relay->port, count);
  g_autofree char *summary = relay_stop (relay);
  guint lost = 0, runs = 0;

  for (guint i = 0; i < count; i++)
    if (seen[i] == 0)
      {
        lost++;
        runs += i == 0 || seen[i - 1] != 0;
      }
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "burst"), ==, lost);
  g_assert_cmpuint (lost, >, count * 4 / 100);
  g_assert_cmpuint (lost, <, count * 16 / 100);
  g_assert_cmpfloat ((double) lost / runs, >, 3.0);
  close (upstream);
  close (client);
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* One-way delays (µs) of count probes sent every gap_us. */
static GArray *
one_way_delays (const char *const *args, guint count, gint64 gap_us)
{
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  GArray *delays = g_array_new (FALSE, FALSE, sizeof (gint64));
  Probe p;

  gint64 next_send = g_get_monotonic_time ();
  guint sent = 0;

  /* Send on schedule and timestamp arrivals as they come, 500 ms beyond the last send. */
  while (TRUE)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 wait_until = sent < count ? next_send : next_send + 500 * MS;
      if (sent < count && now >= next_send)
        {
          probe_fill (&p, sent++);
          send_to_port (client, relay->port, &p, sizeof p);
          next_send += gap_us;
          continue;
        }
      if (now >= wait_until)
        break;
      if (receive_within (upstream, &p, sizeof p, (int) MAX (1, (wait_until - now) / 1000), NULL) == sizeof p)
        {
          gint64 d = g_get_monotonic_time () - p.sent_us;
          g_array_append_val (delays, d);
        }
    }
  g_free (relay_stop (relay));
  close (upstream);
  close (client);
  g_array_sort (delays, compare_gint64);
  return delays;
}

static void
test_relay_delay (void)
{
  const char *args[] = { "--delay-up=30", NULL };
  g_autoptr (GArray) d = one_way_delays (args, 40, 2000);
  gint64 median;

  g_assert_cmpuint (d->len, ==, 40);
  median = g_array_index (d, gint64, d->len / 2);
  g_assert_cmpint (g_array_index (d, gint64, 0), >=, 30 * MS);
  /* exact to well under a millisecond; a loaded machine may add a little */
  g_assert_cmpint (median, <, 30 * MS + 700);
  g_assert_cmpint (g_array_index (d, gint64, d->len - 1), <, 60 * MS);   /* a loaded run saw 46 ms */
}

static void
test_relay_jitter (void)
{
  const char *args[] = { "--delay-up=20", "--jitter-up=10", NULL };
  g_autoptr (GArray) d = one_way_delays (args, 60, 1000);

  g_assert_cmpuint (d->len, ==, 60);
  g_assert_cmpint (g_array_index (d, gint64, 0), >=, 10 * MS);
  /* the spread is the point; the upper bounds leave room for a loaded
   * machine (a CI run saw 42 ms with 40 ms as the bound) */
  g_assert_cmpint (g_array_index (d, gint64, 0), <, 16 * MS);
  g_assert_cmpint (g_array_index (d, gint64, d->len - 1), >, 26 * MS);
  g_assert_cmpint (g_array_index (d, gint64, d->len - 1), <, 60 * MS);
}

static void
test_relay_duplicate_and_corrupt (void)
{
  const guint count = 200;
  const char *args[] = { "--duplicate-up=100", "--corrupt-up=100", NULL };
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  g_autofree char *summary = NULL;
  guint received = 0;
  Probe sent, got;

  for (guint i = 0; i < count; i++)
    {
      probe_fill (&sent, i);
      send_to_port (client, relay->port, &sent, sizeof sent);
      for (guint copy = 0; copy < 2; copy++)
        {
          guint differing = 0;
          g_assert_cmpint (receive_within (upstream, &got, sizeof got, 2000, NULL), ==, sizeof got);
          received++;
          for (guint b = 0; b < sizeof got; b++)
            differing += ((guint8 *) &got)[b] != ((guint8 *) &sent)[b];
          /* bits flipped in exactly one byte, and both copies alike */
          g_assert_cmpuint (differing, ==, 1);
        }
    }
  g_assert_cmpint (receive_within (upstream, &got, sizeof got, 100, NULL), ==, -1);
  summary = relay_stop (relay);
  g_assert_cmpuint (received, ==, 2 * count);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "duplicated"), ==, count);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "corrupted"), ==, count);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "forwarded"), ==, 2 * count);
  close (upstream);
  close (client);
}

static void
test_relay_reorder (void)
{
  const guint count = 400;
  const char *args[] = { "--reorder-up=20", "--reorder-gap-up=10", "--seed=11", NULL };
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  g_autofree char *summary = NULL;
  guint received = 0, late = 0;
  guint32 highest = 0;
  Probe p;

  for (guint i = 0; i < count; i++)
    {
      probe_fill (&p, i);
      send_to_port (client, relay->port, &p, sizeof p);
      g_usleep (1000);
    }
  while (receive_within (upstream, &p, sizeof p, 300, NULL) == sizeof p)
    {
      received++;
      if (received > 1 && p.seq < highest)
        late++;
      highest = MAX (highest, p.seq);
    }
  summary = relay_stop (relay);
  g_assert_cmpuint (received, ==, count);
  /* 80 expected (sd 8); a held-back datagram arrives after its successors */
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "reordered"), >, 40);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "reordered"), <, 120);
  g_assert_cmpuint (late, >=, summary_value (summary, "netsim-relay: up", "reordered") * 8 / 10);
  close (upstream);
  close (client);
}

static void
test_relay_blackhole (void)
{
  const char *args[] = { "--blackhole-up=300:300", "--blackhole-down=0:1", NULL };
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  g_autofree gint64 *sent_at = g_new0 (gint64, 100);
  g_autofree guint *seen = NULL;
  g_autofree char *summary = NULL;
  guint count = 0;
  Probe p;

  /* a probe every 10 ms for a second after the relay started */
  while (count < 100 && g_get_monotonic_time () - relay->started_us < 1000 * MS)
    {
      probe_fill (&p, count);
      sent_at[count] = p.sent_us - relay->started_us;
      send_to_port (client, relay->port, &p, sizeof p);
      count++;
      g_usleep (10000);
    }
  seen = g_new0 (guint, count);
  while (receive_within (upstream, &p, sizeof p, 300, NULL) == sizeof p)
    seen[p.seq]++;
  summary = relay_stop (relay);
  guint surely_in = 0, maybe_in = 0;
  /* The relay's clock started a little before we read its first line. */
  for (guint i = 0; i < count; i++)
    {
      if (sent_at[i] >= 320 * MS && sent_at[i] < 570 * MS)
        {
          g_assert_cmpuint (seen[i], ==, 0);
          surely_in++;
        }
      if (sent_at[i] < 270 * MS || sent_at[i] >= 650 * MS)
        g_assert_cmpuint (seen[i], ==, 1);
      else
        maybe_in++;
    }
  g_assert_cmpuint (surely_in, >, 5);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "blackhole"), >=, surely_in);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "blackhole"), <=, maybe_in);
  close (upstream);
  close (client);
}

static void
test_relay_rate (void)
{
  /* 8 Mbit/s: 100 datagrams of 1000 bytes take 100 ms to serialise; with a
   * 20 kB queue the burst beyond it is dropped. */
  const char *args[] = { "--rate-up=8", "--queue-bytes-up=20000", NULL };
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  g_autofree char *summary = NULL;
  guint8 data[1000] = { 0 };
  gint64 start = g_get_monotonic_time (), last = 0;
  guint received = 0;

  for (guint i = 0; i < 100; i++)
    send_to_port (client, relay->port, data, sizeof data);
  while (receive_within (upstream, data, sizeof data, 300, NULL) == sizeof data)
    {
      received++;
      last = g_get_monotonic_time ();
    }
  summary = relay_stop (relay);
  /* about 21 fit (one on the link, 20 kB waiting); the rest are dropped */
  g_assert_cmpuint (received, >=, 18);
  g_assert_cmpuint (received, <=, 30);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "queue"), ==, 100 - received);
  /* and they leave at 1 ms per datagram */
  g_assert_cmpint (last - start, >=, (gint64) (received - 1) * MS);
  g_assert_cmpint (last - start, <, (gint64) (received + 40) * MS);
  close (upstream);
  close (client);
}

static void
test_relay_directions (void)
{
  const char *args[] = { "--loss-down=100", "--delay-up=5", NULL };
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  g_autofree char *summary = NULL;
  struct sockaddr_in from;
  char buf[16];

  for (guint i = 0; i < 20; i++)
    {
      send_to_port (client, relay->port, "ping", 4);
      g_assert_cmpint (receive_within (upstream, buf, sizeof buf, 2000, &from), ==, 4);
      sendto (upstream, "pong", 4, 0, (struct sockaddr *) &from, sizeof from);
    }
  g_assert_cmpint (receive_within (client, buf, sizeof buf, 200, NULL), ==, -1);
  summary = relay_stop (relay);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: up", "forwarded"), ==, 20);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: down", "loss"), ==, 20);
  g_assert_cmpuint (summary_value (summary, "netsim-relay: down", "forwarded"), ==, 0);
  close (upstream);
  close (client);
}

static void
test_relay_delay_down (void)
{
  const char *args[] = { "--delay-down=25", NULL };
  guint16 up_port;
  int upstream = udp_socket (&up_port), client = udp_socket (NULL);
  Relay *relay = relay_start (up_port, args);
  struct sockaddr_in from;
  char buf[16];

  for (guint i = 0; i < 10; i++)
    {
      gint64 start = g_get_monotonic_time (), rtt;
      send_to_port (client, relay->port, "ping", 4);
      g_assert_cmpint (receive_within (upstream, buf, sizeof buf, 2000, &from), ==, 4);
      sendto (upstream, "pong", 4, 0, (struct sockaddr *) &from, sizeof from);
      g_assert_cmpint (receive_within (client, buf, sizeof buf, 2000, NULL), ==, 4);
      rtt = g_get_monotonic_time () - start;
      g_assert_cmpint (rtt, >=, 25 * MS);
      g_assert_cmpint (rtt, <, 60 * MS);   /* the exactness test is /netsim/relay/delay */
    }
  g_free (relay_stop (relay));
  close (upstream);
  close (client);
}

static void
test_relay_duration (void)
{
  const char *argv[] = { NETSIM_RELAY_PATH, "--upstream=127.0.0.1:9", "--duration=0.3", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                 G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_autofree char *out = NULL, *err = NULL;
  gint64 start = g_get_monotonic_time ();

  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (p));
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3000 * MS);
  g_assert_true (g_str_has_prefix (out, "LISTEN 127.0.0.1:"));
  g_assert_nonnull (strstr (err, "netsim-relay: up received=0"));
  g_assert_nonnull (strstr (err, "netsim-relay: down received=0"));
  g_assert_nonnull (strstr (err, "netsim-relay: cpu "));
}


static void
test_relay_ipv6 (void)
{
  int upstream = socket (AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int client = socket (AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
  struct sockaddr_in6 from;
  socklen_t len = sizeof a;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = NULL;
  g_autoptr (GDataInputStream) out = NULL;
  g_autofree char *upstream_arg = NULL, *line = NULL, *err = NULL;
  char buf[16];

  if (upstream < 0 || bind (upstream, (struct sockaddr *) &a, sizeof a) < 0)
    {
      g_test_skip ("no IPv6 loopback");
      if (upstream >= 0)
        close (upstream);
      if (client >= 0)
        close (client);
      return;
    }
  g_assert_cmpint (getsockname (upstream, (struct sockaddr *) &a, &len), ==, 0);
  upstream_arg = g_strdup_printf ("--upstream=[::1]:%u", ntohs (a.sin6_port));
  p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                        NETSIM_RELAY_PATH, "--listen=[::1]:0", upstream_arg, "--duration=30", NULL);
  g_assert_no_error (error);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (out), FALSE);
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (line, "LISTEN [::1]:"));

  a.sin6_port = htons ((guint16) atoi (strrchr (line, ':') + 1));
  g_assert_cmpint (sendto (client, "six", 3, 0, (struct sockaddr *) &a, sizeof a), ==, 3);
  {
    struct pollfd pfd = { .fd = upstream, .events = POLLIN };
    socklen_t from_len = sizeof from;
    g_assert_cmpint (poll (&pfd, 1, 2000), ==, 1);
    g_assert_cmpint (recvfrom (upstream, buf, sizeof buf, 0, (struct sockaddr *) &from, &from_len), ==, 3);
  }
  g_assert_cmpint (sendto (upstream, "xis", 3, 0, (struct sockaddr *) &from, sizeof from), ==, 3);
  g_assert_cmpint (receive_within (client, buf, sizeof buf, 2000, NULL), ==, 3);
  g_assert_cmpmem (buf, 3, "xis", 3);

  g_subprocess_send_signal (p, SIGTERM);
  err = read_all (g_subprocess_get_stderr_pipe (p));
  g_subprocess_wait (p, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (err, "netsim-relay: up received=1 forwarded=1"));
  close (upstream);
  close (client);
}

/* TRUE while pid exists and is not a zombie. */
static gboolean
process_alive (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *close_paren;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  close_paren = strrchr (stat, ')');
  return close_paren != NULL && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

static void
test_relay_dies_with_parent (void)
{
  /* sh starts the relay in the background, prints its pid and exits. */
  const char *argv[] = { "/bin/sh", "-c", "\"$0\" --upstream=127.0.0.1:9 --duration=60 >/dev/null 2>&1 & echo $!; sleep 0.3",
                         NETSIM_RELAY_PATH, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) sh = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_autofree char *out = NULL;
  gint64 deadline;
  int pid;

  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (sh, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  pid = atoi (out);
  g_assert_cmpint (pid, >, 1);
  deadline = g_get_monotonic_time () + 3000 * MS;
  while (process_alive (pid) && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  g_assert_false (process_alive (pid));
}

static void
test_relay_bad_command_lines (void)
{
  static const char *const cases[][4] = {
    { NULL },                                               /* no --upstream */
    { "--upstream=127.0.0.1:9", "--loss=150", NULL },
    { "--upstream=127.0.0.1:9", "--loss=abc", NULL },
    { "--upstream=127.0.0.1:9", "--delay-up=-1", NULL },
    { "--upstream=127.0.0.1:9", "--blackhole=5", NULL },
    { "--upstream=127.0.0.1:9", "--burst=1:2", NULL },
    { "--upstream=127.0.0.1:9", "--no-such-option", NULL },
    { "--upstream=localhost:9", NULL },
    { "--upstream=127.0.0.1:0", NULL },
    { "--upstream=127.0.0.1:9", "--listen=[::1]:0", NULL },
    { "--upstream=127.0.0.1:9", "--duration=0", NULL },
    { "--upstream=127.0.0.1:9", "stray", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) argv = g_ptr_array_new ();
      g_autoptr (GError) error = NULL;
      g_autoptr (GSubprocess) p = NULL;
      g_autofree char *out = NULL, *err = NULL;

      g_ptr_array_add (argv, (gpointer) NETSIM_RELAY_PATH);
      for (gsize j = 0; cases[i][j] != NULL; j++)
        g_ptr_array_add (argv, (gpointer) cases[i][j]);
      g_ptr_array_add (argv, NULL);
      p = g_subprocess_newv ((const char *const *) argv->pdata,
                             G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
      g_assert_no_error (error);
      g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error);
      g_assert_no_error (error);
      g_test_message ("case %zu: %s", i, err);
      g_assert_true (g_subprocess_get_if_exited (p));
      g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 2);
      g_assert_cmpstr (out, ==, "");
      /* exactly one line, saying who speaks */
      g_assert_true (g_str_has_prefix (err, "netsim-relay: "));
      g_assert_nonnull (strchr (err, '\n'));
      g_assert_cmpstr (strchr (err, '\n'), ==, "\n");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/netsim/model/loss-is-seeded", test_model_loss_is_seeded);
  g_test_add_func ("/netsim/model/jitter-bounds-and-fifo", test_model_jitter_bounds_and_fifo);
  g_test_add_func ("/netsim/model/burst-clusters", test_model_burst_clusters);
  g_test_add_func ("/netsim/model/queue-order", test_model_queue_order);
  g_test_add_func ("/netsim/relay/plain-and-mapping", test_relay_plain_and_mapping);
  g_test_add_func ("/netsim/relay/loss", test_relay_loss);
  g_test_add_func ("/netsim/relay/burst", test_relay_burst);
  g_test_add_func ("/netsim/relay/delay", test_relay_delay);
  g_test_add_func ("/netsim/relay/jitter", test_relay_jitter);
  g_test_add_func ("/netsim/relay/duplicate-and-corrupt", test_relay_duplicate_and_corrupt);
  g_test_add_func ("/netsim/relay/reorder", test_relay_reorder);
  g_test_add_func ("/netsim/relay/blackhole", test_relay_blackhole);
  g_test_add_func ("/netsim/relay/rate", test_relay_rate);
  g_test_add_func ("/netsim/relay/directions", test_relay_directions);
  g_test_add_func ("/netsim/relay/delay-down", test_relay_delay_down);
  g_test_add_func ("/netsim/relay/duration", test_relay_duration);
  g_test_add_func ("/netsim/relay/ipv6", test_relay_ipv6);
  g_test_add_func ("/netsim/relay/dies-with-parent", test_relay_dies_with_parent);
  g_test_add_func ("/netsim/relay/bad-command-lines", test_relay_bad_command_lines);
  return g_test_run ();
}
