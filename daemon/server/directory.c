/* directory.c: the server's database of users and enrolment tokens.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define G_LOG_DOMAIN "chatd-server"
#include "directory-private.h"
#include "key-record.h"
#include "node-options.h"
#include "offline-queue.h"

#include <gcrypt.h>
#include <string.h>

static const ChatdStoreMigration directory_migrations[] = {
  /* 1: users (name_key is the name folded to lower case) and enrolments */
  { "CREATE TABLE users ("
    "  name_key TEXT PRIMARY KEY NOT NULL,"
    "  name TEXT NOT NULL,"
    "  suite TEXT NOT NULL,"
    "  public_key BLOB NOT NULL,"
    "  fingerprint BLOB NOT NULL,"
    "  wrapped_key BLOB NOT NULL,"
    "  created INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE enrolments ("
    "  name_key TEXT PRIMARY KEY NOT NULL,"
    "  name TEXT NOT NULL,"
    "  token_hash BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  used INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;" },
  /* 2: the offline queue and the notices for senders (offline-queue.h) */
  { CHATD_OFFLINE_QUEUE_MIGRATION },
  /* 3: what each user's node declared it speaks (space-separated feature
   * names, e.g. "peer-session/1"), signed into its key records */
  { "ALTER TABLE users ADD COLUMN features TEXT NOT NULL DEFAULT '';" },
};

void
chatd_directory_config_init (ChatdDirectoryConfig *config)
{
  config->kdf = CHATD_KDF_DEFAULT_PARAMS;
  config->token_lifetime = CHATD_DIRECTORY_TOKEN_LIFETIME;
  config->key_record_lifetime = CHATD_DIRECTORY_KEY_RECORD_LIFETIME;
  config->user_suite = NULL;
}

void
chatd_directory_user_free (ChatdDirectoryUser *user)
{
  if (user == NULL)
    return;
  g_free (user->name);
  g_free (user->suite);
  g_clear_pointer (&user->public_key, g_bytes_unref);
  g_clear_pointer (&user->wrapped_key, g_bytes_unref);
  g_free (user);
}

void
chatd_directory_pending_free (ChatdDirectoryPending *pending)
{
  if (pending == NULL)
    return;
  g_free (pending->name);
  g_free (pending);
}

void
chatd_login_record_free (ChatdLoginRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->suite);
  g_clear_pointer (&record->public_key, g_bytes_unref);
  g_clear_pointer (&record->wrapped_key, g_bytes_unref);
  g_free (record);
}

char *
chatd_directory_fold_name (const char *name)
{
  return g_ascii_strdown (name, -1);
}

const ChatdSuite *
chatd_directory_default_suite (ChatdDirectory *directory, GError **error)
{
  const ChatdSuite *suite = chatd_registry_lookup_suite (directory->registry,
                                                         CHATD_DIRECTORY_DEFAULT_SUITE);
  if (suite == NULL)
    g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                 "the server needs the crypto suite '%s' (plugin suite-25519), which is not loaded",
                 CHATD_DIRECTORY_DEFAULT_SUITE);
  return suite;
}

const ChatdSuite *
chatd_directory_user_suite (ChatdDirectory *directory, GError **error)
{
  const char *name = directory->config.user_suite;
  if (name == NULL)
    return chatd_directory_default_suite (directory, error);
  const ChatdSuite *suite = chatd_registry_lookup_suite (directory->registry, name);
  if (suite == NULL || !chatd_suite_has (suite, CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "user-suite '%s': no loaded suite of that name signs and seals", name);
      return NULL;
    }
  return suite;
}

