/* offline-queue.c: envelopes waiting at the server for offline recipients,
 * and notices waiting for offline senders. */
#define G_LOG_DOMAIN "chatd-server"
#include "offline-queue.h"
#include "directory.h"
#include "envelope.h"

#include <chatd/chatd-plugin.h>
#include <gcrypt.h>
#include <string.h>

struct _ChatdOfflineQueue {
  ChatdStore             *store;
  ChatdOfflineQueueConfig config;
};

void
chatd_offline_queue_config_init (ChatdOfflineQueueConfig *config)
{
  config->limit = CHATD_QUEUE_LIMIT_DEFAULT;
  config->bytes_limit = CHATD_QUEUE_BYTES_DEFAULT;
  config->ttl_s = CHATD_QUEUE_TTL_DEFAULT;
  config->notices_limit = CHATD_QUEUE_NOTICES_MAX;
}

void
chatd_queue_entry_free (ChatdQueueEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->sender);
  g_free (entry->recipient);
  g_clear_pointer (&entry->envelope, g_bytes_unref);
  g_free (entry);
}

ChatdOfflineQueue *
chatd_offline_queue_new (ChatdStore *store, const ChatdOfflineQueueConfig *config)
{
  ChatdOfflineQueue *queue = g_new0 (ChatdOfflineQueue, 1);
  queue->store = store;
  queue->config = *config;
  return queue;
}

void
chatd_offline_queue_free (ChatdOfflineQueue *queue)
{
  g_free (queue);
}

const ChatdOfflineQueueConfig *
chatd_offline_queue_get_config (ChatdOfflineQueue *queue)
{
  return &queue->config;
}

void
chatd_offline_queue_count (ChatdOfflineQueue *queue, const char *recipient, guint *ret_count,
                           guint64 *ret_bytes)
{
  g_autofree char *key = chatd_directory_fold_name (recipient);
  guint count = 0;
  guint64 bytes = 0;
  sqlite3_stmt *stmt = chatd_store_prepare (queue->store,
    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM queue WHERE recipient_key = ?", NULL);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          count = (guint) sqlite3_column_int64 (stmt, 0);
          bytes = (guint64) sqlite3_column_int64 (stmt, 1);
        }
      sqlite3_reset (stmt);
    }
  if (ret_count != NULL)
    *ret_count = count;
  if (ret_bytes != NULL)
    *ret_bytes = bytes;
}

void
chatd_offline_queue_totals (ChatdOfflineQueue *queue, guint64 *ret_envelopes, guint64 *ret_notices)
{
  sqlite3_stmt *stmt = chatd_store_prepare (queue->store,
    "SELECT (SELECT COUNT(*) FROM queue), (SELECT COUNT(*) FROM queue_notices)", NULL);
  guint64 envelopes = 0, notices = 0;
  if (stmt != NULL && sqlite3_step (stmt) == SQLITE_ROW)
    {
      envelopes = (guint64) sqlite3_column_int64 (stmt, 0);
      notices = (guint64) sqlite3_column_int64 (stmt, 1);
    }
  if (stmt != NULL)
    sqlite3_reset (stmt);
  *ret_envelopes = envelopes;
  *ret_notices = notices;
}

