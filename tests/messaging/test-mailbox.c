/* test-mailbox.c: what the mailbox keeps in memory (pinned contacts, the
 * outbox row count) always says what the database says: after a pin, a
 * changed key, the sessions mark, a rollback and a reopen; duplicates in
 * one group commit; deletions in a lazy group commit. */
#include "mailbox.h"
#include "crypto-init.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

static void
remove_dir (const char *dir)
{
  static const char *const files[] = { "mailbox.db", "mailbox.db-wal", "mailbox.db-shm", NULL };
  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

static GBytes *
key_of (char c)
{
  guint8 key[32];
  memset (key, c, sizeof key);
  return g_bytes_new (key, sizeof key);
}

static void
assert_key (ChatdMailbox *mailbox, const char *name, GBytes *expected)
{
  g_autofree char *suite = NULL;
  g_autoptr(GBytes) key = chatd_mailbox_contact_key (mailbox, name, &suite);
  g_assert_nonnull (key);
  g_assert_true (g_bytes_equal (key, expected));
  g_assert_cmpstr (suite, ==, "25519");
}

static guint
history_length (ChatdMailbox *mailbox, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) contact = chatd_mailbox_contact (mailbox, name, &error);
  g_assert_no_error (error);
  g_autoptr(GVariant) history = g_variant_lookup_value (contact, "history", G_VARIANT_TYPE_STRING_ARRAY);
  return (guint) g_variant_n_children (history);
}

/* the same key again is no change; another key is a change (the sender's
 * warning and key-changed event hang on it), every time, and the kept copy
 * follows each write */
static void
test_contact_cache (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-mailbox-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  ChatdMailbox *mailbox = chatd_mailbox_open (dir, &error);
  g_assert_no_error (error);
  g_autoptr(GBytes) a = key_of ('a');
  g_autoptr(GBytes) b = key_of ('b');
  g_autoptr(GBytes) c = key_of ('c');
  gboolean changed = TRUE;

  g_assert_null (chatd_mailbox_contact_key (mailbox, "Bob", NULL));
  g_assert_false (chatd_mailbox_contact_sessions (mailbox, "Bob"));
  g_assert_true (chatd_mailbox_pin_contact (mailbox, "Bob", "25519", a, &changed, &error));
  g_assert_false (changed);                        /* first use */
  assert_key (mailbox, "Bob", a);
  assert_key (mailbox, "bOB", a);                  /* names fold as in the database */
  for (guint i = 0; i < 3; i++)
    {
      g_assert_true (chatd_mailbox_pin_contact (mailbox, "BOB", "25519", a, &changed, &error));
      g_assert_false (changed);
    }
  g_assert_cmpuint (history_length (mailbox, "Bob"), ==, 0);

  /* a new key: changed, once; then it is the pinned one */
  g_assert_true (chatd_mailbox_pin_contact (mailbox, "Bob", "25519", b, &changed, &error));
  g_assert_true (changed);
  assert_key (mailbox, "Bob", b);
  g_assert_true (chatd_mailbox_pin_contact (mailbox, "Bob", "25519", b, &changed, &error));
  g_assert_false (changed);
  /* and back to the first: a change again, not remembered as "seen" */
  g_assert_true (chatd_mailbox_pin_contact (mailbox, "bob", "25519", a, &changed, &error));
  g_assert_true (changed);
  assert_key (mailbox, "Bob", a);
  g_assert_cmpuint (history_length (mailbox, "Bob"), ==, 2);

  /* the sessions mark: sticky, through key changes */
  g_assert_true (chatd_mailbox_set_contact_sessions (mailbox, "Bob", &error));
  g_assert_true (chatd_mailbox_contact_sessions (mailbox, "BOB"));
  g_assert_true (chatd_mailbox_set_contact_sessions (mailbox, "Bob", &error));
  g_assert_true (chatd_mailbox_pin_contact (mailbox, "Bob", "25519", c, &changed, &error));
  g_assert_true (changed);
  g_assert_true (chatd_mailbox_contact_sessions (mailbox, "Bob"));
  g_assert_false (chatd_mailbox_contact_sessions (mailbox, "Carol"));
  g_assert_no_error (error);

  /* what a restart reads is what was kept */
  chatd_mailbox_free (mailbox);
  mailbox = chatd_mailbox_open (dir, &error);
  g_assert_no_error (error);
  assert_key (mailbox, "Bob", c);
  g_assert_true (chatd_mailbox_contact_sessions (mailbox, "Bob"));
  g_assert_true (chatd_mailbox_pin_contact (mailbox, "Bob", "25519", c, &changed, &error));
  g_assert_false (changed);
  g_assert_true (chatd_mailbox_pin_contact (mailbox, "Bob", "25519", a, &changed, &error));
  g_assert_true (changed);
  chatd_mailbox_free (mailbox);
  remove_dir (dir);
}

