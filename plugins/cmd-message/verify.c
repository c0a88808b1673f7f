/* verify.c: `verify USER`: the key pinned for a contact, to compare out of
 * band, and whether (and when) it changed. */
#include "cmd-message.h"

static void
verify_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const ChatdMessagingService *service = cmd_message_service (host, call);
  const char *user = NULL;
  g_variant_lookup (args, "user", "&s", &user);
  if (service != NULL)
    service->verify (host, call, user);
}

static char *
verify_render (GVariant *value)
{
  const char *name = "", *suite = "", *fingerprint = "", *pinned = "";
  gboolean changed = FALSE;
  g_autofree const char **history = NULL;
  g_variant_lookup (value, "name", "&s", &name);
  g_variant_lookup (value, "suite", "&s", &suite);
  g_variant_lookup (value, "fingerprint", "&s", &fingerprint);
  g_variant_lookup (value, "pinned", "&s", &pinned);
  g_variant_lookup (value, "changed", "b", &changed);
  g_variant_lookup (value, "history", "^a&s", &history);
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "%s (%s)\nfingerprint %s\npinned      %s%s", name, suite, fingerprint, pinned,
                          changed ? "  (CHANGED: compare it with the user out of band)" : "");
  for (guint i = 0; history != NULL && history[i] != NULL; i++)
    g_string_append_printf (out, "\nearlier     %s", history[i]);
  return g_string_free (out, FALSE);
}

static const ChatdArgument verify_arguments[] = {
  { "user", CHATD_TYPE_STRING, "the contact", CHATD_ARG_REQUIRED },
  { NULL }
};

const ChatdCommand chatd_cmd_verify = {
  .name = "verify",
  .summary = "Show a contact's key fingerprint and whether it changed",
  .roles = CHATD_ROLE_USER,
  .arguments = verify_arguments,
  .run = verify_run,
  .render = verify_render,
};
