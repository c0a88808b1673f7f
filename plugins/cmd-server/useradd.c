/* useradd.c: `useradd [--password-stdin] NAME`: a one-time enrolment token
 * for a user who makes their keys on their own node; with --password-stdin
 * the server makes the keys (as the origin's seeding did), wrapped with the
 * password that chatctl reads from standard input, never from argv. */
#include "cmd-server.h"

#include <string.h>

static void
useradd_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree CmdServerPending *pending = user_data;
  GError *error = NULL;
  GVariant *user = pending->directory->add_user_with_password_finish (pending->host, result, &error);
  cmd_server_finish (pending->host, pending->call, user, error);
}

static void
useradd_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdDirectoryService *directory = cmd_server_directory (host, call);
  const char *name = NULL, *password = NULL;
  gboolean password_stdin = FALSE;
  if (directory == NULL)
    return;
  g_variant_lookup (args, "name", "&s", &name);
  g_variant_lookup (args, "password", "&s", &password);
  g_variant_lookup (args, "password-stdin", "b", &password_stdin);

  GError *error = NULL;
  if (password_stdin != (password != NULL))
    {
      error = g_error_new (CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                           password_stdin ? "useradd: --password-stdin needs the password on standard input"
                                          : "useradd: a password is only taken with --password-stdin");
      cmd_server_finish (host, call, NULL, error);
      return;
    }
  if (password_stdin)
    {
      directory->add_user_with_password (host, name, (const guint8 *) password, strlen (password),
                                         useradd_done, cmd_server_pending_new (host, call, directory));
      return;
    }
  GVariant *enrolment = directory->add_enrolment (host, name, &error);
  cmd_server_finish (host, call, enrolment, error);
}

static char *
useradd_render (GVariant *result)
{
  const char *name = "", *token = NULL, *expires = "", *suite = "", *fingerprint = "";
  g_variant_lookup (result, "name", "&s", &name);
  if (g_variant_lookup (result, "token", "&s", &token))
    {
      g_variant_lookup (result, "expires", "&s", &expires);
      return g_strdup_printf ("%s: enrolment token %s (valid once, until %s): "
                              "chatd --user %s --connect HOST:PORT --enroll %s",
                              name, token, expires, name, token);
    }
  g_variant_lookup (result, "suite", "&s", &suite);
  g_variant_lookup (result, "fingerprint", "&s", &fingerprint);
  return g_strdup_printf ("%s: added with keys made by the server, suite %s, fingerprint %s",
                          name, suite, fingerprint);
}

static const ChatdOption useradd_options[] = {
  { "password-stdin", CHATD_TYPE_BOOL, NULL,
    "make the keys on the server, wrapped with a password read from standard input" },
  { NULL }
};

static const ChatdArgument useradd_arguments[] = {
  { "name", CHATD_TYPE_STRING, "the new user's name", CHATD_ARG_REQUIRED },
  { "password", CHATD_TYPE_STRING, "with --password-stdin: the password",
    CHATD_ARG_OPTIONAL | CHATD_ARG_STDIN_ONLY },
  { NULL }
};

const ChatdCommand chatd_cmd_useradd = {
  .name = "useradd",
  .summary = "Add a user: print a one-time enrolment token, or make the keys here (--password-stdin)",
  .roles = CHATD_ROLE_SERVER,
  .options = useradd_options,
  .arguments = useradd_arguments,
  .run = useradd_run,
  .render = useradd_render,
};
