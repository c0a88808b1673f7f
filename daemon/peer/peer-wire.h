/* peer-wire.h: what both sides of a peer session share: field positions of
 * the peer-* messages (daemon/auth/auth-message.c has their schemas), the
 * purposes of signatures and MACs, labels of the key schedule and the
 * defaults of the re-key rule (doc/protocol.md, "Peer session
 * (forward-secret)"). */
#pragma once
#include <glib.h>

#define CHATD_PEER_VERSION 1

/* PEER_INIT (initiator -> responder, clear) */
enum { PI_VERSION, PI_SUITE, PI_INITIATOR, PI_RESPONDER, PI_NONCE, PI_SHARE };
/* PEER_RESPONSE (responder -> initiator): its nonce and share, and its
 * proof: AEAD(handshake key R->I, {signature over the transcript hash, key
 * confirmation}) so that an observer cannot read or check the signature */
enum { PR_NONCE, PR_SHARE, PR_PROOF };
/* PEER_FINISH (initiator -> responder): the initiator's proof, under the
 * handshake key I->R */
enum { PF_PROOF };
/* PEER_MESSAGE: session id, counter, AEAD ciphertext || tag */
enum { PM_SESSION, PM_COUNTER, PM_SEALED };
/* PEER_RECEIPT: session id, the counter of the message, status, MAC */
enum { PT_SESSION, PT_COUNTER, PT_STATUS, PT_MAC };
/* PEER_RECEIPTS (a batch): session id, entries (each: counter 8 BE |
 * status 1; counters strictly increasing), one MAC over all of them */
enum { PB_SESSION, PB_ENTRIES, PB_MAC };
#define CHATD_PEER_RECEIPT_ENTRY_LEN 9
/* a batch holds 1 .. CHATD_PEER_RECEIPTS_MAX receipts */
#define CHATD_PEER_RECEIPTS_MAX      256

#define CHATD_PEER_NONCE_LEN      32
/* the largest plaintext of a PEER_MESSAGE: a message of 1 MiB with the
 * messenger's header (id, time) */
#define CHATD_PEER_PLAINTEXT_MAX  (1024 * 1024 + 1024)
/* the weakest AEAD a peer session accepts: 128-bit keys and tags */
#define CHATD_PEER_AEAD_KEY_MIN   16
#define CHATD_PEER_AEAD_TAG_MIN   16
#define CHATD_PEER_SESSION_ID_LEN 16

/* signatures (chatd_domain_sign purposes): one per role, so that neither
 * side's signature can be reflected as the other's */
#define CHATD_PURPOSE_PEER_RESPONDER "peer-responder"
#define CHATD_PURPOSE_PEER_INITIATOR "peer-initiator"

/* prefixes of the suite's hash, MAC and KDF inputs (each ends in its NUL) */
#define CHATD_PEER_LABEL_TRANSCRIPT        "chatd/1/peer-transcript"
#define CHATD_PEER_LABEL_KEYS              "chatd/1/peer-session-keys"
#define CHATD_PEER_LABEL_CONFIRM_RESPONDER "chatd/1/peer-confirm-responder"
#define CHATD_PEER_LABEL_CONFIRM_INITIATOR "chatd/1/peer-confirm-initiator"
#define CHATD_PEER_LABEL_MESSAGE_KEY       "chatd/1/peer-message-key"
#define CHATD_PEER_LABEL_CHAIN_KEY         "chatd/1/peer-chain-key"
#define CHATD_PEER_LABEL_MESSAGE           "chatd/1/peer-message"
#define CHATD_PEER_LABEL_RECEIPT           "chatd/1/peer-receipt"
#define CHATD_PEER_LABEL_RECEIPTS          "chatd/1/peer-receipts"
#define CHATD_PEER_LABEL_PROOF             "chatd/1/peer-proof"

/* Defaults (doc/protocol.md): a handshake that has not finished after this
 * long has failed (retry; never fall back); a session is re-keyed (a new
 * handshake) after this many messages sent in one direction or this much
 * time, whichever comes first, and at every reconnect; at twice the message
 * count it refuses to seal until it is re-keyed. */
#define CHATD_PEER_HANDSHAKE_TIMEOUT_US   (10 * G_USEC_PER_SEC)
#define CHATD_PEER_REKEY_MESSAGES         5000
#define CHATD_PEER_REKEY_AFTER_US         ((gint64) 10 * 60 * G_USEC_PER_SEC)

/* The receiving ratchet accepts a counter at most CHATD_PEER_MAX_GAP ahead
 * of the next expected one (so that a forged message costs at most that
 * many hash calls), and keeps at most CHATD_PEER_SKIPPED_MAX keys of
 * messages that have not arrived yet (out-of-order delivery across
 * streams); the process-wide skip budget (peer-skip-budget.h) caps them
 * across all sessions. */
#define CHATD_PEER_MAX_GAP                256
#define CHATD_PEER_SKIPPED_MAX            512
/* an old session still opens late messages this long after a re-key, and
 * at most this many old sessions are kept */
#define CHATD_PEER_RETIRED_GRACE_US       (2 * 60 * G_USEC_PER_SEC)
#define CHATD_PEER_RETIRED_MAX            2
/* a session remembers at most this many sealed messages without a receipt
 * (the oldest are forgotten: their receipts are refused) */
#define CHATD_PEER_UNACKED_MAX            4096
