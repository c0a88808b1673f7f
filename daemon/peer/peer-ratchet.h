/* peer-ratchet.h: the symmetric key chain of one direction of a peer
 * session.  Each step turns the chain key into a message key and the next
 * chain key with the suite's MAC, then wipes the chain key it came from:
 *
 *   message_key(n) = MAC(chain_key(n), "chatd/1/peer-message-key\0")
 *   chain_key(n+1) = MAC(chain_key(n), "chatd/1/peer-chain-key\0")
 *
 * so whoever steals the current chain key cannot go back to earlier message
 * keys.  The receiving side keeps the keys of skipped counters (messages
 * that overtook others), at most CHATD_PEER_SKIPPED_MAX of them, and gives
 * each key out once; a counter it has already used, or one that is too far
 * ahead, is refused.  All keys live in libgcrypt secure memory.
 *
 * Receiving is two-phase so that a forged message changes nothing: _peek
 * derives the key of a counter without changing the ratchet; only _commit,
 * called once the message authenticated, consumes it. */
#pragma once
#include <chatd/suite.h>
#include "chatd-crypto.h"

typedef struct _ChatdPeerRatchet ChatdPeerRatchet;
typedef struct _ChatdPeerRatchetStep ChatdPeerRatchetStep;

/* chain_key: the suite's kdf_len bytes; the suite needs CAN_KDF and a
 * kdf_len of at least its aead_key_len. */
ChatdPeerRatchet *chatd_peer_ratchet_new  (const ChatdSuite *suite, const guint8 *chain_key,
                                           GError **error);
void              chatd_peer_ratchet_free (ChatdPeerRatchet *ratchet);

/* Sending: the next counter and its message key (aead_key_len bytes, the
 * caller frees it); the chain moves on at once. */
gboolean chatd_peer_ratchet_next (ChatdPeerRatchet *ratchet, guint64 *ret_counter,
                                  ChatdSecret **ret_message_key, GError **error);

/* Receiving: the key of counter, without consuming it.  Refused
 * (CHATD_ERROR_REFUSED) if counter was used already or skipped too long ago,
 * or is more than CHATD_PEER_SKIPPED_MAX ahead. */
gboolean     chatd_peer_ratchet_peek     (ChatdPeerRatchet *ratchet, guint64 counter,
                                          ChatdPeerRatchetStep **ret_step, GError **error);
const guint8 *chatd_peer_ratchet_step_key (const ChatdPeerRatchetStep *step);
/* Consumes the step's key (and keeps the keys it skipped); frees step. */
void         chatd_peer_ratchet_commit   (ChatdPeerRatchet *ratchet, ChatdPeerRatchetStep *step);
void         chatd_peer_ratchet_step_free (ChatdPeerRatchetStep *step);

/* The next counter the chain would derive, and how many skipped keys it
 * holds (for tests and stats). */
guint64 chatd_peer_ratchet_next_counter  (const ChatdPeerRatchet *ratchet);
guint   chatd_peer_ratchet_skipped_count (const ChatdPeerRatchet *ratchet);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPeerRatchet, chatd_peer_ratchet_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPeerRatchetStep, chatd_peer_ratchet_step_free)