/* a rolled-back write leaves nothing behind in memory either */
static void
test_rollback_forgets (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-mailbox-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  g_autoptr(GBytes) a = key_of ('a');
  gboolean changed = FALSE;
  g_assert_true (chatd_mailbox_pin_contact (mailbox, "Carol", "25519", a, &changed, &error));
  g_assert_false (chatd_mailbox_contact_sessions (mailbox, "Carol"));

  g_assert_true (chatd_mailbox_begin (mailbox, &error));
  g_assert_true (chatd_mailbox_set_contact_sessions (mailbox, "Carol", &error));
  g_assert_true (chatd_mailbox_contact_sessions (mailbox, "Carol"));   /* read inside the transaction */
  chatd_mailbox_rollback (mailbox);
  g_assert_false (chatd_mailbox_contact_sessions (mailbox, "Carol"));

  /* the outbox count: rows added and rolled back do not count */
  chatd_mailbox_set_outbox_limit (mailbox, 2);
  g_autoptr(GBytes) blob = g_bytes_new_static ("x", 1);
  g_assert_true (chatd_mailbox_begin (mailbox, &error));
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "01", "Carol", blob, "25519", blob, 1, &error));
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "02", "Carol", blob, "25519", blob, 2, &error));
  g_assert_false (chatd_mailbox_outbox_add (mailbox, "03", "Carol", blob, "25519", blob, 3, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  chatd_mailbox_rollback (mailbox);
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "04", "Carol", blob, "25519", blob, 4, &error));
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "05", "Carol", blob, "25519", blob, 5, &error));
  g_assert_false (chatd_mailbox_outbox_add (mailbox, "06", "Carol", blob, "25519", blob, 6, &error));
  g_clear_error (&error);
  /* a deletion of a row that is not there frees nothing */
  g_assert_true (chatd_mailbox_outbox_delete (mailbox, "01", &error));
  g_assert_false (chatd_mailbox_outbox_add (mailbox, "06", "Carol", blob, "25519", blob, 6, &error));
  g_clear_error (&error);
  g_assert_true (chatd_mailbox_outbox_delete (mailbox, "04", &error));
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "06", "Carol", blob, "25519", blob, 6, &error));
  g_assert_no_error (error);
  g_clear_pointer (&mailbox, chatd_mailbox_free);
  remove_dir (dir);
}

/* the same message twice in one group commit is one row and a duplicate;
 * the same id with other content is refused */
