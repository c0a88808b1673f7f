/* peer-session.h: one forward-secret session between two user nodes, made
 * by a completed handshake (peer-handshake.h): messages sealed with keys from
 * a per-direction ratchet (peer-ratchet.h), receipts that are MACs, the
 * packet protector for the transport connection, and the re-key rule.
 * Sans-IO: it builds and checks bytes; the caller moves them and says what
 * time it is.
 *
 * PEER_MESSAGE = session id | counter | AEAD(message key(counter),
 *                  nonce = counter (big-endian, left-padded with zeros),
 *                  aad = "chatd/1/peer-message\0" | session id | counter | caller's aad,
 *                  plaintext)
 * PEER_RECEIPT = session id | counter | status | MAC(receipt key of that direction,
 *                  "chatd/1/peer-receipt\0" | session id | counter | status |
 *                  hash(the message's AEAD ciphertext || tag))
 *
 * No function returns a key: message keys are used once inside seal/open and
 * wiped. */
#pragma once
#include <chatd/suite.h>
#include "chatd-crypto.h"
#include "chatd-packet.h"
#include "peer-keys.h"
#include "peer-skip-budget.h"
#include "peer-wire.h"
#include "auth-message.h"

typedef struct _ChatdPeerSession ChatdPeerSession;

/* The re-key rule; a zero field takes its default (peer-wire.h). */
typedef struct {
  guint64 rekey_messages;    /* CHATD_PEER_REKEY_MESSAGES */
  gint64  rekey_after_us;    /* CHATD_PEER_REKEY_AFTER_US */
} ChatdPeerLimits;

/* Takes nothing from keys (copies what it needs); now_us starts the re-key
 * clock.  limits may be NULL. */
ChatdPeerSession *chatd_peer_session_new  (const ChatdSuite *suite, ChatdPeerRole role,
                                           const ChatdPeerKeys *keys, const ChatdPeerLimits *limits,
                                           gint64 now_us, GError **error);
void              chatd_peer_session_free (ChatdPeerSession *session);

/* The process-wide cap on skipped keys for the receive ratchet (the link
 * sets it at install); before the first message was opened. */
void          chatd_peer_session_set_skip_budget (ChatdPeerSession *session,
                                                  ChatdPeerSkipBudget *budget);

const guint8 *chatd_peer_session_id   (const ChatdPeerSession *session);
ChatdPeerRole chatd_peer_session_role (const ChatdPeerSession *session);

/* A PEER_MESSAGE carrying plaintext, bound to aad (which is not carried:
 * the receiver must pass the same, e.g. sender, recipient, message id).
 * Refused once the session has sealed twice its re-key count: it must be
 * re-keyed first. */
GBytes  *chatd_peer_session_seal (ChatdPeerSession *session, const guint8 *aad, gsize aad_len,
                                  const guint8 *plaintext, gsize plaintext_len,
                                  guint64 *ret_counter, GError **error);
/* Opens a PEER_MESSAGE of this session; each counter opens once (a replay is
 * CHATD_ERROR_REFUSED), in any order within CHATD_PEER_MAX_GAP ahead and
 * CHATD_PEER_SKIPPED_MAX skipped.  A
 * message that does not authenticate changes nothing. */
GBytes  *chatd_peer_session_open (ChatdPeerSession *session, GBytes *message,
                                  const guint8 *aad, gsize aad_len,
                                  guint64 *ret_counter, GError **error);
/* The same with the message already parsed (chatd_auth_message_parse);
 * ret_digest (kdf_len bytes, may be NULL) gets the hash of its sealed
 * bytes, what its receipt covers (ChatdPeerReceiptEntry). */
GBytes  *chatd_peer_session_open_parsed (ChatdPeerSession *session, const ChatdAuthMessage *message,
                                         const guint8 *aad, gsize aad_len, guint64 *ret_counter,
                                         guint8 *ret_digest, GError **error);

