/* test-interactive.c: loss recovery of thin (interactive) connections, on
 * the simulated network (virtual clock, deterministic).
 *
 * Pins what doc/transport.md ("Thin connections") describes: a lost small
 * message rides along in the next packet (redundant bundling), a tail loss
 * whose probes are lost too is retried one PTO later (no backoff for the
 * first probe timeouts), ACK frames stay short under steady loss, bulk
 * transfers carry no copies, and KCP's own scenario meets issue 3's
 * figures with room to spare.
 */
#include "chatd-connection-private.h"
#include "hmac-protector.h"
#include "kcp-scenario.h"
#include "sim-harness.h"

#include <gcrypt.h>
#include <string.h>

#define MS(x) ((gint64) (x) * 1000)

/* ---- KCP's scenario ---- */

typedef struct
{
  double avg_us;
  gint64 p99_us;
  gint64 max_us;
  double wire_per_echo;
  double redundant_per_echo;
  guint max_ack_ranges;
  guint answered;
} Figures;

static int
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static void
kcp_figures (double loss, guint seeds, Figures *ret)
{
  KcpScenario sc;
  g_autoptr (GArray) pooled = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint64 wire = 0, redundant = 0;
  double sum = 0;

  memset (ret, 0, sizeof *ret);
  kcp_scenario_init (&sc);
  sc.loss = loss;
  for (guint seed = 1; seed <= seeds; seed++)
    {
      KcpResult r;
      kcp_scenario_run (&sc, seed, &r);
      g_autoptr (GArray) rtts = kcp_result_sorted_rtts (&r);
      g_array_append_vals (pooled, rtts->data, rtts->len);
      wire += r.wire_bytes;
      redundant += r.redundant_bytes;
      ret->max_ack_ranges = MAX (ret->max_ack_ranges, r.max_ack_ranges);
      kcp_result_clear (&r);
    }
  g_array_sort (pooled, compare_i64);
  ret->answered = pooled->len;
  g_assert_cmpuint (pooled->len, >, 0);
  for (guint i = 0; i < pooled->len; i++)
    sum += (double) g_array_index (pooled, gint64, i);
  ret->avg_us = sum / pooled->len;
  ret->max_us = g_array_index (pooled, gint64, pooled->len - 1);
  ret->p99_us = g_array_index (pooled, gint64, (pooled->len - 1) * 99 / 100);
  ret->wire_per_echo = (double) wire / (seeds * sc.samples);
  ret->redundant_per_echo = (double) redundant / (seeds * sc.samples);
  if (g_test_verbose ())
    g_printerr ("loss %.0f%%: avg %.1f p99 %.1f max %.1f ms, wire %.1f B/echo (%.1f copies), ACK ranges <= %u\n",
                loss * 100, ret->avg_us / 1000, ret->p99_us / 1000.0, ret->max_us / 1000.0, ret->wire_per_echo,
                ret->redundant_per_echo, ret->max_ack_ranges);
}

/* KCP's scenario at 5 % per direction (its test.cpp's "10 %"), 5 seeds x
 * 1000: issue 3 asks for average <= 138 ms and maximum <= 392 ms (KCP's
 * published best).  Before redundant bundling this simulation gave
 * avg 107 / p99 245 / max 440 ms and 294 B on the wire per echo (now
 * 96 / 136 / 196 ms, 274 B). */
static void
test_kcp_scenario_5 (void)
{
  Figures f;
  kcp_figures (0.05, 5, &f);
  g_assert_cmpuint (f.answered, ==, 5000);
  g_assert_cmpfloat (f.avg_us, <=, MS (138));
  g_assert_cmpint (f.max_us, <=, MS (300));
  g_assert_cmpint (f.p99_us, <=, MS (180));
  /* the copies' cost stays bounded: no more bytes than before them */
  g_assert_cmpfloat (f.redundant_per_echo, >, 0);
  g_assert_cmpfloat (f.wire_per_echo, <=, 300);
}

