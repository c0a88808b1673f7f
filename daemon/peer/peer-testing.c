/* peer-testing.c: the test-only hooks of peer-testing.h (not in chatd). */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-testing.h"
#include "peer-handshake-private.h"
#include "peer-ratchet-private.h"
#include "peer-session-private.h"

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