ChatdDirectory *
chatd_directory_open (const char *state_dir, const ChatdDirectoryConfig *config,
                      ChatdRegistry *registry, GError **error)
{
  if (!chatd_kdf_params_check (&config->kdf, error))
    {
      g_prefix_error (error, "server KDF parameters: ");
      return NULL;
    }
  if (config->token_lifetime <= 0 || config->key_record_lifetime <= 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "token and key record lifetimes must be positive");
      return NULL;
    }
  g_autoptr(ChatdDirectory) directory = g_new0 (ChatdDirectory, 1);
  directory->state_dir = g_strdup (state_dir);
  directory->config = *config;
  directory->registry = registry;
  directory->cancellable = g_cancellable_new ();
  if (!chatd_directory_load_identity (directory, error))
    return NULL;
  g_autofree char *db_path = g_build_filename (state_dir, CHATD_DIRECTORY_DB_FILE, NULL);
  directory->store = chatd_store_open (db_path, directory_migrations,
                                       G_N_ELEMENTS (directory_migrations), error);
  if (directory->store == NULL)
    {
      g_prefix_error (error, "server directory: ");
      return NULL;
    }
  return g_steal_pointer (&directory);
}

ChatdStore *
chatd_directory_get_store (ChatdDirectory *directory)
{
  return directory->store;
}

void
chatd_directory_free (ChatdDirectory *directory)
{
  if (directory == NULL)
    return;
  /* work still running in a thread finds this and stores nothing */
  g_cancellable_cancel (directory->cancellable);
  g_clear_object (&directory->cancellable);
  g_clear_pointer (&directory->store, chatd_store_close);
  g_clear_pointer (&directory->server_key, chatd_key_free);
  g_clear_pointer (&directory->server_public, g_bytes_unref);
  g_clear_pointer (&directory->server_secret, chatd_secret_free);
  g_free (directory->state_dir);
  g_free (directory);
}

const ChatdDirectoryConfig *
chatd_directory_get_config (ChatdDirectory *directory)
{
  return &directory->config;
}

/* ---- helpers ---- */

static GBytes *
column_bytes (sqlite3_stmt *stmt, int column)
{
  const void *data = sqlite3_column_blob (stmt, column);
  int len = sqlite3_column_bytes (stmt, column);
  return g_bytes_new (data, len);
}

static ChatdDirectoryUser *
user_from_row (sqlite3_stmt *stmt)
{
  ChatdDirectoryUser *user = g_new0 (ChatdDirectoryUser, 1);
  user->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  user->suite = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  user->public_key = column_bytes (stmt, 2);
  if (sqlite3_column_bytes (stmt, 3) == CHATD_FINGERPRINT_LEN)
    memcpy (user->fingerprint, sqlite3_column_blob (stmt, 3), CHATD_FINGERPRINT_LEN);
  user->wrapped_key = column_bytes (stmt, 4);
  user->created = sqlite3_column_int64 (stmt, 5);
  return user;
}

#define USER_COLUMNS "name, suite, public_key, fingerprint, wrapped_key, created"

static gboolean
count_rows (ChatdDirectory *directory, gint64 now, gint64 *ret_count, GError **error)
{
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
    "SELECT (SELECT count(*) FROM users) + "
    "(SELECT count(*) FROM enrolments WHERE used = 0 AND expires > ?1)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, now);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    return chatd_store_fail (directory->store, "cannot count users", error);
  *ret_count = sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return TRUE;
}

static gboolean
check_room (ChatdDirectory *directory, gint64 now, GError **error)
{
  gint64 count = 0;
  if (!count_rows (directory, now, &count, error))
    return FALSE;
  if (count >= CHATD_DIRECTORY_USERS_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "the directory is full (%d users and pending enrolments)",
                   CHATD_DIRECTORY_USERS_MAX);
      return FALSE;
    }
  return TRUE;
}

/* TRUE with *ret_exists set. */
static gboolean
user_exists (ChatdDirectory *directory, const char *name_key, gboolean *ret_exists, GError **error)
{
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
                                            "SELECT 1 FROM users WHERE name_key = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return chatd_store_fail (directory->store, "cannot look up a user", error);
  *ret_exists = rc == SQLITE_ROW;
  return TRUE;
}

static void
token_hash (const guint8 token[CHATD_ENROL_TOKEN_LEN], guint8 ret_hash[32])
{
  gcry_md_hash_buffer (GCRY_MD_SHA256, ret_hash, token, CHATD_ENROL_TOKEN_LEN);
}

/* ---- users ---- */

