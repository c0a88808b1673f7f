/* test-vardict.c: the hot-path a{sv} builders give what GVariantBuilder gives
 * (the flat one byte for byte). */
#include "vardict.h"
#include "bench-times.h"
#include "envelope.h"
#include "mailbox.h"
#include "message-event.h"

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

/* the flat form is byte for byte what GLib's serialiser makes (normal form
 * is unique), for every offset size */
static void
check_flat (gsize n, const ChatdVardictMember *members)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  for (gsize i = 0; i < n; i++)
    g_variant_builder_add (&b, "{sv}", members[i].key,
                           members[i].string != NULL ? g_variant_new_string (members[i].string)
                                                     : g_variant_new_int64 (members[i].int64));
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_builder_end (&b));
  g_autoptr(GVariant) flat = g_variant_ref_sink (chatd_vardict_new_flat (n, members));
  g_assert_true (g_variant_is_of_type (flat, G_VARIANT_TYPE_VARDICT));
  g_assert_true (g_variant_is_normal_form (flat));
  g_assert_cmpuint (g_variant_get_size (flat), ==, g_variant_get_size (expected));
  g_assert_cmpmem (g_variant_get_data (flat), g_variant_get_size (flat),
                   g_variant_get_data (expected), g_variant_get_size (expected));
  g_assert_true (g_variant_equal (flat, expected));
  /* and back */
  ChatdVardictMember back[64];
  gsize n_back = 0;
  g_assert_true (chatd_vardict_to_members (flat, back, G_N_ELEMENTS (back), &n_back));
  g_assert_cmpuint (n_back, ==, n);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_cmpstr (back[i].key, ==, members[i].key);
      g_assert_cmpstr (back[i].string, ==, members[i].string);
      if (members[i].string == NULL)
        g_assert_cmpint (back[i].int64, ==, members[i].int64);
    }
}

static void
test_vardict_flat (void)
{
  check_flat (0, NULL);
  ChatdVardictMember two[] = { { .key = "id", .string = "1234567890abcdef" }, { .key = "to", .string = "Bob" } };
  check_flat (2, two);
  ChatdVardictMember message[] = {
    { .key = "id", .string = "0123456789abcdef0123456789abcdef" }, { .key = "from", .string = "Alice" },
    { .key = "to", .string = "Bob" }, { .key = "time", .string = "2026-11-25T23:30:00.123000Z" },
    { .key = "text", .string = "h\xc3\xa9llo, w\xc3\xb6rld" }, { .key = "stored-us", .int64 = G_MININT64 + 3 },
    { .key = "", .string = "" }, { .key = "n", .int64 = 1 },
  };
  check_flat (G_N_ELEMENTS (message), message);
  /* offsets of 2 and 4 bytes, in the entries and in the array */
  g_autofree char *k300 = g_strnfill (300, 'k');
  g_autofree char *s300 = g_strnfill (300, 's');
  g_autofree char *s70k = g_strnfill (70000, 'x');
  for (gsize len = 230; len < 270; len += 3)
    {
      g_autofree char *s = g_strnfill (len, 'y');
      ChatdVardictMember edge[] = { { .key = "a", .string = s }, { .key = "b", .int64 = 7 } };
      check_flat (1, edge);
      check_flat (2, edge);
    }
  ChatdVardictMember big[] = { { .key = k300, .string = "v" }, { .key = "s", .string = s300 },
                               { .key = "x", .string = s70k }, { .key = "t", .int64 = -1 } };
  check_flat (G_N_ELEMENTS (big), big);
  /* more members than the stack layouts */
  ChatdVardictMember many[40];
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (many); i++)
    {
      g_ptr_array_add (keys, g_strdup_printf ("key-%u", i));
      many[i] = (ChatdVardictMember) { .key = keys->pdata[i], .string = i % 2 ? keys->pdata[i] : NULL, .int64 = i };
    }
  check_flat (G_N_ELEMENTS (many), many);

  /* other value types are not members */
  g_autoptr(GVariant) other = g_variant_ref_sink (g_variant_new_parsed ("{'a': <'b'>, 'n': <uint32 1>}"));
  ChatdVardictMember out[4];
  gsize n_out = 99;
  g_assert_false (chatd_vardict_to_members (other, out, G_N_ELEMENTS (out), &n_out));
  g_assert_cmpuint (n_out, ==, 99);
  g_autoptr(GVariant) five = g_variant_ref_sink (g_variant_new_parsed ("{'a': <'1'>, 'b': <'2'>, 'c': <'3'>, 'd': <'4'>, 'e': <'5'>}"));
  g_assert_false (chatd_vardict_to_members (five, out, G_N_ELEMENTS (out), &n_out));
}

