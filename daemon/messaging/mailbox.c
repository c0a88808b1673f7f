/* mailbox.c: a user node's durable messages and contacts. */
#define G_LOG_DOMAIN "chatd-messaging"
#include "mailbox.h"

#include <gcrypt.h>
#include <string.h>

/* A pinned contact as the database has it, kept in memory: the sender asks
 * for it at every send.  Every write to a contact removes its entry (the
 * next read loads it again), a rollback removes them all. */
typedef struct {
  char    *suite;
  GBytes  *public_key;
  gboolean sessions;
} Contact;

struct _ChatdMailbox {
  ChatdStore *store;
  guint       outbox_limit;
  GHashTable *contacts;       /* folded name -> Contact* (pinned contacts read so far) */
  gint64      outbox_rows;    /* rows in the outbox, or -1: count them at the next add */
};

static void
contact_free (Contact *c)
{
  g_free (c->suite);
  g_bytes_unref (c->public_key);
  g_free (c);
}

static const ChatdStoreMigration migrations[] = {
  { "CREATE TABLE messages ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  sender TEXT NOT NULL,"
    "  recipient TEXT NOT NULL,"
    "  time_ms INTEGER NOT NULL,"
    "  arrived INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  hash BLOB NOT NULL);"
    "CREATE INDEX messages_sender ON messages (sender COLLATE NOCASE);"
    "CREATE TABLE contacts ("
    "  name TEXT PRIMARY KEY COLLATE NOCASE,"
    "  suite TEXT NOT NULL,"
    "  public_key BLOB NOT NULL,"
    "  pinned INTEGER NOT NULL,"
    "  changed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE contact_history ("
    "  name TEXT NOT NULL COLLATE NOCASE,"
    "  fingerprint TEXT NOT NULL,"
    "  pinned INTEGER NOT NULL,"
    "  replaced INTEGER NOT NULL);" },
  /* 2: the outbox: envelopes sent and not yet stored by their recipient */
  { "CREATE TABLE outbox ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL,"
    "  recipient TEXT NOT NULL,"
    "  envelope BLOB NOT NULL,"
    "  suite TEXT NOT NULL,"
    "  public_key BLOB NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  UNIQUE (id, recipient));" },
  /* 3: contacts whose key record advertised peer sessions (sticky: never
   * downgraded silently) */
  { "ALTER TABLE contacts ADD COLUMN sessions INTEGER NOT NULL DEFAULT 0;" },
};

ChatdMailbox *
chatd_mailbox_open (const char *state_dir, GError **error)
{
  g_autofree char *path = g_build_filename (state_dir, "mailbox.db", NULL);
  /* only this node opens its mailbox while it runs (it holds the node
   * lock; chatctl asks the node): the file locks are taken once */
  ChatdStore *store = chatd_store_open_with (path, migrations, G_N_ELEMENTS (migrations), CHATD_STORE_EXCLUSIVE,
                                             error);
  if (store == NULL)
    return NULL;
  ChatdMailbox *mailbox = g_new0 (ChatdMailbox, 1);
  mailbox->store = store;
  mailbox->outbox_limit = CHATD_OUTBOX_MAX;
  mailbox->contacts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) contact_free);
  mailbox->outbox_rows = -1;
  return mailbox;
}

void
chatd_mailbox_free (ChatdMailbox *mailbox)
{
  if (mailbox == NULL)
    return;
  chatd_store_close (mailbox->store);
  g_hash_table_unref (mailbox->contacts);
  g_free (mailbox);
}

