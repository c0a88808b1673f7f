/* test-directory.c: the server's directory: identity files, seeding,
 * enrolment tokens, users, fake login records.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "test-server-util.h"
#include "suite-rsa.h"

#include <gcrypt.h>

static gint64
now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static const char *const demo[] = { "Alice", "Bob", "Charlie", "Eve", NULL };

static void
assert_names (GVariant *report, const char *key, const char *const *want)
{
  g_autofree const char **names = NULL;
  g_assert_true (g_variant_lookup (report, key, "^a&s", &names));
  g_assert_cmpuint (g_strv_length ((char **) names), ==, (want ? g_strv_length ((char **) want) : 0));
  for (guint i = 0; want != NULL && want[i] != NULL; i++)
    g_assert_cmpstr (names[i], ==, want[i]);
}

/* ---- identity ---- */

static void
test_identity_created_once (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  gboolean created = FALSE;

  /* opening creates no identity: seeding does */
  g_assert_null (chatd_directory_get_server_key (t->directory));
  g_assert_null (chatd_directory_get_server_secret (t->directory));
  g_assert_true (chatd_directory_ensure_identity (t->directory, &created, &error));
  g_assert_no_error (error);
  g_assert_true (created);
  g_assert_nonnull (chatd_directory_get_server_key (t->directory));
  g_assert_cmpuint (test_mode (t, CHATD_DIRECTORY_KEY_FILE), ==, 0600);
  g_assert_cmpuint (test_mode (t, CHATD_DIRECTORY_SECRET_FILE), ==, 0600);
  g_assert_cmpuint (test_mode (t, CHATD_DIRECTORY_DB_FILE), ==, 0600);
  g_autoptr(GBytes) key = test_read_file (t, CHATD_DIRECTORY_KEY_FILE);
  g_autoptr(GBytes) pub = test_read_file (t, CHATD_DIRECTORY_PUB_FILE);
  g_autoptr(GBytes) secret = test_read_file (t, CHATD_DIRECTORY_SECRET_FILE);
  g_assert_cmpuint (g_bytes_get_size (secret), ==, CHATD_DIRECTORY_SECRET_LEN);
  g_assert_true (g_bytes_equal (pub, chatd_directory_get_server_public (t->directory)));

  g_assert_true (chatd_directory_ensure_identity (t->directory, &created, &error));
  g_assert_false (created);

  /* a restart loads the same identity, and ensuring changes nothing */
  g_assert_true (test_directory_reopen (t, &error));
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (pub, chatd_directory_get_server_public (t->directory)));
  g_assert_cmpmem (chatd_directory_get_server_secret (t->directory), CHATD_DIRECTORY_SECRET_LEN,
                   g_bytes_get_data (secret, NULL), g_bytes_get_size (secret));
  g_assert_true (chatd_directory_ensure_identity (t->directory, &created, &error));
  g_assert_false (created);
  g_autoptr(GBytes) key_after = test_read_file (t, CHATD_DIRECTORY_KEY_FILE);
  g_assert_true (g_bytes_equal (key, key_after));
}

typedef void (*Damage) (TestDirectory *t);

static void
write_file (TestDirectory *t, const char *file, const void *data, gsize len)
{
  g_autofree char *path = test_path (t, file);
  g_assert_true (g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
}

static void
damage_truncate_key (TestDirectory *t)
{
  g_autoptr(GBytes) key = test_read_file (t, CHATD_DIRECTORY_KEY_FILE);
  write_file (t, CHATD_DIRECTORY_KEY_FILE, g_bytes_get_data (key, NULL), g_bytes_get_size (key) - 1);
}

static void
damage_garbage_key (TestDirectory *t)
{
  write_file (t, CHATD_DIRECTORY_KEY_FILE, "not a key at all", 16);
}

static void
damage_flip_key_body (TestDirectory *t)
{
  /* still a valid private key, but server.pub no longer belongs to it */
  g_autoptr(GBytes) key = test_read_file (t, CHATD_DIRECTORY_KEY_FILE);
  g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (key, NULL), g_bytes_get_size (key));
  data[g_bytes_get_size (key) - 1] ^= 1;
  write_file (t, CHATD_DIRECTORY_KEY_FILE, data, g_bytes_get_size (key));
}

static void
damage_empty_key (TestDirectory *t)
{
  write_file (t, CHATD_DIRECTORY_KEY_FILE, "", 0);
}

static void
damage_short_secret (TestDirectory *t)
{
  write_file (t, CHATD_DIRECTORY_SECRET_FILE, "0123456789", 10);
}

static void
damage_missing_pub (TestDirectory *t)
{
  g_autofree char *path = test_path (t, CHATD_DIRECTORY_PUB_FILE);
  g_assert_no_errno (g_unlink (path));
}

static void
damage_mode_key (TestDirectory *t)
{
  g_autofree char *path = test_path (t, CHATD_DIRECTORY_KEY_FILE);
  g_assert_no_errno (g_chmod (path, 0644));
}

