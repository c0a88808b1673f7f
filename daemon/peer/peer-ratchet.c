/* peer-ratchet.c: the per-direction symmetric key chain. */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-ratchet.h"
#include "peer-wire.h"

#include <string.h>

struct _ChatdPeerRatchet {
  const ChatdSuite *suite;
  ChatdSecret      *chain_key;   /* chain_key(next) */
  guint64           next;
  GHashTable       *skipped;     /* guint64 * counter -> ChatdSecret * message key */
  GQueue            order;       /* guint64 * counters, oldest first (for eviction) */
};

struct _ChatdPeerRatchetStep {
  guint64      counter;
  ChatdSecret *message_key;
  /* when counter >= next: the chain key after it and the keys it skipped
   * (next .. counter-1), in order */
  ChatdSecret *chain_key;
  GPtrArray   *skipped_keys;
  gboolean     from_skipped;
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
  ChatdPeerRatchet *ratchet = g_new0 (ChatdPeerRatchet, 1);
  ratchet->suite = suite;
  ratchet->chain_key = chatd_secret_new_from (chain_key, suite->kdf_len);
  ratchet->skipped = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, secret_free_func);
  g_queue_init (&ratchet->order);
  return ratchet;
}

void
chatd_peer_ratchet_free (ChatdPeerRatchet *ratchet)
{
  if (ratchet == NULL)
    return;
  chatd_secret_free (ratchet->chain_key);
  g_hash_table_destroy (ratchet->skipped);
  g_queue_clear_full (&ratchet->order, g_free);
  g_free (ratchet);
}

void
chatd_peer_ratchet_step_free (ChatdPeerRatchetStep *step)
{
  if (step == NULL)
    return;
  chatd_secret_free (step->message_key);
  chatd_secret_free (step->chain_key);
  if (step->skipped_keys != NULL)
    g_ptr_array_unref (step->skipped_keys);
  g_free (step);
}

/* chain_key(n) -> message_key(n), chain_key(n+1); the caller wipes the old
 * chain key */
static gboolean
step_chain (const ChatdSuite *suite, const guint8 *chain_key, ChatdSecret **ret_message_key,
            ChatdSecret **ret_chain_key, GError **error)
{
  static const char message_label[] = CHATD_PEER_LABEL_MESSAGE_KEY;
  static const char chain_label[] = CHATD_PEER_LABEL_CHAIN_KEY;
  g_autoptr(ChatdSecret) message_key = chatd_secret_new (suite->kdf_len);
  g_autoptr(ChatdSecret) next = chatd_secret_new (suite->kdf_len);
  if (!suite->mac (chain_key, suite->kdf_len, (const guint8 *) message_label, sizeof message_label,
                   message_key->data, error) ||
      !suite->mac (chain_key, suite->kdf_len, (const guint8 *) chain_label, sizeof chain_label,
                   next->data, error))
    return FALSE;
  chatd_secret_truncate (message_key, suite->aead_key_len);
  *ret_message_key = g_steal_pointer (&message_key);
  *ret_chain_key = g_steal_pointer (&next);
  return TRUE;
}

gboolean
chatd_peer_ratchet_next (ChatdPeerRatchet *ratchet, guint64 *ret_counter,
                         ChatdSecret **ret_message_key, GError **error)
{
  ChatdSecret *message_key = NULL, *chain_key = NULL;
  if (ratchet->next == G_MAXUINT64)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "message counter exhausted");
      return FALSE;
    }
  if (!step_chain (ratchet->suite, ratchet->chain_key->data, &message_key, &chain_key, error))
    return FALSE;
  chatd_secret_free (ratchet->chain_key);   /* wiped: the past cannot be derived again */
  ratchet->chain_key = chain_key;
  *ret_counter = ratchet->next++;
  *ret_message_key = message_key;
  return TRUE;
}

gboolean
chatd_peer_ratchet_peek (ChatdPeerRatchet *ratchet, guint64 counter,
                         ChatdPeerRatchetStep **ret_step, GError **error)
{
  const ChatdSuite *suite = ratchet->suite;
  if (counter < ratchet->next)
    {
      ChatdSecret *key = g_hash_table_lookup (ratchet->skipped, &counter);
      if (key == NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                       "message %" G_GUINT64_FORMAT " was already received or is too old", counter);
          return FALSE;
        }
      ChatdPeerRatchetStep *step = g_new0 (ChatdPeerRatchetStep, 1);
      step->counter = counter;
      step->from_skipped = TRUE;
      step->message_key = chatd_secret_new_from (key->data, key->len);
      *ret_step = step;
      return TRUE;
    }
  if (counter - ratchet->next > CHATD_PEER_SKIPPED_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "message %" G_GUINT64_FORMAT " is too far ahead (expected %" G_GUINT64_FORMAT ")",
                   counter, ratchet->next);
      return FALSE;
    }
  g_autoptr(ChatdPeerRatchetStep) step = g_new0 (ChatdPeerRatchetStep, 1);
  step->counter = counter;
  step->skipped_keys = g_ptr_array_new_with_free_func (secret_free_func);
  g_autoptr(ChatdSecret) chain_key = chatd_secret_new_from (ratchet->chain_key->data,
                                                            ratchet->chain_key->len);
  for (guint64 n = ratchet->next; n <= counter; n++)
    {
      ChatdSecret *message_key = NULL, *next = NULL;
      if (!step_chain (suite, chain_key->data, &message_key, &next, error))
        return FALSE;
      chatd_secret_free (chain_key);
      chain_key = next;
      if (n < counter)
        g_ptr_array_add (step->skipped_keys, message_key);
      else
        step->message_key = message_key;
    }
  step->chain_key = g_steal_pointer (&chain_key);
  *ret_step = g_steal_pointer (&step);
  return TRUE;
}

const guint8 *
chatd_peer_ratchet_step_key (const ChatdPeerRatchetStep *step)
{
  return step->message_key->data;
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
chatd_peer_ratchet_commit (ChatdPeerRatchet *ratchet, ChatdPeerRatchetStep *step)
{
  if (step->from_skipped)
    {
      g_hash_table_remove (ratchet->skipped, &step->counter);   /* wipes the stored key */
      /* its counter stays in `order` until it reaches the head; a stale entry
       * there is skipped by evict_oldest's remove */
      for (GList *l = ratchet->order.head; l != NULL; l = l->next)
        if (*(guint64 *) l->data == step->counter)
          {
            g_free (l->data);
            g_queue_delete_link (&ratchet->order, l);
            break;
          }
    }
  else
    {
      for (guint i = 0; i < step->skipped_keys->len; i++)
        {
          guint64 *counter = g_new (guint64, 1);
          *counter = ratchet->next + i;
          g_hash_table_insert (ratchet->skipped, g_memdup2 (counter, sizeof *counter),
                               g_steal_pointer (&step->skipped_keys->pdata[i]));
          g_queue_push_tail (&ratchet->order, counter);
        }
      g_ptr_array_set_free_func (step->skipped_keys, NULL);
      chatd_secret_free (ratchet->chain_key);
      ratchet->chain_key = g_steal_pointer (&step->chain_key);
      ratchet->next = step->counter + 1;
      evict_oldest (ratchet);
    }
  chatd_peer_ratchet_step_free (step);
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