/* The receipt for a PEER_MESSAGE this side received (the bytes as they
 * came), and the check of a receipt for a message this side sent: the MAC
 * covers the hash of the message's sealed bytes, and the sender accepts one
 * receipt per message it sealed and has not had a receipt for (at most
 * CHATD_PEER_UNACKED_MAX remembered, the oldest forgotten); anything else
 * (never sent, a duplicate, other bytes) is CHATD_ERROR_REFUSED. */
GBytes  *chatd_peer_session_receipt       (ChatdPeerSession *session, GBytes *message,
                                           guint8 status, GError **error);
gboolean chatd_peer_session_check_receipt (ChatdPeerSession *session, GBytes *receipt,
                                           guint64 *ret_counter, guint8 *ret_status,
                                           GError **error);
guint    chatd_peer_session_unacked_count (const ChatdPeerSession *session);

/* A batch of receipts (PEER_RECEIPTS): one MAC over the counters, statuses
 * and hashes of 1..CHATD_PEER_RECEIPTS_MAX messages of one session
 *
 *   MAC(receipt key, "chatd/1/peer-receipts\0" | session id | count (4, BE) |
 *       for each, counters increasing: counter (8, BE) | status | hash(sealed bytes))
 *
 * The sender accepts a batch as a whole or not at all: each counter must be
 * of a message it sealed in that session and has no receipt for (a
 * replayed batch, a message never sent or acknowledged already refuses the
 * whole batch, CHATD_ERROR_REFUSED), and the MAC must match. */
typedef struct {
  guint64 counter;
  guint8  status;
  guint8  digest[CHATD_SUITE_KDF_LEN_MAX];   /* from chatd_peer_session_open_parsed */
} ChatdPeerReceiptEntry;

/* Sorts entries by counter; two entries for one counter are refused. */
GBytes  *chatd_peer_session_receipts       (ChatdPeerSession *session, ChatdPeerReceiptEntry *entries,
                                            guint n_entries, GError **error);
/* On success the batch's counters (increasing) and statuses, *ret_n of
 * them; all are acknowledged at once. */
gboolean chatd_peer_session_check_receipts (ChatdPeerSession *session, const ChatdAuthMessage *message,
                                            guint64 ret_counters[CHATD_PEER_RECEIPTS_MAX],
                                            guint8 ret_statuses[CHATD_PEER_RECEIPTS_MAX], guint *ret_n,
                                            GError **error);

/* TRUE once the session has sealed rekey_messages messages or lived
 * rekey_after_us: start a new handshake (the old session keeps working
 * until the new one is installed, see peer-link.h). */
gboolean chatd_peer_session_needs_rekey   (const ChatdPeerSession *session, gint64 now_us);
guint64  chatd_peer_session_sealed_count  (const ChatdPeerSession *session);
/* Past this time even an unreplaced session is dropped (peer-link.h):
 * created + rekey_after_us + CHATD_PEER_RETIRED_GRACE_US. */
gint64   chatd_peer_session_end_of_life   (const ChatdPeerSession *session);
/* Retirement (the link calls it when a new session replaces this one): the
 * send ratchet and the transport keys are wiped at once; the session still
 * opens late messages, sends their receipts and checks receipts for what it
 * sent, but never seals again. */
void     chatd_peer_session_retire        (ChatdPeerSession *session);
guint64  chatd_peer_session_opened_count  (const ChatdPeerSession *session);

/* The packet protector for the transport connection between the two nodes
 * (chatd_connection_install_protector): the session's two transport keys,
 * packet number as nonce, header as associated data.  Once per session. */
gboolean chatd_peer_session_take_protector (ChatdPeerSession *session,
                                            ChatdPacketProtector *ret_protector, GError **error);

/* The session id of a PEER_MESSAGE, PEER_RECEIPT or PEER_RECEIPTS, to find its session. */
gboolean chatd_peer_message_session_id (GBytes *message,
                                        guint8 ret_id[CHATD_PEER_SESSION_ID_LEN], GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPeerSession, chatd_peer_session_free)
