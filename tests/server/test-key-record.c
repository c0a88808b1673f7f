/* test-key-record.c: signed key records: round trip, exact layout, every
 * byte tampered, expiry, another server's key, malformed input.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "test-server-util.h"
#include "key-record.h"
#include "session-protocol.h"

static ChatdKey *
server_public_key (TestDirectory *t)
{
  GBytes *pub = chatd_directory_get_server_public (t->directory);
  g_autoptr(GError) error = NULL;
  ChatdKey *key = chatd_suite_25519.import_public (&chatd_suite_25519, g_bytes_get_data (pub, NULL),
                                                   g_bytes_get_size (pub), &error);
  g_assert_no_error (error);
  return key;
}

static TestDirectory *
seeded (void)
{
  TestDirectory *t = test_directory_new ();
  test_seed_ok (t, FALSE);
  return t;
}

/* what a node declares is signed into its record; a version 1 record
 * still verifies (as "no features"); features cannot be added or removed
 * without breaking the signature */
static void
test_features (void)
{
  g_autoptr(TestDirectory) t = seeded ();
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdKey) server = server_public_key (t);
  gint64 t0 = 1800000000;
  g_assert_true (chatd_directory_set_features (t->directory, "BOB", CHATD_FEATURE_PEER_SESSION, &error));
  g_assert_no_error (error);
  g_autoptr(GBytes) encoded = NULL;
  g_assert_true (chatd_directory_key_record (t->directory, "bob", t0, &encoded, &error));
  g_autoptr(ChatdKeyRecord) record = NULL;
  g_assert_true (chatd_key_record_verify (server, g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded),
                                          t0 + 1, &record, &error));
  g_assert_true (chatd_key_record_has_feature (record, CHATD_FEATURE_PEER_SESSION));
  g_assert_cmpuint (record->version, ==, 2);
  /* invalid declarations are refused and change nothing */
  g_assert_false (chatd_directory_set_features (t->directory, "Bob", "Peer Session", NULL));
  g_assert_false (chatd_directory_set_features (t->directory, "Bob", "a b c d e f g h i", NULL));
  /* stray spaces in a declaration do not cost the user its record or its features */
  g_assert_true (chatd_directory_set_features (t->directory, "Bob", " " CHATD_FEATURE_PEER_SESSION "  x ", &error));
  g_autoptr(GBytes) spaced = NULL;
  g_assert_true (chatd_directory_key_record (t->directory, "bob", t0, &spaced, &error));
  g_assert_no_error (error);
  g_autoptr(ChatdKeyRecord) spaced_record = NULL;
  g_assert_true (chatd_key_record_verify (server, g_bytes_get_data (spaced, NULL), g_bytes_get_size (spaced),
                                          t0 + 1, &spaced_record, &error));
  g_assert_true (chatd_key_record_has_feature (spaced_record, CHATD_FEATURE_PEER_SESSION));
  g_assert_true (chatd_key_record_has_feature (spaced_record, "x"));
  g_assert_cmpuint (g_strv_length (spaced_record->features), ==, 2);

  /* the same record with the feature dropped (re-encoded with the same
   * signature): refused */
  g_autoptr(ChatdKeyRecord) stripped = NULL;
  g_autoptr(GBytes) signature = NULL;
  g_assert_true (chatd_key_record_decode (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded), &stripped,
                                          &signature, &error));
  g_clear_pointer (&stripped->features, g_strfreev);
  g_autoptr(GBytes) forged = NULL;
  g_assert_true (chatd_key_record_encode (stripped, signature, &forged, &error));
  g_autoptr(ChatdKeyRecord) bad = NULL;
  g_assert_false (chatd_key_record_verify (server, g_bytes_get_data (forged, NULL), g_bytes_get_size (forged),
                                           t0 + 1, &bad, NULL));
  /* nor as a version 1 record with the same signature */
  stripped->version = 1;
  g_clear_pointer (&forged, g_bytes_unref);
  g_assert_true (chatd_key_record_encode (stripped, signature, &forged, &error));
  g_assert_false (chatd_key_record_verify (server, g_bytes_get_data (forged, NULL), g_bytes_get_size (forged),
                                           t0 + 1, &bad, NULL));

  /* a genuine version 1 record (signed as such) verifies, without features */
  const ChatdKey *signer = chatd_directory_get_server_key (t->directory);
  g_autoptr(GBytes) v1 = NULL;
  g_assert_true (chatd_key_record_sign (signer, stripped, &v1, &error));
  g_assert_cmpuint (((const guint8 *) g_bytes_get_data (v1, NULL))[4], ==, 1);
  g_autoptr(ChatdKeyRecord) old = NULL;
  g_assert_true (chatd_key_record_verify (server, g_bytes_get_data (v1, NULL), g_bytes_get_size (v1), t0 + 1, &old,
                                          &error));
  g_assert_no_error (error);
  g_assert_false (chatd_key_record_has_feature (old, CHATD_FEATURE_PEER_SESSION));
  g_assert_cmpuint (old->version, ==, 1);
}

