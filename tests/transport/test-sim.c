/* test-sim.c: deterministic tests of the transport core on the simulated
 * network (virtual clock). */
#include "sim-harness.h"
#include "debug-dump.h"

#include <gcrypt.h>
#include <math.h>
#include <string.h>

#define S(x) ((gint64) ((x) * G_USEC_PER_SEC))

static void
assert_delivered_exactly_once (Harness *h)
{
  GHashTableIter iter;
  gpointer key, value;
  g_assert_cmpuint (h->unexpected, ==, 0);
  g_assert_cmpuint (h->received, ==, h->target);
  g_assert_cmpuint (h->sends_ok, ==, h->target);
  g_assert_cmpuint (h->sends_failed, ==, 0);
  g_hash_table_iter_init (&iter, h->expected);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_assert_cmpuint (GPOINTER_TO_UINT (value), ==, 0);
}

static void
test_basic (void)
{
  Harness h;
  harness_init (&h, 1, NULL);
  g_autoptr(GBytes) m = harness_message (1, 100);
  harness_send (&h, h.a, h.b, m);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (5), harness_all_done, &h));
  assert_delivered_exactly_once (&h);
  g_assert_cmpuint (h.established, ==, 2);
  /* 2 RTT handshake (retry + accept) + data: well under a second at 20 ms RTT */
  g_assert_cmpint (simnet_now (h.net), <, 1000000 + S (0.2));
  harness_clear (&h);
}

/* Sizes from 0 B to 1 MiB, log-distributed, total bounded by @budget. */
static void
run_sizes (double loss, guint32 seed, guint64 budget, guint max_messages, gint64 limit)
{
  Harness h;
  harness_init (&h, seed, NULL);
  SimLink link;
  simnet_link_init (&link);
  link.loss = loss;
  link.duplicate = 0.02;
  link.corrupt = 0.02;
  link.reorder = 0.02;
  link.reorder_extra_us = 3000;
  link.jitter_us = 2000;
  link.delay_us = 10000;
  link.rate_bytes_per_s = 50 * 1000 * 1000;
  h.a->uplink = link;
  h.b->uplink = link;
  GRand *r = g_rand_new_with_seed (seed * 7 + 1);
  guint64 total = 0;
  for (guint i = 0; i < max_messages && total < budget; i++)
    {
      /* log-uniform in [1, 2^20], with exact 0 and 1 MiB included */
      gsize size = i == 0 ? 0 : i == 1 ? 1024 * 1024 :
                   (gsize) floor (pow (2.0, g_rand_double_range (r, 0.0, 20.0)));
      g_autoptr(GBytes) m = harness_message (i, size);
      total += size;
      harness_send (&h, h.a, h.b, m);
      if (i % 3 == 0)
        {
          /* some traffic the other way, on the same connection */
          g_autoptr(GBytes) back = harness_message (100000 + i, size / 16);
          harness_send (&h, h.b, h.a, back);
        }
    }
  g_rand_free (r);
  gboolean done = simnet_run (h.net, simnet_now (h.net) + limit, harness_all_done, &h);
  if (!done)
    {
      g_test_message ("received %u/%u, ok %u failed %u", h.received, h.target, h.sends_ok, h.sends_failed);
      chatd_endpoint_foreach_connection (h.a->endpoint, debug_dump_conn, NULL);
      g_printerr ("--- b\n");
      chatd_endpoint_foreach_connection (h.b->endpoint, debug_dump_conn, NULL);
    }
  g_assert_true (done);
  assert_delivered_exactly_once (&h);
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.a->endpoint), <=, 2);
  if (loss > 0)
    {
      g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "conn.packets_lost"), >, 0);
      g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "conn.dropped_bad_checksum") +
                        chatd_endpoint_get_counter (h.b->endpoint, "dropped_bad_checksum") +
                        chatd_endpoint_get_counter (h.b->endpoint, "dropped_unknown_connection") +
                        chatd_endpoint_get_counter (h.b->endpoint, "dropped_malformed_header") +
                        chatd_endpoint_get_counter (h.b->endpoint, "dropped_bad_version") +
                        chatd_endpoint_get_counter (h.b->endpoint, "dropped_bad_type"), >, 0);
    }
  g_test_message ("loss %.0f%%: %u messages, %" G_GUINT64_FORMAT " bytes in %.1f s simulated",
                  loss * 100, h.target, total, (simnet_now (h.net) - 1000000) / 1e6);
  harness_clear (&h);
}

static void
test_sizes_loss0 (void)
{
  run_sizes (0.0, 11, 24 * 1024 * 1024, 400, S (120));
}

static void
test_sizes_loss5 (void)
{
  run_sizes (0.05, 12, 16 * 1024 * 1024, 300, S (300));
}

static void
test_sizes_loss20 (void)
{
  run_sizes (0.20, 13, 6 * 1024 * 1024, 150, S (600));
}

static void
test_sizes_loss50 (void)
{
  run_sizes (0.50, 14, 2 * 1024 * 1024, 60, S (1800));
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/sim/basic", test_basic);
  g_test_add_func ("/transport/sim/sizes/loss-0", test_sizes_loss0);
  g_test_add_func ("/transport/sim/sizes/loss-5", test_sizes_loss5);
  g_test_add_func ("/transport/sim/sizes/loss-20", test_sizes_loss20);
  g_test_add_func ("/transport/sim/sizes/loss-50", test_sizes_loss50);
  return g_test_run ();
}
