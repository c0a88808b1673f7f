/* service-directory.h: the server role's directory, offered to command
 * plugins as a service table:
 *
 *   const ChatdDirectoryService *directory = host->get_service (host, CHATD_SERVICE_DIRECTORY);
 *
 * (NULL on a node that is not a server).  Every entry runs on the main loop;
 * the slow ones (key generation, Argon2id) are async: they call back from
 * the main loop, and their _finish takes the GAsyncResult given there.
 * Results are owned (not floating) GVariants in the control socket's shapes:
 * a{sv} or aa{sv}, fingerprints as text ("3f2a 9b1c ..."), times as
 * ISO 8601 text (UTC).  Errors are CHATD_ERROR (INVALID_ARGUMENT for a bad
 * name, EXISTS, NOT_FOUND, REFUSED, NOT_SUPPORTED).
 *
 * The table only grows at its end; check size before using a later entry.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/chatd-plugin.h>

G_BEGIN_DECLS

#define CHATD_SERVICE_DIRECTORY "directory"

typedef struct {
  gsize size;   /* sizeof (ChatdDirectoryService) in the daemon */

  /* Creates the server identity if absent and the demo users Alice, Bob,
   * Charlie and Eve (passwords equal to their names); existing users are
   * kept unless force, which replaces those four (never the server key).
   * Result a{sv}: server-key ("created"/"kept"), server-fingerprint,
   * created, kept, replaced (as: user names). */
  void      (*seed)        (const ChatdHost *host, gboolean force,
                            GAsyncReadyCallback callback, gpointer user_data);
  GVariant *(*seed_finish) (const ChatdHost *host, GAsyncResult *result, GError **error);

  /* A one-time enrolment token for a new user.  Result a{sv}: name, token,
   * expires. */
  GVariant *(*add_enrolment) (const ChatdHost *host, const char *name, GError **error);

  /* A new user whose keys the server makes, wrapped with password (bytes,
   * copied at once).  Result a{sv}: name, suite, fingerprint, created. */
  void      (*add_user_with_password)        (const ChatdHost *host, const char *name,
                                              const guint8 *password, gsize password_len,
                                              GAsyncReadyCallback callback, gpointer user_data);
  GVariant *(*add_user_with_password_finish) (const ChatdHost *host, GAsyncResult *result,
                                              GError **error);

  /* Deletes a user or a pending enrolment.  Result a{sv}: name. */
  GVariant *(*delete_user) (const ChatdHost *host, const char *name, GError **error);

  /* aa{sv}, sorted by name: registered users (name, suite, fingerprint,
   * created, status "registered"), then pending enrolments (name, suite "",
   * fingerprint "", created, expires, status "pending"). */
  GVariant *(*list_users) (const ChatdHost *host, GError **error);

  /* a{sv}: state-dir, server-fingerprint ("" before the first seed),
   * users, pending (x), kdf-memory-kib, kdf-passes (x). */
  GVariant *(*describe) (const ChatdHost *host, GError **error);
} ChatdDirectoryService;

G_END_DECLS
