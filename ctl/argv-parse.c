/* argv-parse.c: turns chatctl's argv into a request's a{sv}, by the
 * command's own description.  chatctl has no per-command code. */
#include "argv-parse.h"

#include <string.h>

G_DEFINE_QUARK (chatctl-parse-error-quark, chatctl_parse_error)

static GVariant *
find_entry (GVariant *entries, const char *name)
{
  gsize n = entries ? g_variant_n_children (entries) : 0;
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (entries, i);
      const char *entry_name = NULL;
      if (g_variant_lookup (entry, "name", "&s", &entry_name) && g_str_equal (entry_name, name))
        return g_steal_pointer (&entry);
    }
  return NULL;
}

static const char *
entry_string (GVariant *entry, const char *key)
{
  const char *value = "";
  g_variant_lookup (entry, key, "&s", &value);
  return value;
}

static gboolean
entry_flag (GVariant *entry, const char *key)
{
  gboolean value = FALSE;
  g_variant_lookup (entry, key, "b", &value);
  return value;
}

static char *
read_stdin (GInputStream *stream, const char *label, GError **error)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 buf[65536];
  for (;;)
    {
      gssize n = g_input_stream_read (stream, buf, sizeof buf, NULL, error);
      if (n < 0)
        {
          g_prefix_error (error, "%s: cannot read standard input: ", label);
          if (error != NULL && *error != NULL)
            {
              (*error)->domain = CHATCTL_PARSE_ERROR;
              (*error)->code = CHATCTL_PARSE_ERROR_INPUT;
            }
          return NULL;
        }
      if (n == 0)
        break;
      if (data->len + n > CHATCTL_STDIN_MAX)
        {
          g_set_error (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_INPUT,
                       "%s: standard input is larger than %d MiB", label, CHATCTL_STDIN_MAX >> 20);
          return NULL;
        }
      g_byte_array_append (data, buf, n);
    }
  /* one trailing newline is the shell's, not the message's */
  if (data->len > 0 && data->data[data->len - 1] == '\n')
    g_byte_array_set_size (data, data->len - 1);
  guint8 nul = 0;
  g_byte_array_append (data, &nul, 1);
  return (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
}

/* Overwrites a string read from stdin that held a secret. */
static void
chatd_ctl_wipe_string (char *text)
{
  if (text != NULL)
    {
      volatile char *p = text;
      while (*p != '\0')
        *p++ = '\0';
    }
}

static gboolean
usage_error (GError **error, const char *command, GVariant *description, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

static gboolean
usage_error (GError **error, const char *command, GVariant *description, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_USAGE,
               "%s: %s (usage: chatctl %s)", command, message,
               description ? entry_string (description, "usage") : command);
  return FALSE;
}

/* Converts one textual value to the described type. */
static GVariant *
convert_value (const char *command, GVariant *description, const char *label, const char *type,
               const char *text, GError **error)
{
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, CHATCTL_PARSE_ERROR, CHATCTL_PARSE_ERROR_INPUT,
                   "%s: %s is not valid UTF-8", command, label);
      return NULL;
    }
  if (g_str_equal (type, "s"))
    return g_variant_new_string (text);
  if (g_str_equal (type, "x"))
    {
      gint64 value;
      if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &value, NULL))
        {
          usage_error (error, command, description, "%s expects a whole number, not '%s'", label, text);
          return NULL;
        }
      return g_variant_new_int64 (value);
    }
  usage_error (error, command, description, "%s has a type (%s) this chatctl does not know", label, type);
  return NULL;
}

