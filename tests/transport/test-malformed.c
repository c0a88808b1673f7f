/* test-malformed.c: hostile and broken datagrams never crash the endpoint
 * and never corrupt a live connection. */
#include "chatd-connection-private.h"
#include "sim-harness.h"

#include <gcrypt.h>
#include <string.h>

typedef struct
{
  SimNode *from;
  GPtrArray *captured; /* GBytes of datagrams a -> b */
} Capture;

static void
capture_tap (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  Capture *c = user_data;
  if (from == c->from && c->captured->len < 2000)
    g_ptr_array_add (c->captured, g_bytes_new (data, len));
}

static void
inject (Harness *h, const ChatdAddress *from, const guint8 *data, gsize len)
{
  simnet_inject (h->net, from, h->b, data, len, 100);
}

static void
test_malformed (void)
{
  Harness h;
  Capture cap = { 0 };
  harness_init (&h, 5, NULL);
  cap.from = h.a;
  cap.captured = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  simnet_set_tap (h.net, capture_tap, &cap);
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(GBytes) m = harness_message (i, 1 + i * 1000);
      harness_send (&h, h.a, h.b, m);
    }
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 5 * G_USEC_PER_SEC, harness_all_done, &h));
  simnet_set_tap (h.net, NULL, NULL);
  g_assert_cmpuint (cap.captured->len, >, 5);
  ChatdConnection *server_conn = chatd_endpoint_lookup (h.b->endpoint, &h.a->addr);
  g_assert_nonnull (server_conn);
  guint64 server_cid = server_conn->local_cid;

  GRand *r = g_rand_new_with_seed (99);
  guint8 buf[4096];
  ChatdAddress stranger;
  g_assert_true (chatd_address_parse ("10.0.0.66", 6666, &stranger, NULL));

  for (guint i = 0; i < cap.captured->len; i++)
    {
      gsize len;
      const guint8 *p = g_bytes_get_data (cap.captured->pdata[i], &len);
      /* replay, exactly */
      inject (&h, &h.a->addr, p, len);
      /* every truncation of the first few */
      if (i < 4)
        for (gsize cut = 0; cut < len; cut += 1 + cut / 8)
          inject (&h, &h.a->addr, p, cut);
      /* wrong version */
      memcpy (buf, p, len);
      buf[0] = 2;
      inject (&h, &h.a->addr, buf, len);
      /* forged connection id, valid checksum */
      memcpy (buf, p, len);
      for (int k = 2; k < 10; k++)
        buf[k] = g_rand_int (r) & 0xff;
      chatd_packet_append_crc (buf, len - CHATD_CRC_LEN);
      inject (&h, &h.a->addr, buf, len);
      /* the right packet from another address */
      inject (&h, &stranger, p, len);
      /* valid connection id and checksum, a fresh packet number, garbage frames */
      memcpy (buf, p, len);
      if (len > CHATD_PACKET_HEADER_LEN + CHATD_CRC_LEN && buf[1] == CHATD_PACKET_DATA)
        {
          guint64 pn = 1000000 + i;
          for (int k = 0; k < 8; k++)
            buf[10 + k] = (pn >> (56 - 8 * k)) & 0xff;
          for (gsize k = CHATD_PACKET_HEADER_LEN; k < len - CHATD_CRC_LEN; k++)
            buf[k] = g_rand_int (r) & 0xff;
          chatd_packet_append_crc (buf, len - CHATD_CRC_LEN);
          inject (&h, &h.a->addr, buf, len);
        }
    }
  /* well-formed but hostile frames with the right id: an ACK of packets
   * never sent, stream data far beyond the credit, a stream of the wrong
   * direction */
  for (guint k = 0; k < 3; k++)
    {
      ChatdPacketHeader hdr = { .type = CHATD_PACKET_DATA, .dcid = server_cid, .pn = 2000000 + k };
      gsize hl = chatd_packet_write_header (buf, sizeof buf, &hdr);
      ChatdWriter w;
      chatd_writer_init (&w, buf + hl, 1400);
      if (k == 0)
        {
          chatd_writer_u8 (&w, CHATD_FRAME_ACK);
          chatd_writer_varint (&w, 1u << 30);
          chatd_writer_varint (&w, 0);
          chatd_writer_varint (&w, 0);
          chatd_writer_varint (&w, 1u << 29);
        }
      else
        {
          chatd_frame_write_stream_header (&w, k == 1 ? 4 : 1, k == 1 ? (1ull << 40) : 0, 10, FALSE, TRUE);
          chatd_writer_bytes (&w, "0123456789", 10);
        }
      gsize plen = hl + (w.pos - (buf + hl));
      chatd_packet_append_crc (buf, plen);
      inject (&h, &h.a->addr, buf, plen + CHATD_CRC_LEN);
    }
  /* oversized and random datagrams */
  for (guint i = 0; i < 2000; i++)
    {
      gsize len = i == 0 ? 3000 : g_rand_int_range (r, 0, 1500);
      for (gsize k = 0; k < len; k++)
        buf[k] = g_rand_int (r) & 0xff;
      if (i % 3 == 0 && len > 2)
        buf[0] = CHATD_PROTOCOL_VERSION, buf[1] = g_rand_int_range (r, 1, 4);
      inject (&h, i % 2 ? &h.a->addr : &stranger, buf, len);
    }
  g_rand_free (r);
  simnet_run (h.net, simnet_now (h.net) + G_USEC_PER_SEC, NULL, NULL);

  ChatdEndpoint *b = h.b->endpoint;
  g_assert_cmpuint (chatd_endpoint_get_counter (b, "conn.dropped_duplicate"), >, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (b, "dropped_bad_version"), >, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (b, "dropped_unknown_connection"), >, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (b, "dropped_wrong_address"), >, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (b, "dropped_too_short"), >, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (b, "dropped_oversized"), >, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (b, "conn.dropped_malformed"), >, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (b, "conn.protocol_violations"), >=, 3);
  g_assert_cmpuint (chatd_endpoint_get_n_connections (b), ==, 1);
  g_assert_true (chatd_endpoint_lookup (b, &h.a->addr) == server_conn);

  /* the live connection still works, both ways */
  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GBytes) m = harness_message (100 + i, 100 + i * 3000);
      harness_send (&h, i % 2 ? h.a : h.b, i % 2 ? h.b : h.a, m);
    }
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 10 * G_USEC_PER_SEC, harness_all_done, &h));
  g_assert_cmpuint (h.unexpected, ==, 0);
  g_assert_cmpuint (h.sends_failed, ==, 0);
  g_assert_cmpuint (h.closed, ==, 0);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.a->endpoint, "connections_initiated"), ==, 1);
  g_ptr_array_unref (cap.captured);
  harness_clear (&h);
}

