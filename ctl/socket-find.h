/* socket-find.h: which node chatctl talks to. */
#pragma once
#include <gio/gio.h>

typedef enum {
  CHATCTL_FIND_NONE,        /* no node is running: exit 2 */
  CHATCTL_FIND_AMBIGUOUS,   /* several are: exit 1, name them */
} ChatctlFindError;

#define CHATCTL_FIND_ERROR (chatctl_find_error_quark ())
GQuark chatctl_find_error_quark (void);

/* --socket, else --node, else $CHATD_SOCKET, else $CHATD_NODE, else the one
 * node of this user that answers in the default socket directory. */
char *chatctl_find_socket (const char *socket_option, const char *node_option, GError **error);
