/* peer-handshake.h: the authenticated key exchange between two user nodes
 * (SIGMA, "sign and MAC"), sans-IO: the caller moves the bytes and says what
 * time it is.
 *
 *   I -> R  PEER_INIT      version, suite, I's name, R's name, nonce_I, share_I
 *   R -> I  PEER_RESPONSE  nonce_R, share_R, AEAD(hk_R, {Sig_R(TH), MAC(confirm_R, TH)})
 *   I -> R  PEER_FINISH    AEAD(hk_I, {Sig_I(TH), MAC(confirm_I, TH)})
 *
 *   TH = hash("chatd/1/peer-transcript\0" | version | suite | I | R |
 *             fingerprint(I's key) | fingerprint(R's key) |
 *             nonce_I | share_I | nonce_R | share_R)        (length-prefixed)
 *   keys = peer-keys.h, from KX(ephemerals) and TH; hk_X = the handshake key
 *   of X's direction (the proofs are encrypted as in SIGMA-I: an observer
 *   cannot read or check the signatures; the names in PEER_INIT are clear)
 *
 * Both identities and both key fingerprints are in what each side signs, so
 * a signature made for another pair of users (or with another user's key)
 * does not verify; the MAC proves the signer holds the ephemeral secret.
 * Signatures are domain-separated per role ("peer-responder",
 * "peer-initiator").  Each side checks the other against the identity it was
 * given: the pinned contact or the server's signed key record.
 *
 * Outcomes: DONE (take the session), or FAILED with the reason: a failed
 * handshake is an error to retry with a new handshake, never a reason to
 * talk without one (see chatd_peer_policy). */
#pragma once
#include <chatd/suite.h>
#include "chatd-crypto.h"
#include "peer-keys.h"
#include "peer-session.h"

typedef struct _ChatdPeerHandshake ChatdPeerHandshake;

typedef enum {
  CHATD_PEER_HANDSHAKE_WAIT_INIT,       /* responder, nothing received yet */
  CHATD_PEER_HANDSHAKE_WAIT_RESPONSE,   /* initiator, PEER_INIT sent */
  CHATD_PEER_HANDSHAKE_WAIT_FINISH,     /* responder, PEER_RESPONSE sent */
  CHATD_PEER_HANDSHAKE_DONE,
  CHATD_PEER_HANDSHAKE_FAILED,
} ChatdPeerHandshakeState;

/* A user: name and identity key.  For oneself the private key, for the peer
 * the public key from the pinned contact or the signed key record.  The key
 * is borrowed: it must outlive the handshake. */
typedef struct {
  const char     *name;
  const ChatdKey *key;
} ChatdPeerIdentity;

typedef struct {
  gint64          timeout_us;   /* 0: CHATD_PEER_HANDSHAKE_TIMEOUT_US */
  ChatdPeerLimits limits;       /* of the session it makes */
  /* Where the ephemeral key exchange secret comes from: NULL (always, in
   * the daemon) is libgcrypt's strong random generator.  Tests set it to
   * check that the ephemeral is random and nothing else (forward secrecy):
   * it must fill len bytes of secure memory with fresh random bytes. */
  void          (*random_secret) (guint8 *out, gsize len, gpointer user_data);
  gpointer        random_data;
} ChatdPeerHandshakeConfig;

/* suite: the channel suite (key exchange, AEAD, KDF); config may be NULL.
 * The initiator returns its PEER_INIT in ret_init. */
ChatdPeerHandshake *chatd_peer_handshake_new_initiator (const ChatdSuite *suite,
                                                        const ChatdPeerIdentity *self,
                                                        const ChatdPeerIdentity *peer,
                                                        const ChatdPeerHandshakeConfig *config,
                                                        gint64 now_us, GBytes **ret_init,
                                                        GError **error);
ChatdPeerHandshake *chatd_peer_handshake_new_responder (const ChatdSuite *suite,
                                                        const ChatdPeerIdentity *self,
                                                        const ChatdPeerIdentity *peer,
                                                        const ChatdPeerHandshakeConfig *config,
                                                        gint64 now_us, GError **error);
void                chatd_peer_handshake_free          (ChatdPeerHandshake *handshake);

/* Who a PEER_INIT says it is from and for, so that a responder can look the
 * initiator up (pinned contact or key record) before making its handshake.
 * Nothing in it is authenticated yet. */
gboolean chatd_peer_handshake_peek_init (GBytes *init, char **ret_initiator, char **ret_responder,
                                         GError **error);

/* Feeds one handshake message; ret_reply is set to the message to send back
 * (or NULL when there is none).  A message that does not fit (malformed,
 * unexpected, a duplicate, forged, for someone else) is dropped: FALSE with
 * the reason, counted, and the handshake stays exactly as it was, so that
 * junk on the wire cannot kill a genuine handshake.  Only the deadline ends
 * an unfinished handshake (FAILED, CHATD_ERROR_TIMED_OUT); a DONE or FAILED
 * handshake refuses everything and stays as it is. */
gboolean chatd_peer_handshake_receive (ChatdPeerHandshake *handshake, GBytes *message,
                                       gint64 now_us, GBytes **ret_reply, GError **error);
/* Call when a timer fires: past the deadline an unfinished handshake fails
 * with CHATD_ERROR_TIMED_OUT (the messages were lost or dropped: retry). */
gboolean chatd_peer_handshake_check_timeout (ChatdPeerHandshake *handshake, gint64 now_us,
                                             GError **error);
gint64   chatd_peer_handshake_deadline      (const ChatdPeerHandshake *handshake);
guint    chatd_peer_handshake_dropped_count (const ChatdPeerHandshake *handshake);

ChatdPeerHandshakeState chatd_peer_handshake_get_state (const ChatdPeerHandshake *handshake);
/* The transcript hash (kdf_len bytes) once both shares are known, else NULL. */
const guint8 *chatd_peer_handshake_transcript_hash (const ChatdPeerHandshake *handshake,
                                                    gsize *ret_len);
/* When DONE: the session (once; NULL otherwise). */
ChatdPeerSession *chatd_peer_handshake_take_session (ChatdPeerHandshake *handshake);

/* The no-downgrade rule.  When both users advertise peer sessions in their
 * signed key records, messages between their online nodes go only through a
 * session: a failed handshake is retried, the messages wait, and nothing is
 * sent outside a session.  Envelopes alone only when one side does not
 * advertise it. */
typedef enum {
  CHATD_PEER_POLICY_ENVELOPES_ONLY,
  CHATD_PEER_POLICY_SESSION_REQUIRED,
} ChatdPeerPolicy;

ChatdPeerPolicy chatd_peer_policy (gboolean self_advertises, gboolean peer_advertises);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdPeerHandshake, chatd_peer_handshake_free)
