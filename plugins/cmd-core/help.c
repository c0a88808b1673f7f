/* help.c: `help [COMMAND]`: the node's commands, or one command's usage. */
#include "cmd-core.h"

static GVariant *
find_command (GVariant *commands, const char *name)
{
  gsize n = g_variant_n_children (commands);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) item = g_variant_get_child_value (commands, i);
      const char *item_name = NULL;
      if (g_variant_lookup (item, "name", "&s", &item_name) && g_str_equal (item_name, name))
        return g_steal_pointer (&item);
    }
  return NULL;
}

static void
help_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  g_autoptr(GVariant) commands = g_variant_ref_sink (host->list_commands (host));
  const char *name = NULL;
  if (!g_variant_lookup (args, "command", "&s", &name))
    {
      host->call_return (call, g_steal_pointer (&commands));
      return;
    }
  g_autoptr(GVariant) command = find_command (commands, name);
  if (command == NULL)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_NOT_FOUND,
                                             "no command '%s' on this node (chatctl help lists them)",
                                             name);
      host->call_fail (call, error);
      return;
    }
  host->call_return (call, g_steal_pointer (&command));
}

static void
append_entries (GString *out, GVariant *entries, const char *title, gboolean options)
{
  gsize n = g_variant_n_children (entries);
  if (n == 0)
    return;
  g_string_append_printf (out, "\n%s:", title);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (entries, i);
      const char *name = "", *help = "", *metavar = "", *type = "";
      gboolean rest = FALSE, stdin_ok = FALSE, stdin_only = FALSE;
      g_variant_lookup (entry, "name", "&s", &name);
      g_variant_lookup (entry, "help", "&s", &help);
      g_variant_lookup (entry, "metavar", "&s", &metavar);
      g_variant_lookup (entry, "type", "&s", &type);
      g_variant_lookup (entry, "rest", "b", &rest);
      g_variant_lookup (entry, "stdin", "b", &stdin_ok);
      g_variant_lookup (entry, "stdin-only", "b", &stdin_only);
      g_autofree char *label = NULL;
      if (options)
        label = g_str_equal (type, "b") ? g_strdup_printf ("--%s", name)
                                        : g_strdup_printf ("--%s %s", name, *metavar ? metavar : "VALUE");
      else
        {
          g_autofree char *upper = g_ascii_strup (name, -1);
          label = g_strdup_printf ("%s%s", upper, rest ? "..." : "");
        }
      g_string_append_printf (out, "\n  %-22s %s%s", label, help,
                              stdin_only ? " (read from standard input only, never the command line)"
                              : stdin_ok ? " ('-' reads standard input)" : "");
    }
}

static char *
help_render (GVariant *value)
{
  GString *out = g_string_new (NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE ("aa{sv}")))
    {
      g_string_append (out, "Commands (chatctl help COMMAND shows one):");
      gsize n = g_variant_n_children (value);
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) item = g_variant_get_child_value (value, i);
          const char *name = "", *summary = "", *plugin = "";
          g_variant_lookup (item, "name", "&s", &name);
          g_variant_lookup (item, "summary", "&s", &summary);
          g_variant_lookup (item, "plugin", "&s", &plugin);
          g_string_append_printf (out, "\n  %-12s %s", name, summary);
          if (!g_str_equal (plugin, "cmd-core"))
            g_string_append_printf (out, " [%s]", plugin);
        }
      return g_string_free (out, FALSE);
    }
  const char *usage = "", *summary = "", *plugin = "";
  g_variant_lookup (value, "usage", "&s", &usage);
  g_variant_lookup (value, "summary", "&s", &summary);
  g_variant_lookup (value, "plugin", "&s", &plugin);
  g_string_append_printf (out, "usage: chatctl %s\n%s (plugin %s)", usage, summary, plugin);
  g_autoptr(GVariant) arguments = g_variant_lookup_value (value, "arguments", G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(GVariant) options = g_variant_lookup_value (value, "options", G_VARIANT_TYPE ("aa{sv}"));
  if (arguments != NULL)
    append_entries (out, arguments, "Arguments", FALSE);
  if (options != NULL)
    append_entries (out, options, "Options", TRUE);
  return g_string_free (out, FALSE);
}

static const ChatdArgument help_arguments[] = {
  { "command", CHATD_TYPE_STRING, "the command to describe", CHATD_ARG_OPTIONAL },
  { NULL }
};

const ChatdCommand chatd_cmd_help = {
  .name = "help",
  .summary = "List the node's commands, or show how to use one",
  .roles = CHATD_ROLE_ANY,
  .arguments = help_arguments,
  .run = help_run,
  .render = help_render,
};
