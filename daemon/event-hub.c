/* event-hub.c: bounded ring of recent events plus live subscribers.
 *
 * Everything runs on the main loop, so a subscription that replays the ring
 * and then joins the live list cannot miss or double an event. */
#define G_LOG_DOMAIN "chatd-events"
#include "event-hub.h"

typedef struct {
  guint64   id;
  char     *kind;
  GVariant *data;
  char     *text;
} Event;

typedef struct {
  guint          id;
  ChatdEventFunc func;
  gpointer       user_data;
  GDestroyNotify destroy;
} Subscriber;

struct _ChatdEventHub {
  guint       capacity;
  GQueue      ring;          /* Event*, oldest first */
  guint64     last_id;
  guint       next_subscription;
  GHashTable *subscribers;   /* GUINT_TO_POINTER(id) -> Subscriber* */
};

static void
event_free (Event *event)
{
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
  g_queue_clear_full (&hub->ring, (GDestroyNotify) event_free);
  g_free (hub);
}

static void
deliver (Subscriber *subscriber, const Event *event)
{
  char id[24];
  g_snprintf (id, sizeof id, "%" G_GUINT64_FORMAT, event->id);
  subscriber->func (id, event->kind, event->data, event->text, subscriber->user_data);
}

guint64
chatd_event_hub_emit (ChatdEventHub *hub, const char *kind, GVariant *data, const char *text)
{
  g_return_val_if_fail (kind != NULL, 0);
  Event *event = g_new0 (Event, 1);
  event->id = ++hub->last_id;
  event->kind = g_strdup (kind);
  event->data = data != NULL ? g_variant_ref_sink (data)
                             : g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));
  event->text = g_strdup (text != NULL ? text : "");
  g_queue_push_tail (&hub->ring, event);
  while (hub->ring.length > hub->capacity)
    event_free (g_queue_pop_head (&hub->ring));

  /* a subscriber may unsubscribe itself or others while we deliver */
  g_autoptr(GList) ids = g_hash_table_get_keys (hub->subscribers);
  for (GList *l = ids; l != NULL; l = l->next)
    {
      Subscriber *subscriber = g_hash_table_lookup (hub->subscribers, l->data);
      if (subscriber != NULL)
        deliver (subscriber, event);
    }
  g_debug ("event %" G_GUINT64_FORMAT " %s to %u subscribers", event->id, kind,
           g_hash_table_size (hub->subscribers));
  return event->id;
}

guint
chatd_event_hub_subscribe (ChatdEventHub *hub, const char *since,
                           ChatdEventFunc func, gpointer user_data,
                           GDestroyNotify destroy, GError **error)
{
  guint64 after = hub->last_id;
  if (since != NULL && since[0] != '\0')
    {
      g_autoptr(GError) parse_error = NULL;
      if (!g_ascii_string_to_unsigned (since, 10, 0, G_MAXUINT64, &after, &parse_error))
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

  for (GList *l = hub->ring.head; l != NULL; l = l->next)
    {
      const Event *event = l->data;
      if (event->id <= after)
        continue;
      subscriber = g_hash_table_lookup (hub->subscribers, GUINT_TO_POINTER (id));
      if (subscriber == NULL)   /* unsubscribed during replay */
        break;
      deliver (subscriber, event);
    }
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
