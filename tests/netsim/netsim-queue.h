/* netsim-queue.h: datagrams waiting for their departure time, earliest first
 * (a binary heap ordered by due time, then by arrival order). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint64 due_ns;
  guint64 seq;          /* arrival order: ties leave in the order they came */
  gpointer route;       /* where the datagram goes (owned by the caller) */
  gsize len;
  guint8 data[];
} NetsimPending;

typedef struct _NetsimQueue NetsimQueue;

NetsimQueue *netsim_queue_new (void);
void netsim_queue_free (NetsimQueue *queue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NetsimQueue, netsim_queue_free)

/* Takes ownership of pending (allocated with netsim_pending_new). */
void netsim_queue_push (NetsimQueue *queue, NetsimPending *pending);
/* The earliest entry, or NULL; ownership stays with the queue. */
NetsimPending *netsim_queue_peek (NetsimQueue *queue);
/* Removes and returns the earliest entry (the caller frees it with g_free). */
NetsimPending *netsim_queue_pop (NetsimQueue *queue);
guint netsim_queue_length (NetsimQueue *queue);

NetsimPending *netsim_pending_new (guint64 due_ns, gpointer route, const guint8 *data, gsize len);

G_END_DECLS
