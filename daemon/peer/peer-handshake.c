/* peer-handshake.c: the SIGMA handshake between two user nodes. */
#define G_LOG_DOMAIN "chatd-peer"
#include "peer-handshake-private.h"
#include "peer-handshake.h"
#include "auth-message.h"

#include <string.h>


static const char *
role_name (ChatdPeerRole role)
{
  return role == CHATD_PEER_ROLE_INITIATOR ? "initiator" : "responder";
}

void
chatd_peer_handshake_free (ChatdPeerHandshake *handshake)
{
  if (handshake == NULL)
    return;
  g_free (handshake->self_name);
  g_free (handshake->peer_name);
  chatd_secret_free (handshake->ephemeral);
  chatd_peer_keys_free (handshake->keys);
  chatd_peer_session_free (handshake->session);
  chatd_wipe (handshake, sizeof *handshake);
  g_free (handshake);
}

/* ---- the transcript and the key schedule (shared with the replay) ---- */

static void
append_field (GByteArray *out, const void *data, gsize len)
{
  guint8 prefix[4] = { len >> 24, len >> 16, len >> 8, len };
  g_byte_array_append (out, prefix, sizeof prefix);
  if (len > 0)
    g_byte_array_append (out, data, len);
}

static gboolean
key_fingerprint (const ChatdKey *key, guint8 ret_fp[CHATD_FINGERPRINT_LEN], GError **error)
{
  if (key == NULL || !key->suite->fingerprint (key, ret_fp, error))
    {
      if (key == NULL)
        g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "no identity key");
      return FALSE;
    }
  return TRUE;
}

/* TH over what both sides saw; init carries version, suite and names */
gboolean
chatd_peer_transcript_hash (const ChatdSuite *suite, const ChatdSlice *suite_name,
                            const ChatdSlice *initiator, const ChatdSlice *responder,
                            const ChatdKey *initiator_key, const ChatdKey *responder_key,
                            const ChatdSlice *nonce_i, const ChatdSlice *share_i,
                            const ChatdSlice *nonce_r, const ChatdSlice *share_r,
                            guint8 *ret_hash, GError **error)
{
  static const char label[] = CHATD_PEER_LABEL_TRANSCRIPT;
  guint8 fp_i[CHATD_FINGERPRINT_LEN], fp_r[CHATD_FINGERPRINT_LEN];
  const guint8 version = CHATD_PEER_VERSION;
  if (!key_fingerprint (initiator_key, fp_i, error) || !key_fingerprint (responder_key, fp_r, error))
    return FALSE;
  g_autoptr(GByteArray) t = g_byte_array_new ();
  g_byte_array_append (t, (const guint8 *) label, sizeof label);
  append_field (t, &version, 1);
  append_field (t, suite_name->data, suite_name->len);
  append_field (t, initiator->data, initiator->len);
  append_field (t, responder->data, responder->len);
  append_field (t, fp_i, sizeof fp_i);
  append_field (t, fp_r, sizeof fp_r);
  append_field (t, nonce_i->data, nonce_i->len);
  append_field (t, share_i->data, share_i->len);
  append_field (t, nonce_r->data, nonce_r->len);
  append_field (t, share_r->data, share_r->len);
  return suite->hash (t->data, t->len, ret_hash, error);
}

ChatdPeerKeys *
chatd_peer_derive_keys (const ChatdSuite *suite, const guint8 *kx_secret, const guint8 *peer_share,
             const guint8 *transcript, GError **error)
{
  g_autoptr(ChatdSecret) shared = chatd_secret_new (suite->kx_shared_len);
  if (!suite->kx_shared (kx_secret, peer_share, suite->kx_public_len, shared->data, error))
    return NULL;
  return chatd_peer_keys_derive (suite, shared->data, shared->len, transcript, error);
}

static gboolean
confirm_mac (const ChatdSuite *suite, const guint8 *confirm_key, ChatdPeerRole of,
             const guint8 *transcript, guint8 *ret_mac, GError **error)
{
  const char *label = of == CHATD_PEER_ROLE_INITIATOR ? CHATD_PEER_LABEL_CONFIRM_INITIATOR
                                                       : CHATD_PEER_LABEL_CONFIRM_RESPONDER;
  gsize label_len = strlen (label) + 1;
  g_autofree guint8 *input = g_malloc (label_len + suite->kdf_len);
  memcpy (input, label, label_len);
  memcpy (input + label_len, transcript, suite->kdf_len);
  return suite->mac (confirm_key, suite->kdf_len, input, label_len + suite->kdf_len, ret_mac, error);
}

