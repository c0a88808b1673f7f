/* peer-testing.c: the test-only hooks of peer-testing.h (not in chatd). */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-testing.h"
#include "peer-handshake-private.h"
#include "peer-ratchet-private.h"
#include "peer-session-private.h"
#include "auth-message.h"

#include <string.h>

ChatdSecret *
chatd_peer_handshake_copy_ephemeral_for_testing (const ChatdPeerHandshake *handshake)
{
  if (handshake->ephemeral == NULL)
    return NULL;
  return chatd_secret_new_from (handshake->ephemeral->data, handshake->ephemeral->len);
}

gboolean
chatd_peer_handshake_holds_secrets_for_testing (const ChatdPeerHandshake *handshake)
{
  return handshake->ephemeral != NULL || handshake->keys != NULL;
}

static ChatdPeerRatchet *
copy_ratchet (const ChatdPeerRatchet *ratchet)
{
  const ChatdSuite *suite = ratchet->suite;
  ChatdPeerRatchet *copy = chatd_peer_ratchet_new (suite, ratchet->chain_key, NULL);
  g_assert (copy != NULL);
  copy->next = ratchet->next;
  if (ratchet->slab != NULL)
    {
      copy->slab = chatd_secret_new_from (ratchet->slab->data, ratchet->slab->len);
      copy->skipped_counter = g_memdup2 (ratchet->skipped_counter,
                                         CHATD_PEER_SKIPPED_MAX * sizeof (guint64));
      copy->skipped = ratchet->skipped;
    }
  return copy;
}

ChatdPeerSession *
chatd_peer_session_copy_receive_state_for_testing (const ChatdPeerSession *session)
{
  return chatd_peer_session_new_receive_only (session->suite, session->role, session->id,
                                              copy_ratchet (session->receive), NULL);
}

/* ---- replaying a recorded handshake ---- */

ChatdPeerSession *
chatd_peer_handshake_replay (const ChatdSuite *suite, GBytes *init_bytes, GBytes *response_bytes,
                             const ChatdKey *initiator_key, const ChatdKey *responder_key,
                             ChatdPeerRole secret_of, const guint8 *kx_secret, gsize kx_secret_len,
                             ChatdPeerRole as_role, GError **error)
{
  if (!chatd_peer_suite_is_usable (suite, error))
    return NULL;
  g_autoptr(ChatdAuthMessage) init = chatd_auth_message_parse (init_bytes, error);
  if (init == NULL)
    return NULL;
  g_autoptr(ChatdAuthMessage) response = chatd_auth_message_parse (response_bytes, error);
  if (response == NULL)
    return NULL;
  if (init->type != CHATD_MSG_PEER_INIT || response->type != CHATD_MSG_PEER_RESPONSE ||
      init->fields[PI_SHARE].len != suite->kx_public_len ||
      response->fields[PR_SHARE].len != suite->kx_public_len || kx_secret_len != suite->kx_secret_len)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "not a recorded peer handshake of this suite");
      return NULL;
    }
  guint8 th[CHATD_SUITE_KDF_LEN_MAX];
  if (!chatd_peer_transcript_hash (suite, &init->fields[PI_SUITE], &init->fields[PI_INITIATOR],
                        &init->fields[PI_RESPONDER], initiator_key, responder_key,
                        &init->fields[PI_NONCE], &init->fields[PI_SHARE],
                        &response->fields[PR_NONCE], &response->fields[PR_SHARE], th, error))
    return NULL;
  const guint8 *other_share = secret_of == CHATD_PEER_ROLE_INITIATOR ? response->fields[PR_SHARE].data
                                                                      : init->fields[PI_SHARE].data;
  g_autoptr(ChatdPeerKeys) keys = chatd_peer_derive_keys (suite, kx_secret, other_share, th, error);
  if (keys == NULL)
    return NULL;
  /* as_role receives what the other side sent */
  guint in = as_role == CHATD_PEER_ROLE_INITIATOR ? CHATD_PEER_R2I : CHATD_PEER_I2R;
  ChatdPeerRatchet *receive = chatd_peer_ratchet_new (suite, keys->chain[in], error);
  if (receive == NULL)
    return NULL;
  return chatd_peer_session_new_receive_only (suite, as_role, keys->session_id, receive, error);
}

static gboolean
any_nonzero (const guint8 *data, gsize len)
{
  guint8 acc = 0;
  for (gsize i = 0; i < len; i++)
    acc |= data[i];
  return acc != 0;
}

static gboolean
scratch_dirty (const ChatdPeerRatchet *r)
{
  gsize k = r->suite->kdf_len;
  return any_nonzero (r->scratch, LABEL_MAX + k) || any_nonzero (r->digest, k) || any_nonzero (r->walk, k);
}

gboolean
chatd_peer_session_holds_pending_for_testing (const ChatdPeerSession *session)
{
  const ChatdPeerRatchet *r = session->receive;
  return r->pending || any_nonzero (r->pending_key, r->suite->aead_key_len) ||
         any_nonzero (r->pending_chain, r->suite->kdf_len) || scratch_dirty (r);
}

gboolean
chatd_peer_session_send_scratch_dirty_for_testing (const ChatdPeerSession *session)
{
  return scratch_dirty (session->send);
}

gboolean
chatd_peer_handshake_open_proof_for_testing (const ChatdPeerHandshake *h, ChatdPeerRole of,
                                             GBytes *message, GBytes **ret_signature,
                                             GBytes **ret_mac)
{
  g_autoptr(ChatdAuthMessage) m = chatd_auth_message_parse (message, NULL);
  if (m == NULL || h->keys == NULL)
    return FALSE;
  const ChatdSlice *proof = m->type == CHATD_MSG_PEER_RESPONSE ? &m->fields[PR_PROOF]
                                                               : &m->fields[PF_PROOF];
  guint8 mac[CHATD_SUITE_KDF_LEN_MAX];
  if (!chatd_peer_open_proof (h->suite, h->keys, h->transcript_hash, of, proof, ret_signature, mac,
                              NULL))
    return FALSE;
  *ret_mac = g_bytes_new (mac, h->suite->kdf_len);
  return TRUE;
}

GBytes *
chatd_peer_handshake_seal_proof_for_testing (const ChatdPeerHandshake *h, ChatdPeerRole of,
                                             GBytes *signature, GBytes *mac)
{
  guint8 mac_buf[CHATD_SUITE_KDF_LEN_MAX] = { 0 };
  memcpy (mac_buf, g_bytes_get_data (mac, NULL), MIN (g_bytes_get_size (mac), sizeof mac_buf));
  return chatd_peer_seal_proof (h->suite, h->keys, h->transcript_hash, of, signature, mac_buf, NULL);
}
