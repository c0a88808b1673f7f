/* peer-session.c: sealing, opening and receipts inside a peer session. */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-session-private.h"
#include "peer-session.h"
#include "peer-ratchet.h"
#include "auth-message.h"
#include "channel.h"

#include <stdlib.h>
#include <string.h>

#define AAD_MAX (64 * 1024)


void
chatd_peer_session_free (ChatdPeerSession *session)
{
  if (session == NULL)
    return;
  chatd_peer_ratchet_free (session->send);
  chatd_peer_ratchet_free (session->receive);
  chatd_secret_free (session->send_transport);
  chatd_secret_free (session->receive_transport);
  chatd_secret_free (session->receipt_out);
  chatd_secret_free (session->receipt_in);
  chatd_secret_free (session->message_key);
  if (session->unacked != NULL)
    g_tree_destroy (session->unacked);
  if (session->seal_context != NULL)
    session->suite->aead_context_free (session->seal_context);
  if (session->open_context != NULL)
    session->suite->aead_context_free (session->open_context);
  chatd_wipe (session, sizeof *session);
  g_free (session);
}

static gint
compare_counters (gconstpointer a, gconstpointer b, gpointer user_data)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  (void) user_data;
  return x < y ? -1 : x > y;
}

static GTree *
new_unacked (void)
{
  return g_tree_new_full (compare_counters, NULL, g_free, g_free);
}

ChatdPeerSession *
chatd_peer_session_new (const ChatdSuite *suite, ChatdPeerRole role, const ChatdPeerKeys *keys,
                        const ChatdPeerLimits *limits, gint64 now_us, GError **error)
{
  if (!chatd_peer_suite_is_usable (suite, error))
    return NULL;
  /* what this side sends travels in its own direction */
  guint out = role == CHATD_PEER_ROLE_INITIATOR ? CHATD_PEER_I2R : CHATD_PEER_R2I;
  guint in = 1 - out;
  g_autoptr(ChatdPeerSession) session = g_new0 (ChatdPeerSession, 1);
  session->suite = suite;
  session->role = role;
  memcpy (session->id, keys->session_id, sizeof session->id);
  if ((session->send = chatd_peer_ratchet_new (suite, keys->chain[out], error)) == NULL ||
      (session->receive = chatd_peer_ratchet_new (suite, keys->chain[in], error)) == NULL)
    return NULL;
  session->send_transport = chatd_secret_new_from (keys->transport[out], suite->aead_key_len);
  session->receive_transport = chatd_secret_new_from (keys->transport[in], suite->aead_key_len);
  /* receipts for the messages we receive are keyed by that direction's key */
  session->receipt_out = chatd_secret_new_from (keys->receipt[in], suite->kdf_len);
  session->receipt_in = chatd_secret_new_from (keys->receipt[out], suite->kdf_len);
  session->message_key = chatd_secret_new (suite->aead_key_len);
  session->unacked = new_unacked ();
  if (chatd_suite_has (suite, CHATD_SUITE_CAN_AEAD_CONTEXT))
    {
      /* keyed with a throw-away key; each message sets its own */
      if ((session->seal_context = suite->aead_context_new (session->message_key->data, error)) == NULL ||
          (session->open_context = suite->aead_context_new (session->message_key->data, error)) == NULL)
        return NULL;
    }
  session->limits.rekey_messages = limits != NULL && limits->rekey_messages > 0
                                     ? limits->rekey_messages : CHATD_PEER_REKEY_MESSAGES;
  session->limits.rekey_after_us = limits != NULL && limits->rekey_after_us > 0
                                     ? limits->rekey_after_us : CHATD_PEER_REKEY_AFTER_US;
  session->created_us = now_us;
  return g_steal_pointer (&session);
}

