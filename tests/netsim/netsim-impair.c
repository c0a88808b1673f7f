/* netsim-impair.c: the impairment model of one direction (see the header). */
#include "netsim-impair.h"

#include <math.h>

struct _NetsimDirection {
  NetsimImpairment config;   /* blackholes array shared by reference */
  GRand *rng;
  gboolean burst_bad;
  guint64 link_free_ns;      /* rate limiter: when the link is idle again */
  guint64 last_due_ns;       /* fifo: the latest departure so far */
  NetsimCounters counters;
};

void
netsim_impairment_init (NetsimImpairment *impairment)
{
  *impairment = (NetsimImpairment) { 0 };
  impairment->reorder_gap_ms = 5.0;
  impairment->queue_bytes = 1024 * 1024;
  impairment->blackholes = g_array_new (FALSE, FALSE, sizeof (NetsimBlackhole));
}

void
netsim_impairment_clear (NetsimImpairment *impairment)
{
  g_clear_pointer (&impairment->blackholes, g_array_unref);
}

gboolean
netsim_impairment_is_active (const NetsimImpairment *i)
{
  return i->loss > 0 || i->burst_enter > 0 || i->delay_ms > 0 || i->jitter_ms > 0 ||
         i->reorder > 0 || i->duplicate > 0 || i->corrupt > 0 || i->rate_mbit > 0 ||
         (i->blackholes != NULL && i->blackholes->len > 0);
}

NetsimDirection *
netsim_direction_new (const NetsimImpairment *impairment, guint64 seed)
{
  NetsimDirection *d = g_new0 (NetsimDirection, 1);
  guint32 seed_words[2] = { (guint32) seed, (guint32) (seed >> 32) };

  d->config = *impairment;
  if (d->config.blackholes != NULL)
    g_array_ref (d->config.blackholes);
  d->rng = g_rand_new_with_seed_array (seed_words, G_N_ELEMENTS (seed_words));
  return d;
}

void
netsim_direction_free (NetsimDirection *d)
{
  if (d == NULL)
    return;
  g_clear_pointer (&d->config.blackholes, g_array_unref);
  g_rand_free (d->rng);
  g_free (d);
}

NetsimCounters *
netsim_direction_get_counters (NetsimDirection *d)
{
  return &d->counters;
}

static gboolean
chance (NetsimDirection *d, double p)
{
  if (p <= 0)
    return FALSE;
  return g_rand_double (d->rng) < p;
}

static gboolean
in_blackhole (const NetsimDirection *d, guint64 now_ns)
{
  if (d->config.blackholes == NULL)
    return FALSE;
  for (guint i = 0; i < d->config.blackholes->len; i++)
    {
      const NetsimBlackhole *b = &g_array_index (d->config.blackholes, NetsimBlackhole, i);
      guint64 start = b->start_ms * NETSIM_NS_PER_MS;
      guint64 end = start + b->duration_ms * NETSIM_NS_PER_MS;
      if (now_ns >= start && now_ns < end)
        return TRUE;
    }
  return FALSE;
}

static guint64
ms_to_ns (double ms)
{
  return ms <= 0 ? 0 : (guint64) llround (ms * 1e6);
}

/* The Gilbert-Elliott chain advances once per datagram; returns TRUE to drop. */
static gboolean
burst_drops (NetsimDirection *d)
{
  if (d->config.burst_enter <= 0)
    return FALSE;
  if (d->burst_bad)
    {
      if (chance (d, d->config.burst_leave))
        d->burst_bad = FALSE;
    }
  else if (chance (d, d->config.burst_enter))
    d->burst_bad = TRUE;
  return d->burst_bad && chance (d, d->config.burst_loss);
}

static void
corrupt_bytes (NetsimDirection *d, guint8 *data, gsize len)
{
  gsize pos = (gsize) g_rand_int_range (d->rng, 0, (gint32) MIN (len, (gsize) G_MAXINT32));
  guint8 mask = (guint8) g_rand_int_range (d->rng, 1, 256);
  data[pos] ^= mask;
}

