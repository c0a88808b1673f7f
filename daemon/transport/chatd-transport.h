/* chatd-transport.h: the transport on a real UDP socket, driven by a
 * GMainContext.  This is the header the daemon (and benchmarks) include.
 *
 *   g_autoptr(GError) error = NULL;
 *   ChatdTransport *t = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
 *   chatd_transport_set_message_callback (t, on_message, data);
 *   chatd_transport_send (t, &peer, payload, on_sent, data);
 *   ... g_main_loop_run () ...
 *   chatd_transport_free (t);
 *
 * One transport = one non-blocking UDP socket (IPv4 or IPv6) serving many
 * connections as client and server at once.  Received datagrams are read in
 * batches (recvmmsg), outgoing ones are written in batches (sendmmsg, with
 * UDP GSO when the kernel has it), and the core's timers run on a timerfd
 * (microsecond resolution; GLib's own timeouts wait in whole milliseconds).
 * The protocol logic is the sans-IO ChatdEndpoint (chatd-endpoint.h), whose
 * message, connection and counter API applies unchanged; the functions
 * below wrap the ones that need the clock and a flush of the socket.
 */
#pragma once

#include <gio/gio.h>

#include "chatd-endpoint.h"

G_BEGIN_DECLS

typedef struct _ChatdTransport ChatdTransport;

/* Binds @ip:@port (port 0: any free port).  "::" is dual-stack: IPv4 peers
 * may then be given as plain IPv4 addresses.  @config NULL: defaults.
 * @context NULL: the thread-default main context. */
ChatdTransport *chatd_transport_new  (const char *ip, guint16 port, const ChatdEndpointConfig *config,
                                      GMainContext *context, GError **error);
/* Fails pending messages with CLOSED_LOCALLY (callbacks run) and closes.
 * Not from inside one of the transport's own callbacks.  A transport, like
 * the endpoint, belongs to one thread and main context: no locking. */
void            chatd_transport_free (ChatdTransport *transport);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdTransport, chatd_transport_free)

ChatdEndpoint      *chatd_transport_get_endpoint      (ChatdTransport *transport);
/* The bound address, with the real port. */
const ChatdAddress *chatd_transport_get_local_address (ChatdTransport *transport);
guint16             chatd_transport_get_port          (ChatdTransport *transport);

void chatd_transport_set_message_callback    (ChatdTransport *transport, ChatdMessageCallback callback,
                                              gpointer user_data);
void chatd_transport_set_connection_callback (ChatdTransport *transport, ChatdConnectionCallback callback,
                                              gpointer user_data);

/* Message layer: see chatd_endpoint_send_many().  Each payload is
 * referenced (not copied); each callback runs exactly once. */
void chatd_transport_send_many (ChatdTransport *transport, const ChatdSendRequest *requests,
                                gsize n_requests);
void chatd_transport_send      (ChatdTransport *transport, const ChatdAddress *peer, GBytes *payload,
                                ChatdSendCallback callback, gpointer user_data);
/* Replies on a given connection (e.g. the one a message came from). */
void chatd_transport_send_on   (ChatdTransport *transport, ChatdConnection *connection,
                                GBytes *payload, ChatdSendCallback callback, gpointer user_data);
/* Holds the sending back: what the calls until the matching release queue
 * leaves together at the release, in fewer and fuller packets (for a caller
 * that queues many small messages in a loop outside the transport's own
 * callbacks, which are held this way already).  Nests. */
void chatd_transport_hold    (ChatdTransport *transport);
void chatd_transport_release (ChatdTransport *transport);
void chatd_transport_close_connection (ChatdTransport *transport, ChatdConnection *connection,
                                       guint64 code, const char *reason);

/* chatd_connection_update_protector (key update) with the transport's clock;
 * re-arms the timers. */
gboolean chatd_transport_update_protector (ChatdTransport *transport, ChatdConnection *connection,
                                           const ChatdPacketProtector *next, gboolean peer_has_keys,
                                           GError **error);

/* Endpoint counters, the sums of connection counters ("conn.*") and the
 * socket layer's own ("io.*"). */
void chatd_transport_foreach_counter (ChatdTransport *transport, ChatdCounterFunc func,
                                      gpointer user_data);

/* The clock the transport gives its core (g_get_monotonic_time). */
gint64 chatd_transport_now (ChatdTransport *transport);

G_END_DECLS