ChatdPeerSession *
chatd_peer_session_new_receive_only (const ChatdSuite *suite, ChatdPeerRole role,
                                     const guint8 *session_id, ChatdPeerRatchet *receive,
                                     GError **error)
{
  g_autoptr(ChatdPeerSession) session = g_new0 (ChatdPeerSession, 1);
  session->suite = suite;
  session->role = role;
  session->receive = receive;
  memcpy (session->id, session_id, sizeof session->id);
  session->message_key = chatd_secret_new (suite->aead_key_len);
  if (chatd_suite_has (suite, CHATD_SUITE_CAN_AEAD_CONTEXT) &&
      (session->open_context = suite->aead_context_new (session->message_key->data, error)) == NULL)
    return NULL;
  session->limits.rekey_messages = CHATD_PEER_REKEY_MESSAGES;
  session->limits.rekey_after_us = CHATD_PEER_REKEY_AFTER_US;
  return g_steal_pointer (&session);
}

static gboolean
can_send (const ChatdPeerSession *session, GError **error)
{
  if (session->send != NULL)
    return TRUE;
  g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                       "a retired or receive-only peer session cannot send");
  return FALSE;
}

static gboolean
has_receipt_key (const ChatdSecret *key, GError **error)
{
  if (key != NULL)
    return TRUE;
  g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                       "a receive-only view of a peer session has no receipt keys");
  return FALSE;
}

void
chatd_peer_session_retire (ChatdPeerSession *session)
{
  g_clear_pointer (&session->send, chatd_peer_ratchet_free);
  g_clear_pointer (&session->send_transport, chatd_secret_free);
  g_clear_pointer (&session->receive_transport, chatd_secret_free);
  if (session->seal_context != NULL)
    g_clear_pointer (&session->seal_context, session->suite->aead_context_free);
}

gint64
chatd_peer_session_end_of_life (const ChatdPeerSession *session)
{
  gint64 life = session->limits.rekey_after_us;
  if (life > G_MAXINT64 - CHATD_PEER_RETIRED_GRACE_US)
    return G_MAXINT64;
  life += CHATD_PEER_RETIRED_GRACE_US;
  return session->created_us > G_MAXINT64 - life ? G_MAXINT64 : session->created_us + life;
}

void
chatd_peer_session_set_skip_budget (ChatdPeerSession *session, ChatdPeerSkipBudget *budget)
{
  chatd_peer_ratchet_set_budget (session->receive, budget);
}

const guint8 *
chatd_peer_session_id (const ChatdPeerSession *session)
{
  return session->id;
}

ChatdPeerRole
chatd_peer_session_role (const ChatdPeerSession *session)
{
  return session->role;
}

static void
make_nonce (const ChatdSuite *suite, guint64 counter, guint8 *nonce)
{
  memset (nonce, 0, suite->aead_nonce_len);
  for (gsize i = 0; i < 8; i++, counter >>= 8)
    nonce[suite->aead_nonce_len - 1 - i] = counter & 0xff;
}

/* label | session id | counter | caller's aad */
static guint8 *
message_aad (const ChatdPeerSession *session, const guint8 counter_be[8], const guint8 *aad,
             gsize aad_len, gsize *ret_len)
{
  static const char label[] = CHATD_PEER_LABEL_MESSAGE;
  gsize len = sizeof label + sizeof session->id + 8 + aad_len;
  guint8 *out = g_malloc (len), *p = out;
  memcpy (p, label, sizeof label), p += sizeof label;
  memcpy (p, session->id, sizeof session->id), p += sizeof session->id;
  memcpy (p, counter_be, 8), p += 8;
  if (aad_len > 0)
    memcpy (p, aad, aad_len);
  *ret_len = len;
  return out;
}

static gboolean
aad_ok (gsize aad_len, GError **error)
{
  if (aad_len <= AAD_MAX)
    return TRUE;
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
               "associated data of %" G_GSIZE_FORMAT " bytes is too long", aad_len);
  return FALSE;
}

