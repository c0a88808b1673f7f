/* test-store.c: the SQLite store: private file, migrations, refusing newer
 * schemas and files that are not databases, rollback. */
#include "store/store.h"

#include <string.h>

#include <chatd/chatd-plugin.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

static const ChatdStoreMigration v2[] = {
  { "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)" },
  { "ALTER TABLE notes ADD COLUMN created INTEGER NOT NULL DEFAULT 0" },
};

static char *
temp_path (const char *name)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-store-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

static void
test_create_and_migrate (void)
{
  g_autofree char *path = temp_path ("node.db");
  g_autoptr(GError) error = NULL;
  {
    g_autoptr(ChatdStore) store = chatd_store_open (path, v2, 1, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (chatd_store_schema_version (store), ==, 1);
    g_assert_true (chatd_store_exec (store, "INSERT INTO notes (text) VALUES ('a')", &error));
  }
  struct stat st;
  g_assert_no_errno (stat (path, &st));
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  {
    g_autoptr(ChatdStore) store = chatd_store_open (path, v2, 2, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (chatd_store_schema_version (store), ==, 2);
    sqlite3_stmt *stmt = chatd_store_prepare (store, "SELECT text, created FROM notes", &error);
    g_assert_nonnull (stmt);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
    g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "a");
    /* the cached statement comes back reset */
    stmt = chatd_store_prepare (store, "SELECT text, created FROM notes", &error);
    g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  }
  /* an older chatd must not touch a newer schema */
  g_autoptr(ChatdStore) old = chatd_store_open (path, v2, 1, &error);
  g_assert_null (old);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "newer"));
}

static void
test_not_a_database (void)
{
  g_autofree char *path = temp_path ("junk.db");
  g_assert_true (g_file_set_contents (path, "this is not an SQLite database, just some text that is long enough", -1, NULL));
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdStore) store = chatd_store_open (path, v2, 2, &error);
  g_assert_null (store);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  /* and it was left as it was */
  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_true (g_str_has_prefix (contents, "this is not"));
}

static void
test_rollback_and_constraint (void)
{
  g_autofree char *path = temp_path ("node.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdStore) store = chatd_store_open (path, v2, 2, &error);
  g_assert_true (chatd_store_begin (store, &error));
  g_assert_true (chatd_store_exec (store, "INSERT INTO notes (text) VALUES ('x')", &error));
  chatd_store_rollback (store);
  sqlite3_stmt *count = chatd_store_prepare (store, "SELECT count(*) FROM notes", &error);
  g_assert_cmpint (sqlite3_step (count), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (count, 0), ==, 0);
  sqlite3_reset (count);

  g_assert_true (chatd_store_exec (store, "INSERT INTO notes (text) VALUES ('y')", &error));
  g_assert_false (chatd_store_exec (store, "INSERT INTO notes (text) VALUES ('y')", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS);
}

static int
synchronous_level (ChatdStore *store)
{
  sqlite3_stmt *stmt = chatd_store_prepare (store, "PRAGMA synchronous", NULL);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  int level = sqlite3_column_int (stmt, 0);
  sqlite3_reset (stmt);
  return level;
}

static guint
statements_open (ChatdStore *store)
{
  guint n = 0;
  for (sqlite3_stmt *s = sqlite3_next_stmt (chatd_store_db (store), NULL); s != NULL;
       s = sqlite3_next_stmt (chatd_store_db (store), s))
    n++;
  return n;
}

/* BEGIN/COMMIT are prepared once and kept; a lazy transaction commits with
 * synchronous=NORMAL (1) and leaves FULL (2) behind, committed or not */
static void
test_kept_and_lazy_transactions (void)
{
  g_autofree char *path = temp_path ("node.db");
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdStore) store = chatd_store_open (path, v2, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (synchronous_level (store), ==, 2);
  guint kept = 0;
  for (guint i = 0; i < 20; i++)
    {
      gboolean lazy = i % 2 == 1;
      g_assert_true (lazy ? chatd_store_begin_lazy (store, &error) : chatd_store_begin (store, &error));
      g_assert_true (chatd_store_in_lazy_transaction (store) == lazy);
      g_assert_cmpint (synchronous_level (store), ==, lazy ? 1 : 2);
      sqlite3_stmt *insert = chatd_store_prepare (store, "INSERT INTO notes (text) VALUES (?)", &error);
      g_autofree char *text = g_strdup_printf ("note %u", i);
      sqlite3_bind_text (insert, 1, text, -1, SQLITE_TRANSIENT);
      g_assert_true (chatd_store_step_done (store, insert, &error));
      if (i % 4 == 3)
        chatd_store_rollback (store);
      else
        g_assert_true (chatd_store_commit (store, &error));
      g_assert_false (chatd_store_in_lazy_transaction (store));
      g_assert_cmpint (synchronous_level (store), ==, 2);
      if (i == 3)
        kept = statements_open (store);
      else if (i > 3)
        g_assert_cmpuint (statements_open (store), ==, kept);
    }
  g_assert_no_error (error);
  sqlite3_stmt *count = chatd_store_prepare (store, "SELECT count(*) FROM notes", &error);
  g_assert_cmpint (sqlite3_step (count), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (count, 0), ==, 15);
  sqlite3_reset (count);
  /* a failed step inside a lazy transaction, then a durable one */
  g_assert_true (chatd_store_begin_lazy (store, &error));
  g_assert_false (chatd_store_exec (store, "INSERT INTO notes (text) VALUES ('note 0')", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS);
  g_clear_error (&error);
  chatd_store_rollback (store);
  g_assert_true (chatd_store_begin (store, &error));
  g_assert_cmpint (synchronous_level (store), ==, 2);
  g_assert_true (chatd_store_commit (store, &error));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/store/create-and-migrate", test_create_and_migrate);
  g_test_add_func ("/core/store/not-a-database", test_not_a_database);
  g_test_add_func ("/core/store/rollback-and-constraint", test_rollback_and_constraint);
  g_test_add_func ("/core/store/kept-and-lazy-transactions", test_kept_and_lazy_transactions);
  return g_test_run ();
}