/* ---- the state machine ---- */

static gboolean
fail (ChatdPeerHandshake *handshake, GError **error, GError *reason)
{
  handshake->state = CHATD_PEER_HANDSHAKE_FAILED;
  g_clear_pointer (&handshake->ephemeral, chatd_secret_free);
  g_clear_pointer (&handshake->keys, chatd_peer_keys_free);
  g_prefix_error (&reason, "peer handshake with %s failed (%s; retry with a new handshake): ",
                  handshake->peer_name, role_name (handshake->role));
  g_propagate_error (error, reason);
  return FALSE;
}

#define FAIL(code, ...) \
  fail (handshake, error, g_error_new (CHATD_ERROR, (code), __VA_ARGS__))

/* A message that does not fit (malformed, unexpected, a duplicate, forged):
 * dropped, counted, and the handshake stays as it was before it (whatever
 * the message computed is wiped); only the deadline ends the handshake. */
static gboolean
drop (ChatdPeerHandshake *handshake, GError **error, GError *reason)
{
  ChatdPeerRole peer_role = 1 - handshake->role;
  handshake->dropped++;
  if (handshake->state == CHATD_PEER_HANDSHAKE_WAIT_INIT)
    g_clear_pointer (&handshake->ephemeral, chatd_secret_free);
  if (handshake->state != CHATD_PEER_HANDSHAKE_WAIT_FINISH)
    {
      g_clear_pointer (&handshake->keys, chatd_peer_keys_free);
      chatd_wipe (handshake->nonce[peer_role], sizeof handshake->nonce[peer_role]);
      chatd_wipe (handshake->share[peer_role], sizeof handshake->share[peer_role]);
      chatd_wipe (handshake->transcript_hash, sizeof handshake->transcript_hash);
      handshake->have_transcript = FALSE;
      if (handshake->state == CHATD_PEER_HANDSHAKE_WAIT_INIT)
        {
          chatd_wipe (handshake->nonce[handshake->role], sizeof handshake->nonce[handshake->role]);
          chatd_wipe (handshake->share[handshake->role], sizeof handshake->share[handshake->role]);
        }
    }
  g_prefix_error (&reason, "peer handshake with %s (%s): message dropped: ",
                  handshake->peer_name, role_name (handshake->role));
  g_propagate_error (error, reason);
  return FALSE;
}

#define DROP(code, ...) \
  drop (handshake, error, g_error_new (CHATD_ERROR, (code), __VA_ARGS__))

static ChatdPeerHandshake *
handshake_new (const ChatdSuite *suite, ChatdPeerRole role, const ChatdPeerIdentity *self,
               const ChatdPeerIdentity *peer, const ChatdPeerHandshakeConfig *config,
               gint64 now_us, GError **error)
{
  if (!chatd_peer_suite_is_usable (suite, error))
    return NULL;
  if (self == NULL || peer == NULL || self->name == NULL || peer->name == NULL ||
      self->key == NULL || peer->key == NULL || self->key->kind != CHATD_KEY_PRIVATE ||
      !chatd_suite_has (self->key->suite, CHATD_SUITE_CAN_SIGN) ||
      !chatd_suite_has (peer->key->suite, CHATD_SUITE_CAN_SIGN) ||
      strlen (self->name) == 0 || strlen (self->name) > 32 ||
      strlen (peer->name) == 0 || strlen (peer->name) > 32 || g_str_equal (self->name, peer->name))
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "a peer handshake needs two different names, a private signing key "
                           "and the peer's public signing key");
      return NULL;
    }
  ChatdPeerHandshake *handshake = g_new0 (ChatdPeerHandshake, 1);
  handshake->suite = suite;
  handshake->role = role;
  handshake->self_name = g_strdup (self->name);
  handshake->peer_name = g_strdup (peer->name);
  handshake->self_key = self->key;
  handshake->peer_key = peer->key;
  if (config != NULL)
    handshake->config = *config;
  if (handshake->config.timeout_us <= 0)
    handshake->config.timeout_us = CHATD_PEER_HANDSHAKE_TIMEOUT_US;
  handshake->deadline_us = now_us > G_MAXINT64 - handshake->config.timeout_us
                            ? G_MAXINT64 : now_us + handshake->config.timeout_us;
  return handshake;
}

