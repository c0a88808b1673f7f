/* event-hub.h: the node's events (message, delivery, login, ...), kept in a
 * bounded ring for replay and delivered live to subscribers. */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdEventHub ChatdEventHub;

#define CHATD_EVENT_HUB_DEFAULT_CAPACITY 1024
/* and at most this many bytes of events (the newest is always kept) */
#define CHATD_EVENT_HUB_MAX_BYTES (4 * 1024 * 1024)

/* A batch subscriber receives its events as one a(ssa{sv}s) array of
 * (id, kind, data, text), at most this many events or (roughly) bytes each. */
#define CHATD_EVENT_BATCH_TYPE "a(ssa{sv}s)"
#define CHATD_EVENT_BATCH_MAX_EVENTS 256
#define CHATD_EVENT_BATCH_MAX_BYTES (256 * 1024)

/* batch: a CHATD_EVENT_BATCH_TYPE array of at least one event, borrowed */
typedef void (*ChatdEventBatchFunc) (GVariant *batch, gpointer user_data);

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
/* The same, coalesced: the events a subscriber is due within one main-loop
 * iteration reach it as one batch, delivered from a high-priority idle
 * source of the thread-default main context (so a lone event waits for no
 * more than the rest of the current iteration), or at once when the batch
 * reaches CHATD_EVENT_BATCH_MAX_EVENTS / _MAX_BYTES.  Replayed events (and
 * the gap notice) are batched too.  Order is the emit order; nothing is
 * lost or doubled. */
guint          chatd_event_hub_subscribe_batched (ChatdEventHub *hub, const char *since,
                                                  ChatdEventBatchFunc func, gpointer user_data,
                                                  GDestroyNotify destroy, GError **error);
/* A batch subscriber first receives what it is still due (the events emitted
 * before this call), then nothing more. */
void           chatd_event_hub_unsubscribe (ChatdEventHub *hub, guint subscription);
/* delivers every pending batch now (the idle source does it otherwise) */
void           chatd_event_hub_flush       (ChatdEventHub *hub);
guint64        chatd_event_hub_last_id     (ChatdEventHub *hub);
guint          chatd_event_hub_n_subscribers (ChatdEventHub *hub);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdEventHub, chatd_event_hub_free)
