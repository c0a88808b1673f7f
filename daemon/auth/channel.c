/* channel.c: channel keys and the AEAD packet protector. */
#define G_LOG_DOMAIN "chatd-auth"
#include "channel.h"

#include <string.h>

#define SCRATCH_MAX 2048   /* > the largest datagram plus a tag */

struct _ChatdChannel {
  const ChatdSuite *suite;
  ChatdSecret      *send_key;
  ChatdSecret      *receive_key;
  ChatdSecret      *confirm_key;
  /* with CAN_AEAD_CONTEXT: one keyed cipher per direction, reused for every
   * packet with a fresh nonce (setting a cipher up per packet costs a
   * secure-memory allocation, which gets slow with many live keys:
   * doc/peer.md) */
  ChatdAeadContext *send_context;
  ChatdAeadContext *receive_context;
  guint8           *scratch;    /* one packet's ciphertext and tag */
};

void
chatd_channel_free (ChatdChannel *channel)
{
  if (channel == NULL)
    return;
  chatd_secret_free (channel->send_key);
  chatd_secret_free (channel->receive_key);
  chatd_secret_free (channel->confirm_key);
  if (channel->send_context != NULL)
    channel->suite->aead_context_free (channel->send_context);
  if (channel->receive_context != NULL)
    channel->suite->aead_context_free (channel->receive_context);
  if (channel->scratch != NULL)
    {
      chatd_wipe (channel->scratch, SCRATCH_MAX);
      g_free (channel->scratch);
    }
  g_free (channel);
}

static ChatdSecret *
expand (const guint8 prk[CHATD_SHA256_LEN], const char *label, gsize len, GError **error)
{
  g_autoptr(ChatdSecret) key = chatd_secret_new (len);
  ChatdSlice info = CHATD_SLICE_STR (label);
  if (!chatd_hkdf_expand (prk, &info, 1, key->data, len, error))
    return NULL;
  return g_steal_pointer (&key);
}

static gboolean
suite_can_protect (const ChatdSuite *suite, GError **error)
{
  if (!chatd_suite_has (suite, CHATD_SUITE_CAN_AEAD) || suite->aead_nonce_len < 8 ||
      suite->aead_tag_len < 8 || suite->aead_tag_len > 32)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "suite '%s' cannot protect a channel", suite ? suite->name : "(none)");
      return FALSE;
    }
  return TRUE;
}

/* keys set: the contexts, if the suite has them, and the scratch buffer */
static gboolean
channel_finish (ChatdChannel *channel, GError **error)
{
  const ChatdSuite *suite = channel->suite;
  if (chatd_suite_has (suite, CHATD_SUITE_CAN_AEAD_CONTEXT))
    {
      channel->send_context = suite->aead_context_new (channel->send_key->data, error);
      if (channel->send_context == NULL)
        return FALSE;
      channel->receive_context = suite->aead_context_new (channel->receive_key->data, error);
      if (channel->receive_context == NULL)
        return FALSE;
    }
  channel->scratch = g_malloc0 (SCRATCH_MAX);
  return TRUE;
}

ChatdChannel *
chatd_channel_new_with_keys (const ChatdSuite *suite, const guint8 *send_key,
                             const guint8 *receive_key, GError **error)
{
  if (!suite_can_protect (suite, error))
    return NULL;
  g_autoptr(ChatdChannel) channel = g_new0 (ChatdChannel, 1);
  channel->suite = suite;
  channel->send_key = chatd_secret_new_from (send_key, suite->aead_key_len);
  channel->receive_key = chatd_secret_new_from (receive_key, suite->aead_key_len);
  /* no confirm key: the key schedule that made the two keys confirmed them */
  if (!channel_finish (channel, error))
    return NULL;
  return g_steal_pointer (&channel);
}

