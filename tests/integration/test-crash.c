/* test-crash.c: kill -9 of the recipient, of the server and of the sender,
 * each at a random moment (the test's seed: --seed to repeat a run) during
 * one stream of 1,000 messages from Alice to Bob, each restarted after it.
 * Every send that Alice's node answered (delivered, queued, or held in its
 * outbox) ends up in Bob's inbox, and nothing is stored twice.
 *
 * The messages go through Alice's control socket directly (the Run call
 * chatctl makes), from a thread, so that 1,000 sends do not cost 1,000
 * processes; when Alice's node is gone the thread waits for the new one and
 * goes on with a new text (a send that failed is not acknowledged: the test
 * never sends the same text twice). */
#include "chat-net.h"

#include <signal.h>
#include <string.h>

#define N_MESSAGES 1000

typedef struct {
  TestNode    *alice;
  guint        n;
  gint         sent;          /* indices done (atomic) */
  GPtrArray   *answered;      /* texts whose send Alice's node answered */
  GHashTable  *attempted;     /* every text the thread tried */
  GMutex       lock;
  guint        failed;        /* sends that got an error (node gone, no session) */
} Stream;

static GDBusConnection *
connect_to (TestNode *node)
{
  g_autofree char *escaped = g_dbus_address_escape_value (node->socket_path);
  g_autofree char *address = g_strdup_printf ("unix:path=%s", escaped);
  return g_dbus_connection_new_for_address_sync (address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                                 NULL, NULL, NULL);
}

/* one send; the status of its one result, or NULL on an error */
static char *
run_send (GDBusConnection *c, const char *to, const char *text)
{
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "user", g_variant_new_string (to));
  g_variant_builder_add (&b, "{sv}", "message", g_variant_new_string (text));
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (c, NULL, "/org/chatd/Control", "org.chatd.Control1", "Run",
                                                           g_variant_new ("(s@a{sv})", "send", g_variant_builder_end (&b)),
                                                           G_VARIANT_TYPE ("(vs)"), G_DBUS_CALL_FLAGS_NONE, 90000,
                                                           NULL, NULL);
  if (reply == NULL)
    return NULL;
  g_autoptr(GVariant) boxed = g_variant_get_child_value (reply, 0);
  g_autoptr(GVariant) results = g_variant_get_variant (boxed);
  if (!g_variant_is_of_type (results, G_VARIANT_TYPE ("aa{sv}")) || g_variant_n_children (results) != 1)
    return NULL;
  g_autoptr(GVariant) first = g_variant_get_child_value (results, 0);
  char *status = NULL;
  g_variant_lookup (first, "status", "s", &status);
  return status;
}

static gpointer
send_stream (gpointer data)
{
  Stream *s = data;
  g_autoptr(GDBusConnection) c = NULL;
  for (guint i = 0; i < s->n; i++)
    {
      for (guint attempt = 0; attempt < 600; attempt++)
        {
          if (c == NULL || g_dbus_connection_is_closed (c))
            {
              g_clear_object (&c);
              c = connect_to (s->alice);
              if (c == NULL)
                {
                  g_usleep (100000);
                  continue;
                }
            }
          g_autofree char *text = g_strdup_printf ("message %04u try %u", i, attempt);
          g_mutex_lock (&s->lock);
          g_hash_table_add (s->attempted, g_strdup (text));
          g_mutex_unlock (&s->lock);
          g_autofree char *status = run_send (c, "Bob", text);
          if (status != NULL)
            {
              g_mutex_lock (&s->lock);
              g_ptr_array_add (s->answered, g_steal_pointer (&text));
              g_mutex_unlock (&s->lock);
              break;
            }
          s->failed++;
          g_usleep (100000);
        }
      g_atomic_int_inc (&s->sent);
    }
  return NULL;
}

static void
wait_for_sent (Stream *s, guint n)
{
  for (int i = 0; i < 3000 && (guint) g_atomic_int_get (&s->sent) < n; i++)
    g_usleep (20000);
  g_assert_cmpuint (g_atomic_int_get (&s->sent), >=, n);
}

static void
kill_user (TestNode *node)
{
  g_assert_no_errno (kill (node_pid (node), SIGKILL));
  node->killed = TRUE;
  g_usleep (200000);
  node->killed = FALSE;
}

static gboolean
inbox_holds (TestNode *node, const char *count)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("recv"));
  return json_array_get_length (json_node_get_array (root)) >= (guint) atoi (count);
}

