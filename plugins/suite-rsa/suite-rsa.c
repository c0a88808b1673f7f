/* suite-rsa.c: the "rsa" suite.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "suite-rsa.h"

#include "aead.h"
#include "hkdf.h"
#include "keyblob.h"
#include "secret.h"

#include <gcrypt.h>
#include <string.h>

#define N_PUBLIC_FIELDS  2   /* n e */
#define N_PRIVATE_FIELDS 6   /* n e d p q u */
#define FIELD_MAX        512 /* bytes of one number: enough for 4096 bits */

typedef struct {
  ChatdKey     parent;
  guint        bits;
  gsize        modulus_len;
  gcry_sexp_t  public_sexp;
  gcry_sexp_t  private_sexp;   /* NULL for a public key */
  GBytes      *public_body;    /* n e */
  ChatdSecret *private_body;   /* n e d p q u; NULL for a public key */
} KeyRsa;

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

static gboolean
gcry_failed (gcry_error_t err, const char *what, GError **error)
{
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED, "%s: %s", what, gcry_strerror (err));
  return FALSE;
}

static void
key_free (ChatdKey *key)
{
  KeyRsa *k = (KeyRsa *) key;

  gcry_sexp_release (k->public_sexp);
  gcry_sexp_release (k->private_sexp);
  g_clear_pointer (&k->public_body, g_bytes_unref);
  chatd_secret_free (k->private_body);
  g_free (k);
}