static guint64
one_way_delay_ns (NetsimDirection *d)
{
  double ms = d->config.delay_ms;
  if (d->config.jitter_ms > 0)
    ms += g_rand_double_range (d->rng, -d->config.jitter_ms, d->config.jitter_ms);
  return ms_to_ns (ms);
}

void
netsim_direction_judge (NetsimDirection *d, guint64 now_ns, guint8 *data, gsize len,
                        NetsimFate *ret_fate)
{
  NetsimFate fate = { .kind = NETSIM_FATE_FORWARD, .copies = 1 };
  NetsimCounters *c = &d->counters;
  guint64 leave_ns = now_ns;

  c->received++;
  c->bytes_in += len;

  if (in_blackhole (d, now_ns))
    fate.kind = NETSIM_FATE_DROP_BLACKHOLE;
  else if (chance (d, d->config.loss))
    fate.kind = NETSIM_FATE_DROP_LOSS;
  else if (burst_drops (d))
    fate.kind = NETSIM_FATE_DROP_BURST;

  if (fate.kind == NETSIM_FATE_FORWARD && d->config.rate_mbit > 0)
    {
      double bytes_per_ns = d->config.rate_mbit * 1e6 / 8.0 / 1e9;
      guint64 start = MAX (now_ns, d->link_free_ns);
      double backlog_bytes = (double) (start - now_ns) * bytes_per_ns;
      if (backlog_bytes > (double) d->config.queue_bytes)
        fate.kind = NETSIM_FATE_DROP_QUEUE;
      else
        {
          d->link_free_ns = start + (guint64) llround ((double) len / bytes_per_ns);
          leave_ns = d->link_free_ns;
        }
    }

  switch (fate.kind)
    {
    case NETSIM_FATE_DROP_LOSS: c->dropped_loss++; *ret_fate = fate; return;
    case NETSIM_FATE_DROP_BURST: c->dropped_burst++; *ret_fate = fate; return;
    case NETSIM_FATE_DROP_BLACKHOLE: c->dropped_blackhole++; *ret_fate = fate; return;
    case NETSIM_FATE_DROP_QUEUE: c->dropped_queue++; *ret_fate = fate; return;
    case NETSIM_FATE_FORWARD: break;
    }

  if (len > 0 && chance (d, d->config.corrupt))
    {
      corrupt_bytes (d, data, len);
      fate.corrupted = TRUE;
      c->corrupted++;
    }
  if (chance (d, d->config.duplicate))
    {
      fate.copies = 2;
      c->duplicated++;
    }

  for (guint i = 0; i < fate.copies; i++)
    {
      guint64 due = leave_ns + one_way_delay_ns (d);
      if (i == 0 && chance (d, d->config.reorder))
        {
          due += ms_to_ns (d->config.reorder_gap_ms);
          c->reordered++;
        }
      if (d->config.fifo)
        due = MAX (due, d->last_due_ns);
      d->last_due_ns = MAX (d->last_due_ns, due);
      fate.due_ns[i] = due;
    }
  *ret_fate = fate;
}

char *
netsim_counters_to_string (const NetsimCounters *c)
{
  return g_strdup_printf ("received=%" G_GUINT64_FORMAT " forwarded=%" G_GUINT64_FORMAT
                          " dropped=%" G_GUINT64_FORMAT " loss=%" G_GUINT64_FORMAT
                          " burst=%" G_GUINT64_FORMAT " blackhole=%" G_GUINT64_FORMAT
                          " queue=%" G_GUINT64_FORMAT " duplicated=%" G_GUINT64_FORMAT
                          " corrupted=%" G_GUINT64_FORMAT " reordered=%" G_GUINT64_FORMAT
                          " send_errors=%" G_GUINT64_FORMAT " bytes_in=%" G_GUINT64_FORMAT
                          " bytes_out=%" G_GUINT64_FORMAT,
                          c->received, c->forwarded,
                          c->dropped_loss + c->dropped_burst + c->dropped_blackhole + c->dropped_queue,
                          c->dropped_loss, c->dropped_burst, c->dropped_blackhole, c->dropped_queue,
                          c->duplicated, c->corrupted, c->reordered, c->send_errors,
                          c->bytes_in, c->bytes_out);
}
