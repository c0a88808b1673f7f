/* kcp-scenario.c: KCP's own test scenario on simnet (see kcp-scenario.h). */
#include "kcp-scenario.h"
#include "chatd-frame.h"

#include <string.h>

#define WARM_UP_INDEX (G_MAXUINT32 - 1)

typedef struct
{
  SimNet *net;
  SimNode *client;
  const KcpScenario *scenario;
  KcpResult *result;
  guint target;
} Run;

static guint32
payload_index (GBytes *message)
{
  gsize len;
  const guint8 *d = g_bytes_get_data (message, &len);
  guint32 index = G_MAXUINT32;
  if (len >= 4)
    memcpy (&index, d, 4);
  return index;
}

static void
on_server_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
                   gpointer user_data)
{
  Run *run = user_data;
  guint32 i = payload_index (message);
  if (i < run->result->n_samples && run->result->samples[i].at_server == 0)
    run->result->samples[i].at_server = simnet_now (run->net);
  chatd_connection_send (conn, simnet_now (run->net), message, NULL, NULL);
}

static void
on_client_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
                   gpointer user_data)
{
  Run *run = user_data;
  guint32 i = payload_index (message);
  if (i < run->result->n_samples && run->result->samples[i].back == 0)
    {
      run->result->samples[i].back = simnet_now (run->net);
      run->result->answered++;
    }
  else if (i == WARM_UP_INDEX)
    run->result->answered++;
}

/* The number of ranges in the ACK frame of a (plain, CRC) DATA packet. */
static guint
ack_ranges (const guint8 *data, gsize len)
{
  ChatdPacketHeader h;
  if (chatd_packet_parse_header (data, len, &h) != CHATD_PACKET_OK || h.type != CHATD_PACKET_DATA ||
      h.protected_ || len < h.header_len + CHATD_CRC_LEN)
    return 0;
  ChatdReader r;
  ChatdFrame f;
  chatd_reader_init (&r, data + h.header_len, len - h.header_len - CHATD_CRC_LEN);
  while (chatd_reader_remaining (&r) > 0 && chatd_frame_parse (&r, &f))
    if (f.type == CHATD_FRAME_ACK)
      return 1 + (guint) f.u.ack.n_ranges;
  return 0;
}

static void
fate_tap (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gint64 arrival_us,
          gpointer user_data)
{
  Run *run = user_data;
  run->result->max_ack_ranges = MAX (run->result->max_ack_ranges, ack_ranges (data, len));
  if (!run->scenario->trace)
    return;
  KcpDatagram d = { .t = simnet_now (run->net), .from_client = from == run->client,
                    .arrival = arrival_us, .data = g_bytes_new (data, len) };
  g_array_append_val (run->result->datagrams, d);
}

static gboolean
answered_enough (gpointer user_data)
{
  Run *run = user_data;
  return run->result->answered >= run->target;
}

void
kcp_scenario_init (KcpScenario *scenario)
{
  memset (scenario, 0, sizeof *scenario);
  scenario->loss = 0.05;
  scenario->delay_us = 30000;
  scenario->jitter_us = 32000;
  scenario->interval_us = 20000;
  scenario->samples = 1000;
  scenario->size = 8;
}

static void
clear_datagram (gpointer p)
{
  g_bytes_unref (((KcpDatagram *) p)->data);
}

void
kcp_scenario_run (const KcpScenario *scenario, guint32 seed, KcpResult *ret_result)
{
  KcpResult *result = ret_result;
  Run run = { .scenario = scenario, .result = result };
  ChatdEndpointConfig config;
  gsize size = MAX (scenario->size, 4);

  memset (result, 0, sizeof *result);
  result->n_samples = scenario->samples;
  result->samples = g_new0 (KcpSample, scenario->samples);
  result->datagrams = g_array_new (FALSE, FALSE, sizeof (KcpDatagram));
  g_array_set_clear_func (result->datagrams, clear_datagram);

  chatd_endpoint_config_init (&config);
  run.net = simnet_new (seed);
  run.client = simnet_add_node (run.net, 1, 1000, &config);
  SimNode *server = simnet_add_node (run.net, 2, 2000, &config);
  SimNode *nodes[2] = { run.client, server };
  for (int i = 0; i < 2; i++)
    {
      nodes[i]->uplink.loss = scenario->loss;
      nodes[i]->uplink.delay_us = scenario->delay_us;
      nodes[i]->uplink.jitter_us = scenario->jitter_us;
    }
  chatd_endpoint_set_message_callback (server->endpoint, on_server_message, &run);
  chatd_endpoint_set_message_callback (run.client->endpoint, on_client_message, &run);

  /* connect first: KCP's test has no handshake */
  guint32 warm_index = WARM_UP_INDEX;
  g_autoptr (GBytes) hello = g_bytes_new (&warm_index, sizeof warm_index);
  chatd_endpoint_send (run.client->endpoint, simnet_now (run.net), &server->addr, hello, NULL, NULL);
  run.target = 1;
  simnet_run (run.net, simnet_now (run.net) + 30 * G_USEC_PER_SEC, answered_enough, &run);
  result->answered = 0;
  simnet_set_fate_tap (run.net, fate_tap, &run);

  gint64 start = simnet_now (run.net);
  g_autofree guint8 *payload = g_malloc0 (size);
  for (guint i = 0; i < scenario->samples; i++)
    {
      if (scenario->interval_us > 0)
        simnet_run (run.net, start + (gint64) i * scenario->interval_us, NULL, NULL);
      else if (i > 0)
        {
          run.target = i;
          simnet_run (run.net, simnet_now (run.net) + 60 * G_USEC_PER_SEC, answered_enough, &run);
        }
      guint32 index = i;
      memcpy (payload, &index, 4);
      g_autoptr (GBytes) message = g_bytes_new (payload, size);
      result->samples[i].sent = simnet_now (run.net);
      chatd_endpoint_send (run.client->endpoint, simnet_now (run.net), &server->addr, message, NULL, NULL);
    }
  run.target = scenario->samples;
  simnet_run (run.net, simnet_now (run.net) + 30 * G_USEC_PER_SEC, answered_enough, &run);

  for (int i = 0; i < 2; i++)
    {
      ChatdEndpoint *ep = nodes[i]->endpoint;
      result->wire_bytes += chatd_endpoint_get_counter (ep, "conn.bytes_sent") +
                            28 * chatd_endpoint_get_counter (ep, "conn.packets_sent");
      result->redundant_bytes += chatd_endpoint_get_counter (ep, "conn.bytes_redundant");
      result->probe_timeouts += chatd_endpoint_get_counter (ep, "conn.probe_timeouts");
      result->packets_lost += chatd_endpoint_get_counter (ep, "conn.packets_lost");
    }
  simnet_free (run.net);
}

void
kcp_result_clear (KcpResult *result)
{
  g_clear_pointer (&result->samples, g_free);
  g_clear_pointer (&result->datagrams, g_array_unref);
}

static int
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

GArray *
kcp_result_sorted_rtts (const KcpResult *result)
{
  GArray *rtts = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < result->n_samples; i++)
    if (result->samples[i].back)
      {
        gint64 rtt = result->samples[i].back - result->samples[i].sent;
        g_array_append_val (rtts, rtt);
      }
  g_array_sort (rtts, compare_i64);
  return rtts;
}
