/* test-sim.c: deterministic tests of the transport core on the simulated
 * network (virtual clock). */
#include "sim-harness.h"
#include "debug-dump.h"

#include <gcrypt.h>
#include <math.h>
#include <string.h>

#define S(x) ((gint64) ((x) * (double) G_USEC_PER_SEC))

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

static void
sim_debug_tap (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  ChatdPacketHeader h;
  if (chatd_packet_parse_header (data, len, &h) == CHATD_PACKET_OK)
    g_printerr ("%.4f %s type %u len %" G_GSIZE_FORMAT " pn %" G_GUINT64_FORMAT " dcid %016" G_GINT64_MODIFIER "x\n",
                (simnet_now (from->net) - 1000000) / 1e6, from == user_data ? "a->b" : "b->a", h.type, len,
                h.pn, h.dcid);
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
  if (g_getenv ("SIM_DEBUG"))
    simnet_set_tap (h.net, sim_debug_tap, h.a);
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
      g_test_message ("received %u/%u, ok %u failed %u (%s)", h.received, h.target, h.sends_ok, h.sends_failed,
                      h.last_send_error ? h.last_send_error->message : "-");
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
  /* 50% each way: three seeds, since one run says little at this loss */
  for (guint32 seed = 14; seed < 17; seed++)
    run_sizes (0.50, seed, 3 * 1024 * 1024, 80, S (3600));
}


/* 5 s blackhole in the middle of a transfer: nothing fails, all arrives. */
static void
test_blackhole (void)
{
  Harness h;
  harness_init (&h, 21, NULL);
  gint64 t0 = simnet_now (h.net);
  h.a->uplink.rate_bytes_per_s = 2 * 1000 * 1000;
  h.b->uplink.rate_bytes_per_s = 2 * 1000 * 1000;
  for (SimNode **n = (SimNode *[]) { h.a, h.b, NULL }; *n; n++)
    {
      (*n)->uplink.blackhole_from_us = t0 + S (1);
      (*n)->uplink.blackhole_until_us = t0 + S (6);
    }
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GBytes) m = harness_message (i, 200 * 1000);
      harness_send (&h, h.a, h.b, m);
    }
  g_assert_true (simnet_run (h.net, t0 + S (60), harness_all_done, &h));
  assert_delivered_exactly_once (&h);
  g_assert_cmpint (simnet_now (h.net), >, t0 + S (6));
  /* recovery within about one capped probe interval after the blackhole */
  g_assert_cmpint (simnet_now (h.net), <, t0 + S (6) + S (2) + S (2.5));
  g_assert_cmpuint (h.closed, ==, 0);
  harness_clear (&h);
}

/* 30% loss in both directions during the handshake (and after). */
static void
test_handshake_loss (void)
{
  for (guint32 seed = 0; seed < 20; seed++)
    {
      Harness h;
      harness_init (&h, 100 + seed, NULL);
      h.a->uplink.loss = 0.3;
      h.b->uplink.loss = 0.3;
      g_autoptr(GBytes) m = harness_message (seed, 3000);
      harness_send (&h, h.a, h.b, m);
      g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (20), harness_all_done, &h));
      assert_delivered_exactly_once (&h);
      g_assert_cmpuint (h.established, ==, 2);
      harness_clear (&h);
    }
}

static void
test_tiny_messages (void)
{
  Harness h;
  harness_init (&h, 31, NULL);
  h.a->uplink.loss = 0.01;
  h.b->uplink.loss = 0.01;
  for (guint i = 0; i < 2000; i++)
    {
      g_autoptr(GBytes) m = harness_message (i, 1 + i % 16);
      harness_send (&h, h.a, h.b, m);
    }
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (60), harness_all_done, &h));
  assert_delivered_exactly_once (&h);
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.a->endpoint), ==, 1);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "connections_initiated"), ==, 1);
  /* many messages share a datagram */
  g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "conn.packets_sent"), <, 1000);
  harness_clear (&h);
}

/* A peer that vanishes is reported failed within the bound; a later send to
 * the same address (a restarted peer) starts afresh and works. */
