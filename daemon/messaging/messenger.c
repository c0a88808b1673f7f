/* messenger.c: a user node's messages to and from other user nodes. */
#define G_LOG_DOMAIN "chatd-messaging"
#include "messenger.h"
#include "auth-message.h"
#include "envelope.h"
#include "key-record.h"
#include "mailbox.h"
#include "message-event.h"
#include "manifest.h"
#include "node.h"
#include "peer-channel.h"
#include "peer-handshake.h"
#include "user-role.h"
#include "vardict.h"

#include <gcrypt.h>
#include <string.h>

struct _ChatdMessenger {
  ChatdUserRole  *role;
  ChatdNode      *node;
  ChatdTransport *transport;
  ChatdMailbox   *mailbox;
  GHashTable     *awaiting;    /* message id (hex) -> Delivery*: in the outbox, being sent or queued */
  ChatdPeerChannels *channels; /* forward-secret sessions; NULL when this node does not speak them */
  GHashTable     *peer_features; /* folded name -> PeerFeatures*: what a key record said, for a while */
  /* the signed list, kept CHATD_MANIFEST_CACHE_US for the sends after it */
  ChatdManifest  *manifest;
  gint64          manifest_at_us;
  GPtrArray      *manifest_waiters;   /* SendJob* waiting for the fetch in flight, or NULL */
  /* group commit: what one main-loop iteration brought, in one transaction */
  GPtrArray      *batch_outbox;   /* Delivery* (session): rows to add, then send */
  GPtrArray      *batch_inbox;    /* InboxItem*: messages to store, then receipts */
  GPtrArray      *batch_deletes;  /* char* ids of delivered session messages */
  guint           batch_source;
  /* resends that failed while this node is online are tried again */
  gboolean        online;            /* between session_started and session_ended */
  guint           outbox_retry;      /* the timer, or 0 */
  guint           outbox_retry_s;    /* its next delay: doubles up to CHATD_OUTBOX_RETRY_MAX_S */
  guint64         n_sent, n_delivered, n_received, n_duplicates, n_refused, n_queued, n_expired;
  guint64         n_envelopes_received, n_envelopes_direct, n_session_sent, n_session_received, n_downgrades_refused;
};

/* how long a signed list serves further sends (a recipient who went
 * offline meanwhile fails the direct send, which then goes to the queue or,
 * in a session, fails with a reason to retry) */
#define CHATD_MANIFEST_CACHE_US   (G_USEC_PER_SEC)
/* how long a key record's features are trusted before being asked again */
#define CHATD_FEATURES_CACHE_US   (60 * G_USEC_PER_SEC)
/* the outbox row of a message sent in a session: this prefix, then the
 * session plaintext (id, time, text) */
#define SESSION_ROW_MAGIC         "CHPS"
/* a resend that failed (its recipient listed but not answering, or the
 * list not reachable) is tried again after this, then twice as long, ... */
#define CHATD_OUTBOX_RETRY_FIRST_S 5
#define CHATD_OUTBOX_RETRY_MAX_S   300

static void schedule_outbox_retry (ChatdMessenger *m);

typedef struct {
  GBytes  *public_key;
  char    *address;     /* a node started again (another address) is asked again */
  gboolean sessions;
  gint64   at_us;
} PeerFeatures;

static void
peer_features_free (PeerFeatures *f)
{
  g_free (f->address);
  g_bytes_unref (f->public_key);
  g_free (f);
}

/* one `send` call: one message to one or more recipients */
typedef struct {
  ChatdMessenger  *messenger;
  const ChatdHost *host;
  ChatdCall       *call;
  char            *text;
  GStrv            recipients;
  guint            pending;
  GPtrArray       *results;     /* a{sv} per recipient (to, id, status, reason), sunk */
  GString         *failures;
  GHashTable      *warnings;    /* recipient -> "the key of X changed: ..." */
  gint64           accepted_us;  /* chat-bench: monotonic time the send call arrived */
} SendJob;

/* one envelope on its way: its outbox row exists */
typedef struct {
  ChatdMessenger *messenger;
  SendJob        *job;           /* NULL for a resend from the outbox */
  ChatdMessage   *message;       /* id, sender, recipient, hash */
  ChatdKey       *recipient_key;
  GBytes         *envelope;
  char           *address;       /* NULL: straight to the server's queue */
  guint           timeout;
  gboolean        queueing;      /* the queue request is out */
  /* in a session (no envelope): */
  gboolean        session;
  GBytes         *plaintext;     /* id, time, text */
  GBytes         *row;           /* the outbox row's bytes */
  char           *suite;         /* the recipient key's, for the row */
  GBytes         *public_key;
  ChatdAddress    peer;
  gboolean        fallback_done; /* its failure was checked against a fresh list once */
} Delivery;

/* a message that came in a session, to commit with the others of its batch */
typedef struct {
  ChatdMessage *message;
  gpointer      receipt_ref;
} InboxItem;

static void
send_job_finish (SendJob *job)
{
  g_autoptr(GVariant) results = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE_VARDICT,
                                                                      (GVariant **) job->results->pdata,
                                                                      job->results->len));
  if (job->failures->len > 0)
    {
      GHashTableIter iter;
      gpointer warning;
      g_hash_table_iter_init (&iter, job->warnings);
      while (g_hash_table_iter_next (&iter, NULL, &warning))
        g_string_append_printf (job->failures, " (warning: %s)", (const char *) warning);
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_FAILED, "%s", job->failures->str);
      job->host->call_fail (job->call, error);
    }
  else
    job->host->call_return (job->call, g_steal_pointer (&results));
  g_ptr_array_unref (job->results);
  g_string_free (job->failures, TRUE);
  g_hash_table_unref (job->warnings);
  chatd_wipe (job->text, strlen (job->text));
  g_free (job->text);
  g_strfreev (job->recipients);
  g_free (job);
}

static void
job_result (SendJob *job, const char *to, const char *id, const char *status, const char *reason)
{
  /* one flat dictionary (a result per message on the hot path: no builder) */
  ChatdVardictMember members[6] = {
    { "to", to, 0 },
    { "id", id ? id : "", 0 },
    { "status", status, 0 },
    { "accepted-us", NULL, job->accepted_us },   /* chat-bench */
  };
  gsize n = 4;
  /* the flat writer takes valid UTF-8 only; a reason may quote anything */
  const char *warning = g_hash_table_lookup (job->warnings, to);
  g_autofree char *valid_warning = warning != NULL ? g_utf8_make_valid (warning, -1) : NULL;
  g_autofree char *valid_reason = reason != NULL ? g_utf8_make_valid (reason, -1) : NULL;
  if (warning != NULL)
    members[n++] = (ChatdVardictMember) { "warning", valid_warning, 0 };
  if (reason != NULL)
    {
      members[n++] = (ChatdVardictMember) { "reason", valid_reason, 0 };
      if (g_str_equal (status, "failed"))
        g_string_append_printf (job->failures, "%s%s: %s", job->failures->len ? "; " : "", to, reason);
    }
  g_ptr_array_add (job->results, g_variant_ref_sink (chatd_vardict_new_flat (n, members)));
  if (--job->pending == 0)
    send_job_finish (job);
}

static void
delivery_free (Delivery *d)
{
  if (d->timeout != 0)
    g_source_remove (d->timeout);
  chatd_message_free (d->message);
  g_clear_pointer (&d->recipient_key, chatd_key_free);
  g_clear_pointer (&d->envelope, g_bytes_unref);
  g_clear_pointer (&d->plaintext, g_bytes_unref);
  g_clear_pointer (&d->row, g_bytes_unref);
  g_clear_pointer (&d->public_key, g_bytes_unref);
  g_free (d->suite);
  g_free (d->address);
  g_free (d);
}

/* the end of a delivery for the send call (if any); the outbox row is the
 * caller's business */
static void
delivery_done (Delivery *d, const char *status, const char *reason)
{
  ChatdMessenger *m = d->messenger;
  if (d->job != NULL)
    job_result (g_steal_pointer (&d->job), d->message->recipient, d->message->id_text, status, reason);
  else if (reason != NULL)
    g_message ("resent message %s to %s: %s: %s", d->message->id_text, d->message->recipient, status, reason);
  g_hash_table_remove (m->awaiting, d->message->id_text);
}

static void
emit_id_event (ChatdMessenger *m, const char *kind, const char *id, const char *to, const char *text)
{
  ChatdVardictMember members[] = { { .key = "id", .string = id }, { .key = "to", .string = to } };
  chatd_event_hub_emit (m->node->events, kind, chatd_vardict_new_flat (G_N_ELEMENTS (members), members), text);
}

static void
outbox_delete (ChatdMessenger *m, const char *id)
{
  g_autoptr(GError) error = NULL;
  if (!chatd_mailbox_outbox_delete (m->mailbox, id, &error))
    g_warning ("outbox: cannot delete %s: %s", id, error->message);
}

typedef struct {
  ChatdMessenger *messenger;
  char           *id;
} SentTag;

static SentTag *
sent_tag (ChatdMessenger *m, const char *id)
{
  SentTag *tag = g_new0 (SentTag, 1);
  tag->messenger = m;
  tag->id = g_strdup (id);
  return tag;
}