gboolean
chatd_directory_get_user (ChatdDirectory *directory, const char *name,
                          ChatdDirectoryUser **ret_user, GError **error)
{
  if (!chatd_user_name_is_valid (name, error))
    return FALSE;
  g_autofree char *name_key = chatd_directory_fold_name (name);
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
    "SELECT " USER_COLUMNS " FROM users WHERE name_key = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (stmt);
  if (rc == SQLITE_DONE)
    {
      sqlite3_reset (stmt);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND, "no user '%s'", name);
      return FALSE;
    }
  if (rc != SQLITE_ROW)
    {
      chatd_store_fail (directory->store, "cannot look up a user", error);
      sqlite3_reset (stmt);
      return FALSE;
    }
  *ret_user = user_from_row (stmt);
  sqlite3_reset (stmt);
  return TRUE;
}

GPtrArray *
chatd_directory_list_users (ChatdDirectory *directory, GError **error)
{
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
    "SELECT " USER_COLUMNS " FROM users ORDER BY name_key", error);
  if (stmt == NULL)
    return NULL;
  g_autoptr(GPtrArray) users = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_directory_user_free);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    g_ptr_array_add (users, user_from_row (stmt));
  if (rc != SQLITE_DONE)
    {
      chatd_store_fail (directory->store, "cannot list users", error);
      sqlite3_reset (stmt);
      return NULL;
    }
  sqlite3_reset (stmt);
  return g_steal_pointer (&users);
}

GPtrArray *
chatd_directory_list_pending (ChatdDirectory *directory, gint64 now, GError **error)
{
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
    "SELECT name, created, expires FROM enrolments WHERE used = 0 AND expires > ?1 "
    "ORDER BY name_key", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, now);
  g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_directory_pending_free);
  int rc;
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      ChatdDirectoryPending *p = g_new0 (ChatdDirectoryPending, 1);
      p->name = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      p->created = sqlite3_column_int64 (stmt, 1);
      p->expires = sqlite3_column_int64 (stmt, 2);
      g_ptr_array_add (pending, p);
    }
  if (rc != SQLITE_DONE)
    {
      chatd_store_fail (directory->store, "cannot list enrolments", error);
      sqlite3_reset (stmt);
      return NULL;
    }
  sqlite3_reset (stmt);
  return g_steal_pointer (&pending);
}

static gboolean
insert_user (ChatdDirectory *directory, const ChatdDirectoryUser *user, gboolean replace,
             GError **error)
{
  g_autofree char *name_key = chatd_directory_fold_name (user->name);
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store, replace
    ? "INSERT OR REPLACE INTO users (name_key, " USER_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    : "INSERT INTO users (name_key, " USER_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, user->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 3, user->suite, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 4, g_bytes_get_data (user->public_key, NULL),
                     g_bytes_get_size (user->public_key), SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 5, user->fingerprint, CHATD_FINGERPRINT_LEN, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 6, g_bytes_get_data (user->wrapped_key, NULL),
                     g_bytes_get_size (user->wrapped_key), SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 7, user->created);
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      gboolean exists = (sqlite3_errcode (chatd_store_db (directory->store)) == SQLITE_CONSTRAINT);
      if (exists)
        g_set_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS, "user '%s' already exists", user->name);
      else
        chatd_store_fail (directory->store, "cannot store a user", error);
      sqlite3_reset (stmt);
      return FALSE;
    }
  sqlite3_reset (stmt);
  return TRUE;
}

