/* fuzz-config.c: the config file (daemon/node-options.c): GKeyFile text
 * through chatd_node_options_parse, as `chatd --config FILE` reads it.
 *
 * The first input byte picks the command line around --config (nothing
 * else, --server, --user with --connect, --wait); the rest is the file,
 * written to a temporary file that this process reuses.
 * Invariants: a refusal is one non-empty line; an accepted file has only the
 * documented groups and keys, and the options it gives are complete and
 * valid (exactly one role, a valid user name, addresses that parse, wait in
 * 1..3600, a list of critical plugins).
 */
#include "node-options.h"

#include <glib/gstdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *config_path;

static void
remove_config (void)
{
  g_unlink (config_path);
}

static gboolean
only_known_keys (const uint8_t *data, size_t size)
{
  static const char *const chatd_keys[] = {
    "server", "user", "connect", "listen", "advertise", "password-file", "server-key",
    "server-fingerprint", "state-dir", "socket", "plugin-dir", "wait", NULL };
  static const char *const plugin_keys[] = { "critical", "disabled", NULL };
  static const char *const server_keys[] = { "kdf-memory-kib", "kdf-passes", "pow-bits", NULL };
  g_autoptr(GKeyFile) file = g_key_file_new ();
  if (!g_key_file_load_from_data (file, (const char *) data, size, G_KEY_FILE_NONE, NULL))
    return FALSE;
  g_auto(GStrv) groups = g_key_file_get_groups (file, NULL);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      const char *const *known = g_str_equal (groups[g], "chatd") ? chatd_keys
                               : g_str_equal (groups[g], "plugins") ? plugin_keys
                               : g_str_equal (groups[g], "server") ? server_keys : NULL;
      if (known == NULL)
        return FALSE;
      g_auto(GStrv) keys = g_key_file_get_keys (file, groups[g], NULL, NULL);
      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        if (!g_strv_contains (known, keys[k]))
          return FALSE;
    }
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (config_path == NULL)
    {
      config_path = g_strdup_printf ("%s/chatd-fuzz-config-%d.conf", g_get_tmp_dir (), (int) getpid ());
      atexit (remove_config);
    }
  if (size < 1)
    return 0;
  const uint8_t *text = data + 1;
  size_t text_len = size - 1;
  if (!g_file_set_contents_full (config_path, (const char *) text, text_len, G_FILE_SET_CONTENTS_NONE, 0600, NULL))
    return 0;

  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (args, g_strdup ("chatd"));
  switch (data[0] & 3)
    {
    case 1:
      g_ptr_array_add (args, g_strdup ("--server"));
      break;
    case 2:
      g_ptr_array_add (args, g_strdup ("--user"));
      g_ptr_array_add (args, g_strdup ("Alice"));
      g_ptr_array_add (args, g_strdup ("--connect"));
      g_ptr_array_add (args, g_strdup ("127.0.0.1:5000"));
      break;
    case 3:
      g_ptr_array_add (args, g_strdup ("--wait"));
      g_ptr_array_add (args, g_strdup ("5"));
      break;
    default:
      break;
    }
  g_ptr_array_add (args, g_strdup ("--config"));
  g_ptr_array_add (args, g_strdup (config_path));
  int argc = (int) args->len;
  g_ptr_array_add (args, NULL);
  /* GOption rearranges argv: give it a copy of the pointers */
  char **argv_copy = g_memdup2 (args->pdata, args->len * sizeof (char *));
  char **argv = argv_copy;

  ChatdNodeOptions options = { 0 };
  ChatdOptionsOutcome outcome = CHATD_OPTIONS_VERSION;
  g_autoptr(GError) error = NULL;
  if (chatd_node_options_parse (&options, &argc, &argv, &outcome, &error))
    {
      g_assert_no_error (error);
      g_assert_cmpint (outcome, ==, CHATD_OPTIONS_PARSED);
      g_assert_true (only_known_keys (text, text_len));
      g_assert_true (options.role == CHATD_ROLE_SERVER || options.role == CHATD_ROLE_USER);
      if (options.role == CHATD_ROLE_USER)
        {
          g_assert_true (chatd_user_name_is_valid (options.user, NULL));
          g_assert_true (chatd_parse_host_port (options.connect, FALSE, NULL, NULL, NULL));
        }
      else
        g_assert_null (options.connect);
      g_assert_true (chatd_parse_host_port (options.listen, TRUE, NULL, NULL, NULL));
      if (options.advertise != NULL)
        g_assert_true (chatd_parse_host_port (options.advertise, FALSE, NULL, NULL, NULL));
      g_assert_true (options.wait_seconds >= 1 && options.wait_seconds <= 3600);
      g_assert_nonnull (options.critical_plugins);
      g_assert_cmpstr (chatd_node_options_node_name (&options), !=, NULL);
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_true (error->message[0] != '\0');
      g_assert_null (strchr (error->message, '\n'));
    }
  chatd_node_options_clear (&options);
  g_free (argv_copy);
  return 0;
}