static void
sent_tag_free (SentTag *tag)
{
  g_free (tag->id);
  g_free (tag);
}

/* the server's answer to a queue request */
static void
on_queued (gboolean refused, const GError *error, gpointer user_data)
{
  SentTag *tag = user_data;
  ChatdMessenger *m = tag->messenger;
  Delivery *d = m->awaiting != NULL ? g_hash_table_lookup (m->awaiting, tag->id) : NULL;
  if (d == NULL || !d->queueing)
    {
      sent_tag_free (tag);   /* the receipt came first */
      return;
    }
  d->queueing = FALSE;
  g_autoptr(GError) local = NULL;
  if (error == NULL)
    {
      if (!chatd_mailbox_outbox_set_queued (m->mailbox, d->message->id_text, &local))
        g_warning ("outbox: %s", local->message);
      m->n_queued++;
      g_autofree char *text = g_strdup_printf ("queued %s for %s at the server", d->message->id_text,
                                               d->message->recipient);
      g_message ("%s", text);
      emit_id_event (m, "queued", d->message->id_text, d->message->recipient, text);
      delivery_done (d, "queued", NULL);
    }
  else if (refused)
    {
      /* a refusal leaves nothing behind */
      outbox_delete (m, d->message->id_text);
      delivery_done (d, "failed", error->message);
    }
  else
    {
      /* no answer: the row stays "sending" and goes out again after the next login */
      g_autofree char *reason = g_strdup_printf ("the server did not take it (%s); it stays in the outbox and "
                                                 "is sent again after the next login", error->message);
      delivery_done (d, "pending", reason);
    }
  sent_tag_free (tag);
}

static void
queue_at_server (Delivery *d)
{
  if (d->timeout != 0)
    {
      g_source_remove (d->timeout);
      d->timeout = 0;
    }
  d->queueing = TRUE;
  chatd_user_role_queue_envelope (d->messenger->role, d->envelope, on_queued, sent_tag (d->messenger, d->message->id_text));
}

static gboolean
delivery_timed_out (gpointer user_data)
{
  Delivery *d = user_data;
  d->timeout = 0;
  g_message ("no receipt for %s from %s's node in %d s: queueing it at the server", d->message->id_text,
             d->message->recipient, CHATD_RECEIPT_TIMEOUT_S);
  queue_at_server (d);
  return G_SOURCE_REMOVE;
}

/* the transport's verdict on an envelope: acknowledged (then we wait for the
 * receipt) or failed: unreachable, reset, timed out (then the server queues it) */
static void
on_envelope_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error, gpointer user_data)
{
  SentTag *tag = user_data;
  Delivery *d = error != NULL && tag->messenger->awaiting != NULL
    ? g_hash_table_lookup (tag->messenger->awaiting, tag->id) : NULL;
  if (d != NULL && !d->queueing)
    {
      g_message ("%s's node at %s: %s: queueing %s at the server", d->message->recipient, d->address,
                 error->message, d->message->id_text);
      g_clear_pointer (&tag->messenger->manifest, chatd_manifest_free);
      queue_at_server (d);
    }
  sent_tag_free (tag);
}

/* sends an envelope whose outbox row is committed: directly if an address
 * is known, else (or when that fails) to the server's queue */
static void
start_delivery (ChatdMessenger *m, SendJob *job, ChatdMessage *message, ChatdKey *recipient_key, GBytes *envelope,
                const char *address)
{
  Delivery *d = g_new0 (Delivery, 1);
  d->messenger = m;
  d->job = job;
  d->message = message;
  d->recipient_key = recipient_key;
  d->envelope = g_bytes_ref (envelope);
  g_hash_table_replace (m->awaiting, g_strdup (message->id_text), d);
  m->n_sent++;
  g_autofree char *host = NULL;
  guint16 port = 0;
  ChatdAddress peer;
  if (address == NULL || !chatd_parse_host_port (address, FALSE, &host, &port, NULL) ||
      !chatd_address_parse (host, port, &peer, NULL))
    {
      queue_at_server (d);
      return;
    }
  d->address = g_strdup (address);
  m->n_envelopes_direct++;
  d->timeout = g_timeout_add_seconds (CHATD_RECEIPT_TIMEOUT_S, delivery_timed_out, d);
  chatd_transport_send (m->transport, &peer, envelope, on_envelope_sent, sent_tag (m, message->id_text));
}

static const ChatdSuite *
suite_named (ChatdMessenger *m, const char *name)
{
  return chatd_registry_lookup_suite (m->node->registry, name);
}

static ChatdKey *
import_key (ChatdMessenger *m, const char *suite_name, GBytes *blob, GError **error)
{
  const ChatdSuite *suite = suite_named (m, suite_name);
  if (suite == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED, "suite '%s' is not loaded here", suite_name);
      return NULL;
    }
  return suite->import_public (suite, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), error);
}

/* a key the server vouches for (list, key record): pinned on first use; a
 * different one replaces the pin, raises key-changed and warns the sender */
static void
pin (ChatdMessenger *m, const char *name, const char *suite, GBytes *key, GHashTable *warnings)
{
  gboolean changed = FALSE;
  g_autoptr(GError) error = NULL;
  if (!chatd_mailbox_pin_contact (m->mailbox, name, suite, key, &changed, &error))
    {
      g_warning ("cannot pin the key of %s: %s", name, error->message);
      return;
    }
  if (!changed)
    return;
  guint8 fp[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, fp, g_bytes_get_data (key, NULL), g_bytes_get_size (key));
  g_autofree char *fingerprint = chatd_fingerprint_to_string (fp);
  g_autofree char *text = g_strdup_printf ("the key of %s changed: now %s (chatctl verify %s)", name, fingerprint, name);
  g_warning ("%s", text);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (name));
  g_variant_builder_add (&b, "{sv}", "fingerprint", g_variant_new_string (fingerprint));
  chatd_event_hub_emit (m->node->events, "key-changed", g_variant_builder_end (&b), text);
  if (warnings != NULL)
    g_hash_table_replace (warnings, g_strdup (name), g_steal_pointer (&text));
}

/* seals the job's text to one recipient, commits the outbox row, sends */
static void
seal_and_send (SendJob *job, const char *name, const char *suite, GBytes *public_key, const char *address)
{
  ChatdMessenger *m = job->messenger;
  const ChatdKey *own_key = chatd_user_role_get_user_key (m->role);
  g_autoptr(GError) local = NULL;
  g_autoptr(ChatdKey) key = import_key (m, suite, public_key, &local);
  if (key == NULL || own_key == NULL)
    {
      job_result (job, name, NULL, "failed", local ? local->message : "not logged in");
      return;
    }
  pin (m, name, suite, public_key, job->warnings);
  ChatdMessage *message = NULL;
  g_autoptr(GBytes) envelope = chatd_envelope_seal (own_key, m->node->name, key, name, job->text, strlen (job->text),
                                                    g_get_real_time () / 1000, &message, &local);
  if (envelope == NULL)
    {
      job_result (job, name, NULL, "failed", local->message);
      return;
    }
  /* committed before it first leaves: a crash from here on resends it */
  if (!chatd_mailbox_outbox_add (m->mailbox, message->id_text, name, envelope, suite, public_key, message->time_ms,
                                 &local))
    {
      job_result (job, name, NULL, "failed", local->message);
      chatd_message_free (message);
      return;
    }
  start_delivery (m, job, message, g_steal_pointer (&key), envelope, address);
}

/* --- messages in forward-secret sessions (doc/protocol.md, "Peer session
 * (forward-secret)", "Integration") --- */

static gboolean flush_batch (gpointer user_data);

static void
schedule_batch (ChatdMessenger *m)
{
  /* at the priority of the socket's source: runs once the sources ready in
   * this main-loop iteration have been dispatched */
  if (m->batch_source == 0)
    m->batch_source = g_idle_add_full (G_PRIORITY_DEFAULT, flush_batch, m, NULL);
}

/* plaintext = id (16) | time (8, unix ms, BE) | text */
static GBytes *
session_plaintext (const ChatdMessage *message, const char *text)
{
  gsize len = strlen (text);
  guint8 *out = g_malloc (CHATD_MESSAGE_ID_LEN + 8 + len);
  memcpy (out, message->id, CHATD_MESSAGE_ID_LEN);
  guint64 t = (guint64) message->time_ms;
  for (int i = 7; i >= 0; i--, t >>= 8)
    out[CHATD_MESSAGE_ID_LEN + i] = (guint8) t;
  memcpy (out + CHATD_MESSAGE_ID_LEN + 8, text, len);
  return g_bytes_new_take (out, CHATD_MESSAGE_ID_LEN + 8 + len);
}

static char *id_hex (const guint8 *id);