/* a fresh ephemeral secret, its share and a nonce for our role */
static gboolean
make_ephemeral (ChatdPeerHandshake *handshake, GError **error)
{
  const ChatdSuite *suite = handshake->suite;
  if (handshake->config.random_secret != NULL)
    {
      handshake->ephemeral = chatd_secret_new (suite->kx_secret_len);
      handshake->config.random_secret (handshake->ephemeral->data, handshake->ephemeral->len,
                                       handshake->config.random_data);
    }
  else
    handshake->ephemeral = chatd_secret_new_random (suite->kx_secret_len);
  chatd_random_nonce (handshake->nonce[handshake->role], CHATD_PEER_NONCE_LEN);
  return suite->kx_public (handshake->ephemeral->data, handshake->share[handshake->role], error);
}

ChatdPeerHandshake *
chatd_peer_handshake_new_initiator (const ChatdSuite *suite, const ChatdPeerIdentity *self,
                                    const ChatdPeerIdentity *peer,
                                    const ChatdPeerHandshakeConfig *config, gint64 now_us,
                                    GBytes **ret_init, GError **error)
{
  g_autoptr(ChatdPeerHandshake) handshake = handshake_new (suite, CHATD_PEER_ROLE_INITIATOR, self,
                                                           peer, config, now_us, error);
  if (handshake == NULL || !make_ephemeral (handshake, error))
    return NULL;
  const guint8 version = CHATD_PEER_VERSION;
  ChatdSlice fields[] = {
    [PI_VERSION] = CHATD_SLICE (&version, 1),
    [PI_SUITE] = CHATD_SLICE_STR (suite->name),
    [PI_INITIATOR] = CHATD_SLICE_STR (handshake->self_name),
    [PI_RESPONDER] = CHATD_SLICE_STR (handshake->peer_name),
    [PI_NONCE] = CHATD_SLICE (handshake->nonce[CHATD_PEER_ROLE_INITIATOR], CHATD_PEER_NONCE_LEN),
    [PI_SHARE] = CHATD_SLICE (handshake->share[CHATD_PEER_ROLE_INITIATOR], suite->kx_public_len),
  };
  GBytes *init = chatd_auth_message_build (CHATD_MSG_PEER_INIT, fields, G_N_ELEMENTS (fields));
  if (init == NULL)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "cannot build the peer handshake's first message");
      return NULL;
    }
  handshake->state = CHATD_PEER_HANDSHAKE_WAIT_RESPONSE;
  *ret_init = init;
  return g_steal_pointer (&handshake);
}

ChatdPeerHandshake *
chatd_peer_handshake_new_responder (const ChatdSuite *suite, const ChatdPeerIdentity *self,
                                    const ChatdPeerIdentity *peer,
                                    const ChatdPeerHandshakeConfig *config, gint64 now_us,
                                    GError **error)
{
  ChatdPeerHandshake *handshake = handshake_new (suite, CHATD_PEER_ROLE_RESPONDER, self, peer,
                                                 config, now_us, error);
  if (handshake != NULL)
    handshake->state = CHATD_PEER_HANDSHAKE_WAIT_INIT;
  return handshake;
}

gboolean
chatd_peer_handshake_peek_init (GBytes *init, char **ret_initiator, char **ret_responder,
                                GError **error)
{
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (init, error);
  if (message == NULL)
    return FALSE;
  if (message->type != CHATD_MSG_PEER_INIT)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "expected peer-init, got %s",
                   chatd_auth_message_type_name (message->type));
      return FALSE;
    }
  g_autofree char *initiator = chatd_auth_field_string (message, PI_INITIATOR);
  g_autofree char *responder = chatd_auth_field_string (message, PI_RESPONDER);
  if (initiator == NULL || responder == NULL)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           "peer-init names are not valid UTF-8");
      return FALSE;
    }
  *ret_initiator = g_steal_pointer (&initiator);
  *ret_responder = g_steal_pointer (&responder);
  return TRUE;
}

static const ChatdKey *
key_of (const ChatdPeerHandshake *handshake, ChatdPeerRole role)
{
  return role == handshake->role ? handshake->self_key : handshake->peer_key;
}

