/* main.c: chatctl, the generic client of a chatd node's control socket.
 * It has no per-command code: every command describes itself (ListCommands)
 * and chatctl builds the request from argv by that description. */
#include "argv-parse.h"
#include "chatd-config.h"
#include "output.h"
#include "socket-find.h"

#include <gio/gunixinputstream.h>
#include <glib-unix.h>
#include <locale.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTROL_PATH      "/org/chatd/Control"
#define CONTROL_INTERFACE "org.chatd.Control1"
#define LIST_TIMEOUT_MS   30000

enum {
  EXIT_OK = 0,
  EXIT_USAGE = 1,
  EXIT_UNREACHABLE = 2,
  EXIT_FAILED = 3,
};

static const char usage_text[] =
  "usage: chatctl [--socket PATH | --node NAME] [--json] COMMAND [ARGS...]\n"
  "       chatctl help [COMMAND]       list the node's commands, or show one\n"
  "       chatctl COMMAND --help       the same as help COMMAND\n"
  "\n"
  "Talks to the local chatd node over its control socket.  The node is found by\n"
  "--socket, --node, $CHATD_SOCKET, $CHATD_NODE, or, when exactly one of your\n"
  "nodes is running, that one.\n"
  "\n"
  "  --socket PATH   the node's control socket\n"
  "  --node NAME     the node of user NAME (or 'server')\n"
  "  --json          print the result as JSON (streaming commands: one object per line);\n"
  "                  also accepted after the command, before any --\n"
  "  --version       print the version\n"
  "\n"
  "Exit status: 0 ok, 1 usage error, 2 node not reachable, 3 the command failed.\n";

typedef struct {
  const char *socket_path;
  const char *node;
  gboolean    json;
  const char *command;
  int         argc;       /* words after the command */
  char      **argv;
} Invocation;

typedef struct {
  GMainLoop *loop;
  gboolean   json;
  gboolean   streaming;
  const char *command;
  int        status;
} RunState;

static int
fail (int status, const char *format, ...) G_GNUC_PRINTF (2, 3);

static int
fail (int status, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "chatctl: %s\n", message);
  return status;
}

/* Global options come before the command; everything after it is the
 * command's, except --json (see below). */
static gboolean
parse_global_options (int argc, char **argv, Invocation *inv, int *ret_exit)
{
  int i = 1;
  for (; i < argc; i++)
    {
      const char *word = argv[i];
      const char **target = NULL;
      if (g_str_equal (word, "--json"))
        inv->json = TRUE;
      else if (g_str_equal (word, "--help") || g_str_equal (word, "-h"))
        {
          fputs (usage_text, stdout);
          *ret_exit = EXIT_OK;
          return FALSE;
        }
      else if (g_str_equal (word, "--version"))
        {
          printf ("chatctl %s\n", CHATD_VERSION);
          *ret_exit = EXIT_OK;
          return FALSE;
        }
      else if (g_str_has_prefix (word, "--socket"))
        target = &inv->socket_path;
      else if (g_str_has_prefix (word, "--node"))
        target = &inv->node;
      else if (word[0] == '-')
        {
          *ret_exit = fail (EXIT_USAGE, "unknown option %s (see chatctl --help)", word);
          return FALSE;
        }
      else
        break;
      if (target != NULL)
        {
          const char *eq = strchr (word, '=');
          const char *name = target == &inv->socket_path ? "--socket" : "--node";
          if (eq != NULL && (size_t) (eq - word) == strlen (name))
            *target = eq + 1;
          else if (g_str_equal (word, name) && i + 1 < argc)
            *target = argv[++i];
          else
            {
              *ret_exit = fail (EXIT_USAGE, "%s needs a value (see chatctl --help)", name);
              return FALSE;
            }
          if ((*target)[0] == '\0')
            {
              *ret_exit = fail (EXIT_USAGE, "%s needs a non-empty value", name);
              return FALSE;
            }
        }
    }
  if (inv->socket_path != NULL && inv->node != NULL)
    {
      *ret_exit = fail (EXIT_USAGE, "give --socket or --node, not both");
      return FALSE;
    }
  if (i >= argc)
    {
      fputs (usage_text, stderr);
      *ret_exit = EXIT_USAGE;
      return FALSE;
    }
  inv->command = argv[i];
  inv->argv = argv + i + 1;
  inv->argc = 0;
  /* --json may also follow the command (`chatctl recv --follow --json`), like
   * the command's own options: anywhere before a `--` */
  gboolean options_done = FALSE;
  for (int j = i + 1; j < argc; j++)
    {
      options_done |= g_str_equal (argv[j], "--");
      if (!options_done && g_str_equal (argv[j], "--json"))
        inv->json = TRUE;
      else
        inv->argv[inv->argc++] = argv[j];
    }
  return TRUE;
}