/* The endpoint-wide budget for unfinished incoming messages: a packet
 * that would grow the buffered bytes beyond it is dropped unacknowledged,
 * whichever connection it belongs to. */
static void
inject_far_frame (Harness *h, SimNode *from, ChatdConnection *server_conn, guint64 stream_id,
                  guint64 offset)
{
  guint8 buf[256];
  ChatdPacketHeader hdr = { .type = CHATD_PACKET_DATA, .dcid = server_conn->local_cid, .pn = 3000000 };
  gsize hl = chatd_packet_write_header (buf, sizeof buf, &hdr);
  ChatdWriter w;
  chatd_writer_init (&w, buf + hl, 200);
  chatd_frame_write_stream_header (&w, stream_id, offset, 10, FALSE, TRUE);
  chatd_writer_bytes (&w, "0123456789", 10);
  gsize plen = hl + (w.pos - (buf + hl));
  chatd_packet_append_crc (buf, plen);
  simnet_inject (h->net, &from->addr, h->b, buf, plen + CHATD_CRC_LEN, 10);
  simnet_run (h->net, simnet_now (h->net) + 100000, NULL, NULL);
}

static void
test_memory_budget (void)
{
  Harness h;
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  config.max_message_bytes = 1000000;
  config.stream_receive_window = 1000000;
  config.conn_receive_window = 1100000;
  config.receive_budget_bytes = 1500000;
  harness_init (&h, 7, &config);
  SimNode *c = simnet_add_node (h.net, 3, 3000, &config);
  harness_watch (&h, c);
  g_autoptr(GBytes) m1 = harness_message (1, 10);
  g_autoptr(GBytes) m2 = harness_message (2, 10);
  harness_send (&h, h.a, h.b, m1);
  harness_send (&h, c, h.b, m2);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 5 * G_USEC_PER_SEC, harness_all_done, &h));
  ChatdConnection *ca = chatd_endpoint_lookup (h.b->endpoint, &h.a->addr);
  ChatdConnection *cc = chatd_endpoint_lookup (h.b->endpoint, &c->addr);
  g_assert_nonnull (ca);
  g_assert_nonnull (cc);
  /* 1 MB reserved by a's connection: within its credit and the budget */
  inject_far_frame (&h, h.a, ca, 100 << 1, 999990);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "buffered_bytes"), ==, 1000000);
  /* the same from c's connection would pass its own credit, not the budget */
  inject_far_frame (&h, c, cc, 100 << 1, 999990);
  g_assert_cmpuint (chatd_connection_get_counter (cc, "dropped_memory_budget"), ==, 1);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "buffered_bytes"), ==, 1000000);
  /* small messages still pass */
  g_autoptr(GBytes) m3 = harness_message (3, 1000);
  harness_send (&h, c, h.b, m3);
  g_assert_true (simnet_run (h.net, simnet_now (h.net) + 5 * G_USEC_PER_SEC, harness_all_done, &h));
  /* when a's connection goes, its reservation is released */
  chatd_connection_close (ca, simnet_now (h.net), 0, "done");
  simnet_run (h.net, simnet_now (h.net) + G_USEC_PER_SEC, NULL, NULL);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "buffered_bytes"), ==, 0);
  harness_clear (&h);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/malformed/datagrams", test_malformed);
  g_test_add_func ("/transport/malformed/memory-budget", test_memory_budget);
  return g_test_run ();
}