/* with_time keeps other value types too (the slower way) */
static void
test_vardict_with_time_other_types (void)
{
  GVariant *dict = g_variant_new_parsed ("{'n': <uint32 3>, 't': <int64 1>}");
  g_autoptr(GVariant) timed = g_variant_ref_sink (chatd_vardict_with_time (dict, "t", 2));
  g_autoptr(GVariant) expected = g_variant_ref_sink (g_variant_new_parsed ("{'n': <uint32 3>, 't': <int64 2>}"));
  g_assert_true (g_variant_equal (timed, expected));
}

/* the message event's flat data is what the mailbox's dictionary plus
 * stored-us gives, for every time (out of range ones take the slow path) */
static void
check_message_event (gint64 time_ms, const char *text)
{
  ChatdMessage message = { .id_text = (char *) "00112233445566778899aabbccddeeff", .time_ms = time_ms,
                           .sender = (char *) "Alice", .recipient = (char *) "Bob", .text = (char *) text };
  gint64 stored_us = g_get_monotonic_time ();
  g_autoptr(GVariant) fast = g_variant_ref_sink (chatd_message_event_data (&message, stored_us));
  g_autoptr(GVariant) expected = g_variant_ref_sink (chatd_vardict_with_time (chatd_message_to_variant (&message),
                                                                              "stored-us", stored_us));
  if (!g_variant_equal (fast, expected))
    {
      g_autofree char *a = g_variant_print (fast, TRUE);
      g_autofree char *b = g_variant_print (expected, TRUE);
      g_error ("time %" G_GINT64_FORMAT ": %s != %s", time_ms, a, b);
    }
  g_assert_true (g_variant_is_normal_form (fast));
}

static void
test_message_event (void)
{
  static const gint64 times[] = {
    0, 1, 999, 1000, 1001, 59999, 60000, 86399999, 86400000,
    951782400000,                      /* 2000-02-29 */
    4107542400000,                     /* 2100-02-28 */
    4107628800000,                     /* 2100-03-01 */
    1764113400123,                     /* 2025-11-25 */
    253402300799999,                   /* 9999-12-31T23:59:59.999 */
    253402300800000, 253402300800001,  /* year 10000: the slow path */
    -1, -999, -1000, -1001, -86400001, -62135596800000, -62135596800001,
    G_MININT64, G_MININT64 + 1, G_MAXINT64,
  };
  for (guint i = 0; i < G_N_ELEMENTS (times); i++)
    check_message_event (times[i], "hi");
  g_autoptr(GRand) rand = g_rand_new_with_seed (8);
  for (int i = 0; i < 2000; i++)
    check_message_event ((gint64) (g_rand_double (rand) * 253402300800000.0), "h\xc3\xa9llo");
  check_message_event (1764113400123, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/vardict/with-time", test_vardict_with_time);
  g_test_add_func ("/core/vardict/flat", test_vardict_flat);
  g_test_add_func ("/core/vardict/with-time-other-types", test_vardict_with_time_other_types);
  g_test_add_func ("/core/vardict/message-event", test_message_event);
  return g_test_run ();
}
