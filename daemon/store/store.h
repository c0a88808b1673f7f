/* store.h: a node's SQLite database: private file, WAL, schema migrations by
 * PRAGMA user_version, cached statements, transactions, clear errors. */
#pragma once
#include <gio/gio.h>
#include <sqlite3.h>

typedef struct _ChatdStore ChatdStore;

/* The SQL that takes the schema from version (index) to (index + 1). */
typedef struct {
  const char *sql;
} ChatdStoreMigration;

typedef enum {
  CHATD_STORE_NONE      = 0,
  /* PRAGMA locking_mode = EXCLUSIVE: the file locks are taken at the first
   * write and held until the store is closed, instead of being taken and
   * released at every transaction.  Only for a database that no other
   * process opens while this one has it open (a user node's mailbox, under
   * the node lock); WAL and crash safety are unchanged. */
  CHATD_STORE_EXCLUSIVE = 1 << 0,
} ChatdStoreFlags;

/* Opens (creating, mode 0600) the database at path and migrates it to
 * n_migrations.  A database with a newer schema than this chatd knows is
 * refused, as is one that is not a database. */
ChatdStore   *chatd_store_open     (const char *path, const ChatdStoreMigration *migrations,
                                    guint n_migrations, GError **error);
ChatdStore   *chatd_store_open_with (const char *path, const ChatdStoreMigration *migrations,
                                     guint n_migrations, ChatdStoreFlags flags, GError **error);
void          chatd_store_close    (ChatdStore *store);
/* A cached prepared statement, reset and with its bindings cleared. */
sqlite3_stmt *chatd_store_prepare  (ChatdStore *store, const char *sql, GError **error);
gboolean      chatd_store_exec     (ChatdStore *store, const char *sql, GError **error);
/* Steps a statement to completion (no rows expected). */
gboolean      chatd_store_step_done (ChatdStore *store, sqlite3_stmt *stmt, GError **error);
/* BEGIN IMMEDIATE and COMMIT (prepared once, kept): a commit is durable
 * when it returns (synchronous=FULL: the WAL is synced). */
gboolean      chatd_store_begin    (ChatdStore *store, GError **error);
gboolean      chatd_store_commit   (ChatdStore *store, GError **error);
/* A transaction whose commit has no sync of its own (synchronous=NORMAL
 * from this BEGIN to its COMMIT or ROLLBACK, then FULL again): safe against
 * a crash of the process (the write is in the OS once the commit returns),
 * made durable against power loss by the next chatd_store_commit (its sync
 * covers the whole WAL).  Only for writes whose loss in a power cut is
 * harmless (doc/storage.md). */
gboolean      chatd_store_begin_lazy (ChatdStore *store, GError **error);
gboolean      chatd_store_in_lazy_transaction (ChatdStore *store);
void          chatd_store_rollback (ChatdStore *store);
guint         chatd_store_schema_version (ChatdStore *store);
sqlite3      *chatd_store_db       (ChatdStore *store);
/* Sets error from the database's last failure, e.g. "disk full". */
gboolean      chatd_store_fail     (ChatdStore *store, const char *what, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdStore, chatd_store_close)