/* the message a session plaintext carries, or NULL */
static ChatdMessage *
session_message_parse (GBytes *plaintext, const char *sender, const char *recipient, GError **error)
{
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (plaintext, &len);
  if (len <= CHATD_MESSAGE_ID_LEN + 8 || len - CHATD_MESSAGE_ID_LEN - 8 > CHATD_MESSAGE_TEXT_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "malformed message in a peer session");
      return NULL;
    }
  const char *text = (const char *) p + CHATD_MESSAGE_ID_LEN + 8;
  gsize text_len = len - CHATD_MESSAGE_ID_LEN - 8;
  if (!g_utf8_validate_len (text, text_len, NULL) || memchr (text, 0, text_len) != NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "message text is not UTF-8");
      return NULL;
    }
  guint64 t = 0;
  for (int i = 0; i < 8; i++)
    t = t << 8 | p[CHATD_MESSAGE_ID_LEN + i];
  gint64 now_ms = g_get_real_time () / 1000;
  if ((gint64) t > now_ms + CHATD_MESSAGE_FUTURE_MAX_MS || (gint64) t < now_ms - CHATD_MESSAGE_TTL_MS)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "message time out of range");
      return NULL;
    }
  ChatdMessage *message = g_new0 (ChatdMessage, 1);
  memcpy (message->id, p, CHATD_MESSAGE_ID_LEN);
  message->id_text = id_hex (message->id);
  message->time_ms = (gint64) t;
  message->sender = g_strdup (sender);
  message->recipient = g_strdup (recipient);
  message->text = g_strndup (text, text_len);
  /* the same id and text again (a resend in a new session) is a duplicate */
  gcry_md_hash_buffer (GCRY_MD_SHA256, message->hash, p, len);
  return message;
}

static void
batch_delete (ChatdMessenger *m, const char *id)
{
  g_ptr_array_add (m->batch_deletes, g_strdup (id));
  schedule_batch (m);
}

/* A message id: the send time (unix ms, 6 bytes, big-endian), then 10
 * random bytes.  Ids in time order go in at the end of the recipient's
 * (and the outbox's) id index: a group commit writes a page or two of it,
 * not one page per message as random ids do (doc/storage.md).  The time is
 * in the same plaintext anyway; 80 random bits keep ids apart. */
static void
session_message_id (gint64 time_ms, guint8 *ret_id)
{
  guint64 t = (guint64) time_ms;
  for (int i = 5; i >= 0; i--, t >>= 8)
    ret_id[i] = (guint8) t;
  gcry_create_nonce (ret_id + 6, CHATD_MESSAGE_ID_LEN - 6);
}

/* one recipient whose node is online and speaks sessions, as we do */
static void
session_send (SendJob *job, const char *name, const char *suite, GBytes *public_key, const char *address)
{
  ChatdMessenger *m = job->messenger;
  g_autoptr(GError) local = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;
  ChatdAddress peer;
  if (chatd_user_role_get_user_key (m->role) == NULL)
    {
      job_result (job, name, NULL, "failed", "not logged in");
      return;
    }
  if (!chatd_parse_host_port (address, FALSE, &host, &port, &local) ||
      !chatd_address_parse (host, port, &peer, &local) ||
      !chatd_peer_channels_set_peer_key (m->channels, name, suite, public_key, &local))
    {
      job_result (job, name, NULL, "failed", local->message);
      return;
    }
  Delivery *d = g_new0 (Delivery, 1);
  d->messenger = m;
  d->job = job;
  d->session = TRUE;
  d->message = g_new0 (ChatdMessage, 1);
  d->message->time_ms = g_get_real_time () / 1000;
  session_message_id (d->message->time_ms, d->message->id);
  d->message->id_text = id_hex (d->message->id);
  d->message->sender = g_strdup (m->node->name);
  d->message->recipient = g_strdup (name);
  d->plaintext = session_plaintext (d->message, job->text);
  GByteArray *row = g_byte_array_new ();
  g_byte_array_append (row, (const guint8 *) SESSION_ROW_MAGIC, 4);
  g_byte_array_append (row, g_bytes_get_data (d->plaintext, NULL), g_bytes_get_size (d->plaintext));
  d->row = g_byte_array_free_to_bytes (row);
  d->suite = g_strdup (suite);
  d->public_key = g_bytes_ref (public_key);
  d->address = g_strdup (address);
  d->peer = peer;
  /* the outbox row is committed (with the others of this iteration) before
   * the message leaves */
  g_ptr_array_add (m->batch_outbox, d);
  schedule_batch (m);
}

static void
start_session_delivery (ChatdMessenger *m, Delivery *d)
{
  g_hash_table_replace (m->awaiting, g_strdup (d->message->id_text), d);
  m->n_sent++;
  m->n_session_sent++;
  chatd_peer_channels_send (m->channels, d->message->recipient, &d->peer, d->plaintext, d);
}

static void
inbox_item_free (InboxItem *item)
{
  chatd_message_free (item->message);
  g_free (item);
}

static gboolean
flush_batch (gpointer user_data)
{
  ChatdMessenger *m = user_data;
  m->batch_source = 0;
  g_autoptr(GPtrArray) outbox = g_steal_pointer (&m->batch_outbox);
  g_autoptr(GPtrArray) inbox = g_steal_pointer (&m->batch_inbox);
  g_autoptr(GPtrArray) deletes = g_steal_pointer (&m->batch_deletes);
  m->batch_outbox = g_ptr_array_new ();
  m->batch_inbox = g_ptr_array_new_with_free_func ((GDestroyNotify) inbox_item_free);
  m->batch_deletes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  /* new rows (inbox, outbox) are synced before any receipt or send; a batch
   * of deletions alone is not (mailbox.h, doc/storage.md) */
  gboolean ok = inbox->len == 0 && outbox->len == 0 ? chatd_mailbox_begin_deletes (m->mailbox, &error)
                                                     : chatd_mailbox_begin (m->mailbox, &error);
  g_autofree gboolean *stored = g_new0 (gboolean, inbox->len + 1);
  g_autofree gboolean *duplicate = g_new0 (gboolean, inbox->len + 1);
  g_autofree char **outbox_errors = g_new0 (char *, outbox->len + 1);
  for (guint i = 0; ok && i < inbox->len; i++)
    {
      InboxItem *item = inbox->pdata[i];
      g_autoptr(GError) local = NULL;
      stored[i] = chatd_mailbox_store (m->mailbox, item->message, &duplicate[i], &local);
      if (!stored[i])
        g_message ("message %s from %s dropped: %s", item->message->id_text, item->message->sender, local->message);
    }
  for (guint i = 0; ok && i < outbox->len; i++)
    {
      Delivery *d = outbox->pdata[i];
      g_autoptr(GError) local = NULL;
      if (!chatd_mailbox_outbox_add (m->mailbox, d->message->id_text, d->message->recipient, d->row, d->suite,
                                     d->public_key, d->message->time_ms, &local))
        outbox_errors[i] = g_strdup (local->message);
    }
  for (guint i = 0; ok && i < deletes->len; i++)
    {
      g_autoptr(GError) local = NULL;
      if (!chatd_mailbox_outbox_remove (m->mailbox, deletes->pdata[i], &local))
        g_warning ("outbox: cannot delete %s: %s", (const char *) deletes->pdata[i], local->message);
    }
  if (ok && !chatd_mailbox_commit (m->mailbox, &error))
    {
      chatd_mailbox_rollback (m->mailbox);
      ok = FALSE;
    }
  if (!ok)
    g_warning ("mailbox: a group commit failed: %s", error->message);
  gint64 stored_us = g_get_monotonic_time ();   /* chat-bench */
  /* committed: now the receipts, the events and the sends */
  for (guint i = 0; i < inbox->len; i++)
    {
      InboxItem *item = inbox->pdata[i];
      gboolean kept = ok && stored[i];
      chatd_peer_channels_send_receipt (m->channels, g_steal_pointer (&item->receipt_ref), kept);
      if (!kept)
        {
          m->n_refused++;
          continue;
        }
      if (duplicate[i])
        {
          m->n_duplicates++;
          continue;
        }
      m->n_received++;
      m->n_session_received++;
      ChatdMessage *message = item->message;
      g_autofree char *text = g_strdup_printf ("%s: %s", message->sender, message->text);
      chatd_event_hub_emit (m->node->events, "message",
                            chatd_message_event_data (message, stored_us),
                            text);
    }
  for (guint i = 0; i < outbox->len; i++)
    {
      Delivery *d = outbox->pdata[i];
      if (ok && outbox_errors[i] == NULL)
        start_session_delivery (m, d);
      else
        {
          if (d->job != NULL)
            job_result (d->job, d->message->recipient, NULL, "failed",
                        outbox_errors[i] ? outbox_errors[i] : error->message);
          delivery_free (d);
        }
      g_free (outbox_errors[i]);
    }
  return G_SOURCE_REMOVE;
}

static const ChatdKey *
channel_own_key (gpointer data)
{
  ChatdMessenger *m = data;
  return chatd_user_role_get_user_key (m->role);
}

static void
on_session_delivered (gpointer tag, gpointer data)
{
  ChatdMessenger *m = data;
  Delivery *d = tag;
  if (d->job == NULL)
    m->outbox_retry_s = 0;
  batch_delete (m, d->message->id_text);
  m->n_delivered++;
  g_autofree char *text = g_strdup_printf ("%s stored %s", d->message->recipient, d->message->id_text);
  emit_id_event (m, "delivery", d->message->id_text, d->message->recipient, text);
  delivery_done (d, "delivered", NULL);
}

