/* test-limits.c: the transport's limits on what a peer controls, at the edge
 * (issue 7, part 5; doc/limits.md), on the simulated network with its virtual
 * clock: connections accepted per peer address and per endpoint, incoming
 * streams per connection, reassembly bytes per connection.  The limit itself
 * is accepted; one more is refused and counted; the connection or endpoint
 * goes on working. */
#include "chatd-connection-private.h"
#include "sim-harness.h"

#include <gcrypt.h>
#include <string.h>

/* ---- handshakes by hand: many connections from one address ---- */

typedef struct
{
  guint64 scid;        /* the RETRY we wait for */
  guint8 token[CHATD_MAX_TOKEN_LEN];
  gsize token_len;
} RetryCatch;

static void
catch_retry (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gpointer user_data)
{
  RetryCatch *c = user_data;
  ChatdPacketHeader h;
  if (chatd_packet_parse_header (data, len, &h) == CHATD_PACKET_OK && h.type == CHATD_PACKET_RETRY &&
      h.dcid == c->scid)
    {
      memcpy (c->token, h.token, h.token_len);
      c->token_len = h.token_len;
    }
}

static gsize
initial (guint8 *buf, guint64 scid, const guint8 *token, gsize token_len)
{
  ChatdPacketHeader h = { .type = CHATD_PACKET_INITIAL, .scid = scid,
                          .params = { .max_data = 1 << 20, .max_stream_data = 1 << 18, .max_streams = 16 },
                          .token = token, .token_len = token_len };
  memset (buf, 0, CHATD_MIN_INITIAL_SIZE);
  g_assert_cmpuint (chatd_packet_write_header (buf, CHATD_MIN_INITIAL_SIZE, &h), >, 0);
  chatd_packet_append_crc (buf, CHATD_MIN_INITIAL_SIZE - CHATD_CRC_LEN);
  return CHATD_MIN_INITIAL_SIZE;
}

/* a complete handshake from `from` with a fresh connection id: TRUE if the
 * endpoint accepted a connection */
static gboolean
handshake (Harness *h, const ChatdAddress *from, guint64 scid)
{
  RetryCatch c = { .scid = scid };
  guint8 buf[CHATD_MIN_INITIAL_SIZE];
  simnet_set_tap (h->net, catch_retry, &c);
  simnet_inject (h->net, from, h->b, buf, initial (buf, scid, NULL, 0), 10);
  simnet_run (h->net, simnet_now (h->net) + 50000, NULL, NULL);
  simnet_set_tap (h->net, NULL, NULL);
  g_assert_cmpuint (c.token_len, >, 0);
  guint before = chatd_endpoint_get_n_connections (h->b->endpoint);
  simnet_inject (h->net, from, h->b, buf, initial (buf, scid, c.token, c.token_len), 10);
  simnet_run (h->net, simnet_now (h->net) + 50000, NULL, NULL);
  return chatd_endpoint_get_n_connections (h->b->endpoint) == before + 1;
}

static ChatdAddress
address (const char *host, guint16 port)
{
  ChatdAddress a;
  g_assert_true (chatd_address_parse (host, port, &a, NULL));
  return a;
}

static void
test_connections_per_address (void)
{
  Harness h;
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  harness_init (&h, 201, &config);
  g_assert_cmpuint (config.max_connections_per_address, ==, 4);   /* the default, tested as is */
  ChatdAddress from = address ("10.0.0.50", 5000);
  for (guint i = 0; i < config.max_connections_per_address; i++)
    g_assert_true (handshake (&h, &from, 1000 + i));
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "dropped_connection_limit"), ==, 0);
  g_assert_false (handshake (&h, &from, 2000));
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "dropped_connection_limit"), ==, 1);
  /* another port of the same host is another address */
  ChatdAddress other_port = address ("10.0.0.50", 5001);
  g_assert_true (handshake (&h, &other_port, 3000));
  harness_clear (&h);
}

static void
test_connections_per_endpoint (void)
{
  Harness h;
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  config.max_connections = 6;
  harness_init (&h, 202, &config);
  for (guint i = 0; i < config.max_connections; i++)
    {
      g_autofree char *host = g_strdup_printf ("10.0.1.%u", i + 1);
      ChatdAddress from = address (host, 4000);
      g_assert_true (handshake (&h, &from, 10 + i));
    }
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.b->endpoint), ==, config.max_connections);
  ChatdAddress one_more = address ("10.0.1.200", 4000);
  g_assert_false (handshake (&h, &one_more, 99));
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "dropped_connection_limit"), ==, 1);
  /* a connection that fails for want of acknowledgements frees its place */
  simnet_run (h.net, simnet_now (h.net) + 30 * G_USEC_PER_SEC, NULL, NULL);
  g_assert_cmpuint (chatd_endpoint_get_n_connections (h.b->endpoint), <, config.max_connections);
  g_assert_true (handshake (&h, &one_more, 100));
  harness_clear (&h);
}