gboolean
chatd_mailbox_store (ChatdMailbox *mailbox, const ChatdMessage *m, gboolean *ret_duplicate, GError **error)
{
  *ret_duplicate = FALSE;
  /* one statement for a new message; only an id already there is looked at */
  sqlite3_stmt *insert = chatd_store_prepare (mailbox->store,
    "INSERT INTO messages (id, sender, recipient, time_ms, arrived, text, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO NOTHING", error);
  if (insert == NULL)
    return FALSE;
  sqlite3_bind_text (insert, 1, m->id_text, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert, 2, m->sender, -1, SQLITE_STATIC);
  sqlite3_bind_text (insert, 3, m->recipient, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 4, m->time_ms);
  sqlite3_bind_int64 (insert, 5, g_get_real_time () / 1000);
  sqlite3_bind_text (insert, 6, m->text, -1, SQLITE_STATIC);
  sqlite3_bind_blob (insert, 7, m->hash, 32, SQLITE_STATIC);
  if (!chatd_store_step_done (mailbox->store, insert, error))
    return FALSE;
  if (sqlite3_changes (chatd_store_db (mailbox->store)) == 1)
    return TRUE;
  sqlite3_stmt *existing = chatd_store_prepare (mailbox->store,
                                                 "SELECT hash, sender, time_ms, text FROM messages WHERE id = ?", error);
  if (existing == NULL)
    return FALSE;
  sqlite3_bind_text (existing, 1, m->id_text, -1, SQLITE_STATIC);
  if (sqlite3_step (existing) != SQLITE_ROW)
    {
      sqlite3_reset (existing);
      return chatd_store_fail (mailbox->store, "a message neither stored nor found", error);
    }
  /* the same bytes again, or the same message that came the other way
   * (in a peer session, then as an envelope through the queue) */
  const char *sender = (const char *) sqlite3_column_text (existing, 1);
  const char *text = (const char *) sqlite3_column_text (existing, 3);
  gboolean same = (sqlite3_column_bytes (existing, 0) == 32 &&
                   memcmp (sqlite3_column_blob (existing, 0), m->hash, 32) == 0) ||
                  (sender != NULL && g_ascii_strcasecmp (sender, m->sender) == 0 &&
                   sqlite3_column_int64 (existing, 2) == m->time_ms && g_strcmp0 (text, m->text) == 0);
  sqlite3_reset (existing);
  if (!same)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "message %s from %s reuses an id with other content: refused", m->id_text, m->sender);
      return FALSE;
    }
  *ret_duplicate = TRUE;
  return TRUE;
}

static char *
iso8601_ms (gint64 ms)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (ms / 1000);
  g_autoptr(GDateTime) exact = t ? g_date_time_add (t, (ms % 1000) * 1000) : NULL;
  return exact ? g_date_time_format (exact, "%Y-%m-%dT%H:%M:%S.%fZ") : g_strdup ("");
}

static GVariant *
message_variant (const char *id, const char *from, const char *to, gint64 time_ms, const char *text)
{
  g_autofree char *time = iso8601_ms (time_ms);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string (id));
  g_variant_builder_add (&b, "{sv}", "from", g_variant_new_string (from));
  g_variant_builder_add (&b, "{sv}", "to", g_variant_new_string (to));
  g_variant_builder_add (&b, "{sv}", "time", g_variant_new_string (time));
  g_variant_builder_add (&b, "{sv}", "text", g_variant_new_string (text));
  return g_variant_builder_end (&b);
}

GVariant *
chatd_message_to_variant (const ChatdMessage *m)
{
  return message_variant (m->id_text, m->sender, m->recipient, m->time_ms, m->text);
}