ChatdChannel *
chatd_channel_new (const ChatdSuite *suite, const guint8 *shared, gsize shared_len,
                   const guint8 transcript_hash[32], gboolean is_initiator, GError **error)
{
  if (!suite_can_protect (suite, error))
    return NULL;
  g_autoptr(ChatdSecret) prk = chatd_secret_new (CHATD_SHA256_LEN);
  ChatdSlice ikm = CHATD_SLICE (shared, shared_len);
  if (!chatd_hkdf_extract (transcript_hash, 32, &ikm, 1, prk->data, error))
    return NULL;
  g_autoptr(ChatdChannel) channel = g_new0 (ChatdChannel, 1);
  channel->suite = suite;
  ChatdSecret **initiator = is_initiator ? &channel->send_key : &channel->receive_key;
  ChatdSecret **responder = is_initiator ? &channel->receive_key : &channel->send_key;
  if ((*initiator = expand (prk->data, "chatd/1/channel initiator", suite->aead_key_len, error)) == NULL ||
      (*responder = expand (prk->data, "chatd/1/channel responder", suite->aead_key_len, error)) == NULL ||
      (channel->confirm_key = expand (prk->data, "chatd/1/channel confirm",
                                      CHATD_CHANNEL_CONFIRM_LEN, error)) == NULL)
    return NULL;
  if (!channel_finish (channel, error))
    return NULL;
  return g_steal_pointer (&channel);
}

const guint8 *
chatd_channel_confirm_key (ChatdChannel *channel)
{
  return channel->confirm_key != NULL ? channel->confirm_key->data : NULL;
}

/* nonce: zero bytes then the packet number, big-endian; each direction has
 * its own key, so (key, nonce) never repeats */
static void
make_nonce (const ChatdSuite *suite, guint64 pn, guint8 *nonce)
{
  memset (nonce, 0, suite->aead_nonce_len);
  for (gsize i = 0; i < 8; i++, pn >>= 8)
    nonce[suite->aead_nonce_len - 1 - i] = pn & 0xff;
}

static gboolean
channel_seal (gpointer user_data, guint64 pn, const guint8 *header, gsize header_len,
              guint8 *payload, gsize payload_len, guint8 *ret_tag)
{
  ChatdChannel *channel = user_data;
  const ChatdSuite *suite = channel->suite;
  if (payload_len + suite->aead_tag_len > SCRATCH_MAX)
    return FALSE;
  guint8 nonce[64];
  make_nonce (suite, pn, nonce);
  gboolean ok = channel->send_context != NULL
                  ? suite->aead_context_seal (channel->send_context, nonce, header, header_len,
                                              payload, payload_len, channel->scratch, NULL)
                  : suite->aead_seal (channel->send_key->data, nonce, header, header_len,
                                      payload, payload_len, channel->scratch, NULL);
  if (!ok)
    return FALSE;
  memcpy (payload, channel->scratch, payload_len);
  memcpy (ret_tag, channel->scratch + payload_len, suite->aead_tag_len);
  return TRUE;
}

static gboolean
channel_open (gpointer user_data, guint64 pn, const guint8 *header, gsize header_len,
              guint8 *payload, gsize payload_len, const guint8 *tag)
{
  ChatdChannel *channel = user_data;
  const ChatdSuite *suite = channel->suite;
  if (payload_len + suite->aead_tag_len > SCRATCH_MAX)
    return FALSE;
  guint8 nonce[64];
  make_nonce (suite, pn, nonce);
  memcpy (channel->scratch, payload, payload_len);
  memcpy (channel->scratch + payload_len, tag, suite->aead_tag_len);
  gsize sealed_len = payload_len + suite->aead_tag_len;
  if (channel->receive_context != NULL)
    return suite->aead_context_open (channel->receive_context, nonce, header, header_len,
                                     channel->scratch, sealed_len, payload, NULL);
  return suite->aead_open (channel->receive_key->data, nonce, header, header_len,
                           channel->scratch, sealed_len, payload, NULL);
}

static void
channel_free_func (gpointer user_data)
{
  chatd_channel_free (user_data);
}

ChatdPacketProtector
chatd_channel_take_protector (ChatdChannel *channel)
{
  return (ChatdPacketProtector) {
    .tag_len = channel->suite->aead_tag_len,
    .seal = channel_seal,
    .open = channel_open,
    .free_func = channel_free_func,
    .user_data = channel,
  };
}
