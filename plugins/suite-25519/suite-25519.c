/* suite-25519.c: the "25519" suite.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "suite-25519.h"
#include "hpke.h"
#include "x25519.h"

#include "aead.h"
#include "hkdf.h"
#include "keyblob.h"
#include "secret.h"

#include <gcrypt.h>
#include <string.h>

#define ED_LEN  32
#define SIG_LEN 64

typedef struct {
  ChatdKey     parent;
  guint8       ed_public[ED_LEN];
  guint8       x_public[CHATD_X25519_LEN];
  guint8       binding[SIG_LEN];
  ChatdSecret *secret;     /* private keys: ed_seed (32) || x_secret (32) */
} Key25519;

static gboolean G_GNUC_PRINTF (2, 3)
invalid (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                                                format, args));
  va_end (args);
  return FALSE;
}

#define INVALID(...) invalid (error, __VA_ARGS__)

static void
key_free (ChatdKey *key)
{
  Key25519 *k = (Key25519 *) key;

  chatd_secret_free (k->secret);
  chatd_wipe (k, sizeof *k);
  g_free (k);
}

static Key25519 *
key_new (ChatdKeyKind kind)
{
  Key25519 *k = g_new0 (Key25519, 1);

  k->parent.suite = &chatd_suite_25519;
  k->parent.kind = kind;
  return k;
}

static void
key25519_free (Key25519 *k)
{
  key_free ((ChatdKey *) k);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Key25519, key25519_free)

static gboolean
own_key (const ChatdKey *key, ChatdKeyKind need, GError **error)
{
  if (key == NULL || key->suite != &chatd_suite_25519)
    return INVALID ("key of suite '%s' given to suite '%s'",
                    key != NULL ? key->suite->name : "(none)", CHATD_SUITE_25519_NAME);
  if (need == CHATD_KEY_PRIVATE && key->kind != CHATD_KEY_PRIVATE)
    return INVALID ("a private key is needed");
  return TRUE;
}

static gboolean
gcry_failed (gcry_error_t err, const char *what, GError **error)
{
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED, "%s: %s", what, gcry_strerror (err));
  return FALSE;
}

/* ---- Ed25519 ---- */

static gboolean
ed25519_public_of_seed (const guint8 *seed, guint8 ret_public[ED_LEN], GError **error)
{
  gcry_sexp_t sexp = NULL;
  gcry_ctx_t ctx = NULL;
  gcry_mpi_t q = NULL;
  gcry_error_t err;
  unsigned int nbits = 0;
  const guint8 *data;

  err = gcry_sexp_build (&sexp, NULL, "(private-key (ecc (curve Ed25519) (flags eddsa) (d %b)))",
                         ED_LEN, seed);
  if (!err)
    err = gcry_mpi_ec_new (&ctx, sexp, NULL);
  gcry_sexp_release (sexp);
  if (err)
    return gcry_failed (err, "Ed25519 key", error);
  q = gcry_mpi_ec_get_mpi ("q@eddsa", ctx, 1);
  gcry_ctx_release (ctx);
  data = q != NULL ? gcry_mpi_get_opaque (q, &nbits) : NULL;
  if (data == NULL || nbits != ED_LEN * 8)
    {
      gcry_mpi_release (q);
      return INVALID ("cannot derive the Ed25519 public key");
    }
  memcpy (ret_public, data, ED_LEN);
  gcry_mpi_release (q);
  return TRUE;
}

static gboolean
copy_token (gcry_sexp_t sexp, const char *token, guint8 *out, gsize out_len)
{
  gcry_sexp_t item = gcry_sexp_find_token (sexp, token, 0);
  size_t len = 0;
  const char *data = item != NULL ? gcry_sexp_nth_data (item, 1, &len) : NULL;
  gboolean ok = data != NULL && len <= out_len;

  if (ok)
    {
      /* left-pad, in case libgcrypt dropped leading zero bytes */
      memset (out, 0, out_len - len);
      memcpy (out + out_len - len, data, len);
    }
  gcry_sexp_release (item);
  return ok;
}

