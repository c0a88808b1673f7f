/* kcp-sim.c: KCP's own test scenario on the simulated network, with a trace.
 *
 * KCP's test.cpp: an 8-byte message every 20 ms, echoed back, the same loss
 * and a one-way delay uniform in 30..62 ms per direction, in order (its
 * simulator never reorders).  This runs it on simnet (virtual clock, so a
 * seed gives the same answer every time and 5,000 samples take well under a
 * second) and prints the average, p99 and maximum round trip; with --worst=K
 * it prints, for the K slowest samples, every datagram both ways during
 * that sample (packet number, frames, lost or when it arrived) and how the
 * time splits into request and echo.  Run by hand (see doc/transport.md);
 * test-sim pins the figures the transport must keep.
 */
#include "simnet.h"
#include "chatd-frame.h"

#include <stdlib.h>
#include <string.h>

typedef struct
{
  gint64 sent;
  gint64 at_server;
  gint64 back;
} Sample;

typedef struct
{
  gint64 t;
  gboolean from_client;
  gint64 arrival;
  char desc[200];
} Event;

typedef struct
{
  SimNet *net;
  SimNode *client;
  SimNode *server;
  Sample *samples;
  guint n_samples;
  guint answered;
  GArray *events; /* Event */
} Run;

static guint
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
  guint i = payload_index (message);
  if (i < run->n_samples && run->samples[i].at_server == 0)
    run->samples[i].at_server = simnet_now (run->net);
  chatd_connection_send (conn, simnet_now (run->net), message, NULL, NULL);
}

static void
on_client_message (ChatdEndpoint *ep, ChatdConnection *conn, const ChatdAddress *from, GBytes *message,
                   gpointer user_data)
{
  Run *run = user_data;
  guint i = payload_index (message);
  if (i < run->n_samples && run->samples[i].back == 0)
    {
      run->samples[i].back = simnet_now (run->net);
      run->answered++;
    }
  else if (i == G_MAXUINT32 - 1)
    run->answered++; /* warm-up */
}

