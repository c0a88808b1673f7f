/* test-offline-queue.c: the server's offline queue store: the per-recipient
 * limits at their edge, an idempotent resend, the same id with other bytes,
 * the expiry sweep, receipt matching, notices; and the checks of a queue
 * request's envelope. */
#include "offline-queue.h"
#include "envelope.h"
#include "suite-25519.h"
#include "crypto-init.h"

#include <gcrypt.h>

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char              *dir;
  ChatdStore        *store;
  ChatdOfflineQueue *queue;
} Fixture;

static const ChatdStoreMigration migrations[] = {
  { "CREATE TABLE placeholder (x INTEGER);" },   /* the directory's own migration 1 */
  { CHATD_OFFLINE_QUEUE_MIGRATION },
};

static void
fixture_open (Fixture *f, guint limit, guint64 bytes_limit, gint64 ttl)
{
  g_autoptr(GError) error = NULL;
  f->dir = g_dir_make_tmp ("chatd-queue-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (f->dir, "directory.db", NULL);
  f->store = chatd_store_open (path, migrations, G_N_ELEMENTS (migrations), &error);
  g_assert_no_error (error);
  ChatdOfflineQueueConfig config;
  chatd_offline_queue_config_init (&config);
  g_assert_cmpuint (config.limit, ==, 1000);
  g_assert_cmpint (config.ttl_s, ==, 604800);
  config.limit = limit;
  config.bytes_limit = bytes_limit;
  config.ttl_s = ttl;
  config.notices_limit = 3;
  f->queue = chatd_offline_queue_new (f->store, &config);
}

static void
fixture_close (Fixture *f)
{
  chatd_offline_queue_free (f->queue);
  chatd_store_close (f->store);
  g_autofree char *db = g_build_filename (f->dir, "directory.db", NULL);
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  g_autofree char *shm = g_strconcat (db, "-shm", NULL);
  g_unlink (db);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (f->dir);
  g_free (f->dir);
}

static void
make_id (guint n, guint8 id[16])
{
  memset (id, 0, 16);
  id[0] = n & 0xff;
  id[1] = (n >> 8) & 0xff;
}

static GBytes *
blob (guint n, gsize size)
{
  guint8 *data = g_malloc (size);
  memset (data, n & 0xff, size);
  return g_bytes_new_take (data, size);
}

static guint
count (Fixture *f, const char *recipient)
{
  guint n = 0;
  chatd_offline_queue_count (f->queue, recipient, &n, NULL);
  return n;
}

static void
test_limit_edge (void)
{
  Fixture f = { 0 };
  fixture_open (&f, 5, 1 << 20, 3600);
  guint8 id[16];
  gboolean duplicate = TRUE;
  g_autoptr(GError) error = NULL;
  for (guint i = 0; i < 5; i++)   /* limit - 1, then the limit itself */
    {
      g_autoptr(GBytes) e = blob (i, 100);
      make_id (i, id);
      g_assert_true (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", e, 1000, &duplicate, &error));
      g_assert_no_error (error);
      g_assert_false (duplicate);
      g_assert_cmpuint (count (&f, "bob"), ==, i + 1);
    }
  /* limit + 1: refused, with Bob's name and the limit, nothing stored */
  g_autoptr(GBytes) over = blob (9, 100);
  make_id (9, id);
  g_assert_false (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", over, 1000, &duplicate, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_cmpstr (error->message, ==, "Bob's queue at the server is full (5 messages)");
  g_clear_error (&error);
  g_assert_cmpuint (count (&f, "Bob"), ==, 5);
  /* another recipient has a queue of its own */
  g_assert_true (chatd_offline_queue_add (f.queue, id, "Alice", "Charlie", over, 1000, &duplicate, &error));
  g_assert_cmpuint (count (&f, "Charlie"), ==, 1);
  guint64 envelopes = 0, notices = 9;
  chatd_offline_queue_totals (f.queue, &envelopes, &notices);
  g_assert_cmpuint (envelopes, ==, 6);
  g_assert_cmpuint (notices, ==, 0);
  fixture_close (&f);
}

static void
test_bytes_limit (void)
{
  Fixture f = { 0 };
  fixture_open (&f, 100, 1000, 3600);
  guint8 id[16];
  gboolean duplicate;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) a = blob (1, 600), b = blob (2, 400), c = blob (3, 1);
  make_id (1, id);
  g_assert_true (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", a, 1, &duplicate, &error));
  make_id (2, id);
  g_assert_true (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", b, 1, &duplicate, &error));   /* exactly 1000 */
  make_id (3, id);
  g_assert_false (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", c, 1, &duplicate, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "1000 bytes"));
  guint n = 0;
  guint64 bytes = 0;
  chatd_offline_queue_count (f.queue, "Bob", &n, &bytes);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (bytes, ==, 1000);
  fixture_close (&f);
}

static void
test_resend_and_conflict (void)
{
  Fixture f = { 0 };
  fixture_open (&f, 1, 1 << 20, 3600);
  guint8 id[16];
  make_id (7, id);
  gboolean duplicate = TRUE;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) e = blob (7, 64), other = blob (8, 64);
  g_assert_true (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", e, 1, &duplicate, &error));
  g_assert_false (duplicate);
  /* the same bytes again: fine even though the queue is full now */
  g_assert_true (chatd_offline_queue_add (f.queue, id, "alice", "BOB", e, 2, &duplicate, &error));
  g_assert_no_error (error);
  g_assert_true (duplicate);
  g_assert_cmpuint (count (&f, "Bob"), ==, 1);
  /* the same id with other bytes: refused, the first kept */
  g_assert_false (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", other, 3, &duplicate, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_EXISTS);
  g_autoptr(ChatdQueueEntry) first = chatd_offline_queue_next (f.queue, "bob", 0);
  g_assert_nonnull (first);
  g_assert_true (g_bytes_equal (first->envelope, e));
  g_assert_cmpstr (first->sender, ==, "Alice");
  g_assert_cmpstr (first->recipient, ==, "Bob");
  g_assert_null (chatd_offline_queue_next (f.queue, "bob", first->seq));
  fixture_close (&f);
}

static void
test_expiry (void)
{
  Fixture f = { 0 };
  fixture_open (&f, 10, 1 << 20, 100);
  guint8 id[16];
  gboolean duplicate;
  g_autoptr(GError) error = NULL;
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) e = blob (i, 10);
      make_id (i, id);
      /* stored at 1000, 1010, 1020: expire at 1100, 1110, 1120 */
      g_assert_true (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", e, 1000 + 10 * i, &duplicate, &error));
    }
  g_autoptr(GBytes) n = blob (1, 5);
  g_assert_true (chatd_offline_queue_add_notice (f.queue, "Alice", n, 1000, NULL, &error));
  g_autoptr(GPtrArray) none = chatd_offline_queue_expire (f.queue, 1099, 100);
  g_assert_cmpuint (none->len, ==, 0);
  g_autoptr(GPtrArray) two = chatd_offline_queue_expire (f.queue, 1110, 100);
  g_assert_cmpuint (two->len, ==, 2);
  g_assert_cmpuint (((ChatdQueueEntry *) two->pdata[0])->id[0], ==, 0);
  g_assert_cmpstr (((ChatdQueueEntry *) two->pdata[0])->sender, ==, "Alice");
  g_assert_cmpuint (count (&f, "Bob"), ==, 1);
  /* the notice (ttl 100 from 1000) went with the sweep too */
  g_autoptr(GArray) seqs = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  chatd_offline_queue_notices (f.queue, "alice", 10, &seqs, &messages);
  g_assert_cmpuint (messages->len, ==, 0);
  fixture_close (&f);
}

static void
test_receipt_matching (void)
{
  Fixture f = { 0 };
  fixture_open (&f, 10, 1 << 20, 3600);
  guint8 id[16], hash[32], wrong[32];
  make_id (3, id);
  gboolean duplicate;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) e = blob (3, 50);
  g_assert_true (chatd_offline_queue_add (f.queue, id, "Alice", "Bob", e, 1, &duplicate, &error));
  gcry_md_hash_buffer (GCRY_MD_SHA256, hash, g_bytes_get_data (e, NULL), g_bytes_get_size (e));
  memcpy (wrong, hash, 32);
  wrong[31] ^= 1;
  guint8 other_id[16];
  make_id (4, other_id);
  g_assert_null (chatd_offline_queue_take_receipted (f.queue, "Charlie", id, hash));   /* wrong recipient */
  g_assert_null (chatd_offline_queue_take_receipted (f.queue, "Bob", id, wrong));      /* wrong hash */
  g_assert_null (chatd_offline_queue_take_receipted (f.queue, "Bob", other_id, hash)); /* wrong id */
  g_assert_cmpuint (count (&f, "Bob"), ==, 1);
  g_autoptr(ChatdQueueEntry) taken = chatd_offline_queue_take_receipted (f.queue, "bob", id, hash);
  g_assert_nonnull (taken);
  g_assert_cmpstr (taken->sender, ==, "Alice");
  g_assert_cmpuint (count (&f, "Bob"), ==, 0);
  g_assert_null (chatd_offline_queue_take_receipted (f.queue, "Bob", id, hash));       /* only once */
  fixture_close (&f);
}

static void
test_notices (void)
{
  Fixture f = { 0 };
  fixture_open (&f, 10, 1 << 20, 3600);
  g_autoptr(GError) error = NULL;
  gint64 seq[3];
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) n = blob (i, 8);
      g_assert_true (chatd_offline_queue_add_notice (f.queue, "Alice", n, 1, &seq[i], &error));
    }
  g_autoptr(GBytes) fourth = blob (4, 8);
  g_assert_false (chatd_offline_queue_add_notice (f.queue, "alice", fourth, 1, NULL, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_autoptr(GArray) seqs = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  chatd_offline_queue_notices (f.queue, "ALICE", 10, &seqs, &messages);
  g_assert_cmpuint (messages->len, ==, 3);
  g_assert_cmpint (g_array_index (seqs, gint64, 0), ==, seq[0]);
  g_assert_true (chatd_offline_queue_delete_notice (f.queue, seq[0], NULL));
  g_clear_pointer (&seqs, g_array_unref);
  g_clear_pointer (&messages, g_ptr_array_unref);
  chatd_offline_queue_notices (f.queue, "Alice", 10, &seqs, &messages);
  g_assert_cmpuint (messages->len, ==, 2);
  fixture_close (&f);
}

/* the checks of a queue request: the session's user and key only */
static void
test_check_envelope (void)
{
  g_autoptr(ChatdKey) alice = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  g_autoptr(ChatdKey) bob = chatd_suite_25519.generate (&chatd_suite_25519, 0, NULL);
  g_autoptr(ChatdMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) envelope = chatd_envelope_seal (alice, "Alice", bob, "Bob", "hi", 2, g_get_real_time () / 1000,
                                                    &message, &error);
  g_assert_no_error (error);
  guint8 alice_fp[32], bob_fp[32], id[16], recipient_fp[32];
  g_assert_true (chatd_key_fingerprint (alice, alice_fp, NULL));
  g_assert_true (chatd_key_fingerprint (bob, bob_fp, NULL));
  g_autofree char *recipient = NULL;
  g_assert_true (chatd_offline_queue_check_envelope (envelope, "alice", alice_fp, id, &recipient, recipient_fp, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (recipient, ==, "Bob");
  g_assert_cmpmem (id, 16, message->id, 16);
  g_assert_cmpmem (recipient_fp, 32, bob_fp, 32);
  /* Bob's session cannot queue Alice's envelope; nor a key other than the user's */
  char *r = NULL;
  g_assert_false (chatd_offline_queue_check_envelope (envelope, "Bob", bob_fp, id, &r, recipient_fp, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (chatd_offline_queue_check_envelope (envelope, "Alice", bob_fp, id, &r, recipient_fp, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED);
  g_clear_error (&error);
  /* not an envelope */
  g_autoptr(GBytes) junk = blob (1, 40);
  g_assert_false (chatd_offline_queue_check_envelope (junk, "Alice", alice_fp, id, &r, recipient_fp, &error));
  g_assert_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT);
  g_assert_null (r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (chatd_crypto_init (NULL));
  g_test_add_func ("/server/queue/limit-edge", test_limit_edge);
  g_test_add_func ("/server/queue/bytes-limit", test_bytes_limit);
  g_test_add_func ("/server/queue/resend-and-conflict", test_resend_and_conflict);
  g_test_add_func ("/server/queue/expiry", test_expiry);
  g_test_add_func ("/server/queue/receipt-matching", test_receipt_matching);
  g_test_add_func ("/server/queue/notices", test_notices);
  g_test_add_func ("/server/queue/check-envelope", test_check_envelope);
  return g_test_run ();
}