static void
damage_unreadable_key (TestDirectory *t)
{
  /* a directory where the key should be: not a regular file */
  g_autofree char *path = test_path (t, CHATD_DIRECTORY_KEY_FILE);
  g_assert_no_errno (g_unlink (path));
  g_assert_no_errno (g_mkdir (path, 0700));
}

static void
test_identity_damaged (gconstpointer data)
{
  Damage damage = (Damage) data;
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  test_seed_ok (t, FALSE);
  g_autoptr(GBytes) pub = test_read_file (t, CHATD_DIRECTORY_PUB_FILE);

  damage (t);
  g_assert_false (test_directory_reopen (t, &error));
  g_assert_nonnull (error);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, "server."));
  g_assert_null (t->directory);

  /* nothing was replaced: server.pub (when present) is unchanged */
  g_autofree char *pub_path = test_path (t, CHATD_DIRECTORY_PUB_FILE);
  if (g_file_test (pub_path, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GBytes) pub_after = test_read_file (t, CHATD_DIRECTORY_PUB_FILE);
      g_assert_true (g_bytes_equal (pub, pub_after));
    }
  g_autofree char *key_path = test_path (t, CHATD_DIRECTORY_KEY_FILE);
  if (g_file_test (key_path, G_FILE_TEST_IS_DIR))
    g_rmdir (key_path);
}

/* ---- seeding ---- */

static void
test_seed_twice_and_force (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;

  g_autoptr(GVariant) first = test_seed (t, FALSE, &error);
  g_assert_no_error (error);
  const char *server_key = NULL;
  g_assert_true (g_variant_lookup (first, "server-key", "&s", &server_key));
  g_assert_cmpstr (server_key, ==, "created");
  assert_names (first, "created", demo);
  assert_names (first, "kept", NULL);
  g_autoptr(GBytes) pub = test_read_file (t, CHATD_DIRECTORY_PUB_FILE);
  g_autoptr(GPtrArray) users = chatd_directory_list_users (t->directory, &error);
  g_assert_cmpuint (users->len, ==, 4);
  for (guint i = 0; i < users->len; i++)
    {
      const ChatdDirectoryUser *user = g_ptr_array_index (users, i);
      g_assert_cmpstr (user->name, ==, demo[i]);
      g_assert_cmpstr (user->suite, ==, CHATD_DIRECTORY_DEFAULT_SUITE);
      g_assert_cmpuint (g_bytes_get_size (user->wrapped_key), ==, CHATD_WRAP_BLOB_LEN);
    }

  /* the password is the name; the blob is wrapped for the folded name */
  const ChatdDirectoryUser *alice = g_ptr_array_index (users, 0);
  g_autoptr(ChatdKey) key = NULL;
  g_assert_true (chatd_password_unwrap_key ("alice", &chatd_suite_25519, (const guint8 *) "Alice", 5,
                                            g_bytes_get_data (alice->wrapped_key, NULL),
                                            CHATD_WRAP_BLOB_LEN, &key, &error));
  g_assert_no_error (error);
  g_autoptr(GBytes) unwrapped_pub = chatd_suite_25519.export_public (key, &error);
  g_assert_true (g_bytes_equal (unwrapped_pub, alice->public_key));
  ChatdKdfParams params;
  g_assert_true (chatd_password_wrapped_params (g_bytes_get_data (alice->wrapped_key, NULL),
                                                CHATD_WRAP_BLOB_LEN, &params, &error));
  g_assert_cmpuint (params.memory_kib, ==, test_kdf.memory_kib);
  g_assert_cmpuint (params.time_cost, ==, test_kdf.time_cost);

  /* twice: everything kept, keys unchanged */
  g_autoptr(GVariant) second = test_seed (t, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (second, "server-key", "&s", &server_key));
  g_assert_cmpstr (server_key, ==, "kept");
  assert_names (second, "created", NULL);
  assert_names (second, "kept", demo);
  g_autoptr(GPtrArray) users2 = chatd_directory_list_users (t->directory, &error);
  for (guint i = 0; i < users2->len; i++)
    {
      const ChatdDirectoryUser *a = g_ptr_array_index (users, i), *b = g_ptr_array_index (users2, i);
      g_assert_true (g_bytes_equal (a->public_key, b->public_key));
      g_assert_true (g_bytes_equal (a->wrapped_key, b->wrapped_key));
    }
  g_autoptr(GBytes) pub2 = test_read_file (t, CHATD_DIRECTORY_PUB_FILE);
  g_assert_true (g_bytes_equal (pub, pub2));

  /* a user other than the four is not touched by force */
  g_autofree char *token = NULL;
  g_assert_true (chatd_directory_add_enrolment (t->directory, "Dave", now (), &token, NULL, &error));

  /* force: the four replaced, the server key never */
  g_autoptr(GVariant) third = test_seed (t, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (third, "server-key", "&s", &server_key));
  g_assert_cmpstr (server_key, ==, "kept");
  assert_names (third, "replaced", demo);
  assert_names (third, "created", NULL);
  g_autoptr(GBytes) pub3 = test_read_file (t, CHATD_DIRECTORY_PUB_FILE);
  g_assert_true (g_bytes_equal (pub, pub3));
  g_autoptr(GPtrArray) users3 = chatd_directory_list_users (t->directory, &error);
  g_assert_cmpuint (users3->len, ==, 4);
  for (guint i = 0; i < users3->len; i++)
    {
      const ChatdDirectoryUser *a = g_ptr_array_index (users, i), *b = g_ptr_array_index (users3, i);
      g_assert_false (g_bytes_equal (a->public_key, b->public_key));
    }
  g_autoptr(GPtrArray) pending = chatd_directory_list_pending (t->directory, now (), &error);
  g_assert_cmpuint (pending->len, ==, 1);
}

