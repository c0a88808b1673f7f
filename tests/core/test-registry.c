/* test-registry.c: commands and suites by name; duplicates and bad
 * descriptors refused; a plugin's entries withdrawn together. */
#include "registry.h"

static void
noop_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
}

static const ChatdCommand cmd_a = { .name = "alpha", .summary = "a", .roles = CHATD_ROLE_ANY, .run = noop_run };
static const ChatdCommand cmd_a_again = { .name = "alpha", .summary = "a2", .roles = CHATD_ROLE_USER, .run = noop_run };
static const ChatdCommand cmd_b = { .name = "beta", .summary = "b", .roles = CHATD_ROLE_SERVER, .run = noop_run };

static void
test_duplicates_refused (void)
{
  g_autoptr(ChatdRegistry) registry = chatd_registry_new (NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_registry_add_command (registry, &cmd_a, "p1", &error));
  g_assert_no_error (error);
  g_assert_false (chatd_registry_add_command (registry, &cmd_a_again, "p2", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE);
  g_assert_nonnull (strstr (error->message, "p1"));
  const char *owner = NULL;
  g_assert_true (chatd_registry_lookup_command (registry, "alpha", CHATD_ROLE_ANY, &owner) == &cmd_a);
  g_assert_cmpstr (owner, ==, "p1");
}

static void
test_one_command_per_role (void)
{
  static const ChatdCommand list_server = { .name = "list", .summary = "s", .roles = CHATD_ROLE_SERVER, .run = noop_run };
  static const ChatdCommand list_user = { .name = "list", .summary = "u", .roles = CHATD_ROLE_USER, .run = noop_run };
  static const ChatdCommand list_any = { .name = "list", .summary = "a", .roles = CHATD_ROLE_ANY, .run = noop_run };
  g_autoptr(ChatdRegistry) registry = chatd_registry_new (NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true (chatd_registry_add_command (registry, &list_server, "srv", &error));
  g_assert_true (chatd_registry_add_command (registry, &list_user, "usr", &error));
  g_assert_false (chatd_registry_add_command (registry, &list_any, "any", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE);
  const char *plugin = NULL;
  g_assert_true (chatd_registry_lookup_command (registry, "list", CHATD_ROLE_USER, &plugin) == &list_user);
  g_assert_cmpstr (plugin, ==, "usr");
  g_assert_true (chatd_registry_lookup_command (registry, "list", CHATD_ROLE_SERVER, NULL) == &list_server);
  /* the first plugin goes; the other's command stays */
  chatd_registry_remove_plugin (registry, "srv");
  g_assert_null (chatd_registry_lookup_command (registry, "list", CHATD_ROLE_SERVER, NULL));
  g_assert_true (chatd_registry_lookup_command (registry, "list", CHATD_ROLE_ANY, NULL) == &list_user);
}

static void
test_sorted_and_removed_by_plugin (void)
{
  g_autoptr(ChatdRegistry) registry = chatd_registry_new (NULL);
  g_assert_true (chatd_registry_add_command (registry, &cmd_b, "p2", NULL));
  g_assert_true (chatd_registry_add_command (registry, &cmd_a, "p1", NULL));
  g_autoptr(GPtrArray) list = chatd_registry_list_commands (registry);
  g_assert_cmpuint (list->len, ==, 2);
  g_assert_cmpstr (((const ChatdCommand *) list->pdata[0])->name, ==, "alpha");
  g_assert_cmpstr (((const ChatdCommand *) list->pdata[1])->name, ==, "beta");
  g_auto(GStrv) provides = chatd_registry_plugin_provides (registry, "p2");
  g_assert_cmpstrv (provides, ((const char *[]) { "command beta", NULL }));

  chatd_registry_remove_plugin (registry, "p2");
  g_assert_null (chatd_registry_lookup_command (registry, "beta", CHATD_ROLE_ANY, NULL));
  g_assert_nonnull (chatd_registry_lookup_command (registry, "alpha", CHATD_ROLE_ANY, NULL));
}

static void
test_bad_descriptors_refused (void)
{
  static const ChatdOption bool_stream[] = { { "follow", CHATD_TYPE_BOOL, NULL, "stream" }, { NULL } };
  static const ChatdOption bad_type[] = { { "count", "d", "N", "a double" }, { NULL } };
  static const ChatdArgument rest_first[] = {
    { "words", CHATD_TYPE_STRING, "words", CHATD_ARG_REST },
    { "user", CHATD_TYPE_STRING, "user", 0 }, { NULL } };
  static const ChatdArgument required_after_optional[] = {
    { "a", CHATD_TYPE_STRING, "a", CHATD_ARG_OPTIONAL },
    { "b", CHATD_TYPE_STRING, "b", 0 }, { NULL } };
  static const ChatdArgument stdin_int[] = { { "n", CHATD_TYPE_INT, "n", CHATD_ARG_STDIN }, { NULL } };
  static const ChatdArgument clash[] = { { "follow", CHATD_TYPE_STRING, "clash", 0 }, { NULL } };
  const ChatdCommand bad[] = {
    { .name = "Upper", .summary = "s", .roles = CHATD_ROLE_ANY, .run = noop_run },
    { .name = "no-run", .summary = "s", .roles = CHATD_ROLE_ANY },
    { .name = "no-role", .summary = "s", .run = noop_run },
    { .name = "bad-type", .summary = "s", .roles = CHATD_ROLE_ANY, .options = bad_type, .run = noop_run },
    { .name = "rest-first", .summary = "s", .roles = CHATD_ROLE_ANY, .arguments = rest_first, .run = noop_run },
    { .name = "req-after-opt", .summary = "s", .roles = CHATD_ROLE_ANY, .arguments = required_after_optional, .run = noop_run },
    { .name = "stdin-int", .summary = "s", .roles = CHATD_ROLE_ANY, .arguments = stdin_int, .run = noop_run },
    { .name = "clash", .summary = "s", .roles = CHATD_ROLE_ANY, .options = bool_stream, .arguments = clash, .run = noop_run },
    { .name = "stream-not-flagged", .summary = "s", .roles = CHATD_ROLE_ANY, .options = bool_stream,
      .stream_option = "follow", .run = noop_run },
    { .name = "stream-missing-option", .summary = "s", .roles = CHATD_ROLE_ANY,
      .flags = CHATD_COMMAND_STREAMING, .stream_option = "nope", .run = noop_run },
  };
  g_autoptr(ChatdRegistry) registry = chatd_registry_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_assert_false (chatd_registry_add_command (registry, &bad[i], "p", &error));
      g_assert_nonnull (error);
      g_test_message ("%s: %s", bad[i].name, error->message);
    }
  g_autoptr(GPtrArray) list = chatd_registry_list_commands (registry);
  g_assert_cmpuint (list->len, ==, 0);
}

/* A suite descriptor only needs its name first for the registry. */
typedef struct { const char *name; int checks_ok; } FakeSuite;

static gboolean
fake_check (const ChatdSuite *suite, GError **error)
{
  if (((const FakeSuite *) suite)->checks_ok)
    return TRUE;
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED, "known-answer vector 1 differs");
  return FALSE;
}

static void
test_suites (void)
{
  static const FakeSuite ok = { "suite-x", 1 }, again = { "suite-x", 1 }, bad = { "suite-y", 0 },
                         bad_name = { "has space", 1 };
  g_autoptr(GError) error = NULL;

  g_autoptr(ChatdRegistry) without_check = chatd_registry_new (NULL);
  g_assert_false (chatd_registry_add_suite (without_check, (const ChatdSuite *) &ok, "p", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  g_autoptr(ChatdRegistry) registry = chatd_registry_new (fake_check);
  g_assert_true (chatd_registry_add_suite (registry, (const ChatdSuite *) &ok, "p", &error));
  g_assert_no_error (error);
  g_assert_false (chatd_registry_add_suite (registry, (const ChatdSuite *) &again, "q", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE);
  g_clear_error (&error);
  g_assert_false (chatd_registry_add_suite (registry, (const ChatdSuite *) &bad, "q", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "suite-y"));
  g_clear_error (&error);
  g_assert_false (chatd_registry_add_suite (registry, (const ChatdSuite *) &bad_name, "q", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_assert_true (chatd_registry_lookup_suite (registry, "suite-x") == (const ChatdSuite *) &ok);
  g_assert_null (chatd_registry_lookup_suite (registry, "suite-y"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/registry/duplicates-refused", test_duplicates_refused);
  g_test_add_func ("/core/registry/sorted-and-removed-by-plugin", test_sorted_and_removed_by_plugin);
  g_test_add_func ("/core/registry/one-command-per-role", test_one_command_per_role);
  g_test_add_func ("/core/registry/bad-descriptors-refused", test_bad_descriptors_refused);
  g_test_add_func ("/core/registry/suites", test_suites);
  return g_test_run ();
}