static void
test_vanished_peer (void)
{
  Harness h;
  harness_init (&h, 41, NULL);
  g_autoptr(GBytes) m1 = harness_message (1, 5000);
  harness_send (&h, h.a, h.b, m1);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (5), harness_all_done, &h));
  assert_delivered_exactly_once (&h);

  h.b->down = TRUE;
  gint64 vanished_at = simnet_now (h.net);
  g_autoptr(GBytes) m2 = harness_message (2, 100000);
  harness_send (&h, h.a, h.b, m2);
  h.target--; /* this one must fail */
  g_assert_true (simnet_run (h.net, vanished_at + S (30), harness_failed_once, &h));
  g_assert_error (h.last_send_error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_TIMED_OUT);
  gint64 took = h.last_send_failure_at - vanished_at;
  g_test_message ("failure reported after %.2f s", took / 1e6);
  g_assert_cmpint (took, >=, S (9));
  g_assert_cmpint (took, <=, S (11.5));
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.a->endpoint), ==, 0);
  g_assert_null (chatd_endpoint_lookup (h.a->endpoint, &h.b->addr));

  /* the peer comes back (a new process at the same address) */
  simnet_restart_node (h.net, h.b);
  harness_watch (&h, h.b);
  h.sends_failed = 0;
  g_hash_table_remove_all (h.expected);
  h.target = h.received = h.sends_ok = 0;
  g_autoptr(GBytes) m3 = harness_message (3, 70000);
  harness_send (&h, h.a, h.b, m3);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (5), harness_all_done, &h));
  assert_delivered_exactly_once (&h);
  harness_clear (&h);
}

/* Nobody at the address: UNREACHABLE within the handshake timeout, and
 * later sends (once someone is there) work. */
static void
test_unreachable (void)
{
  Harness h;
  harness_init (&h, 42, NULL);
  h.b->down = TRUE;
  gint64 t0 = simnet_now (h.net);
  g_autoptr(GBytes) m = harness_message (1, 10);
  harness_send (&h, h.a, h.b, m);
  g_assert_true (simnet_run (h.net, t0 + S (30), harness_failed_once, &h));
  g_assert_error (h.last_send_error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_UNREACHABLE);
  g_assert_cmpint (h.last_send_failure_at - t0, <=, S (10.1));
  h.b->down = FALSE;
  h.sends_failed = 0;
  g_hash_table_remove_all (h.expected);
  h.target = 0;
  harness_send (&h, h.a, h.b, m);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (5), harness_all_done, &h));
  assert_delivered_exactly_once (&h);
  harness_clear (&h);
}

/* A spoofed source that never answers: the server keeps no state and never
 * sends it more than 3x what it received. */
static guint64 bytes_to_victim;

static void
count_to_victim (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  const ChatdAddress *victim = user_data;
  if (chatd_address_equal (to, victim))
    bytes_to_victim += len;
}

static void
test_amplification (void)
{
  Harness h;
  harness_init (&h, 51, NULL);
  ChatdAddress victim;
  g_assert_true (chatd_address_parse ("10.0.0.99", 5353, &victim, NULL));
  bytes_to_victim = 0;
  simnet_set_tap (h.net, count_to_victim, &victim);
  /* a real INITIAL, captured from a client */
  SimNode *c = simnet_add_node (h.net, 3, 3000, NULL);
  g_autoptr(GBytes) m = harness_message (1, 10);
  chatd_endpoint_send (c->endpoint, simnet_now (h.net), &h.b->addr, m, NULL, NULL);
  guint8 initial[CHATD_MAX_DATAGRAM_LIMIT];
  ChatdAddress to;
  gsize len = chatd_endpoint_poll_transmit (c->endpoint, simnet_now (h.net), initial, sizeof initial, &to);
  g_assert_cmpuint (len, >=, CHATD_MIN_INITIAL_SIZE);
  c->down = TRUE;
  guint64 sent_to_server = 0;
  for (guint i = 0; i < 500; i++)
    {
      /* with and without a (forged) token */
      if (i % 2)
        {
          initial[CHATD_PACKET_HEADER_LEN + 8 + 12] = 24; /* token length */
          chatd_packet_append_crc (initial, len - CHATD_CRC_LEN);
        }
      simnet_inject (h.net, &victim, h.b, initial, len, 1000);
      sent_to_server += len;
      simnet_run (h.net, simnet_now (h.net) + 2000, NULL, NULL);
    }
  simnet_run (h.net, simnet_now (h.net) + S (1), NULL, NULL);
  g_test_message ("victim received %" G_GUINT64_FORMAT " bytes for %" G_GUINT64_FORMAT,
                  bytes_to_victim, sent_to_server);
  g_assert_cmpuint (bytes_to_victim, >, 0);
  g_assert_cmpuint (bytes_to_victim, <=, 3 * sent_to_server);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "stateless_bytes_sent"), <=,
                    3 * chatd_endpoint_get_counter (h.b->endpoint, "stateless_bytes_received"));
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.b->endpoint), ==, 0);
  /* too-small INITIALs get no answer at all */
  guint64 before = bytes_to_victim;
  simnet_inject (h.net, &victim, h.b, initial, 600, 1000);
  simnet_run (h.net, simnet_now (h.net) + S (1), NULL, NULL);
  g_assert_cmpuint (bytes_to_victim, ==, before);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "dropped_initial_too_small"), ==, 1);
  harness_clear (&h);
}

