/* suite-check.c: descriptor validation and known-answer vectors of a suite.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "suite-check.h"
#include "secret.h"

#include <string.h>

#define BAD_DESCRIPTOR(...) \
  (g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, __VA_ARGS__), FALSE)
#define KAT_FAILED(...) \
  (g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, __VA_ARGS__), FALSE)

gboolean
chatd_suite_name_is_valid (const char *name)
{
  gsize len;

  if (name == NULL)
    return FALSE;
  len = strlen (name);
  if (len == 0 || len > CHATD_SUITE_NAME_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_islower (name[i]) && !g_ascii_isdigit (name[i]) && name[i] != '-')
      return FALSE;
  return TRUE;
}

static gboolean
length_ok (gsize len)
{
  return len > 0 && len <= CHATD_SUITE_SHARE_MAX;
}

static gboolean
check_descriptor (const ChatdSuite *s, GError **error)
{
  if (!chatd_suite_name_is_valid (s->name))
    return BAD_DESCRIPTOR ("invalid suite name (want [a-z0-9-]{1,%d})", CHATD_SUITE_NAME_MAX);
  if (s->caps == 0 || (s->caps & ~CHATD_SUITE_CAPS_ALL) != 0)
    return BAD_DESCRIPTOR ("invalid capabilities 0x%x", (guint) s->caps);

  if (s->caps & (CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL))
    {
      if (!s->generate || !s->key_free || !s->export_public || !s->export_private ||
          !s->import_public || !s->import_private || !s->fingerprint)
        return BAD_DESCRIPTOR ("key functions missing");
      if (s->private_blob_max == 0 || s->private_blob_max > CHATD_KEY_BLOB_MAX)
        return BAD_DESCRIPTOR ("private_blob_max out of range");
    }
  if ((s->caps & CHATD_SUITE_CAN_SIGN) && (!s->sign || !s->verify))
    return BAD_DESCRIPTOR ("sign or verify missing");
  if ((s->caps & CHATD_SUITE_CAN_SEAL) && (!s->seal || !s->open))
    return BAD_DESCRIPTOR ("seal or open missing");
  if ((s->caps & CHATD_SUITE_CAN_KEY_EXCHANGE) &&
      (!s->kx_public || !s->kx_shared || !length_ok (s->kx_secret_len) ||
       !length_ok (s->kx_public_len) || !length_ok (s->kx_shared_len)))
    return BAD_DESCRIPTOR ("key exchange functions or lengths missing");
  if ((s->caps & CHATD_SUITE_CAN_AEAD) &&
      (!s->aead_seal || !s->aead_open || !length_ok (s->aead_key_len) ||
       !length_ok (s->aead_nonce_len) || !length_ok (s->aead_tag_len)))
    return BAD_DESCRIPTOR ("AEAD functions or lengths missing");

  if ((s->caps & CHATD_SUITE_CAN_KDF) &&
      (!s->hash || !s->mac || !s->kdf || s->kdf_len < 16 || s->kdf_len > CHATD_SUITE_KDF_LEN_MAX))
    return BAD_DESCRIPTOR ("hash, MAC or KDF functions or lengths missing");
  if ((s->caps & CHATD_SUITE_CAN_AEAD_CONTEXT) &&
      (!(s->caps & CHATD_SUITE_CAN_AEAD) || !s->aead_context_new || !s->aead_context_free || !s->aead_context_set_key ||
       !s->aead_context_seal || !s->aead_context_open))
    return BAD_DESCRIPTOR ("AEAD context functions missing (or no AEAD)");

  if (s->n_kats > CHATD_SUITE_KATS_MAX || (s->n_kats > 0 && s->kats == NULL))
    return BAD_DESCRIPTOR ("invalid known-answer vector table");
  return TRUE;
}

static ChatdSuiteCaps
kat_capability (ChatdKatKind kind)
{
  switch (kind)
    {
    case CHATD_KAT_SIGN: return CHATD_SUITE_CAN_SIGN;
    case CHATD_KAT_OPEN: return CHATD_SUITE_CAN_SEAL;
    case CHATD_KAT_KEY_EXCHANGE: return CHATD_SUITE_CAN_KEY_EXCHANGE;
    case CHATD_KAT_AEAD: return CHATD_SUITE_CAN_AEAD;
    case CHATD_KAT_HASH:
    case CHATD_KAT_MAC:
    case CHATD_KAT_KDF: return CHATD_SUITE_CAN_KDF;
    default: return 0;
    }
}

static gboolean
bytes_equal (GBytes *bytes, const ChatdKatBytes *want)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  return len == want->len && (len == 0 || memcmp (data, want->data, len) == 0);
}

static guint8 *
flipped_copy (const ChatdKatBytes *b)
{
  guint8 *copy = g_malloc (MAX (b->len, 1));

  memcpy (copy, b->data, b->len);
  if (b->len > 0)
    copy[b->len / 2] ^= 0x01;
  return copy;
}

static gboolean
run_sign (const ChatdSuite *s, const ChatdSuiteKat *kat, GError **error)
{
  g_autoptr(ChatdKey) key = NULL;
  g_autoptr(ChatdKey) public_key = NULL;
  g_autoptr(GBytes) public_blob = NULL;
  g_autofree guint8 *bad = NULL;

  key = s->import_private (s, kat->key.data, kat->key.len, error);
  if (key == NULL)
    return FALSE;
  public_blob = s->export_public (key, error);
  if (public_blob == NULL)
    return FALSE;
  public_key = s->import_public (s, g_bytes_get_data (public_blob, NULL),
                                 g_bytes_get_size (public_blob), error);
  if (public_key == NULL)
    return FALSE;
  if (kat->deterministic)
    {
      g_autoptr(GBytes) sig = s->sign (key, kat->input.data, kat->input.len, error);
      if (sig == NULL)
        return FALSE;
      if (!bytes_equal (sig, &kat->output))
        return KAT_FAILED ("signature differs from the expected one");
    }
  if (!s->verify (public_key, kat->input.data, kat->input.len,
                  kat->output.data, kat->output.len, error))
    return FALSE;
  bad = flipped_copy (&kat->output);
  if (s->verify (public_key, kat->input.data, kat->input.len, bad, kat->output.len, NULL))
    return KAT_FAILED ("a damaged signature verifies");
  return TRUE;
}

static gboolean
run_open (const ChatdSuite *s, const ChatdSuiteKat *kat, GError **error)
{
  g_autoptr(ChatdKey) key = NULL;
  g_autoptr(GBytes) plaintext = NULL;
  g_autoptr(GBytes) damaged = NULL;
  g_autofree guint8 *bad = NULL;

  key = s->import_private (s, kat->key.data, kat->key.len, error);
  if (key == NULL)
    return FALSE;
  plaintext = s->open (key, kat->aad.data, kat->aad.len, kat->input.data, kat->input.len, error);
  if (plaintext == NULL)
    return FALSE;
  if (!bytes_equal (plaintext, &kat->output))
    return KAT_FAILED ("opened plaintext differs from the expected one");
  bad = flipped_copy (&kat->input);
  damaged = s->open (key, kat->aad.data, kat->aad.len, bad, kat->input.len, NULL);
  if (damaged != NULL)
    return KAT_FAILED ("a damaged sealed message opens");
  return TRUE;
}

static gboolean
run_key_exchange (const ChatdSuite *s, const ChatdSuiteKat *kat, GError **error)
{
  g_autoptr(ChatdSecret) shared = chatd_secret_new (s->kx_shared_len);
  g_autofree guint8 *public_share = g_malloc (s->kx_public_len);

  if (kat->key.len != s->kx_secret_len || kat->public_share.len != s->kx_public_len ||
      kat->peer.len != s->kx_public_len || kat->output.len != s->kx_shared_len)
    return BAD_DESCRIPTOR ("key exchange vector has wrong lengths");
  if (!s->kx_public (kat->key.data, public_share, error))
    return FALSE;
  if (memcmp (public_share, kat->public_share.data, s->kx_public_len) != 0)
    return KAT_FAILED ("public share differs from the expected one");
  if (!s->kx_shared (kat->key.data, kat->peer.data, kat->peer.len, shared->data, error))
    return FALSE;
  if (memcmp (shared->data, kat->output.data, s->kx_shared_len) != 0)
    return KAT_FAILED ("shared secret differs from the expected one");
  return TRUE;
}

static gboolean
run_aead (const ChatdSuite *s, const ChatdSuiteKat *kat, GError **error)
{
  g_autofree guint8 *ciphertext = NULL;
  g_autofree guint8 *plaintext = NULL;
  g_autofree guint8 *bad = NULL;

  if (kat->key.len != s->aead_key_len || kat->nonce.len != s->aead_nonce_len ||
      kat->output.len != kat->input.len + s->aead_tag_len)
    return BAD_DESCRIPTOR ("AEAD vector has wrong lengths");
  ciphertext = g_malloc (kat->output.len);
  plaintext = g_malloc (MAX (kat->input.len, 1));
  if (!s->aead_seal (kat->key.data, kat->nonce.data, kat->aad.data, kat->aad.len,
                     kat->input.data, kat->input.len, ciphertext, error))
    return FALSE;
  if (memcmp (ciphertext, kat->output.data, kat->output.len) != 0)
    return KAT_FAILED ("ciphertext differs from the expected one");
  if (!s->aead_open (kat->key.data, kat->nonce.data, kat->aad.data, kat->aad.len,
                     kat->output.data, kat->output.len, plaintext, error))
    return FALSE;
  if (kat->input.len > 0 && memcmp (plaintext, kat->input.data, kat->input.len) != 0)
    return KAT_FAILED ("decrypted plaintext differs from the expected one");
  bad = flipped_copy (&kat->output);
  if (s->aead_open (kat->key.data, kat->nonce.data, kat->aad.data, kat->aad.len,
                    bad, kat->output.len, plaintext, NULL))
    return KAT_FAILED ("a damaged ciphertext opens");
  return TRUE;
}

/* the same vector through a context, twice (the second call checks that a
 * context really is reusable) */
