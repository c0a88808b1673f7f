/* peer-ratchet.h: the symmetric key chain of one direction of a peer
 * session.  Each step turns the chain key into a message key and the next
 * chain key with the suite's hash, then overwrites the chain key it came
 * from:
 *
 *   message_key(n) = first aead_key_len bytes of
 *                    hash("chatd/1/peer-message-key\0" | chain_key(n))
 *   chain_key(n+1) = hash("chatd/1/peer-chain-key\0" | chain_key(n))
 *
 * so whoever steals the current chain key cannot go back to earlier message
 * keys (that would invert the hash).  The receiving side keeps the keys of
 * skipped counters (messages that overtook others), at most
 * CHATD_PEER_SKIPPED_MAX of them (and fewer when the process-wide skip
 * budget is used up, peer-skip-budget.h), and gives each key out once; a
 * counter it has already used, or one more than CHATD_PEER_MAX_GAP ahead,
 * is refused.  All keys live in libgcrypt secure memory, in buffers
 * allocated once per ratchet (no secure allocation per message).
 *
 * Receiving is two-phase so that a forged message changes nothing and costs
 * little: _peek derives the key of a counter without changing the ratchet
 * (at most CHATD_PEER_MAX_GAP + 2 hash calls, no allocation); only _commit,
 * called once the message authenticated, consumes it and derives the keys
 * of the counters it skipped. */
#pragma once
#include <chatd/suite.h>
#include "chatd-crypto.h"
#include "peer-skip-budget.h"

typedef struct _ChatdPeerRatchet ChatdPeerRatchet;

/* chain_key: the suite's kdf_len bytes; the suite needs CAN_KDF and a
 * kdf_len of at least its aead_key_len. */
ChatdPeerRatchet *chatd_peer_ratchet_new  (const ChatdSuite *suite, const guint8 *chain_key,
                                           GError **error);
void              chatd_peer_ratchet_free (ChatdPeerRatchet *ratchet);
/* The receive ratchet's share of the process-wide cap (a reference is
 * kept); before any key was skipped. */
void              chatd_peer_ratchet_set_budget (ChatdPeerRatchet *ratchet,
                                                 ChatdPeerSkipBudget *budget);

/* Sending: the next counter and its message key, written into the caller's
 * (secure) buffer of aead_key_len bytes; the chain moves on at once. */
gboolean chatd_peer_ratchet_next (ChatdPeerRatchet *ratchet, guint64 *ret_counter,
                                  guint8 *ret_message_key, GError **error);

/* Receiving: the key of counter (aead_key_len bytes inside the ratchet,
 * valid until the next peek or commit), without consuming it.  Refused
 * (CHATD_ERROR_REFUSED) if counter was used already or skipped too long ago,
 * or is more than CHATD_PEER_MAX_GAP ahead. */
gboolean chatd_peer_ratchet_peek   (ChatdPeerRatchet *ratchet, guint64 counter,
                                    const guint8 **ret_message_key, GError **error);
/* Consumes the key of the last successful peek (and keeps the keys it
 * skipped); the key is wiped. */
void     chatd_peer_ratchet_commit (ChatdPeerRatchet *ratchet);
/* Drops (wipes) the last peek without consuming it: the message did not
 * authenticate. */
void     chatd_peer_ratchet_forget (ChatdPeerRatchet *ratchet);

/* The next counter the chain would derive, and how many skipped keys it
 * holds (for tests and stats). */
guint64 chatd_peer_ratchet_next_counter  (const ChatdPeerRatchet *ratchet);
guint   chatd_peer_ratchet_skipped_count (const ChatdPeerRatchet *ratchet);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPeerRatchet, chatd_peer_ratchet_free)
