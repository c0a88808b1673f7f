/* mailbox-bench: the SQLite work a user node does per message, alone (no
 * network, no crypto): the sender's outbox (a row added and committed
 * durably before the message leaves, deleted once its receipt is in) and
 * the recipient's inbox (a message stored and committed durably before its
 * receipt), in group commits of --batch messages.  Prints CPU microseconds
 * per message (user + system, getrusage) and the commits per second.
 *
 *   build/tests/bench/mailbox-bench [--messages N] [--batch N] [--inflight N]
 */
#include "mailbox.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>

static double
cpu_seconds (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

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

static gboolean ordered_ids;

/* 16 random bytes as hex, or (--ordered-ids) 6 bytes of a counter that
 * grows like a clock in milliseconds, then 10 random bytes */
static char *
random_id (void)
{
  static guint64 tick = G_GUINT64_CONSTANT (0x018c000000);
  guint8 id[16];
  for (guint i = 0; i < sizeof id; i++)
    id[i] = (guint8) g_random_int ();
  if (ordered_ids)
    {
      guint64 t = tick++ / 8;
      for (int i = 5; i >= 0; i--, t >>= 8)
        id[i] = (guint8) t;
    }
  GString *hex = g_string_sized_new (33);
  for (guint i = 0; i < sizeof id; i++)
    g_string_append_printf (hex, "%02x", id[i]);
  return g_string_free (hex, FALSE);
}

/* the sender: each batch adds `batch` rows and deletes the `batch` oldest
 * ones once `inflight` are out, in one durable commit */
static void
bench_outbox (guint messages, guint batch, guint inflight)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-mailbox-bench-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  g_assert_no_error (error);
  guint8 row[4 + 16 + 8 + 100];
  memset (row, 'x', sizeof row);
  g_autoptr(GBytes) envelope = g_bytes_new_static (row, sizeof row);
  g_autoptr(GBytes) key = g_bytes_new_static (row, 32);
  GQueue out = G_QUEUE_INIT;
  double t0 = cpu_seconds ();
  gint64 w0 = g_get_monotonic_time ();
  guint commits = 0;
  for (guint sent = 0; sent < messages; sent += batch)
    {
      g_assert_true (chatd_mailbox_begin (mailbox, &error));
      for (guint i = 0; i < batch; i++)
        {
          char *id = random_id ();
          g_assert_true (chatd_mailbox_outbox_add (mailbox, id, "Bob", envelope, "25519", key, sent + i, &error));
          g_queue_push_tail (&out, id);
        }
      while (out.length > inflight)
        {
          g_autofree char *id = g_queue_pop_head (&out);
          g_assert_true (chatd_mailbox_outbox_remove (mailbox, id, &error));
        }
      g_assert_true (chatd_mailbox_commit (mailbox, &error));
      commits++;
    }
  double cpu = cpu_seconds () - t0;
  double wall = (g_get_monotonic_time () - w0) / 1e6;
  g_print ("outbox  %7u messages, batch %4u: %6.2f us CPU per message, %6.0f commits/s, %8.0f messages/s (wall)\n",
           messages, batch, cpu * 1e6 / messages, commits / wall, messages / wall);
  g_queue_clear_full (&out, g_free);
  g_clear_pointer (&mailbox, chatd_mailbox_free);
  remove_dir (dir);
}

/* the recipient: `batch` messages stored per durable commit */
static void
bench_inbox (guint messages, guint batch)
{
  g_autofree char *dir = g_dir_make_tmp ("chatd-mailbox-bench-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdMailbox) mailbox = chatd_mailbox_open (dir, &error);
  g_assert_no_error (error);
  char text[101];
  memset (text, 'y', 100);
  text[100] = 0;
  double t0 = cpu_seconds ();
  gint64 w0 = g_get_monotonic_time ();
  guint commits = 0;
  for (guint stored = 0; stored < messages; stored += batch)
    {
      g_assert_true (chatd_mailbox_begin (mailbox, &error));
      for (guint i = 0; i < batch; i++)
        {
          g_autofree char *id = random_id ();
          ChatdMessage m = { .id_text = id, .time_ms = stored + i, .sender = (char *) "Alice",
                             .recipient = (char *) "Bob", .text = text };
          memcpy (m.hash, id, 32);
          gboolean duplicate = FALSE;
          g_assert_true (chatd_mailbox_store (mailbox, &m, &duplicate, &error));
        }
      g_assert_true (chatd_mailbox_commit (mailbox, &error));
      commits++;
    }
  double cpu = cpu_seconds () - t0;
  double wall = (g_get_monotonic_time () - w0) / 1e6;
  g_print ("inbox   %7u messages, batch %4u: %6.2f us CPU per message, %6.0f commits/s, %8.0f messages/s (wall)\n",
           messages, batch, cpu * 1e6 / messages, commits / wall, messages / wall);
  g_clear_pointer (&mailbox, chatd_mailbox_free);
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  gint messages = 20000, batch = 0, inflight = 256;
  GOptionEntry entries[] = {
    { "messages", 0, 0, G_OPTION_ARG_INT, &messages, "Messages per measurement (20000)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, "Messages per commit (default: 1, 16, 128)", "N" },
    { "inflight", 0, 0, G_OPTION_ARG_INT, &inflight, "Outbox rows not yet delivered (256)", "N" },
    { "ordered-ids", 0, 0, G_OPTION_ARG_NONE, &ordered_ids, "Message ids that begin with the time", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- SQLite work per message of a user node");
  g_option_context_add_main_entries (context, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse (context, &argc, &argv, &error) || messages < 1 || batch < 0 || inflight < 0)
    {
      g_printerr ("mailbox-bench: %s\n", error ? error->message : "the counts must be positive");
      return 2;
    }
  const guint batches[] = { 1, 16, 128 };
  for (guint i = 0; i < G_N_ELEMENTS (batches); i++)
    {
      guint b = batch > 0 ? (guint) batch : batches[i];
      bench_outbox ((guint) messages, b, (guint) inflight);
      bench_inbox ((guint) messages, b);
      if (batch > 0)
        break;
    }
  return 0;
}