GVariant *
chatd_mailbox_list (ChatdMailbox *mailbox, const char *since, const char *from, GError **error)
{
  sqlite3_stmt *stmt = chatd_store_prepare (mailbox->store,
    "SELECT id, sender, recipient, time_ms, text FROM messages"
    " WHERE seq > COALESCE((SELECT seq FROM messages WHERE id = ?1), CASE WHEN ?1 IS NULL THEN 0 ELSE -1 END)"
    "   AND (?2 IS NULL OR sender = ?2 COLLATE NOCASE)"
    " ORDER BY seq", error);
  if (stmt == NULL)
    return NULL;
  if (since != NULL)
    {
      sqlite3_stmt *known = chatd_store_prepare (mailbox->store, "SELECT 1 FROM messages WHERE id = ?", error);
      sqlite3_bind_text (known, 1, since, -1, SQLITE_TRANSIENT);
      gboolean found = sqlite3_step (known) == SQLITE_ROW;
      sqlite3_reset (known);
      if (!found)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND, "no message with id %s", since);
          return NULL;
        }
      sqlite3_bind_text (stmt, 1, since, -1, SQLITE_TRANSIENT);
    }
  if (from != NULL)
    sqlite3_bind_text (stmt, 2, from, -1, SQLITE_TRANSIENT);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_variant_builder_add_value (&b, message_variant ((const char *) sqlite3_column_text (stmt, 0),
                                                      (const char *) sqlite3_column_text (stmt, 1),
                                                      (const char *) sqlite3_column_text (stmt, 2),
                                                      sqlite3_column_int64 (stmt, 3),
                                                      (const char *) sqlite3_column_text (stmt, 4)));
  sqlite3_reset (stmt);
  return g_variant_builder_end (&b);
}

/* the pinned contact, from memory or loaded; NULL: none pinned (or the
 * database failed: then nothing is kept) */
static const Contact *
contact_lookup (ChatdMailbox *mailbox, const char *name)
{
  g_autofree char *folded = g_ascii_strdown (name, -1);
  Contact *c = g_hash_table_lookup (mailbox->contacts, folded);
  if (c != NULL)
    return c;
  sqlite3_stmt *stmt = chatd_store_prepare (mailbox->store,
                                            "SELECT suite, public_key, sessions FROM contacts WHERE name = ?", NULL);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      c = g_new0 (Contact, 1);
      c->suite = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      c->public_key = g_bytes_new (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1));
      c->sessions = sqlite3_column_int (stmt, 2) != 0;
      g_hash_table_replace (mailbox->contacts, g_steal_pointer (&folded), c);
    }
  sqlite3_reset (stmt);
  return c;
}

static void
contact_forget (ChatdMailbox *mailbox, const char *name)
{
  g_autofree char *folded = g_ascii_strdown (name, -1);
  g_hash_table_remove (mailbox->contacts, folded);
}

GBytes *
chatd_mailbox_contact_key (ChatdMailbox *mailbox, const char *name, char **ret_suite)
{
  const Contact *c = contact_lookup (mailbox, name);
  if (c == NULL)
    return NULL;
  if (ret_suite != NULL)
    *ret_suite = g_strdup (c->suite);
  return g_bytes_ref (c->public_key);
}

static char *
fingerprint_text (GBytes *key)
{
  guint8 fp[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, fp, g_bytes_get_data (key, NULL), g_bytes_get_size (key));
  return chatd_fingerprint_to_string (fp);
}