typedef struct {
  ChatdMessenger *messenger;
  char           *id;
  char           *reason;
} Fallback;

static void
fallback_free (Fallback *f)
{
  g_free (f->id);
  g_free (f->reason);
  g_free (f);
}

/* the recipient is offline now (not in a fresh signed list): the same
 * message (same id, time and text) goes to the server's queue as an
 * envelope, as for any offline recipient */
static void
queue_as_envelope (ChatdMessenger *m, Delivery *d)
{
  SendJob *job = g_steal_pointer (&d->job);
  g_autofree char *recipient = g_strdup (d->message->recipient);
  g_autofree char *id_text = g_strdup (d->message->id_text);
  const ChatdKey *own_key = chatd_user_role_get_user_key (m->role);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdKey) key = import_key (m, d->suite, d->public_key, &error);
  gsize len = 0;
  const char *text = (const char *) g_bytes_get_data (d->plaintext, &len) + CHATD_MESSAGE_ID_LEN + 8;
  ChatdMessage *message = NULL;
  g_autoptr(GBytes) envelope = key != NULL && own_key != NULL
    ? chatd_envelope_seal_with_id (own_key, m->node->name, key, recipient, text, len - CHATD_MESSAGE_ID_LEN - 8,
                                   d->message->time_ms, d->message->id, &message, &error)
    : NULL;
  g_autofree char *suite = g_strdup (d->suite);
  g_autoptr(GBytes) public_key = g_bytes_ref (d->public_key);
  g_hash_table_remove (m->awaiting, id_text);   /* frees d */
  if (envelope == NULL || !chatd_mailbox_outbox_delete (m->mailbox, id_text, &error) ||
      !chatd_mailbox_outbox_add (m->mailbox, id_text, recipient, envelope, suite, public_key, message->time_ms,
                                 &error))
    {
      chatd_message_free (message);
      if (job != NULL)
        job_result (job, recipient, id_text, "failed", error ? error->message : "not logged in");
      return;
    }
  g_message ("%s went offline: %s goes to the server's queue", recipient, id_text);
  start_delivery (m, job, message, g_steal_pointer (&key), envelope, NULL);
}

static void
on_manifest_for_fallback (ChatdManifest *manifest, const GError *error, gpointer user_data)
{
  Fallback *f = user_data;
  ChatdMessenger *m = f->messenger;
  Delivery *d = g_hash_table_lookup (m->awaiting, f->id);
  if (d == NULL)
    {
      fallback_free (f);
      return;
    }
  const ChatdManifestEntry *entry = NULL;
  for (guint j = 0; manifest != NULL && j < manifest->entries->len && entry == NULL; j++)
    if (g_ascii_strcasecmp (((ChatdManifestEntry *) manifest->entries->pdata[j])->name, d->message->recipient) == 0)
      entry = manifest->entries->pdata[j];
  g_autofree char *host = NULL;
  guint16 port = 0;
  ChatdAddress peer;
  if (manifest != NULL && entry == NULL)
    queue_as_envelope (m, d);
  else if (entry != NULL && g_strcmp0 (entry->address, d->address) != 0 && g_bytes_equal (entry->public_key, d->public_key) &&
           chatd_parse_host_port (entry->address, FALSE, &host, &port, NULL) &&
           chatd_address_parse (host, port, &peer, NULL))
    {
      /* its node came back elsewhere: once more, in a session with it */
      g_free (d->address);
      d->address = g_strdup (entry->address);
      d->peer = peer;
      gpointer key = NULL;
      g_hash_table_steal_extended (m->awaiting, f->id, &key, NULL);
      g_free (key);
      m->n_sent--;
      m->n_session_sent--;
      start_session_delivery (m, d);
    }
  else if (d->job == NULL)
    {
      /* a resend from the outbox keeps its row, and is tried again */
      delivery_done (d, "failed", f->reason);
      schedule_outbox_retry (m);
    }
  else
    {
      batch_delete (m, d->message->id_text);
      delivery_done (d, "failed", f->reason);
    }
  fallback_free (f);
}

static void
on_session_failed (gpointer tag, const GError *error, gpointer data)
{
  ChatdMessenger *m = data;
  Delivery *d = tag;
  g_clear_pointer (&m->manifest, chatd_manifest_free);
  if (d->fallback_done && d->job == NULL)
    {
      /* a resend from the outbox keeps its row, and is tried again */
      delivery_done (d, "failed", error->message);
      schedule_outbox_retry (m);
      return;
    }
  if (d->fallback_done)
    {
      /* a send that fails leaves nothing behind */
      batch_delete (m, d->message->id_text);
      delivery_done (d, "failed", error->message);
      return;
    }
  /* is the recipient still online (then: fail, to retry), or gone (then:
   * the offline queue), or back at another address (then: once more)? */
  d->fallback_done = TRUE;
  Fallback *f = g_new0 (Fallback, 1);
  f->messenger = m;
  f->id = g_strdup (d->message->id_text);
  f->reason = g_strdup (error->message);
  chatd_user_role_fetch_manifest (m->role, on_manifest_for_fallback, f);
}

static void
on_session_received (const char *peer, GBytes *plaintext, gpointer receipt_ref, gpointer data)
{
  ChatdMessenger *m = data;
  g_autoptr(GError) error = NULL;
  ChatdMessage *message = session_message_parse (plaintext, peer, m->node->name, &error);
  if (message == NULL)
    {
      m->n_refused++;
      g_message ("message from %s in a peer session dropped: %s", peer, error->message);
      chatd_peer_channels_send_receipt (m->channels, receipt_ref, FALSE);
      return;
    }
  InboxItem *item = g_new0 (InboxItem, 1);
  item->message = message;
  item->receipt_ref = receipt_ref;
  g_ptr_array_add (m->batch_inbox, item);
  schedule_batch (m);
}

typedef struct {
  ChatdMessenger *messenger;
  char           *peer;
} NeedKey;

static void
on_need_key_record (gpointer record_ptr, const GError *error, gpointer user_data)
{
  NeedKey *need = user_data;
  ChatdMessenger *m = need->messenger;
  const char *peer = need->peer;
  ChatdKeyRecord *record = record_ptr;
  g_autoptr(GError) local = NULL;
  if (record == NULL || g_ascii_strcasecmp (record->name, peer) != 0)
    g_message ("PEER_INIT from %s: no key for it (%s)", peer, error ? error->message : "the record names another user");
  else
    {
      pin (m, record->name, record->suite, record->public_key, NULL);
      if (!chatd_peer_channels_set_peer_key (m->channels, record->name, record->suite, record->public_key, &local))
        g_message ("PEER_INIT from %s: %s", peer, local->message);
    }
  g_free (need->peer);
  g_free (need);
}

static void
on_need_key (const char *peer, gpointer data)
{
  ChatdMessenger *m = data;
  g_autofree char *suite = NULL;
  g_autoptr(GBytes) pinned = chatd_mailbox_contact_key (m->mailbox, peer, &suite);
  if (pinned != NULL)
    {
      g_autoptr(GError) error = NULL;
      if (!chatd_peer_channels_set_peer_key (m->channels, peer, suite, pinned, &error))
        g_message ("PEER_INIT from %s: %s", peer, error->message);
      return;
    }
  NeedKey *need = g_new0 (NeedKey, 1);
  need->messenger = m;
  need->peer = g_strdup (peer);
  chatd_user_role_fetch_key_record (m->role, peer, on_need_key_record, need);
}

/* --- which way: envelope or session (the no-downgrade rule) --- */

typedef struct {
  SendJob *job;
  char    *name, *suite, *address;
  GBytes  *public_key;
} FeatureLookup;

static void
feature_lookup_free (FeatureLookup *l)
{
  g_free (l->name);
  g_free (l->suite);
  g_free (l->address);
  g_bytes_unref (l->public_key);
  g_free (l);
}

static void
route_with_features (SendJob *job, const char *name, const char *suite, GBytes *public_key, const char *address,
                     gboolean peer_sessions)
{
  ChatdMessenger *m = job->messenger;
  if (!peer_sessions && chatd_mailbox_contact_sessions (m->mailbox, name))
    {
      m->n_downgrades_refused++;
      g_autofree char *reason = g_strdup_printf ("%s's key record no longer advertises peer sessions, which it did "
                                                 "before (a downgrade?): refused, nothing was sent", name);
      g_warning ("%s", reason);
      job_result (job, name, NULL, "failed", reason);
      return;
    }
  if (chatd_peer_policy (TRUE, peer_sessions) != CHATD_PEER_POLICY_SESSION_REQUIRED)
    {
      seal_and_send (job, name, suite, public_key, address);
      return;
    }
  pin (m, name, suite, public_key, job->warnings);
  g_autoptr(GError) error = NULL;
  if (!chatd_mailbox_set_contact_sessions (m->mailbox, name, &error))
    g_warning ("contacts: %s", error->message);
  session_send (job, name, suite, public_key, address);
}