static void
test_duplicates_in_one_commit (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-mailbox-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  ChatdMessage m = { .id_text = (char *) "0f0e0d0c0b0a09080706050403020100", .time_ms = 7,
                     .sender = (char *) "Alice", .recipient = (char *) "Bob", .text = (char *) "hi" };
  memset (m.hash, 3, 32);
  gboolean dup = TRUE;
  g_assert_true (chatd_mailbox_begin (mailbox, &error));
  g_assert_true (chatd_mailbox_store (mailbox, &m, &dup, &error));
  g_assert_false (dup);
  g_assert_true (chatd_mailbox_store (mailbox, &m, &dup, &error));
  g_assert_true (dup);
  ChatdMessage other = m;
  other.text = (char *) "bye";
  memset (other.hash, 4, 32);
  g_assert_false (chatd_mailbox_store (mailbox, &other, &dup, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  /* the same message (sender, time, text) under another hash: the way
   * round through the queue is a duplicate too */
  ChatdMessage again = m;
  memset (again.hash, 5, 32);
  g_assert_true (chatd_mailbox_store (mailbox, &again, &dup, &error));
  g_assert_true (dup);
  g_assert_true (chatd_mailbox_commit (mailbox, &error));
  g_autoptr(GVariant) all = g_variant_ref_sink (chatd_mailbox_list (mailbox, NULL, NULL, &error));
  g_assert_cmpuint (g_variant_n_children (all), ==, 1);
  g_clear_pointer (&mailbox, chatd_mailbox_free);
  remove_dir (dir);
}

/* deletions alone in a group commit that is not synced: they are done,
 * and the next group commit is synced again (the setting is per transaction) */
static void
test_lazy_deletes (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-mailbox-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  g_autoptr(GBytes) blob = g_bytes_new_static ("x", 1);
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("%02u", i);
      g_assert_true (chatd_mailbox_outbox_add (mailbox, id, "Bob", blob, "25519", blob, i, &error));
    }
  g_assert_true (chatd_mailbox_begin_deletes (mailbox, &error));
  g_assert_true (chatd_mailbox_outbox_remove (mailbox, "00", &error));
  g_assert_true (chatd_mailbox_outbox_remove (mailbox, "01", &error));
  g_assert_true (chatd_mailbox_commit (mailbox, &error));
  g_assert_true (chatd_mailbox_begin_deletes (mailbox, &error));
  g_assert_true (chatd_mailbox_outbox_remove (mailbox, "02", &error));
  chatd_mailbox_rollback (mailbox);
  g_assert_true (chatd_mailbox_begin (mailbox, &error));
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "04", "Bob", blob, "25519", blob, 4, &error));
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "05", "Bob", blob, "25519", blob, 5, &error));
  /* a deletion on its own inside a group commit joins it */
  g_assert_true (chatd_mailbox_outbox_delete (mailbox, "05", &error));
  g_assert_true (chatd_mailbox_commit (mailbox, &error));
  g_assert_no_error (error);
  chatd_mailbox_free (g_steal_pointer (&mailbox));
  mailbox = chatd_mailbox_open (dir, &error);
  g_autoptr(GPtrArray) rows = chatd_mailbox_outbox_entries (mailbox, NULL);
  g_assert_cmpuint (rows->len, ==, 3);
  g_assert_cmpstr (((ChatdOutboxEntry *) rows->pdata[0])->id, ==, "02");
  g_assert_cmpstr (((ChatdOutboxEntry *) rows->pdata[2])->id, ==, "04");
  g_clear_pointer (&mailbox, chatd_mailbox_free);
  remove_dir (dir);
}

/* the mailbox is this node's alone while it is open (exclusive locking,
 * no -shm file); once closed, anyone may read it */
static void
test_exclusive_while_open (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-mailbox-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "mailbox.db", NULL);
  g_autofree char *shm = g_build_filename (dir, "mailbox.db-shm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  g_autoptr(GBytes) blob = g_bytes_new_static ("x", 1);
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "01", "Bob", blob, "25519", blob, 1, &error));
  g_assert_false (g_file_test (shm, G_FILE_TEST_EXISTS));
  sqlite3 *other = NULL;
  g_assert_cmpint (sqlite3_open_v2 (path, &other, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "SELECT COUNT(*) FROM outbox", NULL, NULL, NULL), ==, SQLITE_BUSY);
  g_clear_pointer (&mailbox, chatd_mailbox_free);
  g_assert_cmpint (sqlite3_exec (other, "SELECT COUNT(*) FROM outbox", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (other);
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  g_test_add_func ("/messaging/mailbox/contact-cache", test_contact_cache);
  g_test_add_func ("/messaging/mailbox/rollback-forgets", test_rollback_forgets);
  g_test_add_func ("/messaging/mailbox/duplicates-in-one-commit", test_duplicates_in_one_commit);
  g_test_add_func ("/messaging/mailbox/lazy-deletes", test_lazy_deletes);
  g_test_add_func ("/messaging/mailbox/exclusive-while-open", test_exclusive_while_open);
  return g_test_run ();
}
