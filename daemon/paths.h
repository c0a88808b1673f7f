/* paths.h: where a node keeps its state and its control socket, shared by
 * chatd and chatctl. */
#pragma once
#include <gio/gio.h>

/* $XDG_STATE_HOME/chatd/NODE (~/.local/state when unset) */
char    *chatd_default_state_dir     (const char *node);
/* $XDG_RUNTIME_DIR/chatd, or /tmp/chatd-UID when unset */
char    *chatd_default_socket_dir    (void);
/* chatd_default_socket_dir()/NODE.sock */
char    *chatd_default_socket_path   (const char *node);
/* Creates DIR (and missing parents) with mode 0700 if needed.  An existing
 * DIR must be ours and not writable by group or others; its mode is left
 * as it is. */
gboolean chatd_ensure_private_dir    (const char *dir, GError **error);
/* TRUE if something accepts connections on the Unix socket at PATH. */
gboolean chatd_unix_socket_answers   (const char *path);
/* Checks that we can create files in DIR. */
gboolean chatd_check_dir_writable    (const char *dir, GError **error);
