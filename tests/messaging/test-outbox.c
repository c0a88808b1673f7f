/* test-outbox.c: the user node's outbox in mailbox.db: a row holds the
 * exact envelope and the recipient key, moves from sending to queued, is
 * listed, survives a reopen (a restart), and goes once delivered. */
#include "envelope.h"
#include "mailbox.h"
#include "crypto-init.h"
#include "suite-25519.h"

#include <gcrypt.h>
#include <glib/gstdio.h>
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

static void
test_outbox_rows (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-outbox-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdKey) alice = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  g_autoptr(ChatdKey) bob = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  g_autoptr(GBytes) bob_public = bob->suite->export_public (bob, NULL);
  g_autoptr(ChatdMessage) sent = NULL;
  g_autoptr(GBytes) envelope = chatd_envelope_seal (alice, "Alice", bob, "Bob", "hello", 5, 1700000000123,
                                                    &sent, &error);
  g_assert_no_error (error);

  ChatdMailbox *mailbox = chatd_mailbox_open (dir, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) none = chatd_mailbox_outbox_entries (mailbox, NULL);
  g_assert_cmpuint (none->len, ==, 0);
  g_assert_true (chatd_mailbox_outbox_add (mailbox, sent->id_text, "Bob", envelope, "25519", bob_public,
                                           sent->time_ms, &error));
  g_assert_no_error (error);
  /* the same id twice is a programming error the database refuses */
  g_assert_false (chatd_mailbox_outbox_add (mailbox, sent->id_text, "Bob", envelope, "25519", bob_public,
                                            sent->time_ms, &error));
  g_clear_error (&error);

  g_autoptr(ChatdOutboxEntry) row = chatd_mailbox_outbox_get (mailbox, sent->id_text);
  g_assert_nonnull (row);
  g_assert_true (g_bytes_equal (row->envelope, envelope));   /* the exact bytes: a resend is the same message */
  guint8 hash[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, hash, g_bytes_get_data (row->envelope, NULL), g_bytes_get_size (row->envelope));
  g_assert_cmpmem (hash, 32, sent->hash, 32);
  g_assert_true (g_bytes_equal (row->public_key, bob_public));
  g_assert_cmpstr (row->suite, ==, "25519");
  g_assert_cmpstr (row->state, ==, "sending");
  g_assert_cmpint (row->created_ms, ==, 1700000000123);

  g_autoptr(GVariant) listed = g_variant_ref_sink (chatd_mailbox_outbox_list (mailbox, &error));
  g_assert_cmpuint (g_variant_n_children (listed), ==, 1);
  g_autoptr(GVariant) item = g_variant_get_child_value (listed, 0);
  const char *id = NULL, *to = NULL, *time = NULL, *state = NULL;
  g_assert_true (g_variant_lookup (item, "id", "&s", &id));
  g_assert_true (g_variant_lookup (item, "to", "&s", &to));
  g_assert_true (g_variant_lookup (item, "time", "&s", &time));
  g_assert_true (g_variant_lookup (item, "state", "&s", &state));
  g_assert_cmpstr (id, ==, sent->id_text);
  g_assert_cmpstr (to, ==, "Bob");
  g_assert_cmpstr (time, ==, "2023-11-14T22:13:20.123000Z");
  g_assert_cmpstr (state, ==, "sending");

  /* queued at the server; it survives a restart */
  g_assert_true (chatd_mailbox_outbox_set_queued (mailbox, sent->id_text, &error));
  chatd_mailbox_free (mailbox);
  mailbox = chatd_mailbox_open (dir, &error);
  g_assert_no_error (error);
  g_autoptr(GPtrArray) sending = chatd_mailbox_outbox_entries (mailbox, "sending");
  g_autoptr(GPtrArray) queued = chatd_mailbox_outbox_entries (mailbox, "queued");
  g_assert_cmpuint (sending->len, ==, 0);
  g_assert_cmpuint (queued->len, ==, 1);
  g_assert_true (g_bytes_equal (((ChatdOutboxEntry *) queued->pdata[0])->envelope, envelope));

  /* delivered: gone */
  g_assert_true (chatd_mailbox_outbox_delete (mailbox, sent->id_text, &error));
  g_assert_null (chatd_mailbox_outbox_get (mailbox, sent->id_text));
  g_autoptr(GPtrArray) after = chatd_mailbox_outbox_entries (mailbox, NULL);
  g_assert_cmpuint (after->len, ==, 0);
  chatd_mailbox_free (mailbox);
  remove_dir (dir);
}

/* rows come back in the order sent */
static void
test_outbox_order (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-outbox-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  g_autoptr(GBytes) blob = g_bytes_new_static ("x", 1);
  const char *ids[] = { "ff", "00", "80" };
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_assert_true (chatd_mailbox_outbox_add (mailbox, ids[i], "Bob", blob, "25519", blob, i, &error));
  g_autoptr(GPtrArray) rows = chatd_mailbox_outbox_entries (mailbox, "sending");
  g_assert_cmpuint (rows->len, ==, 3);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_assert_cmpstr (((ChatdOutboxEntry *) rows->pdata[i])->id, ==, ids[i]);
  g_clear_pointer (&mailbox, chatd_mailbox_free);
  remove_dir (dir);
}

/* the limit at its edge: limit - 1 and limit go in, limit + 1 is refused
 * and stores nothing; a delivered row makes room again */
static void
test_outbox_limit (void)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-outbox-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  chatd_mailbox_set_outbox_limit (mailbox, 3);
  g_autoptr(GBytes) blob = g_bytes_new_static ("x", 1);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("%02u", i);
      g_assert_true (chatd_mailbox_outbox_add (mailbox, id, "Bob", blob, "25519", blob, i, &error));
      g_assert_no_error (error);
    }
  g_assert_false (chatd_mailbox_outbox_add (mailbox, "03", "Bob", blob, "25519", blob, 3, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_cmpstr (error->message, ==, "the outbox is full (3 messages not yet delivered)");
  g_clear_error (&error);
  g_assert_null (chatd_mailbox_outbox_get (mailbox, "03"));
  g_assert_true (chatd_mailbox_outbox_delete (mailbox, "01", &error));
  g_assert_true (chatd_mailbox_outbox_add (mailbox, "03", "Bob", blob, "25519", blob, 3, &error));
  g_clear_pointer (&mailbox, chatd_mailbox_free);
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  g_test_add_func ("/messaging/outbox/rows", test_outbox_rows);
  g_test_add_func ("/messaging/outbox/order", test_outbox_order);
  g_test_add_func ("/messaging/outbox/limit", test_outbox_limit);
  return g_test_run ();
}
