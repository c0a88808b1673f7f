/* mailbox.h: a user node's durable messages and contacts (SQLite in its
 * state directory, committed before a receipt goes out). */
#pragma once
#include "envelope.h"
#include "store.h"

typedef struct _ChatdMailbox ChatdMailbox;

ChatdMailbox *chatd_mailbox_open  (const char *state_dir, GError **error);
void          chatd_mailbox_free  (ChatdMailbox *mailbox);
/* Stores a received message (committed when this returns TRUE).  The same id
 * with the same hash again sets *ret_duplicate (send the receipt again); the
 * same id with another hash is refused and changes nothing. */
gboolean      chatd_mailbox_store (ChatdMailbox *mailbox, const ChatdMessage *message,
                                   gboolean *ret_duplicate, GError **error);
/* aa{sv} in arrival order: id, from, to, time (ISO 8601), text.  since: an id
 * (messages after it), or NULL; from: a user name, or NULL. */
GVariant     *chatd_mailbox_list  (ChatdMailbox *mailbox, const char *since, const char *from,
                                   GError **error);
GVariant     *chatd_message_to_variant (const ChatdMessage *message);

/* Contacts: the key pinned for a name on first use (kept in memory after
 * the first read; every write to a contact drops what was kept). */
GBytes       *chatd_mailbox_contact_key (ChatdMailbox *mailbox, const char *name, char **ret_suite);
/* Pins a key for name; if another key was pinned, replaces it, keeps the old
 * one in the history and sets *ret_changed. */
gboolean      chatd_mailbox_pin_contact (ChatdMailbox *mailbox, const char *name, const char *suite,
                                         GBytes *public_key, gboolean *ret_changed, GError **error);
/* a{sv}: name, suite, fingerprint, pinned (ISO 8601), changed (b), history (as) */
GVariant     *chatd_mailbox_contact (ChatdMailbox *mailbox, const char *name, GError **error);

/* The outbox: one row per envelope sent and not yet stored by its
 * recipient, committed before the envelope first leaves; state "sending"
 * (resent after a restart) or "queued" (at the server). */
#define CHATD_OUTBOX_MAX 10000

typedef struct {
  char   *id;            /* hex */
  char   *recipient;
  GBytes *envelope;      /* the exact bytes sent */
  char   *suite;         /* the recipient key's, to verify the receipt */
  GBytes *public_key;
  gint64  created_ms;
  char   *state;         /* "sending" or "queued" */
} ChatdOutboxEntry;

void              chatd_outbox_entry_free (ChatdOutboxEntry *entry);
/* A full outbox (CHATD_OUTBOX_MAX rows) is CHATD_ERROR_REFUSED. */
gboolean          chatd_mailbox_outbox_add  (ChatdMailbox *mailbox, const char *id, const char *recipient,
                                             GBytes *envelope, const char *suite, GBytes *public_key,
                                             gint64 created_ms, GError **error);
/* CHATD_OUTBOX_MAX unless set (tests) */
void              chatd_mailbox_set_outbox_limit (ChatdMailbox *mailbox, guint limit);
gboolean          chatd_mailbox_outbox_set_queued (ChatdMailbox *mailbox, const char *id, GError **error);
gboolean          chatd_mailbox_outbox_delete (ChatdMailbox *mailbox, const char *id, GError **error);
ChatdOutboxEntry *chatd_mailbox_outbox_get  (ChatdMailbox *mailbox, const char *id);
/* rows in the order sent; state NULL: all */
GPtrArray        *chatd_mailbox_outbox_entries (ChatdMailbox *mailbox, const char *state);
/* aa{sv}: id, to, time (ISO 8601), state */
GVariant         *chatd_mailbox_outbox_list (ChatdMailbox *mailbox, GError **error);

/* Group commit: several stores, outbox rows and deletions in one
 * transaction, synced once at the commit (synchronous=FULL). */
gboolean          chatd_mailbox_begin    (ChatdMailbox *mailbox, GError **error);
/* A group commit of outbox deletions only: not synced at its commit (lost
 * only to a power cut before the next synced commit, which brings the rows
 * back and the resends are acknowledged again: doc/storage.md). */
gboolean          chatd_mailbox_begin_deletes (ChatdMailbox *mailbox, GError **error);
gboolean          chatd_mailbox_commit   (ChatdMailbox *mailbox, GError **error);
void              chatd_mailbox_rollback (ChatdMailbox *mailbox);
/* Deletes an outbox row (inside a group commit). */
gboolean          chatd_mailbox_outbox_remove (ChatdMailbox *mailbox, const char *id, GError **error);

/* Whether a contact's key record ever advertised peer sessions (sticky:
 * set once, never cleared by a record without it). */
gboolean          chatd_mailbox_contact_sessions     (ChatdMailbox *mailbox, const char *name);
gboolean          chatd_mailbox_set_contact_sessions (ChatdMailbox *mailbox, const char *name, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdMailbox, chatd_mailbox_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdOutboxEntry, chatd_outbox_entry_free)