GBytes *
chatd_peer_session_seal (ChatdPeerSession *session, const guint8 *aad, gsize aad_len,
                         const guint8 *plaintext, gsize plaintext_len, guint64 *ret_counter,
                         GError **error)
{
  const ChatdSuite *suite = session->suite;
  if (!can_send (session, error) || !aad_ok (aad_len, error))
    return NULL;
  /* 1 MiB of text and the messenger's id and time (peer-wire.h) */
  if (plaintext_len > CHATD_PEER_PLAINTEXT_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "message of %" G_GSIZE_FORMAT " bytes is too long for a peer session",
                   plaintext_len);
      return NULL;
    }
  guint64 hard_limit = session->limits.rekey_messages > G_MAXUINT64 / 2
                         ? G_MAXUINT64 : 2 * session->limits.rekey_messages;
  if (session->sealed >= hard_limit)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "peer session has sealed %" G_GUINT64_FORMAT " messages: re-key first",
                   session->sealed);
      return NULL;
    }
  guint64 counter = 0;
  if (!chatd_peer_ratchet_next (session->send, &counter, session->message_key->data, error))
    return NULL;
  session->send_next = counter + 1;
  guint8 counter_be[8], nonce[CHATD_SUITE_SHARE_MAX];
  chatd_u64_to_be (counter, counter_be);
  make_nonce (suite, counter, nonce);
  gsize full_aad_len = 0;
  g_autofree guint8 *full_aad = message_aad (session, counter_be, aad, aad_len, &full_aad_len);
  gsize sealed_len = plaintext_len + suite->aead_tag_len;
  g_autofree guint8 *sealed = g_malloc (sealed_len);
  gboolean ok = session->seal_context != NULL
                  ? suite->aead_context_set_key (session->seal_context, session->message_key->data, error) &&
                    suite->aead_context_seal (session->seal_context, nonce, full_aad, full_aad_len,
                                              plaintext, plaintext_len, sealed, error)
                  : suite->aead_seal (session->message_key->data, nonce, full_aad, full_aad_len,
                                      plaintext, plaintext_len, sealed, error);
  chatd_wipe (session->message_key->data, session->message_key->len);   /* used once */
  /* the context forgets the message key, also when sealing failed */
  if (session->seal_context != NULL &&
      !suite->aead_context_set_key (session->seal_context, session->message_key->data, ok ? error : NULL))
    ok = FALSE;
  if (!ok)
    return NULL;
  guint8 *digest = g_malloc (suite->kdf_len);
  if (!suite->hash (sealed, sealed_len, digest, error))
    {
      g_free (digest);
      return NULL;
    }
  if (g_tree_nnodes (session->unacked) >= CHATD_PEER_UNACKED_MAX)
    g_tree_remove (session->unacked, g_tree_node_key (g_tree_node_first (session->unacked)));
  g_tree_insert (session->unacked, g_memdup2 (&counter, sizeof counter), digest);
  ChatdSlice fields[] = {
    [PM_SESSION] = CHATD_SLICE (session->id, sizeof session->id),
    [PM_COUNTER] = CHATD_SLICE (counter_be, 8),
    [PM_SEALED] = CHATD_SLICE (sealed, sealed_len),
  };
  session->sealed++;
  if (ret_counter != NULL)
    *ret_counter = counter;
  return chatd_auth_message_build (CHATD_MSG_PEER_MESSAGE, fields, G_N_ELEMENTS (fields));
}

/* the parsed message is of this kind and names this session */
static gboolean
is_for_session (const ChatdPeerSession *session, const ChatdAuthMessage *message, ChatdMsgType type,
                GError **error)
{
  if (message->type != type)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "expected %s, got %s",
                   chatd_auth_message_type_name (type), chatd_auth_message_type_name (message->type));
      return FALSE;
    }
  /* the session id is field 0 of every kind */
  if (!chatd_memequal_ct (message->fields[0].data, session->id, sizeof session->id))
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                           "message belongs to another peer session");
      return FALSE;
    }
  return TRUE;
}

static ChatdAuthMessage *
parse_for_session (const ChatdPeerSession *session, GBytes *bytes, ChatdMsgType type,
                   GError **error)
{
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, error);
  if (message == NULL || !is_for_session (session, message, type, error))
    return NULL;
  return g_steal_pointer (&message);
}

