/* event-hub.c: bounded ring of recent events plus live subscribers.
 *
 * Everything runs on the main loop, so a subscription that replays the ring
 * and then joins the live list cannot miss or double an event.  Events are
 * reference-counted: a subscriber may emit (and so trim the ring) while an
 * older event is being delivered, and a batch subscriber holds its pending
 * events until its batch goes out.
 *
 * Cheap to hold: an event is one block (struct, kind and text), its data is
 * flattened to one serialised buffer when it is emitted (so the tree of small
 * GVariants is freed while still in cache, and trimming the oldest event
 * later frees three blocks, not dozens), and the ring is an array. */
#define G_LOG_DOMAIN "chatd-events"
#include "event-hub.h"

#include <string.h>

typedef struct {
  gint      refs;
  guint64   id;
  GVariant *data;            /* a{sv}, serialised */
  gsize     bytes;
  const char *kind;          /* points into chars */
  const char *text;          /* points into chars */
  char      chars[];         /* kind NUL text NUL */
} Event;

typedef struct {
  guint               id;
  ChatdEventFunc      func;        /* one of func, batch_func */
  ChatdEventBatchFunc batch_func;
  gpointer            user_data;
  GDestroyNotify      destroy;
  GPtrArray          *pending;     /* Event*, a batch subscriber's events not yet delivered */
  gsize               pending_bytes;
} Subscriber;

struct _ChatdEventHub {
  guint       capacity;
  gsize       max_bytes;
  gsize       bytes;
  Event     **ring;          /* capacity slots; ring_length events from ring_head, oldest first */
  guint       ring_head;
  guint       ring_length;
  guint64     last_id;
  guint       next_subscription;
  GPtrArray  *subscribers;   /* Subscriber*, by increasing id */
  GSource    *flush_source;  /* pending batches */
  GMainContext *flush_context;
};

static Event *
event_new (guint64 id, const char *kind, GVariant *data, const char *text)
{
  gsize kind_length = strlen (kind);
  gsize text_length = text != NULL ? strlen (text) : 0;
  Event *event = g_malloc (sizeof (Event) + kind_length + 1 + text_length + 1);
  event->refs = 1;
  event->id = id;
  char *kind_copy = event->chars;
  char *text_copy = event->chars + kind_length + 1;
  memcpy (kind_copy, kind, kind_length + 1);
  if (text_length > 0)
    memcpy (text_copy, text, text_length);
  text_copy[text_length] = '\0';
  event->kind = kind_copy;
  event->text = text_copy;
  event->data = data != NULL ? g_variant_take_ref (data)
                             : g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  /* flatten now: frees the tree of children while it is still in cache */
  (void) g_variant_get_data (event->data);
  event->bytes = sizeof *event + kind_length + text_length + 2 + g_variant_get_size (event->data);
  return event;
}

static Event *
event_ref (Event *event)
{
  event->refs++;
  return event;
}

static void
event_unref (Event *event)
{
  if (--event->refs > 0)
    return;
  g_variant_unref (event->data);
  g_free (event);
}

static void
subscriber_free (Subscriber *subscriber)
{
  if (subscriber->pending != NULL)
    g_ptr_array_unref (subscriber->pending);
  if (subscriber->destroy != NULL)
    subscriber->destroy (subscriber->user_data);
  g_free (subscriber);
}

ChatdEventHub *
chatd_event_hub_new (guint capacity)
{
  ChatdEventHub *hub = g_new0 (ChatdEventHub, 1);
  hub->capacity = MAX (capacity, 1);
  hub->max_bytes = CHATD_EVENT_HUB_MAX_BYTES;
  hub->ring = g_new0 (Event *, hub->capacity);
  hub->next_subscription = 1;
  hub->subscribers = g_ptr_array_new ();
  return hub;
}

static void
cancel_flush (ChatdEventHub *hub)
{
  if (hub->flush_source == NULL)
    return;
  g_source_destroy (hub->flush_source);
  g_clear_pointer (&hub->flush_source, g_source_unref);
  g_clear_pointer (&hub->flush_context, g_main_context_unref);
}

static Event *
ring_pop_oldest (ChatdEventHub *hub)
{
  Event *oldest = hub->ring[hub->ring_head];
  hub->ring[hub->ring_head] = NULL;
  hub->ring_head = (hub->ring_head + 1) % hub->capacity;
  hub->ring_length--;
  hub->bytes -= oldest->bytes;
  return oldest;
}

static Event *
ring_nth (ChatdEventHub *hub, guint i)
{
  return hub->ring[(hub->ring_head + i) % hub->capacity];
}

void
chatd_event_hub_free (ChatdEventHub *hub)
{
  if (hub == NULL)
    return;
  cancel_flush (hub);
  /* pending batches are dropped: nothing is left to deliver them to */
  g_autoptr(GPtrArray) subscribers = g_steal_pointer (&hub->subscribers);
  hub->subscribers = g_ptr_array_new ();
  for (guint i = 0; i < subscribers->len; i++)
    subscriber_free (subscribers->pdata[i]);
  g_ptr_array_unref (hub->subscribers);
  while (hub->ring_length > 0)
    event_unref (ring_pop_oldest (hub));
  g_free (hub->ring);
  g_free (hub);
}