static void
on_features_record (gpointer record_ptr, const GError *error, gpointer user_data)
{
  FeatureLookup *l = user_data;
  ChatdKeyRecord *record = record_ptr;
  ChatdMessenger *m = l->job->messenger;
  if (record == NULL)
    job_result (l->job, l->name, NULL, "failed", error ? error->message : "no key record");
  else if (g_ascii_strcasecmp (record->name, l->name) != 0 || !g_bytes_equal (record->public_key, l->public_key))
    job_result (l->job, l->name, NULL, "failed", "the server's list and key record disagree on the key");
  else
    {
      PeerFeatures *f = g_new0 (PeerFeatures, 1);
      f->public_key = g_bytes_ref (record->public_key);
      f->address = g_strdup (l->address);
      f->sessions = chatd_key_record_has_feature (record, CHATD_FEATURE_PEER_SESSION);
      f->at_us = g_get_monotonic_time ();
      g_hash_table_replace (m->peer_features, g_ascii_strdown (l->name, -1), f);
      route_with_features (l->job, l->name, l->suite, l->public_key, l->address, f->sessions);
    }
  feature_lookup_free (l);
}

/* a recipient in the signed list of online users */
static void
route_online (SendJob *job, const ChatdManifestEntry *e)
{
  ChatdMessenger *m = job->messenger;
  if (m->channels == NULL)
    {
      seal_and_send (job, e->name, e->suite, e->public_key, e->address);
      return;
    }
  g_autofree char *folded = g_ascii_strdown (e->name, -1);
  PeerFeatures *f = g_hash_table_lookup (m->peer_features, folded);
  if (f != NULL && g_bytes_equal (f->public_key, e->public_key) && g_strcmp0 (f->address, e->address) == 0 &&
      g_get_monotonic_time () - f->at_us < CHATD_FEATURES_CACHE_US)
    {
      route_with_features (job, e->name, e->suite, e->public_key, e->address, f->sessions);
      return;
    }
  FeatureLookup *l = g_new0 (FeatureLookup, 1);
  l->job = job;
  l->name = g_strdup (e->name);
  l->suite = g_strdup (e->suite);
  l->address = g_strdup (e->address);
  l->public_key = g_bytes_ref (e->public_key);
  chatd_user_role_fetch_key_record (m->role, e->name, on_features_record, l);
}

typedef struct {
  SendJob *job;
  char    *to;
} RecordLookup;

/* a recipient who is not online: the server's signed key record, then its queue */
static void
on_recipient_record (gpointer record_ptr, const GError *error, gpointer user_data)
{
  RecordLookup *lookup = user_data;
  ChatdKeyRecord *record = record_ptr;
  if (record == NULL)
    job_result (lookup->job, lookup->to, NULL, "failed",
                error != NULL && strstr (error->message, "no such user") != NULL ? "unknown user"
                : error != NULL ? error->message : "no key record");
  else if (g_ascii_strcasecmp (record->name, lookup->to) != 0)
    job_result (lookup->job, lookup->to, NULL, "failed", "the server's key record names another user");
  else
    seal_and_send (lookup->job, record->name, record->suite, record->public_key, NULL);
  g_free (lookup->to);
  g_free (lookup);
}

static void
on_manifest_for_send (ChatdManifest *manifest, const GError *error, gpointer user_data)
{
  SendJob *job = user_data;
  ChatdMessenger *m = job->messenger;
  guint n = g_strv_length (job->recipients);
  if (manifest == NULL)
    {
      for (guint i = 0; i < n; i++)
        job_result (job, job->recipients[i], NULL, "failed", error->message);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      const char *to = job->recipients[i];
      const ChatdManifestEntry *entry = NULL;
      for (guint j = 0; j < manifest->entries->len && entry == NULL; j++)
        if (g_ascii_strcasecmp (((ChatdManifestEntry *) manifest->entries->pdata[j])->name, to) == 0)
          entry = manifest->entries->pdata[j];
      if (entry != NULL)
        route_online (job, entry);
      else
        {
          RecordLookup *lookup = g_new0 (RecordLookup, 1);
          lookup->job = job;
          lookup->to = g_strdup (to);
          chatd_user_role_fetch_key_record (m->role, to, on_recipient_record, lookup);
        }
    }
}

void
chatd_messenger_manifest_seen (ChatdMessenger *m, const ChatdManifest *manifest)
{
  g_autoptr(GBytes) encoded = chatd_manifest_encode (manifest);
  g_clear_pointer (&m->manifest, chatd_manifest_free);
  m->manifest = chatd_manifest_decode (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded), NULL);
  m->manifest_at_us = g_get_monotonic_time ();
}

static void
on_manifest_fetched (ChatdManifest *manifest, const GError *error, gpointer user_data)
{
  ChatdMessenger *m = user_data;
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&m->manifest_waiters);
  if (manifest != NULL)
    chatd_messenger_manifest_seen (m, manifest);   /* a copy: the role frees its own */
  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    on_manifest_for_send (manifest, error, waiters->pdata[i]);
}

/* the signed list for a send: the one fetched less than
 * CHATD_MANIFEST_CACHE_US ago if it lists every recipient, else a fresh one (one fetch for all the sends
 * that wait for it) */
static void
fetch_manifest_for_send (ChatdMessenger *m, SendJob *job)
{
  gboolean all_listed = m->manifest != NULL && g_get_monotonic_time () - m->manifest_at_us < CHATD_MANIFEST_CACHE_US;
  for (guint i = 0; all_listed && job->recipients[i] != NULL; i++)
    {
      gboolean listed = FALSE;
      for (guint j = 0; j < m->manifest->entries->len && !listed; j++)
        listed = g_ascii_strcasecmp (((ChatdManifestEntry *) m->manifest->entries->pdata[j])->name,
                                     job->recipients[i]) == 0;
      /* a peer whose session went (its node may have restarted elsewhere) */
      all_listed = listed && (m->channels == NULL || !chatd_peer_channels_lost (m->channels, job->recipients[i]));
    }
  /* a recipient missing from the kept list may have come online since */
  if (all_listed)
    {
      on_manifest_for_send (m->manifest, NULL, job);
      return;
    }
  if (m->manifest_waiters != NULL)
    {
      g_ptr_array_add (m->manifest_waiters, job);
      return;
    }
  m->manifest_waiters = g_ptr_array_new ();
  g_ptr_array_add (m->manifest_waiters, job);
  chatd_user_role_fetch_manifest (m->role, on_manifest_fetched, m);
}

void
chatd_messenger_send (ChatdMessenger *m, const ChatdHost *host, ChatdCall *call, const char *recipients,
                      const char *text)
{
  gint64 accepted_us = g_get_monotonic_time ();   /* chat-bench */
  g_auto(GStrv) names = g_strsplit (recipients, ",", CHATD_SEND_RECIPIENTS_MAX + 1);
  g_autoptr(GPtrArray) unique = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  for (guint i = 0; names[i] != NULL && error == NULL; i++)
    {
      g_strstrip (names[i]);
      if (i >= CHATD_SEND_RECIPIENTS_MAX)
        g_set_error (&error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "at most %d recipients", CHATD_SEND_RECIPIENTS_MAX);
      else if (chatd_user_name_is_valid (names[i], &error))
        {
          gboolean seen = FALSE;
          for (guint j = 0; j < unique->len; j++)
            seen |= g_ascii_strcasecmp (unique->pdata[j], names[i]) == 0;
          if (!seen)
            g_ptr_array_add (unique, g_strdup (names[i]));
        }
    }
  gsize len = strlen (text);
  if (error == NULL && len > CHATD_MESSAGE_TEXT_MAX)
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "message too large (%zu bytes; at most 1 MiB)", len);
  if (error == NULL && len == 0)
    g_set_error (&error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "empty message");
  if (error != NULL)
    {
      host->call_fail (call, error);
      return;
    }
  g_ptr_array_add (unique, NULL);
  SendJob *job = g_new0 (SendJob, 1);
  job->messenger = m;
  job->host = host;
  job->call = call;
  job->text = g_strdup (text);
  job->recipients = (GStrv) g_ptr_array_free (g_steal_pointer (&unique), FALSE);
  job->pending = g_strv_length (job->recipients);
  job->results = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  job->failures = g_string_new (NULL);
  job->warnings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  job->accepted_us = accepted_us;   /* chat-bench */
  fetch_manifest_for_send (m, job);
}

/* --- receiving --- */

typedef struct {
  ChatdMessenger   *messenger;
  ChatdConnection  *connection;
  ChatdAuthMessage *envelope;
  char             *peer;
} Incoming;

static void
incoming_free (Incoming *in)
{
  chatd_connection_unref (in->connection);
  chatd_auth_message_free (in->envelope);
  g_free (in->peer);
  g_free (in);
}

static void
refuse_incoming (Incoming *in, const char *reason)
{
  in->messenger->n_refused++;
  g_message ("envelope from %s dropped: %s", in->peer, reason);
}