GBytes *
chatd_peer_session_open (ChatdPeerSession *session, GBytes *bytes, const guint8 *aad, gsize aad_len,
                         guint64 *ret_counter, GError **error)
{
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, error);
  if (message == NULL)
    return NULL;
  return chatd_peer_session_open_parsed (session, message, aad, aad_len, ret_counter, NULL, error);
}

GBytes *
chatd_peer_session_open_parsed (ChatdPeerSession *session, const ChatdAuthMessage *message,
                                const guint8 *aad, gsize aad_len, guint64 *ret_counter,
                                guint8 *ret_digest, GError **error)
{
  const ChatdSuite *suite = session->suite;
  if (!aad_ok (aad_len, error) || !is_for_session (session, message, CHATD_MSG_PEER_MESSAGE, error))
    return NULL;
  guint64 counter = 0;
  chatd_auth_field_u64 (message, PM_COUNTER, &counter);
  const ChatdSlice *sealed = &message->fields[PM_SEALED];
  if (sealed->len < suite->aead_tag_len)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "peer message shorter than its tag");
      return NULL;
    }
  const guint8 *key = NULL;
  if (!chatd_peer_ratchet_peek (session->receive, counter, &key, error))
    return NULL;
  guint8 nonce[CHATD_SUITE_SHARE_MAX];
  make_nonce (suite, counter, nonce);
  gsize full_aad_len = 0;
  g_autofree guint8 *full_aad = message_aad (session, message->fields[PM_COUNTER].data, aad, aad_len,
                                             &full_aad_len);
  gsize plaintext_len = sealed->len - suite->aead_tag_len;
  g_autofree guint8 *plaintext = g_malloc (MAX (plaintext_len, 1));
  gboolean ok = session->open_context != NULL
                  ? suite->aead_context_set_key (session->open_context, key, error) &&
                    suite->aead_context_open (session->open_context, nonce, full_aad, full_aad_len,
                                              sealed->data, sealed->len, plaintext, error)
                  : suite->aead_open (key, nonce, full_aad, full_aad_len, sealed->data, sealed->len,
                                      plaintext, error);
  /* the context forgets the message key (message_key is all zero between seals) */
  if (session->open_context != NULL &&
      !suite->aead_context_set_key (session->open_context, session->message_key->data, ok ? error : NULL))
    ok = FALSE;
  if (!ok)
    {
      /* nothing of the attempt stays: the peeked key, the chain key after
       * it, and whatever the cipher wrote before the tag check */
      chatd_peer_ratchet_forget (session->receive);
      chatd_wipe (plaintext, MAX (plaintext_len, 1));
      g_prefix_error (error, "peer message %" G_GUINT64_FORMAT ": ", counter);
      return NULL;
    }
  chatd_peer_ratchet_commit (session->receive);   /* the key is wiped and cannot come back */
  session->opened++;
  /* what the receipt will cover; a hash failure leaves an all-zero digest,
   * whose receipt the sender refuses */
  if (ret_digest != NULL && !suite->hash (sealed->data, sealed->len, ret_digest, NULL))
    memset (ret_digest, 0, suite->kdf_len);
  if (ret_counter != NULL)
    *ret_counter = counter;
  return g_bytes_new_take (g_steal_pointer (&plaintext), plaintext_len);
}

static gboolean
receipt_mac (const ChatdPeerSession *session, const ChatdSecret *key, const guint8 counter_be[8],
             guint8 status, const guint8 *sealed_hash, guint8 *ret_mac, GError **error)
{
  static const char label[] = CHATD_PEER_LABEL_RECEIPT;
  gsize k = session->suite->kdf_len;
  guint8 input[sizeof label + CHATD_PEER_SESSION_ID_LEN + 8 + 1 + CHATD_SUITE_KDF_LEN_MAX], *p = input;
  memcpy (p, label, sizeof label), p += sizeof label;
  memcpy (p, session->id, sizeof session->id), p += sizeof session->id;
  memcpy (p, counter_be, 8), p += 8;
  *p++ = status;
  memcpy (p, sealed_hash, k), p += k;
  return session->suite->mac (key->data, key->len, input, p - input, ret_mac, error);
}