static void
test_round_trip (void)
{
  g_autoptr(TestDirectory) t = seeded ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) encoded = NULL;
  gint64 t0 = 1800000000;
  g_assert_true (chatd_directory_key_record (t->directory, "bob", t0, &encoded, &error));
  g_assert_no_error (error);
  g_autoptr(ChatdKey) server = server_public_key (t);
  g_autoptr(ChatdKeyRecord) record = NULL;
  g_assert_true (chatd_key_record_verify (server, g_bytes_get_data (encoded, NULL),
                                          g_bytes_get_size (encoded), t0 + 60, &record, &error));
  g_assert_no_error (error);
  g_autoptr(ChatdDirectoryUser) bob = NULL;
  g_assert_true (chatd_directory_get_user (t->directory, "Bob", &bob, &error));
  g_assert_cmpstr (record->name, ==, "Bob");
  g_assert_cmpstr (record->suite, ==, "25519");
  g_assert_true (g_bytes_equal (record->public_key, bob->public_key));
  g_assert_cmpint (record->issued_at, ==, t0);
  g_assert_cmpint (record->expires, ==, t0 + CHATD_DIRECTORY_KEY_RECORD_LIFETIME);

  /* the documented layout: magic, version, name, suite, key, times, features, signature */
  const guint8 *p = g_bytes_get_data (encoded, NULL);
  gsize key_len = g_bytes_get_size (bob->public_key);
  g_assert_cmpmem (p, 5, "CHKR\x02", 5);
  g_assert_cmpmem (p + 5, 4, "\x03" "Bob", 4);
  g_assert_cmpmem (p + 9, 6, "\x05" "25519", 6);
  g_assert_cmpuint ((gsize) p[15] << 8 | p[16], ==, key_len);
  g_assert_cmpmem (p + 17, key_len, g_bytes_get_data (bob->public_key, NULL), key_len);
  const guint8 *times = p + 17 + key_len;
  static const guint8 issued[8] = { 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0x00 };   /* 1800000000 */
  g_assert_cmpmem (times, 8, issued, 8);
  g_assert_cmpuint (times[16], ==, 0);   /* no features declared */
  g_assert_null (record->features);
  gsize sig_len = (gsize) times[17] << 8 | times[18];
  g_assert_cmpuint (sig_len, ==, 64);   /* Ed25519 */
  g_assert_cmpuint (g_bytes_get_size (encoded), ==, 17 + key_len + 16 + 1 + 2 + sig_len);
  /* the signature is chatd_domain_verify's "key-record" over the six fields */
  guint8 be_issued[8], be_expires[8];
  for (int i = 0; i < 8; i++)
    {
      be_issued[i] = times[i];
      be_expires[i] = times[8 + i];
    }
  ChatdSlice fields[] = {
    CHATD_SLICE ("Bob", 3), CHATD_SLICE ("25519", 5),
    CHATD_SLICE (g_bytes_get_data (bob->public_key, NULL), key_len),
    CHATD_SLICE (be_issued, 8), CHATD_SLICE (be_expires, 8), CHATD_SLICE ("\0", 1),
  };
  g_assert_true (chatd_domain_verify (server, "key-record", fields, G_N_ELEMENTS (fields),
                                      times + 19, sig_len, &error));
  g_assert_no_error (error);

  /* unknown user */
  g_autoptr(GBytes) none = NULL;
  g_assert_false (chatd_directory_key_record (t->directory, "Mallory", t0, &none, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND);
}