static const char *
name_of (const ChatdPeerHandshake *handshake, ChatdPeerRole role)
{
  return role == handshake->role ? handshake->self_name : handshake->peer_name;
}

/* both shares known: TH, the keys */
static gboolean
compute_keys (ChatdPeerHandshake *handshake, GError **error)
{
  const ChatdSuite *suite = handshake->suite;
  ChatdSlice suite_name = CHATD_SLICE_STR (suite->name);
  ChatdSlice initiator = CHATD_SLICE_STR (name_of (handshake, CHATD_PEER_ROLE_INITIATOR));
  ChatdSlice responder = CHATD_SLICE_STR (name_of (handshake, CHATD_PEER_ROLE_RESPONDER));
  ChatdSlice nonce_i = CHATD_SLICE (handshake->nonce[0], CHATD_PEER_NONCE_LEN);
  ChatdSlice share_i = CHATD_SLICE (handshake->share[0], suite->kx_public_len);
  ChatdSlice nonce_r = CHATD_SLICE (handshake->nonce[1], CHATD_PEER_NONCE_LEN);
  ChatdSlice share_r = CHATD_SLICE (handshake->share[1], suite->kx_public_len);
  if (!chatd_peer_transcript_hash (suite, &suite_name, &initiator, &responder,
                        key_of (handshake, CHATD_PEER_ROLE_INITIATOR),
                        key_of (handshake, CHATD_PEER_ROLE_RESPONDER),
                        &nonce_i, &share_i, &nonce_r, &share_r, handshake->transcript_hash, error))
    return FALSE;
  handshake->have_transcript = TRUE;
  handshake->keys = chatd_peer_derive_keys (suite, handshake->ephemeral->data,
                                 handshake->share[1 - handshake->role], handshake->transcript_hash,
                                 error);
  return handshake->keys != NULL;
}

static const char *
purpose_of (ChatdPeerRole role)
{
  return role == CHATD_PEER_ROLE_INITIATOR ? CHATD_PURPOSE_PEER_INITIATOR
                                           : CHATD_PURPOSE_PEER_RESPONDER;
}

/* ---- proofs: AEAD(handshake key of the sender's direction, nonce 0,
 * aad = "chatd/1/peer-proof\0" | TH, u16 BE signature length | signature |
 * confirmation MAC).  Each handshake key seals one proof. ---- */

static guint8 *
proof_aad (const ChatdSuite *suite, const guint8 *transcript, gsize *ret_len)
{
  static const char label[] = CHATD_PEER_LABEL_PROOF;
  guint8 *aad = g_malloc (sizeof label + suite->kdf_len);
  memcpy (aad, label, sizeof label);
  memcpy (aad + sizeof label, transcript, suite->kdf_len);
  *ret_len = sizeof label + suite->kdf_len;
  return aad;
}

static const guint8 *
proof_key (const ChatdPeerKeys *keys, ChatdPeerRole of)
{
  return keys->handshake[of == CHATD_PEER_ROLE_INITIATOR ? CHATD_PEER_I2R : CHATD_PEER_R2I];
}

GBytes *
chatd_peer_seal_proof (const ChatdSuite *suite, const ChatdPeerKeys *keys, const guint8 *transcript,
                       ChatdPeerRole of, GBytes *signature, const guint8 *mac, GError **error)
{
  gsize sig_len = g_bytes_get_size (signature);
  if (sig_len > G_MAXUINT16)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_FAILED, "signature too long for a proof");
      return NULL;
    }
  gsize plain_len = 2 + sig_len + suite->kdf_len;
  g_autofree guint8 *plain = g_malloc (plain_len);
  plain[0] = sig_len >> 8, plain[1] = sig_len & 0xff;
  memcpy (plain + 2, g_bytes_get_data (signature, NULL), sig_len);
  memcpy (plain + 2 + sig_len, mac, suite->kdf_len);
  gsize aad_len = 0;
  g_autofree guint8 *aad = proof_aad (suite, transcript, &aad_len);
  guint8 nonce[CHATD_SUITE_SHARE_MAX] = { 0 };
  guint8 *sealed = g_malloc (plain_len + suite->aead_tag_len);
  if (!suite->aead_seal (proof_key (keys, of), nonce, aad, aad_len, plain, plain_len, sealed, error))
    {
      g_free (sealed);
      return NULL;
    }
  return g_bytes_new_take (sealed, plain_len + suite->aead_tag_len);
}