gboolean
chatd_offline_queue_add (ChatdOfflineQueue *queue, const guint8 id[16], const char *sender,
                         const char *recipient, GBytes *envelope, gint64 now, gboolean *ret_duplicate,
                         GError **error)
{
  gsize size = g_bytes_get_size (envelope);
  if (size > CHATD_QUEUE_ENVELOPE_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "envelope too large to queue (%zu bytes)", size);
      return FALSE;
    }
  guint8 hash[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, hash, g_bytes_get_data (envelope, NULL), size);
  g_autofree char *recipient_key = chatd_directory_fold_name (recipient);
  g_autofree char *sender_key = chatd_directory_fold_name (sender);

  sqlite3_stmt *existing = chatd_store_prepare (queue->store,
    "SELECT hash FROM queue WHERE id = ? AND recipient_key = ?", error);
  if (existing == NULL)
    return FALSE;
  sqlite3_bind_blob (existing, 1, id, 16, SQLITE_TRANSIENT);
  sqlite3_bind_text (existing, 2, recipient_key, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (existing) == SQLITE_ROW)
    {
      gboolean same = sqlite3_column_bytes (existing, 0) == 32 &&
                      memcmp (sqlite3_column_blob (existing, 0), hash, 32) == 0;
      sqlite3_reset (existing);
      if (!same)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS,
                       "a message with this id is already queued for %s with other content", recipient);
          return FALSE;
        }
      *ret_duplicate = TRUE;
      return TRUE;
    }
  sqlite3_reset (existing);

  guint count = 0;
  guint64 bytes = 0;
  chatd_offline_queue_count (queue, recipient, &count, &bytes);
  if (count >= queue->config.limit)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "%s's queue at the server is full (%u messages)",
                   recipient, queue->config.limit);
      return FALSE;
    }
  if (bytes + size > queue->config.bytes_limit)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "%s's queue at the server is full (%" G_GUINT64_FORMAT " bytes)", recipient,
                   queue->config.bytes_limit);
      return FALSE;
    }
  sqlite3_stmt *insert = chatd_store_prepare (queue->store,
    "INSERT INTO queue (id, recipient_key, recipient, sender_key, sender, hash, envelope, size, created, expires)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  if (insert == NULL)
    return FALSE;
  sqlite3_bind_blob (insert, 1, id, 16, SQLITE_TRANSIENT);
  sqlite3_bind_text (insert, 2, recipient_key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (insert, 3, recipient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (insert, 4, sender_key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (insert, 5, sender, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (insert, 6, hash, 32, SQLITE_TRANSIENT);
  sqlite3_bind_blob (insert, 7, g_bytes_get_data (envelope, NULL), (int) size, SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 8, (sqlite3_int64) size);
  sqlite3_bind_int64 (insert, 9, now);
  sqlite3_bind_int64 (insert, 10, now + queue->config.ttl_s);
  if (!chatd_store_step_done (queue->store, insert, error))
    return FALSE;
  *ret_duplicate = FALSE;
  return TRUE;
}

#define ENTRY_COLUMNS "seq, id, sender, recipient, hash, envelope"

static ChatdQueueEntry *
entry_from_row (sqlite3_stmt *stmt)
{
  if (sqlite3_column_bytes (stmt, 1) != 16 || sqlite3_column_bytes (stmt, 4) != 32)
    return NULL;
  ChatdQueueEntry *e = g_new0 (ChatdQueueEntry, 1);
  e->seq = sqlite3_column_int64 (stmt, 0);
  memcpy (e->id, sqlite3_column_blob (stmt, 1), 16);
  e->sender = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  e->recipient = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
  memcpy (e->hash, sqlite3_column_blob (stmt, 4), 32);
  e->envelope = g_bytes_new (sqlite3_column_blob (stmt, 5), sqlite3_column_bytes (stmt, 5));
  return e;
}

ChatdQueueEntry *
chatd_offline_queue_next (ChatdOfflineQueue *queue, const char *recipient, gint64 after_seq)
{
  g_autofree char *key = chatd_directory_fold_name (recipient);
  sqlite3_stmt *stmt = chatd_store_prepare (queue->store,
    "SELECT " ENTRY_COLUMNS " FROM queue WHERE recipient_key = ? AND seq > ? ORDER BY seq LIMIT 1", NULL);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, after_seq);
  ChatdQueueEntry *e = sqlite3_step (stmt) == SQLITE_ROW ? entry_from_row (stmt) : NULL;
  sqlite3_reset (stmt);
  return e;
}

static gboolean
delete_entry (ChatdOfflineQueue *queue, gint64 seq, GError **error)
{
  sqlite3_stmt *del = chatd_store_prepare (queue->store, "DELETE FROM queue WHERE seq = ?", error);
  if (del == NULL)
    return FALSE;
  sqlite3_bind_int64 (del, 1, seq);
  return chatd_store_step_done (queue->store, del, error);
}

ChatdQueueEntry *
chatd_offline_queue_take_receipted (ChatdOfflineQueue *queue, const char *recipient, const guint8 id[16],
                                    const guint8 hash[32])
{
  g_autofree char *key = chatd_directory_fold_name (recipient);
  sqlite3_stmt *stmt = chatd_store_prepare (queue->store,
    "SELECT " ENTRY_COLUMNS " FROM queue WHERE id = ? AND recipient_key = ? AND hash = ?", NULL);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_blob (stmt, 1, id, 16, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (stmt, 3, hash, 32, SQLITE_TRANSIENT);
  g_autoptr(ChatdQueueEntry) e = sqlite3_step (stmt) == SQLITE_ROW ? entry_from_row (stmt) : NULL;
  sqlite3_reset (stmt);
  g_autoptr(GError) error = NULL;
  if (e == NULL)
    return NULL;
  if (!delete_entry (queue, e->seq, &error))
    {
      g_warning ("cannot delete a delivered queue entry: %s", error->message);
      return NULL;
    }
  return g_steal_pointer (&e);
}

GPtrArray *
chatd_offline_queue_expire (ChatdOfflineQueue *queue, gint64 now, guint max)
{
  GPtrArray *expired = g_ptr_array_new_with_free_func ((GDestroyNotify) chatd_queue_entry_free);
  sqlite3_stmt *stmt = chatd_store_prepare (queue->store,
    "SELECT " ENTRY_COLUMNS " FROM queue WHERE expires <= ? ORDER BY expires LIMIT ?", NULL);
  if (stmt == NULL)
    return expired;
  sqlite3_bind_int64 (stmt, 1, now);
  sqlite3_bind_int64 (stmt, 2, max);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      ChatdQueueEntry *e = entry_from_row (stmt);
      if (e != NULL)
        g_ptr_array_add (expired, e);
    }
  sqlite3_reset (stmt);
  g_autoptr(GError) error = NULL;
  for (guint i = 0; i < expired->len; i++)
    if (!delete_entry (queue, ((ChatdQueueEntry *) expired->pdata[i])->seq, &error))
      {
        g_warning ("cannot delete an expired queue entry: %s", error->message);
        g_ptr_array_set_size (expired, i);
        break;
      }
  sqlite3_stmt *notices = chatd_store_prepare (queue->store, "DELETE FROM queue_notices WHERE expires <= ?", NULL);
  if (notices != NULL)
    {
      sqlite3_bind_int64 (notices, 1, now);
      chatd_store_step_done (queue->store, notices, NULL);
    }
  return expired;
}

gboolean
chatd_offline_queue_add_notice (ChatdOfflineQueue *queue, const char *user, GBytes *message, gint64 now,
                                gint64 *ret_seq, GError **error)
{
  g_autofree char *key = chatd_directory_fold_name (user);
  sqlite3_stmt *count = chatd_store_prepare (queue->store,
                                             "SELECT COUNT(*) FROM queue_notices WHERE user_key = ?", error);
  if (count == NULL)
    return FALSE;
  sqlite3_bind_text (count, 1, key, -1, SQLITE_TRANSIENT);
  gint64 n = sqlite3_step (count) == SQLITE_ROW ? sqlite3_column_int64 (count, 0) : 0;
  sqlite3_reset (count);
  if (n >= queue->config.notices_limit)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "%s has %u notices waiting already",
                   user, queue->config.notices_limit);
      return FALSE;
    }
  sqlite3_stmt *insert = chatd_store_prepare (queue->store,
    "INSERT INTO queue_notices (user_key, message, expires) VALUES (?, ?, ?)", error);
  if (insert == NULL)
    return FALSE;
  sqlite3_bind_text (insert, 1, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_blob (insert, 2, g_bytes_get_data (message, NULL), (int) g_bytes_get_size (message), SQLITE_STATIC);
  sqlite3_bind_int64 (insert, 3, now + queue->config.ttl_s);
  if (!chatd_store_step_done (queue->store, insert, error))
    return FALSE;
  if (ret_seq != NULL)
    *ret_seq = sqlite3_last_insert_rowid (chatd_store_db (queue->store));
  return TRUE;
}

void
chatd_offline_queue_notices (ChatdOfflineQueue *queue, const char *user, guint max, GArray **ret_seqs,
                             GPtrArray **ret_messages)
{
  g_autofree char *key = chatd_directory_fold_name (user);
  GArray *seqs = g_array_new (FALSE, FALSE, sizeof (gint64));
  GPtrArray *messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  sqlite3_stmt *stmt = chatd_store_prepare (queue->store,
    "SELECT seq, message FROM queue_notices WHERE user_key = ? ORDER BY seq LIMIT ?", NULL);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64 (stmt, 2, max);
      while (sqlite3_step (stmt) == SQLITE_ROW)
        {
          gint64 seq = sqlite3_column_int64 (stmt, 0);
          g_array_append_val (seqs, seq);
          g_ptr_array_add (messages, g_bytes_new (sqlite3_column_blob (stmt, 1), sqlite3_column_bytes (stmt, 1)));
        }
      sqlite3_reset (stmt);
    }
  *ret_seqs = seqs;
  *ret_messages = messages;
}

gboolean
chatd_offline_queue_delete_notice (ChatdOfflineQueue *queue, gint64 seq, GError **error)
{
  sqlite3_stmt *del = chatd_store_prepare (queue->store, "DELETE FROM queue_notices WHERE seq = ?", error);
  if (del == NULL)
    return FALSE;
  sqlite3_bind_int64 (del, 1, seq);
  return chatd_store_step_done (queue->store, del, error);
}

gboolean
chatd_offline_queue_check_envelope (GBytes *bytes, const char *session_user, const guint8 session_fingerprint[32],
                                    guint8 ret_id[16], char **ret_recipient, guint8 ret_recipient_fingerprint[32],
                                    GError **error)
{
  if (g_bytes_get_size (bytes) > CHATD_QUEUE_ENVELOPE_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "the envelope is too large to queue");
      return FALSE;
    }
  g_autoptr(ChatdAuthMessage) envelope = chatd_auth_message_parse (bytes, NULL);
  g_autofree char *sender = envelope ? chatd_auth_field_string (envelope, EN_SENDER) : NULL;
  g_autofree char *recipient = envelope ? chatd_auth_field_string (envelope, EN_RECIPIENT) : NULL;
  if (envelope == NULL || envelope->type != CHATD_MSG_ENVELOPE || sender == NULL || recipient == NULL ||
      envelope->fields[EN_ID].len != 16 || envelope->fields[EN_SENDER_FP].len != 32 ||
      envelope->fields[EN_RECIPIENT_FP].len != 32)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "queue needs an envelope");
      return FALSE;
    }
  if (g_ascii_strcasecmp (sender, session_user) != 0 ||
      memcmp (envelope->fields[EN_SENDER_FP].data, session_fingerprint, 32) != 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "the envelope's sender is not this session's user and key");
      return FALSE;
    }
  memcpy (ret_id, envelope->fields[EN_ID].data, 16);
  memcpy (ret_recipient_fingerprint, envelope->fields[EN_RECIPIENT_FP].data, 32);
  *ret_recipient = g_steal_pointer (&recipient);
  return TRUE;
}

gboolean
chatd_offline_queue_receipt_key (const ChatdAuthMessage *receipt, const guint8 **ret_id, const guint8 **ret_hash,
                                 char **ret_sender)
{
  if (receipt->type != CHATD_MSG_RECEIPT || receipt->fields[RC_ID].len != 16 ||
      receipt->fields[RC_ENVELOPE_HASH].len != 32)
    return FALSE;
  char *sender = chatd_auth_field_string (receipt, RC_SENDER);
  if (sender == NULL)
    return FALSE;
  *ret_id = receipt->fields[RC_ID].data;
  *ret_hash = receipt->fields[RC_ENVELOPE_HASH].data;
  *ret_sender = sender;
  return TRUE;
}
