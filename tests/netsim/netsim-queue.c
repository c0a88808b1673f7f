/* netsim-queue.c: a binary heap of pending datagrams (see the header). */
#include "netsim-queue.h"

#include <string.h>

struct _NetsimQueue {
  GPtrArray *heap;
  guint64 next_seq;
};

NetsimQueue *
netsim_queue_new (void)
{
  NetsimQueue *q = g_new0 (NetsimQueue, 1);
  q->heap = g_ptr_array_new_with_free_func (g_free);
  return q;
}

void
netsim_queue_free (NetsimQueue *q)
{
  if (q == NULL)
    return;
  g_ptr_array_unref (q->heap);
  g_free (q);
}

NetsimPending *
netsim_pending_new (guint64 due_ns, gpointer route, const guint8 *data, gsize len)
{
  NetsimPending *p = g_malloc (sizeof (NetsimPending) + len);
  p->due_ns = due_ns;
  p->seq = 0;
  p->route = route;
  p->len = len;
  if (len > 0)
    memcpy (p->data, data, len);
  return p;
}

static gboolean
earlier (const NetsimPending *a, const NetsimPending *b)
{
  return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void
swap (GPtrArray *heap, guint i, guint j)
{
  gpointer t = heap->pdata[i];
  heap->pdata[i] = heap->pdata[j];
  heap->pdata[j] = t;
}

void
netsim_queue_push (NetsimQueue *q, NetsimPending *p)
{
  guint i;

  p->seq = q->next_seq++;
  g_ptr_array_add (q->heap, p);
  i = q->heap->len - 1;
  while (i > 0)
    {
      guint parent = (i - 1) / 2;
      if (!earlier (q->heap->pdata[i], q->heap->pdata[parent]))
        break;
      swap (q->heap, i, parent);
      i = parent;
    }
}

NetsimPending *
netsim_queue_peek (NetsimQueue *q)
{
  return q->heap->len > 0 ? q->heap->pdata[0] : NULL;
}

NetsimPending *
netsim_queue_pop (NetsimQueue *q)
{
  NetsimPending *top;
  guint i = 0, n;

  if (q->heap->len == 0)
    return NULL;
  top = q->heap->pdata[0];
  n = q->heap->len - 1;
  q->heap->pdata[0] = q->heap->pdata[n];
  g_ptr_array_steal_index (q->heap, n);
  while (TRUE)
    {
      guint l = 2 * i + 1, r = l + 1, best = i;
      if (l < n && earlier (q->heap->pdata[l], q->heap->pdata[best]))
        best = l;
      if (r < n && earlier (q->heap->pdata[r], q->heap->pdata[best]))
        best = r;
      if (best == i)
        break;
      swap (q->heap, i, best);
      i = best;
    }
  return top;
}

guint
netsim_queue_length (NetsimQueue *q)
{
  return q->heap->len;
}