static Subscriber *
find_subscriber (ChatdEventHub *hub, guint subscription, guint *ret_index)
{
  /* few subscribers (control clients and plugins): a scan beats a hash */
  for (guint i = 0; i < hub->subscribers->len; i++)
    {
      Subscriber *subscriber = hub->subscribers->pdata[i];
      if (subscriber->id == subscription)
        {
          if (ret_index != NULL)
            *ret_index = i;
          return subscriber;
        }
    }
  return NULL;
}

/* the id in decimal (g_snprintf showed in profiles) */
static void
format_id (char id[24], guint64 value)
{
  char reversed[24];
  guint n = 0;
  do
    reversed[n++] = (char) ('0' + value % 10);
  while ((value /= 10) != 0);
  for (guint i = 0; i < n; i++)
    id[i] = reversed[n - 1 - i];
  id[n] = '\0';
}

static GVariant *
event_to_variant (const Event *event)
{
  char id[24];
  format_id (id, event->id);
  GVariant *members[4] = {
    g_variant_new_string (id), g_variant_new_string (event->kind),
    event->data, g_variant_new_string (event->text),
  };
  return g_variant_new_tuple (members, G_N_ELEMENTS (members));
}

/* delivers the subscriber's pending batch; it may unsubscribe, subscribe or
 * emit from its callback */
static void
flush_subscriber (Subscriber *subscriber)
{
  g_autoptr(GPtrArray) events = g_steal_pointer (&subscriber->pending);
  subscriber->pending_bytes = 0;
  if (events == NULL || events->len == 0)
    return;
  g_autofree GVariant **members = g_new (GVariant *, events->len);
  for (guint i = 0; i < events->len; i++)
    members[i] = event_to_variant (events->pdata[i]);
  g_autoptr(GVariant) batch = g_variant_ref_sink (g_variant_new_array (NULL, members, events->len));
  subscriber->batch_func (batch, subscriber->user_data);
}

static gboolean
flush_pending (gpointer user_data)
{
  ChatdEventHub *hub = user_data;
  g_clear_pointer (&hub->flush_source, g_source_unref);
  g_clear_pointer (&hub->flush_context, g_main_context_unref);
  chatd_event_hub_flush (hub);
  return G_SOURCE_REMOVE;
}

static void
schedule_flush (ChatdEventHub *hub)
{
  if (hub->flush_source != NULL)
    return;
  hub->flush_source = g_idle_source_new ();
  /* before anything else in the next iteration: no added latency */
  g_source_set_priority (hub->flush_source, G_PRIORITY_HIGH);
  g_source_set_callback (hub->flush_source, flush_pending, hub, NULL);
  g_source_set_static_name (hub->flush_source, "chatd event batches");
  hub->flush_context = g_main_context_ref_thread_default ();
  g_source_attach (hub->flush_source, hub->flush_context);
}

static void
deliver (ChatdEventHub *hub, guint subscription, Event *event)
{
  Subscriber *subscriber = find_subscriber (hub, subscription, NULL);
  if (subscriber == NULL)   /* unsubscribed meanwhile */
    return;
  if (subscriber->func != NULL)
    {
      char id[24];
      format_id (id, event->id);
      subscriber->func (id, event->kind, event->data, event->text, subscriber->user_data);
      return;
    }
  if (subscriber->pending == NULL)
    subscriber->pending = g_ptr_array_new_full (16, (GDestroyNotify) event_unref);
  g_ptr_array_add (subscriber->pending, event_ref (event));
  subscriber->pending_bytes += event->bytes;
  if (subscriber->pending->len >= CHATD_EVENT_BATCH_MAX_EVENTS ||
      subscriber->pending_bytes >= CHATD_EVENT_BATCH_MAX_BYTES)
    flush_subscriber (subscriber);
  else
    schedule_flush (hub);
}

static guint *
snapshot_ids (ChatdEventHub *hub, guint *stack_ids, guint n_stack, guint *ret_n)
{
  guint n = hub->subscribers->len;
  guint *ids = n > n_stack ? g_new (guint, n) : stack_ids;
  for (guint i = 0; i < n; i++)
    ids[i] = ((Subscriber *) hub->subscribers->pdata[i])->id;
  *ret_n = n;
  return ids;
}

void
chatd_event_hub_flush (ChatdEventHub *hub)
{
  /* one pass over a snapshot: callbacks may change the subscriber list, and
   * what they emit meanwhile waits for the next flush */
  guint stack_ids[32], n;
  guint *ids = snapshot_ids (hub, stack_ids, G_N_ELEMENTS (stack_ids), &n);
  for (guint i = 0; i < n; i++)
    {
      Subscriber *subscriber = find_subscriber (hub, ids[i], NULL);
      if (subscriber != NULL)
        flush_subscriber (subscriber);
    }
  if (ids != stack_ids)
    g_free (ids);
}

