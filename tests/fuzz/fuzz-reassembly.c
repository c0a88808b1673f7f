/* fuzz-reassembly.c: the receive side's stream reassembly
 * (recv_stream_frame and recv_reset_frame in daemon/transport/chatd-connection.c).
 *
 * The input is a list of 6-byte records, each one STREAM (or RESET_STREAM)
 * frame of one of four incoming messages, sent in its own packet (valid
 * header and checksum, increasing packet number) to the server side of a live
 * connection whose limits are small (3000-byte messages, 2048-byte stream
 * window, 5000-byte connection window, 8 incoming streams):
 *
 *   byte 0: bits 0-1 message (stream seq 1..4), bit 2 FIN, bit 3 RESET_STREAM
 *           instead of STREAM, bit 4 "far": offset counted in KiB
 *   bytes 1-2: offset (big endian, modulo 4096 unless far)
 *   bytes 3-4: length (big endian, modulo 1301)
 *   byte 5: with bit 0 set, the server's own packets are drained and the
 *           clock moves by 1 ms (acks, credit, resets go out)
 *
 * The data of message k at offset o is a fixed function of (k, o), so the
 * harness knows what every delivered message must hold.  Invariants checked:
 * - a delivered message is exactly the reference bytes [0, F) of a message
 *   whose FIN chunk said F, every byte of it was sent, and no message is
 *   delivered twice;
 * - after every packet: the bytes counted as buffered equal the sum of the
 *   open streams' highest offsets, the connection never counts more than it
 *   advertised, no open stream holds more than twice its window of memory or
 *   beyond its credit, and there are at most max_incoming_streams open;
 * - liveness: a message whose chunks all stayed within the limits, agreed on
 *   one FIN offset, covered it completely and was never reset is delivered.
 */
#include "chatd-connection-private.h"
#include "chatd-endpoint.h"
#include "fuzz-shuttle.h"

#include <gcrypt.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define N_MESSAGES 4
#define MAX_MESSAGE 3000
#define STREAM_WINDOW 2048
#define CONN_WINDOW 5000
#define MAX_STREAMS 8
#define HELLO_LEN 5
#define MAX_RECORDS 256

typedef struct
{
  ChatdRangeSet sent;   /* bytes sent in STREAM frames */
  ChatdRangeSet fin_ends; /* the ends of every FIN chunk */
  gboolean fin_seen;
  guint64 fin_end;       /* the first FIN chunk's end */
  gboolean fin_conflict; /* two FIN chunks with different ends */
  guint64 highest;       /* largest end sent */
  gboolean over_limit;   /* some chunk beyond a limit */
  gboolean reset;
  guint delivered;
} MessageModel;

typedef struct
{
  MessageModel messages[N_MESSAGES];
  guint hello_delivered;
  guint empty_delivered;
} Model;

static guint8
reference_byte (guint k, guint64 offset)
{
  /* offset 0 names the message; the rest differs between messages and offsets */
  if (offset == 0)
    return (guint8) (0xa0 + k);
  return (guint8) ((offset * 131u + (offset >> 8) * 7u + k * 59u) & 0xff);
}

static void
on_message (ChatdEndpoint *endpoint, ChatdConnection *connection, const ChatdAddress *from,
            GBytes *message, gpointer user_data)
{
  Model *model = user_data;
  gsize len;
  const guint8 *d = g_bytes_get_data (message, &len);
  (void) endpoint;
  (void) connection;
  (void) from;
  if (len == HELLO_LEN && memcmp (d, "hello", HELLO_LEN) == 0 && model->hello_delivered == 0)
    {
      model->hello_delivered++;
      return;
    }
  if (len == 0)
    {
      /* an empty message names no stream: count them against the messages
       * that had a FIN at 0 */
      guint candidates = 0;
      for (guint k = 0; k < N_MESSAGES; k++)
        if (chatd_range_set_contains (&model->messages[k].fin_ends, 0))
          candidates++;
      model->empty_delivered++;
      g_assert_cmpuint (model->empty_delivered, <=, candidates);
      return;
    }
  guint k = d[0] - 0xa0;
  g_assert_cmpuint (k, <, N_MESSAGES);
  MessageModel *m = &model->messages[k];
  g_assert_cmpuint (m->delivered, ==, 0);
  m->delivered++;
  g_assert_true (chatd_range_set_contains (&m->fin_ends, len));
  g_assert_true (chatd_range_set_covers (&m->sent, 0, len));
  for (gsize o = 0; o < len; o++)
    if (d[o] != reference_byte (k, o))
      g_error ("message %u differs at offset %" G_GSIZE_FORMAT, k, o);
}