static void
key_rsa_free (KeyRsa *k)
{
  key_free ((ChatdKey *) k);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (KeyRsa, key_rsa_free)

static gboolean
own_key (const ChatdKey *key, ChatdKeyKind need, GError **error)
{
  if (key == NULL || key->suite != &chatd_suite_rsa)
    return INVALID ("key of suite '%s' given to suite '%s'",
                    key != NULL ? key->suite->name : "(none)", CHATD_SUITE_RSA_NAME);
  if (need == CHATD_KEY_PRIVATE && key->kind != CHATD_KEY_PRIVATE)
    return INVALID ("a private key is needed");
  return TRUE;
}

/* ---- the body: numbers as u16 length || unsigned big-endian, no leading zero ---- */

static void
release_mpis (gcry_mpi_t *mpis, gsize n)
{
  for (gsize i = 0; i < n; i++)
    g_clear_pointer (&mpis[i], gcry_mpi_release);
}

static gboolean
parse_numbers (const guint8 *body, gsize len, gcry_mpi_t *ret_mpis, gsize n, gboolean secret,
               GError **error)
{
  gsize pos = 0;

  for (gsize i = 0; i < n; i++)
    {
      gsize field_len;
      gcry_error_t err;

      if (len - pos < 2)
        {
          release_mpis (ret_mpis, i);
          return INVALID ("RSA key body truncated");
        }
      field_len = ((gsize) body[pos] << 8) | body[pos + 1];
      pos += 2;
      if (field_len == 0 || field_len > FIELD_MAX || len - pos < field_len || body[pos] == 0)
        {
          release_mpis (ret_mpis, i);
          return INVALID ("RSA key body has a malformed number");
        }
      err = gcry_mpi_scan (&ret_mpis[i], GCRYMPI_FMT_USG, body + pos, field_len, NULL);
      if (err)
        {
          release_mpis (ret_mpis, i);
          return gcry_failed (err, "RSA key number", error);
        }
      if (secret && i >= 2)   /* d p q u: move to secure memory */
        gcry_mpi_set_flag (ret_mpis[i], GCRYMPI_FLAG_SECURE);
      pos += field_len;
    }
  if (pos != len)
    {
      release_mpis (ret_mpis, n);
      return INVALID ("RSA key body has %" G_GSIZE_FORMAT " trailing bytes", len - pos);
    }
  return TRUE;
}

/* writes the numbers into out (secure memory for private bodies) */
static gboolean
write_numbers (gcry_mpi_t *mpis, gsize n, guint8 *out, gsize out_len, gsize *ret_len,
               GError **error)
{
  gsize pos = 0;

  for (gsize i = 0; i < n; i++)
    {
      size_t written = 0;
      gcry_error_t err;

      if (out_len - pos < 2 + FIELD_MAX)
        return INVALID ("RSA key too large");
      err = gcry_mpi_print (GCRYMPI_FMT_USG, out + pos + 2, FIELD_MAX, &written, mpis[i]);
      if (err || written == 0)
        return gcry_failed (err, "RSA key number", error);
      out[pos] = (guint8) (written >> 8);
      out[pos + 1] = (guint8) written;
      pos += 2 + written;
    }
  *ret_len = pos;
  return TRUE;
}

static gboolean
check_public_numbers (gcry_mpi_t n, gcry_mpi_t e, guint *ret_bits, GError **error)
{
  guint bits = gcry_mpi_get_nbits (n);
  guint e_bits = gcry_mpi_get_nbits (e);

  if (bits != 2048 && bits != 3072)
    return INVALID ("RSA modulus of %u bits (2048 or 3072 accepted)", bits);
  if (e_bits < 2 || e_bits > 32 || !gcry_mpi_test_bit (e, 0))
    return INVALID ("RSA public exponent is not an odd number from 3 to 2^32");
  *ret_bits = bits;
  return TRUE;
}

/* n = p q, p < q, u = p^-1 mod q, e d = 1 mod (p-1) and mod (q-1) */
static gboolean
check_private_numbers (gcry_mpi_t *m, GError **error)
{
  gcry_mpi_t n = m[0], e = m[1], d = m[2], p = m[3], q = m[4], u = m[5];
  gcry_mpi_t t = gcry_mpi_snew (0), one = gcry_mpi_set_ui (NULL, 1), pm1 = gcry_mpi_snew (0);
  gboolean ok;

  gcry_mpi_mul (t, p, q);
  ok = gcry_mpi_cmp (t, n) == 0 && gcry_mpi_cmp (p, q) < 0;
  if (ok)
    {
      gcry_mpi_mulm (t, p, u, q);
      ok = gcry_mpi_cmp (t, one) == 0;
    }
  for (int i = 0; ok && i < 2; i++)
    {
      gcry_mpi_sub_ui (pm1, i == 0 ? p : q, 1);
      gcry_mpi_mulm (t, e, d, pm1);
      ok = gcry_mpi_cmp (t, one) == 0;
    }
  gcry_mpi_release (t);
  gcry_mpi_release (one);
  gcry_mpi_release (pm1);
  if (!ok)
    return INVALID ("RSA private key numbers are inconsistent");
  return TRUE;
}

static KeyRsa *
key_new (ChatdKeyKind kind)
{
  KeyRsa *k = g_new0 (KeyRsa, 1);

  k->parent.suite = &chatd_suite_rsa;
  k->parent.kind = kind;
  return k;
}

/* builds the key from its body; mpis n e [d p q u] already checked */
static ChatdKey *
key_from_numbers (gcry_mpi_t *m, gboolean private_key, guint bits, GError **error)
{
  g_autoptr(KeyRsa) k = key_new (private_key ? CHATD_KEY_PRIVATE : CHATD_KEY_PUBLIC);
  guint8 public_body[2 * (2 + FIELD_MAX)];
  gsize len = 0;
  gcry_error_t err;

  k->bits = bits;
  k->modulus_len = (bits + 7) / 8;
  err = gcry_sexp_build (&k->public_sexp, NULL, "(public-key (rsa (n %m) (e %m)))", m[0], m[1]);
  if (err)
    return gcry_failed (err, "RSA public key", error), NULL;
  if (!write_numbers (m, N_PUBLIC_FIELDS, public_body, sizeof public_body, &len, error))
    return NULL;
  k->public_body = g_bytes_new (public_body, len);
  if (private_key)
    {
      k->private_body = chatd_secret_new (N_PRIVATE_FIELDS * (2 + FIELD_MAX));
      err = gcry_sexp_build (&k->private_sexp, NULL,
                             "(private-key (rsa (n %m) (e %m) (d %m) (p %m) (q %m) (u %m)))",
                             m[0], m[1], m[2], m[3], m[4], m[5]);
      if (err)
        return gcry_failed (err, "RSA private key", error), NULL;
      if (!write_numbers (m, N_PRIVATE_FIELDS, k->private_body->data, k->private_body->len,
                          &len, error))
        return NULL;
      chatd_secret_truncate (k->private_body, len);
    }
  return (ChatdKey *) g_steal_pointer (&k);
}

static ChatdKey *
key_from_body (const guint8 *body, gsize len, gboolean private_key, GError **error)
{
  gcry_mpi_t m[N_PRIVATE_FIELDS] = { NULL };
  gsize n = private_key ? N_PRIVATE_FIELDS : N_PUBLIC_FIELDS;
  ChatdKey *key = NULL;
  guint bits = 0;

  if (!parse_numbers (body, len, m, n, private_key, error))
    return NULL;
  if (check_public_numbers (m[0], m[1], &bits, error) &&
      (!private_key || check_private_numbers (m, error)))
    key = key_from_numbers (m, private_key, bits, error);
  release_mpis (m, n);
  return key;
}

/* ---- keys ---- */

static ChatdKey *
generate (const ChatdSuite *suite, guint bits, GError **error)
{
  gcry_sexp_t params = NULL, pair = NULL;
  gcry_mpi_t m[N_PRIVATE_FIELDS] = { NULL };
  gcry_error_t err;
  ChatdKey *key = NULL;
  guint checked_bits = 0;

  if (bits == 0)
    bits = CHATD_SUITE_RSA_DEFAULT_BITS;
  if (bits != 2048 && bits != 3072)
    {
      INVALID ("RSA keys of %u bits are not offered (2048 or 3072)", bits);
      return NULL;
    }
  err = gcry_sexp_build (&params, NULL, "(genkey (rsa (nbits %u)))", bits);
  if (!err)
    err = gcry_pk_genkey (&pair, params);
  gcry_sexp_release (params);
  if (!err)
    err = gcry_sexp_extract_param (pair, "private-key", "nedpqu",
                                   &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], NULL);
  gcry_sexp_release (pair);
  if (err)
    return gcry_failed (err, "RSA key generation failed", error), NULL;
  for (int i = 2; i < N_PRIVATE_FIELDS; i++)   /* d p q u into secure memory */
    gcry_mpi_set_flag (m[i], GCRYMPI_FLAG_SECURE);
  if (check_public_numbers (m[0], m[1], &checked_bits, error) &&
      check_private_numbers (m, error))
    key = key_from_numbers (m, TRUE, checked_bits, error);
  release_mpis (m, N_PRIVATE_FIELDS);
  return key;
}

