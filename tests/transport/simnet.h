/* simnet.h: an in-process simulated network with a virtual clock.
 *
 * Drives ChatdEndpoints (the sans-IO core, the very code the real socket
 * layer drives) over simulated links with a seeded random generator: loss,
 * delay, jitter, reordering, duplication, corruption, a bottleneck rate with
 * a drop-tail queue, and blackhole periods.  Seconds of simulated time take
 * milliseconds.  Test code only.
 */
#pragma once

#include "chatd-endpoint.h"

G_BEGIN_DECLS

typedef struct
{
  double loss;            /* probability a datagram is lost */
  double duplicate;       /* probability it is delivered twice */
  double corrupt;         /* probability one random bit is flipped */
  double reorder;         /* probability it gets reorder_extra_us more delay */
  gint64 delay_us;        /* one-way propagation delay */
  gint64 jitter_us;       /* uniform extra delay in [0, jitter) */
  gint64 reorder_extra_us;
  guint64 rate_bytes_per_s; /* 0: unlimited */
  gint64 queue_us;        /* drop-tail queue bound at the bottleneck */
  gint64 blackhole_from_us; /* drop everything in [from, until) */
  gint64 blackhole_until_us;
} SimLink;

typedef struct _SimNet SimNet;

typedef struct
{
  SimNet *net;
  ChatdEndpoint *endpoint;
  ChatdAddress addr;
  SimLink uplink;       /* impairments of datagrams this node sends */
  gint64 uplink_free_at;
  gint64 uplink_last_arrival;
  gboolean down;        /* a vanished node: receives and sends nothing */
} SimNode;

/* Called for every datagram that leaves a node (before impairments). */
typedef void (*SimTapFunc) (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len,
                            gpointer user_data);

void     simnet_link_init (SimLink *link);
SimNet  *simnet_new       (guint32 seed);
void     simnet_free      (SimNet *net);
gint64   simnet_now       (SimNet *net);
/* Adds an endpoint at 10.0.0.@host:@port with @config (NULL: defaults). */
SimNode *simnet_add_node  (SimNet *net, guint host, guint16 port, const ChatdEndpointConfig *config);
/* Replaces a node's endpoint by a fresh one at the same address (a restart). */
void     simnet_restart_node (SimNet *net, SimNode *node);
void     simnet_set_tap   (SimNet *net, SimTapFunc func, gpointer user_data);
/* Called for every datagram after the impairments decided its fate:
 * @arrival_us is when it will arrive, or -1 if it was dropped (a
 * duplicated datagram reports each copy). */
typedef void (*SimFateFunc) (SimNode *from, const ChatdAddress *to, const guint8 *data, gsize len,
                             gint64 arrival_us, gpointer user_data);
void     simnet_set_fate_tap (SimNet *net, SimFateFunc func, gpointer user_data);
/* Delivers a datagram from @from (any address) to @to after @delay_us. */
void     simnet_inject    (SimNet *net, const ChatdAddress *from, SimNode *to,
                           const guint8 *data, gsize len, gint64 delay_us);
/* Runs until @until_us (absolute virtual time) or until @done returns TRUE;
 * returns TRUE if @done became TRUE. */
gboolean simnet_run       (SimNet *net, gint64 until_us, gboolean (*done) (gpointer), gpointer user_data);
GRand   *simnet_rand      (SimNet *net);
guint64  simnet_datagrams_delivered (SimNet *net);

G_END_DECLS
