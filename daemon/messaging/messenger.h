/* messenger.h: a user node's messages to and from other user nodes, sent
 * directly over the transport as end-to-end envelopes, stored durably, with
 * signed receipts (doc/protocol.md, "Envelope"). */
#pragma once
#include <chatd/chatd-plugin.h>
#include "chatd-transport.h"

typedef struct _ChatdNode ChatdNode;
typedef struct _ChatdUserRole ChatdUserRole;
typedef struct _ChatdMessenger ChatdMessenger;
typedef struct _ChatdManifest ChatdManifest;

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
/* The session with the server ended (logout, lost): peer handshakes stop
 * and the messages waiting for them fail with why. */
void            chatd_messenger_session_ended (ChatdMessenger *messenger, const char *why);
/* Whether this node speaks (and advertises) forward-secret peer sessions. */
gboolean        chatd_messenger_speaks_sessions (ChatdMessenger *messenger);
/* status: peer-sessions (b), sessions (aa{sv}, peer-channel.h) */
void            chatd_messenger_status (ChatdMessenger *messenger, GVariantBuilder *builder);
/* list: each entry of the online list (aa{sv}, floating or not; consumed)
 * gets session (b): a current session with that user's node */
GVariant       *chatd_messenger_mark_sessions (ChatdMessenger *messenger, GVariant *list);
/* A fresh signed list (the list command's): kept for the next sends. */
void            chatd_messenger_manifest_seen (ChatdMessenger *messenger, const ChatdManifest *manifest);
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
