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
 * test-interactive pins the figures the transport must keep.
 */
#include "kcp-scenario.h"
#include "chatd-frame.h"

#include <string.h>

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

static int
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static void
print_worst (const KcpResult *r, guint seed, guint worst)
{
  g_autofree guint *order = g_new (guint, r->n_samples);
  guint n = 0;
  for (guint i = 0; i < r->n_samples; i++)
    if (r->samples[i].back)
      order[n++] = i;
  for (guint k = 0; k < MIN (worst, n); k++)
    {
      guint best = k;
      for (guint j = k + 1; j < n; j++)
        {
          const KcpSample *a = &r->samples[order[j]], *b = &r->samples[order[best]];
          if (a->back - a->sent > b->back - b->sent)
            best = j;
        }
      guint t = order[k];
      order[k] = order[best];
      order[best] = t;
      const KcpSample *s = &r->samples[order[k]];
      g_print ("\nseed %u sample #%u: rtt %.1f ms = request %.1f + echo %.1f\n", seed, order[k],
               (s->back - s->sent) / 1000.0, (s->at_server - s->sent) / 1000.0,
               (s->back - s->at_server) / 1000.0);
      for (guint e = 0; e < r->datagrams->len; e++)
        {
          const KcpDatagram *d = &g_array_index (r->datagrams, KcpDatagram, e);
          if (d->t < s->sent - 1000 || d->t > s->back)
            continue;
          char fate[32], desc[400];
          gsize len;
          const guint8 *data = g_bytes_get_data (d->data, &len);
          if (d->arrival < 0)
            g_snprintf (fate, sizeof fate, "LOST");
          else
            g_snprintf (fate, sizeof fate, "arr %+7.1f", (d->arrival - s->sent) / 1000.0);
          describe (data, len, desc, sizeof desc);
          g_print ("  %+7.1f %s %-12s %s\n", (d->t - s->sent) / 1000.0, d->from_client ? "C>S" : "   S>C",
                   fate, desc);
        }
    }
}

int
main (int argc, char **argv)
{
  double loss_percent = 5, delay_ms = 30, jitter_ms = 32, interval_ms = 20;
  int samples = 1000, seeds = 5, first = 1, worst = 0, size = 8;
  gboolean per_seed = FALSE;
  GOptionEntry entries[] = {
    { "loss", 0, 0, G_OPTION_ARG_DOUBLE, &loss_percent, "Loss per direction in % (5)", "P" },
    { "samples", 0, 0, G_OPTION_ARG_INT, &samples, "Samples per seed (1000)", "N" },
    { "seeds", 0, 0, G_OPTION_ARG_INT, &seeds, "Seeds (5)", "N" },
    { "first-seed", 0, 0, G_OPTION_ARG_INT, &first, "First seed (1)", "N" },
    { "worst", 0, 0, G_OPTION_ARG_INT, &worst, "Trace the K slowest samples of each seed", "K" },
    { "per-seed", 0, 0, G_OPTION_ARG_NONE, &per_seed, "One line per seed", NULL },
    { "delay", 0, 0, G_OPTION_ARG_DOUBLE, &delay_ms, "One-way delay in ms (30)", "MS" },
    { "jitter", 0, 0, G_OPTION_ARG_DOUBLE, &jitter_ms, "Extra one-way delay, uniform in [0, MS) (32)", "MS" },
    { "interval", 0, 0, G_OPTION_ARG_DOUBLE, &interval_ms,
      "Between messages in ms (20; 0: the next once the answer is in)", "MS" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, "Message size in bytes (8; at least 4)", "B" },
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
  KcpScenario sc;
  kcp_scenario_init (&sc);
  sc.loss = loss_percent / 100;
  sc.samples = (guint) MAX (samples, 1);
  sc.delay_us = (gint64) (delay_ms * 1000);
  sc.jitter_us = (gint64) (jitter_ms * 1000);
  sc.interval_us = (gint64) (interval_ms * 1000);
  sc.size = (gsize) MAX (size, 4);
  sc.trace = worst > 0;

  g_autoptr (GArray) pooled = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint64 wire = 0, redundant = 0, total = 0;
  guint max_ranges = 0;
  for (int s = 0; s < MAX (seeds, 1); s++)
    {
      guint seed = (guint) MAX (first, 0) + (guint) s;
      KcpResult r;
      kcp_scenario_run (&sc, seed, &r);
      g_autoptr (GArray) rtts = kcp_result_sorted_rtts (&r);
      g_array_append_vals (pooled, rtts->data, rtts->len);
      wire += r.wire_bytes;
      redundant += r.redundant_bytes;
      total += sc.samples;
      max_ranges = MAX (max_ranges, r.max_ack_ranges);
      if (per_seed)
        {
          double sum = 0;
          for (guint i = 0; i < rtts->len; i++)
            sum += g_array_index (rtts, gint64, i);
          g_print ("seed %u: %u/%u answered, avg %.1f max %.1f ms; declared lost %" G_GUINT64_FORMAT
                   ", probe timeouts %" G_GUINT64_FORMAT ", most ACK ranges %u\n",
                   seed, rtts->len, sc.samples, rtts->len ? sum / rtts->len / 1000 : 0,
                   rtts->len ? g_array_index (rtts, gint64, rtts->len - 1) / 1000.0 : 0, r.packets_lost,
                   r.probe_timeouts, r.max_ack_ranges);
        }
      if (worst > 0)
        print_worst (&r, seed, (guint) worst);
      kcp_result_clear (&r);
    }
  g_array_sort (pooled, compare_i64);
  double sum = 0;
  for (guint i = 0; i < pooled->len; i++)
    sum += g_array_index (pooled, gint64, i);
  guint n = pooled->len;
  if (n == 0)
    return 1;
  g_print ("loss %.1f%%, %d seeds x %u: %u answered; avg %.1f / p99 %.1f / max %.1f ms; "
           "wire %.1f B per echo (IP+UDP included; %.1f of them copies); most ACK ranges %u\n",
           loss_percent, MAX (seeds, 1), sc.samples, n, sum / n / 1000,
           g_array_index (pooled, gint64, (n - 1) * 99 / 100) / 1000.0, g_array_index (pooled, gint64, n - 1) / 1000.0,
           (double) wire / total, (double) redundant / total, max_ranges);
  return n == total ? 0 : 1;
}