gboolean
chatd_mailbox_pin_contact (ChatdMailbox *mailbox, const char *name, const char *suite, GBytes *public_key,
                           gboolean *ret_changed, GError **error)
{
  *ret_changed = FALSE;
  g_autofree char *old_suite = NULL;
  g_autoptr(GBytes) old = chatd_mailbox_contact_key (mailbox, name, &old_suite);
  if (old != NULL && g_bytes_equal (old, public_key))
    return TRUE;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  contact_forget (mailbox, name);
  if (!chatd_store_begin (mailbox->store, error))
    return FALSE;
  if (old != NULL)
    {
      g_autofree char *old_fp = fingerprint_text (old);
      sqlite3_stmt *h = chatd_store_prepare (mailbox->store,
        "INSERT INTO contact_history (name, fingerprint, pinned, replaced)"
        " SELECT name, ?2, pinned, ?3 FROM contacts WHERE name = ?1", error);
      if (h == NULL)
        goto fail;
      sqlite3_bind_text (h, 1, name, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (h, 2, old_fp, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (h, 3, now);
      if (!chatd_store_step_done (mailbox->store, h, error))
        goto fail;
    }
  sqlite3_stmt *upsert = chatd_store_prepare (mailbox->store,
    "INSERT INTO contacts (name, suite, public_key, pinned, changed) VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT (name) DO UPDATE SET suite = ?2, public_key = ?3, pinned = ?4, changed = ?5", error);
  if (upsert == NULL)
    goto fail;
  sqlite3_bind_text (upsert, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (upsert, 2, suite, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (upsert, 3, g_bytes_get_data (public_key, NULL), g_bytes_get_size (public_key), SQLITE_TRANSIENT);
  sqlite3_bind_int64 (upsert, 4, now);
  sqlite3_bind_int (upsert, 5, old != NULL);
  if (!chatd_store_step_done (mailbox->store, upsert, error) || !chatd_store_commit (mailbox->store, error))
    goto fail;
  *ret_changed = old != NULL;
  return TRUE;
fail:
  chatd_mailbox_rollback (mailbox);
  return FALSE;
}

GVariant *
chatd_mailbox_contact (ChatdMailbox *mailbox, const char *name, GError **error)
{
  sqlite3_stmt *stmt = chatd_store_prepare (mailbox->store,
    "SELECT name, suite, public_key, pinned, changed FROM contacts WHERE name = ?", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) != SQLITE_ROW)
    {
      sqlite3_reset (stmt);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND,
                   "no key pinned for %s yet (it is pinned at the first message either way)", name);
      return NULL;
    }
  g_autofree char *contact = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  g_autofree char *suite = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  g_autoptr(GBytes) key = g_bytes_new (sqlite3_column_blob (stmt, 2), sqlite3_column_bytes (stmt, 2));
  gint64 pinned = sqlite3_column_int64 (stmt, 3);
  gboolean changed = sqlite3_column_int (stmt, 4) != 0;
  sqlite3_reset (stmt);
  g_autofree char *fingerprint = fingerprint_text (key);
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (pinned);
  g_autofree char *pinned_text = g_date_time_format_iso8601 (t);

  g_autoptr(GStrvBuilder) history = g_strv_builder_new ();
  sqlite3_stmt *h = chatd_store_prepare (mailbox->store,
    "SELECT fingerprint, replaced FROM contact_history WHERE name = ? ORDER BY replaced", error);
  if (h == NULL)
    return NULL;
  sqlite3_bind_text (h, 1, name, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (h) == SQLITE_ROW)
    {
      g_autoptr(GDateTime) r = g_date_time_new_from_unix_utc (sqlite3_column_int64 (h, 1));
      g_autofree char *when = g_date_time_format_iso8601 (r);
      g_autofree char *line = g_strdup_printf ("%s (replaced %s)", sqlite3_column_text (h, 0), when);
      g_strv_builder_add (history, line);
    }
  sqlite3_reset (h);
  g_auto(GStrv) lines = g_strv_builder_end (history);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (contact));
  g_variant_builder_add (&b, "{sv}", "suite", g_variant_new_string (suite));
  g_variant_builder_add (&b, "{sv}", "fingerprint", g_variant_new_string (fingerprint));
  g_variant_builder_add (&b, "{sv}", "pinned", g_variant_new_string (pinned_text));
  g_variant_builder_add (&b, "{sv}", "changed", g_variant_new_boolean (changed));
  g_variant_builder_add (&b, "{sv}", "history", g_variant_new_strv ((const char *const *) lines, -1));
  return g_variant_builder_end (&b);
}

/* --- outbox --- */

void
chatd_outbox_entry_free (ChatdOutboxEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->id);
  g_free (entry->recipient);
  g_clear_pointer (&entry->envelope, g_bytes_unref);
  g_free (entry->suite);
  g_clear_pointer (&entry->public_key, g_bytes_unref);
  g_free (entry->state);
  g_free (entry);
}

