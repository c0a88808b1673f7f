/* bench-times.c: the monotonic timestamps chat-bench measures with. */
#include "bench-times.h"
#include "vardict.h"

GVariant *
chatd_vardict_with_time (GVariant *dict, const char *key, gint64 value)
{
  /* the members as they are (no copy, no format strings): this runs for
   * every message a node stores */
  g_autoptr(GVariant) owned = g_variant_take_ref (dict);
  ChatdVardictMember members[16];
  gsize n_members;
  if (chatd_vardict_to_members (owned, members, G_N_ELEMENTS (members) - 1, &n_members))
    {
      /* strings and numbers only (a message): written flat, in one buffer */
      gsize kept = 0;
      for (gsize i = 0; i < n_members; i++)
        if (!g_str_equal (members[i].key, key))
          members[kept++] = members[i];
      members[kept++] = (ChatdVardictMember) { .key = key, .int64 = value };
      return chatd_vardict_new_flat (kept, members);
    }
  gsize n = g_variant_n_children (owned);
  g_autofree GVariant **entries = g_new (GVariant *, n + 1);
  gsize kept = 0;
  for (gsize i = 0; i < n; i++)
    {
      GVariant *entry = g_variant_get_child_value (owned, i);
      g_autoptr(GVariant) name = g_variant_get_child_value (entry, 0);
      if (g_str_equal (g_variant_get_string (name, NULL), key))
        g_variant_unref (entry);
      else
        entries[kept++] = entry;
    }
  entries[kept] = g_variant_new_dict_entry (g_variant_new_string (key),
                                            g_variant_new_variant (g_variant_new_int64 (value)));
  GVariant *result = g_variant_new_array (G_VARIANT_TYPE ("{sv}"), entries, kept + 1);
  for (gsize i = 0; i < kept; i++)   /* the array took its own references of these */
    g_variant_unref (entries[i]);
  return result;
}