static GVariant *
find_description (GVariant *commands, const char *name)
{
  GVariantIter iter;
  const char *command_name, *summary;
  GVariant *description;
  g_variant_iter_init (&iter, commands);
  while (g_variant_iter_next (&iter, "(&s&s@a{sv})", &command_name, &summary, &description))
    {
      if (g_str_equal (command_name, name))
        return description;
      g_variant_unref (description);
    }
  return NULL;
}

static void
print_value (GVariant *value, const char *text, gboolean json, gboolean one_line)
{
  if (json)
    {
      g_autofree char *doc = chatctl_json_from_variant (value, !one_line);
      printf ("%s\n", doc);
    }
  else if (text != NULL && text[0] != '\0')
    printf ("%s\n", text);
}

/* Items (a(a{sv}s)): the items a streaming command emitted in one go */
static void
on_items (GDBusConnection *connection, const char *sender, const char *path,
          const char *interface, const char *signal, GVariant *parameters, gpointer user_data)
{
  RunState *state = user_data;
  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a(a{sv}s))")))
    return;
  g_autoptr(GVariant) items = g_variant_get_child_value (parameters, 0);
  GVariantIter iter;
  GVariant *item;
  const char *text;
  g_variant_iter_init (&iter, items);
  while (g_variant_iter_next (&iter, "(@a{sv}&s)", &item, &text))
    {
      print_value (item, text, state->json, TRUE);
      g_variant_unref (item);
    }
  fflush (stdout);   /* once per batch: a follower sees each batch at once */
}

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RunState *state = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      gboolean remote = g_dbus_error_is_remote_error (error);
      g_dbus_error_strip_remote_error (error);
      if (remote || g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD))
        state->status = fail (EXIT_FAILED, "%s: %s", state->command, error->message);
      else
        state->status = fail (EXIT_UNREACHABLE, "%s: lost the node: %s", state->command, error->message);
    }
  else
    {
      g_autoptr(GVariant) value = NULL;
      const char *text;
      g_variant_get (reply, "(v&s)", &value, &text);
      if (!state->streaming)
        {
          print_value (value, text, state->json, FALSE);
          fflush (stdout);
        }
      state->status = EXIT_OK;
    }
  g_main_loop_quit (state->loop);
}

static gboolean
on_interrupt (gpointer user_data)
{
  RunState *state = user_data;
  state->status = EXIT_OK;   /* the user ended a stream */
  g_main_loop_quit (state->loop);
  return G_SOURCE_REMOVE;
}