gboolean
chatd_directory_store_user (ChatdDirectory *directory, const ChatdDirectoryUser *user,
                            gboolean replace, GError **error)
{
  if (!chatd_user_name_is_valid (user->name, error))
    return FALSE;
  if (g_bytes_get_size (user->wrapped_key) != CHATD_WRAP_BLOB_LEN)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "a wrapped key must have %d bytes", CHATD_WRAP_BLOB_LEN);
      return FALSE;
    }
  g_autofree char *name_key = chatd_directory_fold_name (user->name);
  gboolean exists = FALSE;
  if (!user_exists (directory, name_key, &exists, error))
    return FALSE;
  if (exists && !replace)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS, "user '%s' already exists", user->name);
      return FALSE;
    }
  if (!exists && !check_room (directory, user->created, error))
    return FALSE;
  if (!chatd_store_begin (directory->store, error))
    return FALSE;
  /* a pending enrolment of this name is void once the name is taken */
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
                                            "DELETE FROM enrolments WHERE name_key = ?1", error);
  if (stmt == NULL)
    {
      chatd_store_rollback (directory->store);
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  if (!chatd_store_step_done (directory->store, stmt, error) ||
      !insert_user (directory, user, replace, error) ||
      !chatd_store_commit (directory->store, error))
    {
      chatd_store_rollback (directory->store);
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_directory_delete_user (ChatdDirectory *directory, const char *name, GError **error)
{
  if (!chatd_user_name_is_valid (name, error))
    return FALSE;
  g_autofree char *name_key = chatd_directory_fold_name (name);
  if (!chatd_store_begin (directory->store, error))
    return FALSE;
  int changes = 0;
  static const char *const deletes[] = {
    "DELETE FROM users WHERE name_key = ?1",
    "DELETE FROM enrolments WHERE name_key = ?1",
  };
  for (guint i = 0; i < G_N_ELEMENTS (deletes); i++)
    {
      sqlite3_stmt *stmt = chatd_store_prepare (directory->store, deletes[i], error);
      if (stmt == NULL)
        {
          chatd_store_rollback (directory->store);
          return FALSE;
        }
      sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
      if (!chatd_store_step_done (directory->store, stmt, error))
        {
          chatd_store_rollback (directory->store);
          return FALSE;
        }
      changes += sqlite3_changes (chatd_store_db (directory->store));
    }
  if (changes == 0)
    {
      chatd_store_rollback (directory->store);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND, "no user '%s'", name);
      return FALSE;
    }
  return chatd_store_commit (directory->store, error);
}

/* ---- enrolment ---- */

gboolean
chatd_directory_add_enrolment (ChatdDirectory *directory, const char *name, gint64 now,
                               char **ret_token, gint64 *ret_expires, GError **error)
{
  if (!chatd_user_name_is_valid (name, error))
    return FALSE;
  g_autofree char *name_key = chatd_directory_fold_name (name);
  gboolean exists = FALSE;
  if (!user_exists (directory, name_key, &exists, error))
    return FALSE;
  if (exists)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS, "user '%s' already exists", name);
      return FALSE;
    }
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
    "SELECT expires FROM enrolments WHERE name_key = ?1 AND used = 0 AND expires > ?2", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, now);
  int rc = sqlite3_step (stmt);
  sqlite3_reset (stmt);
  if (rc == SQLITE_ROW)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS,
                   "user '%s' already has an enrolment token that is not used yet "
                   "(userdel %s cancels it)", name, name);
      return FALSE;
    }
  if (rc != SQLITE_DONE)
    return chatd_store_fail (directory->store, "cannot look up an enrolment", error);
  if (!check_room (directory, now, error))
    return FALSE;

  guint8 token[CHATD_ENROL_TOKEN_LEN];
  guint8 hash[32];
  gcry_randomize (token, sizeof token, GCRY_STRONG_RANDOM);
  token_hash (token, hash);
  gint64 expires = now + directory->config.token_lifetime;
  stmt = chatd_store_prepare (directory->store,
    "INSERT OR REPLACE INTO enrolments (name_key, name, token_hash, created, expires, used) "
    "VALUES (?1, ?2, ?3, ?4, ?5, 0)", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 3, hash, sizeof hash, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 4, now);
  sqlite3_bind_int64 (stmt, 5, expires);
  if (!chatd_store_step_done (directory->store, stmt, error))
    return FALSE;
  GString *text = g_string_sized_new (CHATD_ENROL_TOKEN_TEXT_LEN);
  for (guint i = 0; i < sizeof token; i++)
    g_string_append_printf (text, "%02x", token[i]);
  chatd_wipe (token, sizeof token);
  *ret_token = g_string_free (text, FALSE);
  if (ret_expires != NULL)
    *ret_expires = expires;
  return TRUE;
}