static void
accept_with_key (Incoming *in, const ChatdKey *sender_key)
{
  ChatdMessenger *m = in->messenger;
  const ChatdKey *own_key = chatd_user_role_get_user_key (m->role);
  if (own_key == NULL)
    {
      refuse_incoming (in, "not logged in");
      return;
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMessage) message = chatd_envelope_open (in->envelope, own_key, m->node->name, sender_key,
                                                         g_get_real_time () / 1000, CHATD_MESSAGE_TTL_MS, &error);
  gboolean duplicate = FALSE;
  if (message == NULL || !chatd_mailbox_store (m->mailbox, message, &duplicate, &error))
    {
      refuse_incoming (in, error->message);
      return;
    }
  gint64 stored_us = g_get_monotonic_time ();   /* chat-bench */
  /* committed: now the receipt */
  g_autoptr(GBytes) receipt = chatd_receipt_build (own_key, message, &error);
  if (receipt != NULL)
    chatd_transport_send_on (m->transport, in->connection, receipt, NULL, NULL);
  if (duplicate)
    {
      m->n_duplicates++;
      return;
    }
  m->n_received++;
  g_autofree char *text = g_strdup_printf ("%s: %s", message->sender, message->text);
  chatd_event_hub_emit (m->node->events, "message",
                        chatd_message_event_data (message, stored_us), text);
}

static void
on_sender_record (gpointer record_ptr, const GError *error, gpointer user_data)
{
  Incoming *in = user_data;
  ChatdKeyRecord *record = record_ptr;
  ChatdMessenger *m = in->messenger;
  g_autofree char *sender = NULL;
  guint8 fp[32], record_fp[32];
  if (record == NULL)
    {
      refuse_incoming (in, error ? error->message : "no key record for the sender");
      incoming_free (in);
      return;
    }
  chatd_envelope_peek (in->envelope, &sender, fp);
  gcry_md_hash_buffer (GCRY_MD_SHA256, record_fp, g_bytes_get_data (record->public_key, NULL),
                       g_bytes_get_size (record->public_key));
  g_autoptr(GError) local = NULL;
  g_autoptr(ChatdKey) key = import_key (m, record->suite, record->public_key, &local);
  if (key == NULL || g_ascii_strcasecmp (record->name, sender) != 0 || memcmp (fp, record_fp, 32) != 0)
    {
      refuse_incoming (in, "signed by a key the server does not know for its sender (forged?)");
      incoming_free (in);
      return;
    }
  pin (m, record->name, record->suite, record->public_key, NULL);
  accept_with_key (in, key);
  incoming_free (in);
}

static void
handle_envelope (ChatdMessenger *m, ChatdConnection *connection, const char *peer, ChatdAuthMessage *envelope)
{
  g_autofree char *sender = NULL;
  guint8 fp[32];
  if (!chatd_envelope_peek (envelope, &sender, fp) || !chatd_user_name_is_valid (sender, NULL))
    {
      m->n_refused++;
      g_message ("envelope from %s dropped: no valid sender", peer);
      chatd_auth_message_free (envelope);
      return;
    }
  Incoming *in = g_new0 (Incoming, 1);
  in->messenger = m;
  in->connection = chatd_connection_ref (connection);
  in->envelope = envelope;
  in->peer = g_strdup (peer);
  /* the pinned key if it is the one used; else ask the server which key it vouches for */
  g_autofree char *suite = NULL;
  g_autoptr(GBytes) pinned = chatd_mailbox_contact_key (m->mailbox, sender, &suite);
  if (pinned != NULL)
    {
      guint8 pinned_fp[32];
      gcry_md_hash_buffer (GCRY_MD_SHA256, pinned_fp, g_bytes_get_data (pinned, NULL), g_bytes_get_size (pinned));
      g_autoptr(ChatdKey) key = memcmp (pinned_fp, fp, 32) == 0 ? import_key (m, suite, pinned, NULL) : NULL;
      if (key != NULL)
        {
          accept_with_key (in, key);
          incoming_free (in);
          return;
        }
    }
  chatd_user_role_fetch_key_record (m->role, sender, on_sender_record, in);
}

static char *
id_hex (const guint8 *id)
{
  char *text = g_malloc (2 * CHATD_MESSAGE_ID_LEN + 1);
  for (guint i = 0; i < CHATD_MESSAGE_ID_LEN; i++)
    g_snprintf (text + 2 * i, 3, "%02x", id[i]);
  return text;
}

/* what the sender needs of an envelope it sent: id, names, hash */
static ChatdMessage *
message_of_envelope (GBytes *envelope)
{
  g_autoptr(ChatdAuthMessage) parsed = chatd_auth_message_parse (envelope, NULL);
  if (parsed == NULL || parsed->type != CHATD_MSG_ENVELOPE || parsed->fields[EN_ID].len != CHATD_MESSAGE_ID_LEN)
    return NULL;
  g_autoptr(ChatdMessage) message = g_new0 (ChatdMessage, 1);
  memcpy (message->id, parsed->fields[EN_ID].data, CHATD_MESSAGE_ID_LEN);
  message->id_text = id_hex (message->id);
  message->sender = chatd_auth_field_string (parsed, EN_SENDER);
  message->recipient = chatd_auth_field_string (parsed, EN_RECIPIENT);
  guint64 time_ms = 0;
  chatd_auth_field_u64 (parsed, EN_TIME, &time_ms);
  message->time_ms = (gint64) time_ms;
  gcry_md_hash_buffer (GCRY_MD_SHA256, message->hash, g_bytes_get_data (envelope, NULL), g_bytes_get_size (envelope));
  if (message->sender == NULL || message->recipient == NULL)
    return NULL;
  return g_steal_pointer (&message);
}

static void
delivered (ChatdMessenger *m, const char *id, const char *to)
{
  outbox_delete (m, id);
  m->n_delivered++;
  g_autofree char *text = g_strdup_printf ("%s stored %s", to, id);
  emit_id_event (m, "delivery", id, to, text);
}

static void
handle_receipt (ChatdMessenger *m, const char *peer, const ChatdAuthMessage *receipt)
{
  if (receipt->fields[RC_ID].len != CHATD_MESSAGE_ID_LEN)
    return;
  g_autofree char *id = id_hex (receipt->fields[RC_ID].data);
  g_autoptr(GError) error = NULL;
  Delivery *d = g_hash_table_lookup (m->awaiting, id);
  if (d != NULL)
    {
      if (!chatd_receipt_verify (receipt, d->message, d->recipient_key, &error))
        {
          g_message ("receipt from %s dropped: %s", peer, error->message);
          return;
        }
      delivered (m, id, d->message->recipient);
      delivery_done (d, "delivered", NULL);
      return;
    }
  /* queued, or sent before a restart: the outbox row has what it takes */
  g_autoptr(ChatdOutboxEntry) row = chatd_mailbox_outbox_get (m->mailbox, id);
  if (row == NULL)
    return;   /* late or repeated */
  g_autoptr(ChatdMessage) sent = message_of_envelope (row->envelope);
  g_autoptr(ChatdKey) key = import_key (m, row->suite, row->public_key, &error);
  if (sent == NULL || key == NULL || !chatd_receipt_verify (receipt, sent, key, &error))
    {
      g_message ("receipt from %s dropped: %s", peer, error ? error->message : "the outbox row is damaged");
      return;
    }
  delivered (m, id, row->recipient);
}

static void
expired (ChatdMessenger *m, const char *id, const char *to, const char *why)
{
  Delivery *d = g_hash_table_lookup (m->awaiting, id);
  outbox_delete (m, id);
  m->n_expired++;
  g_autofree char *text = g_strdup_printf ("message %s to %s expired %s", id, to, why);
  g_message ("%s", text);
  emit_id_event (m, "expired", id, to, text);
  if (d != NULL)
    delivery_done (d, "failed", text);
}

/* the server's word that a queued envelope of ours was never collected */
static void
handle_expired (ChatdMessenger *m, const ChatdAuthMessage *notice)
{
  g_autofree char *id = id_hex (notice->fields[0].data);
  g_autofree char *to = chatd_auth_field_string (notice, 1);
  g_autoptr(ChatdOutboxEntry) row = chatd_mailbox_outbox_get (m->mailbox, id);
  if (row == NULL || to == NULL || g_ascii_strcasecmp (row->recipient, to) != 0)
    return;
  expired (m, id, row->recipient, "in the server's queue (its time to live passed)");
}

static void
dispatch (ChatdMessenger *m, ChatdConnection *connection, const ChatdAddress *from, GBytes *bytes, gboolean from_server)
{
  g_autofree char *peer = from_server ? g_strdup ("the server") : chatd_address_to_string (from);
  g_autoptr(GError) error = NULL;
  ChatdAuthMessage *message = chatd_auth_message_parse (bytes, &error);
  if (message == NULL)
    {
      m->n_refused++;
      g_message ("from %s: %s (dropped)", peer, error->message);
      return;
    }
  if (message->type == CHATD_MSG_ENVELOPE)
    {
      if (!from_server)
        m->n_envelopes_received++;
      handle_envelope (m, connection, peer, message);
    }
  else if (message->type >= CHATD_MSG_PEER_INIT && message->type <= CHATD_MSG_PEER_RECEIPTS)
    {
      if (m->channels != NULL && !from_server)
        chatd_peer_channels_handle (m->channels, connection, message, bytes);
      else
        m->n_refused++;
      chatd_auth_message_free (message);
    }
  else
    {
      if (message->type == CHATD_MSG_RECEIPT)
        handle_receipt (m, peer, message);
      else if (message->type == CHATD_MSG_EXPIRED && from_server)
        handle_expired (m, message);
      else
        g_message ("from %s: unexpected %s (dropped)", peer, chatd_auth_message_type_name (message->type));
      chatd_auth_message_free (message);
    }
}

