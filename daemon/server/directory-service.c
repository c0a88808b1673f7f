/* directory-service.c: the "directory" service table of the server role:
 * thin adapters from the plugin-facing entries (a host, GVariant results)
 * to the directory.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "chatd-server"
#include "directory-service.h"
#include "host.h"
#include "node.h"
#include "server-role.h"

static ChatdDirectory *
directory_of (const ChatdHost *host, GError **error)
{
  ChatdNode *node = chatd_host_get_node (host);
  if (node == NULL || node->directory == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "this node has no user directory (only a server node has one)");
      return NULL;
    }
  return node->directory;
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

char *
chatd_directory_format_time (gint64 unix_seconds)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_seconds);
  return time != NULL ? g_date_time_format_iso8601 (time) : g_strdup ("");
}

GVariant *
chatd_directory_user_to_variant (const ChatdDirectoryUser *user)
{
  g_autofree char *fingerprint = chatd_fingerprint_to_string (user->fingerprint);
  g_autofree char *created = chatd_directory_format_time (user->created);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (user->name));
  g_variant_builder_add (&b, "{sv}", "suite", g_variant_new_string (user->suite));
  g_variant_builder_add (&b, "{sv}", "fingerprint", g_variant_new_string (fingerprint));
  g_variant_builder_add (&b, "{sv}", "created", g_variant_new_string (created));
  g_variant_builder_add (&b, "{sv}", "status", g_variant_new_string ("registered"));
  return g_variant_builder_end (&b);
}

GVariant *
chatd_directory_users_to_variant (ChatdDirectory *directory, gint64 now, GError **error)
{
  g_autoptr(GPtrArray) users = chatd_directory_list_users (directory, error);
  if (users == NULL)
    return NULL;
  g_autoptr(GPtrArray) pending = chatd_directory_list_pending (directory, now, error);
  if (pending == NULL)
    return NULL;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < users->len; i++)
    g_variant_builder_add_value (&b, chatd_directory_user_to_variant (g_ptr_array_index (users, i)));
  for (guint i = 0; i < pending->len; i++)
    {
      const ChatdDirectoryPending *p = g_ptr_array_index (pending, i);
      g_autofree char *created = chatd_directory_format_time (p->created);
      g_autofree char *expires = chatd_directory_format_time (p->expires);
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (p->name));
      g_variant_builder_add (&b, "{sv}", "suite", g_variant_new_string (""));
      g_variant_builder_add (&b, "{sv}", "fingerprint", g_variant_new_string (""));
      g_variant_builder_add (&b, "{sv}", "created", g_variant_new_string (created));
      g_variant_builder_add (&b, "{sv}", "expires", g_variant_new_string (expires));
      g_variant_builder_add (&b, "{sv}", "status", g_variant_new_string ("pending"));
      g_variant_builder_close (&b);
    }
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

/* ---- the entries ---- */

static void
service_seed (const ChatdHost *host, gboolean force, GAsyncReadyCallback callback,
              gpointer user_data)
{
  GError *error = NULL;
  ChatdDirectory *directory = directory_of (host, &error);
  if (directory == NULL)
    {
      g_task_report_error (NULL, callback, user_data, service_seed, error);
      return;
    }
  chatd_directory_seed_async (directory, force, callback, user_data);
}

static GVariant *
service_seed_finish (const ChatdHost *host, GAsyncResult *result, GError **error)
{
  return chatd_directory_seed_finish (result, error);
}