GBytes *
chatd_peer_session_receipt (ChatdPeerSession *session, GBytes *bytes, guint8 status,
                            GError **error)
{
  const ChatdSuite *suite = session->suite;
  if (!has_receipt_key (session->receipt_out, error))
    return NULL;
  g_autoptr(ChatdAuthMessage) message = parse_for_session (session, bytes, CHATD_MSG_PEER_MESSAGE,
                                                           error);
  if (message == NULL)
    return NULL;
  const ChatdSlice *sealed = &message->fields[PM_SEALED];
  const guint8 *counter_be = message->fields[PM_COUNTER].data;
  guint8 digest[CHATD_SUITE_KDF_LEN_MAX], mac[CHATD_SUITE_KDF_LEN_MAX];
  if (!suite->hash (sealed->data, sealed->len, digest, error) ||
      !receipt_mac (session, session->receipt_out, counter_be, status, digest, mac, error))
    return NULL;
  ChatdSlice fields[] = {
    [PT_SESSION] = CHATD_SLICE (session->id, sizeof session->id),
    [PT_COUNTER] = CHATD_SLICE (counter_be, 8),
    [PT_STATUS] = CHATD_SLICE (&status, 1),
    [PT_MAC] = CHATD_SLICE (mac, suite->kdf_len),
  };
  return chatd_auth_message_build (CHATD_MSG_PEER_RECEIPT, fields, G_N_ELEMENTS (fields));
}

gboolean
chatd_peer_session_check_receipt (ChatdPeerSession *session, GBytes *bytes, guint64 *ret_counter,
                                  guint8 *ret_status, GError **error)
{
  if (!has_receipt_key (session->receipt_in, error))
    return FALSE;
  g_autoptr(ChatdAuthMessage) message = parse_for_session (session, bytes, CHATD_MSG_PEER_RECEIPT,
                                                           error);
  if (message == NULL)
    return FALSE;
  guint64 counter = 0;
  chatd_auth_field_u64 (message, PT_COUNTER, &counter);
  guint8 status = *(const guint8 *) message->fields[PT_STATUS].data;
  const guint8 *digest = g_tree_lookup (session->unacked, &counter);
  if (digest == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "receipt for message %" G_GUINT64_FORMAT
                   " that was never sent, was acknowledged already or is too old", counter);
      return FALSE;
    }
  guint8 mac[CHATD_SUITE_KDF_LEN_MAX];
  if (!receipt_mac (session, session->receipt_in, message->fields[PT_COUNTER].data, status, digest,
                    mac, error))
    return FALSE;
  if (message->fields[PT_MAC].len != session->suite->kdf_len ||
      !chatd_memequal_ct (mac, message->fields[PT_MAC].data, session->suite->kdf_len))
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "peer receipt MAC does not match");
      return FALSE;
    }
  g_tree_remove (session->unacked, &counter);   /* a second receipt is refused */
  if (ret_counter != NULL)
    *ret_counter = counter;
  if (ret_status != NULL)
    *ret_status = status;
  return TRUE;
}

/* MAC(receipt key, "chatd/1/peer-receipts\0" | session id | count (4, BE) |
 * for each entry: counter (8, BE) | status | hash of the message's sealed
 * bytes) */
static gboolean
receipts_mac (const ChatdPeerSession *session, const ChatdSecret *key, const guint64 *counters,
              const guint8 *statuses, const guint8 *const *digests, guint n, guint8 *ret_mac,
              GError **error)
{
  static const char label[] = CHATD_PEER_LABEL_RECEIPTS;
  gsize k = session->suite->kdf_len;
  gsize len = sizeof label + CHATD_PEER_SESSION_ID_LEN + 4 + (gsize) n * (CHATD_PEER_RECEIPT_ENTRY_LEN + k);
  g_autofree guint8 *input = g_malloc (len);
  guint8 *p = input;
  memcpy (p, label, sizeof label), p += sizeof label;
  memcpy (p, session->id, sizeof session->id), p += sizeof session->id;
  *p++ = (guint8) (n >> 24), *p++ = (guint8) (n >> 16), *p++ = (guint8) (n >> 8), *p++ = (guint8) n;
  for (guint i = 0; i < n; i++)
    {
      chatd_u64_to_be (counters[i], p), p += 8;
      *p++ = statuses[i];
      memcpy (p, digests[i], k), p += k;
    }
  return session->suite->mac (key->data, key->len, input, len, ret_mac, error);
}

