/* peer-ratchet.c: the per-direction symmetric key chain.
 *
 * Work and memory are bounded by what an authenticated message may cause,
 * not by what a forged one asks for:
 *  - _peek of a counter ahead walks only the chain (one hash per skipped
 *    counter, in a fixed secure buffer) and derives one message key: at most
 *    CHATD_PEER_MAX_GAP + 2 hash calls and no allocation, and a forged
 *    message leaves nothing behind;
 *  - the keys of skipped counters are derived only by _commit (after the
 *    message authenticated), into one secure slab of CHATD_PEER_SKIPPED_MAX
 *    keys allocated on first use and kept sorted by counter;
 *  - the process-wide skip budget (peer-skip-budget.h) caps the keys all
 *    ratchets hold together. */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-ratchet-private.h"
#include "peer-ratchet.h"
#include "peer-wire.h"

#include <string.h>



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
  ratchet->memory = chatd_secret_new (k + (LABEL_MAX + k) + k + k + suite->aead_key_len + k);
  guint8 *p = ratchet->memory->data;
  ratchet->chain_key = p, p += k;
  ratchet->scratch = p, p += LABEL_MAX + k;
  ratchet->digest = p, p += k;
  ratchet->walk = p, p += k;
  ratchet->pending_key = p, p += suite->aead_key_len;
  ratchet->pending_chain = p;
  memcpy (ratchet->chain_key, chain_key, k);
  return ratchet;
}

static void
clear_pending (ChatdPeerRatchet *ratchet)
{
  ratchet->pending = FALSE;
  chatd_wipe (ratchet->pending_key, ratchet->suite->aead_key_len);
  chatd_wipe (ratchet->pending_chain, ratchet->suite->kdf_len);
}

void
chatd_peer_ratchet_forget (ChatdPeerRatchet *ratchet)
{
  clear_pending (ratchet);
}

void
chatd_peer_ratchet_free (ChatdPeerRatchet *ratchet)
{
  if (ratchet == NULL)
    return;
  if (ratchet->budget != NULL)
    {
      chatd_peer_skip_budget_release (ratchet->budget, ratchet->skipped);
      chatd_peer_skip_budget_unref (ratchet->budget);
    }
  chatd_secret_free (ratchet->memory);
  chatd_secret_free (ratchet->slab);
  g_free (ratchet->skipped_counter);
  chatd_wipe (ratchet, sizeof *ratchet);
  g_free (ratchet);
}

void
chatd_peer_ratchet_set_budget (ChatdPeerRatchet *ratchet, ChatdPeerSkipBudget *budget)
{
  g_return_if_fail (ratchet->budget == NULL && ratchet->skipped == 0);
  if (budget != NULL)
    ratchet->budget = chatd_peer_skip_budget_ref (budget);
}

/* hash(label | chain_key) into out (out_len bytes of the digest; out may be
 * chain_key); the digest and the scratch are wiped whatever happens */
static gboolean
hash_labelled (ChatdPeerRatchet *ratchet, const char *label, const guint8 *chain_key,
               guint8 *out, gsize out_len, GError **error)
{
  const ChatdSuite *suite = ratchet->suite;
  gsize label_len = strlen (label) + 1;
  G_STATIC_ASSERT (sizeof CHATD_PEER_LABEL_MESSAGE_KEY <= LABEL_MAX &&
                   sizeof CHATD_PEER_LABEL_CHAIN_KEY <= LABEL_MAX);
  memcpy (ratchet->scratch, label, label_len);
  memmove (ratchet->scratch + label_len, chain_key, suite->kdf_len);
  gboolean ok = suite->hash (ratchet->scratch, label_len + suite->kdf_len, ratchet->digest, error);
  chatd_wipe (ratchet->scratch, LABEL_MAX + suite->kdf_len);
  if (ok)
    memcpy (out, ratchet->digest, out_len);
  chatd_wipe (ratchet->digest, suite->kdf_len);
  return ok;
}

/* chain_key(n) -> chain_key(n+1), in place allowed */
static gboolean
step_chain_only (ChatdPeerRatchet *ratchet, const guint8 *chain_in, guint8 *chain_out, GError **error)
{
  return hash_labelled (ratchet, CHATD_PEER_LABEL_CHAIN_KEY, chain_in, chain_out,
                        ratchet->suite->kdf_len, error);
}

/* chain_key(n) -> message_key(n), chain_key(n+1); chain_out may be
 * chain_in (then it is overwritten) */