static GBytes *
export_public (const ChatdKey *key, GError **error)
{
  const KeyRsa *k = (const KeyRsa *) key;
  gsize len;
  const guint8 *body;

  if (!own_key (key, CHATD_KEY_PUBLIC, error))
    return NULL;
  body = g_bytes_get_data (k->public_body, &len);
  return chatd_keyblob_new_public (CHATD_SUITE_RSA_NAME, body, len);
}

static gboolean
export_private (const ChatdKey *key, guint8 *out, gsize out_len, gsize *ret_len, GError **error)
{
  const KeyRsa *k = (const KeyRsa *) key;

  if (!own_key (key, CHATD_KEY_PRIVATE, error))
    return FALSE;
  return chatd_keyblob_write (CHATD_SUITE_RSA_NAME, CHATD_KEY_PRIVATE,
                              k->private_body->data, k->private_body->len,
                              out, out_len, ret_len, error);
}

static ChatdKey *
import_key (const guint8 *blob, gsize len, ChatdKeyKind kind, GError **error)
{
  const guint8 *body;
  gsize body_len;

  if (!chatd_keyblob_parse (blob, len, CHATD_SUITE_RSA_NAME, kind, &body, &body_len, error))
    return NULL;
  return key_from_body (body, body_len, kind == CHATD_KEY_PRIVATE, error);
}

static ChatdKey *
import_public (const ChatdSuite *suite, const guint8 *blob, gsize len, GError **error)
{
  return import_key (blob, len, CHATD_KEY_PUBLIC, error);
}

