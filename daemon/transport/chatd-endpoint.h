/* chatd-endpoint.h: the sans-IO transport core and the message API.
 *
 * A ChatdEndpoint is everything the transport knows about one UDP socket:
 * its connections (as client and as server at once), the stateless-cookie
 * handshake, loss recovery, congestion and flow control, and the message
 * layer.  It never reads a clock or touches a socket: the caller feeds it
 * (now, datagram, source address) with chatd_endpoint_handle_datagram(),
 * takes the datagrams it wants sent with chatd_endpoint_poll_transmit(),
 * asks when to wake it with chatd_endpoint_next_deadline() and then calls
 * chatd_endpoint_handle_timeout().  Times are microseconds on any monotonic
 * clock (the real one in chatd-transport.c, a virtual one in the tests).
 *
 * Callbacks (message received, send completed, connection event) are run
 * from within those calls, after the core's state is consistent; they may
 * call back into the endpoint (send, close), but must not free it.
 *
 * Most programs use ChatdTransport (chatd-transport.h), which drives an
 * endpoint from a GMainContext with a real UDP socket.
 */
#pragma once

#include <gio/gio.h>

#include "chatd-address.h"
#include "chatd-packet.h"

G_BEGIN_DECLS

#define CHATD_TRANSPORT_ERROR (chatd_transport_error_quark ())
GQuark chatd_transport_error_quark (void);

typedef enum
{
  CHATD_TRANSPORT_ERROR_UNREACHABLE,    /* the handshake got no answer in time */
  CHATD_TRANSPORT_ERROR_TIMED_OUT,      /* outstanding data went unacknowledged (dead peer) */
  CHATD_TRANSPORT_ERROR_RESET,          /* the peer reset the message's stream */
  CHATD_TRANSPORT_ERROR_CLOSED,         /* the peer closed the connection */
  CHATD_TRANSPORT_ERROR_CLOSED_LOCALLY, /* chatd_connection_close() or endpoint shut down */
  CHATD_TRANSPORT_ERROR_LIMIT,          /* a local limit was reached (queue, connections) */
  CHATD_TRANSPORT_ERROR_TOO_LARGE,      /* payload above max_message_bytes */
  CHATD_TRANSPORT_ERROR_PROTOCOL,       /* the peer broke the protocol */
  CHATD_TRANSPORT_ERROR_INVALID,        /* bad argument (address family, ...) */
} ChatdTransportError;

/* Every limit on what a peer controls, with its default (doc/transport.md). */
typedef struct
{
  gsize max_datagram;               /* 1452: largest datagram built or accepted */
  gint64 keepalive_interval_us;     /* 15 s: PING after this long without traffic */
  gint64 dead_peer_timeout_us;      /* 10 s: outstanding data unacknowledged -> failed */
  gint64 handshake_timeout_us;      /* 10 s: no handshake answer -> unreachable */
  gint64 max_ack_delay_us;          /* 1 ms: delay of an ACK for a lone packet */
  gint64 initial_rtt_us;            /* 100 ms: before the first sample */
  guint64 max_message_bytes;        /* 64 MiB: largest message sent or accepted */
  guint64 conn_receive_window;      /* 72 MiB: reassembly bytes per connection */
  guint64 stream_receive_window;    /* 4 MiB: out-of-order span per stream */
  guint64 max_incoming_streams;     /* 1024: concurrent incoming messages per connection */
  guint64 max_send_queue_bytes;     /* 256 MiB: unacknowledged payload per connection */
  guint max_connections;            /* 4096: per endpoint */
  guint max_connections_per_address;/* 4: accepted, per peer IP address and port */
  guint max_connections_per_host;   /* 256: accepted, per peer IP address (any port) */
  guint64 receive_budget_bytes;     /* 1 GiB: unfinished incoming messages, all connections;
                                       packets beyond it are dropped unacknowledged */
  guint ack_every;                  /* 2: ACK at once after this many packets */
} ChatdEndpointConfig;

void chatd_endpoint_config_init (ChatdEndpointConfig *config);

typedef struct _ChatdEndpoint ChatdEndpoint;
typedef struct _ChatdConnection ChatdConnection;

