/* test-loader.c: the plugin loader against real modules: a good plugin, an
 * ABI mismatch, a missing register symbol, a non-plugin file, a plugin that
 * registers nothing or a duplicate, search order and critical plugins. */
#include "host.h"
#include "plugin-loader.h"

#include <glib/gstdio.h>

typedef struct {
  ChatdRegistry     *registry;
  const ChatdHost   *host;
  ChatdPluginLoader *loader;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->registry = chatd_registry_new (NULL);
  f->host = chatd_host_new (NULL);
  f->loader = chatd_plugin_loader_new (f->host, f->registry);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  chatd_plugin_loader_free (f->loader);
  chatd_host_free (f->host);
  chatd_registry_free (f->registry);
}

static char *
test_plugin (const char *name)
{
  g_autofree char *file = g_strdup_printf ("test-%s.%s", name, G_MODULE_SUFFIX);
  return g_build_filename (g_getenv ("CHATD_TEST_PLUGINS"), file, NULL);
}

static void
test_good (Fixture *f, gconstpointer data)
{
  g_autofree char *path = test_plugin ("good");
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_plugin_loader_load_file (f->loader, path, &error));
  g_assert_no_error (error);
  const char *owner = NULL;
  g_assert_nonnull (chatd_registry_lookup_command (f->registry, "test-good", CHATD_ROLE_ANY, &owner));
  g_assert_cmpstr (owner, ==, "test-good");
  GPtrArray *plugins = chatd_plugin_loader_get_plugins (f->loader);
  g_assert_cmpuint (plugins->len, ==, 1);
  /* the same plugin name again is refused */
  g_assert_false (chatd_plugin_loader_load_file (f->loader, path, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE);
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  const struct { const char *name; gint code; const char *words; } cases[] = {
    { "abi-mismatch", CHATD_ERROR_ABI, "ABI 42" },
    { "no-register", CHATD_ERROR_ABI, "no chatd_plugin_register" },
    { "not-a-plugin", CHATD_ERROR_ABI, "not a chatd plugin" },
    { "registers-nothing", CHATD_ERROR_INVALID_ARGUMENT, "registered no command" },
    { "counter-at-register", CHATD_ERROR_FAILED, "add_counter is not possible inside" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = test_plugin (cases[i].name);
      g_autoptr(GError) error = NULL;
      g_assert_false (chatd_plugin_loader_load_file (f->loader, path, &error));
      g_assert_error (error, CHATD_ERROR, cases[i].code);
      g_test_message ("%s: %s", cases[i].name, error->message);
      g_assert_nonnull (strstr (error->message, cases[i].words));
    }
  g_assert_cmpuint (chatd_plugin_loader_get_plugins (f->loader)->len, ==, 0);
  /* what the refused plugins added first is withdrawn */
  g_assert_null (chatd_registry_lookup_command (f->registry, "test-counted", CHATD_ROLE_ANY, NULL));
}

static void
test_duplicate_command_withdraws_plugin (Fixture *f, gconstpointer data)
{
  g_autofree char *core = g_build_filename (g_getenv ("CHATD_PLUGIN_DIR"), "cmd-core." G_MODULE_SUFFIX, NULL);
  g_autofree char *dup = test_plugin ("duplicate-help");
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_plugin_loader_load_file (f->loader, core, &error));
  g_assert_false (chatd_plugin_loader_load_file (f->loader, dup, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE);
  g_assert_nonnull (strstr (error->message, "cmd-core"));
  g_assert_null (chatd_registry_lookup_command (f->registry, "test-extra", CHATD_ROLE_ANY, NULL));
  const char *owner = NULL;
  g_assert_nonnull (chatd_registry_lookup_command (f->registry, "help", CHATD_ROLE_ANY, &owner));
  g_assert_cmpstr (owner, ==, "cmd-core");
}

/* A directory with a good plugin, a broken one, a README and a module of the
 * same name as one in a later directory. */
static char *
make_dir (const char *const *modules, const char *extra_file)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-loader-XXXXXX", NULL);
  for (guint i = 0; modules[i] != NULL; i++)
    {
      g_autofree char *src = test_plugin (modules[i]);
      g_autofree char *file = g_strdup_printf ("test-%s.%s", modules[i], G_MODULE_SUFFIX);
      g_autofree char *dst = g_build_filename (dir, file, NULL);
      g_assert_no_errno (symlink (src, dst));
    }
  if (extra_file != NULL)
    {
      g_autofree char *path = g_build_filename (dir, extra_file, NULL);
      g_assert_true (g_file_set_contents (path, "not a module\n", -1, NULL));
    }
  return g_steal_pointer (&dir);
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
test_dirs (Fixture *f, gconstpointer data)
{
  g_autofree char *first = make_dir ((const char *[]) { "good", "abi-mismatch", NULL }, "README.txt");
  g_autofree char *second = make_dir ((const char *[]) { "good", "no-register", NULL }, "notes.so.txt");
  const char *dirs[] = { first, "/nonexistent/chatd-plugins", second, NULL };
  g_autoptr(GError) error = NULL;

  g_test_expect_message ("chatd-plugins", G_LOG_LEVEL_MESSAGE, "*test-good*ignored*comes first*");
  g_test_expect_message ("chatd-plugins", G_LOG_LEVEL_WARNING, "*ABI 42*skipped");
  g_test_expect_message ("chatd-plugins", G_LOG_LEVEL_WARNING, "*no chatd_plugin_register*skipped");
  g_assert_true (chatd_plugin_loader_load_dirs (f->loader, dirs, NULL, NULL, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  GPtrArray *plugins = chatd_plugin_loader_get_plugins (f->loader);
  g_assert_cmpuint (plugins->len, ==, 1);
  ChatdLoadedPlugin *good = plugins->pdata[0];
  g_assert_true (g_str_has_prefix (good->path, first));
  remove_dir (first);
  remove_dir (second);
}

static void
test_critical (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = make_dir ((const char *[]) { "good", "abi-mismatch", NULL }, NULL);
  const char *dirs[] = { dir, NULL };
  g_autoptr(GError) error = NULL;
  const char *critical[] = { "test-abi-mismatch", NULL };
  g_assert_false (chatd_plugin_loader_load_dirs (f->loader, dirs, critical, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_ABI);
  g_assert_nonnull (strstr (error->message, "critical plugin"));
  remove_dir (dir);
}

static void
test_critical_missing_and_disabled (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = make_dir ((const char *[]) { "good", "abi-mismatch", NULL }, NULL);
  const char *dirs[] = { dir, NULL };
  g_autoptr(GError) error = NULL;
  const char *critical[] = { "suite-nowhere", NULL };
  const char *disabled[] = { "test-abi-mismatch", NULL };
  g_test_expect_message ("chatd-plugins", G_LOG_LEVEL_MESSAGE, "*test-abi-mismatch*disabled*");
  g_assert_false (chatd_plugin_loader_load_dirs (f->loader, dirs, critical, disabled, &error));
  g_test_assert_expected_messages ();
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "suite-nowhere"));
  remove_dir (dir);
}

static void
test_search_path (void)
{
  g_setenv ("CHATD_PLUGIN_PATH", "/a:/b::/c", TRUE);
  g_auto(GStrv) path = chatd_plugin_search_path ("/d");
  g_assert_cmpuint (g_strv_length (path), ==, 5);
  g_assert_cmpstr (path[0], ==, "/a");
  g_assert_cmpstr (path[2], ==, "/c");
  g_assert_cmpstr (path[3], ==, "/d");
  g_unsetenv ("CHATD_PLUGIN_PATH");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/core/loader/good", Fixture, NULL, fixture_set_up, test_good, fixture_tear_down);
  g_test_add ("/core/loader/refused", Fixture, NULL, fixture_set_up, test_refused, fixture_tear_down);
  g_test_add ("/core/loader/duplicate-command-withdraws-plugin", Fixture, NULL, fixture_set_up,
              test_duplicate_command_withdraws_plugin, fixture_tear_down);
  g_test_add ("/core/loader/dirs", Fixture, NULL, fixture_set_up, test_dirs, fixture_tear_down);
  g_test_add ("/core/loader/critical", Fixture, NULL, fixture_set_up, test_critical, fixture_tear_down);
  g_test_add ("/core/loader/critical-missing-and-disabled", Fixture, NULL, fixture_set_up,
              test_critical_missing_and_disabled, fixture_tear_down);
  g_test_add_func ("/core/loader/search-path", test_search_path);
  return g_test_run ();
}