/* The endpoint alone (sans-IO, nothing polled in between): at most 64
 * stateless RETRY answers wait to be sent; one more INITIAL is dropped and
 * counted; once they are sent, answers are made again. */
static void
test_stateless_queue (void)
{
  ChatdAddress local = address ("10.0.0.1", 4433);
  ChatdEndpoint *ep = chatd_endpoint_new (NULL, &local);
  guint8 buf[CHATD_MAX_DATAGRAM_LIMIT];
  gint64 now = 1000000;
  for (guint i = 0; i < 64; i++)
    {
      g_autofree char *host = g_strdup_printf ("10.0.2.%u", i + 1);
      ChatdAddress from = address (host, 5000);
      initial (buf, 500 + i, NULL, 0);
      chatd_endpoint_handle_datagram (ep, now, &from, buf, CHATD_MIN_INITIAL_SIZE);
    }
  g_assert_cmpuint (chatd_endpoint_get_counter (ep, "retries_sent"), ==, 64);
  g_assert_cmpuint (chatd_endpoint_get_counter (ep, "dropped_stateless_queue_full"), ==, 0);
  ChatdAddress late = address ("10.0.3.1", 5000);
  initial (buf, 999, NULL, 0);
  chatd_endpoint_handle_datagram (ep, now, &late, buf, CHATD_MIN_INITIAL_SIZE);
  g_assert_cmpuint (chatd_endpoint_get_counter (ep, "retries_sent"), ==, 64);
  g_assert_cmpuint (chatd_endpoint_get_counter (ep, "dropped_stateless_queue_full"), ==, 1);
  /* drained: each answer is one small datagram, no more than received */
  ChatdAddress to;
  guint sent = 0;
  gsize len;
  while ((len = chatd_endpoint_poll_transmit (ep, now, buf, sizeof buf, &to)) > 0)
    {
      g_assert_cmpuint (len, <, CHATD_MIN_INITIAL_SIZE);
      sent++;
    }
  g_assert_cmpuint (sent, ==, 64);
  initial (buf, 999, NULL, 0);
  chatd_endpoint_handle_datagram (ep, now, &late, buf, CHATD_MIN_INITIAL_SIZE);
  g_assert_cmpuint (chatd_endpoint_get_counter (ep, "retries_sent"), ==, 65);
  chatd_endpoint_free (ep);
}

/* ---- frames by hand on an established connection ---- */

static guint64 next_pn = 5000000;

/* one STREAM frame from a (the client) on its connection at b */
static void
inject_stream (Harness *h, ChatdConnection *server_conn, guint64 seq, guint64 offset, gsize len, gboolean fin)
{
  guint8 buf[1400];
  ChatdPacketHeader hdr = { .type = CHATD_PACKET_DATA, .dcid = server_conn->local_cid, .pn = next_pn++ };
  gsize hl = chatd_packet_write_header (buf, sizeof buf, &hdr);
  ChatdWriter w;
  chatd_writer_init (&w, buf + hl, sizeof buf - hl - CHATD_CRC_LEN);
  chatd_frame_write_stream_header (&w, seq << 1, offset, len, fin, TRUE);
  guint8 data[1000];
  memset (data, 'x', sizeof data);
  g_assert_cmpuint (len, <=, sizeof data);
  chatd_writer_bytes (&w, data, len);
  gsize plen = hl + (w.pos - (buf + hl));
  chatd_packet_append_crc (buf, plen);
  simnet_inject (h->net, &h->a->addr, h->b, buf, plen + CHATD_CRC_LEN, 10);
  simnet_run (h->net, simnet_now (h->net) + 20000, NULL, NULL);
}

static ChatdConnection *
established (Harness *h)
{
  g_autoptr(GBytes) m = harness_message (1, 10);
  harness_send (h, h->a, h->b, m);
  g_assert_true (simnet_run (h->net, simnet_now (h->net) + 5 * G_USEC_PER_SEC, harness_all_done, h));
  ChatdConnection *conn = chatd_endpoint_lookup (h->b->endpoint, &h->a->addr);
  g_assert_nonnull (conn);
  /* a stops sending: only the injected frames reach b from now on */
  h->a->down = TRUE;
  return conn;
}

