/* directory-seed.c: keys made on the server (the origin's seeding, and
 * useradd --password-stdin).  Key generation and Argon2id run in a GTask
 * thread; the results are stored from the main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "chatd-server"
#include "directory-private.h"
#include "node-options.h"

#include <string.h>

static const char *const demo_users[] = { "Alice", "Bob", "Charlie", "Eve" };

/* What the thread needs; it touches nothing else. */
typedef struct {
  const ChatdSuite *suite;
  ChatdKdfParams    params;
  gint64            now;
  GPtrArray        *names;       /* char*: the users to make */
  GPtrArray        *passwords;   /* ChatdSecret*: one per name */
  GPtrArray        *made;        /* ChatdDirectoryUser*: the result */
} MakeKeys;

static void
make_keys_free (MakeKeys *work)
{
  g_clear_pointer (&work->names, g_ptr_array_unref);
  g_clear_pointer (&work->passwords, g_ptr_array_unref);
  g_clear_pointer (&work->made, g_ptr_array_unref);
  g_free (work);
}

static MakeKeys *
make_keys_new (ChatdDirectory *directory, const ChatdSuite *suite)
{
  MakeKeys *work = g_new0 (MakeKeys, 1);
  work->suite = suite;
  work->params = directory->config.kdf;
  work->now = g_get_real_time () / G_USEC_PER_SEC;
  work->names = g_ptr_array_new_with_free_func (g_free);
  work->passwords = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_secret_free);
  work->made = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_directory_user_free);
  return work;
}

static void
make_keys_add (MakeKeys *work, const char *name, const guint8 *password, gsize password_len)
{
  g_ptr_array_add (work->names, g_strdup (name));
  g_ptr_array_add (work->passwords, chatd_secret_new_from (password, password_len));
}

/* In the thread. */
static void
make_keys_run (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  MakeKeys *work = task_data;
  for (guint i = 0; i < work->names->len; i++)
    {
      GError *error = NULL;
      const char *name = g_ptr_array_index (work->names, i);
      const ChatdSecret *password = g_ptr_array_index (work->passwords, i);
      g_autoptr(ChatdKey) key = work->suite->generate (work->suite, 0, &error);
      ChatdDirectoryUser *user = NULL;
      if (key == NULL ||
          !chatd_directory_user_from_key (name, key, password->data, password->len,
                                          &work->params, work->now, &user, &error))
        {
          g_prefix_error (&error, "making the keys of '%s': ", name);
          g_task_return_error (task, error);
          return;
        }
      g_ptr_array_add (work->made, user);
    }
  g_task_return_boolean (task, TRUE);
}

/* Runs the work in a thread, then done (on the main loop) with the outer task. */
static void
make_keys_start (MakeKeys *work, GTask *outer, GAsyncReadyCallback done)
{
  GTask *inner = g_task_new (NULL, g_task_get_cancellable (outer), done, outer);
  g_task_set_task_data (inner, work, (GDestroyNotify) make_keys_free);
  g_task_set_name (inner, "chatd-directory-make-keys");
  g_task_run_in_thread (inner, make_keys_run);
  g_object_unref (inner);
}

/* ---- seed ---- */

typedef struct {
  ChatdDirectory *directory;   /* valid while the task's cancellable is not cancelled */
  gboolean        force;
  gboolean        server_key_created;
  GPtrArray      *created, *kept, *replaced;
} Seed;

static void
seed_free (Seed *seed)
{
  g_ptr_array_unref (seed->created);
  g_ptr_array_unref (seed->kept);
  g_ptr_array_unref (seed->replaced);
  g_free (seed);
}

static GVariant *
strv_variant (GPtrArray *names)
{
  return g_variant_new_strv ((const char * const *) names->pdata, names->len);
}

static void
seed_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) outer = user_data;
  Seed *seed = g_task_get_task_data (outer);
  GTask *inner = G_TASK (result);
  MakeKeys *work = g_task_get_task_data (inner);
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (outer))
    return;
  if (!g_task_propagate_boolean (inner, &error))
    {
      g_task_return_error (outer, error);
      return;
    }
  ChatdDirectory *directory = seed->directory;
  for (guint i = 0; i < work->made->len; i++)
    {
      const ChatdDirectoryUser *user = g_ptr_array_index (work->made, i);
      g_autoptr(ChatdDirectoryUser) existing = NULL;
      g_autoptr(GError) lookup_error = NULL;
      gboolean exists = chatd_directory_get_user (directory, user->name, &existing, &lookup_error);
      if (!exists && !g_error_matches (lookup_error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND))
        {
          g_task_return_error (outer, g_steal_pointer (&lookup_error));
          return;
        }
      if (exists && !seed->force)
        {
          /* registered while the keys were being made: keep it */
          g_ptr_array_add (seed->kept, g_strdup (existing->name));
          continue;
        }
      if (!chatd_directory_store_user (directory, user, seed->force, &error))
        {
          g_prefix_error (&error, "storing '%s': ", user->name);
          g_task_return_error (outer, error);
          return;
        }
      g_ptr_array_add (exists ? seed->replaced : seed->created, g_strdup (user->name));
    }
  g_autofree char *fingerprint = chatd_directory_get_server_fingerprint (directory);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "server-key",
                         g_variant_new_string (seed->server_key_created ? "created" : "kept"));
  g_variant_builder_add (&b, "{sv}", "server-fingerprint", g_variant_new_string (fingerprint));
  g_variant_builder_add (&b, "{sv}", "created", strv_variant (seed->created));
  g_variant_builder_add (&b, "{sv}", "kept", strv_variant (seed->kept));
  g_variant_builder_add (&b, "{sv}", "replaced", strv_variant (seed->replaced));
  g_message ("seed: server key %s; users created %u, kept %u, replaced %u",
             seed->server_key_created ? "created" : "kept",
             seed->created->len, seed->kept->len, seed->replaced->len);
  g_task_return_pointer (outer, g_variant_ref_sink (g_variant_builder_end (&b)),
                         (GDestroyNotify) g_variant_unref);
}