void
chatd_messenger_handle (ChatdMessenger *m, ChatdConnection *connection, const ChatdAddress *from, GBytes *bytes)
{
  dispatch (m, connection, from, bytes, FALSE);
}

void
chatd_messenger_handle_from_server (ChatdMessenger *m, ChatdConnection *connection, const ChatdAddress *from,
                                    GBytes *bytes)
{
  dispatch (m, connection, from, bytes, TRUE);
}

/* --- the outbox after a (re)login --- */

/* a message first sent in a session, left unsent by a restart or a lost
 * session: again in a session if the recipient is online with the same key;
 * to the server's queue (sealed now, as for any offline recipient) if the
 * fresh list does not name the recipient; else (another key, or no session
 * possible now) it waits, and is tried again */
static guint
resend_session_row (ChatdMessenger *m, ChatdManifest *manifest, ChatdOutboxEntry *row)
{
  const ChatdManifestEntry *entry = NULL;
  gboolean listed = FALSE;
  for (guint j = 0; j < manifest->entries->len && entry == NULL; j++)
    {
      const ChatdManifestEntry *e = manifest->entries->pdata[j];
      if (g_ascii_strcasecmp (e->name, row->recipient) != 0)
        continue;
      listed = TRUE;
      if (g_bytes_equal (e->public_key, row->public_key))
        entry = e;
    }
  g_autofree char *host = NULL;
  guint16 port = 0;
  ChatdAddress peer = { 0 };
  gboolean reachable = m->channels != NULL && entry != NULL &&
                       chatd_parse_host_port (entry->address, FALSE, &host, &port, NULL) &&
                       chatd_address_parse (host, port, &peer, NULL) &&
                       chatd_peer_channels_set_peer_key (m->channels, entry->name, entry->suite, entry->public_key, NULL);
  if (!reachable && listed)
    {
      g_message ("outbox: %s for %s waits for its recipient's node (a peer session)", row->id, row->recipient);
      schedule_outbox_retry (m);
      return 0;
    }
  g_autoptr(GBytes) plaintext = g_bytes_new_from_bytes (row->envelope, 4, g_bytes_get_size (row->envelope) - 4);
  g_autoptr(GError) error = NULL;
  ChatdMessage *message = session_message_parse (plaintext, m->node->name, row->recipient, &error);
  if (message == NULL)
    {
      g_warning ("outbox: %s cannot be resent (%s); dropped", row->id, error->message);
      outbox_delete (m, row->id);
      return 0;
    }
  Delivery *d = g_new0 (Delivery, 1);
  d->messenger = m;
  d->session = TRUE;
  d->message = message;
  d->plaintext = g_steal_pointer (&plaintext);
  d->suite = g_strdup (row->suite);
  d->public_key = g_bytes_ref (row->public_key);
  if (!reachable)
    {
      /* the recipient is offline */
      g_hash_table_replace (m->awaiting, g_strdup (d->message->id_text), d);
      queue_as_envelope (m, d);
      return 1;
    }
  d->address = g_strdup (entry->address);
  d->peer = peer;
  start_session_delivery (m, d);
  return 1;
}

static void
on_manifest_for_resend (ChatdManifest *manifest, const GError *error, gpointer user_data)
{
  ChatdMessenger *m = user_data;
  if (manifest == NULL)
    {
      g_message ("outbox: no list from the server (%s); resending later", error->message);
      schedule_outbox_retry (m);
      return;
    }
  g_autoptr(GPtrArray) rows = chatd_mailbox_outbox_entries (m->mailbox, "sending");
  guint resent = 0;
  for (guint i = 0; i < rows->len; i++)
    {
      ChatdOutboxEntry *row = rows->pdata[i];
      if (g_hash_table_contains (m->awaiting, row->id))
        continue;
      g_autoptr(GError) local = NULL;
      if (g_bytes_get_size (row->envelope) > 4 &&
          memcmp (g_bytes_get_data (row->envelope, NULL), SESSION_ROW_MAGIC, 4) == 0)
        {
          resent += resend_session_row (m, manifest, row);
          continue;
        }
      ChatdMessage *message = message_of_envelope (row->envelope);
      ChatdKey *key = import_key (m, row->suite, row->public_key, &local);
      if (message == NULL || key == NULL)
        {
          g_warning ("outbox: %s cannot be resent (%s); dropped", row->id, local ? local->message : "damaged");
          outbox_delete (m, row->id);
          chatd_message_free (message);
          g_clear_pointer (&key, chatd_key_free);
          continue;
        }
      const char *address = NULL;
      for (guint j = 0; j < manifest->entries->len && address == NULL; j++)
        {
          const ChatdManifestEntry *e = manifest->entries->pdata[j];
          if (g_ascii_strcasecmp (e->name, row->recipient) == 0 && g_bytes_equal (e->public_key, row->public_key))
            address = e->address;
        }
      start_delivery (m, NULL, message, key, row->envelope, address);
      resent++;
    }
  if (resent > 0)
    g_message ("outbox: resending %u message%s", resent, resent == 1 ? "" : "s");
}

/* the rows in 'sending' that nothing is sending now go again, after a
 * fresh signed list */
static void
resend_outbox (ChatdMessenger *m)
{
  g_autoptr(GPtrArray) sending = chatd_mailbox_outbox_entries (m->mailbox, "sending");
  gboolean any = FALSE;
  for (guint i = 0; i < sending->len && !any; i++)
    any = !g_hash_table_contains (m->awaiting, ((ChatdOutboxEntry *) sending->pdata[i])->id);
  if (any)
    chatd_user_role_fetch_manifest (m->role, on_manifest_for_resend, m);
}

static gboolean
on_outbox_retry (gpointer data)
{
  ChatdMessenger *m = data;
  m->outbox_retry = 0;
  resend_outbox (m);
  return G_SOURCE_REMOVE;
}

static void
schedule_outbox_retry (ChatdMessenger *m)
{
  /* offline, the next login resends */
  if (m->outbox_retry != 0 || !m->online)
    return;
  guint delay = m->outbox_retry_s != 0 ? m->outbox_retry_s : CHATD_OUTBOX_RETRY_FIRST_S;
  m->outbox_retry_s = MIN (delay * 2, CHATD_OUTBOX_RETRY_MAX_S);
  m->outbox_retry = g_timeout_add_seconds (delay, on_outbox_retry, m);
}

void
chatd_messenger_session_started (ChatdMessenger *m)
{
  /* a queued row the server never answered for within the time to live
   * (plus a day) is given up here too */
  gint64 now_ms = g_get_real_time () / 1000;
  g_autoptr(GPtrArray) queued = chatd_mailbox_outbox_entries (m->mailbox, "queued");
  for (guint i = 0; i < queued->len; i++)
    {
      ChatdOutboxEntry *row = queued->pdata[i];
      if (row->created_ms < now_ms - CHATD_MESSAGE_TTL_MS - G_GINT64_CONSTANT (24) * 3600 * 1000)
        expired (m, row->id, row->recipient, "(no word from the server within its time to live)");
    }
  m->online = TRUE;
  m->outbox_retry_s = 0;
  resend_outbox (m);
}

void
chatd_messenger_session_ended (ChatdMessenger *m, const char *why)
{
  g_clear_pointer (&m->manifest, chatd_manifest_free);
  m->online = FALSE;
  g_clear_handle_id (&m->outbox_retry, g_source_remove);
  if (m->channels != NULL)
    chatd_peer_channels_reset (m->channels, why);
}

gboolean
chatd_messenger_speaks_sessions (ChatdMessenger *m)
{
  return m->channels != NULL;
}

void
chatd_messenger_status (ChatdMessenger *m, GVariantBuilder *b)
{
  g_variant_builder_add (b, "{sv}", "peer-sessions", g_variant_new_boolean (m->channels != NULL));
  if (m->channels != NULL)
    g_variant_builder_add (b, "{sv}", "sessions", chatd_peer_channels_describe (m->channels));
}

GVariant *
chatd_messenger_mark_sessions (ChatdMessenger *m, GVariant *list)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (list);
  GVariantBuilder b;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  gsize n = g_variant_n_children (owned);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (owned, i);
      const char *name = NULL;
      g_variant_builder_open (&b, G_VARIANT_TYPE_VARDICT);
      GVariantIter iter;
      const char *key;
      GVariant *value;
      g_variant_iter_init (&iter, entry);
      while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          if (g_str_equal (key, "name") && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
            name = g_variant_get_string (value, NULL);
          g_variant_builder_add (&b, "{sv}", key, value);
          g_variant_unref (value);
        }
      gboolean session = m->channels != NULL && name != NULL && chatd_peer_channels_has_session (m->channels, name);
      g_variant_builder_add (&b, "{sv}", "session", g_variant_new_boolean (session));
      g_variant_builder_close (&b);
    }
  return g_variant_builder_end (&b);
}