static gint
compare_entries (gconstpointer a, gconstpointer b)
{
  guint64 x = ((const ChatdPeerReceiptEntry *) a)->counter, y = ((const ChatdPeerReceiptEntry *) b)->counter;
  return x < y ? -1 : x > y;
}

GBytes *
chatd_peer_session_receipts (ChatdPeerSession *session, ChatdPeerReceiptEntry *entries, guint n_entries,
                             GError **error)
{
  if (!has_receipt_key (session->receipt_out, error))
    return NULL;
  if (n_entries == 0 || n_entries > CHATD_PEER_RECEIPTS_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "a batch of %u receipts (1..%d)", n_entries, CHATD_PEER_RECEIPTS_MAX);
      return NULL;
    }
  qsort (entries, n_entries, sizeof *entries, compare_entries);
  guint64 counters[CHATD_PEER_RECEIPTS_MAX];
  guint8 statuses[CHATD_PEER_RECEIPTS_MAX];
  const guint8 *digests[CHATD_PEER_RECEIPTS_MAX];
  guint8 wire[CHATD_PEER_RECEIPTS_MAX * CHATD_PEER_RECEIPT_ENTRY_LEN];
  for (guint i = 0; i < n_entries; i++)
    {
      if (i > 0 && entries[i].counter == entries[i - 1].counter)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "two receipts for message %" G_GUINT64_FORMAT " in one batch", entries[i].counter);
          return NULL;
        }
      counters[i] = entries[i].counter;
      statuses[i] = entries[i].status;
      digests[i] = entries[i].digest;
      chatd_u64_to_be (counters[i], wire + i * CHATD_PEER_RECEIPT_ENTRY_LEN);
      wire[i * CHATD_PEER_RECEIPT_ENTRY_LEN + 8] = statuses[i];
    }
  guint8 mac[CHATD_SUITE_KDF_LEN_MAX];
  if (!receipts_mac (session, session->receipt_out, counters, statuses, digests, n_entries, mac, error))
    return NULL;
  ChatdSlice fields[] = {
    [PB_SESSION] = CHATD_SLICE (session->id, sizeof session->id),
    [PB_ENTRIES] = CHATD_SLICE (wire, (gsize) n_entries * CHATD_PEER_RECEIPT_ENTRY_LEN),
    [PB_MAC] = CHATD_SLICE (mac, session->suite->kdf_len),
  };
  return chatd_auth_message_build (CHATD_MSG_PEER_RECEIPTS, fields, G_N_ELEMENTS (fields));
}

