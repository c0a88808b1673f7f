/* hpke.c: RFC 9180 base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256
 * and ChaCha20-Poly1305.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "hpke.h"
#include "x25519.h"

#include "aead.h"
#include "hkdf.h"
#include "secret.h"

#include <chatd/chatd-plugin.h>
#include <gcrypt.h>
#include <string.h>

/* suite_id for the KEM ("KEM" || kem_id) and for HPKE ("HPKE" || kem_id ||
 * kdf_id || aead_id) */
static const guint8 kem_suite_id[] = { 'K', 'E', 'M', 0x00, 0x20 };
static const guint8 hpke_suite_id[] = { 'H', 'P', 'K', 'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03 };
#define VERSION_LABEL "HPKE-v1"

typedef struct {
  const guint8 *id;
  gsize         len;
} SuiteId;

static const SuiteId KEM = { kem_suite_id, sizeof kem_suite_id };
static const SuiteId HPKE = { hpke_suite_id, sizeof hpke_suite_id };

/* LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm) */
static gboolean
labeled_extract (SuiteId suite, const guint8 *salt, gsize salt_len, const char *label,
                 const guint8 *ikm, gsize ikm_len, guint8 ret_prk[32], GError **error)
{
  ChatdSlice parts[] = {
    { VERSION_LABEL, strlen (VERSION_LABEL) },
    { suite.id, suite.len },
    { label, strlen (label) },
    { ikm, ikm_len },
  };
  return chatd_hkdf_extract (salt, salt_len, parts, G_N_ELEMENTS (parts), ret_prk, error);
}

/* LabeledExpand(prk, label, info, L) =
 *   Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L) */
static gboolean
labeled_expand (SuiteId suite, const guint8 prk[32], const char *label,
                const guint8 *info, gsize info_len, guint8 *ret_okm, gsize out_len,
                GError **error)
{
  guint8 length[2] = { (guint8) (out_len >> 8), (guint8) out_len };
  ChatdSlice parts[] = {
    { length, 2 },
    { VERSION_LABEL, strlen (VERSION_LABEL) },
    { suite.id, suite.len },
    { label, strlen (label) },
    { info, info_len },
  };
  return chatd_hkdf_expand (prk, parts, G_N_ELEMENTS (parts), ret_okm, out_len, error);
}

/* shared_secret = ExtractAndExpand(dh, enc || pkR) */
static gboolean
kem_shared_secret (const guint8 dh[32], const guint8 enc[32], const guint8 pkR[32],
                   guint8 ret_shared[32], GError **error)
{
  g_autoptr(ChatdSecret) prk = chatd_secret_new (32);
  guint8 kem_context[64];

  memcpy (kem_context, enc, 32);
  memcpy (kem_context + 32, pkR, 32);
  if (!labeled_extract (KEM, NULL, 0, "eae_prk", dh, 32, prk->data, error))
    return FALSE;
  return labeled_expand (KEM, prk->data, "shared_secret", kem_context, sizeof kem_context,
                         ret_shared, 32, error);
}

/* KeySchedule for mode_base: key (32) || base_nonce (12) into ret_key_nonce */
static gboolean
key_schedule_base (const guint8 shared[32], const guint8 *info, gsize info_len,
                   guint8 ret_key_nonce[44], GError **error)
{
  guint8 context[1 + 32 + 32];
  g_autoptr(ChatdSecret) secret = chatd_secret_new (32);

  context[0] = 0x00;  /* mode_base */
  if (!labeled_extract (HPKE, NULL, 0, "psk_id_hash", NULL, 0, context + 1, error) ||
      !labeled_extract (HPKE, NULL, 0, "info_hash", info, info_len, context + 33, error) ||
      !labeled_extract (HPKE, shared, 32, "secret", NULL, 0, secret->data, error) ||
      !labeled_expand (HPKE, secret->data, "key", context, sizeof context,
                       ret_key_nonce, 32, error) ||
      !labeled_expand (HPKE, secret->data, "base_nonce", context, sizeof context,
                       ret_key_nonce + 32, 12, error))
    return FALSE;
  return TRUE;
}

gboolean
chatd_hpke_seal_base (const guint8 pkR[32], const guint8 *skE,
                      const guint8 *info, gsize info_len,
                      const guint8 *aad, gsize aad_len,
                      const guint8 *plaintext, gsize plaintext_len,
                      guint8 *ret_sealed, GError **error)
{
  g_autoptr(ChatdSecret) ephemeral = chatd_secret_new (32);
  g_autoptr(ChatdSecret) dh = chatd_secret_new (32);
  g_autoptr(ChatdSecret) shared = chatd_secret_new (32);
  g_autoptr(ChatdSecret) key_nonce = chatd_secret_new (44);
  guint8 enc[32];

  if (skE != NULL)
    memcpy (ephemeral->data, skE, 32);
  else
    gcry_randomize (ephemeral->data, 32, GCRY_STRONG_RANDOM);

  if (!chatd_x25519 (ephemeral->data, NULL, enc, error) ||
      !chatd_x25519 (ephemeral->data, pkR, dh->data, error) ||
      !kem_shared_secret (dh->data, enc, pkR, shared->data, error) ||
      !key_schedule_base (shared->data, info, info_len, key_nonce->data, error))
    return FALSE;
  if (!chatd_aead_encrypt (CHATD_AEAD_CHACHA20_POLY1305, key_nonce->data, key_nonce->data + 32,
                           aad, aad_len, plaintext, plaintext_len,
                           ret_sealed + CHATD_HPKE_ENC_LEN, error))
    return FALSE;
  memcpy (ret_sealed, enc, CHATD_HPKE_ENC_LEN);
  return TRUE;
}

gboolean
chatd_hpke_open_base (const guint8 skR[32], const guint8 pkR[32],
                      const guint8 *info, gsize info_len,
                      const guint8 *aad, gsize aad_len,
                      const guint8 *sealed, gsize sealed_len,
                      guint8 *ret_plaintext, GError **error)
{
  g_autoptr(ChatdSecret) dh = chatd_secret_new (32);
  g_autoptr(ChatdSecret) shared = chatd_secret_new (32);
  g_autoptr(ChatdSecret) key_nonce = chatd_secret_new (44);

  if (sealed_len < CHATD_HPKE_OVERHEAD)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "sealed message of %" G_GSIZE_FORMAT " bytes is truncated", sealed_len);
      return FALSE;
    }
  if (!chatd_x25519 (skR, sealed, dh->data, error) ||
      !kem_shared_secret (dh->data, sealed, pkR, shared->data, error) ||
      !key_schedule_base (shared->data, info, info_len, key_nonce->data, error))
    return FALSE;
  return chatd_aead_decrypt (CHATD_AEAD_CHACHA20_POLY1305, key_nonce->data, key_nonce->data + 32,
                             aad, aad_len, sealed + CHATD_HPKE_ENC_LEN,
                             sealed_len - CHATD_HPKE_ENC_LEN, ret_plaintext, error);
}
