/* event-hub.c: bounded ring of recent events plus live subscribers.
 *
 * Everything runs on the main loop, so a subscription that replays the ring
 * and then joins the live list cannot miss or double an event.  Events are
 * reference-counted: a subscriber may emit (and so trim the ring) while an
 * older event is being delivered. */
#define G_LOG_DOMAIN "chatd-events"
#include "event-hub.h"

#include <string.h>

typedef struct {
  gint      refs;
  guint64   id;
  char     *kind;
  GVariant *data;
  char     *text;
  gsize     bytes;
} Event;

typedef struct {
  guint          id;
  ChatdEventFunc func;
  gpointer       user_data;
  GDestroyNotify destroy;
} Subscriber;

struct _ChatdEventHub {
  guint       capacity;
  gsize       max_bytes;
  gsize       bytes;
  GQueue      ring;          /* Event*, oldest first */
  guint64     last_id;
  guint       next_subscription;
  GHashTable *subscribers;   /* GUINT_TO_POINTER(id) -> Subscriber* */
};

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
  g_free (event->kind);
  g_variant_unref (event->data);
  g_free (event->text);
  g_free (event);
}

static void
subscriber_free (Subscriber *subscriber)
{
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
  g_queue_init (&hub->ring);
  hub->next_subscription = 1;
  hub->subscribers = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                            (GDestroyNotify) subscriber_free);
  return hub;
}

void
chatd_event_hub_free (ChatdEventHub *hub)
{
  if (hub == NULL)
    return;
  g_hash_table_unref (hub->subscribers);
  g_queue_clear_full (&hub->ring, (GDestroyNotify) event_unref);
  g_free (hub);
}

static void
deliver (ChatdEventHub *hub, guint subscription, const Event *event)
{
  Subscriber *subscriber = g_hash_table_lookup (hub->subscribers, GUINT_TO_POINTER (subscription));
  if (subscriber == NULL)   /* unsubscribed meanwhile */
    return;
  char id[24];
  g_snprintf (id, sizeof id, "%" G_GUINT64_FORMAT, event->id);
  subscriber->func (id, event->kind, event->data, event->text, subscriber->user_data);
}

static void
trim (ChatdEventHub *hub)
{
  while (hub->ring.length > hub->capacity ||
         (hub->bytes > hub->max_bytes && hub->ring.length > 1))
    {
      Event *oldest = g_queue_pop_head (&hub->ring);
      hub->bytes -= oldest->bytes;
      event_unref (oldest);
    }
}

guint64
chatd_event_hub_emit (ChatdEventHub *hub, const char *kind, GVariant *data, const char *text)
{
  g_return_val_if_fail (kind != NULL, 0);
  Event *event = g_new0 (Event, 1);
  event->refs = 1;
  event->id = ++hub->last_id;
  event->kind = g_strdup (kind);
  event->data = data != NULL ? g_variant_take_ref (data)
                             : g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  event->text = g_strdup (text != NULL ? text : "");
  event->bytes = sizeof *event + strlen (event->kind) + strlen (event->text) + g_variant_get_size (event->data);
  g_queue_push_tail (&hub->ring, event_ref (event));
  hub->bytes += event->bytes;
  trim (hub);

  /* subscribers may unsubscribe, subscribe or emit while we deliver */
  g_autoptr(GList) ids = g_hash_table_get_keys (hub->subscribers);
  for (GList *l = ids; l != NULL; l = l->next)
    deliver (hub, GPOINTER_TO_UINT (l->data), event);
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
  Event gap = { .refs = 1, .id = last, .kind = (char *) "gap",
                .data = g_variant_ref_sink (g_variant_builder_end (&b)), .text = text };
  deliver (hub, subscription, &gap);
  g_variant_unref (gap.data);
}

guint
chatd_event_hub_subscribe (ChatdEventHub *hub, const char *since,
                           ChatdEventFunc func, gpointer user_data,
                           GDestroyNotify destroy, GError **error)
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
  subscriber->user_data = user_data;
  subscriber->destroy = destroy;
  guint id = subscriber->id;
  g_hash_table_insert (hub->subscribers, GUINT_TO_POINTER (id), subscriber);

  /* replay from a snapshot: callbacks may emit and trim the ring */
  g_autoptr(GPtrArray) replay = g_ptr_array_new_with_free_func ((GDestroyNotify) event_unref);
  for (GList *l = hub->ring.head; l != NULL; l = l->next)
    if (((Event *) l->data)->id > after)
      g_ptr_array_add (replay, event_ref (l->data));
  guint64 oldest_held = hub->ring.head != NULL ? ((Event *) hub->ring.head->data)->id : hub->last_id + 1;
  if (after + 1 < oldest_held && after < hub->last_id)
    deliver_gap (hub, id, after + 1, oldest_held - 1);
  for (guint i = 0; i < replay->len; i++)
    deliver (hub, id, replay->pdata[i]);
  return id;
}

void
chatd_event_hub_unsubscribe (ChatdEventHub *hub, guint subscription)
{
  g_hash_table_remove (hub->subscribers, GUINT_TO_POINTER (subscription));
}

guint64
chatd_event_hub_last_id (ChatdEventHub *hub)
{
  return hub->last_id;
}

guint
chatd_event_hub_n_subscribers (ChatdEventHub *hub)
{
  return g_hash_table_size (hub->subscribers);
}