static int
run_command (GDBusConnection *connection, const Invocation *inv, GVariant *description)
{
  g_autoptr(GError) error = NULL;
  const char *name = inv->command;
  g_autoptr(GVariant) args = NULL;

  if (description != NULL)
    {
      /* COMMAND --help is help COMMAND */
      for (int i = 0; i < inv->argc; i++)
        if (g_str_equal (inv->argv[i], "--"))
          break;
        else if (g_str_equal (inv->argv[i], "--help"))
          {
            g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
            g_variant_builder_add (&b, "{sv}", "command", g_variant_new_string (inv->command));
            args = g_variant_ref_sink (g_variant_builder_end (&b));
            name = "help";
            description = NULL;
            break;
          }
    }
  if (args == NULL && description != NULL)
    {
      g_autoptr(GInputStream) in = g_unix_input_stream_new (0, FALSE);
      args = chatctl_parse_args (inv->command, description, inv->argc, inv->argv, in, &error);
      if (args == NULL)
        return fail (g_error_matches (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_USAGE)
                     ? EXIT_USAGE : EXIT_FAILED, "%s", error->message);
      g_variant_ref_sink (args);
    }
  if (args == NULL)   /* unknown here: the node says what is wrong */
    args = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0));

  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  RunState state = {
    .loop = loop, .json = inv->json, .command = name, .status = EXIT_FAILED,
    .streaming = description != NULL && chatctl_request_streams (description, args),
  };
  guint item_subscription = 0;
  if (state.streaming)
    {
      item_subscription = g_dbus_connection_signal_subscribe (connection, NULL, CONTROL_INTERFACE,
                                                              "Items", CONTROL_PATH, NULL,
                                                              G_DBUS_SIGNAL_FLAGS_NONE,
                                                              on_items, &state, NULL);
      g_unix_signal_add (SIGINT, on_interrupt, &state);
      g_unix_signal_add (SIGTERM, on_interrupt, &state);
    }
  /* a command may wait on the network for long: no D-Bus timeout */
  g_dbus_connection_call (connection, NULL, CONTROL_PATH, CONTROL_INTERFACE, "Run",
                          g_variant_new ("(s@a{sv})", name, args), G_VARIANT_TYPE ("(vs)"),
                          G_DBUS_CALL_FLAGS_NONE, G_MAXINT, NULL, on_run_done, &state);
  g_main_loop_run (loop);
  if (item_subscription != 0)
    g_dbus_connection_signal_unsubscribe (connection, item_subscription);
  return state.status;
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  Invocation inv = { 0 };
  int status = EXIT_OK;
  if (!parse_global_options (argc, argv, &inv, &status))
    return status;

  g_autoptr(GError) error = NULL;
  g_autofree char *socket_path = chatctl_find_socket (inv.socket_path, inv.node, &error);
  if (socket_path == NULL)
    return fail (g_error_matches (error, CHATCTL_FIND_ERROR, CHATCTL_FIND_AMBIGUOUS)
                 ? EXIT_USAGE : EXIT_UNREACHABLE, "%s", error->message);
  /* tell "nothing there" from "not yours": the socket's directory is 0700
   * and the node admits only its own user (DESIGN section 5) */
  struct stat socket_stat;
  if (stat (socket_path, &socket_stat) != 0)
    {
      int saved = errno;
      if (saved == EACCES)
        return fail (EXIT_UNREACHABLE, "cannot reach the node at %s: permission denied "
                     "(the socket belongs to another user)", socket_path);
      return fail (EXIT_UNREACHABLE, "no node is running at %s", socket_path);
    }

  g_autofree char *escaped = g_dbus_address_escape_value (socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);
  g_autoptr(GDBusConnection) connection =
    g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                            NULL, NULL, &error);
  if (connection == NULL && socket_stat.st_uid != geteuid ())
    return fail (EXIT_UNREACHABLE, "cannot reach the node at %s: refused: the node belongs to "
                 "another user (uid %u) and admits only its own", socket_path, (unsigned) socket_stat.st_uid);
  if (connection == NULL)
    return fail (EXIT_UNREACHABLE, "cannot reach the node at %s: %s", socket_path, error->message);
  g_dbus_connection_set_exit_on_close (connection, FALSE);

  g_autoptr(GVariant) listing = g_dbus_connection_call_sync (connection, NULL, CONTROL_PATH,
                                                             CONTROL_INTERFACE, "ListCommands", NULL,
                                                             G_VARIANT_TYPE ("(a(ssa{sv}))"),
                                                             G_DBUS_CALL_FLAGS_NONE, LIST_TIMEOUT_MS,
                                                             NULL, &error);
  if (listing == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      return fail (EXIT_UNREACHABLE, "the node at %s does not answer: %s", socket_path, error->message);
    }
  g_autoptr(GVariant) commands = g_variant_get_child_value (listing, 0);
  g_autoptr(GVariant) description = find_description (commands, inv.command);
  return run_command (connection, &inv, description);
}
