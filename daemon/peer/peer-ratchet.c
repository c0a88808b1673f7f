/* peer-ratchet.c: the per-direction symmetric key chain. */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-ratchet.h"
#include "peer-wire.h"

#include <string.h>

#define LABEL_MAX 32

struct _ChatdPeerRatchet {
  const ChatdSuite *suite;
  guint64           next;
  GHashTable       *skipped;     /* guint64 * counter -> ChatdSecret * message key */
  GQueue            order;       /* guint64 * counters, oldest first (for eviction) */

  /* one secure block: the fixed buffers below point into it */
  ChatdSecret      *memory;
  guint8           *chain_key;       /* chain_key(next), kdf_len */
  guint8           *scratch;         /* label | chain key, LABEL_MAX + kdf_len */
  guint8           *digest;          /* kdf_len */

  /* the last peek */
  gboolean          pending;
  gboolean          pending_from_skipped;
  guint64           pending_counter;
  guint8           *pending_key;     /* aead_key_len */
  guint8           *pending_chain;   /* chain key after pending_counter, kdf_len */
  GPtrArray        *pending_skipped; /* ChatdSecret * keys of next .. pending_counter-1 */
};

static void
secret_free_func (gpointer data)
{
  chatd_secret_free (data);
}

ChatdPeerRatchet *
chatd_peer_ratchet_new (const ChatdSuite *suite, const guint8 *chain_key, GError **error)
{
  if (!chatd_suite_has (suite, CHATD_SUITE_CAN_KDF | CHATD_SUITE_CAN_AEAD) ||
      suite->kdf_len < suite->aead_key_len)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "suite '%s' cannot drive a message key chain", suite ? suite->name : "(none)");
      return NULL;
    }
  gsize k = suite->kdf_len;
  ChatdPeerRatchet *ratchet = g_new0 (ChatdPeerRatchet, 1);
  ratchet->suite = suite;
  ratchet->memory = chatd_secret_new (k + (LABEL_MAX + k) + k + suite->aead_key_len + k);
  guint8 *p = ratchet->memory->data;
  ratchet->chain_key = p, p += k;
  ratchet->scratch = p, p += LABEL_MAX + k;
  ratchet->digest = p, p += k;
  ratchet->pending_key = p, p += suite->aead_key_len;
  ratchet->pending_chain = p;
  memcpy (ratchet->chain_key, chain_key, k);
  ratchet->skipped = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, secret_free_func);
  g_queue_init (&ratchet->order);
  return ratchet;
}

static void
clear_pending (ChatdPeerRatchet *ratchet)
{
  ratchet->pending = FALSE;
  chatd_wipe (ratchet->pending_key, ratchet->suite->aead_key_len);
  chatd_wipe (ratchet->pending_chain, ratchet->suite->kdf_len);
  g_clear_pointer (&ratchet->pending_skipped, g_ptr_array_unref);
}

void
chatd_peer_ratchet_free (ChatdPeerRatchet *ratchet)
{
  if (ratchet == NULL)
    return;
  clear_pending (ratchet);
  chatd_secret_free (ratchet->memory);
  g_hash_table_destroy (ratchet->skipped);
  g_queue_clear_full (&ratchet->order, g_free);
  g_free (ratchet);
}

/* hash(label | chain_key) into ratchet->digest */
static gboolean
hash_labelled (ChatdPeerRatchet *ratchet, const char *label, const guint8 *chain_key, GError **error)
{
  const ChatdSuite *suite = ratchet->suite;
  gsize label_len = strlen (label) + 1;
  G_STATIC_ASSERT (sizeof CHATD_PEER_LABEL_MESSAGE_KEY <= LABEL_MAX &&
                   sizeof CHATD_PEER_LABEL_CHAIN_KEY <= LABEL_MAX);
  memcpy (ratchet->scratch, label, label_len);
  memmove (ratchet->scratch + label_len, chain_key, suite->kdf_len);
  gboolean ok = suite->hash (ratchet->scratch, label_len + suite->kdf_len, ratchet->digest, error);
  chatd_wipe (ratchet->scratch, LABEL_MAX + suite->kdf_len);
  return ok;
}

/* chain_key(n) -> message_key(n), chain_key(n+1); chain_out may be
 * chain_in (then it is overwritten) */
static gboolean
step_chain (ChatdPeerRatchet *ratchet, const guint8 *chain_in, guint8 *message_key_out,
            guint8 *chain_out, GError **error)
{
  const ChatdSuite *suite = ratchet->suite;
  if (!hash_labelled (ratchet, CHATD_PEER_LABEL_MESSAGE_KEY, chain_in, error))
    return FALSE;
  memcpy (message_key_out, ratchet->digest, suite->aead_key_len);
  if (!hash_labelled (ratchet, CHATD_PEER_LABEL_CHAIN_KEY, chain_in, error))
    {
      chatd_wipe (message_key_out, suite->aead_key_len);
      return FALSE;
    }
  memcpy (chain_out, ratchet->digest, suite->kdf_len);
  chatd_wipe (ratchet->digest, suite->kdf_len);
  return TRUE;
}