static void
test_streams_per_connection (void)
{
  Harness h;
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  config.max_incoming_streams = 8;
  harness_init (&h, 203, &config);
  ChatdConnection *conn = established (&h);
  guint64 limit = conn->recv_max_streams;   /* 8 plus the finished one's credit back */
  g_assert_cmpuint (limit, >=, config.max_incoming_streams);
  guint64 violations = chatd_connection_get_counter (conn, "protocol_violations");
  /* unfinished messages on every stream the credit allows: all accepted */
  for (guint64 seq = 1; seq < limit; seq++)
    inject_stream (&h, conn, seq, 0, 10, FALSE);
  g_assert_cmpuint (g_hash_table_size (conn->recv_streams), ==, limit - 1);
  g_assert_cmpuint (chatd_connection_get_counter (conn, "protocol_violations"), ==, violations);
  /* one stream beyond the credit: refused and counted, nothing kept */
  inject_stream (&h, conn, limit, 0, 10, FALSE);
  g_assert_cmpuint (g_hash_table_size (conn->recv_streams), ==, limit - 1);
  g_assert_cmpuint (chatd_connection_get_counter (conn, "protocol_violations"), ==, violations + 1);
  /* the connection is alive: finishing a stream delivers its message */
  guint before = h.received + h.unexpected;
  inject_stream (&h, conn, 1, 10, 0, TRUE);
  g_assert_cmpuint (h.received + h.unexpected, ==, before + 1);
  g_assert_true (chatd_connection_is_alive (conn));
  harness_clear (&h);
}

static void
test_reassembly_bytes (void)
{
  Harness h;
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  config.max_message_bytes = 4000000;
  config.stream_receive_window = 1000000;
  config.conn_receive_window = 1500000;
  harness_init (&h, 204, &config);
  ChatdConnection *conn = established (&h);
  guint64 violations = chatd_connection_get_counter (conn, "protocol_violations");
  /* stream 1: its whole window, as one far frame */
  inject_stream (&h, conn, 1, config.stream_receive_window - 10, 10, FALSE);
  g_assert_cmpuint (conn->recv_data_total, <, conn->recv_max_data);
  /* more streams, exactly up to the connection's credit (extended since
   * the first message): accepted */
  guint64 seq = 2;
  while (conn->recv_max_data - conn->recv_data_total > config.stream_receive_window)
    inject_stream (&h, conn, seq++, config.stream_receive_window - 10, 10, FALSE);
  guint64 room = conn->recv_max_data - conn->recv_data_total;
  g_assert_cmpuint (room, >, 10);
  inject_stream (&h, conn, seq++, room - 10, 10, FALSE);
  g_assert_cmpuint (conn->recv_data_total, ==, conn->recv_max_data);
  g_assert_cmpuint (chatd_connection_get_counter (conn, "protocol_violations"), ==, violations);
  guint64 buffered = chatd_endpoint_get_counter (h.b->endpoint, "buffered_bytes");
  /* one byte more, on another stream: refused, counted, nothing reserved */
  inject_stream (&h, conn, seq, 0, 1, FALSE);
  g_assert_cmpuint (chatd_connection_get_counter (conn, "protocol_violations"), ==, violations + 1);
  g_assert_cmpuint (conn->recv_data_total, ==, conn->recv_max_data);
  g_assert_cmpuint (chatd_endpoint_get_counter (h.b->endpoint, "buffered_bytes"), ==, buffered);
  /* and one byte beyond a stream's own window */
  inject_stream (&h, conn, 1, config.stream_receive_window, 1, FALSE);
  g_assert_cmpuint (chatd_connection_get_counter (conn, "protocol_violations"), ==, violations + 2);
  g_assert_true (chatd_connection_is_alive (conn));
  harness_clear (&h);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/limits/connections-per-address", test_connections_per_address);
  g_test_add_func ("/transport/limits/connections-per-endpoint", test_connections_per_endpoint);
  g_test_add_func ("/transport/limits/stateless-retries", test_stateless_queue);
  g_test_add_func ("/transport/limits/streams-per-connection", test_streams_per_connection);
  g_test_add_func ("/transport/limits/reassembly-bytes", test_reassembly_bytes);
  return g_test_run ();
}