static void
describe (const guint8 *data, gsize len, char *out, gsize cap)
{
  ChatdPacketHeader h;
  gsize pos = 0;
  out[0] = 0;
  if (chatd_packet_parse_header (data, len, &h) != CHATD_PACKET_OK)
    return;
  if (h.type != CHATD_PACKET_DATA)
    {
      g_snprintf (out, cap, "type %u", h.type);
      return;
    }
  pos += g_snprintf (out + pos, cap - pos, "pn %3" G_GUINT64_FORMAT ":", h.pn);
  ChatdReader r;
  ChatdFrame f;
  chatd_reader_init (&r, data + h.header_len, len - h.header_len - CHATD_CRC_LEN);
  while (chatd_reader_remaining (&r) > 0 && pos < cap && chatd_frame_parse (&r, &f))
    {
      switch (f.type)
        {
        case CHATD_FRAME_ACK:
          {
            ChatdAckIter it;
            guint64 lo, hi;
            pos += g_snprintf (out + pos, cap - pos, " ACK");
            chatd_ack_iter_init (&it, &f);
            for (int n = 0; n < 3 && pos < cap && chatd_ack_iter_next (&it, &lo, &hi); n++)
              pos += g_snprintf (out + pos, cap - pos, " %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, lo, hi);
          }
          break;
        case CHATD_FRAME_STREAM:
          {
            guint32 index = G_MAXUINT32;
            if (f.u.stream.len >= 4 && f.u.stream.offset == 0)
              memcpy (&index, f.u.stream.data, 4);
            pos += g_snprintf (out + pos, cap - pos, " MSG#%u", index);
          }
          break;
        case CHATD_FRAME_PING:
          pos += g_snprintf (out + pos, cap - pos, " PING");
          break;
        case CHATD_FRAME_PADDING:
          break;
        default:
          pos += g_snprintf (out + pos, cap - pos, " frame%u", f.type);
          break;
        }
    }
}

static void
fate_tap (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len, gint64 arrival_us,
          gpointer user_data)
{
  Run *run = user_data;
  Event e = { .t = simnet_now (run->net), .arrival = arrival_us };
  e.from_client = from == run->client;
  describe (data, len, e.desc, sizeof e.desc);
  g_array_append_val (run->events, e);
}

static gboolean
all_answered (gpointer user_data)
{
  Run *run = user_data;
  return run->answered >= run->n_samples;
}

static gboolean
warm (gpointer user_data)
{
  Run *run = user_data;
  return run->answered >= 1;
}

static int
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

typedef struct
{
  double loss;
  guint samples;
  guint seeds;
  guint first_seed;
  guint worst;
  gboolean per_seed;
} Options;

static guint64 total_wire_bytes, total_redundant_bytes, total_samples;

static void
run_seed (const Options *o, guint seed, GArray *pooled, GArray *worst_runs)
{
  Run *run = g_new0 (Run, 1);
  ChatdEndpointConfig config;
  chatd_endpoint_config_init (&config);
  run->net = simnet_new (seed);
  run->client = simnet_add_node (run->net, 1, 1000, &config);
  run->server = simnet_add_node (run->net, 2, 2000, &config);
  run->n_samples = o->samples;
  run->samples = g_new0 (Sample, o->samples);
  run->events = g_array_new (FALSE, FALSE, sizeof (Event));
  SimNode *nodes[2] = { run->client, run->server };
  for (int i = 0; i < 2; i++)
    {
      nodes[i]->uplink.loss = o->loss;
      nodes[i]->uplink.delay_us = 30000;
      nodes[i]->uplink.jitter_us = 32000;
    }
  chatd_endpoint_set_message_callback (run->server->endpoint, on_server_message, run);
  chatd_endpoint_set_message_callback (run->client->endpoint, on_client_message, run);

  /* connect first (KCP's test has no handshake) */
  guint32 warm_index = G_MAXUINT32 - 1;
  g_autoptr (GBytes) hello = g_bytes_new (&warm_index, sizeof warm_index);
  chatd_endpoint_send (run->client->endpoint, simnet_now (run->net), &run->server->addr, hello, NULL, NULL);
  simnet_run (run->net, simnet_now (run->net) + 30 * G_USEC_PER_SEC, warm, run);
  run->answered = 0;
  simnet_set_fate_tap (run->net, fate_tap, run);

  gint64 start = simnet_now (run->net);
  for (guint i = 0; i < o->samples; i++)
    {
      simnet_run (run->net, start + (gint64) i * 20000, NULL, NULL);
      guint8 payload[8] = { 0 };
      guint32 index = i;
      memcpy (payload, &index, 4);
      g_autoptr (GBytes) message = g_bytes_new (payload, sizeof payload);
      run->samples[i].sent = simnet_now (run->net);
      chatd_endpoint_send (run->client->endpoint, simnet_now (run->net), &run->server->addr, message,
                           NULL, NULL);
    }
  simnet_run (run->net, simnet_now (run->net) + 30 * G_USEC_PER_SEC, all_answered, run);

  for (int i = 0; i < 2; i++)
    {
      ChatdEndpoint *ep = nodes[i]->endpoint;
      total_wire_bytes += chatd_endpoint_get_counter (ep, "conn.bytes_sent") +
                          28 * chatd_endpoint_get_counter (ep, "conn.packets_sent");
      total_redundant_bytes += chatd_endpoint_get_counter (ep, "conn.bytes_redundant");
    }
  total_samples += o->samples;
  g_autoptr (GArray) rtts = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < o->samples; i++)
    if (run->samples[i].back)
      {
        gint64 rtt = run->samples[i].back - run->samples[i].sent;
        g_array_append_val (rtts, rtt);
        g_array_append_val (pooled, rtt);
      }
  if (o->per_seed)
    {
      g_array_sort (rtts, compare_i64);
      double sum = 0;
      for (guint i = 0; i < rtts->len; i++)
        sum += g_array_index (rtts, gint64, i);
      g_print ("seed %u: %u/%u answered, avg %.1f max %.1f ms; client lost %" G_GUINT64_FORMAT
               " pto %" G_GUINT64_FORMAT " retx %" G_GUINT64_FORMAT " sent %" G_GUINT64_FORMAT
               "; server lost %" G_GUINT64_FORMAT " pto %" G_GUINT64_FORMAT " retx %" G_GUINT64_FORMAT
               " sent %" G_GUINT64_FORMAT "\n",
               seed, rtts->len, o->samples, rtts->len ? sum / rtts->len / 1000 : 0,
               rtts->len ? g_array_index (rtts, gint64, rtts->len - 1) / 1000.0 : 0,
               chatd_endpoint_get_counter (run->client->endpoint, "conn.packets_lost"),
               chatd_endpoint_get_counter (run->client->endpoint, "conn.probe_timeouts"),
               chatd_endpoint_get_counter (run->client->endpoint, "conn.packets_retransmitted"),
               chatd_endpoint_get_counter (run->client->endpoint, "conn.packets_sent"),
               chatd_endpoint_get_counter (run->server->endpoint, "conn.packets_lost"),
               chatd_endpoint_get_counter (run->server->endpoint, "conn.probe_timeouts"),
               chatd_endpoint_get_counter (run->server->endpoint, "conn.packets_retransmitted"),
               chatd_endpoint_get_counter (run->server->endpoint, "conn.packets_sent"));
    }

  if (o->worst > 0)
    {
      /* the K slowest samples of this seed */
      guint *order = g_new (guint, o->samples);
      guint n = 0;
      for (guint i = 0; i < o->samples; i++)
        if (run->samples[i].back)
          order[n++] = i;
      for (guint k = 0; k < MIN (o->worst, n); k++)
        {
          guint best = k;
          for (guint j = k + 1; j < n; j++)
            {
              Sample *a = &run->samples[order[j]], *b = &run->samples[order[best]];
              if (a->back - a->sent > b->back - b->sent)
                best = j;
            }
          guint t = order[k];
          order[k] = order[best];
          order[best] = t;
          Sample *s = &run->samples[order[k]];
          g_print ("\nseed %u sample #%u: rtt %.1f ms = request %.1f + echo %.1f\n", seed, order[k],
                   (s->back - s->sent) / 1000.0, (s->at_server - s->sent) / 1000.0,
                   (s->back - s->at_server) / 1000.0);
          for (guint e = 0; e < run->events->len; e++)
            {
              Event *ev = &g_array_index (run->events, Event, e);
              if (ev->t < s->sent - 1000 || ev->t > s->back)
                continue;
              char fate[32];
              if (ev->arrival < 0)
                g_snprintf (fate, sizeof fate, "LOST");
              else
                g_snprintf (fate, sizeof fate, "arr %+7.1f", (ev->arrival - s->sent) / 1000.0);
              g_print ("  %+7.1f %s %-12s %s\n", (ev->t - s->sent) / 1000.0,
                       ev->from_client ? "C>S" : "   S>C", fate, ev->desc);
            }
        }
      g_free (order);
    }
  (void) worst_runs;
  g_array_unref (run->events);
  g_free (run->samples);
  simnet_free (run->net);
  g_free (run);
}