static void
test_tamper (void)
{
  g_autoptr(TestDirectory) t = seeded ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) encoded = NULL;
  gint64 t0 = 1800000000;
  g_assert_true (chatd_directory_key_record (t->directory, "Alice", t0, &encoded, &error));
  g_autoptr(ChatdKey) server = server_public_key (t);
  gsize len = g_bytes_get_size (encoded);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (encoded, NULL), len);
  for (gsize i = 0; i < len; i++)
    for (guint bit = 0; bit < 8; bit += 3)
      {
        g_autoptr(ChatdKeyRecord) record = NULL;
        copy[i] ^= 1u << bit;
        g_assert_false (chatd_key_record_verify (server, copy, len, t0 + 1, &record, &error));
        g_assert_nonnull (error);
        g_clear_error (&error);
        g_assert_null (record);
        copy[i] ^= 1u << bit;
      }
  /* truncated at every length, and one byte too many */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr(ChatdKeyRecord) record = NULL;
      g_assert_false (chatd_key_record_verify (server, copy, cut, t0 + 1, &record, &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_autofree guint8 *longer = g_malloc0 (len + 1);
  memcpy (longer, copy, len);
  g_autoptr(ChatdKeyRecord) record = NULL;
  g_assert_false (chatd_key_record_verify (server, longer, len + 1, t0 + 1, &record, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* untouched it still verifies */
  g_assert_true (chatd_key_record_verify (server, copy, len, t0 + 1, &record, &error));
  g_assert_no_error (error);
}

static void
test_time_and_key (void)
{
  g_autoptr(TestDirectory) t = seeded ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) encoded = NULL;
  gint64 t0 = 1800000000;
  g_assert_true (chatd_directory_key_record (t->directory, "Charlie", t0, &encoded, &error));
  g_autoptr(ChatdKey) server = server_public_key (t);
  const guint8 *data = g_bytes_get_data (encoded, NULL);
  gsize len = g_bytes_get_size (encoded);
  struct { gint64 at; gboolean ok; } cases[] = {
    { t0, TRUE },
    { t0 - CHATD_KEY_RECORD_SKEW, TRUE },
    { t0 - CHATD_KEY_RECORD_SKEW - 1, FALSE },          /* issued in the future */
    { t0 + CHATD_DIRECTORY_KEY_RECORD_LIFETIME - 1, TRUE },
    { t0 + CHATD_DIRECTORY_KEY_RECORD_LIFETIME, FALSE }, /* expired */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(ChatdKeyRecord) record = NULL;
      gboolean ok = chatd_key_record_verify (server, data, len, cases[i].at, &record, &error);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (!ok)
        {
          g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
          g_clear_error (&error);
        }
    }

  /* another server's key */
  g_autoptr(TestDirectory) other = seeded ();
  g_autoptr(ChatdKey) other_server = server_public_key (other);
  g_autoptr(ChatdKeyRecord) record = NULL;
  g_assert_false (chatd_key_record_verify (other_server, data, len, t0, &record, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);

  /* a record signed by a user's key is not a server's record */
  ChatdKeyRecord forged = { "Charlie", "25519", NULL, t0, t0 + 100 };
  g_autoptr(ChatdKey) mallory = chatd_suite_25519.generate (&chatd_suite_25519, 0, &error);
  forged.public_key = chatd_suite_25519.export_public (mallory, &error);
  g_autoptr(GBytes) forged_encoded = NULL;
  g_assert_true (chatd_key_record_sign (mallory, &forged, &forged_encoded, &error));
  g_assert_false (chatd_key_record_verify (server, g_bytes_get_data (forged_encoded, NULL),
                                           g_bytes_get_size (forged_encoded), t0, &record, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_bytes_unref (forged.public_key);

  /* signing refuses invalid fields */
  ChatdKeyRecord bad = { "bad name", "25519", chatd_directory_get_server_public (t->directory), t0, t0 + 1 };
  g_autoptr(GBytes) bad_encoded = NULL;
  g_assert_false (chatd_key_record_sign (mallory, &bad, &bad_encoded, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  ChatdKeyRecord backwards = { "Bob", "25519", chatd_directory_get_server_public (t->directory), t0, t0 };
  g_assert_false (chatd_key_record_sign (mallory, &backwards, &bad_encoded, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
}

static void
test_no_identity (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) encoded = NULL;
  g_assert_false (chatd_directory_key_record (t->directory, "Alice", 0, &encoded, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "seed"));
}

/* the body of a `users` response: a field list of records.  A malformed
 * list is an error with a message (the user node used to get FALSE without
 * an error here, and dereferenced it: found while writing fuzz-session). */
static void
test_list (void)
{
  g_autoptr(TestDirectory) t = seeded ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) alice = NULL, bob = NULL;
  gint64 t0 = 1800000000;
  g_assert_true (chatd_directory_key_record (t->directory, "alice", t0, &alice, &error));
  g_assert_true (chatd_directory_key_record (t->directory, "bob", t0, &bob, &error));
  g_autoptr(ChatdKey) server = server_public_key (t);
  g_autoptr(GByteArray) body = g_byte_array_new ();
  chatd_session_append_field (body, g_bytes_get_data (alice, NULL), g_bytes_get_size (alice));
  chatd_session_append_field (body, g_bytes_get_data (bob, NULL), g_bytes_get_size (bob));
  g_autoptr(GPtrArray) records = NULL;
  g_assert_true (chatd_key_record_list_verify (server, body->data, body->len, t0 + 60, &records, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (records->len, ==, 2);
  g_assert_cmpstr (((ChatdKeyRecord *) records->pdata[1])->name, ==, "Bob");
  g_clear_pointer (&records, g_ptr_array_unref);
  /* empty: no users */
  g_assert_true (chatd_key_record_list_verify (server, NULL, 0, t0, &records, &error));
  g_assert_cmpuint (records->len, ==, 0);
  g_clear_pointer (&records, g_ptr_array_unref);
  /* a length beyond the body, and a cut record: errors with a message */
  static const guint8 overlong[] = { 0x40, 0x10, 'x' };
  g_assert_false (chatd_key_record_list_verify (server, overlong, sizeof overlong, t0, &records, &error));
  g_assert_nonnull (error);
  g_assert_null (records);
  g_clear_error (&error);
  g_assert_false (chatd_key_record_list_verify (server, body->data, body->len - 1, t0 + 60, &records, &error));
  g_assert_nonnull (error);
  g_assert_null (records);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  g_test_add_func ("/server/key-record/round-trip-and-layout", test_round_trip);
  g_test_add_func ("/server/key-record/features", test_features);
  g_test_add_func ("/server/key-record/tamper", test_tamper);
  g_test_add_func ("/server/key-record/time-and-key", test_time_and_key);
  g_test_add_func ("/server/key-record/no-identity", test_no_identity);
  g_test_add_func ("/server/key-record/list", test_list);
  return g_test_run ();
}
