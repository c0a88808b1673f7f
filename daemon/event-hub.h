/* event-hub.h: the node's events (message, delivery, login, ...), kept in a
 * bounded ring for replay and delivered live to subscribers. */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdEventHub ChatdEventHub;

#define CHATD_EVENT_HUB_DEFAULT_CAPACITY 1024
/* and at most this many bytes of events (the newest is always kept) */
#define CHATD_EVENT_HUB_MAX_BYTES (4 * 1024 * 1024)

ChatdEventHub *chatd_event_hub_new         (guint capacity);
void           chatd_event_hub_free        (ChatdEventHub *hub);
/* data: a{sv}, floating or owned (sunk here).  Returns the event's id. */
guint64        chatd_event_hub_emit        (ChatdEventHub *hub, const char *kind,
                                            GVariant *data, const char *text);
/* since: "" for live events only, or an event id: replays every held event
 * after it (synchronously, before returning), then delivers live ones.  If
 * events after since are no longer held, a "gap" event (data: first, last)
 * comes first, so a subscriber always knows what it missed.
 * Returns a subscription id (> 0), or 0 with error set for a malformed since. */
guint          chatd_event_hub_subscribe   (ChatdEventHub *hub, const char *since,
                                            ChatdEventFunc func, gpointer user_data,
                                            GDestroyNotify destroy, GError **error);
void           chatd_event_hub_unsubscribe (ChatdEventHub *hub, guint subscription);
guint64        chatd_event_hub_last_id     (ChatdEventHub *hub);
guint          chatd_event_hub_n_subscribers (ChatdEventHub *hub);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdEventHub, chatd_event_hub_free)
