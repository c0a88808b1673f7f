/* simnet.c: simulated network with a virtual clock (test code). */
#include "simnet.h"

#include <arpa/inet.h>
#include <string.h>

typedef struct
{
  gint64 at;
  guint64 seq;
  ChatdAddress from;
  ChatdAddress to;
  gsize len;
  guint8 data[];
} InFlight;

struct _SimNet
{
  GRand *rand;
  gint64 now;
  guint64 seq;
  GPtrArray *nodes;
  GPtrArray *heap; /* InFlight*, min-heap on (at, seq) */
  SimTapFunc tap;
  gpointer tap_data;
  SimFateFunc fate;
  gpointer fate_data;
  guint64 delivered;
};

void
simnet_link_init (SimLink *link)
{
  memset (link, 0, sizeof *link);
  link->delay_us = 10000;
  link->rate_bytes_per_s = 0;
  link->queue_us = 100000;
}

SimNet *
simnet_new (guint32 seed)
{
  SimNet *net = g_new0 (SimNet, 1);
  net->rand = g_rand_new_with_seed (seed);
  net->now = 1000000;
  net->nodes = g_ptr_array_new ();
  net->heap = g_ptr_array_new ();
  return net;
}

void
simnet_free (SimNet *net)
{
  for (guint i = 0; i < net->nodes->len; i++)
    {
      SimNode *node = net->nodes->pdata[i];
      chatd_endpoint_free (node->endpoint);
      g_free (node);
    }
  g_ptr_array_unref (net->nodes);
  for (guint i = 0; i < net->heap->len; i++)
    g_free (net->heap->pdata[i]);
  g_ptr_array_unref (net->heap);
  g_rand_free (net->rand);
  g_free (net);
}

gint64
simnet_now (SimNet *net)
{
  return net->now;
}

GRand *
simnet_rand (SimNet *net)
{
  return net->rand;
}

guint64
simnet_datagrams_delivered (SimNet *net)
{
  return net->delivered;
}

void
simnet_set_tap (SimNet *net, SimTapFunc func, gpointer user_data)
{
  net->tap = func;
  net->tap_data = user_data;
}

SimNode *
simnet_add_node (SimNet *net, guint host, guint16 port, const ChatdEndpointConfig *config)
{
  SimNode *node = g_new0 (SimNode, 1);
  char ip[32];
  g_snprintf (ip, sizeof ip, "10.0.0.%u", host);
  g_assert_true (chatd_address_parse (ip, port, &node->addr, NULL));
  node->net = net;
  node->endpoint = chatd_endpoint_new (config, &node->addr);
  simnet_link_init (&node->uplink);
  g_ptr_array_add (net->nodes, node);
  return node;
}

void
simnet_restart_node (SimNet *net, SimNode *node)
{
  ChatdEndpointConfig config = *chatd_endpoint_get_config (node->endpoint);
  chatd_endpoint_free (node->endpoint);
  node->endpoint = chatd_endpoint_new (&config, &node->addr);
  node->down = FALSE;
}

static gboolean
earlier (const InFlight *a, const InFlight *b)
{
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
heap_push (SimNet *net, InFlight *f)
{
  g_ptr_array_add (net->heap, f);
  guint i = net->heap->len - 1;
  while (i > 0)
    {
      guint parent = (i - 1) / 2;
      if (!earlier (net->heap->pdata[i], net->heap->pdata[parent]))
        break;
      gpointer t = net->heap->pdata[i];
      net->heap->pdata[i] = net->heap->pdata[parent];
      net->heap->pdata[parent] = t;
      i = parent;
    }
}

static InFlight *
heap_pop (SimNet *net)
{
  InFlight *top = net->heap->pdata[0];
  guint n = net->heap->len - 1;
  net->heap->pdata[0] = net->heap->pdata[n];
  g_ptr_array_set_size (net->heap, n);
  guint i = 0;
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = i;
      if (l < n && earlier (net->heap->pdata[l], net->heap->pdata[m]))
        m = l;
      if (r < n && earlier (net->heap->pdata[r], net->heap->pdata[m]))
        m = r;
      if (m == i)
        break;
      gpointer t = net->heap->pdata[i];
      net->heap->pdata[i] = net->heap->pdata[m];
      net->heap->pdata[m] = t;
      i = m;
    }
  return top;
}

static void
schedule (SimNet *net, const ChatdAddress *from, const ChatdAddress *to, const guint8 *data,
          gsize len, gint64 at)
{
  InFlight *f = g_malloc (sizeof (InFlight) + len);
  f->at = at;
  f->seq = net->seq++;
  f->from = *from;
  f->to = *to;
  f->len = len;
  memcpy (f->data, data, len);
  heap_push (net, f);
}

void
simnet_inject (SimNet *net, const ChatdAddress *from, SimNode *to, const guint8 *data, gsize len,
               gint64 delay_us)
{
  schedule (net, from, &to->addr, data, len, net->now + delay_us);
}

void
simnet_set_fate_tap (SimNet *net, SimFateFunc func, gpointer user_data)
{
  net->fate = func;
  net->fate_data = user_data;
}

