/* peer-channel.h: the forward-secret sessions of a user node with the other
 * online user nodes, as the messenger uses them (doc/protocol.md, "Peer
 * session (forward-secret)", "Integration"): one ChatdPeerLink per peer,
 * the handshake (daemon/peer/) run over the transport connection to that
 * peer's node, the session's packet protector installed on that connection,
 * then every message to that peer as a PEER_MESSAGE and its PEER_RECEIPT.
 *
 * The messenger owns the durable side (outbox rows, the inbox, group
 * commit); this module moves the bytes and keeps the sessions.  Messages
 * wait for a session; a handshake that fails (timed out, refused) fails the
 * waiting messages with a reason to retry: nothing is ever sent outside a
 * session from here (no downgrade). */
#pragma once
#include <chatd/chatd-plugin.h>
#include "auth-message.h"
#include "chatd-crypto.h"
#include "chatd-transport.h"
#include "peer-link.h"
#include "registry.h"

typedef struct _ChatdPeerChannels ChatdPeerChannels;

/* messages sealed and not yet acknowledged by a receipt, per peer: stays
 * below the receiving ratchet's CHATD_PEER_MAX_GAP, so that reordering by
 * the transport never takes a counter out of the window */
#define CHATD_PEER_CHANNEL_INFLIGHT_MAX   192
/* a message without a receipt this long is sent again in a new session
 * (the peer's node lost the old one); after this many sessions it fails */
#define CHATD_PEER_CHANNEL_RECEIPT_TIMEOUT_US  (15 * G_USEC_PER_SEC)
#define CHATD_PEER_CHANNEL_ATTEMPTS_MAX        2
/* messages waiting for a session, per peer */
#define CHATD_PEER_CHANNEL_WAITING_MAX    20000
/* responder handshakes (one signature each) a node starts per second, all
 * peers together; PEER_INITs beyond are dropped and counted */
#define CHATD_PEER_CHANNEL_INITS_PER_S    20

typedef struct {
  /* our key (borrowed, valid until the next call into this module), or NULL
   * when not logged in */
  const ChatdKey *(*own_key)   (gpointer data);
  /* a message sent with chatd_peer_channels_send was stored by the peer
   * (its receipt's MAC checked) */
  void            (*delivered) (gpointer tag, gpointer data);
  /* it could not go out in a session (the handshake failed or timed out,
   * we logged out): the reason says so; nothing was sent outside a session */
  void            (*failed)    (gpointer tag, const GError *error, gpointer data);
  /* a message from the peer, opened (plaintext as sealed): the messenger
   * commits it, then calls chatd_peer_channels_send_receipt with receipt_ref */
  void            (*received)  (const char *peer, GBytes *plaintext, gpointer receipt_ref, gpointer data);
  /* a PEER_INIT came from a user whose key this module does not have: the
   * messenger finds it (pinned contact or key record) and calls
   * chatd_peer_channels_set_peer_key */
  void            (*need_key)  (const char *peer, gpointer data);
} ChatdPeerChannelCallbacks;

typedef struct {
  ChatdPeerLimits limits;              /* of every session (0: defaults) */
  gint64          handshake_timeout_us; /* 0: CHATD_PEER_HANDSHAKE_TIMEOUT_US */
} ChatdPeerChannelConfig;

/* suite: the channel suite (key exchange, AEAD, KDF); registry: to import
 * peer keys.  All borrowed. */
ChatdPeerChannels *chatd_peer_channels_new  (ChatdTransport *transport, ChatdRegistry *registry,
                                             const ChatdSuite *suite, const char *own_name,
                                             const ChatdPeerChannelConfig *config,
                                             const ChatdPeerChannelCallbacks *callbacks, gpointer data);
/* Fails what waits (callbacks run). */
void               chatd_peer_channels_free (ChatdPeerChannels *channels);

/* The peer's identity key (from the signed list, the pinned contact or the
 * key record): a different key than before drops that peer's sessions. */
gboolean chatd_peer_channels_set_peer_key (ChatdPeerChannels *channels, const char *peer,
                                           const char *suite, GBytes *public_key, GError **error);
/* Sends plaintext to peer's node at address (its outbox row is committed):
 * at once in the current session, or after a handshake.  Exactly one of
 * delivered/failed runs for tag later (never from inside this call). */
void     chatd_peer_channels_send (ChatdPeerChannels *channels, const char *peer,
                                   const ChatdAddress *address, GBytes *plaintext, gpointer tag);
/* A peer-* message (types 40-44) from another user node. */
void     chatd_peer_channels_handle (ChatdPeerChannels *channels, ChatdConnection *connection,
                                     const ChatdAuthMessage *parsed, GBytes *bytes);
/* Sends the receipt (status 0, stored) of a message given to received(),
 * and frees receipt_ref; with stored FALSE only frees it (no receipt). */
void     chatd_peer_channels_send_receipt (ChatdPeerChannels *channels, gpointer receipt_ref,
                                           gboolean stored);
/* Logged out or the session with the server ended: handshakes stop, what
 * waits fails. */
void     chatd_peer_channels_reset (ChatdPeerChannels *channels, const char *why);

/* TRUE when there is a current session with peer. */
gboolean chatd_peer_channels_has_session (ChatdPeerChannels *channels, const char *peer);
/* TRUE when we talked to peer's node in a session and have none now (its
 * node may have moved: ask the server again before a new handshake). */
gboolean chatd_peer_channels_lost (ChatdPeerChannels *channels, const char *peer);
/* aa{sv}: peer, session (b), since (unix seconds of the current session's
 * handshake), sent, received, handshakes, rekeys, waiting, in-flight */
GVariant *chatd_peer_channels_describe (ChatdPeerChannels *channels);
/* counters: handshakes, handshake-failures, inits-dropped, sent, received,
 * receipts, refused */
void     chatd_peer_channels_foreach_counter (ChatdPeerChannels *channels,
                                              void (*visit) (const char *name, guint64 value, gpointer data),
                                              gpointer data);
