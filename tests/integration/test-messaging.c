/* test-messaging.c: messages between real user nodes: both ways, 1 MiB,
 * 500 in a row exactly once and in order, kept across a restart, recv
 * --follow, an offline recipient that never wedges anything (queued at the
 * server, test-offline.c has more), and the whole
 * exchange through the netsim relay at 20% loss. */
#include "chat-net.h"

#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

static char *
send_text (TestNode *from, const char *to, const char *text, int *ret_status)
{
  g_autofree char *out = NULL, *err = NULL;
  *ret_status = test_run_chatctl (from, CHATD_ARGS ("send", to, text), &out, &err);
  return *ret_status == 0 ? g_steal_pointer (&out) : g_steal_pointer (&err);
}

static JsonArray *
inbox (TestNode *node, JsonNode **ret_root, const char *const *extra)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "recv");
  for (guint i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) extra[i]);
  g_ptr_array_add (args, NULL);
  *ret_root = json_of (node, (const char *const *) args->pdata);
  return json_node_get_array (*ret_root);
}

static void
test_both_ways (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, reachable, "Bob", 20));
  g_assert_true (wait_until (bob, reachable, "Alice", 20));
  int status;
  g_autofree char *out = send_text (alice, "Bob", "hello Bob", &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_regex_match_simple ("^delivered [0-9a-f]{32}\n$", out, 0, 0));
  g_autofree char *back = send_text (bob, "alice", "hello Alice", &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (back, "delivered "));

  g_autofree char *text = NULL;
  g_assert_cmpint (test_run_chatctl (bob, CHATD_ARGS ("recv"), &text, NULL), ==, 0);
  g_assert_true (g_regex_match_simple ("^\\[[0-9T:.-]+Z\\] Alice: hello Bob\n$", text, 0, 0));
  JsonNode *root = NULL;
  JsonArray *a = inbox (alice, &root, NULL);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  JsonObject *m = json_array_get_object_element (a, 0);
  g_assert_cmpstr (json_object_get_string_member (m, "from"), ==, "Bob");
  g_assert_cmpstr (json_object_get_string_member (m, "to"), ==, "Alice");   /* as registered */
  g_assert_cmpstr (json_object_get_string_member (m, "text"), ==, "hello Alice");
  g_assert_true (json_object_has_member (m, "id") && json_object_has_member (m, "time"));
  json_node_unref (root);

  /* contacts pinned on first use */
  g_autofree char *verify = NULL;
  g_assert_cmpint (test_run_chatctl (bob, CHATD_ARGS ("verify", "Alice"), &verify, NULL), ==, 0);
  g_assert_nonnull (strstr (verify, "fingerprint"));
  /* bad input: not UTF-8 is refused by chatctl, an unknown name by the node */
  g_autofree char *err = NULL;
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Bob", "caf\xe9"), NULL, &err), ==, 3);
  g_assert_nonnull (strstr (err, "UTF-8"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "not a name", "x"), NULL, &err), ==, 3);
  g_assert_nonnull (strstr (err, "invalid user name"));
  net_stop (&net);
}