static gboolean
ed25519_sign (const guint8 *seed, const guint8 *public_key, const guint8 *msg, gsize msg_len,
              guint8 ret_sig[SIG_LEN], GError **error)
{
  gcry_sexp_t key = NULL, data = NULL, sig = NULL;
  gcry_error_t err;
  gboolean ok;

  if (msg_len > CHATD_SIGN_MESSAGE_MAX)
    return INVALID ("message of %" G_GSIZE_FORMAT " bytes is too long to sign (limit %d)",
                    msg_len, CHATD_SIGN_MESSAGE_MAX);
  err = gcry_sexp_build (&key, NULL,
                         "(private-key (ecc (curve Ed25519) (flags eddsa) (q %b) (d %b)))",
                         ED_LEN, public_key, ED_LEN, seed);
  if (!err)
    err = gcry_sexp_build (&data, NULL, "(data (flags eddsa) (hash-algo sha512) (value %b))",
                           (int) msg_len, msg_len > 0 ? msg : (const guint8 *) "");
  if (!err)
    err = gcry_pk_sign (&sig, data, key);
  gcry_sexp_release (key);
  gcry_sexp_release (data);
  if (err)
    return gcry_failed (err, "Ed25519 signing failed", error);
  ok = copy_token (sig, "r", ret_sig, 32) && copy_token (sig, "s", ret_sig + 32, 32);
  gcry_sexp_release (sig);
  if (!ok)
    return INVALID ("unexpected Ed25519 signature from libgcrypt");
  return TRUE;
}

/* libgcrypt 1.10.1 aborts the process ("mulm_25519: different sizes") when
 * gcry_pk_verify gets an Ed25519 public key whose decoded x or y is shorter
 * than the field's limb count (for example y < 2^192): such a key, which a
 * peer can send, is refused before it reaches gcry_pk_verify.  An honest
 * key is one of these with probability about 2^-63. */
#define SHORT_COORDINATE_BITS (GLIB_SIZEOF_LONG == 8 ? 192 : 224)

static gboolean
ed25519_public_is_usable (const guint8 *public_key)
{
  gcry_sexp_t sexp = NULL;
  gcry_ctx_t ctx = NULL;
  gcry_mpi_point_t q = NULL;
  gcry_mpi_t x, y, z;
  gboolean usable = FALSE;

  if (gcry_sexp_build (&sexp, NULL, "(public-key (ecc (curve Ed25519) (flags eddsa) (q %b)))",
                       ED_LEN, public_key) != 0)
    return FALSE;
  if (gcry_mpi_ec_new (&ctx, sexp, NULL) == 0)
    q = gcry_mpi_ec_get_point ("q", ctx, 1);   /* decodes; NULL if not on the curve */
  gcry_sexp_release (sexp);
  gcry_ctx_release (ctx);
  if (q == NULL)
    return FALSE;
  x = gcry_mpi_new (0);
  y = gcry_mpi_new (0);
  z = gcry_mpi_new (0);
  gcry_mpi_point_snatch_get (x, y, z, q);   /* as decoded: z = 1 */
  usable = gcry_mpi_get_nbits (x) > SHORT_COORDINATE_BITS &&
           gcry_mpi_get_nbits (y) > SHORT_COORDINATE_BITS &&
           gcry_mpi_cmp_ui (z, 1) == 0;
  gcry_mpi_release (x);
  gcry_mpi_release (y);
  gcry_mpi_release (z);
  return usable;
}

/* public_key_checked: the key went through ed25519_public_is_usable (keys
 * are checked once, when imported or derived) */
static gboolean
ed25519_verify (const guint8 *public_key, gboolean public_key_checked,
                const guint8 *msg, gsize msg_len,
                const guint8 *sig, gsize sig_len, GError **error)
{
  gcry_sexp_t key = NULL, data = NULL, sexp_sig = NULL;
  gcry_error_t err;

  if (msg_len > CHATD_SIGN_MESSAGE_MAX)
    return INVALID ("message of %" G_GSIZE_FORMAT " bytes is too long to verify (limit %d)",
                    msg_len, CHATD_SIGN_MESSAGE_MAX);
  if (sig_len != SIG_LEN)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "Ed25519 signature of %" G_GSIZE_FORMAT " bytes (expected %d)",
                   sig_len, SIG_LEN);
      return FALSE;
    }
  if (!public_key_checked && !ed25519_public_is_usable (public_key))
    return INVALID ("Ed25519 public key is not a usable curve point");
  err = gcry_sexp_build (&key, NULL, "(public-key (ecc (curve Ed25519) (flags eddsa) (q %b)))",
                         ED_LEN, public_key);
  if (!err)
    err = gcry_sexp_build (&data, NULL, "(data (flags eddsa) (hash-algo sha512) (value %b))",
                           (int) msg_len, msg_len > 0 ? msg : (const guint8 *) "");
  if (!err)
    err = gcry_sexp_build (&sexp_sig, NULL, "(sig-val (eddsa (r %b) (s %b)))",
                           32, sig, 32, sig + 32);
  if (!err)
    err = gcry_pk_verify (sexp_sig, data, key);
  gcry_sexp_release (key);
  gcry_sexp_release (data);
  gcry_sexp_release (sexp_sig);
  if (err)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                           "Ed25519 signature does not verify");
      return FALSE;
    }
  return TRUE;
}