static void
test_seed_after_restart (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  test_seed_ok (t, FALSE);
  g_autoptr(GBytes) pub = test_read_file (t, CHATD_DIRECTORY_PUB_FILE);
  g_assert_true (test_directory_reopen (t, &error));
  g_autoptr(GVariant) second = test_seed (t, FALSE, &error);
  g_assert_no_error (error);
  const char *server_key = NULL;
  g_assert_true (g_variant_lookup (second, "server-key", "&s", &server_key));
  g_assert_cmpstr (server_key, ==, "kept");
  assert_names (second, "kept", demo);
  g_autoptr(GBytes) pub2 = test_read_file (t, CHATD_DIRECTORY_PUB_FILE);
  g_assert_true (g_bytes_equal (pub, pub2));
}

/* ---- enrolment ---- */

typedef struct {
  GBytes *public_key;
  GBytes *wrapped_key;
} UserKeys;

/* What an enrolling node makes: its own key pair, wrapped for the folded name. */
static UserKeys
make_user_keys (const char *name, const char *password, const ChatdKdfParams *params)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdKey) key = chatd_suite_25519.generate (&chatd_suite_25519, 0, &error);
  g_assert_no_error (error);
  g_autofree char *folded = g_ascii_strdown (name, -1);
  UserKeys keys = { 0 };
  keys.public_key = chatd_suite_25519.export_public (key, &error);
  g_assert_true (chatd_password_wrap_key (folded, key, (const guint8 *) password, strlen (password),
                                          params, &keys.wrapped_key, &error));
  g_assert_no_error (error);
  return keys;
}

static void
user_keys_clear (UserKeys *keys)
{
  g_clear_pointer (&keys->public_key, g_bytes_unref);
  g_clear_pointer (&keys->wrapped_key, g_bytes_unref);
}

static gboolean
user_exists (TestDirectory *t, const char *name)
{
  g_autoptr(ChatdDirectoryUser) user = NULL;
  g_autoptr(GError) error = NULL;
  gboolean found = chatd_directory_get_user (t->directory, name, &user, &error);
  if (!found)
    g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND);
  return found;
}

static guint
n_pending (TestDirectory *t, gint64 at)
{
  g_autoptr(GPtrArray) pending = chatd_directory_list_pending (t->directory, at, NULL);
  return pending->len;
}