static ChatdKey *
import_private (const ChatdSuite *suite, const guint8 *blob, gsize len, GError **error)
{
  return import_key (blob, len, CHATD_KEY_PRIVATE, error);
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

/* ---- numbers in and out of S-expressions, fixed to the modulus length ---- */

static GBytes *
token_to_bytes (gcry_sexp_t sexp, const char *token, gsize width, GError **error)
{
  gcry_sexp_t item = gcry_sexp_find_token (sexp, token, 0);
  gcry_mpi_t mpi = item != NULL ? gcry_sexp_nth_mpi (item, 1, GCRYMPI_FMT_USG) : NULL;
  guint8 *out = g_malloc0 (width);
  size_t written = 0;
  gcry_error_t err = GPG_ERR_INV_OBJ;

  if (mpi != NULL && (gcry_mpi_get_nbits (mpi) + 7) / 8 <= width)
    {
      gsize len = (gcry_mpi_get_nbits (mpi) + 7) / 8;
      err = len == 0 ? 0 : gcry_mpi_print (GCRYMPI_FMT_USG, out + width - len, len, &written, mpi);
    }
  gcry_mpi_release (mpi);
  gcry_sexp_release (item);
  if (err)
    {
      g_free (out);
      gcry_failed (err, "unexpected RSA result from libgcrypt", error);
      return NULL;
    }
  return g_bytes_new_take (out, width);
}

/* ---- sign / verify: RSA-PSS with SHA-256, salt length 32 ---- */

static GBytes *
pss_sign (const ChatdKey *key, const guint8 *msg, gsize msg_len, const guint8 *salt,
          GError **error)
{
  const KeyRsa *k = (const KeyRsa *) key;
  guint8 digest[32];
  gcry_sexp_t data = NULL, sig = NULL;
  gcry_error_t err;
  GBytes *out;

  if (!own_key (key, CHATD_KEY_PRIVATE, error))
    return NULL;
  if (msg_len > CHATD_SIGN_MESSAGE_MAX)
    {
      INVALID ("message of %" G_GSIZE_FORMAT " bytes is too long to sign (limit %d)",
               msg_len, CHATD_SIGN_MESSAGE_MAX);
      return NULL;
    }
  gcry_md_hash_buffer (GCRY_MD_SHA256, digest, msg_len > 0 ? msg : (const guint8 *) "", msg_len);
  if (salt != NULL)
    err = gcry_sexp_build (&data, NULL,
                           "(data (flags pss) (hash sha256 %b) (salt-length %u) "
                           "(random-override %b))",
                           32, digest, CHATD_SUITE_RSA_PSS_SALT_LEN,
                           CHATD_SUITE_RSA_PSS_SALT_LEN, salt);
  else
    err = gcry_sexp_build (&data, NULL, "(data (flags pss) (hash sha256 %b) (salt-length %u))",
                           32, digest, CHATD_SUITE_RSA_PSS_SALT_LEN);
  if (!err)
    err = gcry_pk_sign (&sig, data, k->private_sexp);
  gcry_sexp_release (data);
  if (err)
    return gcry_failed (err, "RSA-PSS signing failed", error), NULL;
  out = token_to_bytes (sig, "s", k->modulus_len, error);
  gcry_sexp_release (sig);
  return out;
}

static GBytes *
sign (const ChatdKey *key, const guint8 *msg, gsize msg_len, GError **error)
{
  return pss_sign (key, msg, msg_len, NULL, error);
}

GBytes *
chatd_suite_rsa_sign_with_salt (const ChatdKey *key, const guint8 *msg, gsize msg_len,
                                const guint8 salt[CHATD_SUITE_RSA_PSS_SALT_LEN], GError **error)
{
  return pss_sign (key, msg, msg_len, salt, error);
}

static gboolean
verify (const ChatdKey *key, const guint8 *msg, gsize msg_len,
        const guint8 *sig, gsize sig_len, GError **error)
{
  const KeyRsa *k = (const KeyRsa *) key;
  guint8 digest[32];
  gcry_sexp_t data = NULL, sexp_sig = NULL;
  gcry_mpi_t s = NULL;
  gcry_error_t err;

  if (!own_key (key, CHATD_KEY_PUBLIC, error))
    return FALSE;
  if (msg_len > CHATD_SIGN_MESSAGE_MAX)
    return INVALID ("message of %" G_GSIZE_FORMAT " bytes is too long to verify (limit %d)",
                    msg_len, CHATD_SIGN_MESSAGE_MAX);
  if (sig_len != k->modulus_len)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                   "RSA signature of %" G_GSIZE_FORMAT " bytes (expected %" G_GSIZE_FORMAT ")",
                   sig_len, k->modulus_len);
      return FALSE;
    }
  gcry_md_hash_buffer (GCRY_MD_SHA256, digest, msg_len > 0 ? msg : (const guint8 *) "", msg_len);
  err = gcry_mpi_scan (&s, GCRYMPI_FMT_USG, sig, sig_len, NULL);
  if (!err)
    err = gcry_sexp_build (&sexp_sig, NULL, "(sig-val (rsa (s %m)))", s);
  if (!err)
    err = gcry_sexp_build (&data, NULL, "(data (flags pss) (hash sha256 %b) (salt-length %u))",
                           32, digest, CHATD_SUITE_RSA_PSS_SALT_LEN);
  if (!err)
    err = gcry_pk_verify (sexp_sig, data, k->public_sexp);
  gcry_mpi_release (s);
  gcry_sexp_release (sexp_sig);
  gcry_sexp_release (data);
  if (err)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                           "RSA-PSS signature does not verify");
      return FALSE;
    }
  return TRUE;
}