/* the message of the binding signature: prefix || 0x00 || ed_pub || x_pub */
static gsize
binding_message (const guint8 *ed_public, const guint8 *x_public, guint8 *out)
{
  gsize len = strlen (CHATD_SUITE_25519_BINDING);

  memcpy (out, CHATD_SUITE_25519_BINDING, len);
  out[len++] = 0;
  memcpy (out + len, ed_public, ED_LEN);
  memcpy (out + len + ED_LEN, x_public, CHATD_X25519_LEN);
  return len + ED_LEN + CHATD_X25519_LEN;
}

/* ---- keys ---- */

/* A private key from ed_seed || x_secret: derives both public keys and the
 * binding signature. */
static ChatdKey *
key_from_private_body (const guint8 *body, GError **error)
{
  g_autoptr(Key25519) k = key_new (CHATD_KEY_PRIVATE);
  guint8 message[sizeof CHATD_SUITE_25519_BINDING + ED_LEN + CHATD_X25519_LEN];
  gsize message_len;

  k->secret = chatd_secret_new_from (body, CHATD_SUITE_25519_PRIVATE_BODY);
  if (!ed25519_public_of_seed (k->secret->data, k->ed_public, error) ||
      !chatd_x25519 (k->secret->data + ED_LEN, NULL, k->x_public, error))
    return NULL;
  if (!ed25519_public_is_usable (k->ed_public))
    {
      INVALID ("Ed25519 key whose public point libgcrypt cannot verify with");
      return NULL;
    }
  message_len = binding_message (k->ed_public, k->x_public, message);
  if (!ed25519_sign (k->secret->data, k->ed_public, message, message_len, k->binding, error))
    return NULL;
  return (ChatdKey *) g_steal_pointer (&k);
}

static ChatdKey *
generate (const ChatdSuite *suite, guint bits, GError **error)
{
  g_autoptr(ChatdSecret) body = chatd_secret_new (CHATD_SUITE_25519_PRIVATE_BODY);

  if (bits != 0 && bits != 256)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "suite '25519' has one key size (256 bits), not %u", bits);
      return NULL;
    }
  /* a fresh seed whose public point is unusable (probability 2^-63) is
   * simply replaced */
  for (guint attempt = 0; attempt < 3; attempt++)
    {
      ChatdKey *key;

      gcry_randomize (body->data, body->len, GCRY_VERY_STRONG_RANDOM);
      key = key_from_private_body (body->data, NULL);
      if (key != NULL)
        return key;
    }
  return key_from_private_body (body->data, error);
}

static GBytes *
export_public (const ChatdKey *key, GError **error)
{
  const Key25519 *k = (const Key25519 *) key;
  guint8 body[CHATD_SUITE_25519_PUBLIC_BODY];

  if (!own_key (key, CHATD_KEY_PUBLIC, error))
    return NULL;
  memcpy (body, k->ed_public, ED_LEN);
  memcpy (body + ED_LEN, k->x_public, CHATD_X25519_LEN);
  memcpy (body + ED_LEN + CHATD_X25519_LEN, k->binding, SIG_LEN);
  return chatd_keyblob_new_public (CHATD_SUITE_25519_NAME, body, sizeof body);
}

static gboolean
export_private (const ChatdKey *key, guint8 *out, gsize out_len, gsize *ret_len, GError **error)
{
  const Key25519 *k = (const Key25519 *) key;

  if (!own_key (key, CHATD_KEY_PRIVATE, error))
    return FALSE;
  return chatd_keyblob_write (CHATD_SUITE_25519_NAME, CHATD_KEY_PRIVATE,
                              k->secret->data, k->secret->len, out, out_len, ret_len, error);
}

