/* directory-private.h: the directory's state, shared by its source files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "directory.h"
#include "store/store.h"

struct _ChatdDirectory {
  char                 *state_dir;
  ChatdDirectoryConfig  config;
  ChatdRegistry        *registry;        /* borrowed */
  ChatdStore           *store;
  ChatdKey             *server_key;      /* NULL until the identity exists */
  GBytes               *server_public;
  ChatdSecret          *server_secret;
  GCancellable         *cancellable;     /* cancelled when the directory is freed */
};

/* server-identity.c: loads the identity if present; refuses a damaged one. */
gboolean chatd_directory_load_identity (ChatdDirectory *directory, GError **error);

/* The default suite from the registry, or an error naming it. */
const ChatdSuite *chatd_directory_default_suite (ChatdDirectory *directory, GError **error);
/* The suite of the user keys the server makes: [server] user-suite, or the default. */
const ChatdSuite *chatd_directory_user_suite (ChatdDirectory *directory, GError **error);

/* A user from a key made on the server: wraps it for the folded name. */
gboolean chatd_directory_user_from_key (const char *name, const ChatdKey *key,
                                        const guint8 *password, gsize password_len,
                                        const ChatdKdfParams *params, gint64 now,
                                        ChatdDirectoryUser **ret_user, GError **error);
