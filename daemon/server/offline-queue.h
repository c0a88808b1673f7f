/* offline-queue.h: the server's queue of end-to-end envelopes for users who
 * are offline (or unreachable), and the notices (forwarded receipts, expiry)
 * that wait for a sender's next login (doc/protocol.md, "Offline queue").
 *
 * Tables in the server's SQLite database (directory.db, migration 2); no
 * sockets, no crypto beyond SHA-256 of the stored bytes.  The caller has
 * parsed and checked the envelope (sender = session user, registered
 * recipient); names are given as registered and stored folded as well.
 */
#pragma once
#include <gio/gio.h>
#include "store/store.h"
#include "auth-message.h"

/* migration 2 of directory.db */
#define CHATD_OFFLINE_QUEUE_MIGRATION \
  "CREATE TABLE queue ("                                       \
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"                   \
  "  id BLOB NOT NULL,"                                        \
  "  recipient_key TEXT NOT NULL,"                             \
  "  recipient TEXT NOT NULL,"                                 \
  "  sender_key TEXT NOT NULL,"                                \
  "  sender TEXT NOT NULL,"                                    \
  "  hash BLOB NOT NULL,"                                      \
  "  envelope BLOB NOT NULL,"                                  \
  "  size INTEGER NOT NULL,"                                   \
  "  created INTEGER NOT NULL,"                                \
  "  expires INTEGER NOT NULL,"                                \
  "  UNIQUE (id, recipient_key));"                             \
  "CREATE INDEX queue_recipient ON queue (recipient_key, seq);" \
  "CREATE INDEX queue_expires ON queue (expires);"             \
  "CREATE TABLE queue_notices ("                               \
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"                   \
  "  user_key TEXT NOT NULL,"                                  \
  "  message BLOB NOT NULL,"                                   \
  "  expires INTEGER NOT NULL);"                               \
  "CREATE INDEX queue_notices_user ON queue_notices (user_key, seq);"

#define CHATD_QUEUE_LIMIT_DEFAULT      1000                    /* envelopes per recipient */
#define CHATD_QUEUE_BYTES_DEFAULT      (64 * 1024 * 1024)      /* bytes per recipient */
#define CHATD_QUEUE_TTL_DEFAULT        (7 * 24 * 3600)         /* seconds */
#define CHATD_QUEUE_TTL_MAX            (7 * 24 * 3600)         /* recipients refuse older envelopes */
#define CHATD_QUEUE_NOTICES_MAX        10000                   /* waiting notices per user */
#define CHATD_QUEUE_ENVELOPE_MAX       (1024 * 1024 + 8192)    /* bytes of one queued envelope */

typedef struct {
  guint   limit;          /* envelopes per recipient */
  guint64 bytes_limit;    /* bytes per recipient */
  gint64  ttl_s;          /* seconds an envelope waits at most */
  guint   notices_limit;  /* notices per user */
} ChatdOfflineQueueConfig;

void chatd_offline_queue_config_init (ChatdOfflineQueueConfig *config);

typedef struct _ChatdOfflineQueue ChatdOfflineQueue;

typedef struct {
  gint64  seq;
  guint8  id[16];
  char   *sender;          /* as registered */
  char   *recipient;
  guint8  hash[32];        /* SHA-256 of the envelope */
  GBytes *envelope;
} ChatdQueueEntry;

void chatd_queue_entry_free (ChatdQueueEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdQueueEntry, chatd_queue_entry_free)

/* The checks of a `queue` request: an ENVELOPE whose sender is the
 * session's user (case-insensitively) with that user's key fingerprint.
 * Returns the envelope's id, recipient name (unchecked: look it up) and
 * recipient key fingerprint. */
gboolean chatd_offline_queue_check_envelope (GBytes *bytes, const char *session_user,
                                             const guint8 session_fingerprint[32], guint8 ret_id[16],
                                             char **ret_recipient, guint8 ret_recipient_fingerprint[32],
                                             GError **error);
/* The id and envelope hash a RECEIPT names (pointers into it), or FALSE. */
gboolean chatd_offline_queue_receipt_key (const ChatdAuthMessage *receipt, const guint8 **ret_id,
                                          const guint8 **ret_hash, char **ret_sender);

/* store is borrowed (the directory's) and has migration 2 applied. */
ChatdOfflineQueue *chatd_offline_queue_new  (ChatdStore *store, const ChatdOfflineQueueConfig *config);
void               chatd_offline_queue_free (ChatdOfflineQueue *queue);
const ChatdOfflineQueueConfig *chatd_offline_queue_get_config (ChatdOfflineQueue *queue);

/* Stores an envelope for recipient (committed when this returns TRUE).  The
 * same id for the same recipient with the same bytes sets *ret_duplicate
 * and changes nothing; with other bytes: CHATD_ERROR_EXISTS.  A full queue
 * (count or bytes): CHATD_ERROR_REFUSED, a message naming the recipient and
 * the limit; nothing is stored. */
gboolean chatd_offline_queue_add (ChatdOfflineQueue *queue, const guint8 id[16], const char *sender,
                                  const char *recipient, GBytes *envelope, gint64 now,
                                  gboolean *ret_duplicate, GError **error);
/* The first entry for recipient with seq > after_seq, or NULL. */
ChatdQueueEntry *chatd_offline_queue_next (ChatdOfflineQueue *queue, const char *recipient,
                                           gint64 after_seq);
/* A receipt from recipient for (id, hash): if it matches an entry, deletes
 * it and returns it (its sender is whom to tell); else NULL. */
ChatdQueueEntry *chatd_offline_queue_take_receipted (ChatdOfflineQueue *queue, const char *recipient,
                                                     const guint8 id[16], const guint8 hash[32]);
/* Deletes the entries whose time to live has passed and returns them
 * (GPtrArray of ChatdQueueEntry*, at most max); also drops expired notices. */
GPtrArray *chatd_offline_queue_expire (ChatdOfflineQueue *queue, gint64 now, guint max);
/* Entries and bytes waiting for recipient. */
void       chatd_offline_queue_count  (ChatdOfflineQueue *queue, const char *recipient,
                                       guint *ret_count, guint64 *ret_bytes);

/* Everything waiting: envelopes and notices. */
void       chatd_offline_queue_totals (ChatdOfflineQueue *queue, guint64 *ret_envelopes, guint64 *ret_notices);

/* Notices for a user who is offline: stored until handed over (then
 * deleted by seq), or until the time to live passes.  A full notice box:
 * CHATD_ERROR_REFUSED. */
gboolean   chatd_offline_queue_add_notice (ChatdOfflineQueue *queue, const char *user, GBytes *message,
                                           gint64 now, gint64 *ret_seq, GError **error);
/* Up to max waiting notices of user, oldest first: arrays of seqs (gint64)
 * and GBytes*. */
void       chatd_offline_queue_notices    (ChatdOfflineQueue *queue, const char *user, guint max,
                                           GArray **ret_seqs, GPtrArray **ret_messages);
gboolean   chatd_offline_queue_delete_notice (ChatdOfflineQueue *queue, gint64 seq, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdOfflineQueue, chatd_offline_queue_free)