/* An idle connection costs at most one keepalive per 15 s. */
static guint64 packets_seen;

static void
count_packets (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  packets_seen++;
}

static void
test_keepalive (void)
{
  Harness h;
  harness_init (&h, 61, NULL);
  g_autoptr(GBytes) m = harness_message (1, 10);
  harness_send (&h, h.a, h.b, m);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (5), harness_all_done, &h));
  simnet_run (h.net, simnet_now (h.net) + S (1), NULL, NULL); /* settle ACKs */
  packets_seen = 0;
  simnet_set_tap (h.net, count_packets, NULL);
  guint64 pings_before = chatd_endpoint_get_counter (h.a->endpoint, "conn.packets_sent") +
                         chatd_endpoint_get_counter (h.b->endpoint, "conn.packets_sent");
  simnet_run (h.net, simnet_now (h.net) + S (300), NULL, NULL);
  guint64 total = chatd_endpoint_get_counter (h.a->endpoint, "conn.packets_sent") +
                  chatd_endpoint_get_counter (h.b->endpoint, "conn.packets_sent") - pings_before;
  g_test_message ("%" G_GUINT64_FORMAT " packets in 300 s idle", packets_seen);
  /* one PING and its ACK per 15 s: 20 keepalives in 300 s */
  g_assert_cmpuint (packets_seen, ==, total);
  g_assert_cmpuint (packets_seen, <=, 2 * (300 / 15) + 2);
  g_assert_cmpuint (packets_seen, >=, 300 / 15);
  g_assert_cmpuint (h.closed, ==, 0);
  g_assert_nonnull (chatd_endpoint_lookup (h.a->endpoint, &h.b->addr));
  harness_clear (&h);
}

/* One call, payloads to many peers, each with its own completion. */
static void
test_send_many (void)
{
  Harness h;
  harness_init (&h, 71, NULL);
  SimNode *peers[5];
  ChatdSendRequest reqs[6];
  GBytes *payloads[6];
  for (guint i = 0; i < 5; i++)
    {
      peers[i] = simnet_add_node (h.net, 10 + i, 4000, NULL);
      harness_watch (&h, peers[i]);
    }
  for (guint i = 0; i < 6; i++)
    {
      /* the sixth goes to nobody: it must fail, the others not */
      payloads[i] = harness_message (i, 1000 * (i + 1) * (i + 1));
      if (i < 5)
        {
          g_hash_table_insert (h.expected, g_bytes_ref (payloads[i]), GUINT_TO_POINTER (1));
          h.target++;
        }
    }
  ChatdAddress nobody;
  g_assert_true (chatd_address_parse ("10.0.0.200", 1, &nobody, NULL));
  for (guint i = 0; i < 6; i++)
    reqs[i] = (ChatdSendRequest) { i < 5 ? &peers[i]->addr : &nobody, payloads[i], NULL, NULL };
  /* use the harness's callback through harness_send's bookkeeping */
  chatd_endpoint_send_many (h.a->endpoint, simnet_now (h.net), reqs, 6);
  simnet_run (h.net, simnet_now (h.net) + S (15), NULL, NULL);
  g_assert_cmpuint (h.received, ==, 5);
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "conn.messages_sent"), ==, 5);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "conn.messages_failed"), ==, 1);
  for (guint i = 0; i < 6; i++)
    g_bytes_unref (payloads[i]);
  harness_clear (&h);
}

/* A local close reaches the peer; pending messages fail on both sides as
 * they should, and the next send starts a new connection. */
static void
test_close (void)
{
  Harness h;
  harness_init (&h, 81, NULL);
  g_autoptr(GBytes) m = harness_message (1, 10);
  harness_send (&h, h.a, h.b, m);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (5), harness_all_done, &h));
  ChatdConnection *cb = chatd_endpoint_lookup (h.b->endpoint, &h.a->addr);
  g_assert_nonnull (cb);
  g_assert_false (chatd_connection_is_client (cb));
  chatd_connection_set_user_data (cb, g_strdup ("attached"), g_free);
  g_assert_cmpstr (chatd_connection_get_user_data (cb), ==, "attached");
  guint closed_before = h.closed;
  chatd_connection_close (cb, simnet_now (h.net), 7, "bye");
  simnet_run (h.net, simnet_now (h.net) + S (1), NULL, NULL);
  g_assert_cmpuint (h.closed, ==, closed_before + 2); /* both sides */
  g_assert_error (h.last_close_error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_CLOSED);
  g_assert_nonnull (strstr (h.last_close_error->message, "bye"));
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.a->endpoint), ==, 0);
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.b->endpoint), ==, 0);
  g_autoptr(GBytes) m2 = harness_message (2, 10);
  harness_send (&h, h.a, h.b, m2);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (5), harness_all_done, &h));
  assert_delivered_exactly_once (&h);
  harness_clear (&h);
}