typedef enum
{
  CHATD_CONNECTION_EVENT_ESTABLISHED, /* handshake done (both roles) */
  CHATD_CONNECTION_EVENT_PROTECTED,   /* both directions use the installed protector */
  CHATD_CONNECTION_EVENT_CLOSED,      /* gone; error says why (CLOSED_LOCALLY for ours) */
} ChatdConnectionEvent;

/* A whole message arrived.  @message is owned by the transport; ref it to keep it. */
typedef void (*ChatdMessageCallback) (ChatdEndpoint *endpoint, ChatdConnection *connection,
                                      const ChatdAddress *from, GBytes *message,
                                      gpointer user_data);
/* A message was acknowledged (@error NULL) or failed. */
typedef void (*ChatdSendCallback) (ChatdEndpoint *endpoint, ChatdConnection *connection,
                                   const GError *error, gpointer user_data);
typedef void (*ChatdConnectionCallback) (ChatdEndpoint *endpoint, ChatdConnection *connection,
                                         ChatdConnectionEvent event, const GError *error,
                                         gpointer user_data);
typedef void (*ChatdCounterFunc) (const char *name, guint64 value, gpointer user_data);

/* One per-peer payload of chatd_endpoint_send_many(). */
typedef struct
{
  const ChatdAddress *peer;
  GBytes *payload;           /* referenced, never copied as a whole */
  ChatdSendCallback callback; /* may be NULL */
  gpointer user_data;
} ChatdSendRequest;

/* @local is the socket's bound address (only its family matters). */
ChatdEndpoint *chatd_endpoint_new  (const ChatdEndpointConfig *config, const ChatdAddress *local);
/* Fails every pending message with CLOSED_LOCALLY (callbacks run) and frees. */
void           chatd_endpoint_free (ChatdEndpoint *endpoint);
const ChatdEndpointConfig *chatd_endpoint_get_config (ChatdEndpoint *endpoint);

void chatd_endpoint_set_message_callback    (ChatdEndpoint *endpoint, ChatdMessageCallback callback,
                                             gpointer user_data);
void chatd_endpoint_set_connection_callback (ChatdEndpoint *endpoint, ChatdConnectionCallback callback,
                                             gpointer user_data);

/* --- sans-IO driving --- */
/* @data is modified in place (decryption). */
void   chatd_endpoint_handle_datagram (ChatdEndpoint *endpoint, gint64 now_us,
                                       const ChatdAddress *from, guint8 *data, gsize len);
/* Writes the next datagram to send into @buf (at least max_datagram bytes)
 * and its destination into @ret_to; returns its length, 0 if nothing is due. */
gsize  chatd_endpoint_poll_transmit   (ChatdEndpoint *endpoint, gint64 now_us,
                                       guint8 *buf, gsize cap, ChatdAddress *ret_to);
void   chatd_endpoint_handle_timeout  (ChatdEndpoint *endpoint, gint64 now_us);
/* Earliest time chatd_endpoint_handle_timeout() has work; G_MAXINT64 if none. */
gint64 chatd_endpoint_next_deadline   (ChatdEndpoint *endpoint);

/* --- message layer --- */
/* Sends each payload to its peer, connecting first if needed (one
 * connection per peer address, reused).  Each request's callback runs
 * exactly once: when the peer has acknowledged every byte, or on failure.
 * Immediate failures (TOO_LARGE, LIMIT, INVALID) are reported before this
 * call returns, after all requests have been queued. */
void chatd_endpoint_send_many (ChatdEndpoint *endpoint, gint64 now_us,
                               const ChatdSendRequest *requests, gsize n_requests);
void chatd_endpoint_send      (ChatdEndpoint *endpoint, gint64 now_us, const ChatdAddress *peer,
                               GBytes *payload, ChatdSendCallback callback, gpointer user_data);