void
chatd_directory_seed_async (ChatdDirectory *directory, gboolean force,
                            GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, directory->cancellable, callback, user_data);
  g_task_set_source_tag (task, chatd_directory_seed_async);
  Seed *seed = g_new0 (Seed, 1);
  seed->directory = directory;
  seed->force = force;
  seed->created = g_ptr_array_new_with_free_func (g_free);
  seed->kept = g_ptr_array_new_with_free_func (g_free);
  seed->replaced = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, seed, (GDestroyNotify) seed_free);

  GError *error = NULL;
  const ChatdSuite *suite = chatd_directory_user_suite (directory, &error);
  if (suite == NULL ||
      !chatd_directory_ensure_identity (directory, &seed->server_key_created, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  MakeKeys *work = make_keys_new (directory, suite);
  for (guint i = 0; i < G_N_ELEMENTS (demo_users); i++)
    {
      const char *name = demo_users[i];
      g_autoptr(ChatdDirectoryUser) existing = NULL;
      g_autoptr(GError) lookup_error = NULL;
      if (chatd_directory_get_user (directory, name, &existing, &lookup_error) && !force)
        {
          g_ptr_array_add (seed->kept, g_strdup (existing->name));
          continue;
        }
      if (lookup_error != NULL && !g_error_matches (lookup_error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND))
        {
          make_keys_free (work);
          g_task_return_error (task, g_steal_pointer (&lookup_error));
          g_object_unref (task);
          return;
        }
      /* the origin's demo users: the password is the name */
      make_keys_add (work, name, (const guint8 *) name, strlen (name));
    }
  make_keys_start (work, task, seed_done);
}

GVariant *
chatd_directory_seed_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- useradd --password-stdin ---- */

static void
add_user_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) outer = user_data;
  ChatdDirectory *directory = g_task_get_task_data (outer);
  GTask *inner = G_TASK (result);
  MakeKeys *work = g_task_get_task_data (inner);
  GError *error = NULL;

  if (g_task_return_error_if_cancelled (outer))
    return;
  if (!g_task_propagate_boolean (inner, &error))
    {
      g_task_return_error (outer, error);
      return;
    }
  ChatdDirectoryUser *user = g_ptr_array_steal_index (work->made, 0);
  if (!chatd_directory_store_user (directory, user, FALSE, &error))
    {
      chatd_directory_user_free (user);
      g_task_return_error (outer, error);
      return;
    }
  g_message ("user '%s' added with keys made on the server", user->name);
  g_task_return_pointer (outer, user, (GDestroyNotify) chatd_directory_user_free);
}

void
chatd_directory_add_user_with_password_async (ChatdDirectory *directory, const char *name,
                                              const guint8 *password, gsize password_len,
                                              GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, directory->cancellable, callback, user_data);
  g_task_set_source_tag (task, chatd_directory_add_user_with_password_async);
  g_task_set_task_data (task, directory, NULL);

  GError *error = NULL;
  g_autoptr(ChatdDirectoryUser) existing = NULL;
  const ChatdSuite *suite = NULL;
  if (!chatd_user_name_is_valid (name, &error))
    goto fail;
  if (password_len == 0 || password_len > CHATD_DIRECTORY_PASSWORD_MAX)
    {
      g_set_error (&error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "the password must have 1 to %d bytes", CHATD_DIRECTORY_PASSWORD_MAX);
      goto fail;
    }
  if (chatd_directory_get_user (directory, name, &existing, &error))
    {
      g_set_error (&error, CHATD_ERROR, CHATD_ERROR_EXISTS, "user '%s' already exists",
                   existing->name);
      goto fail;
    }
  if (!g_error_matches (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND))
    goto fail;
  g_clear_error (&error);
  suite = chatd_directory_user_suite (directory, &error);
  if (suite == NULL)
    goto fail;

  MakeKeys *work = make_keys_new (directory, suite);
  make_keys_add (work, name, password, password_len);
  make_keys_start (work, task, add_user_done);
  return;

fail:
  g_task_return_error (task, error);
  g_object_unref (task);
}

ChatdDirectoryUser *
chatd_directory_add_user_with_password_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
