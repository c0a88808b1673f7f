/* peer-ratchet-private.h: the ratchet's state, for peer-ratchet.c and the
 * test-only library (peer-testing.c); nothing else includes it. */
#pragma once
#include "peer-ratchet.h"

#define LABEL_MAX 32   /* room for a label in the scratch buffer */

struct _ChatdPeerRatchet {
  const ChatdSuite    *suite;
  guint64              next;
  ChatdPeerSkipBudget *budget;         /* NULL: only the per-ratchet cap */

  /* one secure block: the fixed buffers below point into it */
  ChatdSecret         *memory;
  guint8              *chain_key;      /* chain_key(next), kdf_len */
  guint8              *scratch;        /* label | chain key, LABEL_MAX + kdf_len */
  guint8              *digest;         /* kdf_len */
  guint8              *walk;           /* a chain key on its way, kdf_len */
  guint8              *pending_key;    /* aead_key_len */
  guint8              *pending_chain;  /* chain key after pending_counter, kdf_len */

  /* skipped keys: counters ascending, keys at the same index in the slab */
  ChatdSecret         *slab;           /* CHATD_PEER_SKIPPED_MAX * aead_key_len, or NULL */
  guint64             *skipped_counter;
  guint                skipped;

  /* the last peek */
  gboolean             pending;
  gboolean             pending_from_skipped;
  guint                pending_index;
  guint64              pending_counter;
};
