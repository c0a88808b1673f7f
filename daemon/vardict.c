/* vardict.c: a{sv} without the format-string parser. */
#include "vardict.h"

GVariant *
chatd_vardict_new (gsize n, const char *const *keys, GVariant *const *values)
{
  if (n == 0)
    return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);
  GVariant *stack_entries[8];
  GVariant **entries = n <= G_N_ELEMENTS (stack_entries) ? stack_entries : g_new (GVariant *, n);
  for (gsize i = 0; i < n; i++)
    entries[i] = g_variant_new_dict_entry (g_variant_new_string (keys[i]), g_variant_new_variant (values[i]));
  GVariant *dict = g_variant_new_array (G_VARIANT_TYPE ("{sv}"), entries, n);   /* takes the floating entries */
  if (entries != stack_entries)
    g_free (entries);
  return dict;
}