/* The harsher reading: 10 % per direction (before: 122 / 343 / 594 ms,
 * 333 B per echo; now 99 / 146 / 227 ms, 275 B). */
static void
test_kcp_scenario_10 (void)
{
  Figures f;
  kcp_figures (0.10, 5, &f);
  g_assert_cmpuint (f.answered, ==, 5000);
  g_assert_cmpfloat (f.avg_us, <=, MS (138));
  g_assert_cmpint (f.max_us, <=, MS (392));
  g_assert_cmpfloat (f.wire_per_echo, <=, 340);
}

/* ACK frames report only ranges the peer has not seen acknowledged: under
 * steady loss they stay short (before: up to 64 ranges per frame; now 16). */
static void
test_ack_ranges_bounded (void)
{
  Figures f;
  kcp_figures (0.05, 2, &f);
  g_assert_cmpuint (f.max_ack_ranges, <=, 24);
}

/* ---- single losses, fixed delay ---- */

typedef struct
{
  SimNet *net;
  SimNode *a, *b;
  gint64 arrived[64]; /* by message index, at b */
  guint received;
} Pair;

static void
on_b_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
              gpointer user_data)
{
  Pair *p = user_data;
  gsize len;
  const guint8 *d = g_bytes_get_data (message, &len);
  g_assert_cmpuint (len, ==, 8);
  g_assert_cmpuint (d[0], <, G_N_ELEMENTS (p->arrived));
  g_assert_cmpint (p->arrived[d[0]], ==, 0); /* exactly once */
  p->arrived[d[0]] = simnet_now (p->net);
  p->received++;
}

static void
pair_send (Pair *p, guint8 index)
{
  guint8 payload[8] = { index, 1, 2, 3, 4, 5, 6, 7 };
  g_autoptr (GBytes) m = g_bytes_new (payload, sizeof payload);
  chatd_endpoint_send (p->a->endpoint, simnet_now (p->net), &p->b->addr, m, NULL, NULL);
}

static gboolean
arrived_index (Pair *p, guint8 index)
{
  return p->arrived[index] != 0;
}

static gboolean
arrived_2 (gpointer user_data)
{
  Pair *p = user_data;
  return arrived_index (p, 20) && arrived_index (p, 21);
}

static gboolean
arrived_20 (gpointer user_data)
{
  return arrived_index (user_data, 20);
}

/* a -> b with 30 ms each way, no jitter, no random loss; 20 warm-up
 * messages every 20 ms so that the RTT estimate is settled. */
static void
pair_init (Pair *p)
{
  memset (p, 0, sizeof *p);
  p->net = simnet_new (7);
  p->a = simnet_add_node (p->net, 1, 1000, NULL);
  p->b = simnet_add_node (p->net, 2, 2000, NULL);
  p->a->uplink.delay_us = MS (30);
  p->b->uplink.delay_us = MS (30);
  chatd_endpoint_set_message_callback (p->b->endpoint, on_b_message, p);
  for (guint8 i = 0; i < 20; i++)
    {
      pair_send (p, i);
      simnet_run (p->net, simnet_now (p->net) + MS (20), NULL, NULL);
    }
  simnet_run (p->net, simnet_now (p->net) + MS (1000), NULL, NULL);
  g_assert_cmpuint (p->received, ==, 20);
}

/* A lost small message arrives with the next one (20 ms later), not after
 * loss detection and a retransmission (before: 1 RTT + 9/8 RTT later). */