static void
test_big_and_many (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, reachable, "Bob", 20));
  /* 1 MiB from stdin */
  gsize size = 1024 * 1024;
  g_autofree char *big = g_malloc (size + 1);
  for (gsize i = 0; i < size; i++)
    big[i] = 'a' + i % 26;
  big[size] = '\0';
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl_input (alice, CHATD_ARGS ("send", "Bob", "-"), big, &out, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
  JsonNode *root = NULL;
  JsonArray *a = inbox (bob, &root, NULL);
  g_assert_cmpuint (json_array_get_length (a), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, 0), "text"), ==, big);
  g_autofree char *first_id = g_strdup (json_object_get_string_member (json_array_get_object_element (a, 0), "id"));
  json_node_unref (root);

  /* 500 in a row: each delivered, stored exactly once, in order */
  for (int i = 0; i < 500; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %03d", i);
      int status;
      g_autofree char *result = send_text (alice, "Bob", text, &status);
      g_assert_cmpint (status, ==, 0);
      g_assert_true (g_str_has_prefix (result, "delivered "));
    }
  a = inbox (bob, &root, CHATD_ARGS ("--since", first_id));
  g_assert_cmpuint (json_array_get_length (a), ==, 500);
  for (guint i = 0; i < 500; i++)
    {
      g_autofree char *expected = g_strdup_printf ("message %03u", i);
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, i), "text"), ==, expected);
    }
  json_node_unref (root);

  /* they survive a restart of Bob's node */
  g_assert_cmpint (test_run_chatctl (bob, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
  g_usleep (300000);
  g_assert_cmpint (start_user (&net, bob, "Bob", "Bob", NULL, NULL), ==, 0);
  a = inbox (bob, &root, CHATD_ARGS ("--from", "alice"));
  g_assert_cmpuint (json_array_get_length (a), ==, 501);
  json_node_unref (root);
  net_stop (&net);
}

static void
test_offline_recipient_never_wedges (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  int status;
  /* Charlie is offline: the server queues it */
  g_autofree char *queued = send_text (alice, "Charlie", "are you there?", &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_regex_match_simple ("^queued [0-9a-f]{32}\n$", queued, 0, 0));
  /* Charlie comes online: he gets it, and sending now works, at once */
  TestNode *charlie = login (&net, "Charlie");
  g_assert_true (wait_until (charlie, inbox_has, "are you there?", 20));
  g_assert_true (wait_until (alice, list_has, "Charlie", 10));
  g_autofree char *out = send_text (alice, "Charlie", "now?", &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
  /* Charlie's node dies without a word: the send ends in bounded time, queued ... */
  g_assert_no_errno (kill (node_pid (charlie), SIGKILL));
  charlie->killed = TRUE;
  g_ptr_array_remove (net.users, charlie);
  gint64 t0 = g_get_monotonic_time ();
  g_autofree char *lost = send_text (alice, "Charlie", "hello?", &status);
  g_test_message ("send to a vanished node: %s after %.1f s", lost, (g_get_monotonic_time () - t0) / 1e6);
  /* both speak peer sessions: while the server still lists Charlie, the
   * send fails with a reason to retry (an envelope to the queue would be a
   * downgrade that dropping packets could force); queued once the server
   * no longer lists him */
  gboolean queued_lost = status == 0;
  if (queued_lost)
    g_assert_true (g_str_has_prefix (lost, "queued "));
  else
    g_assert_nonnull (strstr (lost, "retry"));
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 40 * G_USEC_PER_SEC);
  /* ... and a new Charlie node gets it, and is reachable again right away */
  TestNode *again = login (&net, "Charlie");
  if (queued_lost)
    g_assert_true (wait_until (again, inbox_has, "hello?", 20));
  for (int i = 0; i < 100 && !list_has (alice, "Charlie"); i++)
    g_usleep (100000);
  g_autofree char *ok = NULL;
  for (int i = 0; i < 40; i++)
    {
      g_clear_pointer (&ok, g_free);
      ok = send_text (alice, "Charlie", "welcome back", &status);
      if (status == 0)
        break;
      g_usleep (500000);
    }
  g_assert_cmpint (status, ==, 0);
  g_assert_true (wait_until (again, inbox_has, "welcome back", 40));
  net_stop (&net);
}

static void
test_recv_follow (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, reachable, "Bob", 20));   /* listed with its address */
  int status;
  g_autofree char *r0 = send_text (alice, "Bob", "before", &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_str_has_prefix (r0, "delivered "));
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (bob);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) follow = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"), "--socket",
                                                               bob->socket_path, "--json", "recv", "--follow", NULL);
  g_assert_no_error (error);
  g_usleep (300000);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("live %d", i);
      g_autofree char *r = send_text (alice, "Bob", text, &status);
      g_assert_cmpint (status, ==, 0);
      g_assert_true (g_str_has_prefix (r, "delivered "));
    }
  g_usleep (300000);
  g_subprocess_send_signal (follow, SIGINT);
  g_autofree char *out = NULL;
  g_subprocess_communicate_utf8 (follow, NULL, NULL, &out, NULL, &error);
  g_auto(GStrv) lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);   /* the stored one, then three live: none lost or doubled */
  g_assert_nonnull (strstr (lines[0], "\"before\""));
  g_assert_nonnull (strstr (lines[3], "\"live 2\""));
  net_stop (&net);
}

static guint16
free_udp_port (void)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  g_assert_no_errno (bind (fd, (struct sockaddr *) &a, sizeof a));
  g_assert_no_errno (getsockname (fd, (struct sockaddr *) &a, &len));
  close (fd);
  return ntohs (a.sin_port);
}

static void
test_through_lossy_relay (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  /* Bob's node listens on a known port and advertises the relay in front of it */
  guint16 port = free_udp_port ();
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", port);
  g_autofree char *upstream = g_strdup_printf ("--upstream=%s", listen);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) relay = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                                   &error, g_getenv ("NETSIM_RELAY"), "--listen=127.0.0.1:0", upstream,
                                                   "--loss=20", "--seed=11", "--duration=200", NULL);
  g_assert_no_error (error);
  g_autoptr(GDataInputStream) rout = g_data_input_stream_new (g_subprocess_get_stdout_pipe (relay));
  g_autofree char *line = g_data_input_stream_read_line (rout, NULL, NULL, &error);
  g_assert_true (line != NULL && g_str_has_prefix (line, "LISTEN "));
  TestNode *bob = test_node_new ();
  g_ptr_array_add (net.users, bob);
  g_assert_cmpint (start_user (&net, bob, "Bob", "Bob",
                               CHATD_ARGS ("--listen", listen, "--advertise", line + strlen ("LISTEN ")), NULL), ==, 0);
  g_assert_true (wait_until (alice, list_has, "Bob", 10));
  for (int i = 0; i < 30; i++)
    {
      g_autofree char *text = g_strdup_printf ("through loss %02d", i);
      int status;
      g_autofree char *r = send_text (alice, "Bob", text, &status);
      g_assert_cmpint (status, ==, 0);
      g_test_message ("%s: %s", text, r);   /* delivered, or queued if the relay lost too much for 10 s */
    }
  JsonNode *root = NULL;
  JsonArray *a = inbox (bob, &root, NULL);
  g_assert_cmpuint (json_array_get_length (a), ==, 30);
  for (guint i = 0; i < 30; i++)
    {
      g_autofree char *expected = g_strdup_printf ("through loss %02u", i);
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, i), "text"), ==, expected);
    }
  json_node_unref (root);
  g_subprocess_send_signal (relay, SIGTERM);
  g_subprocess_wait (relay, NULL, NULL);
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/messaging/both-ways", test_both_ways);
  g_test_add_func ("/integration/messaging/big-and-many", test_big_and_many);
  g_test_add_func ("/integration/messaging/offline-recipient-never-wedges", test_offline_recipient_never_wedges);
  g_test_add_func ("/integration/messaging/recv-follow", test_recv_follow);
  g_test_add_func ("/integration/messaging/through-lossy-relay", test_through_lossy_relay);
  return g_test_run ();
}
