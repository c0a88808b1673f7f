/* test-plugin-load.c: loads the built suite modules with GModule, as the
 * daemon's loader does, with a test host whose add_suite runs
 * chatd_suite_check (what the registry does): the two real suites are
 * accepted and the bad-kat test plugin is refused.
 *
 * Module paths come from the environment (tests/crypto/meson.build).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "chatd-crypto.h"

#include <gmodule.h>

typedef gboolean (*RegisterFunc) (const ChatdHost *host, ChatdPlugin *plugin, GError **error);

static const ChatdSuite *captured;

static gboolean
test_add_suite (ChatdPlugin *plugin, const ChatdSuite *suite, GError **error)
{
  if (!chatd_suite_check (suite, error))
    return FALSE;
  captured = suite;
  return TRUE;
}

static gboolean
load_module (const char *env, const ChatdSuite **ret_suite, GError **error)
{
  const char *path = g_getenv (env);
  ChatdHost host = { 0 };
  GModule *module;
  gpointer abi = NULL, reg = NULL;

  if (path == NULL)
    {
      g_test_skip ("module path not set (run through meson test)");
      return FALSE;
    }
  module = g_module_open (path, G_MODULE_BIND_LOCAL);
  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, "chatd_plugin_abi_version", &abi));
  g_assert_cmpuint (*(const guint32 *) abi, ==, CHATD_PLUGIN_ABI_VERSION);
  g_assert_true (g_module_symbol (module, "chatd_plugin_register", &reg));
  g_module_make_resident (module);   /* descriptors live in the module */

  host.abi_version = CHATD_PLUGIN_ABI_VERSION;
  host.size = sizeof host;
  host.add_suite = test_add_suite;
  captured = NULL;
  if (!((RegisterFunc) reg) (&host, (ChatdPlugin *) &host, error))
    return FALSE;
  *ret_suite = captured;
  return TRUE;
}

static void
test_load_good (gconstpointer data)
{
  const char *env = data;
  const ChatdSuite *suite = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdKey) key = NULL;
  g_autoptr(GBytes) sig = NULL;

  if (!load_module (env, &suite, &error))
    {
      g_assert_no_error (error);
      return;
    }
  g_assert_nonnull (suite);
  g_assert_true (chatd_suite_has (suite, CHATD_SUITE_CAN_SIGN | CHATD_SUITE_CAN_SEAL));
  /* the module's own code works through the descriptor */
  key = suite->import_private (suite, suite->kats[0].key.data, suite->kats[0].key.len, &error);
  g_assert_no_error (error);
  sig = suite->sign (key, (const guint8 *) "x", 1, &error);
  g_assert_no_error (error);
  g_assert_true (suite->verify (key, (const guint8 *) "x", 1, g_bytes_get_data (sig, NULL),
                                g_bytes_get_size (sig), &error));
}

static void
test_load_bad_kat (void)
{
  const ChatdSuite *suite = NULL;
  g_autoptr(GError) error = NULL;

  if (g_getenv ("CHATD_TEST_BAD_KAT_MODULE") == NULL)
    {
      g_test_skip ("module path not set");
      return;
    }
  g_assert_false (load_module ("CHATD_TEST_BAD_KAT_MODULE", &suite, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "known-answer vector"));
  g_assert_nonnull (strstr (error->message, "bad-kat"));
  g_assert_null (captured);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));

  g_test_add_data_func ("/crypto/plugin/load/suite-rsa", "CHATD_TEST_SUITE_RSA_MODULE",
                        test_load_good);
  g_test_add_data_func ("/crypto/plugin/load/suite-25519", "CHATD_TEST_SUITE_25519_MODULE",
                        test_load_good);
  g_test_add_func ("/crypto/plugin/load/bad-kat-refused", test_load_bad_kat);
  return g_test_run ();
}