/* Limits: too-large payloads and a full send queue fail at once. */
static void
test_limits (void)
{
  Harness h;
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  config.max_message_bytes = 100000;
  config.max_send_queue_bytes = 150000;
  harness_init (&h, 91, &config);
  g_autoptr(GBytes) big = harness_message (1, 100001);
  g_autoptr(GBytes) ok1 = harness_message (2, 100000);
  g_autoptr(GBytes) ok2 = harness_message (3, 60000);
  harness_send (&h, h.a, h.b, big);
  g_assert_error (h.last_send_error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_TOO_LARGE);
  harness_send (&h, h.a, h.b, ok1);
  harness_send (&h, h.a, h.b, ok2);
  g_assert_error (h.last_send_error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_LIMIT);
  g_assert_cmpuint (h.sends_failed, ==, 2);
  simnet_run (h.net, simnet_now (h.net) + S (5), NULL, NULL);
  g_assert_cmpuint (h.received, ==, 1);
  g_assert_cmpuint (h.sends_ok, ==, 1);
  harness_clear (&h);
}

/* A receiver that accepts smaller messages than the sender refuses the
 * large one (RESET); the connection and other messages are unaffected. */
static void
test_refused (void)
{
  Harness h;
  ChatdEndpointConfig small;
  chatd_endpoint_config_init (&small);
  small.max_message_bytes = 300000;
  small.stream_receive_window = 65536;
  harness_init (&h, 93, NULL);
  chatd_endpoint_free (h.b->endpoint);
  h.b->endpoint = chatd_endpoint_new (&small, &h.b->addr);
  harness_watch (&h, h.b);
  g_autoptr(GBytes) big = harness_message (1, 1000000);
  g_autoptr(GBytes) ok1 = harness_message (2, 200000);
  g_autoptr(GBytes) ok2 = harness_message (3, 10);
  harness_send (&h, h.a, h.b, ok1);
  harness_send (&h, h.a, h.b, big);
  harness_send (&h, h.a, h.b, ok2);
  h.target--; /* big is not delivered */
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (5), harness_failed_once, &h));
  simnet_run (h.net, simnet_now (h.net) + S (2), NULL, NULL);
  g_assert_error (h.last_send_error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_RESET);
  g_assert_cmpuint (h.sends_failed, ==, 1);
  g_assert_cmpuint (h.sends_ok, ==, 2);
  g_assert_cmpuint (h.received, ==, 2);
  g_assert_cmpuint (h.closed, ==, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "conn.messages_refused"), ==, 1);
  /* the connection goes on */
  g_autoptr(GBytes) ok3 = harness_message (4, 250000);
  harness_send (&h, h.a, h.b, ok3);
  simnet_run (h.net, simnet_now (h.net) + S (5), NULL, NULL);
  g_assert_cmpuint (h.received, ==, 3);
  g_assert_cmpuint (h.sends_ok, ==, 3);
  harness_clear (&h);
}

/* Connections accepted per peer address and per peer host are bounded. */
static void
test_connection_limits (void)
{
  Harness h;
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  config.max_connections_per_host = 3;
  config.handshake_timeout_us = 2 * G_USEC_PER_SEC;
  harness_init (&h, 94, &config);
  SimNode *clients[4];
  for (guint i = 0; i < 4; i++)
    {
      clients[i] = simnet_add_node (h.net, 7, 7000 + i, &config);
      harness_watch (&h, clients[i]);
      g_autoptr(GBytes) m = harness_message (i, 10);
      harness_send (&h, clients[i], h.b, m);
    }
  simnet_run (h.net, simnet_now (h.net) + S (5), NULL, NULL);
  g_assert_cmpuint (h.received, ==, 3);
  g_assert_cmpuint (h.sends_failed, ==, 1);
  g_assert_error (h.last_send_error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_UNREACHABLE);
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.b->endpoint), ==, 3);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "dropped_connection_limit"), >, 0);
  /* another host is not affected */
  g_autoptr(GBytes) m = harness_message (9, 10);
  harness_send (&h, h.a, h.b, m);
  simnet_run (h.net, simnet_now (h.net) + S (2), NULL, NULL);
  g_assert_cmpuint (h.received, ==, 4);
  harness_clear (&h);
}

