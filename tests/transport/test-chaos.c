/* test-chaos.c: random scenarios on the simulated network (random link
 * impairments, sizes, directions, a restart or a close now and then),
 * checking the invariants: nothing is delivered twice or altered, every
 * completion runs exactly once, and with a link that works everything
 * sent on a surviving connection arrives.
 *
 *   test-chaos [--seeds N] [--first S]   (default: 40 seeds in make check)
 */
#include "hmac-protector.h"
#include "sim-harness.h"

#include <gcrypt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static guint n_seeds = 40;
static guint64 total_delivered, total_failed;
static gint64 total_sim_us;
static guint protected_runs;
static guint first_seed = 1;

static void
print_nonzero (const char *name, guint64 value, gpointer user_data)
{
  if (value && !g_str_has_prefix (name, "conn."))
    g_printerr ("  %s %s = %" G_GUINT64_FORMAT "\n", (const char *) user_data, name, value);
}

static void
debug_tap (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  ChatdPacketHeader h;
  if (chatd_packet_parse_header (data, len, &h) == CHATD_PACKET_OK && simnet_now (from->net) < 13000000)
    g_printerr ("%.3f %s type %u len %" G_GSIZE_FORMAT " token %" G_GSIZE_FORMAT " pn %" G_GUINT64_FORMAT " dcid %016" G_GINT64_MODIFIER "x scid %016" G_GINT64_MODIFIER "x\n",
                (simnet_now (from->net) - 1000000) / 1e6, from == user_data ? "a->b" : "b->a", h.type, len,
                h.token_len, h.pn, h.dcid, h.scid);
}

static void
random_link (GRand *r, SimLink *link)
{
  simnet_link_init (link);
  link->loss = g_rand_int_range (r, 0, 4) == 0 ? 0 : g_rand_double_range (r, 0, 0.3);
  link->duplicate = g_rand_double_range (r, 0, 0.05);
  link->corrupt = g_rand_double_range (r, 0, 0.05);
  link->reorder = g_rand_double_range (r, 0, 0.1);
  link->reorder_extra_us = g_rand_int_range (r, 0, 30000);
  link->delay_us = g_rand_int_range (r, 100, 80000);
  link->jitter_us = g_rand_int_range (r, 0, 5000);
  link->rate_bytes_per_s = g_rand_int_range (r, 0, 3) == 0 ? 0 : (guint64) g_rand_int_range (r, 200000, 50000000);
  link->queue_us = g_rand_int_range (r, 5000, 200000);
}