static void
test_enrol_tokens (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  gint64 t0 = now ();
  g_autofree char *token = NULL;
  gint64 expires = 0;
  g_assert_true (chatd_directory_add_enrolment (t->directory, "Dave", t0, &token, &expires, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (token), ==, CHATD_ENROL_TOKEN_TEXT_LEN);
  g_assert_cmpint (expires, ==, t0 + CHATD_DIRECTORY_TOKEN_LIFETIME);
  g_assert_cmpuint (n_pending (t, t0), ==, 1);

  /* a second token for the same pending name is refused */
  g_autofree char *token2 = NULL;
  g_assert_false (chatd_directory_add_enrolment (t->directory, "dave", t0, &token2, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_null (token2);

  UserKeys keys = make_user_keys ("Dave", "dave's password", &test_kdf);

  /* wrong tokens: a changed digit, malformed, empty; each refused alike */
  g_autofree char *wrong = g_strdup (token);
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  const char *bad_tokens[] = { wrong, "not-a-token", "", "00000000000000000000000000000000" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_tokens); i++)
    {
      g_assert_false (chatd_directory_enroll (t->directory, "Dave", bad_tokens[i], "25519",
                                              keys.public_key, keys.wrapped_key, t0, &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
      g_assert_nonnull (strstr (error->message, "wrong, already used or expired"));
      g_clear_error (&error);
      g_assert_false (user_exists (t, "Dave"));
      g_assert_cmpuint (n_pending (t, t0), ==, 1);
    }
  /* the right token for another name */
  g_assert_false (chatd_directory_enroll (t->directory, "Mallory", token, "25519",
                                          keys.public_key, keys.wrapped_key, t0, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (user_exists (t, "Mallory"));

  /* bad keys are refused before the token is looked at: the token survives */
  g_autoptr(GBytes) short_blob = g_bytes_new_from_bytes (keys.wrapped_key, 0, CHATD_WRAP_BLOB_LEN - 1);
  g_assert_false (chatd_directory_enroll (t->directory, "Dave", token, "25519",
                                          keys.public_key, short_blob, t0, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_autoptr(GBytes) garbage_key = g_bytes_new_static ("CHDK garbage", 12);
  g_assert_false (chatd_directory_enroll (t->directory, "Dave", token, "25519",
                                          garbage_key, keys.wrapped_key, t0, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (chatd_directory_enroll (t->directory, "Dave", token, "rot13",
                                          keys.public_key, keys.wrapped_key, t0, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_autofree guint8 *bad_magic = g_memdup2 (g_bytes_get_data (keys.wrapped_key, NULL), CHATD_WRAP_BLOB_LEN);
  bad_magic[0] ^= 0xff;
  g_autoptr(GBytes) bad_magic_blob = g_bytes_new (bad_magic, CHATD_WRAP_BLOB_LEN);
  g_assert_false (chatd_directory_enroll (t->directory, "Dave", token, "25519",
                                          keys.public_key, bad_magic_blob, t0, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* weaker KDF parameters than the server asks for */
  const ChatdKdfParams weak = { 1, 8, 1 };
  UserKeys weak_keys = make_user_keys ("Dave", "dave's password", &weak);
  g_assert_false (chatd_directory_enroll (t->directory, "Dave", token, "25519",
                                          weak_keys.public_key, weak_keys.wrapped_key, t0, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "weaker"));
  g_clear_error (&error);
  user_keys_clear (&weak_keys);
  g_assert_false (user_exists (t, "Dave"));

  /* the right token, once (the name matches case-insensitively) */
  g_assert_true (chatd_directory_enroll (t->directory, "dave", token, "25519",
                                         keys.public_key, keys.wrapped_key, t0 + 10, &error));
  g_assert_no_error (error);
  g_autoptr(ChatdDirectoryUser) dave = NULL;
  g_assert_true (chatd_directory_get_user (t->directory, "DAVE", &dave, &error));
  g_assert_cmpstr (dave->name, ==, "Dave");   /* as registered by useradd */
  g_assert_true (g_bytes_equal (dave->public_key, keys.public_key));
  g_assert_true (g_bytes_equal (dave->wrapped_key, keys.wrapped_key));
  g_assert_cmpuint (n_pending (t, t0), ==, 0);

  /* reused: refused, nothing changes */
  UserKeys other = make_user_keys ("Dave", "another", &test_kdf);
  g_assert_false (chatd_directory_enroll (t->directory, "Dave", token, "25519",
                                          other.public_key, other.wrapped_key, t0 + 20, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_autoptr(ChatdDirectoryUser) dave_again = NULL;
  g_assert_true (chatd_directory_get_user (t->directory, "Dave", &dave_again, &error));
  g_assert_true (g_bytes_equal (dave_again->public_key, keys.public_key));

  /* a registered name gets no token */
  g_autofree char *token3 = NULL;
  g_assert_false (chatd_directory_add_enrolment (t->directory, "DAVE", t0, &token3, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS);
  g_clear_error (&error);

  user_keys_clear (&keys);
  user_keys_clear (&other);
}

static void
test_enrol_expired (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  gint64 t0 = now ();
  g_autofree char *token = NULL;
  gint64 expires = 0;
  g_assert_true (chatd_directory_add_enrolment (t->directory, "Erin", t0, &token, &expires, &error));
  UserKeys keys = make_user_keys ("Erin", "erin", &test_kdf);
  g_assert_false (chatd_directory_enroll (t->directory, "Erin", token, "25519",
                                          keys.public_key, keys.wrapped_key, expires, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "wrong, already used or expired"));
  g_clear_error (&error);
  g_assert_false (user_exists (t, "Erin"));
  /* an expired token no longer blocks a new one */
  g_assert_cmpuint (n_pending (t, expires), ==, 0);
  g_autofree char *fresh = NULL;
  g_assert_true (chatd_directory_add_enrolment (t->directory, "Erin", expires, &fresh, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (fresh, !=, token);
  /* the old token does not work for the new enrolment either */
  g_assert_false (chatd_directory_enroll (t->directory, "Erin", token, "25519",
                                          keys.public_key, keys.wrapped_key, expires + 1, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_true (chatd_directory_enroll (t->directory, "Erin", fresh, "25519",
                                         keys.public_key, keys.wrapped_key, expires + 1, &error));
  g_assert_no_error (error);
  user_keys_clear (&keys);
}

/* what a refused enrolment tells the holder of the name's own token */
static void
test_token_state (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  gint64 t0 = now (), expires = 0, told = 0;
  g_autofree char *token = NULL, *fresh = NULL;
  ChatdTokenState state = CHATD_TOKEN_VALID;
  g_assert_true (chatd_directory_token_state (t->directory, "Nobody", "00112233445566778899aabbccddeeff",
                                              t0, &state, NULL, &error));
  g_assert_cmpint (state, ==, CHATD_TOKEN_NONE);
  g_assert_true (chatd_directory_add_enrolment (t->directory, "Erin", t0, &token, &expires, &error));
  g_assert_true (chatd_directory_token_state (t->directory, "ERIN", token, t0, &state, &told, &error));
  g_assert_cmpint (state, ==, CHATD_TOKEN_VALID);
  g_assert_cmpint (told, ==, expires);
  g_assert_true (chatd_directory_token_state (t->directory, "Erin", "00112233445566778899aabbccddeeff",
                                              t0, &state, NULL, &error));
  g_assert_cmpint (state, ==, CHATD_TOKEN_WRONG);
  g_assert_true (chatd_directory_token_state (t->directory, "Erin", "not hex", t0, &state, NULL, &error));
  g_assert_cmpint (state, ==, CHATD_TOKEN_WRONG);
  g_assert_true (chatd_directory_token_state (t->directory, "Erin", token, expires, &state, NULL, &error));
  g_assert_cmpint (state, ==, CHATD_TOKEN_EXPIRED);
  /* a new token replaces the expired one: the old one is wrong now */
  g_assert_true (chatd_directory_add_enrolment (t->directory, "Erin", expires, &fresh, NULL, &error));
  g_assert_true (chatd_directory_token_state (t->directory, "Erin", token, expires, &state, NULL, &error));
  g_assert_cmpint (state, ==, CHATD_TOKEN_WRONG);
  UserKeys keys = make_user_keys ("Erin", "erin", &test_kdf);
  g_assert_true (chatd_directory_enroll (t->directory, "Erin", fresh, "25519",
                                         keys.public_key, keys.wrapped_key, expires + 1, &error));
  g_assert_no_error (error);
  g_assert_true (chatd_directory_token_state (t->directory, "Erin", fresh, expires + 1, &state, NULL, &error));
  g_assert_cmpint (state, ==, CHATD_TOKEN_USED);
  user_keys_clear (&keys);
}

static void
test_tokens_stored_hashed (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_assert_true (chatd_directory_add_enrolment (t->directory, "Dave", now (), &token, NULL, &error));
  /* neither the token's text nor its bytes are in the database files */
  guint8 raw[CHATD_ENROL_TOKEN_LEN];
  for (guint i = 0; i < sizeof raw; i++)
    raw[i] = (guint8) (g_ascii_xdigit_value (token[2 * i]) << 4 | g_ascii_xdigit_value (token[2 * i + 1]));
  const char *files[] = { CHATD_DIRECTORY_DB_FILE, CHATD_DIRECTORY_DB_FILE "-wal" };
  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autofree char *path = test_path (t, files[f]);
      g_autofree char *contents = NULL;
      gsize len = 0;
      if (!g_file_get_contents (path, &contents, &len, NULL))
        continue;
      g_assert_null (memmem (contents, len, token, strlen (token)));
      g_assert_null (memmem (contents, len, raw, sizeof raw));
    }
}

/* ---- users ---- */

static void
test_users_add_delete (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  const char *bad_names[] = { "bad name", "server", "SERVER", "", "-dash", "a/b",
                              "abcdefghijklmnopqrstuvwxyz0123456" /* 33 */ };
  for (guint i = 0; i < G_N_ELEMENTS (bad_names); i++)
    {
      g_assert_false (chatd_directory_add_enrolment (t->directory, bad_names[i], now (), &token,
                                                     NULL, &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
      g_assert_false (chatd_directory_delete_user (t->directory, bad_names[i], &error));
      g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }
  g_assert_true (chatd_directory_add_enrolment (t->directory, "abcdefghijklmnopqrstuvwxyz012345",
                                                now (), &token, NULL, &error));
  g_assert_no_error (error);

  test_seed_ok (t, FALSE);
  /* a pending enrolment is deleted like a user */
  g_assert_true (chatd_directory_delete_user (t->directory, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_pending (t, now ()), ==, 0);
  g_assert_true (chatd_directory_delete_user (t->directory, "eve", &error));
  g_assert_false (user_exists (t, "Eve"));
  g_assert_false (chatd_directory_delete_user (t->directory, "Eve", &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autoptr(GPtrArray) users = chatd_directory_list_users (t->directory, &error);
  g_assert_cmpuint (users->len, ==, 3);
}

/* reopens t's directory with [server] user-suite = suite */
static void
reopen_with_user_suite (TestDirectory *t, const char *suite)
{
  g_autoptr(GError) error = NULL;
  g_clear_pointer (&t->directory, chatd_directory_free);
  ChatdDirectoryConfig config = test_config ();
  config.user_suite = suite;
  t->directory = chatd_directory_open (t->state_dir, &config, t->registry, &error);
  g_assert_no_error (error);
}

static ChatdDirectoryUser *
add_with_password (TestDirectory *t, const char *name, GError **error)
{
  GAsyncResult *result = NULL;
  chatd_directory_add_user_with_password_async (t->directory, name, (const guint8 *) "pw", 2,
                                                on_async_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  ChatdDirectoryUser *user = chatd_directory_add_user_with_password_finish (result, error);
  g_object_unref (result);
  return user;
}

/* [server] user-suite: the user keys the server makes are of that suite
 * (chat-bench seeds RSA users this way); a suite that is not loaded is refused */
static void
test_users_user_suite (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  test_seed_ok (t, FALSE);
  g_assert_true (chatd_registry_add_suite (t->registry, &chatd_suite_rsa, "suite-rsa", &error));
  g_assert_no_error (error);

  reopen_with_user_suite (t, "rsa");
  g_autoptr(ChatdDirectoryUser) frank = add_with_password (t, "Frank", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (frank->suite, ==, "rsa");
  g_autoptr(ChatdKey) key = NULL;
  g_assert_true (chatd_password_unwrap_key ("frank", &chatd_suite_rsa, (const guint8 *) "pw", 2,
                                            g_bytes_get_data (frank->wrapped_key, NULL),
                                            CHATD_WRAP_BLOB_LEN, &key, &error));
  g_assert_no_error (error);

  reopen_with_user_suite (t, "no-such-suite");
  g_autoptr(ChatdDirectoryUser) none = add_with_password (t, "Gina", &error);
  g_assert_null (none);
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
}

static void
test_users_with_password (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  test_seed_ok (t, FALSE);

  GAsyncResult *result = NULL;
  chatd_directory_add_user_with_password_async (t->directory, "Frank", (const guint8 *) "pw", 2,
                                                on_async_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_autoptr(ChatdDirectoryUser) frank = chatd_directory_add_user_with_password_finish (result, &error);
  g_clear_object (&result);
  g_assert_no_error (error);
  g_assert_cmpstr (frank->name, ==, "Frank");
  g_autoptr(ChatdKey) key = NULL;
  g_assert_true (chatd_password_unwrap_key ("frank", &chatd_suite_25519, (const guint8 *) "pw", 2,
                                            g_bytes_get_data (frank->wrapped_key, NULL),
                                            CHATD_WRAP_BLOB_LEN, &key, &error));
  g_assert_no_error (error);

  /* an existing name (any case), a bad name, an empty password */
  const struct { const char *name; const char *password; gint code; } refused[] = {
    { "frank", "x", CHATD_ERROR_EXISTS },
    { "ALICE", "x", CHATD_ERROR_EXISTS },
    { "bad name", "x", CHATD_ERROR_INVALID_ARGUMENT },
    { "Gina", "", CHATD_ERROR_INVALID_ARGUMENT },
  };
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      chatd_directory_add_user_with_password_async (t->directory, refused[i].name,
                                                    (const guint8 *) refused[i].password,
                                                    strlen (refused[i].password), on_async_done, &result);
      while (result == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_autoptr(ChatdDirectoryUser) none = chatd_directory_add_user_with_password_finish (result, &error);
      g_clear_object (&result);
      g_assert_null (none);
      g_assert_error (error, CHATD_ERROR, refused[i].code);
      g_clear_error (&error);
    }
  g_autoptr(GPtrArray) users = chatd_directory_list_users (t->directory, &error);
  g_assert_cmpuint (users->len, ==, 5);
}

static void
test_users_set_wrapped_key (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  test_seed_ok (t, FALSE);
  g_autoptr(ChatdDirectoryUser) before = NULL;
  g_assert_true (chatd_directory_get_user (t->directory, "Bob", &before, &error));

  /* re-wrap Bob's key with a new password, as his node would for passwd */
  g_autoptr(ChatdKey) key = NULL;
  g_assert_true (chatd_password_unwrap_key ("bob", &chatd_suite_25519, (const guint8 *) "Bob", 3,
                                            g_bytes_get_data (before->wrapped_key, NULL),
                                            CHATD_WRAP_BLOB_LEN, &key, &error));
  g_autoptr(GBytes) rewrapped = NULL;
  g_assert_true (chatd_password_wrap_key ("bob", key, (const guint8 *) "new", 3, &test_kdf,
                                          &rewrapped, &error));
  g_assert_no_error (error);

  /* refused: a short blob, weaker parameters, an unknown user; nothing changes */
  g_autoptr(GBytes) short_blob = g_bytes_new_from_bytes (rewrapped, 1, CHATD_WRAP_BLOB_LEN - 1);
  g_assert_false (chatd_directory_set_wrapped_key (t->directory, "Bob", short_blob, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  const ChatdKdfParams weak = { 1, 8, 1 };
  g_autoptr(GBytes) weak_blob = NULL;
  g_assert_true (chatd_password_wrap_key ("bob", key, (const guint8 *) "new", 3, &weak,
                                          &weak_blob, &error));
  g_assert_false (chatd_directory_set_wrapped_key (t->directory, "Bob", weak_blob, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (chatd_directory_set_wrapped_key (t->directory, "Mallory", rewrapped, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autoptr(ChatdDirectoryUser) unchanged = NULL;
  g_assert_true (chatd_directory_get_user (t->directory, "Bob", &unchanged, &error));
  g_assert_true (g_bytes_equal (unchanged->wrapped_key, before->wrapped_key));

  g_assert_true (chatd_directory_set_wrapped_key (t->directory, "bob", rewrapped, &error));
  g_assert_no_error (error);
  g_autoptr(ChatdDirectoryUser) after = NULL;
  g_assert_true (chatd_directory_get_user (t->directory, "Bob", &after, &error));
  g_assert_true (g_bytes_equal (after->wrapped_key, rewrapped));
  g_assert_true (g_bytes_equal (after->public_key, before->public_key));
  g_autoptr(ChatdKey) again = NULL;
  g_assert_true (chatd_password_unwrap_key ("bob", &chatd_suite_25519, (const guint8 *) "new", 3,
                                            g_bytes_get_data (after->wrapped_key, NULL),
                                            CHATD_WRAP_BLOB_LEN, &again, &error));
  g_assert_no_error (error);
}

/* ---- fake login records ---- */

static void
assert_same_shape (GBytes *a, GBytes *b)
{
  g_assert_cmpuint (g_bytes_get_size (a), ==, CHATD_WRAP_BLOB_LEN);
  g_assert_cmpuint (g_bytes_get_size (b), ==, CHATD_WRAP_BLOB_LEN);
  const guint8 *x = g_bytes_get_data (a, NULL), *y = g_bytes_get_data (b, NULL);
  /* magic, version and KDF parameters equal; salt, nonce, ciphertext differ */
  g_assert_cmpmem (x, 17, y, 17);
  g_assert_true (memcmp (x + 17, y + 17, CHATD_WRAP_SALT_LEN) != 0);
  g_assert_true (memcmp (x + CHATD_WRAP_HEADER_LEN, y + CHATD_WRAP_HEADER_LEN, 64) != 0);
  ChatdKdfParams pa, pb;
  g_assert_true (chatd_password_wrapped_params (x, CHATD_WRAP_BLOB_LEN, &pa, NULL));
  g_assert_true (chatd_password_wrapped_params (y, CHATD_WRAP_BLOB_LEN, &pb, NULL));
  g_assert_cmpmem (&pa, sizeof pa, &pb, sizeof pb);
}

static void
test_fake_records (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdLoginRecord) before = NULL;

  /* no identity yet: no records at all */
  g_assert_false (chatd_directory_login_record (t->directory, "Alice", &before, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);

  test_seed_ok (t, FALSE);
  g_autoptr(ChatdLoginRecord) alice = NULL, mallory = NULL, mallory2 = NULL, mallory_lower = NULL;
  g_autoptr(ChatdLoginRecord) trudy = NULL, fake_alice = NULL;
  g_assert_true (chatd_directory_login_record (t->directory, "Alice", &alice, &error));
  g_assert_true (chatd_directory_login_record (t->directory, "Mallory", &mallory, &error));
  g_assert_true (chatd_directory_login_record (t->directory, "Mallory", &mallory2, &error));
  g_assert_true (chatd_directory_login_record (t->directory, "mallory", &mallory_lower, &error));
  g_assert_true (chatd_directory_login_record (t->directory, "Trudy", &trudy, &error));
  g_assert_true (chatd_directory_fake_login_record (t->directory, "Alice", &fake_alice, &error));
  g_assert_no_error (error);

  /* the real one is the stored one */
  g_autoptr(ChatdDirectoryUser) stored = NULL;
  g_assert_true (chatd_directory_get_user (t->directory, "alice", &stored, &error));
  g_assert_true (g_bytes_equal (alice->wrapped_key, stored->wrapped_key));
  g_assert_true (g_bytes_equal (alice->public_key, stored->public_key));
  g_assert_false (g_bytes_equal (fake_alice->wrapped_key, alice->wrapped_key));

  /* same length and shape as a real one */
  assert_same_shape (alice->wrapped_key, mallory->wrapped_key);
  g_assert_cmpstr (mallory->suite, ==, alice->suite);
  g_assert_cmpuint (g_bytes_get_size (mallory->public_key), ==, g_bytes_get_size (alice->public_key));
  /* its public key is a real key of the suite */
  g_autoptr(ChatdKey) fake_key = chatd_suite_25519.import_public (&chatd_suite_25519,
    g_bytes_get_data (mallory->public_key, NULL), g_bytes_get_size (mallory->public_key), &error);
  g_assert_no_error (error);
  g_assert_nonnull (fake_key);

  /* stable per name (case-insensitively), different across names */
  g_assert_true (g_bytes_equal (mallory->wrapped_key, mallory2->wrapped_key));
  g_assert_true (g_bytes_equal (mallory->public_key, mallory2->public_key));
  g_assert_true (g_bytes_equal (mallory->wrapped_key, mallory_lower->wrapped_key));
  g_assert_false (g_bytes_equal (mallory->wrapped_key, trudy->wrapped_key));
  g_assert_false (g_bytes_equal (mallory->public_key, trudy->public_key));
  assert_same_shape (mallory->wrapped_key, trudy->wrapped_key);

  /* stable across a restart (derived from server.secret) */
  g_assert_true (test_directory_reopen (t, &error));
  g_autoptr(ChatdLoginRecord) mallory3 = NULL;
  g_assert_true (chatd_directory_login_record (t->directory, "Mallory", &mallory3, &error));
  g_assert_true (g_bytes_equal (mallory->wrapped_key, mallory3->wrapped_key));

  /* no password unwraps it */
  const char *passwords[] = { "Mallory", "mallory", "", "password", "Alice" };
  for (guint i = 0; i < G_N_ELEMENTS (passwords); i++)
    {
      g_autoptr(ChatdKey) key = NULL;
      g_assert_false (chatd_password_unwrap_key ("mallory", &chatd_suite_25519,
                                                 (const guint8 *) passwords[i], strlen (passwords[i]),
                                                 g_bytes_get_data (mallory->wrapped_key, NULL),
                                                 CHATD_WRAP_BLOB_LEN, &key, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
      g_assert_null (key);
    }

  /* an invalid name gets no record */
  g_autoptr(ChatdLoginRecord) none = NULL;
  g_assert_false (chatd_directory_login_record (t->directory, "bad name", &none, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
}

/* A real and an unknown name cost about the same (the fake is always made). */
static void
test_fake_records_timing (void)
{
  g_autoptr(TestDirectory) t = test_directory_new ();
  g_autoptr(GError) error = NULL;
  test_seed_ok (t, FALSE);
  const guint rounds = 7, per_round = 20;
  gint64 real_best = G_MAXINT64, fake_best = G_MAXINT64;
  for (guint r = 0; r < rounds; r++)
    {
      const char *names[] = { "Alice", "Nobody" };
      gint64 *best[] = { &real_best, &fake_best };
      for (guint k = 0; k < 2; k++)
        {
          gint64 start = g_get_monotonic_time ();
          for (guint i = 0; i < per_round; i++)
            {
              g_autoptr(ChatdLoginRecord) record = NULL;
              g_assert_true (chatd_directory_login_record (t->directory, names[k], &record, &error));
            }
          gint64 took = g_get_monotonic_time () - start;
          *best[k] = MIN (*best[k], took);
        }
    }
  g_test_message ("best of %u rounds of %u lookups: real %" G_GINT64_FORMAT " us, unknown %"
                  G_GINT64_FORMAT " us", rounds, per_round, real_best, fake_best);
  g_assert_cmpint (real_best * 2, >, fake_best);
  g_assert_cmpint (fake_best * 2, >, real_best);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));

  g_test_add_func ("/server/identity/created-once", test_identity_created_once);
  g_test_add_func ("/server/enrol/token-state", test_token_state);
  g_test_add_data_func ("/server/identity/damaged/truncated-key", damage_truncate_key, test_identity_damaged);
  g_test_add_data_func ("/server/identity/damaged/garbage-key", damage_garbage_key, test_identity_damaged);
  g_test_add_data_func ("/server/identity/damaged/other-key", damage_flip_key_body, test_identity_damaged);
  g_test_add_data_func ("/server/identity/damaged/empty-key", damage_empty_key, test_identity_damaged);
  g_test_add_data_func ("/server/identity/damaged/short-secret", damage_short_secret, test_identity_damaged);
  g_test_add_data_func ("/server/identity/damaged/missing-pub", damage_missing_pub, test_identity_damaged);
  g_test_add_data_func ("/server/identity/damaged/key-mode-0644", damage_mode_key, test_identity_damaged);
  g_test_add_data_func ("/server/identity/damaged/key-not-a-file", damage_unreadable_key, test_identity_damaged);
  g_test_add_func ("/server/seed/twice-and-force", test_seed_twice_and_force);
  g_test_add_func ("/server/seed/after-restart", test_seed_after_restart);
  g_test_add_func ("/server/enrol/tokens", test_enrol_tokens);
  g_test_add_func ("/server/enrol/expired", test_enrol_expired);
  g_test_add_func ("/server/enrol/stored-hashed", test_tokens_stored_hashed);
  g_test_add_func ("/server/users/add-delete", test_users_add_delete);
  g_test_add_func ("/server/users/with-password", test_users_with_password);
  g_test_add_func ("/server/users/user-suite", test_users_user_suite);
  g_test_add_func ("/server/users/set-wrapped-key", test_users_set_wrapped_key);
  g_test_add_func ("/server/login-record/fake", test_fake_records);
  g_test_add_func ("/server/login-record/timing", test_fake_records_timing);
  return g_test_run ();
}