static void
check_state (ChatdConnection *conn)
{
  GHashTableIter it;
  gpointer value;
  guint64 open_sum = 0;
  g_assert_cmpuint (g_hash_table_size (conn->recv_streams), <=, MAX_STREAMS);
  g_hash_table_iter_init (&it, conn->recv_streams);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      ChatdRecvStream *s = value;
      open_sum += s->highest;
      g_assert_cmpuint (s->highest, <=, s->max_data_advertised);
      g_assert_cmpuint (s->highest, <=, MAX_MESSAGE);
      g_assert_cmpuint (s->cap, <=, 2 * STREAM_WINDOW);
      if (s->fin_known)
        g_assert_cmpuint (s->highest, <=, s->final_size);
    }
  g_assert_cmpuint (conn->recv_data_total, >=, conn->recv_consumed);
  g_assert_cmpuint (conn->recv_data_total - conn->recv_consumed, ==, open_sum);
  g_assert_cmpuint (conn->recv_data_total, <=, conn->recv_max_data);
}

static void
drain (ChatdEndpoint *ep)
{
  guint8 buf[CHATD_MAX_DATAGRAM_LIMIT];
  ChatdAddress to;
  for (guint i = 0; i < 64 && chatd_endpoint_poll_transmit (ep, 0, buf, sizeof buf, &to) > 0; i++)
    ;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean initialised;
  static guint8 payload[N_MESSAGES][1301];
  ChatdAddress aa, ba;
  gint64 now = 1000000;
  Model model = { 0 };

  if (!initialised)
    {
      gcry_check_version (NULL);
      gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
      initialised = TRUE;
    }
  for (guint k = 0; k < N_MESSAGES; k++)
    {
      chatd_range_set_init (&model.messages[k].sent);
      chatd_range_set_init (&model.messages[k].fin_ends);
    }

  ChatdEndpointConfig cfg;
  chatd_endpoint_config_init (&cfg);
  cfg.max_message_bytes = MAX_MESSAGE;
  cfg.stream_receive_window = STREAM_WINDOW;
  cfg.conn_receive_window = CONN_WINDOW;
  cfg.max_incoming_streams = MAX_STREAMS;

  chatd_address_parse ("10.0.0.1", 1, &aa, NULL);
  chatd_address_parse ("10.0.0.2", 2, &ba, NULL);
  ChatdEndpoint *a = chatd_endpoint_new (&cfg, &aa);
  ChatdEndpoint *b = chatd_endpoint_new (&cfg, &ba);
  chatd_endpoint_set_message_callback (b, on_message, &model);
  GBytes *hello = g_bytes_new_static ("hello", HELLO_LEN);
  chatd_endpoint_send (a, now, &ba, hello, NULL, NULL);
  g_bytes_unref (hello);
  fuzz_shuttle (a, &aa, b, &ba, &now, 4);
  ChatdConnection *conn = chatd_endpoint_lookup (b, &aa);
  g_assert_nonnull (conn);
  g_assert_cmpuint (model.hello_delivered, ==, 1);
  /* from here on, the client is silent: only the harness's packets reach b */
  chatd_connection_ref (conn);

  guint64 pn = 1000;
  for (size_t pos = 0; pos + 6 <= size && pos / 6 < MAX_RECORDS; pos += 6)
    {
      const guint8 *rec = data + pos;
      guint k = rec[0] & 3;
      gboolean fin = (rec[0] & 4) != 0;
      gboolean reset = (rec[0] & 8) != 0;
      guint64 offset = ((guint64) rec[1] << 8) | rec[2];
      offset = (rec[0] & 16) ? offset << 10 : offset % 4096;
      gsize len = (((gsize) rec[3] << 8) | rec[4]) % 1301;
      guint64 id = (k + 1) * 2; /* the client's streams are even; seq 0 was the hello */
      MessageModel *m = &model.messages[k];

      guint8 buf[CHATD_MAX_DATAGRAM_LIMIT];
      ChatdPacketHeader h = { .type = CHATD_PACKET_DATA, .dcid = conn->local_cid, .pn = pn++ };
      gsize hl = chatd_packet_write_header (buf, sizeof buf, &h);
      ChatdWriter w;
      chatd_writer_init (&w, buf + hl, cfg.max_datagram - hl - CHATD_CRC_LEN);
      if (reset)
        {
          g_assert_true (chatd_frame_write_reset (&w, id, 7, offset + len));
          m->reset = TRUE;
          m->highest = MAX (m->highest, offset + len); /* counted against the window */
        }
      else
        {
          for (gsize i = 0; i < len; i++)
            payload[k][i] = reference_byte (k, offset + i);
          g_assert_true (chatd_frame_write_stream_header (&w, id, offset, len, fin, TRUE));
          g_assert_true (chatd_writer_bytes (&w, payload[k], len));
          guint64 end = offset + len;
          if (len)
            chatd_range_set_add (&m->sent, offset, end);
          m->highest = MAX (m->highest, end);
          if (end > STREAM_WINDOW || end >= MAX_MESSAGE)
            m->over_limit = TRUE;
          if (fin)
            {
              if (m->fin_seen && m->fin_end != end)
                m->fin_conflict = TRUE;
              if (!m->fin_seen)
                m->fin_end = end;
              m->fin_seen = TRUE;
              chatd_range_set_add (&m->fin_ends, end, end + 1);
            }
        }
      gsize total = (gsize) (w.pos - buf);
      chatd_packet_append_crc (buf, total);
      chatd_endpoint_handle_datagram (b, now, &aa, buf, total + CHATD_CRC_LEN);
      if (conn->state == CONN_CLOSED)
        break;
      check_state (conn);
      if (rec[5] & 1)
        {
          drain (b);
          now += 1000;
          chatd_endpoint_handle_timeout (b, now);
        }
    }

  if (conn->state != CONN_CLOSED)
    {
      /* liveness: a well-behaved message within the connection's window is delivered */
      guint64 total = HELLO_LEN;
      for (guint k = 0; k < N_MESSAGES; k++)
        total += model.messages[k].highest;
      guint empty_expected = 0;
      for (guint k = 0; k < N_MESSAGES; k++)
        {
          MessageModel *m = &model.messages[k];
          if (m->fin_seen && !m->fin_conflict && !m->over_limit && !m->reset &&
              m->highest <= m->fin_end && total <= CONN_WINDOW &&
              (m->fin_end == 0 || chatd_range_set_covers (&m->sent, 0, m->fin_end)))
            {
              if (m->fin_end == 0)
                empty_expected++;
              else
                g_assert_cmpuint (m->delivered, ==, 1);
            }
        }
      g_assert_cmpuint (model.empty_delivered, >=, empty_expected);
    }

  chatd_connection_unref (conn);
  chatd_endpoint_free (a);
  chatd_endpoint_free (b);
  for (guint k = 0; k < N_MESSAGES; k++)
    {
      chatd_range_set_clear (&model.messages[k].sent);
      chatd_range_set_clear (&model.messages[k].fin_ends);
    }
  return 0;
}
