/* crypto-init.c: libgcrypt initialisation.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "crypto-init.h"

#include <chatd/chatd-plugin.h>
#include <gcrypt.h>
#include <string.h>

/* libgcrypt sets up its jitter entropy collector on the first request for
 * GCRY_VERY_STRONG_RANDOM bytes (key generation) and keeps it for the life of
 * the process; LeakSanitizer cannot see a reference to its 128 KiB buffer.
 * Started here, once (about 30 ms): no key generation pays for it later, and
 * that one allocation has a caller with a name for tests/lsan.supp. */
static void __attribute__ ((noinline))
chatd_crypto_start_entropy_collector (void)
{
  guint8 byte = 0;
  gcry_randomize (&byte, 1, GCRY_VERY_STRONG_RANDOM);
  explicit_bzero (&byte, sizeof byte);
}

gboolean
chatd_crypto_init (GError **error)
{
  /* libgcrypt itself remembers whether it is initialised: no state here. */
  if (gcry_control (GCRYCTL_INITIALIZATION_FINISHED_P))
    return TRUE;

  if (gcry_check_version (CHATD_GCRYPT_VERSION_MIN) == NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                   "libgcrypt %s is older than the %s chatd needs",
                   gcry_check_version (NULL), CHATD_GCRYPT_VERSION_MIN);
      return FALSE;
    }

  /* Library code does not print: no "using insecure memory" warnings (under
   * AddressSanitizer, or with a small RLIMIT_MEMLOCK, mlock locks nothing). */
  gcry_control (GCRYCTL_DISABLE_SECMEM_WARN);
  /* must come before any other memory-related command */
  gcry_control (GCRYCTL_AUTO_EXPAND_SECMEM, (unsigned int) CHATD_SECMEM_POOL_SIZE);
  if (gcry_control (GCRYCTL_INIT_SECMEM, (int) CHATD_SECMEM_POOL_SIZE, 0) != 0)
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                           "cannot set up libgcrypt secure memory");
      return FALSE;
    }
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  chatd_crypto_start_entropy_collector ();
  return TRUE;
}