gboolean
chatd_mailbox_outbox_add (ChatdMailbox *mailbox, const char *id, const char *recipient, GBytes *envelope,
                          const char *suite, GBytes *public_key, gint64 created_ms, GError **error)
{
  if (mailbox->outbox_rows < 0)
    {
      sqlite3_stmt *count = chatd_store_prepare (mailbox->store, "SELECT COUNT(*) FROM outbox", error);
      if (count == NULL)
        return FALSE;
      if (sqlite3_step (count) != SQLITE_ROW)
        {
          chatd_store_fail (mailbox->store, "cannot count the outbox", error);
          sqlite3_reset (count);
          return FALSE;
        }
      mailbox->outbox_rows = sqlite3_column_int64 (count, 0);
      sqlite3_reset (count);
    }
  if (mailbox->outbox_rows >= mailbox->outbox_limit)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "the outbox is full (%u messages not yet delivered)", mailbox->outbox_limit);
      return FALSE;
    }
  sqlite3_stmt *insert = chatd_store_prepare (mailbox->store,
    "INSERT INTO outbox (id, recipient, envelope, suite, public_key, created, state)"
    " VALUES (?, ?, ?, ?, ?, ?, 'sending')", error);
  if (insert == NULL)
    return FALSE;
  sqlite3_bind_text (insert, 1, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (insert, 2, recipient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (insert, 3, g_bytes_get_data (envelope, NULL), (int) g_bytes_get_size (envelope), SQLITE_STATIC);
  sqlite3_bind_text (insert, 4, suite, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (insert, 5, g_bytes_get_data (public_key, NULL), (int) g_bytes_get_size (public_key),
                     SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 6, created_ms);
  if (!chatd_store_step_done (mailbox->store, insert, error))
    return FALSE;
  mailbox->outbox_rows++;
  return TRUE;
}

void
chatd_mailbox_set_outbox_limit (ChatdMailbox *mailbox, guint limit)
{
  mailbox->outbox_limit = limit;
}

gboolean
chatd_mailbox_outbox_set_queued (ChatdMailbox *mailbox, const char *id, GError **error)
{
  sqlite3_stmt *update = chatd_store_prepare (mailbox->store, "UPDATE outbox SET state = 'queued' WHERE id = ?", error);
  if (update == NULL)
    return FALSE;
  sqlite3_bind_text (update, 1, id, -1, SQLITE_TRANSIENT);
  return chatd_store_step_done (mailbox->store, update, error);
}

/* Without a sync of its own: a delete lost to a power cut only brings a row
 * back, whose resend the recipient answers with the receipt again (a crash
 * of the process loses nothing: the write is in the OS already); the next
 * durable commit makes it durable too (doc/storage.md). */
gboolean
chatd_mailbox_outbox_delete (ChatdMailbox *mailbox, const char *id, GError **error)
{
  /* inside a group commit: one more deletion of it */
  if (!sqlite3_get_autocommit (chatd_store_db (mailbox->store)))
    return chatd_mailbox_outbox_remove (mailbox, id, error);
  if (!chatd_store_begin_lazy (mailbox->store, error))
    return FALSE;
  if (!chatd_mailbox_outbox_remove (mailbox, id, error) || !chatd_store_commit (mailbox->store, error))
    {
      chatd_mailbox_rollback (mailbox);
      return FALSE;
    }
  return TRUE;
}

#define OUTBOX_COLUMNS "id, recipient, envelope, suite, public_key, created, state"

static ChatdOutboxEntry *
outbox_entry_from_row (sqlite3_stmt *stmt)
{
  ChatdOutboxEntry *e = g_new0 (ChatdOutboxEntry, 1);
  e->id = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  e->recipient = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  e->envelope = g_bytes_new (sqlite3_column_blob (stmt, 2), sqlite3_column_bytes (stmt, 2));
  e->suite = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  e->public_key = g_bytes_new (sqlite3_column_blob (stmt, 4), sqlite3_column_bytes (stmt, 4));
  e->created_ms = sqlite3_column_int64 (stmt, 5);
  e->state = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
  return e;
}

ChatdOutboxEntry *
chatd_mailbox_outbox_get (ChatdMailbox *mailbox, const char *id)
{
  sqlite3_stmt *stmt = chatd_store_prepare (mailbox->store, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id = ?", NULL);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, id, -1, SQLITE_TRANSIENT);
  ChatdOutboxEntry *e = sqlite3_step (stmt) == SQLITE_ROW ? outbox_entry_from_row (stmt) : NULL;
  sqlite3_reset (stmt);
  return e;
}

GPtrArray *
chatd_mailbox_outbox_entries (ChatdMailbox *mailbox, const char *state)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_outbox_entry_free);
  sqlite3_stmt *stmt = chatd_store_prepare (mailbox->store,
    "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY seq", NULL);
  if (stmt == NULL)
    return entries;
  if (state != NULL)
    sqlite3_bind_text (stmt, 1, state, -1, SQLITE_TRANSIENT);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_ptr_array_add (entries, outbox_entry_from_row (stmt));
  sqlite3_reset (stmt);
  return entries;
}

GVariant *
chatd_mailbox_outbox_list (ChatdMailbox *mailbox, GError **error)
{
  sqlite3_stmt *stmt = chatd_store_prepare (mailbox->store,
                                            "SELECT id, recipient, created, state FROM outbox ORDER BY seq", error);
  if (stmt == NULL)
    return NULL;
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      g_autofree char *time = iso8601_ms (sqlite3_column_int64 (stmt, 2));
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string ((const char *) sqlite3_column_text (stmt, 0)));
      g_variant_builder_add (&b, "{sv}", "to", g_variant_new_string ((const char *) sqlite3_column_text (stmt, 1)));
      g_variant_builder_add (&b, "{sv}", "time", g_variant_new_string (time));
      g_variant_builder_add (&b, "{sv}", "state", g_variant_new_string ((const char *) sqlite3_column_text (stmt, 3)));
      g_variant_builder_close (&b);
    }
  sqlite3_reset (stmt);
  return g_variant_builder_end (&b);
}