gboolean
chatd_peer_open_proof (const ChatdSuite *suite, const ChatdPeerKeys *keys, const guint8 *transcript,
                       ChatdPeerRole of, const ChatdSlice *proof, GBytes **ret_signature,
                       guint8 *ret_mac, GError **error)
{
  if (proof->len < suite->aead_tag_len + 2 + suite->kdf_len)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "proof too short");
      return FALSE;
    }
  gsize plain_len = proof->len - suite->aead_tag_len;
  g_autofree guint8 *plain = g_malloc (plain_len);
  gsize aad_len = 0;
  g_autofree guint8 *aad = proof_aad (suite, transcript, &aad_len);
  guint8 nonce[CHATD_SUITE_SHARE_MAX] = { 0 };
  if (!suite->aead_open (proof_key (keys, of), nonce, aad, aad_len, proof->data, proof->len, plain,
                         error))
    {
      g_prefix_error (error, "proof: ");
      return FALSE;
    }
  gsize sig_len = ((gsize) plain[0] << 8) | plain[1];
  if (sig_len == 0 || 2 + sig_len + suite->kdf_len != plain_len)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "malformed proof");
      return FALSE;
    }
  *ret_signature = g_bytes_new (plain + 2, sig_len);
  memcpy (ret_mac, plain + 2 + sig_len, suite->kdf_len);
  return TRUE;
}

/* our signature and confirmation MAC, sealed */
static gboolean
prove (ChatdPeerHandshake *handshake, GBytes **ret_proof, GError **error)
{
  const ChatdSuite *suite = handshake->suite;
  ChatdSlice th = CHATD_SLICE (handshake->transcript_hash, suite->kdf_len);
  g_autoptr(GBytes) signature = NULL;
  guint8 mac[CHATD_SUITE_KDF_LEN_MAX];
  if (!chatd_domain_sign (handshake->self_key, purpose_of (handshake->role), &th, 1, &signature,
                          error) ||
      !confirm_mac (suite, handshake->keys->confirm[handshake->role], handshake->role,
                    handshake->transcript_hash, mac, error))
    return FALSE;
  *ret_proof = chatd_peer_seal_proof (suite, handshake->keys, handshake->transcript_hash,
                                      handshake->role, signature, mac, error);
  return *ret_proof != NULL;
}

