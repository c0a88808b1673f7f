/* test-vardict.c: the hot-path a{sv} builders give what GVariantBuilder gives. */
#include "vardict.h"
#include "bench-times.h"

static void
test_vardict_new (void)
{
  static const char *const keys[] = { "id", "to", "n" };
  GVariant *values[] = { g_variant_new_string ("42"), g_variant_new_string ("Bob"), g_variant_new_int64 (-7) };
  g_autoptr(GVariant) dict = g_variant_ref_sink (chatd_vardict_new (3, keys, values));
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_new_parsed ("{'id': <'42'>, 'to': <'Bob'>, 'n': <int64 -7>}"));
  g_assert_true (g_variant_equal (dict, expected));
  g_autoptr(GVariant) empty = g_variant_ref_sink (chatd_vardict_new (0, NULL, NULL));
  g_assert_true (g_variant_is_of_type (empty, G_VARIANT_TYPE_VARDICT));
  g_assert_cmpuint (g_variant_n_children (empty), ==, 0);

  /* more than fit on the stack */
  const char *many_keys[20];
  GVariant *many_values[20];
  g_auto(GStrv) owned_keys = g_new0 (char *, 21);
  for (int i = 0; i < 20; i++)
    {
      owned_keys[i] = g_strdup_printf ("k%d", i);
      many_keys[i] = owned_keys[i];
      many_values[i] = g_variant_new_int32 (i);
    }
  g_autoptr(GVariant) many = g_variant_ref_sink (chatd_vardict_new (20, many_keys, many_values));
  gint32 v = -1;
  g_assert_true (g_variant_lookup (many, "k19", "i", &v));
  g_assert_cmpint (v, ==, 19);
  g_assert_cmpuint (g_variant_n_children (many), ==, 20);
}

static void
test_vardict_with_time (void)
{
  /* appends the key, replaces an existing one, keeps the others in order */
  GVariant *dict = g_variant_new_parsed ("{'id': <'1'>, 'stored-us': <int64 5>, 'text': <'hi'>}");
  g_autoptr(GVariant) timed = g_variant_ref_sink (chatd_vardict_with_time (dict, "stored-us", 99));
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_new_parsed ("{'id': <'1'>, 'text': <'hi'>, 'stored-us': <int64 99>}"));
  g_assert_true (g_variant_equal (timed, expected));
  /* an owned (not floating) and serialised input works too */
  g_autoptr(GVariant) owned = g_variant_ref_sink (g_variant_new_parsed ("{'a': <'b'>}"));
  (void) g_variant_get_data (owned);
  g_autoptr(GVariant) again = g_variant_ref_sink (chatd_vardict_with_time (g_variant_ref (owned), "t", 1));
  g_autoptr(GVariant) expected_again = g_variant_ref_sink (g_variant_new_parsed ("{'a': <'b'>, 't': <int64 1>}"));
  g_assert_true (g_variant_equal (again, expected_again));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/vardict/new", test_vardict_new);
  g_test_add_func ("/core/vardict/with-time", test_vardict_with_time);
  return g_test_run ();
}
