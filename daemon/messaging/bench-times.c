/* bench-times.c: the monotonic timestamps chat-bench measures with. */
#include "bench-times.h"

GVariant *
chatd_vardict_with_time (GVariant *dict, const char *key, gint64 value)
{
  g_autoptr(GVariant) owned = g_variant_take_ref (dict);
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  GVariantIter iter;
  const char *member;
  GVariant *member_value;
  g_variant_iter_init (&iter, owned);
  while (g_variant_iter_next (&iter, "{&sv}", &member, &member_value))
    {
      if (!g_str_equal (member, key))
        g_variant_builder_add (&b, "{sv}", member, member_value);
      g_variant_unref (member_value);
    }
  g_variant_builder_add (&b, "{sv}", key, g_variant_new_int64 (value));
  return g_variant_builder_end (&b);
}
