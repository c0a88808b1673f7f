/* control-server.h: the node's control socket, peer-to-peer D-Bus on a Unix
 * socket (DESIGN section 5). */
#pragma once
#include <chatd/chatd-plugin.h>

typedef struct _ChatdNode ChatdNode;
typedef struct _ChatdControlServer ChatdControlServer;

#define CHATD_CONTROL_MAX_CLIENTS 64
/* requests in flight on one connection (streams included) */
#define CHATD_CONTROL_MAX_CALLS_PER_CLIENT 64
/* at shutdown, how long the last replies may take to go out */
#define CHATD_CONTROL_FLUSH_TIMEOUT_MS 1000

/* Listens on socket_path (its directory must already be private). */
ChatdControlServer *chatd_control_server_new  (ChatdNode *node, const char *socket_path,
                                               GError **error);
/* Cancels calls in flight, flushes and closes every connection, stops listening. */
void                chatd_control_server_free (ChatdControlServer *server);
guint               chatd_control_server_n_clients (ChatdControlServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdControlServer, chatd_control_server_free)