static gboolean
step_chain (ChatdPeerRatchet *ratchet, const guint8 *chain_in, guint8 *message_key_out,
            guint8 *chain_out, GError **error)
{
  const ChatdSuite *suite = ratchet->suite;
  if (!hash_labelled (ratchet, CHATD_PEER_LABEL_MESSAGE_KEY, chain_in, message_key_out,
                      suite->aead_key_len, error))
    return FALSE;
  if (!step_chain_only (ratchet, chain_in, chain_out, error))
    {
      chatd_wipe (message_key_out, suite->aead_key_len);
      return FALSE;
    }
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

static guint8 *
slab_key (ChatdPeerRatchet *ratchet, guint index)
{
  return ratchet->slab->data + (gsize) index * ratchet->suite->aead_key_len;
}

/* the index of counter among the skipped keys, or -1 */
static gint
find_skipped (const ChatdPeerRatchet *ratchet, guint64 counter)
{
  guint lo = 0, hi = ratchet->skipped;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (ratchet->skipped_counter[mid] < counter)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo < ratchet->skipped && ratchet->skipped_counter[lo] == counter ? (gint) lo : -1;
}

/* removes count keys starting at index (wiped; the budget gets them back) */
static void
drop_skipped (ChatdPeerRatchet *ratchet, guint index, guint count)
{
  gsize a = ratchet->suite->aead_key_len;
  guint after = ratchet->skipped - index - count;
  memmove (slab_key (ratchet, index), slab_key (ratchet, index + count), after * a);
  memmove (ratchet->skipped_counter + index, ratchet->skipped_counter + index + count,
           after * sizeof (guint64));
  ratchet->skipped -= count;
  chatd_wipe (slab_key (ratchet, ratchet->skipped), count * a);
  if (ratchet->budget != NULL)
    chatd_peer_skip_budget_release (ratchet->budget, count);
}

gboolean
chatd_peer_ratchet_peek (ChatdPeerRatchet *ratchet, guint64 counter,
                         const guint8 **ret_message_key, GError **error)
{
  const ChatdSuite *suite = ratchet->suite;
  clear_pending (ratchet);
  if (counter < ratchet->next)
    {
      gint index = find_skipped (ratchet, counter);
      if (index < 0)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                       "message %" G_GUINT64_FORMAT " was already received or is too old", counter);
          return FALSE;
        }
      memcpy (ratchet->pending_key, slab_key (ratchet, index), suite->aead_key_len);
      ratchet->pending_from_skipped = TRUE;
      ratchet->pending_index = index;
    }
  else
    {
      if (counter - ratchet->next > CHATD_PEER_MAX_GAP)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                       "message %" G_GUINT64_FORMAT " is too far ahead (expected %" G_GUINT64_FORMAT ")",
                       counter, ratchet->next);
          return FALSE;
        }
      /* only the chain up to counter: the skipped keys wait for the commit */
      memcpy (ratchet->pending_chain, ratchet->chain_key, suite->kdf_len);
      for (guint64 n = ratchet->next; n < counter; n++)
        if (!step_chain_only (ratchet, ratchet->pending_chain, ratchet->pending_chain, error))
          {
            clear_pending (ratchet);
            return FALSE;
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

/* room for keep more skipped keys (keep <= CHATD_PEER_SKIPPED_MAX): own
 * oldest keys go first; returns how many the budget allows */
static guint
make_room (ChatdPeerRatchet *ratchet, guint keep)
{
  if (ratchet->skipped + keep > CHATD_PEER_SKIPPED_MAX)
    drop_skipped (ratchet, 0, ratchet->skipped + keep - CHATD_PEER_SKIPPED_MAX);
  if (ratchet->budget == NULL)
    return keep;
  guint granted = chatd_peer_skip_budget_take (ratchet->budget, keep);
  if (granted < keep && ratchet->skipped > 0)
    {
      /* newer keys are worth more than this ratchet's older ones */
      drop_skipped (ratchet, 0, MIN (ratchet->skipped, keep - granted));
      granted += chatd_peer_skip_budget_take (ratchet->budget, keep - granted);
    }
  return granted;
}

/* derives the keys of the newest keep counters before counter, from the
 * chain key of next, into the slab */
static void
store_skipped (ChatdPeerRatchet *ratchet, guint64 counter, guint keep)
{
  const ChatdSuite *suite = ratchet->suite;
  guint64 first_kept = counter - keep;
  if (ratchet->slab == NULL && keep > 0)
    {
      ratchet->slab = chatd_secret_new ((gsize) CHATD_PEER_SKIPPED_MAX * suite->aead_key_len);
      ratchet->skipped_counter = g_new0 (guint64, CHATD_PEER_SKIPPED_MAX);
    }
  memcpy (ratchet->walk, ratchet->chain_key, suite->kdf_len);
  guint stored = 0;
  for (guint64 n = ratchet->next; n < counter; n++)
    {
      gboolean ok;
      if (n < first_kept)
        ok = step_chain_only (ratchet, ratchet->walk, ratchet->walk, NULL);
      else
        {
          guint index = ratchet->skipped + stored;
          ok = step_chain (ratchet, ratchet->walk, slab_key (ratchet, index), ratchet->walk, NULL);
          if (ok)
            {
              ratchet->skipped_counter[index] = n;
              stored++;
            }
        }
      if (!ok)
        break;   /* the rest are not kept (those messages will be refused) */
    }
  chatd_wipe (ratchet->walk, suite->kdf_len);
  ratchet->skipped += stored;
  if (ratchet->budget != NULL && stored < keep)
    chatd_peer_skip_budget_release (ratchet->budget, keep - stored);
}

void
chatd_peer_ratchet_commit (ChatdPeerRatchet *ratchet)
{
  g_return_if_fail (ratchet->pending);
  guint64 counter = ratchet->pending_counter;
  if (ratchet->pending_from_skipped)
    drop_skipped (ratchet, ratchet->pending_index, 1);   /* wipes the stored key */
  else
    {
      guint64 gap = counter - ratchet->next;
      guint keep = (guint) MIN (gap, (guint64) CHATD_PEER_SKIPPED_MAX);
      if (keep > 0)
        keep = make_room (ratchet, keep);
      if (keep > 0)
        store_skipped (ratchet, counter, keep);
      memcpy (ratchet->chain_key, ratchet->pending_chain, ratchet->suite->kdf_len);
      ratchet->next = counter + 1;
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
  return ratchet->skipped;
}
