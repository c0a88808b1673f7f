/* node-lock.h: one live node per control socket (a flock'd lock file next to
 * the socket plus a connect probe); a stale socket is removed. */
#pragma once
#include <gio/gio.h>

typedef struct _ChatdNodeLock ChatdNodeLock;

/* Takes PATH.lock and makes sure nothing answers on PATH; removes a stale
 * socket file.  Fails with G_IO_ERROR_EXISTS naming the running node. */
ChatdNodeLock *chatd_node_lock_acquire (const char *socket_path, GError **error);
/* Removes the socket file and releases the lock (the lock file stays). */
void           chatd_node_lock_release (ChatdNodeLock *lock);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdNodeLock, chatd_node_lock_release)
