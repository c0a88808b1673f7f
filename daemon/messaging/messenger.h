/* messenger.h: a user node's messages to and from other user nodes, sent
 * directly over the transport as end-to-end envelopes, stored durably, with
 * signed receipts (doc/protocol.md, "Envelope"). */
#pragma once
#include <chatd/chatd-plugin.h>
#include "chatd-transport.h"

typedef struct _ChatdNode ChatdNode;
typedef struct _ChatdUserRole ChatdUserRole;
typedef struct _ChatdMessenger ChatdMessenger;

/* how long a sender waits for the receipt */
#define CHATD_RECEIPT_TIMEOUT_S   30
/* envelopes older than this are refused (the offline queue's time to live) */
#define CHATD_MESSAGE_TTL_MS      (G_GINT64_CONSTANT (7) * 24 * 3600 * 1000)
#define CHATD_SEND_RECIPIENTS_MAX 32

ChatdMessenger *chatd_messenger_new    (ChatdUserRole *role, ChatdNode *node, ChatdTransport *transport,
                                        GError **error);
void            chatd_messenger_free   (ChatdMessenger *messenger);
/* A message from another user node (not the server). */
void            chatd_messenger_handle (ChatdMessenger *messenger, ChatdConnection *connection,
                                        const ChatdAddress *from, GBytes *bytes);
/* A message that came over the session with the server: a queued
 * ENVELOPE for us, a RECEIPT for a queued one of ours, an EXPIRED notice. */
void            chatd_messenger_handle_from_server (ChatdMessenger *messenger, ChatdConnection *connection,
                                                    const ChatdAddress *from, GBytes *bytes);
/* After each (re)login: resends the outbox's "sending" rows. */
void            chatd_messenger_session_started (ChatdMessenger *messenger);
/* The commands; each ends the call. */
void            chatd_messenger_send   (ChatdMessenger *messenger, const ChatdHost *host, ChatdCall *call,
                                        const char *recipients, const char *text);
void            chatd_messenger_recv   (ChatdMessenger *messenger, const ChatdHost *host, ChatdCall *call,
                                        const char *since, const char *from, gboolean follow);
void            chatd_messenger_verify (ChatdMessenger *messenger, const ChatdHost *host, ChatdCall *call,
                                        const char *user);
/* aa{sv}: id, to, time, state */
void            chatd_messenger_outbox (ChatdMessenger *messenger, const ChatdHost *host, ChatdCall *call);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdMessenger, chatd_messenger_free)