static void
trim (ChatdEventHub *hub)
{
  while (hub->ring_length > hub->capacity ||
         (hub->bytes > hub->max_bytes && hub->ring_length > 1))
    event_unref (ring_pop_oldest (hub));
}

static void
deliver_to_all (ChatdEventHub *hub, Event *event)
{
  /* subscribers may unsubscribe, subscribe or emit while we deliver */
  guint stack_ids[32], n;
  guint *ids = snapshot_ids (hub, stack_ids, G_N_ELEMENTS (stack_ids), &n);
  for (guint i = 0; i < n; i++)
    deliver (hub, ids[i], event);
  if (ids != stack_ids)
    g_free (ids);
}

guint64
chatd_event_hub_emit (ChatdEventHub *hub, const char *kind, GVariant *data, const char *text)
{
  g_return_val_if_fail (kind != NULL, 0);
  Event *event = event_new (++hub->last_id, kind, data, text);
  if (hub->ring_length == hub->capacity)
    event_unref (ring_pop_oldest (hub));
  hub->ring[(hub->ring_head + hub->ring_length) % hub->capacity] = event_ref (event);
  hub->ring_length++;
  hub->bytes += event->bytes;
  trim (hub);
  deliver_to_all (hub, event);
  guint64 id = event->id;
  event_unref (event);
  return id;
}

static void
deliver_gap (ChatdEventHub *hub, guint subscription, guint64 first, guint64 last)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "first", g_variant_new_uint64 (first));
  g_variant_builder_add (&b, "{sv}", "last", g_variant_new_uint64 (last));
  g_autofree char *text = g_strdup_printf ("events %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                                           " are no longer held and were missed", first, last);
  Event *gap = event_new (last, "gap", g_variant_builder_end (&b), text);
  deliver (hub, subscription, gap);
  event_unref (gap);
}

static guint
subscribe (ChatdEventHub *hub, const char *since, ChatdEventFunc func, ChatdEventBatchFunc batch_func,
           gpointer user_data, GDestroyNotify destroy, GError **error)
{
  guint64 after = hub->last_id;
  if (since != NULL && since[0] != '\0')
    {
      if (!g_ascii_string_to_unsigned (since, 10, 0, G_MAXUINT64, &after, NULL))
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "since must be an event id (a decimal number), not '%s'", since);
          return 0;
        }
    }

  Subscriber *subscriber = g_new0 (Subscriber, 1);
  subscriber->id = hub->next_subscription++;
  subscriber->func = func;
  subscriber->batch_func = batch_func;
  subscriber->user_data = user_data;
  subscriber->destroy = destroy;
  guint id = subscriber->id;
  g_ptr_array_add (hub->subscribers, subscriber);

  /* replay from a snapshot: callbacks may emit and trim the ring */
  g_autoptr(GPtrArray) replay = g_ptr_array_new_with_free_func ((GDestroyNotify) event_unref);
  for (guint i = 0; i < hub->ring_length; i++)
    if (ring_nth (hub, i)->id > after)
      g_ptr_array_add (replay, event_ref (ring_nth (hub, i)));
  guint64 oldest_held = hub->ring_length > 0 ? ring_nth (hub, 0)->id : hub->last_id + 1;
  if (after + 1 < oldest_held && after < hub->last_id)
    deliver_gap (hub, id, after + 1, oldest_held - 1);
  for (guint i = 0; i < replay->len; i++)
    deliver (hub, id, replay->pdata[i]);
  return id;
}

guint
chatd_event_hub_subscribe (ChatdEventHub *hub, const char *since,
                           ChatdEventFunc func, gpointer user_data,
                           GDestroyNotify destroy, GError **error)
{
  g_return_val_if_fail (func != NULL, 0);
  return subscribe (hub, since, func, NULL, user_data, destroy, error);
}

guint
chatd_event_hub_subscribe_batched (ChatdEventHub *hub, const char *since,
                                   ChatdEventBatchFunc func, gpointer user_data,
                                   GDestroyNotify destroy, GError **error)
{
  g_return_val_if_fail (func != NULL, 0);
  return subscribe (hub, since, NULL, func, user_data, destroy, error);
}

void
chatd_event_hub_unsubscribe (ChatdEventHub *hub, guint subscription)
{
  Subscriber *subscriber = find_subscriber (hub, subscription, NULL);
  if (subscriber == NULL)
    return;
  /* what it was due before now still goes out, as it would have unbatched;
   * its callback may unsubscribe it itself */
  flush_subscriber (subscriber);
  guint index;
  subscriber = find_subscriber (hub, subscription, &index);
  if (subscriber == NULL)
    return;
  g_ptr_array_remove_index (hub->subscribers, index);
  subscriber_free (subscriber);
}

guint64
chatd_event_hub_last_id (ChatdEventHub *hub)
{
  return hub->last_id;
}

guint
chatd_event_hub_n_subscribers (ChatdEventHub *hub)
{
  return hub->subscribers->len;
}
