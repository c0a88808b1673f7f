/* proof-of-work.c: the login's proof of work (doc/protocol.md, "Login"). */
#include "proof-of-work.h"

#include <gcrypt.h>

#define POW_PREFIX "chatd-pow"

static gboolean
leading_zero_bits (const guint8 *digest, guint bits)
{
  guint i = 0;
  for (; bits >= 8; bits -= 8, i++)
    if (digest[i] != 0)
      return FALSE;
  return bits == 0 || (digest[i] >> (8 - bits)) == 0;
}

static gboolean
try_x (gcry_md_hd_t base, guint bits, guint64 x)
{
  gcry_md_hd_t md = NULL;
  if (gcry_md_copy (&md, base) != 0)
    return FALSE;
  guint8 xb[8];
  for (int i = 7; i >= 0; i--, x >>= 8)
    xb[i] = x & 0xff;
  gcry_md_write (md, xb, sizeof xb);
  gboolean ok = leading_zero_bits (gcry_md_read (md, GCRY_MD_SHA256), bits);
  gcry_md_close (md);
  return ok;
}

static gcry_md_hd_t
prefix_hash (const guint8 *challenge, gsize challenge_len, const guint8 *sealed, gsize sealed_len)
{
  guint8 sealed_digest[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, sealed_digest, sealed, sealed_len);
  gcry_md_hd_t md = NULL;
  if (gcry_md_open (&md, GCRY_MD_SHA256, 0) != 0)
    return NULL;
  gcry_md_write (md, POW_PREFIX, sizeof POW_PREFIX - 1);
  gcry_md_write (md, challenge, challenge_len);
  gcry_md_write (md, sealed_digest, sizeof sealed_digest);
  return md;
}

gboolean
chatd_pow_check (const guint8 *challenge, gsize challenge_len, const guint8 *sealed,
                 gsize sealed_len, guint bits, guint64 x)
{
  if (bits > CHATD_POW_BITS_MAX)
    return FALSE;
  gcry_md_hd_t md = prefix_hash (challenge, challenge_len, sealed, sealed_len);
  if (md == NULL)
    return FALSE;
  gboolean ok = try_x (md, bits, x);
  gcry_md_close (md);
  return ok;
}

gboolean
chatd_pow_solve (const guint8 *challenge, gsize challenge_len, const guint8 *sealed,
                 gsize sealed_len, guint bits, guint64 start, guint64 max_tries, guint64 *ret_x)
{
  if (bits > CHATD_POW_BITS_MAX)
    return FALSE;
  gcry_md_hd_t md = prefix_hash (challenge, challenge_len, sealed, sealed_len);
  if (md == NULL)
    return FALSE;
  gboolean found = FALSE;
  for (guint64 i = 0; i < max_tries && !found; i++)
    if (try_x (md, bits, start + i))
      {
        *ret_x = start + i;
        found = TRUE;
      }
  gcry_md_close (md);
  return found;
}
