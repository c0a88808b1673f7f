/* store.c: a node's SQLite database. */
#define G_LOG_DOMAIN "chatd-store"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <chatd/chatd-plugin.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

struct _ChatdStore {
  sqlite3    *db;
  char       *path;
  GHashTable *statements;   /* sql (static string) -> sqlite3_stmt* */
  guint       schema_version;
  gboolean    lazy;         /* synchronous = NORMAL for a lazy transaction */
};

static gint
error_code_for (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      return CHATD_ERROR_FAILED;
    case SQLITE_CONSTRAINT:
      return CHATD_ERROR_EXISTS;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return CHATD_ERROR_REFUSED;
    default:
      return CHATD_ERROR_FAILED;
    }
}

gboolean
chatd_store_fail (ChatdStore *store, const char *what, GError **error)
{
  int rc = sqlite3_extended_errcode (store->db);
  const char *hint = "";
  switch (rc & 0xff)
    {
    case SQLITE_FULL: hint = " (the disk is full)"; break;
    case SQLITE_READONLY: hint = " (the state directory or database is read-only)"; break;
    case SQLITE_NOTADB: hint = " (the file is not a chatd database)"; break;
    case SQLITE_CORRUPT: hint = " (the database is damaged)"; break;
    default: break;
    }
  g_set_error (error, CHATD_ERROR, error_code_for (rc), "%s: %s: %s%s",
               store->path, what, sqlite3_errmsg (store->db), hint);
  return FALSE;
}

static gboolean
create_private_file (const char *path, GError **error)
{
  int fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED, "cannot create %s: %s",
                   path, g_strerror (saved));
      return FALSE;
    }
  struct stat st;
  if (fstat (fd, &st) == 0 && st.st_uid == getuid () && (st.st_mode & 0077) != 0)
    (void) fchmod (fd, 0600);
  close (fd);
  return TRUE;
}

gboolean
chatd_store_exec (ChatdStore *store, const char *sql, GError **error)
{
  if (sqlite3_exec (store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return chatd_store_fail (store, "statement failed", error);
  return TRUE;
}

static gboolean
read_user_version (ChatdStore *store, guint *ret_version, GError **error)
{
  sqlite3_stmt *stmt = NULL;
  if (sqlite3_prepare_v2 (store->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK ||
      sqlite3_step (stmt) != SQLITE_ROW)
    {
      sqlite3_finalize (stmt);
      return chatd_store_fail (store, "cannot read the schema version", error);
    }
  *ret_version = (guint) sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return TRUE;
}

static gboolean
migrate (ChatdStore *store, const ChatdStoreMigration *migrations, guint n, GError **error)
{
  guint version = 0;
  if (!read_user_version (store, &version, error))
    return FALSE;
  if (version > n)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "%s has schema version %u, newer than this chatd knows (%u): "
                   "refusing to touch it", store->path, version, n);
      return FALSE;
    }
  for (; version < n; version++)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %u", version + 1);
      if (!chatd_store_begin (store, error))
        return FALSE;
      if (!chatd_store_exec (store, migrations[version].sql, error) ||
          !chatd_store_exec (store, set_version, error) ||
          !chatd_store_commit (store, error))
        {
          chatd_store_rollback (store);
          g_prefix_error (error, "schema migration to version %u: ", version + 1);
          return FALSE;
        }
      g_debug ("%s: schema now at version %u", store->path, version + 1);
    }
  store->schema_version = version;
  return TRUE;
}

static void
finalize_statement (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

ChatdStore *
chatd_store_open (const char *path, const ChatdStoreMigration *migrations, guint n_migrations,
                  GError **error)
{
  return chatd_store_open_with (path, migrations, n_migrations, CHATD_STORE_NONE, error);
}

/* SQLite counts every allocation under a global mutex unless told not to,
 * before its first use in the process (later, the call fails harmlessly);
 * chatd never asks for those figures */
static void
configure_sqlite_once (void)
{
  static gsize configured = 0;
  if (g_once_init_enter (&configured))
    {
      sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
      g_once_init_leave (&configured, 1);
    }
}

ChatdStore *
chatd_store_open_with (const char *path, const ChatdStoreMigration *migrations, guint n_migrations,
                       ChatdStoreFlags flags, GError **error)
{
  if (!create_private_file (path, error))
    return NULL;
  configure_sqlite_once ();
  g_autoptr(ChatdStore) store = g_new0 (ChatdStore, 1);
  store->path = g_strdup (path);
  store->statements = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, finalize_statement);
  int rc = sqlite3_open_v2 (path, &store->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      if (store->db == NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED, "%s: %s", path, sqlite3_errstr (rc));
          return NULL;
        }
      chatd_store_fail (store, "cannot open", error);
      return NULL;
    }
  sqlite3_busy_timeout (store->db, BUSY_TIMEOUT_MS);
  sqlite3_extended_result_codes (store->db, 1);
  /* Exclusive locking is set before the first access in WAL mode, so that
   * the WAL index lives in this process's memory (no -shm file, no lock
   * calls per transaction).  SQLite documents WAL with exclusive locking as
   * crash-safe like the shared mode; only other processes are kept out. */
  if ((flags & CHATD_STORE_EXCLUSIVE) && !chatd_store_exec (store, "PRAGMA locking_mode = EXCLUSIVE", error))
    return NULL;
  /* WAL: a commit is durable against a crash of the process (kill -9) once
   * sqlite3_step returns; synchronous=NORMAL may lose the last commits only
   * on power loss, FULL not even then.  We choose FULL for acknowledged data. */
  if (!chatd_store_exec (store, "PRAGMA journal_mode = WAL", error) ||
      !chatd_store_exec (store, "PRAGMA synchronous = FULL", error) ||
      !chatd_store_exec (store, "PRAGMA foreign_keys = ON", error) ||
      !chatd_store_exec (store, "PRAGMA secure_delete = ON", error) ||
      !migrate (store, migrations, n_migrations, error))
    return NULL;
  return g_steal_pointer (&store);
}

