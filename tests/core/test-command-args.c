/* test-command-args.c: the daemon's own check of a request's arguments (a
 * client other than chatctl may send anything). */
#include "command-description.h"

static void
noop_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
}

static const ChatdOption options[] = {
  { "since", CHATD_TYPE_STRING, "ID", "after ID" },
  { "count", CHATD_TYPE_INT, "N", "how many" },
  { "follow", CHATD_TYPE_BOOL, NULL, "keep going" },
  { NULL } };
static const ChatdArgument arguments[] = {
  { "user", CHATD_TYPE_STRING, "who", 0 },
  { "message", CHATD_TYPE_STRING, "what", CHATD_ARG_OPTIONAL | CHATD_ARG_REST | CHATD_ARG_STDIN },
  { NULL } };
static const ChatdCommand command = {
  .name = "send", .summary = "s", .roles = CHATD_ROLE_USER, .options = options,
  .arguments = arguments, .flags = CHATD_COMMAND_STREAMING, .stream_option = "follow", .run = noop_run,
};

static void
check (const char *text, gboolean ok, gint code)
{
  g_autoptr(GVariant) args = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, NULL));
  g_assert_nonnull (args);
  g_autoptr(GError) error = NULL;
  g_assert_cmpint (chatd_command_check_args (&command, args, &error), ==, ok);
  if (!ok)
    {
      g_assert_error (error, CHATD_ERROR, code);
      g_test_message ("%s -> %s", text, error->message);
    }
}

static void
test_check_args (void)
{
  g_assert_true (chatd_command_description_validate (&command, NULL));
  check ("{'user': <'Bob'>}", TRUE, 0);
  check ("{'user': <'Bob'>, 'message': <'hi'>, 'count': <int64 3>, 'follow': <true>}", TRUE, 0);
  check ("@a{sv} {}", FALSE, CHATD_ERROR_INVALID_ARGUMENT);                         /* missing USER */
  check ("{'user': <'Bob'>, 'nope': <1>}", FALSE, CHATD_ERROR_INVALID_ARGUMENT);    /* unknown */
  check ("{'user': <'Bob'>, 'count': <'3'>}", FALSE, CHATD_ERROR_INVALID_ARGUMENT); /* wrong type */
  check ("{'user': <int32 7>}", FALSE, CHATD_ERROR_INVALID_ARGUMENT);
  check ("{'user': <'Bob'>, 'follow': <'yes'>}", FALSE, CHATD_ERROR_INVALID_ARGUMENT);
}

static void
test_usage_and_description (void)
{
  g_autofree char *usage = chatd_command_usage (&command);
  g_assert_cmpstr (usage, ==, "send [--since ID] [--count N] [--follow] USER [MESSAGE...]");
  g_autoptr(GVariant) d = g_variant_ref_sink (chatd_command_description_new (&command, "cmd-test"));
  const char *plugin = NULL, *stream_option = NULL;
  gboolean streaming = FALSE;
  g_assert_true (g_variant_lookup (d, "plugin", "&s", &plugin));
  g_assert_cmpstr (plugin, ==, "cmd-test");
  g_assert_true (g_variant_lookup (d, "streaming", "b", &streaming));
  g_assert_true (streaming);
  g_assert_true (g_variant_lookup (d, "stream-option", "&s", &stream_option));
  g_assert_cmpstr (stream_option, ==, "follow");
  g_autoptr(GVariant) args = g_variant_lookup_value (d, "arguments", G_VARIANT_TYPE ("aa{sv}"));
  g_assert_cmpuint (g_variant_n_children (args), ==, 2);
}

/* CHATD_ARG_STDIN_ONLY: a string; when optional, gated by NAME-stdin */
static void
test_stdin_only (void)
{
  static const ChatdOption gate[] = {
    { "password-stdin", CHATD_TYPE_BOOL, NULL, "read the password" }, { NULL } };
  static const ChatdOption wrong_gate[] = {
    { "password-stdin", CHATD_TYPE_STRING, "X", "not a flag" }, { NULL } };
  static const ChatdArgument secret[] = {
    { "name", CHATD_TYPE_STRING, "who", 0 },
    { "password", CHATD_TYPE_STRING, "pw", CHATD_ARG_OPTIONAL | CHATD_ARG_STDIN_ONLY }, { NULL } };
  static const ChatdArgument secret_int[] = {
    { "password", CHATD_TYPE_INT, "pw", CHATD_ARG_STDIN_ONLY }, { NULL } };
  static const ChatdArgument secret_rest[] = {
    { "password", CHATD_TYPE_STRING, "pw", CHATD_ARG_STDIN_ONLY | CHATD_ARG_REST }, { NULL } };
  static const ChatdArgument secret_required[] = {
    { "password", CHATD_TYPE_STRING, "pw", CHATD_ARG_STDIN_ONLY }, { NULL } };
  const struct { const ChatdOption *options; const ChatdArgument *arguments; gboolean ok; } cases[] = {
    { gate, secret, TRUE },
    { NULL, secret, FALSE },          /* optional without its gate */
    { wrong_gate, secret, FALSE },    /* the gate must be a flag */
    { NULL, secret_int, FALSE },
    { NULL, secret_rest, FALSE },
    { NULL, secret_required, TRUE },  /* required: always read, no gate needed */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ChatdCommand c = { .name = "useradd", .summary = "s", .roles = CHATD_ROLE_SERVER,
                         .options = cases[i].options, .arguments = cases[i].arguments, .run = noop_run };
      g_autoptr(GError) error = NULL;
      g_assert_cmpint (chatd_command_description_validate (&c, &error), ==, cases[i].ok);
      if (!cases[i].ok)
        g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
    }
  ChatdCommand c = { .name = "useradd", .summary = "s", .roles = CHATD_ROLE_SERVER,
                     .options = gate, .arguments = secret, .run = noop_run };
  /* never shown as a word of the command line */
  g_autofree char *usage = chatd_command_usage (&c);
  g_assert_cmpstr (usage, ==, "useradd [--password-stdin] NAME");
  g_autoptr(GVariant) description = g_variant_ref_sink (chatd_command_description_new (&c, "p"));
  g_autoptr(GVariant) described = g_variant_lookup_value (description, "arguments", G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(GVariant) password = g_variant_get_child_value (described, 1);
  gboolean stdin_only = FALSE;
  g_assert_true (g_variant_lookup (password, "stdin-only", "b", &stdin_only));
  g_assert_true (stdin_only);

  /* the daemon accepts the secret only together with its flag */
  const struct { const char *args; gboolean ok; } requests[] = {
    { "{'name': <'Frank'>}", TRUE },
    { "{'name': <'Frank'>, 'password-stdin': <true>, 'password': <'pw'>}", TRUE },
    { "{'name': <'Frank'>, 'password': <'pw'>}", FALSE },
    { "{'name': <'Frank'>, 'password-stdin': <false>, 'password': <'pw'>}", FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_autoptr(GVariant) args = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE_VARDICT,
                                                                      requests[i].args, NULL, NULL, NULL));
      g_autoptr(GError) error = NULL;
      g_assert_cmpint (chatd_command_check_args (&c, args, &error), ==, requests[i].ok);
      if (!requests[i].ok)
        g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/command/check-args", test_check_args);
  g_test_add_func ("/core/command/stdin-only", test_stdin_only);
  g_test_add_func ("/core/command/usage-and-description", test_usage_and_description);
  return g_test_run ();
}