static void
report_fate (SimNet *net, SimNode *node, const ChatdAddress *to, const guint8 *data, gsize len,
             gint64 arrival_us)
{
  if (net->fate)
    net->fate (node, to, data, len, arrival_us, net->fate_data);
}

static void
transmit (SimNet *net, SimNode *node, const ChatdAddress *to, guint8 *data, gsize len)
{
  SimLink *link = &node->uplink;
  GRand *r = net->rand;
  if (net->tap)
    net->tap (node, to, data, len, net->tap_data);
  if (net->now >= link->blackhole_from_us && net->now < link->blackhole_until_us)
    {
      report_fate (net, node, to, data, len, -1);
      return;
    }
  gint64 at = net->now;
  if (link->rate_bytes_per_s)
    {
      gint64 start = MAX (net->now, node->uplink_free_at);
      if (start - net->now > link->queue_us)
        {
          report_fate (net, node, to, data, len, -1);
          return; /* drop-tail */
        }
      node->uplink_free_at = start + (gint64) (len * G_USEC_PER_SEC / link->rate_bytes_per_s);
      at = node->uplink_free_at;
    }
  if (g_rand_double (r) < link->loss)
    {
      if (g_getenv ("SIMNET_DEBUG"))
        g_printerr ("%.4f   lost (%" G_GSIZE_FORMAT " bytes)\n", (net->now - 1000000) / 1e6, len);
      report_fate (net, node, to, data, len, -1);
      return;
    }
  at += link->delay_us;
  if (link->jitter_us > 0)
    at += g_rand_int_range (r, 0, (gint32) link->jitter_us);
  /* jitter keeps the order of a path; reordering is explicit */
  at = MAX (at, node->uplink_last_arrival);
  node->uplink_last_arrival = at;
  if (link->reorder > 0 && g_rand_double (r) < link->reorder)
    at += link->reorder_extra_us;
  int copies = (link->duplicate > 0 && g_rand_double (r) < link->duplicate) ? 2 : 1;
  for (int c = 0; c < copies; c++)
    {
      if (link->corrupt > 0 && g_rand_double (r) < link->corrupt && len > 0)
        {
          g_autofree guint8 *bad = g_memdup2 (data, len);
          gsize pos = g_rand_int_range (r, 0, (gint32) len);
          bad[pos] ^= 1u << g_rand_int_range (r, 0, 8);
          schedule (net, &node->addr, to, bad, len, at + c * 100);
        }
      else
        schedule (net, &node->addr, to, data, len, at + c * 100);
      report_fate (net, node, to, data, len, at + c * 100);
    }
}

static void
flush_node (SimNet *net, SimNode *node)
{
  guint8 buf[CHATD_MAX_DATAGRAM_LIMIT];
  ChatdAddress to;
  gsize len;
  if (node->down)
    return;
  while ((len = chatd_endpoint_poll_transmit (node->endpoint, net->now, buf, sizeof buf, &to)) > 0)
    transmit (net, node, &to, buf, len);
}

static SimNode *
find_node (SimNet *net, const ChatdAddress *addr)
{
  for (guint i = 0; i < net->nodes->len; i++)
    {
      SimNode *node = net->nodes->pdata[i];
      if (chatd_address_equal (&node->addr, addr))
        return node;
    }
  return NULL;
}

gboolean
simnet_run (SimNet *net, gint64 until_us, gboolean (*done) (gpointer), gpointer user_data)
{
  gint64 last_now = -1;
  guint spins = 0;
  for (;;)
    {
      /* a core that keeps asking to be woken at the same instant is a bug */
      if (net->now == last_now)
        {
          if (++spins > 200000)
            g_error ("simnet: no progress at t=%" G_GINT64_FORMAT " us", net->now);
        }
      else
        {
          last_now = net->now;
          spins = 0;
        }
      for (guint i = 0; i < net->nodes->len; i++)
        flush_node (net, net->nodes->pdata[i]);
      if (done && done (user_data))
        return TRUE;
      gint64 next = G_MAXINT64;
      if (net->heap->len > 0)
        next = ((InFlight *) net->heap->pdata[0])->at;
      for (guint i = 0; i < net->nodes->len; i++)
        {
          SimNode *node = net->nodes->pdata[i];
          if (!node->down)
            next = MIN (next, chatd_endpoint_next_deadline (node->endpoint));
        }
      if (next > until_us)
        {
          net->now = MAX (net->now, until_us);
          return done ? done (user_data) : FALSE;
        }
      net->now = MAX (net->now, next);
      while (net->heap->len > 0 && ((InFlight *) net->heap->pdata[0])->at <= net->now)
        {
          InFlight *f = heap_pop (net);
          SimNode *node = find_node (net, &f->to);
          if (node && !node->down)
            {
              net->delivered++;
              chatd_endpoint_handle_datagram (node->endpoint, net->now, &f->from, f->data, f->len);
            }
          g_free (f);
        }
      for (guint i = 0; i < net->nodes->len; i++)
        {
          SimNode *node = net->nodes->pdata[i];
          if (!node->down && chatd_endpoint_next_deadline (node->endpoint) <= net->now)
            chatd_endpoint_handle_timeout (node->endpoint, net->now);
        }
    }
}