/* A 64 MiB message on a fast simulated link. */
static void
test_64mib (void)
{
  Harness h;
  harness_init (&h, 95, NULL);
  h.a->uplink.delay_us = 1000;
  h.b->uplink.delay_us = 1000;
  g_autoptr(GBytes) m = harness_message (1, 64 * 1024 * 1024);
  harness_send (&h, h.a, h.b, m);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (120), harness_all_done, &h));
  assert_delivered_exactly_once (&h);
  harness_clear (&h);
}

/* Heavy reordering without loss: packets declared lost and then
 * acknowledged raise the reordering tolerance; everything arrives once. */
static void
test_reordering (void)
{
  Harness h;
  harness_init (&h, 99, NULL);
  for (SimNode **n = (SimNode *[]) { h.a, h.b, NULL }; *n; n++)
    {
      (*n)->uplink.reorder = 0.2;
      (*n)->uplink.reorder_extra_us = 8000;
      (*n)->uplink.rate_bytes_per_s = 10 * 1000 * 1000;
    }
  for (guint i = 0; i < 40; i++)
    {
      g_autoptr(GBytes) m = harness_message (i, 100000);
      harness_send (&h, h.a, h.b, m);
    }
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + S (60), harness_all_done, &h));
  assert_delivered_exactly_once (&h);
  ChatdConnection *c = chatd_endpoint_lookup (h.a->endpoint, &h.b->addr);
  guint64 spurious = chatd_connection_get_counter (c, "spurious_losses");
  guint64 lost = chatd_connection_get_counter (c, "packets_lost");
  g_test_message ("%.2f s simulated, %" G_GUINT64_FORMAT " declared lost, %" G_GUINT64_FORMAT " spurious",
                  (simnet_now (h.net) - 1000000) / 1e6, lost, spurious);
  g_assert_cmpuint (spurious, >, 0);
  g_assert_cmpuint (spurious, <=, lost);
  harness_clear (&h);
}

/* Freeing an endpoint fails what is pending with CLOSED_LOCALLY, even
 * messages a callback tries to send meanwhile. */
typedef struct
{
  ChatdEndpoint *ep;
  ChatdAddress peer;
  guint failures;
  guint resent;
} FreeState;

static void
free_sent (ChatdEndpoint *ep, ChatdConnection *conn, const GError *error, gpointer user_data)
{
  FreeState *st = user_data;
  g_assert_error (error, CHATD_TRANSPORT_ERROR, CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY);
  st->failures++;
  if (st->resent++ < 3)
    {
      g_autoptr(GBytes) again = g_bytes_new_static ("again", 5);
      chatd_endpoint_send (st->ep, 0, &st->peer, again, free_sent, st);
    }
}

static void
test_free_pending (void)
{
  Harness h;
  harness_init (&h, 97, NULL);
  FreeState st = { h.a->endpoint, h.b->addr, 0, 0 };
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(GBytes) m = harness_message (i, 100000);
      chatd_endpoint_send (h.a->endpoint, simnet_now (h.net), &h.b->addr, m, free_sent, &st);
    }
  simnet_run (h.net, simnet_now (h.net) + 30000, NULL, NULL); /* mid-transfer */
  chatd_endpoint_free (h.a->endpoint);
  g_assert_cmpuint (st.failures, ==, 5 + 3);
  h.a->endpoint = chatd_endpoint_new (NULL, &h.a->addr);
  harness_clear (&h);
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
  g_test_add_func ("/transport/sim/blackhole", test_blackhole);
  g_test_add_func ("/transport/sim/handshake-loss", test_handshake_loss);
  g_test_add_func ("/transport/sim/tiny-messages", test_tiny_messages);
  g_test_add_func ("/transport/sim/vanished-peer", test_vanished_peer);
  g_test_add_func ("/transport/sim/unreachable", test_unreachable);
  g_test_add_func ("/transport/sim/amplification", test_amplification);
  g_test_add_func ("/transport/sim/keepalive", test_keepalive);
  g_test_add_func ("/transport/sim/send-many", test_send_many);
  g_test_add_func ("/transport/sim/close", test_close);
  g_test_add_func ("/transport/sim/limits", test_limits);
  g_test_add_func ("/transport/sim/64mib", test_64mib);
  g_test_add_func ("/transport/sim/free-pending", test_free_pending);
  g_test_add_func ("/transport/sim/reordering", test_reordering);
  g_test_add_func ("/transport/sim/refused", test_refused);
  g_test_add_func ("/transport/sim/connection-limits", test_connection_limits);
  return g_test_run ();
}