GVariant *
chatctl_parse_args (const char *command, GVariant *description, int argc, char **argv,
                    GInputStream *stdin_stream, GError **error)
{
  g_autoptr(GVariant) options = g_variant_lookup_value (description, "options", G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(GVariant) arguments = g_variant_lookup_value (description, "arguments", G_VARIANT_TYPE ("aa{sv}"));
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) positional = g_ptr_array_new ();
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  gboolean options_done = FALSE;

  for (int i = 0; i < argc; i++)
    {
      const char *word = argv[i];
      if (options_done || word[0] != '-' || word[1] != '-' )
        {
          g_ptr_array_add (positional, (gpointer) word);
          continue;
        }
      if (word[2] == '\0')
        {
          options_done = TRUE;
          continue;
        }
      g_autofree char *name = g_strdup (word + 2);
      char *equals = strchr (name, '=');
      const char *inline_value = NULL;
      if (equals != NULL)
        {
          *equals = '\0';
          inline_value = equals + 1;
        }
      g_autoptr(GVariant) option = find_entry (options, name);
      if (option == NULL)
        return usage_error (error, command, description, "unknown option --%s", name), NULL;
      const char *type = entry_string (option, "type");
      if (g_hash_table_contains (seen, entry_string (option, "name")))
        return usage_error (error, command, description, "--%s given twice", name), NULL;
      g_hash_table_add (seen, (gpointer) entry_string (option, "name"));
      if (g_str_equal (type, "b"))
        {
          if (inline_value != NULL)
            return usage_error (error, command, description, "--%s takes no value", name), NULL;
          g_variant_builder_add (&builder, "{sv}", entry_string (option, "name"), g_variant_new_boolean (TRUE));
          continue;
        }
      if (inline_value == NULL)
        {
          if (i + 1 >= argc)
            return usage_error (error, command, description, "--%s needs a value", name), NULL;
          inline_value = argv[++i];
        }
      g_autofree char *label = g_strdup_printf ("--%s", name);
      GVariant *value = convert_value (command, description, label, type, inline_value, error);
      if (value == NULL)
        return NULL;
      g_variant_builder_add (&builder, "{sv}", entry_string (option, "name"), value);
    }

  gsize n_args = arguments ? g_variant_n_children (arguments) : 0;
  guint next = 0;
  for (gsize a = 0; a < n_args; a++)
    {
      g_autoptr(GVariant) argument = g_variant_get_child_value (arguments, a);
      const char *name = entry_string (argument, "name");
      g_autofree char *label = g_ascii_strup (name, -1);
      gboolean rest = entry_flag (argument, "rest");
      gboolean optional = entry_flag (argument, "optional");
      gboolean from_stdin = entry_flag (argument, "stdin");
      g_autofree char *text = NULL;

      if (entry_flag (argument, "stdin-only"))
        {
          /* a secret: only from stdin, never a word of argv */
          g_autofree char *gate = g_strdup_printf ("%s-stdin", name);
          if (optional && !g_hash_table_contains (seen, gate))
            continue;
          text = read_stdin (stdin_stream, label, error);
          if (text == NULL)
            return NULL;
          GVariant *secret = convert_value (command, description, label, "s", text, error);
          chatd_ctl_wipe_string (text);
          if (secret == NULL)
            return NULL;
          g_variant_builder_add (&builder, "{sv}", name, secret);
          continue;
        }
      if (next >= positional->len)
        {
          if (from_stdin && optional)
            text = read_stdin (stdin_stream, label, error);
          else if (optional)
            continue;
          else
            return usage_error (error, command, description, "missing %s", label), NULL;
          if (text == NULL)
            return NULL;
        }
      else if (rest)
        {
          g_autoptr(GStrvBuilder) words = g_strv_builder_new ();
          for (; next < positional->len; next++)
            g_strv_builder_add (words, g_ptr_array_index (positional, next));
          g_auto(GStrv) strv = g_strv_builder_end (words);
          text = g_strjoinv (" ", strv);
        }
      else
        text = g_strdup (g_ptr_array_index (positional, next++));

      if (from_stdin && g_str_equal (text, "-"))
        {
          g_clear_pointer (&text, g_free);
          text = read_stdin (stdin_stream, label, error);
          if (text == NULL)
            return NULL;
        }
      GVariant *value = convert_value (command, description, label, entry_string (argument, "type"),
                                       text, error);
      if (value == NULL)
        return NULL;
      g_variant_builder_add (&builder, "{sv}", name, value);
    }
  if (next < positional->len)
    return usage_error (error, command, description, "unexpected argument '%s'",
                        (const char *) g_ptr_array_index (positional, next)), NULL;
  return g_variant_builder_end (&builder);
}

gboolean
chatctl_request_streams (GVariant *description, GVariant *args)
{
  if (!entry_flag (description, "streaming"))
    return FALSE;
  const char *option = entry_string (description, "stream-option");
  if (option[0] == '\0')
    return TRUE;
  gboolean on = FALSE;
  g_variant_lookup (args, option, "b", &on);
  return on;
}
