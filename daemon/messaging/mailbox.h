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

/* Contacts: the key pinned for a name on first use. */
GBytes       *chatd_mailbox_contact_key (ChatdMailbox *mailbox, const char *name, char **ret_suite);
/* Pins a key for name; if another key was pinned, replaces it, keeps the old
 * one in the history and sets *ret_changed. */
gboolean      chatd_mailbox_pin_contact (ChatdMailbox *mailbox, const char *name, const char *suite,
                                         GBytes *public_key, gboolean *ret_changed, GError **error);
/* a{sv}: name, suite, fingerprint, pinned (ISO 8601), changed (b), history (as) */
GVariant     *chatd_mailbox_contact (ChatdMailbox *mailbox, const char *name, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdMailbox, chatd_mailbox_free)