static void
run_seed (guint32 seed)
{
  Harness h;
  GRand *r = g_rand_new_with_seed (seed);
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  if (g_rand_boolean (r))
    config.stream_receive_window = g_rand_int_range (r, 4096, 1 << 20);
  if (g_rand_boolean (r))
    config.max_incoming_streams = g_rand_int_range (r, 1, 64);
  config.ack_every = g_rand_int_range (r, 1, 6);
  harness_init (&h, seed, &config);
  random_link (r, &h.a->uplink);
  if (g_rand_boolean (r))
    h.b->uplink = h.a->uplink;
  else
    random_link (r, &h.b->uplink);
  if (g_getenv ("CHAOS_DEBUG"))
    simnet_set_tap (h.net, debug_tap, h.a);
  if (g_getenv ("CHAOS_DEBUG"))
    g_printerr ("seed %u: a loss %.2f dup %.2f corrupt %.2f reorder %.2f/%" G_GINT64_FORMAT " delay %" G_GINT64_FORMAT
                " jitter %" G_GINT64_FORMAT " rate %" G_GUINT64_FORMAT " queue %" G_GINT64_FORMAT "; b loss %.2f delay %" G_GINT64_FORMAT
                " rate %" G_GUINT64_FORMAT " queue %" G_GINT64_FORMAT "\n",
                seed, h.a->uplink.loss, h.a->uplink.duplicate, h.a->uplink.corrupt, h.a->uplink.reorder,
                h.a->uplink.reorder_extra_us, h.a->uplink.delay_us, h.a->uplink.jitter_us, h.a->uplink.rate_bytes_per_s,
                h.a->uplink.queue_us, h.b->uplink.loss, h.b->uplink.delay_us, h.b->uplink.rate_bytes_per_s, h.b->uplink.queue_us);
  guint n = g_rand_int_range (r, 1, 60);
  guint64 budget = 3 * 1024 * 1024;
  for (guint i = 0; i < n && budget > 0; i++)
    {
      gsize size = (gsize) floor (pow (2.0, g_rand_double_range (r, 0, 19)));
      if (g_rand_int_range (r, 0, 10) == 0)
        size = 0;
      size = MIN (size, budget);
      budget -= size;
      g_autoptr(GBytes) m = harness_message (seed * 1000 + i, size);
      gboolean forward = g_rand_int_range (r, 0, 4) != 0;
      harness_send (&h, forward ? h.a : h.b, forward ? h.b : h.a, m);
    }
  gint64 t0 = simnet_now (h.net);
  gboolean disrupted = FALSE; /* a blackhole, a restart or a close */
  if (g_rand_int_range (r, 0, 5) == 0)
    {
      disrupted = TRUE;
      /* a blackhole both ways, possibly longer than the dead-peer bound */
      gint64 from = t0 + g_rand_int_range (r, 0, 3000000);
      gint64 len = g_rand_int_range (r, 100000, 15000000);
      h.a->uplink.blackhole_from_us = h.b->uplink.blackhole_from_us = from;
      h.a->uplink.blackhole_until_us = h.b->uplink.blackhole_until_us = from + len;
    }
  if (g_rand_int_range (r, 0, 8) == 0)
    {
      disrupted = TRUE;
      /* b vanishes for a while, then a new process takes its address */
      simnet_run (h.net, t0 + g_rand_int_range (r, 0, 2000000), harness_all_done, &h);
      h.b->down = TRUE;
      simnet_run (h.net, simnet_now (h.net) + g_rand_int_range (r, 0, 15000000), NULL, NULL);
      chatd_endpoint_free (h.b->endpoint);
      h.b->endpoint = chatd_endpoint_new (&config, &h.b->addr);
      h.b->down = FALSE;
      harness_watch (&h, h.b);
    }
  if (g_rand_int_range (r, 0, 4) == 0)
    {
      /* keys arrive mid-transfer, on each side at a different time */
      for (int side = 0; side < 2; side++)
        {
          simnet_run (h.net, simnet_now (h.net) + g_rand_int_range (r, 0, 500000), harness_all_done, &h);
          SimNode *self = side == 0 ? h.a : h.b, *other = side == 0 ? h.b : h.a;
          ChatdConnection *conn = chatd_endpoint_lookup (self->endpoint, &other->addr);
          if (conn)
            hmac_protector_install (conn, chatd_connection_is_client (conn));
        }
      protected_runs++;
    }
  if (g_rand_int_range (r, 0, 10) == 0)
    {
      disrupted = TRUE;
      /* one side closes the connection mid-transfer */
      simnet_run (h.net, simnet_now (h.net) + g_rand_int_range (r, 0, 1000000), harness_all_done, &h);
      ChatdConnection *conn = chatd_endpoint_lookup (h.a->endpoint, &h.b->addr);
      if (conn)
        chatd_connection_close (conn, simnet_now (h.net), 1, "chaos");
    }
  gboolean done = simnet_run (h.net, simnet_now (h.net) + 600 * G_USEC_PER_SEC, harness_all_done, &h);
  if (g_getenv ("CHAOS_DEBUG"))
    {
      chatd_endpoint_foreach_counter (h.a->endpoint, print_nonzero, (gpointer) "a");
      chatd_endpoint_foreach_counter (h.b->endpoint, print_nonzero, (gpointer) "b");
    }
  /* invariants that hold whatever the link did (a restarted b may get a
   * message whose sender then reports a failure: at most once, never twice) */
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (h.sends_ok + h.sends_failed, <=, h.target);
  g_assert_cmpuint (h.received, <=, h.target);
  if (h.sends_failed == 0)
    {
      if (!done)
        g_test_message ("seed %u: %u/%u received, %u acknowledged", seed, h.received, h.target, h.sends_ok);
      g_assert_true (done);
      g_assert_cmpuint (h.received, ==, h.target);
      /* nothing left buffered for unfinished messages */
      g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "buffered_bytes"), ==, 0);
      g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "buffered_bytes"), ==, 0);
    }
  else
    {
      /* failures only after a disruption: loss alone (up to 30% each way)
       * never makes the dead-peer bound fire in practice */
      g_assert_nonnull (h.last_send_error);
      if (!disrupted)
        g_test_message ("seed %u: %u failed without a disruption (%s)", seed, h.sends_failed,
                        h.last_send_error->message);
      g_assert_true (disrupted);
    }
  total_delivered += h.received;
  total_failed += h.sends_failed;
  total_sim_us += simnet_now (h.net) - 1000000;
  /* then every pending completion runs once when the endpoints go */
  guint before = h.sends_ok + h.sends_failed;
  chatd_endpoint_free (h.a->endpoint);
  chatd_endpoint_free (h.b->endpoint);
  g_assert_cmpuint (h.sends_ok + h.sends_failed, ==, h.target);
  g_assert_cmpuint (h.sends_ok + h.sends_failed, >=, before);
  h.a->endpoint = chatd_endpoint_new (NULL, &h.a->addr);
  h.b->endpoint = chatd_endpoint_new (NULL, &h.b->addr);
  harness_clear (&h);
  g_rand_free (r);
}

static void
test_chaos (void)
{
  for (guint s = first_seed; s < first_seed + n_seeds; s++)
    run_seed (s);
  g_test_message ("%u scenarios (%u with keys installed mid-transfer): %" G_GUINT64_FORMAT
                  " messages delivered, %" G_GUINT64_FORMAT " failed, %.0f s simulated",
                  n_seeds, protected_runs, total_delivered, total_failed, total_sim_us / 1e6);
  g_assert_cmpuint (total_delivered, >, n_seeds);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    {
      if (!strcmp (argv[i], "--seeds") && i + 1 < argc)
        n_seeds = atoi (argv[++i]);
      else if (!strcmp (argv[i], "--first") && i + 1 < argc)
        first_seed = atoi (argv[++i]);
    }
  g_test_add_func ("/transport/chaos/random-scenarios", test_chaos);
  return g_test_run ();
}