/* The live connection used for sends to @peer, or NULL (not referenced). */
ChatdConnection *chatd_endpoint_lookup (ChatdEndpoint *endpoint, const ChatdAddress *peer);
guint chatd_endpoint_get_n_connections (ChatdEndpoint *endpoint);
/* Calls @func on every live connection (for stats); do not close from it. */
void  chatd_endpoint_foreach_connection (ChatdEndpoint *endpoint,
                                         void (*func) (ChatdConnection *connection, gpointer user_data),
                                         gpointer user_data);

/* Endpoint counters (drops by reason, handshakes...) followed by the sums
 * of every connection's counters, prefixed "conn." (closed ones included). */
void    chatd_endpoint_foreach_counter (ChatdEndpoint *endpoint, ChatdCounterFunc func,
                                        gpointer user_data);
guint64 chatd_endpoint_get_counter     (ChatdEndpoint *endpoint, const char *name);

/* --- connections --- */
ChatdConnection *chatd_connection_ref   (ChatdConnection *connection);
void             chatd_connection_unref (ChatdConnection *connection);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdConnection, chatd_connection_unref)

void chatd_connection_send (ChatdConnection *connection, gint64 now_us, GBytes *payload,
                            ChatdSendCallback callback, gpointer user_data);
/* Sends CLOSE to the peer, fails pending messages with CLOSED_LOCALLY and
 * forgets the connection. */
void chatd_connection_close (ChatdConnection *connection, gint64 now_us, guint64 code,
                             const char *reason);

const ChatdAddress *chatd_connection_get_peer  (ChatdConnection *connection);
guint64             chatd_connection_get_id    (ChatdConnection *connection);
gboolean            chatd_connection_is_client (ChatdConnection *connection);
gboolean            chatd_connection_is_alive  (ChatdConnection *connection);
gboolean            chatd_connection_is_established (ChatdConnection *connection);
void     chatd_connection_set_user_data (ChatdConnection *connection, gpointer user_data,
                                         GDestroyNotify destroy);
gpointer chatd_connection_get_user_data (ChatdConnection *connection);

/* Installs packet protection (copied; protector->free_func is called on
 * its user_data when the connection goes).  At most once per connection.
 * Switch-over: the connection sends PROTECT_READY; a side seals its packets
 * only once it has a protector AND has received the peer's PROTECT_READY;
 * a side accepts CRC packets until the first protected packet from the peer
 * arrives, and drops them (counted) afterwards.  PROTECTED is reported when
 * both directions are protected. */
gboolean chatd_connection_install_protector (ChatdConnection *connection,
                                             const ChatdPacketProtector *protector,
                                             GError **error);
gboolean chatd_connection_is_protected (ChatdConnection *connection);

/* Key update (as QUIC's, RFC 9001 section 6): moves a protected connection
 * to @next (copied; its free_func wipes it) without losing packets in
 * flight.  Each protected DATA packet carries a key phase bit that flips at
 * every update.
 *
 * @peer_has_keys FALSE: @next only opens packets of the other phase (newer
 * than any of the current phase); the first one that opens makes @next the
 * current keys for both directions.  Give them before the peer can use them.
 * A later call replaces (and wipes) next keys not used yet.
 * @peer_has_keys TRUE: the caller knows the peer holds @next as its next
 * keys; the connection seals with @next at once and flips the phase.
 *
 * After a switch the previous keys open late packets of the old phase for
 * three probe timeouts (at least CHATD_KEY_UPDATE_GRACE_MIN_US), then are
 * wiped; a packet of a phase without keys is dropped (dropped_key_phase).
 * Fails if no protector is installed (or, with @peer_has_keys, the
 * connection is not protected both ways yet). */
#define CHATD_KEY_UPDATE_GRACE_MIN_US (1 * G_USEC_PER_SEC)
gboolean chatd_connection_update_protector (ChatdConnection *connection, gint64 now_us,
                                            const ChatdPacketProtector *next,
                                            gboolean peer_has_keys, GError **error);
/* The key phase packets are sealed with (0 or 1). */
guint    chatd_connection_get_key_phase   (ChatdConnection *connection);

void    chatd_connection_foreach_counter (ChatdConnection *connection, ChatdCounterFunc func,
                                          gpointer user_data);
guint64 chatd_connection_get_counter     (ChatdConnection *connection, const char *name);

G_END_DECLS
