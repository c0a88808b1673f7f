/* command-description.c: a command's self-description, as sent to chatctl by
 * ListCommands, and the check of a request's arguments against it. */
#define G_LOG_DOMAIN "chatd-plugins"
#include "command-description.h"

#include <string.h>

#define NAME_MAX_LEN 32

static gboolean
name_is_valid (const char *name)
{
  if (name == NULL || !g_ascii_islower (name[0]) || strlen (name) > NAME_MAX_LEN)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

static gboolean
type_is_valid (const char *type, gboolean is_option)
{
  return g_strcmp0 (type, CHATD_TYPE_STRING) == 0 ||
         g_strcmp0 (type, CHATD_TYPE_INT) == 0 ||
         (is_option && g_strcmp0 (type, CHATD_TYPE_BOOL) == 0);
}

static const ChatdOption *
find_option (const ChatdCommand *command, const char *name)
{
  for (const ChatdOption *o = command->options; o != NULL && o->name != NULL; o++)
    if (g_str_equal (o->name, name))
      return o;
  return NULL;
}

static const ChatdArgument *
find_argument (const ChatdCommand *command, const char *name)
{
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    if (g_str_equal (a->name, name))
      return a;
  return NULL;
}

/* A stdin-only argument: a string, no other way in; when optional, its
 * NAME-stdin flag option exists. */
static gboolean
stdin_only_is_valid (const ChatdCommand *command, const ChatdArgument *a, GError **error)
{
  if (!(a->flags & CHATD_ARG_STDIN_ONLY))
    return TRUE;
  g_autofree char *gate = g_strdup_printf ("%s-stdin", a->name);
  const ChatdOption *o = find_option (command, gate);
  if ((a->flags & (CHATD_ARG_REST | CHATD_ARG_STDIN)) ||
      g_strcmp0 (a->type, CHATD_TYPE_STRING) != 0 ||
      ((a->flags & CHATD_ARG_OPTIONAL) && (o == NULL || g_strcmp0 (o->type, CHATD_TYPE_BOOL) != 0)))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "command '%s': stdin-only argument '%s' must be a string without REST or "
                   "STDIN, and when optional needs the flag option '%s'", command->name, a->name, gate);
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_command_description_validate (const ChatdCommand *command, GError **error)
{
  if (command == NULL || !name_is_valid (command->name))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "command name '%s' is not valid (lower case letters, digits and '-')",
                   command && command->name ? command->name : "(null)");
      return FALSE;
    }
  const char *name = command->name;
  if (command->run == NULL || command->summary == NULL || (command->roles & CHATD_ROLE_ANY) == 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "command '%s' lacks a run function, a summary or its roles", name);
      return FALSE;
    }
  for (const ChatdOption *o = command->options; o != NULL && o->name != NULL; o++)
    {
      if (!name_is_valid (o->name) || !type_is_valid (o->type, TRUE) || o->help == NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "command '%s': option '%s' has a bad name, type or no help", name, o->name);
          return FALSE;
        }
      if (find_option (command, o->name) != o)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE,
                       "command '%s': option '%s' is described twice", name, o->name);
          return FALSE;
        }
    }
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    {
      gboolean last = (a + 1)->name == NULL;
      if (!name_is_valid (a->name) || !type_is_valid (a->type, FALSE) || a->help == NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "command '%s': argument '%s' has a bad name, type or no help", name, a->name);
          return FALSE;
        }
      if (find_argument (command, a->name) != a || find_option (command, a->name) != NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_DUPLICATE,
                       "command '%s': name '%s' is described twice", name, a->name);
          return FALSE;
        }
      if (((a->flags & CHATD_ARG_REST) && !last) ||
          ((a->flags & (CHATD_ARG_REST | CHATD_ARG_STDIN)) && g_strcmp0 (a->type, CHATD_TYPE_STRING) != 0))
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "command '%s': argument '%s': only the last string argument may take "
                       "the rest of the line or stdin", name, a->name);
          return FALSE;
        }
      if (!stdin_only_is_valid (command, a, error))
        return FALSE;
      if (!(a->flags & CHATD_ARG_OPTIONAL) && a != command->arguments && ((a - 1)->flags & CHATD_ARG_OPTIONAL))
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "command '%s': required argument '%s' follows an optional one", name, a->name);
          return FALSE;
        }
    }
  if (command->stream_option != NULL)
    {
      const ChatdOption *o = find_option (command, command->stream_option);
      if (!(command->flags & CHATD_COMMAND_STREAMING) || o == NULL ||
          g_strcmp0 (o->type, CHATD_TYPE_BOOL) != 0)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "command '%s': stream option '%s' must be a flag of a streaming command",
                       name, command->stream_option);
          return FALSE;
        }
    }
  return TRUE;
}

char *
chatd_command_usage (const ChatdCommand *command)
{
  g_autoptr(GString) usage = g_string_new (command->name);
  for (const ChatdOption *o = command->options; o != NULL && o->name != NULL; o++)
    {
      if (g_strcmp0 (o->type, CHATD_TYPE_BOOL) == 0)
        g_string_append_printf (usage, " [--%s]", o->name);
      else
        g_string_append_printf (usage, " [--%s %s]", o->name, o->metavar ? o->metavar : "VALUE");
    }
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    {
      if (a->flags & CHATD_ARG_STDIN_ONLY)
        continue;   /* never on the command line */
      g_autofree char *upper = g_ascii_strup (a->name, -1);
      g_string_append_printf (usage, " %s%s%s%s",
                              (a->flags & CHATD_ARG_OPTIONAL) ? "[" : "",
                              upper,
                              (a->flags & CHATD_ARG_REST) ? "..." : "",
                              (a->flags & CHATD_ARG_OPTIONAL) ? "]" : "");
    }
  return g_string_free (g_steal_pointer (&usage), FALSE);
}

