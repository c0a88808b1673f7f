/* test-argv-parse.c: chatctl's argv against a command's description: wrong
 * count, wrong type, unknown option, stdin on '-', rest of line, '--'. */
#include "argv-parse.h"
#include "command-description.h"

#include <string.h>

/* the description the daemon would send for:
 *   send [--since ID] [--count N] [--follow] USER [MESSAGE...]   (MESSAGE: rest, stdin) */
static GVariant *
send_description (void)
{
  return g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE_VARDICT,
    "{'usage': <'send [--since ID] [--count N] [--follow] USER [MESSAGE...]'>,"
    " 'streaming': <true>, 'stream-option': <'follow'>,"
    " 'options': <[{'name': <'since'>, 'type': <'s'>, 'metavar': <'ID'>, 'help': <'h'>},"
    "              {'name': <'count'>, 'type': <'x'>, 'metavar': <'N'>, 'help': <'h'>},"
    "              {'name': <'follow'>, 'type': <'b'>, 'metavar': <''>, 'help': <'h'>}]>,"
    " 'arguments': <[{'name': <'user'>, 'type': <'s'>, 'help': <'h'>, 'optional': <false>, 'rest': <false>, 'stdin': <false>},"
    "                {'name': <'message'>, 'type': <'s'>, 'help': <'h'>, 'optional': <true>, 'rest': <true>, 'stdin': <true>}]>}",
    NULL, NULL, NULL));
}

static GVariant *
parse (const char *line, const char *stdin_text, GError **error)
{
  g_autoptr(GVariant) description = send_description ();
  g_auto(GStrv) argv = line[0] ? g_strsplit (line, " ", -1) : g_new0 (char *, 1);
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_data (g_strdup (stdin_text ? stdin_text : ""), -1, g_free);
  GVariant *args = chatctl_parse_args ("send", description, g_strv_length (argv), argv, in, error);
  return args ? g_variant_ref_sink (args) : NULL;
}

static const char *
lookup_string (GVariant *args, const char *key)
{
  const char *value = NULL;
  g_variant_lookup (args, key, "&s", &value);
  return value;
}

static void
test_ok (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) args = parse ("--count 3 Bob hello there --since=41", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lookup_string (args, "user"), ==, "Bob");
  g_assert_cmpstr (lookup_string (args, "message"), ==, "hello there");
  g_assert_cmpstr (lookup_string (args, "since"), ==, "41");
  gint64 count = 0;
  g_assert_true (g_variant_lookup (args, "count", "x", &count));
  g_assert_cmpint (count, ==, 3);
  g_autoptr(GVariant) description = send_description ();
  g_assert_false (chatctl_request_streams (description, args));
}

static void
test_flag_and_streaming (void)
{
  g_autoptr(GVariant) args = parse ("Bob --follow hi", NULL, NULL);
  g_assert_nonnull (args);
  g_autoptr(GVariant) description = send_description ();
  g_assert_true (chatctl_request_streams (description, args));
}

static void
test_double_dash (void)
{
  g_autoptr(GVariant) args = parse ("Bob -- --count is text", NULL, NULL);
  g_assert_nonnull (args);
  g_assert_cmpstr (lookup_string (args, "message"), ==, "--count is text");
  g_assert_false (g_variant_lookup (args, "count", "x", NULL));
}

static void
test_stdin (void)
{
  g_autoptr(GVariant) dash = parse ("Bob -", "line one\nline two\n", NULL);
  g_assert_cmpstr (lookup_string (dash, "message"), ==, "line one\nline two");
  g_autoptr(GVariant) absent = parse ("Bob", "from stdin", NULL);
  g_assert_cmpstr (lookup_string (absent, "message"), ==, "from stdin");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) bad = parse ("Bob -", "caf\xe9\n", &error);
  g_assert_null (bad);
  g_assert_error (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_INPUT);
}

static void
test_usage_errors (void)
{
  const char *cases[] = {
    "",                       /* wrong count: USER missing */
    "--count",                /* missing value */
    "--count three Bob",      /* wrong type */
    "--count 99999999999999999999 Bob",  /* out of range */
    "--colour red Bob",       /* unknown option */
    "--follow=yes Bob",       /* a flag takes no value */
    "--since 1 --since 2 Bob",/* twice */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) args = parse (cases[i], NULL, &error);
      g_assert_null (args);
      g_assert_error (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_USAGE);
      g_assert_nonnull (strstr (error->message, "usage: chatctl send"));
      g_test_message ("'%s' -> %s", cases[i], error->message);
    }
}

static void
test_too_many (void)
{
  /* a command whose last argument does not take the rest */
  g_autoptr(GVariant) description = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE_VARDICT,
    "{'usage': <'verify USER'>, 'arguments': <[{'name': <'user'>, 'type': <'s'>, 'help': <'h'>}]>}",
    NULL, NULL, NULL));
  char *argv[] = { (char *) "Bob", (char *) "Alice", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = g_memory_input_stream_new ();
  GVariant *args = chatctl_parse_args ("verify", description, 2, argv, in, &error);
  g_assert_null (args);
  g_assert_error (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_USAGE);
  g_assert_nonnull (strstr (error->message, "unexpected argument 'Alice'"));
}