/* the peer's sealed signature and confirmation MAC */
static gboolean
check_proof (ChatdPeerHandshake *handshake, const ChatdSlice *proof, GError **error)
{
  const ChatdSuite *suite = handshake->suite;
  ChatdPeerRole peer_role = 1 - handshake->role;
  ChatdSlice th = CHATD_SLICE (handshake->transcript_hash, suite->kdf_len);
  g_autoptr(GBytes) signature = NULL;
  guint8 mac[CHATD_SUITE_KDF_LEN_MAX], expected[CHATD_SUITE_KDF_LEN_MAX];
  if (!chatd_peer_open_proof (suite, handshake->keys, handshake->transcript_hash, peer_role, proof,
                              &signature, mac, error))
    return FALSE;
  if (!chatd_domain_verify (handshake->peer_key, purpose_of (peer_role), &th, 1,
                            g_bytes_get_data (signature, NULL), g_bytes_get_size (signature), error))
    {
      g_prefix_error (error, "%s's signature: ", handshake->peer_name);
      return FALSE;
    }
  if (!confirm_mac (suite, handshake->keys->confirm[peer_role], peer_role,
                    handshake->transcript_hash, expected, error))
    return FALSE;
  if (!chatd_memequal_ct (expected, mac, suite->kdf_len))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "%s's key confirmation does not match", handshake->peer_name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
finish (ChatdPeerHandshake *handshake, gint64 now_us, GError **error)
{
  handshake->session = chatd_peer_session_new (handshake->suite, handshake->role, handshake->keys,
                                               &handshake->config.limits, now_us, error);
  if (handshake->session == NULL)
    return FALSE;
  g_clear_pointer (&handshake->ephemeral, chatd_secret_free);
  g_clear_pointer (&handshake->keys, chatd_peer_keys_free);
  handshake->state = CHATD_PEER_HANDSHAKE_DONE;
  return TRUE;
}

static gboolean
field_is (const ChatdSlice *field, const char *text)
{
  return field->len == strlen (text) && memcmp (field->data, text, field->len) == 0;
}

/* responder: PEER_INIT -> PEER_RESPONSE */
static gboolean
on_init (ChatdPeerHandshake *handshake, const ChatdAuthMessage *m, gint64 now_us,
         GBytes **ret_reply, GError **error)
{
  const ChatdSuite *suite = handshake->suite;
  GError *local = NULL;
  if (*(const guint8 *) m->fields[PI_VERSION].data != CHATD_PEER_VERSION)
    return DROP (CHATD_ERROR_NOT_SUPPORTED, "peer protocol version %u",
                 *(const guint8 *) m->fields[PI_VERSION].data);
  if (!field_is (&m->fields[PI_SUITE], suite->name) ||
      m->fields[PI_SHARE].len != suite->kx_public_len)
    return DROP (CHATD_ERROR_NOT_SUPPORTED, "the initiator uses another channel suite");
  if (!field_is (&m->fields[PI_RESPONDER], handshake->self_name))
    return DROP (CHATD_ERROR_REFUSED, "the handshake is addressed to someone else");
  if (!field_is (&m->fields[PI_INITIATOR], handshake->peer_name))
    return DROP (CHATD_ERROR_REFUSED, "the handshake claims to be from someone else");
  memcpy (handshake->nonce[CHATD_PEER_ROLE_INITIATOR], m->fields[PI_NONCE].data, CHATD_PEER_NONCE_LEN);
  memcpy (handshake->share[CHATD_PEER_ROLE_INITIATOR], m->fields[PI_SHARE].data, suite->kx_public_len);
  g_autoptr(GBytes) proof = NULL;
  if (!make_ephemeral (handshake, &local) || !compute_keys (handshake, &local) ||
      !prove (handshake, &proof, &local))
    return drop (handshake, error, local);
  ChatdSlice fields[] = {
    [PR_NONCE] = CHATD_SLICE (handshake->nonce[CHATD_PEER_ROLE_RESPONDER], CHATD_PEER_NONCE_LEN),
    [PR_SHARE] = CHATD_SLICE (handshake->share[CHATD_PEER_ROLE_RESPONDER], suite->kx_public_len),
    [PR_PROOF] = CHATD_SLICE (g_bytes_get_data (proof, NULL), g_bytes_get_size (proof)),
  };
  GBytes *reply = chatd_auth_message_build (CHATD_MSG_PEER_RESPONSE, fields, G_N_ELEMENTS (fields));
  if (reply == NULL)
    return DROP (CHATD_ERROR_FAILED, "cannot build the response");
  (void) now_us;
  handshake->state = CHATD_PEER_HANDSHAKE_WAIT_FINISH;
  *ret_reply = reply;
  return TRUE;
}

/* initiator: PEER_RESPONSE -> PEER_FINISH, done */
static gboolean
on_response (ChatdPeerHandshake *handshake, const ChatdAuthMessage *m, gint64 now_us,
             GBytes **ret_reply, GError **error)
{
  const ChatdSuite *suite = handshake->suite;
  GError *local = NULL;
  if (m->fields[PR_SHARE].len != suite->kx_public_len)
    return DROP (CHATD_ERROR_INVALID_ARGUMENT, "response share of %zu bytes", m->fields[PR_SHARE].len);
  memcpy (handshake->nonce[CHATD_PEER_ROLE_RESPONDER], m->fields[PR_NONCE].data, CHATD_PEER_NONCE_LEN);
  memcpy (handshake->share[CHATD_PEER_ROLE_RESPONDER], m->fields[PR_SHARE].data, suite->kx_public_len);
  g_autoptr(GBytes) proof = NULL;
  if (!compute_keys (handshake, &local) || !check_proof (handshake, &m->fields[PR_PROOF], &local) ||
      !prove (handshake, &proof, &local))
    return drop (handshake, error, local);
  ChatdSlice fields[] = {
    [PF_PROOF] = CHATD_SLICE (g_bytes_get_data (proof, NULL), g_bytes_get_size (proof)),
  };
  g_autoptr(GBytes) reply = chatd_auth_message_build (CHATD_MSG_PEER_FINISH, fields,
                                                      G_N_ELEMENTS (fields));
  if (reply == NULL)
    return DROP (CHATD_ERROR_FAILED, "cannot build the finish message");
  if (!finish (handshake, now_us, &local))
    return drop (handshake, error, local);
  *ret_reply = g_steal_pointer (&reply);
  return TRUE;
}

/* responder: PEER_FINISH, done */
static gboolean
on_finish (ChatdPeerHandshake *handshake, const ChatdAuthMessage *m, gint64 now_us, GError **error)
{
  GError *local = NULL;
  if (!check_proof (handshake, &m->fields[PF_PROOF], &local) ||
      !finish (handshake, now_us, &local))
    return drop (handshake, error, local);
  return TRUE;
}

gboolean
chatd_peer_handshake_check_timeout (ChatdPeerHandshake *handshake, gint64 now_us, GError **error)
{
  if (handshake->state == CHATD_PEER_HANDSHAKE_DONE || handshake->state == CHATD_PEER_HANDSHAKE_FAILED ||
      now_us < handshake->deadline_us)
    return TRUE;
  return FAIL (CHATD_ERROR_TIMED_OUT, "no answer within %" G_GINT64_FORMAT " ms",
               handshake->config.timeout_us / 1000);
}

gboolean
chatd_peer_handshake_receive (ChatdPeerHandshake *handshake, GBytes *bytes, gint64 now_us,
                              GBytes **ret_reply, GError **error)
{
  static const ChatdMsgType expected[] = {
    [CHATD_PEER_HANDSHAKE_WAIT_INIT] = CHATD_MSG_PEER_INIT,
    [CHATD_PEER_HANDSHAKE_WAIT_RESPONSE] = CHATD_MSG_PEER_RESPONSE,
    [CHATD_PEER_HANDSHAKE_WAIT_FINISH] = CHATD_MSG_PEER_FINISH,
  };
  GError *local = NULL;
  *ret_reply = NULL;
  if (handshake->state == CHATD_PEER_HANDSHAKE_DONE || handshake->state == CHATD_PEER_HANDSHAKE_FAILED)
    {
      /* a replayed or late message to a finished handshake: refused, and the
       * finished handshake stays as it was */
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "peer handshake with %s has already %s", handshake->peer_name,
                   handshake->state == CHATD_PEER_HANDSHAKE_DONE ? "finished" : "failed");
      return FALSE;
    }
  if (!chatd_peer_handshake_check_timeout (handshake, now_us, error))
    return FALSE;
  g_autoptr(ChatdAuthMessage) m = chatd_auth_message_parse (bytes, &local);
  if (m == NULL)
    return drop (handshake, error, local);
  if (m->type != expected[handshake->state])
    return DROP (CHATD_ERROR_REFUSED, "expected %s, got %s",
                 chatd_auth_message_type_name (expected[handshake->state]),
                 chatd_auth_message_type_name (m->type));
  switch (handshake->state)
    {
    case CHATD_PEER_HANDSHAKE_WAIT_INIT:
      return on_init (handshake, m, now_us, ret_reply, error);
    case CHATD_PEER_HANDSHAKE_WAIT_RESPONSE:
      return on_response (handshake, m, now_us, ret_reply, error);
    case CHATD_PEER_HANDSHAKE_WAIT_FINISH:
      return on_finish (handshake, m, now_us, error);
    default:
      g_assert_not_reached ();
    }
}

guint
chatd_peer_handshake_dropped_count (const ChatdPeerHandshake *handshake)
{
  return handshake->dropped;
}

gint64
chatd_peer_handshake_deadline (const ChatdPeerHandshake *handshake)
{
  return handshake->deadline_us;
}

ChatdPeerHandshakeState
chatd_peer_handshake_get_state (const ChatdPeerHandshake *handshake)
{
  return handshake->state;
}

const guint8 *
chatd_peer_handshake_transcript_hash (const ChatdPeerHandshake *handshake, gsize *ret_len)
{
  if (!handshake->have_transcript)
    return NULL;
  if (ret_len != NULL)
    *ret_len = handshake->suite->kdf_len;
  return handshake->transcript_hash;
}

ChatdPeerSession *
chatd_peer_handshake_take_session (ChatdPeerHandshake *handshake)
{
  return g_steal_pointer (&handshake->session);
}

ChatdPeerPolicy
chatd_peer_policy (gboolean self_advertises, gboolean peer_advertises)
{
  return self_advertises && peer_advertises ? CHATD_PEER_POLICY_SESSION_REQUIRED
                                            : CHATD_PEER_POLICY_ENVELOPES_ONLY;
}