void
chatd_store_close (ChatdStore *store)
{
  if (store == NULL)
    return;
  g_clear_pointer (&store->statements, g_hash_table_unref);
  if (store->db != NULL)
    sqlite3_close_v2 (store->db);
  g_free (store->path);
  g_free (store);
}

sqlite3_stmt *
chatd_store_prepare (ChatdStore *store, const char *sql, GError **error)
{
  sqlite3_stmt *stmt = g_hash_table_lookup (store->statements, sql);
  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      return stmt;
    }
  if (sqlite3_prepare_v3 (store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      chatd_store_fail (store, "cannot prepare a statement", error);
      return NULL;
    }
  g_hash_table_insert (store->statements, (gpointer) sql, stmt);
  return stmt;
}

gboolean
chatd_store_step_done (ChatdStore *store, sqlite3_stmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt);
  gboolean ok = rc == SQLITE_DONE || chatd_store_fail (store, "write failed", error);
  sqlite3_reset (stmt);
  return ok;
}

/* steps one of the store's own kept statements (BEGIN, COMMIT, PRAGMA) */
static gboolean
run_kept (ChatdStore *store, const char *sql, const char *what, GError **error)
{
  sqlite3_stmt *stmt = chatd_store_prepare (store, sql, error);
  if (stmt == NULL)
    return FALSE;
  int rc = sqlite3_step (stmt);
  gboolean ok = rc == SQLITE_DONE || rc == SQLITE_ROW || chatd_store_fail (store, what, error);
  sqlite3_reset (stmt);
  return ok;
}

/* SQLite refuses to change synchronous inside a transaction: a lazy
 * transaction sets NORMAL before its BEGIN and FULL again after its end */
static gboolean
restore_full_sync (ChatdStore *store, GError **error)
{
  if (!store->lazy || !sqlite3_get_autocommit (store->db))
    return TRUE;
  if (!run_kept (store, "PRAGMA synchronous = FULL", "cannot set synchronous", error))
    return FALSE;
  store->lazy = FALSE;
  return TRUE;
}

gboolean
chatd_store_begin (ChatdStore *store, GError **error)
{
  /* never a durable transaction with the lazy setting left over */
  return restore_full_sync (store, error) &&
         run_kept (store, "BEGIN IMMEDIATE", "cannot begin a transaction", error);
}

gboolean
chatd_store_begin_lazy (ChatdStore *store, GError **error)
{
  if (!store->lazy)
    {
      if (!run_kept (store, "PRAGMA synchronous = NORMAL", "cannot set synchronous", error))
        return FALSE;
      store->lazy = TRUE;
    }
  if (!run_kept (store, "BEGIN IMMEDIATE", "cannot begin a transaction", error))
    {
      restore_full_sync (store, NULL);
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_store_commit (ChatdStore *store, GError **error)
{
  if (!run_kept (store, "COMMIT", "commit failed", error))
    return FALSE;
  return restore_full_sync (store, error);
}

void
chatd_store_rollback (ChatdStore *store)
{
  if (!sqlite3_get_autocommit (store->db))
    run_kept (store, "ROLLBACK", "rollback failed", NULL);
  restore_full_sync (store, NULL);
}

gboolean
chatd_store_in_lazy_transaction (ChatdStore *store)
{
  return store->lazy && !sqlite3_get_autocommit (store->db);
}

guint
chatd_store_schema_version (ChatdStore *store)
{
  return store->schema_version;
}

sqlite3 *
chatd_store_db (ChatdStore *store)
{
  return store->db;
}
