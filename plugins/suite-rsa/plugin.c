/* plugin.c: registers the "rsa" suite.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "suite-rsa.h"

#include <gcrypt.h>

static gboolean
register_suite_rsa (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  /* the core initialises libgcrypt (chatd_crypto_init) before any plugin */
  if (!gcry_control (GCRYCTL_INITIALIZATION_FINISHED_P))
    {
      g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_FAILED,
                           "libgcrypt is not initialised by the host");
      return FALSE;
    }
  return host->add_suite (plugin, &chatd_suite_rsa, error);
}

CHATD_PLUGIN_DEFINE (register_suite_rsa)