/* ---- seal / open: OAEP(SHA-256) of AES key || nonce, then AES-256-GCM ---- */

static GBytes *
seal_with (const ChatdKey *recipient, const guint8 *aad, gsize aad_len,
           const guint8 *plaintext, gsize plaintext_len,
           const guint8 *oaep_seed, const guint8 *fixed_key_nonce, GError **error)
{
  const KeyRsa *k = (const KeyRsa *) recipient;
  g_autoptr(ChatdSecret) key_nonce = chatd_secret_new (CHATD_SUITE_RSA_WRAPPED_LEN);
  g_autoptr(GBytes) wrapped = NULL;
  gcry_sexp_t data = NULL, enc = NULL;
  gcry_error_t err;
  guint8 *out;
  gsize out_len;

  if (!own_key (recipient, CHATD_KEY_PUBLIC, error))
    return NULL;
  if (fixed_key_nonce != NULL)
    memcpy (key_nonce->data, fixed_key_nonce, CHATD_SUITE_RSA_WRAPPED_LEN);
  else
    {
      gcry_randomize (key_nonce->data, CHATD_AEAD_KEY_LEN, GCRY_STRONG_RANDOM);
      gcry_create_nonce (key_nonce->data + CHATD_AEAD_KEY_LEN, CHATD_AEAD_NONCE_LEN);
    }
  if (oaep_seed != NULL)
    err = gcry_sexp_build (&data, NULL,
                           "(data (flags oaep) (hash-algo sha256) (value %b) "
                           "(random-override %b))",
                           CHATD_SUITE_RSA_WRAPPED_LEN, key_nonce->data,
                           CHATD_SUITE_RSA_OAEP_SEED_LEN, oaep_seed);
  else
    err = gcry_sexp_build (&data, NULL, "(data (flags oaep) (hash-algo sha256) (value %b))",
                           CHATD_SUITE_RSA_WRAPPED_LEN, key_nonce->data);
  if (!err)
    err = gcry_pk_encrypt (&enc, data, k->public_sexp);
  gcry_sexp_release (data);
  if (err)
    return gcry_failed (err, "RSA-OAEP encryption failed", error), NULL;
  wrapped = token_to_bytes (enc, "a", k->modulus_len, error);
  gcry_sexp_release (enc);
  if (wrapped == NULL)
    return NULL;

  out_len = k->modulus_len + plaintext_len + CHATD_AEAD_TAG_LEN;
  out = g_malloc (out_len);
  memcpy (out, g_bytes_get_data (wrapped, NULL), k->modulus_len);
  if (!chatd_aead_encrypt (CHATD_AEAD_AES256_GCM, key_nonce->data,
                           key_nonce->data + CHATD_AEAD_KEY_LEN, aad, aad_len,
                           plaintext, plaintext_len, out + k->modulus_len, error))
    {
      g_free (out);
      return NULL;
    }
  return g_bytes_new_take (out, out_len);
}

static GBytes *
seal (const ChatdKey *recipient, const guint8 *aad, gsize aad_len,
      const guint8 *plaintext, gsize plaintext_len, GError **error)
{
  return seal_with (recipient, aad, aad_len, plaintext, plaintext_len, NULL, NULL, error);
}

