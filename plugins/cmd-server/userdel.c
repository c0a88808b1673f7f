/* userdel.c: `userdel NAME`: deletes a user or a pending enrolment. */
#include "cmd-server.h"

static void
userdel_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdDirectoryService *directory = cmd_server_directory (host, call);
  const char *name = NULL;
  if (directory == NULL)
    return;
  g_variant_lookup (args, "name", "&s", &name);
  GError *error = NULL;
  GVariant *result = directory->delete_user (host, name, &error);
  cmd_server_finish (host, call, result, error);
}

static char *
userdel_render (GVariant *result)
{
  const char *name = "";
  g_variant_lookup (result, "name", "&s", &name);
  return g_strdup_printf ("%s: deleted", name);
}

static const ChatdArgument userdel_arguments[] = {
  { "name", CHATD_TYPE_STRING, "the user to delete", CHATD_ARG_REQUIRED },
  { NULL }
};

const ChatdCommand chatd_cmd_userdel = {
  .name = "userdel",
  .summary = "Delete a user (or cancel a pending enrolment)",
  .roles = CHATD_ROLE_SERVER,
  .arguments = userdel_arguments,
  .run = userdel_run,
  .render = userdel_render,
};