void
chatd_messenger_outbox (ChatdMessenger *m, const ChatdHost *host, ChatdCall *call)
{
  g_autoptr(GError) error = NULL;
  GVariant *rows = chatd_mailbox_outbox_list (m->mailbox, &error);
  if (rows == NULL)
    host->call_fail (call, error);
  else
    host->call_return (call, rows);
}

/* --- recv --- */

typedef struct {
  const ChatdHost *host;
  ChatdCall       *call;
  char            *from;
  guint            subscription;
  gulong           cancelled;
} Follow;

static void
on_message_event (const char *id, const char *kind, GVariant *data, const char *text, gpointer user_data)
{
  Follow *f = user_data;
  if (!g_str_equal (kind, "message"))
    return;
  const char *sender = NULL;
  g_variant_lookup (data, "from", "&s", &sender);
  if (f->from != NULL && g_ascii_strcasecmp (f->from, sender ? sender : "") != 0)
    return;
  f->host->call_emit (f->call, g_variant_ref (data));
}

static gboolean
end_follow (gpointer user_data)
{
  Follow *f = user_data;
  g_cancellable_disconnect (f->host->call_get_cancellable (f->call), f->cancelled);
  f->host->unsubscribe (f->host, f->subscription);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "status", g_variant_new_string ("ended"));
  f->host->call_return (f->call, g_variant_builder_end (&b));
  g_free (f->from);
  g_free (f);
  return G_SOURCE_REMOVE;
}

static void
on_follow_cancelled (GCancellable *cancellable, gpointer user_data)
{
  g_idle_add (end_follow, user_data);
}

void
chatd_messenger_recv (ChatdMessenger *m, const ChatdHost *host, ChatdCall *call, const char *since,
                      const char *from, gboolean follow)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stored = chatd_mailbox_list (m->mailbox, since, from, &error);
  if (stored == NULL)
    {
      host->call_fail (call, error);
      return;
    }
  g_variant_ref_sink (stored);
  if (!follow)
    {
      host->call_return (call, g_steal_pointer (&stored));
      return;
    }
  /* replay, then live: all on the main loop, so nothing is lost or doubled */
  gsize n = g_variant_n_children (stored);
  for (gsize i = 0; i < n; i++)
    host->call_emit (call, g_variant_get_child_value (stored, i));
  Follow *f = g_new0 (Follow, 1);
  f->host = host;
  f->call = call;
  f->from = g_strdup (from);
  f->subscription = host->subscribe (host, "", on_message_event, f, NULL);
  f->cancelled = g_cancellable_connect (host->call_get_cancellable (call), G_CALLBACK (on_follow_cancelled), f, NULL);
}

void
chatd_messenger_verify (ChatdMessenger *m, const ChatdHost *host, ChatdCall *call, const char *user)
{
  g_autoptr(GError) error = NULL;
  GVariant *contact = chatd_user_name_is_valid (user, &error) ? chatd_mailbox_contact (m->mailbox, user, &error) : NULL;
  if (contact == NULL)
    host->call_fail (call, error);
  else
    host->call_return (call, contact);
}

/* --- life --- */

static guint64 read_u64 (gpointer p) { return *(guint64 *) p; }

static void
provide_session_counters (gpointer provider_data, ChatdCounterVisit visit, gpointer visit_data)
{
  ChatdMessenger *m = provider_data;
  if (m->channels != NULL)
    chatd_peer_channels_foreach_counter (m->channels, visit, visit_data);
}

/* Tests only (documented in doc/peer.md): CHATD_PEER_SESSIONS=0 makes a
 * node that neither speaks nor advertises peer sessions (an older node);
 * CHATD_PEER_REKEY_MESSAGES and CHATD_PEER_HANDSHAKE_TIMEOUT_MS lower the
 * re-key count and the handshake deadline. */
static guint64
env_u64 (const char *name, guint64 fallback)
{
  const char *value = g_getenv (name);
  guint64 n = 0;
  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, G_MAXINT32, &n, NULL))
    return fallback;
  return n;
}

ChatdMessenger *
chatd_messenger_new (ChatdUserRole *role, ChatdNode *node, ChatdTransport *transport, GError **error)
{
  ChatdMailbox *mailbox = chatd_mailbox_open (node->state_dir, error);
  if (mailbox == NULL)
    return NULL;
  ChatdMessenger *m = g_new0 (ChatdMessenger, 1);
  m->role = role;
  m->node = node;
  m->transport = transport;
  m->mailbox = mailbox;
  m->awaiting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) delivery_free);
  m->peer_features = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) peer_features_free);
  m->batch_outbox = g_ptr_array_new ();
  m->batch_inbox = g_ptr_array_new_with_free_func ((GDestroyNotify) inbox_item_free);
  m->batch_deletes = g_ptr_array_new_with_free_func (g_free);
  const ChatdSuite *channel_suite = chatd_registry_lookup_suite (node->registry, "25519");
  if (g_strcmp0 (g_getenv ("CHATD_PEER_SESSIONS"), "0") != 0 && channel_suite != NULL &&
      chatd_suite_has (channel_suite, CHATD_SUITE_CAN_KDF))
    {
      static const ChatdPeerChannelCallbacks callbacks = {
        channel_own_key, on_session_delivered, on_session_failed, on_session_received, on_need_key,
      };
      ChatdPeerChannelConfig config = { 0 };
      config.limits.rekey_messages = env_u64 ("CHATD_PEER_REKEY_MESSAGES", 0);
      config.handshake_timeout_us = (gint64) env_u64 ("CHATD_PEER_HANDSHAKE_TIMEOUT_MS", 0) * 1000;
      m->channels = chatd_peer_channels_new (transport, node->registry, channel_suite, node->name, &config,
                                             &callbacks, m);
    }
  chatd_counters_add_provider (node->counters, "sessions.", provide_session_counters, m);
  chatd_counters_add (node->counters, "messages.envelopes-direct", read_u64, &m->n_envelopes_direct, NULL);
  chatd_counters_add (node->counters, "messages.envelopes-received", read_u64, &m->n_envelopes_received, NULL);
  chatd_counters_add (node->counters, "messages.session-sent", read_u64, &m->n_session_sent, NULL);
  chatd_counters_add (node->counters, "messages.session-received", read_u64, &m->n_session_received, NULL);
  chatd_counters_add (node->counters, "messages.downgrades-refused", read_u64, &m->n_downgrades_refused, NULL);
  chatd_counters_add (node->counters, "messages.sent", read_u64, &m->n_sent, NULL);
  chatd_counters_add (node->counters, "messages.delivered", read_u64, &m->n_delivered, NULL);
  chatd_counters_add (node->counters, "messages.received", read_u64, &m->n_received, NULL);
  chatd_counters_add (node->counters, "messages.duplicates", read_u64, &m->n_duplicates, NULL);
  chatd_counters_add (node->counters, "messages.refused", read_u64, &m->n_refused, NULL);
  chatd_counters_add (node->counters, "messages.queued", read_u64, &m->n_queued, NULL);
  chatd_counters_add (node->counters, "messages.expired", read_u64, &m->n_expired, NULL);
  return m;
}

void
chatd_messenger_free (ChatdMessenger *m)
{
  if (m == NULL)
    return;
  /* what waits for a group commit is dropped: no receipt went out for it
   * (its sender sends it again), no send call waits any more */
  if (m->batch_source != 0)
    g_source_remove (m->batch_source);
  g_clear_handle_id (&m->outbox_retry, g_source_remove);
  for (guint i = 0; i < m->batch_inbox->len; i++)
    {
      InboxItem *item = m->batch_inbox->pdata[i];
      chatd_peer_channels_send_receipt (m->channels, g_steal_pointer (&item->receipt_ref), FALSE);
    }
  for (guint i = 0; i < m->batch_outbox->len; i++)
    delivery_free (m->batch_outbox->pdata[i]);
  g_clear_pointer (&m->channels, chatd_peer_channels_free);
  /* sends still waiting for a receipt end now, failed: their callers get an
   * answer and their jobs are freed (a node stopped within the receipt
   * timeout of a send would otherwise leak them) */
  g_autofree gpointer *ids = g_hash_table_get_keys_as_array (m->awaiting, NULL);
  g_autoptr(GPtrArray) waiting = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; ids[i] != NULL; i++)
    g_ptr_array_add (waiting, g_strdup (ids[i]));
  for (guint i = 0; i < waiting->len; i++)
    {
      Delivery *d = g_hash_table_lookup (m->awaiting, waiting->pdata[i]);
      if (d != NULL)
        delivery_done (d, "failed", "the node stopped before the recipient's receipt came");
    }
  g_clear_pointer (&m->awaiting, g_hash_table_unref);
  g_clear_pointer (&m->peer_features, g_hash_table_unref);
  g_clear_pointer (&m->manifest, chatd_manifest_free);
  g_clear_pointer (&m->manifest_waiters, g_ptr_array_unref);
  g_ptr_array_free (m->batch_outbox, TRUE);
  g_ptr_array_unref (m->batch_inbox);
  g_ptr_array_unref (m->batch_deletes);
  chatd_mailbox_free (m->mailbox);
  g_free (m);
}