GBytes *
chatd_suite_rsa_seal_with (const ChatdKey *recipient, const guint8 *aad, gsize aad_len,
                           const guint8 *plaintext, gsize plaintext_len,
                           const guint8 oaep_seed[CHATD_SUITE_RSA_OAEP_SEED_LEN],
                           const guint8 key_nonce[CHATD_SUITE_RSA_WRAPPED_LEN],
                           GError **error)
{
  return seal_with (recipient, aad, aad_len, plaintext, plaintext_len, oaep_seed, key_nonce,
                    error);
}

static gboolean
refused (GError **error)
{
  g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
                       "sealed message does not open with this key");
  return FALSE;
}

static GBytes *
open_sealed (const ChatdKey *key, const guint8 *aad, gsize aad_len,
             const guint8 *sealed, gsize sealed_len, GError **error)
{
  const KeyRsa *k = (const KeyRsa *) key;
  g_autoptr(ChatdSecret) key_nonce = NULL;
  gcry_sexp_t enc = NULL, plain = NULL, value = NULL;
  gcry_mpi_t a = NULL;
  gcry_error_t err;
  const char *data = NULL;
  size_t data_len = 0;
  gsize out_len;
  guint8 *out;

  if (!own_key (key, CHATD_KEY_PRIVATE, error))
    return NULL;
  if (sealed_len < k->modulus_len + CHATD_AEAD_TAG_LEN)
    {
      INVALID ("sealed message of %" G_GSIZE_FORMAT " bytes is truncated", sealed_len);
      return NULL;
    }
  err = gcry_mpi_scan (&a, GCRYMPI_FMT_USG, sealed, k->modulus_len, NULL);
  if (!err)
    err = gcry_sexp_build (&enc, NULL, "(enc-val (flags oaep) (hash-algo sha256) (rsa (a %m)))", a);
  if (!err)
    err = gcry_pk_decrypt (&plain, enc, k->private_sexp);
  gcry_mpi_release (a);
  gcry_sexp_release (enc);
  if (!err)
    {
      value = gcry_sexp_find_token (plain, "value", 0);
      data = value != NULL ? gcry_sexp_nth_data (value, 1, &data_len) : NULL;
    }
  if (data == NULL || data_len != CHATD_SUITE_RSA_WRAPPED_LEN)
    {
      gcry_sexp_release (value);
      gcry_sexp_release (plain);
      return refused (error), NULL;
    }
  key_nonce = chatd_secret_new_from (data, data_len);
  gcry_sexp_release (value);
  gcry_sexp_release (plain);

  out_len = sealed_len - k->modulus_len - CHATD_AEAD_TAG_LEN;
  out = g_malloc (MAX (out_len, 1));
  if (!chatd_aead_decrypt (CHATD_AEAD_AES256_GCM, key_nonce->data,
                           key_nonce->data + CHATD_AEAD_KEY_LEN, aad, aad_len,
                           sealed + k->modulus_len, sealed_len - k->modulus_len, out, NULL))
    {
      g_free (out);
      return refused (error), NULL;
    }
  return g_bytes_new_take (out, out_len);
}

const ChatdSuite chatd_suite_rsa = {
  .name = CHATD_SUITE_RSA_NAME,
  .description = "RSA-PSS-SHA256 signatures, RSA-OAEP-SHA256 + AES-256-GCM sealing "
                 "(3072-bit keys, 2048 accepted), HKDF-SHA256",
  .caps = CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL | CHATD_SUITE_CAN_KDF,
  .generate = generate,
  .key_free = key_free,
  .export_public = export_public,
  .export_private = export_private,
  .import_public = import_public,
  .import_private = import_private,
  .fingerprint = fingerprint,
  .private_blob_max = CHATD_KEYBLOB_OVERHEAD (3) + N_PRIVATE_FIELDS * (2 + FIELD_MAX),
  .sign = sign,
  .verify = verify,
  .seal = seal,
  .open = open_sealed,
  .kats = chatd_suite_rsa_kats,
  .n_kats = CHATD_SUITE_RSA_N_KATS,
  .kdf_len = CHATD_SHA256_SUITE_KDF_LEN,
  .hash = chatd_sha256_suite_hash,
  .mac = chatd_sha256_suite_mac,
  .kdf = chatd_sha256_suite_kdf,
};