static ChatdKey *
import_public (const ChatdSuite *suite, const guint8 *blob, gsize len, GError **error)
{
  g_autoptr(Key25519) k = key_new (CHATD_KEY_PUBLIC);
  guint8 message[sizeof CHATD_SUITE_25519_BINDING + ED_LEN + CHATD_X25519_LEN];
  const guint8 *body;
  gsize body_len, message_len;

  if (!chatd_keyblob_parse (blob, len, CHATD_SUITE_25519_NAME, CHATD_KEY_PUBLIC,
                            &body, &body_len, error))
    return NULL;
  if (body_len != CHATD_SUITE_25519_PUBLIC_BODY)
    {
      INVALID ("suite '25519' public key body of %" G_GSIZE_FORMAT " bytes (expected %d)",
               body_len, CHATD_SUITE_25519_PUBLIC_BODY);
      return NULL;
    }
  memcpy (k->ed_public, body, ED_LEN);
  memcpy (k->x_public, body + ED_LEN, CHATD_X25519_LEN);
  memcpy (k->binding, body + ED_LEN + CHATD_X25519_LEN, SIG_LEN);
  message_len = binding_message (k->ed_public, k->x_public, message);
  if (!ed25519_verify (k->ed_public, FALSE, message, message_len, k->binding, SIG_LEN, NULL))
    {
      INVALID ("suite '25519' public key: the binding signature over its X25519 key "
               "does not verify");
      return NULL;
    }
  return (ChatdKey *) g_steal_pointer (&k);
}

static ChatdKey *
import_private (const ChatdSuite *suite, const guint8 *blob, gsize len, GError **error)
{
  const guint8 *body;
  gsize body_len;

  if (!chatd_keyblob_parse (blob, len, CHATD_SUITE_25519_NAME, CHATD_KEY_PRIVATE,
                            &body, &body_len, error))
    return NULL;
  if (body_len != CHATD_SUITE_25519_PRIVATE_BODY)
    {
      INVALID ("suite '25519' private key body of %" G_GSIZE_FORMAT " bytes (expected %d)",
               body_len, CHATD_SUITE_25519_PRIVATE_BODY);
      return NULL;
    }
  return key_from_private_body (body, error);
}

static gboolean
fingerprint (const ChatdKey *key, guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN], GError **error)
{
  g_autoptr(GBytes) blob = export_public (key, error);

  if (blob == NULL)
    return FALSE;
  chatd_keyblob_fingerprint (blob, ret_fingerprint);
  return TRUE;
}

/* ---- sign / verify ---- */

static GBytes *
sign (const ChatdKey *key, const guint8 *msg, gsize msg_len, GError **error)
{
  const Key25519 *k = (const Key25519 *) key;
  guint8 sig[SIG_LEN];

  if (!own_key (key, CHATD_KEY_PRIVATE, error) ||
      !ed25519_sign (k->secret->data, k->ed_public, msg, msg_len, sig, error))
    return NULL;
  return g_bytes_new (sig, sizeof sig);
}

static gboolean
verify (const ChatdKey *key, const guint8 *msg, gsize msg_len,
        const guint8 *sig, gsize sig_len, GError **error)
{
  if (!own_key (key, CHATD_KEY_PUBLIC, error))
    return FALSE;
  return ed25519_verify (((const Key25519 *) key)->ed_public, TRUE, msg, msg_len, sig, sig_len,
                         error);
}

/* ---- seal / open: HPKE base mode ---- */

static GBytes *
seal (const ChatdKey *recipient, const guint8 *aad, gsize aad_len,
      const guint8 *plaintext, gsize plaintext_len, GError **error)
{
  g_autofree guint8 *out = NULL;
  gsize out_len = CHATD_HPKE_OVERHEAD + plaintext_len;

  if (!own_key (recipient, CHATD_KEY_PUBLIC, error))
    return NULL;
  out = g_malloc (out_len);
  if (!chatd_hpke_seal_base (((const Key25519 *) recipient)->x_public, NULL,
                             (const guint8 *) CHATD_SUITE_25519_SEAL_INFO,
                             strlen (CHATD_SUITE_25519_SEAL_INFO),
                             aad, aad_len, plaintext, plaintext_len, out, error))
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&out), out_len);
}