static void
test_lost_message_rides_next (void)
{
  Pair p;
  pair_init (&p);
  ChatdEndpoint *a = p.a->endpoint;
  guint64 lost_before = chatd_endpoint_get_counter (a, "conn.packets_lost");
  gint64 t0 = simnet_now (p.net);
  p.a->uplink.blackhole_from_us = t0;
  p.a->uplink.blackhole_until_us = t0 + 1; /* the packet sent now */
  pair_send (&p, 20);
  simnet_run (p.net, t0 + MS (20), NULL, NULL);
  pair_send (&p, 21);
  g_assert_true (simnet_run (p.net, t0 + MS (1000), arrived_2, &p));
  /* sent at t0 + 20 ms in message 21's packet, 30 ms on the way */
  g_assert_cmpint (p.arrived[20], <=, t0 + MS (20) + MS (30) + MS (1));
  g_assert_cmpint (p.arrived[21], ==, p.arrived[20]);
  g_assert_cmpuint (chatd_endpoint_get_counter (a, "conn.bytes_redundant"), >, 0);
  simnet_run (p.net, simnet_now (p.net) + MS (1000), NULL, NULL);
  /* the original packet is still declared lost (for congestion control) */
  g_assert_cmpuint (chatd_endpoint_get_counter (a, "conn.packets_lost"), ==, lost_before + 1);
  simnet_free (p.net);
}

/* A lone message lost with the two probes of the first probe timeout: the
 * second timeout comes one PTO later, not two (no backoff yet on a thin
 * connection), and its probes carry the message. */
static void
test_tail_loss_linear_pto (void)
{
  Pair p;
  pair_init (&p);
  ChatdEndpoint *a = p.a->endpoint;
  ChatdConnection *conn = chatd_endpoint_lookup (a, &p.b->addr);
  g_assert_nonnull (conn);
  g_assert_cmpuint (conn->pto_count, ==, 0);
  g_assert_cmpuint (conn->ack_eliciting_in_flight, ==, 0);
  gint64 pto = conn->smoothed_rtt + MAX (4 * conn->rttvar, 250) + chatd_endpoint_get_config (a)->max_ack_delay_us;
  g_assert_cmpint (pto, >=, MS (60));
  g_assert_cmpint (pto, <, MS (80));
  guint64 ptos_before = chatd_endpoint_get_counter (a, "conn.probe_timeouts");

  gint64 t0 = simnet_now (p.net);
  p.a->uplink.blackhole_from_us = t0;
  p.a->uplink.blackhole_until_us = t0 + pto + MS (1); /* the message and the first two probes */
  pair_send (&p, 20);
  g_assert_true (simnet_run (p.net, t0 + MS (3000), arrived_20, &p));
  /* second probe round at t0 + 2 PTO, 30 ms on the way (with backoff:
   * t0 + 3 PTO + 30 ms) */
  g_assert_cmpint (p.arrived[20], >=, t0 + 2 * pto + MS (30));
  g_assert_cmpint (p.arrived[20], <=, t0 + 2 * pto + MS (30) + MS (1));
  g_assert_cmpuint (chatd_endpoint_get_counter (a, "conn.probe_timeouts"), ==, ptos_before + 2);
  simnet_free (p.net);
}

/* Packet protection switch-over: the server installs its protector (so
 * its next packet carries PROTECT_READY) and sends a small message in the
 * same packet, which is lost; the next message carries a copy of the
 * first.  The copy must bring PROTECT_READY along: an upper layer that
 * answers the message at once (the login's DONE) would otherwise answer
 * in a packet the server refuses as unprotected (found by the lossy-relay
 * login test). */
typedef struct
{
  SimNet *net;
  guint delivered;
  gboolean ready_at_first;
  gint64 first_at;
} SwitchWatch;

static void
on_a_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
              gpointer user_data)
{
  SwitchWatch *w = user_data;
  const guint8 *d = g_bytes_get_data (message, NULL);
  if (d[0] == 30)
    {
      w->ready_at_first = conn->peer_ready;
      w->first_at = simnet_now (w->net);
    }
  w->delivered++;
}

static gboolean
switch_both_delivered (gpointer user_data)
{
  return ((SwitchWatch *) user_data)->delivered >= 2;
}