GVariant *
chatd_command_description_new (const ChatdCommand *command, const char *plugin)
{
  g_auto(GVariantBuilder) roles = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_STRING_ARRAY);
  if (command->roles & CHATD_ROLE_SERVER)
    g_variant_builder_add (&roles, "s", "server");
  if (command->roles & CHATD_ROLE_USER)
    g_variant_builder_add (&roles, "s", "user");

  g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  for (const ChatdOption *o = command->options; o != NULL && o->name != NULL; o++)
    {
      g_variant_builder_open (&options, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&options, "{sv}", "name", g_variant_new_string (o->name));
      g_variant_builder_add (&options, "{sv}", "type", g_variant_new_string (o->type));
      g_variant_builder_add (&options, "{sv}", "metavar", g_variant_new_string (o->metavar ? o->metavar : ""));
      g_variant_builder_add (&options, "{sv}", "help", g_variant_new_string (o->help));
      g_variant_builder_close (&options);
    }

  g_auto(GVariantBuilder) arguments = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("aa{sv}"));
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    {
      g_variant_builder_open (&arguments, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&arguments, "{sv}", "name", g_variant_new_string (a->name));
      g_variant_builder_add (&arguments, "{sv}", "type", g_variant_new_string (a->type));
      g_variant_builder_add (&arguments, "{sv}", "help", g_variant_new_string (a->help));
      g_variant_builder_add (&arguments, "{sv}", "optional", g_variant_new_boolean (a->flags & CHATD_ARG_OPTIONAL));
      g_variant_builder_add (&arguments, "{sv}", "rest", g_variant_new_boolean (a->flags & CHATD_ARG_REST));
      g_variant_builder_add (&arguments, "{sv}", "stdin", g_variant_new_boolean (a->flags & CHATD_ARG_STDIN));
      g_variant_builder_add (&arguments, "{sv}", "stdin-only", g_variant_new_boolean (a->flags & CHATD_ARG_STDIN_ONLY));
      g_variant_builder_close (&arguments);
    }

  g_autofree char *usage = chatd_command_usage (command);
  g_auto(GVariantBuilder) d = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&d, "{sv}", "roles", g_variant_builder_end (&roles));
  g_variant_builder_add (&d, "{sv}", "plugin", g_variant_new_string (plugin ? plugin : ""));
  g_variant_builder_add (&d, "{sv}", "usage", g_variant_new_string (usage));
  g_variant_builder_add (&d, "{sv}", "options", g_variant_builder_end (&options));
  g_variant_builder_add (&d, "{sv}", "arguments", g_variant_builder_end (&arguments));
  g_variant_builder_add (&d, "{sv}", "streaming",
                         g_variant_new_boolean (command->flags & CHATD_COMMAND_STREAMING));
  g_variant_builder_add (&d, "{sv}", "stream-option",
                         g_variant_new_string (command->stream_option ? command->stream_option : ""));
  return g_variant_builder_end (&d);
}

static gboolean
args_contain (GVariant *args, const char *name)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (args, name, NULL);
  return value != NULL;
}

gboolean
chatd_command_check_args (const ChatdCommand *command, GVariant *args, GError **error)
{
  if (!g_variant_is_of_type (args, G_VARIANT_TYPE_VARDICT))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "%s: arguments must be a dictionary (a{sv})", command->name);
      return FALSE;
    }
  GVariantIter iter;
  const char *key;
  GVariant *value;
  g_variant_iter_init (&iter, args);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) owned = value;
      const ChatdOption *o = find_option (command, key);
      const ChatdArgument *a = o == NULL ? find_argument (command, key) : NULL;
      const char *type = o != NULL ? o->type : a != NULL ? a->type : NULL;
      if (type == NULL)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "%s: unknown option or argument '%s'", command->name, key);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (type)))
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "%s: '%s' must be of type %s, not %s", command->name, key, type,
                       g_variant_get_type_string (value));
          return FALSE;
        }
    }
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    if ((a->flags & CHATD_ARG_STDIN_ONLY) && (a->flags & CHATD_ARG_OPTIONAL) &&
        args_contain (args, a->name))
      {
        /* a secret comes with its NAME-stdin flag set, as chatctl sends it */
        g_autofree char *gate = g_strdup_printf ("%s-stdin", a->name);
        gboolean gated = FALSE;
        if (!g_variant_lookup (args, gate, "b", &gated) || !gated)
          {
            g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                         "%s: '%s' is only accepted with --%s", command->name, a->name, gate);
            return FALSE;
          }
      }
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    if (!(a->flags & CHATD_ARG_OPTIONAL) && !args_contain (args, a->name))
      {
        g_autofree char *upper = g_ascii_strup (a->name, -1);
        g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                     "%s: missing argument %s", command->name, upper);
        return FALSE;
      }
  return TRUE;
}