static gboolean
parse_token (const char *text, guint8 ret_token[CHATD_ENROL_TOKEN_LEN])
{
  if (text == NULL || strlen (text) != CHATD_ENROL_TOKEN_TEXT_LEN)
    return FALSE;
  for (guint i = 0; i < CHATD_ENROL_TOKEN_LEN; i++)
    {
      int hi = g_ascii_xdigit_value (text[2 * i]);
      int lo = g_ascii_xdigit_value (text[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      ret_token[i] = (guint8) (hi << 4 | lo);
    }
  return TRUE;
}

/* A wrapped blob from a user's node: fixed length, header, KDF parameters
 * within the cap and at least the server's own. */
static gboolean
check_wrapped_key (ChatdDirectory *directory, GBytes *wrapped_key, GError **error)
{
  gsize wrapped_len = 0;
  const guint8 *wrapped = wrapped_key ? g_bytes_get_data (wrapped_key, &wrapped_len) : NULL;
  ChatdKdfParams params;
  if (!chatd_password_wrapped_params (wrapped, wrapped_len, &params, error) ||
      !chatd_kdf_params_check (&params, error))
    {
      g_prefix_error (error, "wrapped key: ");
      return FALSE;
    }
  if (params.memory_kib < directory->config.kdf.memory_kib ||
      params.time_cost < directory->config.kdf.time_cost)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "wrapped key: its Argon2id parameters (%u KiB, %u passes) are weaker than "
                   "this server requires (%u KiB, %u passes)", params.memory_kib, params.time_cost,
                   directory->config.kdf.memory_kib, directory->config.kdf.time_cost);
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_directory_set_wrapped_key (ChatdDirectory *directory, const char *name,
                                 GBytes *wrapped_key, GError **error)
{
  if (!chatd_user_name_is_valid (name, error) ||
      !check_wrapped_key (directory, wrapped_key, error))
    return FALSE;
  g_autofree char *name_key = chatd_directory_fold_name (name);
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
    "UPDATE users SET wrapped_key = ?2 WHERE name_key = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 2, g_bytes_get_data (wrapped_key, NULL),
                     g_bytes_get_size (wrapped_key), SQLITE_TRANSIENT);
  if (!chatd_store_step_done (directory->store, stmt, error))
    return FALSE;
  if (sqlite3_changes (chatd_store_db (directory->store)) == 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND, "no user '%s'", name);
      return FALSE;
    }
  return TRUE;
}