gboolean
chatd_peer_session_check_receipts (ChatdPeerSession *session, const ChatdAuthMessage *message,
                                   guint64 ret_counters[CHATD_PEER_RECEIPTS_MAX],
                                   guint8 ret_statuses[CHATD_PEER_RECEIPTS_MAX], guint *ret_n,
                                   GError **error)
{
  gsize k = session->suite->kdf_len;
  if (!has_receipt_key (session->receipt_in, error) ||
      !is_for_session (session, message, CHATD_MSG_PEER_RECEIPTS, error))
    return FALSE;
  const ChatdSlice *wire = &message->fields[PB_ENTRIES];
  if (wire->len == 0 || wire->len % CHATD_PEER_RECEIPT_ENTRY_LEN != 0 ||
      wire->len / CHATD_PEER_RECEIPT_ENTRY_LEN > CHATD_PEER_RECEIPTS_MAX ||
      message->fields[PB_MAC].len != k)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "malformed receipt batch (%" G_GSIZE_FORMAT " bytes of entries, a MAC of %" G_GSIZE_FORMAT ")",
                   wire->len, message->fields[PB_MAC].len);
      return FALSE;
    }
  guint n = wire->len / CHATD_PEER_RECEIPT_ENTRY_LEN;
  guint64 counters[CHATD_PEER_RECEIPTS_MAX];
  guint8 statuses[CHATD_PEER_RECEIPTS_MAX];
  const guint8 *digests[CHATD_PEER_RECEIPTS_MAX];
  const guint8 *p = wire->data;
  for (guint i = 0; i < n; i++, p += CHATD_PEER_RECEIPT_ENTRY_LEN)
    {
      guint64 counter = 0;
      for (guint j = 0; j < 8; j++)
        counter = counter << 8 | p[j];
      if (i > 0 && counter <= counters[i - 1])
        {
          g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                               "receipt batch: counters not strictly increasing");
          return FALSE;
        }
      counters[i] = counter;
      statuses[i] = p[8];
      /* every message must be one we sealed and have no receipt for: one
       * unknown (a replay, never sent, forgotten) refuses the batch */
      if ((digests[i] = g_tree_lookup (session->unacked, &counters[i])) == NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                       "receipt batch names message %" G_GUINT64_FORMAT
                       " that was never sent, was acknowledged already or is too old", counter);
          return FALSE;
        }
    }
  guint8 mac[CHATD_SUITE_KDF_LEN_MAX];
  if (!receipts_mac (session, session->receipt_in, counters, statuses, digests, n, mac, error))
    return FALSE;
  if (!chatd_memequal_ct (mac, message->fields[PB_MAC].data, k))
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "peer receipt batch MAC does not match");
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    g_tree_remove (session->unacked, &counters[i]);   /* a second receipt is refused */
  memcpy (ret_counters, counters, n * sizeof counters[0]);
  memcpy (ret_statuses, statuses, n);
  *ret_n = n;
  return TRUE;
}

guint
chatd_peer_session_unacked_count (const ChatdPeerSession *session)
{
  return session->unacked != NULL ? (guint) g_tree_nnodes (session->unacked) : 0;
}

gboolean
chatd_peer_session_needs_rekey (const ChatdPeerSession *session, gint64 now_us)
{
  return session->sealed >= session->limits.rekey_messages ||
         (now_us >= session->created_us &&
          (guint64) now_us - (guint64) session->created_us >= (guint64) session->limits.rekey_after_us);
}

guint64
chatd_peer_session_sealed_count (const ChatdPeerSession *session)
{
  return session->sealed;
}

guint64
chatd_peer_session_opened_count (const ChatdPeerSession *session)
{
  return session->opened;
}

gboolean
chatd_peer_session_take_protector (ChatdPeerSession *session, ChatdPacketProtector *ret_protector,
                                   GError **error)
{
  if (session->send_transport == NULL)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                           "the session's protector was already taken");
      return FALSE;
    }
  ChatdChannel *channel = chatd_channel_new_with_keys (session->suite, session->send_transport->data,
                                                       session->receive_transport->data, error);
  if (channel == NULL)
    return FALSE;
  g_clear_pointer (&session->send_transport, chatd_secret_free);
  g_clear_pointer (&session->receive_transport, chatd_secret_free);
  *ret_protector = chatd_channel_take_protector (channel);
  return TRUE;
}

gboolean
chatd_peer_message_session_id (GBytes *bytes, guint8 ret_id[CHATD_PEER_SESSION_ID_LEN],
                               GError **error)
{
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, error);
  if (message == NULL)
    return FALSE;
  if (message->type != CHATD_MSG_PEER_MESSAGE && message->type != CHATD_MSG_PEER_RECEIPT &&
      message->type != CHATD_MSG_PEER_RECEIPTS)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "%s is not a peer session message", chatd_auth_message_type_name (message->type));
      return FALSE;
    }
  memcpy (ret_id, message->fields[0].data, CHATD_PEER_SESSION_ID_LEN);
  return TRUE;
}
