/* test-server-util.h: a directory in a temporary state dir, with the 25519
 * suite registered and cheap KDF parameters. */
#pragma once

#include "directory.h"
#include "suite-check.h"
#include "suite-25519.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

/* cheap: Argon2id's minimum memory for one lane is 8 KiB */
static const ChatdKdfParams test_kdf = { 1, 64, 1 };

typedef struct {
  char           *state_dir;
  ChatdRegistry  *registry;
  ChatdDirectory *directory;
} TestDirectory;

static inline ChatdDirectoryConfig
test_config (void)
{
  ChatdDirectoryConfig config;
  chatd_directory_config_init (&config);
  config.kdf = test_kdf;
  return config;
}

static inline ChatdRegistry *
test_registry (void)
{
  g_autoptr(GError) error = NULL;
  ChatdRegistry *registry = chatd_registry_new (chatd_suite_check);
  g_assert_true (chatd_registry_add_suite (registry, &chatd_suite_25519, "suite-25519", &error));
  g_assert_no_error (error);
  return registry;
}

static inline TestDirectory *
test_directory_new (void)
{
  g_autoptr(GError) error = NULL;
  TestDirectory *t = g_new0 (TestDirectory, 1);
  t->state_dir = g_dir_make_tmp ("chatd-server-XXXXXX", &error);
  g_assert_no_error (error);
  t->registry = test_registry ();
  ChatdDirectoryConfig config = test_config ();
  t->directory = chatd_directory_open (t->state_dir, &config, t->registry, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t->directory);
  return t;
}

/* Reopens the directory (as a restart of the server would). */
static inline gboolean
test_directory_reopen (TestDirectory *t, GError **error)
{
  g_clear_pointer (&t->directory, chatd_directory_free);
  ChatdDirectoryConfig config = test_config ();
  t->directory = chatd_directory_open (t->state_dir, &config, t->registry, error);
  return t->directory != NULL;
}

static inline char *
test_path (TestDirectory *t, const char *file)
{
  return g_build_filename (t->state_dir, file, NULL);
}

static inline void
test_directory_free (TestDirectory *t)
{
  g_clear_pointer (&t->directory, chatd_directory_free);
  g_clear_pointer (&t->registry, chatd_registry_free);
  const char *files[] = { CHATD_DIRECTORY_KEY_FILE, CHATD_DIRECTORY_PUB_FILE,
                          CHATD_DIRECTORY_SECRET_FILE, CHATD_DIRECTORY_DB_FILE,
                          CHATD_DIRECTORY_DB_FILE "-wal", CHATD_DIRECTORY_DB_FILE "-shm" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = test_path (t, files[i]);
      g_unlink (path);
    }
  g_rmdir (t->state_dir);
  g_free (t->state_dir);
  g_free (t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestDirectory, test_directory_free)

static inline void
on_async_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Runs the seed to its end on the default main context. */
static inline GVariant *
test_seed (TestDirectory *t, gboolean force, GError **error)
{
  GAsyncResult *result = NULL;
  chatd_directory_seed_async (t->directory, force, on_async_done, &result);
  for (guint i = 0; result == NULL && i < 100000; i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (result);
  GVariant *report = chatd_directory_seed_finish (result, error);
  g_object_unref (result);
  return report;
}

/* The same, asserting success, when the report does not matter. */
static inline void
test_seed_ok (TestDirectory *t, gboolean force)
{
  GError *error = NULL;
  GVariant *report = test_seed (t, force, &error);
  g_assert_no_error (error);
  g_variant_unref (report);
}

static inline GBytes *
test_read_file (TestDirectory *t, const char *file)
{
  g_autofree char *path = test_path (t, file);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_bytes_new (contents, len);
}

static inline guint
test_mode (TestDirectory *t, const char *file)
{
  g_autofree char *path = test_path (t, file);
  struct stat st;
  g_assert_no_errno (stat (path, &st));
  return st.st_mode & 0777;
}