gboolean
chatd_peer_ratchet_next (ChatdPeerRatchet *ratchet, guint64 *ret_counter, guint8 *ret_message_key,
                         GError **error)
{
  if (ratchet->next == G_MAXUINT64)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "message counter exhausted");
      return FALSE;
    }
  /* the chain key is overwritten in place: the past cannot be derived again */
  if (!step_chain (ratchet, ratchet->chain_key, ret_message_key, ratchet->chain_key, error))
    return FALSE;
  *ret_counter = ratchet->next++;
  return TRUE;
}

gboolean
chatd_peer_ratchet_peek (ChatdPeerRatchet *ratchet, guint64 counter,
                         const guint8 **ret_message_key, GError **error)
{
  const ChatdSuite *suite = ratchet->suite;
  clear_pending (ratchet);
  if (counter < ratchet->next)
    {
      ChatdSecret *key = g_hash_table_lookup (ratchet->skipped, &counter);
      if (key == NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                       "message %" G_GUINT64_FORMAT " was already received or is too old", counter);
          return FALSE;
        }
      memcpy (ratchet->pending_key, key->data, suite->aead_key_len);
      ratchet->pending_from_skipped = TRUE;
    }
  else
    {
      if (counter - ratchet->next > CHATD_PEER_SKIPPED_MAX)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                       "message %" G_GUINT64_FORMAT " is too far ahead (expected %" G_GUINT64_FORMAT ")",
                       counter, ratchet->next);
          return FALSE;
        }
      memcpy (ratchet->pending_chain, ratchet->chain_key, suite->kdf_len);
      if (counter > ratchet->next)
        ratchet->pending_skipped = g_ptr_array_new_with_free_func (secret_free_func);
      for (guint64 n = ratchet->next; n < counter; n++)
        {
          ChatdSecret *skipped = chatd_secret_new (suite->aead_key_len);
          g_ptr_array_add (ratchet->pending_skipped, skipped);
          if (!step_chain (ratchet, ratchet->pending_chain, skipped->data, ratchet->pending_chain, error))
            {
              clear_pending (ratchet);
              return FALSE;
            }
        }
      if (!step_chain (ratchet, ratchet->pending_chain, ratchet->pending_key, ratchet->pending_chain,
                       error))
        {
          clear_pending (ratchet);
          return FALSE;
        }
      ratchet->pending_from_skipped = FALSE;
    }
  ratchet->pending = TRUE;
  ratchet->pending_counter = counter;
  *ret_message_key = ratchet->pending_key;
  return TRUE;
}

static void
evict_oldest (ChatdPeerRatchet *ratchet)
{
  while (g_hash_table_size (ratchet->skipped) > CHATD_PEER_SKIPPED_MAX)
    {
      guint64 *oldest = g_queue_pop_head (&ratchet->order);
      if (oldest == NULL)
        break;
      g_hash_table_remove (ratchet->skipped, oldest);   /* wipes the key */
      g_free (oldest);
    }
}

void
chatd_peer_ratchet_commit (ChatdPeerRatchet *ratchet)
{
  g_return_if_fail (ratchet->pending);
  guint64 counter = ratchet->pending_counter;
  if (ratchet->pending_from_skipped)
    {
      g_hash_table_remove (ratchet->skipped, &counter);   /* wipes the stored key */
      for (GList *l = ratchet->order.head; l != NULL; l = l->next)
        if (*(guint64 *) l->data == counter)
          {
            g_free (l->data);
            g_queue_delete_link (&ratchet->order, l);
            break;
          }
    }
  else
    {
      GPtrArray *skipped = ratchet->pending_skipped;
      for (guint i = 0; skipped != NULL && i < skipped->len; i++)
        {
          guint64 *key_counter = g_new (guint64, 1);
          *key_counter = ratchet->next + i;
          g_hash_table_insert (ratchet->skipped, g_memdup2 (key_counter, sizeof *key_counter),
                               g_steal_pointer (&skipped->pdata[i]));
          g_queue_push_tail (&ratchet->order, key_counter);
        }
      memcpy (ratchet->chain_key, ratchet->pending_chain, ratchet->suite->kdf_len);
      ratchet->next = counter + 1;
      evict_oldest (ratchet);
    }
  clear_pending (ratchet);
}

guint64
chatd_peer_ratchet_next_counter (const ChatdPeerRatchet *ratchet)
{
  return ratchet->next;
}

guint
chatd_peer_ratchet_skipped_count (const ChatdPeerRatchet *ratchet)
{
  return g_hash_table_size (ratchet->skipped);
}
