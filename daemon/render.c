/* render.c: the generic rendering of a result for people. */
#include "render.h"

static void
append_value (GString *out, GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    g_string_append (out, g_variant_get_string (value, NULL));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_autofree const char **strv = g_variant_get_strv (value, NULL);
      g_autofree char *joined = g_strjoinv (", ", (char **) strv);
      g_string_append (out, joined);
    }
  else
    {
      g_autofree char *printed = g_variant_print (value, FALSE);
      g_string_append (out, printed);
    }
}

static void
append_dict (GString *out, GVariant *dict, const char *separator, const char *assign)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;
  gboolean first = TRUE;
  g_variant_iter_init (&iter, dict);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (!first)
        g_string_append (out, separator);
      first = FALSE;
      g_string_append_printf (out, "%s%s", key, assign);
      append_value (out, value);
      g_variant_unref (value);
    }
}

char *
chatd_render_generic (GVariant *value)
{
  GString *out = g_string_new (NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT))
    append_dict (out, value, "\n", ": ");
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE ("aa{sv}")))
    {
      gsize n = g_variant_n_children (value);
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) item = g_variant_get_child_value (value, i);
          if (i > 0)
            g_string_append_c (out, '\n');
          append_dict (out, item, " ", "=");
        }
    }
  else
    {
      g_autofree char *printed = g_variant_print (value, FALSE);
      g_string_append (out, printed);
    }
  return g_string_free (out, FALSE);
}