static gboolean
run_aead_context (const ChatdSuite *s, const ChatdSuiteKat *kat, GError **error)
{
  g_autofree guint8 *ciphertext = g_malloc (kat->output.len);
  g_autofree guint8 *plaintext = g_malloc (MAX (kat->input.len, 1));
  g_autofree guint8 *bad = flipped_copy (&kat->output);
  g_autofree guint8 *other_key = flipped_copy (&kat->key);
  /* made with another key, then re-keyed: set_key must replace the key */
  ChatdAeadContext *context = s->aead_context_new (other_key, error);
  gboolean ok = context != NULL && s->aead_context_set_key (context, kat->key.data, error);

  for (guint round = 0; ok && round < 2; round++)
    {
      ok = s->aead_context_seal (context, kat->nonce.data, kat->aad.data, kat->aad.len,
                                 kat->input.data, kat->input.len, ciphertext, error);
      if (ok && memcmp (ciphertext, kat->output.data, kat->output.len) != 0)
        ok = KAT_FAILED ("context ciphertext differs from the expected one (round %u)", round);
      if (ok && s->aead_context_open (context, kat->nonce.data, kat->aad.data, kat->aad.len,
                                      bad, kat->output.len, plaintext, NULL))
        ok = KAT_FAILED ("a damaged ciphertext opens through a context");
      if (ok)
        ok = s->aead_context_open (context, kat->nonce.data, kat->aad.data, kat->aad.len,
                                   kat->output.data, kat->output.len, plaintext, error);
      if (ok && kat->input.len > 0 && memcmp (plaintext, kat->input.data, kat->input.len) != 0)
        ok = KAT_FAILED ("context plaintext differs from the expected one");
    }
  if (context != NULL)
    s->aead_context_free (context);
  return ok;
}

