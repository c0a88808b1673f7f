/* domain.c: domain-separated signatures and MACs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "domain.h"
#include "hkdf.h"
#include "secret.h"

#include <gcrypt.h>
#include <string.h>

static gboolean
purpose_is_valid (const char *purpose)
{
  gsize len = purpose != NULL ? strlen (purpose) : 0;

  if (len == 0 || len > CHATD_PURPOSE_MAX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_islower (purpose[i]) && !g_ascii_isdigit (purpose[i]) && purpose[i] != '-')
      return FALSE;
  return TRUE;
}

gsize
chatd_domain_message (const char *purpose, const ChatdSlice *fields, gsize n_fields,
                      guint8 ret_message[CHATD_DOMAIN_MESSAGE_MAX], GError **error)
{
  gcry_md_hd_t md = NULL;
  gsize prefix_len = strlen (CHATD_DOMAIN_PREFIX);
  gsize purpose_len;
  gsize pos;

  if (!purpose_is_valid (purpose))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "invalid signature purpose (want [a-z0-9-]{1,%d})", CHATD_PURPOSE_MAX);
      return 0;
    }
  if (n_fields > CHATD_DOMAIN_FIELDS_MAX)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "too many signed fields (%" G_GSIZE_FORMAT ")", n_fields);
      return 0;
    }
  purpose_len = strlen (purpose);
  if (gcry_md_open (&md, GCRY_MD_SHA256, 0) != 0)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_FAILED, "cannot open SHA-256");
      return 0;
    }
  for (gsize i = 0; i < n_fields; i++)
    {
      guint8 len_be[4] = {
        (guint8) (fields[i].len >> 24), (guint8) (fields[i].len >> 16),
        (guint8) (fields[i].len >> 8), (guint8) fields[i].len,
      };
      g_return_val_if_fail (fields[i].len <= G_MAXUINT32, 0);
      gcry_md_write (md, len_be, sizeof len_be);
      if (fields[i].len > 0)
        gcry_md_write (md, fields[i].data, fields[i].len);
    }
  memcpy (ret_message, CHATD_DOMAIN_PREFIX, prefix_len);
  pos = prefix_len;
  memcpy (ret_message + pos, purpose, purpose_len);
  pos += purpose_len;
  ret_message[pos++] = 0;
  memcpy (ret_message + pos, gcry_md_read (md, GCRY_MD_SHA256), 32);
  pos += 32;
  gcry_md_close (md);
  return pos;
}

static gboolean
key_can_sign (const ChatdKey *key, GError **error)
{
  if (key == NULL || !chatd_suite_has (key->suite, CHATD_SUITE_CAN_SIGN))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "suite '%s' does not sign", key != NULL ? key->suite->name : "?");
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_domain_sign (const ChatdKey *key, const char *purpose,
                   const ChatdSlice *fields, gsize n_fields,
                   GBytes **ret_signature, GError **error)
{
  guint8 message[CHATD_DOMAIN_MESSAGE_MAX];
  gsize len;
  GBytes *signature;

  if (!key_can_sign (key, error))
    return FALSE;
  len = chatd_domain_message (purpose, fields, n_fields, message, error);
  if (len == 0)
    return FALSE;
  signature = key->suite->sign (key, message, len, error);
  if (signature == NULL)
    {
      g_prefix_error (error, "signing '%s': ", purpose);
      return FALSE;
    }
  *ret_signature = signature;
  return TRUE;
}

gboolean
chatd_domain_verify (const ChatdKey *key, const char *purpose,
                     const ChatdSlice *fields, gsize n_fields,
                     const guint8 *signature, gsize signature_len,
                     GError **error)
{
  guint8 message[CHATD_DOMAIN_MESSAGE_MAX];
  gsize len;

  if (!key_can_sign (key, error))
    return FALSE;
  len = chatd_domain_message (purpose, fields, n_fields, message, error);
  if (len == 0)
    return FALSE;
  if (!key->suite->verify (key, message, len, signature, signature_len, error))
    {
      g_prefix_error (error, "verifying '%s': ", purpose);
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_domain_mac (const guint8 *key, gsize key_len, const char *purpose,
                  const ChatdSlice *fields, gsize n_fields,
                  guint8 ret_mac[CHATD_DOMAIN_MAC_LEN], GError **error)
{
  guint8 message[CHATD_DOMAIN_MESSAGE_MAX];
  ChatdSlice part;

  part.len = chatd_domain_message (purpose, fields, n_fields, message, error);
  part.data = message;
  if (part.len == 0)
    return FALSE;
  return chatd_hmac_sha256 (key, key_len, &part, 1, ret_mac, error);
}

gboolean
chatd_domain_mac_verify (const guint8 *key, gsize key_len, const char *purpose,
                         const ChatdSlice *fields, gsize n_fields,
                         const guint8 *mac, gsize mac_len, GError **error)
{
  guint8 expected[CHATD_DOMAIN_MAC_LEN];
  gboolean ok;

  if (!chatd_domain_mac (key, key_len, purpose, fields, n_fields, expected, error))
    return FALSE;
  ok = mac_len == CHATD_DOMAIN_MAC_LEN && chatd_memequal_ct (expected, mac, mac_len);
  chatd_wipe (expected, sizeof expected);
  if (!ok)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "'%s' MAC does not match", purpose);
      return FALSE;
    }
  return TRUE;
}