/* --- group commit and sticky session support --- */

gboolean
chatd_mailbox_begin (ChatdMailbox *mailbox, GError **error)
{
  return chatd_store_begin (mailbox->store, error);
}

gboolean
chatd_mailbox_begin_deletes (ChatdMailbox *mailbox, GError **error)
{
  return chatd_store_begin_lazy (mailbox->store, error);
}

gboolean
chatd_mailbox_commit (ChatdMailbox *mailbox, GError **error)
{
  return chatd_store_commit (mailbox->store, error);
}

void
chatd_mailbox_rollback (ChatdMailbox *mailbox)
{
  chatd_store_rollback (mailbox->store);
  /* what was kept in memory may describe rows that are gone now */
  g_hash_table_remove_all (mailbox->contacts);
  mailbox->outbox_rows = -1;
}

gboolean
chatd_mailbox_outbox_remove (ChatdMailbox *mailbox, const char *id, GError **error)
{
  sqlite3_stmt *del = chatd_store_prepare (mailbox->store, "DELETE FROM outbox WHERE id = ?", error);
  if (del == NULL)
    return FALSE;
  sqlite3_bind_text (del, 1, id, -1, SQLITE_TRANSIENT);
  if (!chatd_store_step_done (mailbox->store, del, error))
    return FALSE;
  if (mailbox->outbox_rows >= 0)
    mailbox->outbox_rows -= sqlite3_changes (chatd_store_db (mailbox->store));
  return TRUE;
}

gboolean
chatd_mailbox_contact_sessions (ChatdMailbox *mailbox, const char *name)
{
  const Contact *c = contact_lookup (mailbox, name);
  return c != NULL && c->sessions;
}

gboolean
chatd_mailbox_set_contact_sessions (ChatdMailbox *mailbox, const char *name, GError **error)
{
  const Contact *c = contact_lookup (mailbox, name);
  if (c != NULL && c->sessions)
    return TRUE;   /* sticky: nothing to write */
  contact_forget (mailbox, name);
  sqlite3_stmt *u = chatd_store_prepare (mailbox->store,
                                         "UPDATE contacts SET sessions = 1 WHERE name = ? AND sessions = 0", error);
  if (u == NULL)
    return FALSE;
  sqlite3_bind_text (u, 1, name, -1, SQLITE_TRANSIENT);
  return chatd_store_step_done (mailbox->store, u, error);
}