static gboolean
run_hash_or_mac (const ChatdSuite *s, const ChatdSuiteKat *kat, GError **error)
{
  guint8 out[CHATD_SUITE_KDF_LEN_MAX];
  g_autofree guint8 *bad = flipped_copy (&kat->input);
  guint8 other[CHATD_SUITE_KDF_LEN_MAX];

  if (kat->output.len != s->kdf_len)
    return BAD_DESCRIPTOR ("hash or MAC vector has wrong lengths");
  gboolean ok = kat->kind == CHATD_KAT_HASH
                  ? s->hash (kat->input.data, kat->input.len, out, error)
                  : s->mac (kat->key.data, kat->key.len, kat->input.data, kat->input.len, out, error);
  if (!ok)
    return FALSE;
  if (memcmp (out, kat->output.data, s->kdf_len) != 0)
    return KAT_FAILED ("%s differs from the expected one", kat->kind == CHATD_KAT_HASH ? "hash" : "MAC");
  if (kat->input.len > 0)
    {
      ok = kat->kind == CHATD_KAT_HASH
             ? s->hash (bad, kat->input.len, other, error)
             : s->mac (kat->key.data, kat->key.len, bad, kat->input.len, other, error);
      if (!ok)
        return FALSE;
      if (memcmp (other, kat->output.data, s->kdf_len) == 0)
        return KAT_FAILED ("a changed input gives the same %s",
                           kat->kind == CHATD_KAT_HASH ? "hash" : "MAC");
    }
  return TRUE;
}