static GBytes *
open_sealed (const ChatdKey *key, const guint8 *aad, gsize aad_len,
             const guint8 *sealed, gsize sealed_len, GError **error)
{
  const Key25519 *k = (const Key25519 *) key;
  g_autofree guint8 *out = NULL;
  gsize out_len;

  if (!own_key (key, CHATD_KEY_PRIVATE, error))
    return NULL;
  if (sealed_len < CHATD_HPKE_OVERHEAD)
    {
      INVALID ("sealed message of %" G_GSIZE_FORMAT " bytes is truncated", sealed_len);
      return NULL;
    }
  out_len = sealed_len - CHATD_HPKE_OVERHEAD;
  out = g_malloc (MAX (out_len, 1));
  if (!chatd_hpke_open_base (k->secret->data + ED_LEN, k->x_public,
                             (const guint8 *) CHATD_SUITE_25519_SEAL_INFO,
                             strlen (CHATD_SUITE_25519_SEAL_INFO),
                             aad, aad_len, sealed, sealed_len, out, error))
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&out), out_len);
}

/* ---- key exchange and AEAD for channels ---- */

static gboolean
kx_public (const guint8 *secret, guint8 *ret_public, GError **error)
{
  return chatd_x25519 (secret, NULL, ret_public, error);
}

static gboolean
kx_shared (const guint8 *secret, const guint8 *peer_public, gsize peer_len,
           guint8 *ret_shared, GError **error)
{
  if (peer_len != CHATD_X25519_LEN)
    return INVALID ("X25519 share of %" G_GSIZE_FORMAT " bytes (expected 32)", peer_len);
  return chatd_x25519 (secret, peer_public, ret_shared, error);
}

static gboolean
aead_seal (const guint8 *key, const guint8 *nonce, const guint8 *aad, gsize aad_len,
           const guint8 *plaintext, gsize plaintext_len, guint8 *ret_ciphertext, GError **error)
{
  return chatd_aead_encrypt (CHATD_AEAD_CHACHA20_POLY1305, key, nonce, aad, aad_len,
                             plaintext, plaintext_len, ret_ciphertext, error);
}

static gboolean
aead_open (const guint8 *key, const guint8 *nonce, const guint8 *aad, gsize aad_len,
           const guint8 *ciphertext, gsize ciphertext_len, guint8 *ret_plaintext, GError **error)
{
  return chatd_aead_decrypt (CHATD_AEAD_CHACHA20_POLY1305, key, nonce, aad, aad_len,
                             ciphertext, ciphertext_len, ret_plaintext, error);
}

static ChatdAeadContext *
aead_context_new (const guint8 *key, GError **error)
{
  return chatd_aead_context_new (CHATD_AEAD_CHACHA20_POLY1305, key, error);
}

const ChatdSuite chatd_suite_25519 = {
  .name = CHATD_SUITE_25519_NAME,
  .description = "Ed25519 signatures, HPKE (X25519, HKDF-SHA256, ChaCha20-Poly1305) sealing, "
                 "X25519 key exchange, ChaCha20-Poly1305, HKDF-SHA256",
  .caps = CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL | CHATD_SUITE_CAN_KEY_EXCHANGE |
          CHATD_SUITE_CAN_AEAD | CHATD_SUITE_CAN_KDF | CHATD_SUITE_CAN_AEAD_CONTEXT,
  .generate = generate,
  .key_free = key_free,
  .export_public = export_public,
  .export_private = export_private,
  .import_public = import_public,
  .import_private = import_private,
  .fingerprint = fingerprint,
  .private_blob_max = CHATD_KEYBLOB_OVERHEAD (5) + CHATD_SUITE_25519_PRIVATE_BODY,
  .sign = sign,
  .verify = verify,
  .seal = seal,
  .open = open_sealed,
  .kx_secret_len = CHATD_X25519_LEN,
  .kx_public_len = CHATD_X25519_LEN,
  .kx_shared_len = CHATD_X25519_LEN,
  .kx_public = kx_public,
  .kx_shared = kx_shared,
  .aead_key_len = CHATD_AEAD_KEY_LEN,
  .aead_nonce_len = CHATD_AEAD_NONCE_LEN,
  .aead_tag_len = CHATD_AEAD_TAG_LEN,
  .aead_seal = aead_seal,
  .aead_open = aead_open,
  .kats = chatd_suite_25519_kats,
  .n_kats = CHATD_SUITE_25519_N_KATS,
  .kdf_len = CHATD_SHA256_SUITE_KDF_LEN,
  .hash = chatd_sha256_suite_hash,
  .mac = chatd_sha256_suite_mac,
  .kdf = chatd_sha256_suite_kdf,
  .aead_context_new = aead_context_new,
  .aead_context_free = chatd_aead_context_free,
  .aead_context_set_key = chatd_aead_context_set_key,
  .aead_context_seal = chatd_aead_context_encrypt,
  .aead_context_open = chatd_aead_context_decrypt,
};
