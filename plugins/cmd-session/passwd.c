/* passwd.c: `passwd` on a user node: the new password comes only from
 * standard input (never a word of argv); the node re-wraps the user's key
 * with it and stores the new blob at the server. */
#include "cmd-session.h"

static void
passwd_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdSessionService *service = cmd_session_service (host, call);
  if (service == NULL)
    return;
  if (service->passwd == NULL)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED,
                                             "passwd: only a user node changes its password");
      host->call_fail (call, error);
      return;
    }
  const char *password = NULL;
  g_variant_lookup (args, "password", "&s", &password);
  service->passwd (host, call, password);
}

static char *
passwd_render (GVariant *value)
{
  return g_strdup ("password changed (the old one no longer logs in)");
}

static const ChatdArgument passwd_arguments[] = {
  { "password", CHATD_TYPE_STRING, "the new password (read from standard input only)",
    CHATD_ARG_REQUIRED | CHATD_ARG_STDIN_ONLY },
  { NULL }
};

const ChatdCommand chatd_cmd_passwd = {
  .name = "passwd",
  .summary = "Change the password: re-wrap the key here with a new one read from standard input",
  .roles = CHATD_ROLE_USER,
  .arguments = passwd_arguments,
  .run = passwd_run,
  .render = passwd_render,
};