static void
test_copy_keeps_switch_over (void)
{
  Pair p;
  pair_init (&p);
  SwitchWatch w = { .net = p.net };
  chatd_endpoint_set_message_callback (p.a->endpoint, on_a_message, &w);
  ChatdConnection *server_conn = chatd_endpoint_lookup (p.b->endpoint, &p.a->addr);
  g_assert_nonnull (server_conn);
  hmac_protector_install (server_conn, FALSE);

  gint64 t0 = simnet_now (p.net);
  p.b->uplink.blackhole_from_us = t0;
  p.b->uplink.blackhole_until_us = t0 + 1; /* PROTECT_READY and message 30 */
  guint8 first[8] = { 30 }, second[8] = { 31 };
  g_autoptr (GBytes) m1 = g_bytes_new (first, sizeof first);
  g_autoptr (GBytes) m2 = g_bytes_new (second, sizeof second);
  chatd_connection_send (server_conn, t0, m1, NULL, NULL);
  simnet_run (p.net, t0 + MS (20), NULL, NULL);
  chatd_connection_send (server_conn, simnet_now (p.net), m2, NULL, NULL);
  g_assert_true (simnet_run (p.net, t0 + MS (1000), switch_both_delivered, &w));
  /* the copy came with message 31, 20 ms later, and with PROTECT_READY */
  g_assert_cmpint (w.first_at, <=, t0 + MS (20) + MS (30) + MS (1));
  g_assert_true (w.ready_at_first);
  simnet_free (p.net);
}

/* ---- bulk: RFC 9002 as before, no copies ---- */

static void
test_bulk_no_copies (void)
{
  Harness h;
  harness_init (&h, 11, NULL);
  h.a->uplink.loss = 0.05;
  h.b->uplink.loss = 0.05;
  g_autoptr (GBytes) big = harness_message (1, 1024 * 1024);
  harness_send (&h, h.a, h.b, big);
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr (GBytes) m = harness_message (100 + i, 2000);
      harness_send (&h, h.a, h.b, m);
    }
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 60 * G_USEC_PER_SEC, harness_all_done, &h));
  g_assert_cmpuint (h.received, ==, h.target);
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "conn.packets_lost"), >, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "conn.bytes_redundant"), ==, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "conn.bytes_redundant"), ==, 0);
  harness_clear (&h);
}

/* Many tiny messages queued at once are a bulk transfer too: copies only
 * while few packets are in flight (the first and the last packets). */
static void
test_tiny_burst_few_copies (void)
{
  Harness h;
  harness_init (&h, 12, NULL);
  h.a->uplink.loss = 0.05;
  h.b->uplink.loss = 0.05;
  guint64 payload = 0;
  for (guint i = 0; i < 2000; i++)
    {
      g_autoptr (GBytes) m = harness_message (i, 1 + i % 16);
      payload += 1 + i % 16;
      harness_send (&h, h.a, h.b, m);
    }
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 60 * G_USEC_PER_SEC, harness_all_done, &h));
  g_assert_cmpuint (h.received, ==, h.target);
  g_assert_cmpuint (h.unexpected, ==, 0);
  guint64 copies = chatd_endpoint_get_counter (h.a->endpoint, "conn.bytes_redundant");
  if (g_test_verbose ())
    g_printerr ("%" G_GUINT64_FORMAT " bytes of copies for %" G_GUINT64_FORMAT " of payload\n", copies, payload);
  g_assert_cmpuint (copies, <=, payload / 4);
  harness_clear (&h);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/interactive/kcp-scenario/loss-5", test_kcp_scenario_5);
  g_test_add_func ("/transport/interactive/kcp-scenario/loss-10", test_kcp_scenario_10);
  g_test_add_func ("/transport/interactive/ack-ranges-bounded", test_ack_ranges_bounded);
  g_test_add_func ("/transport/interactive/lost-message-rides-next", test_lost_message_rides_next);
  g_test_add_func ("/transport/interactive/tail-loss-linear-pto", test_tail_loss_linear_pto);
  g_test_add_func ("/transport/interactive/copy-keeps-switch-over", test_copy_keeps_switch_over);
  g_test_add_func ("/transport/interactive/bulk-no-copies", test_bulk_no_copies);
  g_test_add_func ("/transport/interactive/tiny-burst-few-copies", test_tiny_burst_few_copies);
  return g_test_run ();
}