/* the description as the daemon really builds it, not written by hand */
static void
noop_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
}

static void
test_daemon_description (void)
{
  static const ChatdOption options[] = { { "since", CHATD_TYPE_STRING, "ID", "after" },
                                         { "follow", CHATD_TYPE_BOOL, NULL, "stream" }, { NULL } };
  static const ChatdArgument arguments[] = {
    { "user", CHATD_TYPE_STRING, "who", 0 },
    { "count", CHATD_TYPE_INT, "how many", CHATD_ARG_OPTIONAL }, { NULL } };
  static const ChatdCommand command = {
    .name = "recv", .summary = "s", .roles = CHATD_ROLE_USER, .options = options,
    .arguments = arguments, .flags = CHATD_COMMAND_STREAMING, .stream_option = "follow", .run = noop_run };
  g_autoptr(GVariant) description = g_variant_ref_sink (chatd_command_description_new (&command, "p"));
  char *argv[] = { (char *) "--follow", (char *) "Bob", (char *) "7", NULL };
  g_autoptr(GInputStream) in = g_memory_input_stream_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) args = chatctl_parse_args ("recv", description, 3, argv, in, &error);
  g_assert_no_error (error);
  g_variant_ref_sink (args);
  g_assert_true (chatd_command_check_args (&command, args, &error));
  g_assert_no_error (error);
  g_assert_true (chatctl_request_streams (description, args));
  gint64 count = 0;
  g_assert_true (g_variant_lookup (args, "count", "x", &count));
  g_assert_cmpint (count, ==, 7);
}

/* useradd [--password-stdin] NAME, with PASSWORD stdin-only (optional,
 * gated by --password-stdin); login NAME with a required stdin-only SECRET */
static GVariant *
parse_secret (const char *command, const char *line, const char *stdin_text, GError **error)
{
  gboolean useradd = g_str_equal (command, "useradd");
  g_autofree char *text = g_strdup_printf (
    "{'usage': <'%s'>,"
    " 'options': <[{'name': <'password-stdin'>, 'type': <'b'>, 'metavar': <''>, 'help': <'h'>}]>,"
    " 'arguments': <[{'name': <'name'>, 'type': <'s'>, 'help': <'h'>, 'optional': <false>, 'rest': <false>, 'stdin': <false>},"
    "                {'name': <'password'>, 'type': <'s'>, 'help': <'h'>, 'optional': <%s>, 'rest': <false>,"
    "                 'stdin': <false>, 'stdin-only': <true>}]>}",
    command, useradd ? "true" : "false");
  g_autoptr(GVariant) description = g_variant_ref_sink (g_variant_parse (G_VARIANT_TYPE_VARDICT, text,
                                                                          NULL, NULL, NULL));
  g_assert_nonnull (description);
  g_auto(GStrv) argv = line[0] ? g_strsplit (line, " ", -1) : g_new0 (char *, 1);
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_data (g_strdup (stdin_text), -1, g_free);
  GVariant *args = chatctl_parse_args (command, description, g_strv_length (argv), argv, in, error);
  return args ? g_variant_ref_sink (args) : NULL;
}

static void
test_stdin_only (void)
{
  g_autoptr(GError) error = NULL;
  /* without the gate, stdin is not read */
  g_autoptr(GVariant) token = parse_secret ("useradd", "Dave", "unused", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lookup_string (token, "name"), ==, "Dave");
  g_assert_null (lookup_string (token, "password"));
  /* with it, the password comes from stdin (one trailing newline removed) */
  g_autoptr(GVariant) with = parse_secret ("useradd", "--password-stdin Frank", "s3cret pw\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lookup_string (with, "name"), ==, "Frank");
  g_assert_cmpstr (lookup_string (with, "password"), ==, "s3cret pw");
  /* never from argv: an extra word is an error, '-' is not special */
  const char *refused[] = { "Dave secret", "--password-stdin Dave secret", "--password-stdin Dave -",
                            "--password=x Dave" };
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(GVariant) args = parse_secret ("useradd", refused[i], "from stdin", &error);
      g_assert_null (args);
      g_assert_error (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_USAGE);
      g_clear_error (&error);
    }
  /* required: always read */
  g_autoptr(GVariant) login = parse_secret ("login", "Alice", "pw", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (lookup_string (login, "password"), ==, "pw");
  /* not UTF-8 on stdin: an input error */
  g_autoptr(GVariant) bad = parse_secret ("login", "Alice", "\xff\xfe", &error);
  g_assert_null (bad);
  g_assert_error (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_INPUT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ctl/argv/ok", test_ok);
  g_test_add_func ("/ctl/argv/stdin-only", test_stdin_only);
  g_test_add_func ("/ctl/argv/flag-and-streaming", test_flag_and_streaming);
  g_test_add_func ("/ctl/argv/double-dash", test_double_dash);
  g_test_add_func ("/ctl/argv/stdin", test_stdin);
  g_test_add_func ("/ctl/argv/usage-errors", test_usage_errors);
  g_test_add_func ("/ctl/argv/too-many", test_too_many);
  g_test_add_func ("/ctl/argv/daemon-description", test_daemon_description);
  return g_test_run ();
}