int
main (int argc, char **argv)
{
  Options o = { .loss = 0.05, .samples = 1000, .seeds = 5, .first_seed = 1 };
  double loss_percent = 5;
  int samples = 1000, seeds = 5, first = 1, worst = 0;
  gboolean per_seed = FALSE;
  GOptionEntry entries[] = {
    { "loss", 0, 0, G_OPTION_ARG_DOUBLE, &loss_percent, "Loss per direction in % (5)", "P" },
    { "samples", 0, 0, G_OPTION_ARG_INT, &samples, "Samples per seed (1000)", "N" },
    { "seeds", 0, 0, G_OPTION_ARG_INT, &seeds, "Seeds (5)", "N" },
    { "first-seed", 0, 0, G_OPTION_ARG_INT, &first, "First seed (1)", "N" },
    { "worst", 0, 0, G_OPTION_ARG_INT, &worst, "Trace the K slowest samples of each seed", "K" },
    { "per-seed", 0, 0, G_OPTION_ARG_NONE, &per_seed, "One line per seed", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- KCP's test scenario on simnet");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  o.loss = loss_percent / 100;
  o.samples = (guint) MAX (samples, 1);
  o.seeds = (guint) MAX (seeds, 1);
  o.first_seed = (guint) MAX (first, 0);
  o.worst = (guint) MAX (worst, 0);
  o.per_seed = per_seed;

  g_autoptr (GArray) pooled = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint s = 0; s < o.seeds; s++)
    run_seed (&o, o.first_seed + s, pooled, NULL);
  g_array_sort (pooled, compare_i64);
  double sum = 0;
  for (guint i = 0; i < pooled->len; i++)
    sum += g_array_index (pooled, gint64, i);
  guint n = pooled->len;
  if (n == 0)
    return 1;
  g_print ("loss %.1f%%, %u seeds x %u: %u answered; avg %.1f / p99 %.1f / max %.1f ms; "
           "wire %.1f B per echo (IP+UDP included; %.1f of them copies)\n", loss_percent,
           o.seeds, o.samples, n, sum / n / 1000, g_array_index (pooled, gint64, (n - 1) * 99 / 100) / 1000.0,
           g_array_index (pooled, gint64, n - 1) / 1000.0, (double) total_wire_bytes / total_samples,
           (double) total_redundant_bytes / total_samples);
  return n == o.seeds * o.samples ? 0 : 1;
}