/* Everything that can be checked without the token. */
static gboolean
check_enrolment_keys (ChatdDirectory *directory, const char *suite_name, GBytes *public_key,
                      GBytes *wrapped_key, guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN],
                      GError **error)
{
  const ChatdSuite *suite = suite_name != NULL
    ? chatd_registry_lookup_suite (directory->registry, suite_name) : NULL;
  if (suite == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "this server does not know the crypto suite '%s'", suite_name ? suite_name : "");
      return FALSE;
    }
  if (!chatd_suite_has (suite, CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "suite '%s' cannot both sign and seal: not usable for a user's key", suite_name);
      return FALSE;
    }
  if (!check_wrapped_key (directory, wrapped_key, error))
    return FALSE;
  gsize public_len = 0;
  const guint8 *public_data = g_bytes_get_data (public_key, &public_len);
  g_autoptr(ChatdKey) key = suite->import_public (suite, public_data, public_len, error);
  if (key == NULL || !suite->fingerprint (key, ret_fingerprint, error))
    {
      g_prefix_error (error, "public key: ");
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_directory_enroll (ChatdDirectory *directory, const char *name, const char *token_text,
                        const char *suite_name, GBytes *public_key, GBytes *wrapped_key,
                        gint64 now, GError **error)
{
  guint8 fingerprint[CHATD_FINGERPRINT_LEN];
  if (!chatd_user_name_is_valid (name, error) ||
      !check_enrolment_keys (directory, suite_name, public_key, wrapped_key, fingerprint, error))
    return FALSE;
  g_autofree char *name_key = chatd_directory_fold_name (name);

  /* the token: one answer for wrong, used, expired or never issued */
  guint8 token[CHATD_ENROL_TOKEN_LEN] = { 0 };
  guint8 hash[32];
  gboolean well_formed = parse_token (token_text, token);
  token_hash (token, hash);
  chatd_wipe (token, sizeof token);

  if (!chatd_store_begin (directory->store, error))
    return FALSE;
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
    "SELECT token_hash, expires, used, name FROM enrolments WHERE name_key = ?1", error);
  if (stmt == NULL)
    {
      chatd_store_rollback (directory->store);
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (stmt);
  gboolean accepted = FALSE;
  g_autofree char *registered_name = NULL;
  if (rc == SQLITE_ROW)
    {
      guint8 stored[32] = { 0 };
      if (sqlite3_column_bytes (stmt, 0) == sizeof stored)
        memcpy (stored, sqlite3_column_blob (stmt, 0), sizeof stored);
      gboolean hash_ok = chatd_memequal_ct (stored, hash, sizeof stored);
      accepted = hash_ok && well_formed &&
                 sqlite3_column_int64 (stmt, 1) > now && sqlite3_column_int64 (stmt, 2) == 0;
      registered_name = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
    }
  else if (rc != SQLITE_DONE)
    {
      chatd_store_fail (directory->store, "cannot look up an enrolment", error);
      sqlite3_reset (stmt);
      chatd_store_rollback (directory->store);
      return FALSE;
    }
  sqlite3_reset (stmt);
  if (!accepted)
    {
      chatd_store_rollback (directory->store);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "enrolment of '%s' refused: the token is wrong, already used or expired", name);
      return FALSE;
    }

  stmt = chatd_store_prepare (directory->store,
                              "UPDATE enrolments SET used = 1 WHERE name_key = ?1", error);
  if (stmt == NULL)
    {
      chatd_store_rollback (directory->store);
      return FALSE;
    }
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  ChatdDirectoryUser user = {
    .name = registered_name,
    .suite = (char *) suite_name,
    .public_key = public_key,
    .wrapped_key = wrapped_key,
    .created = now,
  };
  memcpy (user.fingerprint, fingerprint, sizeof fingerprint);
  if (!chatd_store_step_done (directory->store, stmt, error) ||
      !insert_user (directory, &user, FALSE, error) ||
      !chatd_store_commit (directory->store, error))
    {
      chatd_store_rollback (directory->store);
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_directory_token_state (ChatdDirectory *directory, const char *name, const char *token_text,
                             gint64 now, ChatdTokenState *ret_state, gint64 *ret_expires, GError **error)
{
  guint8 token[CHATD_ENROL_TOKEN_LEN] = { 0 };
  guint8 hash[32];
  gboolean well_formed = parse_token (token_text, token);
  token_hash (token, hash);
  chatd_wipe (token, sizeof token);
  g_autofree char *name_key = chatd_directory_fold_name (name);
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
    "SELECT token_hash, expires, used FROM enrolments WHERE name_key = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (stmt);
  ChatdTokenState state = CHATD_TOKEN_NONE;
  gint64 expires = 0;
  if (rc == SQLITE_ROW)
    {
      guint8 stored[32] = { 0 };
      if (sqlite3_column_bytes (stmt, 0) == sizeof stored)
        memcpy (stored, sqlite3_column_blob (stmt, 0), sizeof stored);
      expires = sqlite3_column_int64 (stmt, 1);
      if (!well_formed || !chatd_memequal_ct (stored, hash, sizeof stored))
        state = CHATD_TOKEN_WRONG;
      else if (sqlite3_column_int64 (stmt, 2) != 0)
        state = CHATD_TOKEN_USED;
      else if (expires <= now)
        state = CHATD_TOKEN_EXPIRED;
      else
        state = CHATD_TOKEN_VALID;
    }
  else if (rc != SQLITE_DONE)
    {
      chatd_store_fail (directory->store, "cannot look up an enrolment", error);
      sqlite3_reset (stmt);
      return FALSE;
    }
  sqlite3_reset (stmt);
  *ret_state = state;
  if (ret_expires != NULL)
    *ret_expires = expires;
  return TRUE;
}

/* ---- keys made on the server ---- */

gboolean
chatd_directory_user_from_key (const char *name, const ChatdKey *key,
                               const guint8 *password, gsize password_len,
                               const ChatdKdfParams *params, gint64 now,
                               ChatdDirectoryUser **ret_user, GError **error)
{
  g_autoptr(ChatdDirectoryUser) user = g_new0 (ChatdDirectoryUser, 1);
  g_autofree char *name_key = chatd_directory_fold_name (name);
  user->name = g_strdup (name);
  user->suite = g_strdup (chatd_suite_name (key->suite));
  user->created = now;
  user->public_key = key->suite->export_public (key, error);
  if (user->public_key == NULL ||
      !key->suite->fingerprint (key, user->fingerprint, error) ||
      !chatd_password_wrap_key (name_key, key, password, password_len, params,
                                &user->wrapped_key, error))
    return FALSE;
  *ret_user = g_steal_pointer (&user);
  return TRUE;
}

/* ---- key records ---- */

gboolean
chatd_directory_key_record (ChatdDirectory *directory, const char *name, gint64 now,
                            GBytes **ret_record, GError **error)
{
  if (directory->server_key == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "the server has no identity yet (run chatctl seed)");
      return FALSE;
    }
  g_autoptr(ChatdDirectoryUser) user = NULL;
  if (!chatd_directory_get_user (directory, name, &user, error))
    return FALSE;
  g_autofree char *features = NULL;
  if (!chatd_directory_get_features (directory, user->name, &features, error))
    return FALSE;
  g_auto(GStrv) feature_list = g_strsplit (features, " ", CHATD_KEY_RECORD_FEATURES_MAX + 1);
  if (feature_list[0] != NULL && feature_list[0][0] == '\0')
    g_clear_pointer (&feature_list, g_strfreev);
  ChatdKeyRecord record = {
    .features = feature_list,
    .name = user->name,
    .suite = user->suite,
    .public_key = user->public_key,
    .issued_at = now,
    .expires = now + directory->config.key_record_lifetime,
  };
  return chatd_key_record_sign (directory->server_key, &record, ret_record, error);
}

/* ---- features ---- */

gboolean
chatd_directory_set_features (ChatdDirectory *directory, const char *name, const char *features,
                              GError **error)
{
  /* stored as the valid words joined by single spaces: what the key record
   * splits again (an empty word there would leave a record unsignable) */
  g_auto(GStrv) list = g_strsplit (features, " ", -1);
  g_autoptr(GString) words = g_string_new (NULL);
  guint n = 0;
  for (guint i = 0; list[i] != NULL; i++)
    {
      if (list[i][0] == '\0')
        continue;
      if (++n > CHATD_KEY_RECORD_FEATURES_MAX || !chatd_key_record_feature_is_valid (list[i]))
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "invalid features '%s'", features);
          return FALSE;
        }
      g_string_append_printf (words, "%s%s", words->len > 0 ? " " : "", list[i]);
    }
  g_autofree char *name_key = chatd_directory_fold_name (name);
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
                                            "UPDATE users SET features = ?2 WHERE name_key = ?1 AND features != ?2",
                                            error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, words->str, -1, SQLITE_TRANSIENT);
  return chatd_store_step_done (directory->store, stmt, error);
}

gboolean
chatd_directory_get_features (ChatdDirectory *directory, const char *name, char **ret_features,
                              GError **error)
{
  g_autofree char *name_key = chatd_directory_fold_name (name);
  sqlite3_stmt *stmt = chatd_store_prepare (directory->store,
                                            "SELECT features FROM users WHERE name_key = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_text (stmt, 1, name_key, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (stmt);
  char *features = rc == SQLITE_ROW ? g_strdup ((const char *) sqlite3_column_text (stmt, 0)) : NULL;
  sqlite3_reset (stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return chatd_store_fail (directory->store, "cannot read a user's features", error);
  *ret_features = features != NULL ? features : g_strdup ("");
  return TRUE;
}