static gboolean
run_kdf (const ChatdSuite *s, const ChatdSuiteKat *kat, GError **error)
{
  if (kat->output.len == 0 || kat->output.len > CHATD_SUITE_KDF_OUTPUT_MAX)
    return BAD_DESCRIPTOR ("KDF vector has wrong lengths");
  g_autoptr(ChatdSecret) out = chatd_secret_new (kat->output.len);
  if (!s->kdf (kat->nonce.data, kat->nonce.len, kat->key.data, kat->key.len,
               kat->aad.data, kat->aad.len, out->data, kat->output.len, error))
    return FALSE;
  if (memcmp (out->data, kat->output.data, kat->output.len) != 0)
    return KAT_FAILED ("derived bytes differ from the expected ones");
  return TRUE;
}

static gboolean
run_kat (const ChatdSuite *s, const ChatdSuiteKat *kat, GError **error)
{
  switch (kat->kind)
    {
    case CHATD_KAT_SIGN: return run_sign (s, kat, error);
    case CHATD_KAT_OPEN: return run_open (s, kat, error);
    case CHATD_KAT_KEY_EXCHANGE: return run_key_exchange (s, kat, error);
    case CHATD_KAT_AEAD:
      return run_aead (s, kat, error) &&
             (!(s->caps & CHATD_SUITE_CAN_AEAD_CONTEXT) || run_aead_context (s, kat, error));
    case CHATD_KAT_HASH:
    case CHATD_KAT_MAC: return run_hash_or_mac (s, kat, error);
    case CHATD_KAT_KDF: return run_kdf (s, kat, error);
    default: return BAD_DESCRIPTOR ("unknown vector kind %d", (int) kat->kind);
    }
}

gboolean
chatd_suite_check (const ChatdSuite *suite, GError **error)
{
  ChatdSuiteCaps covered = 0;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (suite == NULL)
    return BAD_DESCRIPTOR ("no suite descriptor");
  if (!check_descriptor (suite, error))
    {
      g_prefix_error (error, "suite '%s': ",
                      chatd_suite_name_is_valid (suite->name) ? suite->name : "?");
      return FALSE;
    }

  for (gsize i = 0; i < suite->n_kats; i++)
    {
      const ChatdSuiteKat *kat = &suite->kats[i];
      ChatdSuiteCaps cap = kat_capability (kat->kind);

      if (cap == 0 || !(suite->caps & cap))
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "suite '%s': vector %" G_GSIZE_FORMAT " tests a capability it lacks",
                       suite->name, i);
          return FALSE;
        }
      if (!run_kat (suite, kat, error))
        {
          g_prefix_error (error, "suite '%s': known-answer vector '%s' failed: ",
                          suite->name, kat->name != NULL ? kat->name : "?");
          if (error != NULL && *error != NULL)
            (*error)->code = CHATD_ERROR_REFUSED;
          return FALSE;
        }
      covered |= cap;
      if (kat->kind == CHATD_KAT_AEAD && (suite->caps & CHATD_SUITE_CAN_AEAD_CONTEXT))
        covered |= CHATD_SUITE_CAN_AEAD_CONTEXT;
    }
  if (covered != suite->caps)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "suite '%s': no known-answer vector for capabilities 0x%x",
                   suite->name, (guint) (suite->caps & ~covered));
      return FALSE;
    }
  return TRUE;
}