/* what a node logged, less the one line per message, for a failure */
static void
print_log (TestNode *node)
{
  g_autofree char *path = g_build_filename (node->state_dir, "chatd.log", NULL);
  g_autofree char *log = NULL;
  g_file_get_contents (path, &log, NULL, NULL);
  g_auto(GStrv) lines = g_strsplit (log ? log : "", "\n", -1);
  g_autoptr(GString) kept = g_string_new (NULL);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], " delivered ") == NULL && strstr (lines[i], "for Bob at the server") == NULL)
      g_string_append_printf (kept, "%s\n", lines[i]);
  g_test_message ("%s:\n%s", path, kept->str);
}

static void
test_kills_during_stream (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, reachable, "Bob", 20));

  /* three moments in the stream, in a random order of victims */
  const char *victims[] = { "recipient", "server", "sender" };
  for (int i = 2; i > 0; i--)
    {
      int j = g_test_rand_int_range (0, i + 1);
      const char *t = victims[i];
      victims[i] = victims[j];
      victims[j] = t;
    }
  guint moments[3] = { g_test_rand_int_range (50, 300), g_test_rand_int_range (350, 600),
                       g_test_rand_int_range (650, 900) };

  Stream s = { .alice = alice, .n = N_MESSAGES, .answered = g_ptr_array_new_with_free_func (g_free),
               .attempted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  g_mutex_init (&s.lock);
  GThread *thread = g_thread_new ("send-stream", send_stream, &s);
  g_autofree char *server_config = g_build_filename (net.server->root, "server.conf", NULL);
  for (guint k = 0; k < 3; k++)
    {
      wait_for_sent (&s, moments[k]);
      g_test_message ("kill -9 of the %s after %u messages", victims[k], moments[k]);
      if (g_str_equal (victims[k], "recipient"))
        {
          kill_user (bob);
          g_assert_cmpint (start_user (&net, bob, "Bob", "Bob", NULL, NULL), ==, 0);
        }
      else if (g_str_equal (victims[k], "sender"))
        {
          kill_user (alice);
          g_assert_cmpint (start_user (&net, alice, "Alice", "Alice", NULL, NULL), ==, 0);
        }
      else
        {
          g_subprocess_send_signal (net.server->process, SIGKILL);
          test_node_wait (net.server);
          test_node_start_server (net.server, CHATD_ARGS ("--config", server_config, "--listen", net.connect));
        }
    }
  g_thread_join (thread);
  g_test_message ("%u sends answered, %u attempts failed while a node was down", s.answered->len, s.failed);
  g_assert_cmpuint (s.answered->len, ==, N_MESSAGES);

  /* Alice's outbox drains (resends after her restart, the queue after Bob's) */
  if (!wait_until (alice, outbox_empty, NULL, 120))
    {
      print_log (alice);
      print_log (bob);
      g_error ("Alice's outbox did not drain");
    }
  g_autofree char *expected = g_strdup_printf ("%u", s.answered->len);
  g_assert_true (wait_until (bob, inbox_holds, expected, 30));

  g_autoptr(JsonNode) root = json_of (bob, CHATD_ARGS ("recv"));
  JsonArray *inbox = json_node_get_array (root);
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) texts = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < json_array_get_length (inbox); i++)
    {
      JsonObject *m = json_array_get_object_element (inbox, i);
      const char *text = json_object_get_string_member (m, "text");
      g_assert_true (g_hash_table_add (ids, (gpointer) json_object_get_string_member (m, "id")));  /* none twice */
      g_assert_true (g_hash_table_add (texts, (gpointer) text));                                  /* none twice */
      g_assert_true (g_hash_table_contains (s.attempted, text));                                  /* only sent ones */
    }
  for (guint i = 0; i < s.answered->len; i++)
    if (!g_hash_table_contains (texts, s.answered->pdata[i]))
      g_error ("'%s' was answered by Alice's node but is not in Bob's inbox", (char *) s.answered->pdata[i]);
  g_test_message ("Bob's inbox: %u messages (%u answered; the rest were in flight when the sender died)",
                  json_array_get_length (inbox), s.answered->len);

  g_ptr_array_unref (s.answered);
  g_hash_table_unref (s.attempted);
  g_mutex_clear (&s.lock);
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/crash/kills-during-stream", test_kills_during_stream);
  return g_test_run ();
}
