/* peer-keys.c: the key schedule of a peer session. */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-keys.h"

gboolean
chatd_peer_suite_is_usable (const ChatdSuite *suite, GError **error)
{
  if (!chatd_suite_has (suite, CHATD_SUITE_CAN_KEY_EXCHANGE | CHATD_SUITE_CAN_AEAD |
                               CHATD_SUITE_CAN_KDF) ||
      suite->kdf_len < suite->aead_key_len || suite->aead_key_len < CHATD_PEER_AEAD_KEY_MIN ||
      suite->aead_nonce_len < 8 || suite->aead_tag_len < CHATD_PEER_AEAD_TAG_MIN ||
      suite->aead_tag_len > 32)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "suite '%s' cannot carry a peer session (it needs key exchange, AEAD with keys "
                   "and tags of at least 16 bytes, and KDF)",
                   suite != NULL ? suite->name : "(none)");
      return FALSE;
    }
  return TRUE;
}

ChatdPeerKeys *
chatd_peer_keys_derive (const ChatdSuite *suite, const guint8 *shared, gsize shared_len,
                        const guint8 *transcript_hash, GError **error)
{
  static const char label[] = CHATD_PEER_LABEL_KEYS;
  if (!chatd_peer_suite_is_usable (suite, error))
    return NULL;
  gsize a = suite->aead_key_len, k = suite->kdf_len;
  gsize total = 2 * a + 6 * k + CHATD_PEER_SESSION_ID_LEN + 2 * a;
  g_autoptr(ChatdPeerKeys) keys = g_new0 (ChatdPeerKeys, 1);
  keys->block = chatd_secret_new (total);
  if (!suite->kdf (transcript_hash, suite->kdf_len, shared, shared_len,
                   (const guint8 *) label, sizeof label, keys->block->data, total, error))
    return NULL;
  const guint8 *p = keys->block->data;
  for (guint d = 0; d < 2; d++, p += a)
    keys->transport[d] = p;
  for (guint d = 0; d < 2; d++, p += k)
    keys->chain[d] = p;
  for (guint d = 0; d < 2; d++, p += k)
    keys->receipt[d] = p;
  for (guint d = 0; d < 2; d++, p += k)
    keys->confirm[d] = p;
  keys->session_id = p, p += CHATD_PEER_SESSION_ID_LEN;
  for (guint d = 0; d < 2; d++, p += a)
    keys->handshake[d] = p;
  return g_steal_pointer (&keys);
}

void
chatd_peer_keys_free (ChatdPeerKeys *keys)
{
  if (keys == NULL)
    return;
  chatd_secret_free (keys->block);
  g_free (keys);
}