static GVariant *
service_add_enrolment (const ChatdHost *host, const char *name, GError **error)
{
  ChatdDirectory *directory = directory_of (host, error);
  g_autofree char *token = NULL;
  gint64 expires = 0;
  if (directory == NULL ||
      !chatd_directory_add_enrolment (directory, name, now_seconds (), &token, &expires, error))
    return NULL;
  g_autofree char *expires_text = chatd_directory_format_time (expires);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (name));
  g_variant_builder_add (&b, "{sv}", "token", g_variant_new_string (token));
  g_variant_builder_add (&b, "{sv}", "expires", g_variant_new_string (expires_text));
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static void
service_add_user_with_password (const ChatdHost *host, const char *name,
                                const guint8 *password, gsize password_len,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  GError *error = NULL;
  ChatdDirectory *directory = directory_of (host, &error);
  if (directory == NULL)
    {
      g_task_report_error (NULL, callback, user_data, service_add_user_with_password, error);
      return;
    }
  chatd_directory_add_user_with_password_async (directory, name, password, password_len,
                                                callback, user_data);
}

static GVariant *
service_add_user_with_password_finish (const ChatdHost *host, GAsyncResult *result,
                                       GError **error)
{
  g_autoptr(ChatdDirectoryUser) user = NULL;
  if (g_async_result_is_tagged (result, service_add_user_with_password))
    return g_task_propagate_pointer (G_TASK (result), error);
  user = chatd_directory_add_user_with_password_finish (result, error);
  if (user == NULL)
    return NULL;
  return g_variant_ref_sink (chatd_directory_user_to_variant (user));
}

static GVariant *
service_delete_user (const ChatdHost *host, const char *name, GError **error)
{
  ChatdDirectory *directory = directory_of (host, error);
  if (directory == NULL || !chatd_directory_delete_user (directory, name, error))
    return NULL;
  g_message ("user '%s' deleted", name);
  ChatdNode *node = chatd_host_get_node (host);
  if (node->server_role != NULL &&
      chatd_server_role_end_session (node->server_role, name, "the user was deleted from the directory"))
    g_message ("the session of '%s' was ended (deleted)", name);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (name));
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static GVariant *
service_list_users (const ChatdHost *host, GError **error)
{
  ChatdDirectory *directory = directory_of (host, error);
  if (directory == NULL)
    return NULL;
  return chatd_directory_users_to_variant (directory, now_seconds (), error);
}

static GVariant *
service_describe (const ChatdHost *host, GError **error)
{
  ChatdDirectory *directory = directory_of (host, error);
  if (directory == NULL)
    return NULL;
  g_autoptr(GPtrArray) users = chatd_directory_list_users (directory, error);
  if (users == NULL)
    return NULL;
  g_autoptr(GPtrArray) pending = chatd_directory_list_pending (directory, now_seconds (), error);
  if (pending == NULL)
    return NULL;
  g_autofree char *fingerprint = chatd_directory_get_server_fingerprint (directory);
  const ChatdDirectoryConfig *config = chatd_directory_get_config (directory);
  ChatdNode *node = chatd_host_get_node (host);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "state-dir", g_variant_new_string (node->state_dir));
  g_variant_builder_add (&b, "{sv}", "server-fingerprint",
                         g_variant_new_string (fingerprint ? fingerprint : ""));
  g_variant_builder_add (&b, "{sv}", "users", g_variant_new_int64 (users->len));
  g_variant_builder_add (&b, "{sv}", "pending", g_variant_new_int64 (pending->len));
  g_variant_builder_add (&b, "{sv}", "kdf-memory-kib", g_variant_new_int64 (config->kdf.memory_kib));
  g_variant_builder_add (&b, "{sv}", "kdf-passes", g_variant_new_int64 (config->kdf.time_cost));
  return g_variant_ref_sink (g_variant_builder_end (&b));
}

static const ChatdDirectoryService directory_service = {
  .size = sizeof (ChatdDirectoryService),
  .seed = service_seed,
  .seed_finish = service_seed_finish,
  .add_enrolment = service_add_enrolment,
  .add_user_with_password = service_add_user_with_password,
  .add_user_with_password_finish = service_add_user_with_password_finish,
  .delete_user = service_delete_user,
  .list_users = service_list_users,
  .describe = service_describe,
};

const ChatdDirectoryService *
chatd_directory_service (void)
{
  return &directory_service;
}
