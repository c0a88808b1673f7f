/* test-faults.c: system faults with real processes (issue 7, part 3): a
 * read-only state directory and a full disk give a clear error (at start or
 * on the failing command) and corrupt nothing: the nodes start again on a
 * healthy directory with the earlier data intact; the server killed (-9) and
 * restarted while users are online: they log in again by themselves and
 * message each other. */
#include "chat-net.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

/* A small tmpfs at ROOT/disk, or NULL (and the test skipped) when this
 * process may not mount one. */
static char *
mount_disk (TestNode *holder, const char *size)
{
  if (geteuid () != 0)
    {
      g_test_skip ("needs root: mounts a small tmpfs to make a full or read-only disk");
      return NULL;
    }
  char *dir = g_build_filename (holder->root, "disk", NULL);
  g_assert_no_errno (g_mkdir (dir, 0700));
  g_autofree char *options = g_strdup_printf ("size=%s,mode=0700", size);
  if (mount ("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0)
    {
      g_autofree char *reason = g_strdup_printf ("cannot mount a tmpfs here: %s", g_strerror (errno));
      g_test_skip (reason);
      g_rmdir (dir);
      g_free (dir);
      return NULL;
    }
  return dir;
}

static void
remount (const char *dir, gboolean read_only)
{
  g_assert_no_errno (mount (NULL, dir, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | (read_only ? MS_RDONLY : 0),
                            NULL));
}

static void
unmount_disk (char *dir)
{
  if (dir == NULL)
    return;
  g_assert_no_errno (umount2 (dir, MNT_DETACH));
  g_rmdir (dir);
  g_free (dir);
}

/* PRAGMA integrity_check of a node's database, opened read-only */
static void
assert_database_intact (const char *path)
{
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_stmt *stmt = NULL;
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA integrity_check", -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "ok");
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

/* the texts of a user node's inbox, in order, joined by '|' */
static char *
inbox_texts (TestNode *node)
{
  g_autoptr(JsonNode) root = json_of (node, CHATD_ARGS ("recv"));
  JsonArray *a = json_node_get_array (root);
  g_autoptr(GString) s = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (a); i++)
    g_string_append_printf (s, "%s%s", i ? "|" : "",
                            json_object_get_string_member (json_array_get_object_element (a, i), "text"));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
send_ok (TestNode *from, const char *to, const char *text)
{
  g_assert_true (wait_until (from, reachable, to, 20));
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (from, CHATD_ARGS ("send", to, text), &out, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
}

static void
stop_node (TestNode *node)
{
  pid_t pid = node_pid (node);
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
  for (int i = 0; i < 500 && kill (pid, 0) == 0; i++)
    g_usleep (10000);
  g_assert_cmpint (kill (pid, 0), !=, 0);
}

/* the state directory (and everything the node keeps) moves onto disk */
static void
move_state (TestNode *node, const char *disk, const char *name)
{
  g_free (node->state_dir);
  node->state_dir = g_build_filename (disk, name, NULL);
}

static void
test_read_only_state (void)
{
  Net net = { 0 };
  net_start (&net);
  g_autoptr(TestNode) holder = test_node_new ();
  char *disk = mount_disk (holder, "8m");
  if (disk == NULL)
    {
      net_stop (&net);
      return;
    }
  /* Alice's state and a second server's state on the disk */
  TestNode *alice = test_node_new ();
  g_ptr_array_add (net.users, alice);
  move_state (alice, disk, "alice");
  g_assert_cmpint (start_user (&net, alice, "Alice", "Alice", NULL, NULL), ==, 0);
  TestNode *bob = login (&net, "Bob");
  send_ok (bob, "Alice", "written before");
  g_autoptr(TestNode) server2 = test_node_new ();
  move_state (server2, disk, "server2");
  test_node_start_server (server2, NULL);
  g_assert_cmpint (test_run_chatctl (server2, CHATD_ARGS ("seed"), NULL, NULL), ==, 0);
  stop_node (alice);
  g_assert_cmpint (test_run_chatctl (server2, CHATD_ARGS ("shutdown"), NULL, NULL), ==, 0);
  g_assert_cmpint (test_node_wait (server2), ==, 0);

  remount (disk, TRUE);
  /* the user node refuses to start, in one line, saying why */
  g_autofree char *err = NULL;
  g_assert_cmpint (start_user (&net, alice, "Alice", "Alice", NULL, &err), ==, 1);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "state directory"));
  g_assert_nonnull (strstr (err, "not writable: Read-only file system"));
  /* so does the server, with its state there, and a new node that would create one */
  g_autofree char *server_err = NULL;
  const char *const server_args[] = { "--server", "--listen", "127.0.0.1:0", "--socket", server2->socket_path,
                                      "--state-dir", server2->state_dir, "--plugin-dir",
                                      g_getenv ("CHATD_PLUGIN_DIR"), NULL };
  g_assert_cmpint (test_run_chatd (server2, server_args, NULL, &server_err), ==, 1);
  g_assert_true (test_is_one_line (server_err));
  g_assert_nonnull (strstr (server_err, "Read-only file system"));
  g_autoptr(TestNode) fresh = test_node_new ();
  move_state (fresh, disk, "fresh");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (start_user (&net, fresh, "Charlie", "Charlie", NULL, &err), ==, 1);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "cannot create directory"));
  g_assert_nonnull (strstr (err, "Read-only file system"));
  fresh->killed = TRUE;   /* never started */

  /* writable again: everything starts, with what it held */
  remount (disk, FALSE);
  g_autofree char *alice_db = g_build_filename (alice->state_dir, "mailbox.db", NULL);
  g_autofree char *server_db = g_build_filename (server2->state_dir, "directory.db", NULL);
  assert_database_intact (alice_db);
  assert_database_intact (server_db);
  g_assert_cmpint (start_user (&net, alice, "Alice", "Alice", NULL, NULL), ==, 0);
  g_autofree char *texts = inbox_texts (alice);
  g_assert_cmpstr (texts, ==, "written before");
  test_node_start_server (server2, NULL);
  g_autoptr(JsonNode) users = json_of (server2, CHATD_ARGS ("users"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (users)), ==, 4);
  g_clear_pointer (&server2, test_node_free);
  net_stop (&net);
  unmount_disk (disk);
}

/* fills the disk; returns the filler's path */
static char *
fill_disk (const char *disk)
{
  char *path = g_build_filename (disk, "filler", NULL);
  int fd = g_open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  static const char block[65536];
  for (;;)
    {
      ssize_t n = write (fd, block, sizeof block);
      if (n < 0 && errno == ENOSPC)
        break;
      g_assert_cmpint (n, >, 0);
    }
  /* and the last few pages */
  while (write (fd, block, 512) > 0)
    ;
  close (fd);
  return path;
}

static void
test_full_disk (void)
{
  g_autoptr(TestNode) holder = test_node_new ();
  char *disk = mount_disk (holder, "3m");
  if (disk == NULL)
    return;
  /* the server's and Bob's state on the small disk */
  Net net = { 0 };
  net.server = test_node_new ();
  move_state (net.server, disk, "server");
  net.users = g_ptr_array_new_with_free_func ((GDestroyNotify) test_node_free);
  g_autofree char *config = g_build_filename (net.server->root, "server.conf", NULL);
  g_assert_true (g_file_set_contents (config, SERVER_CONFIG, -1, NULL));
  test_node_start_server (net.server, CHATD_ARGS ("--config", config));
  g_assert_cmpint (test_run_chatctl (net.server, CHATD_ARGS ("seed"), NULL, NULL), ==, 0);
  net.connect = status_field (net.server, "listen");
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = test_node_new ();
  g_ptr_array_add (net.users, bob);
  move_state (bob, disk, "bob");
  g_assert_cmpint (start_user (&net, bob, "Bob", "Bob", NULL, NULL), ==, 0);
  send_ok (alice, "Bob", "before the disk filled");

  g_autofree char *filler = fill_disk (disk);
  /* the server: the command fails with the reason, exit 3 */
  g_autofree char *err = NULL;
  g_assert_cmpint (test_run_chatctl_input (net.server, CHATD_ARGS ("useradd", "Frank", "--password-stdin"),
                                           "frank-pw\n", NULL, &err), ==, 3);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "disk is full"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (test_run_chatctl (net.server, CHATD_ARGS ("useradd", "Grace"), NULL, &err), ==, 3);
  g_assert_nonnull (strstr (err, "disk is full"));
  /* Bob cannot store a message: he logs why and sends no receipt, so Alice
   * is never told "delivered" */
  g_autoptr(GSubprocessLauncher) launcher = test_node_launcher (alice);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) send = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CHATCTL"),
                                                             "--socket", alice->socket_path, "send", "Bob",
                                                             "while the disk is full", NULL);
  g_assert_no_error (error);
  gboolean refused = FALSE;
  for (int i = 0; i < 150 && !refused; i++)
    {
      g_autoptr(JsonNode) stats = json_of (bob, CHATD_ARGS ("stats"));
      refused = json_object_get_int_member (json_node_get_object (stats), "messages.refused") == 1;
      if (!refused)
        g_usleep (100000);
    }
  g_assert_true (refused);
  g_usleep (500000);
  g_assert_nonnull (g_subprocess_get_identifier (send));   /* still waiting: no "delivered" */
  g_subprocess_force_exit (send);
  g_subprocess_wait (send, NULL, NULL);
  /* both nodes still answer */
  g_assert_true (login_state_is (bob, "online"));
  g_autoptr(JsonNode) users = json_of (net.server, CHATD_ARGS ("users"));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (users)), ==, 4);

  /* a node that starts on the full disk says so and stops */
  g_autoptr(TestNode) fresh = test_node_new ();
  move_state (fresh, disk, "charlie");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (start_user (&net, fresh, "Charlie", "Charlie", NULL, &err), ==, 1);
  g_assert_true (test_is_one_line (err));
  g_assert_nonnull (strstr (err, "disk is full"));
  fresh->killed = TRUE;

  /* space again: everything works and nothing half-written is left */
  g_assert_no_errno (g_unlink (filler));
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl_input (net.server, CHATD_ARGS ("useradd", "Frank", "--password-stdin"),
                                           "frank-pw\n", &out, NULL), ==, 0);
  send_ok (alice, "Bob", "after");
  g_autofree char *texts = inbox_texts (bob);
  g_assert_cmpstr (texts, ==, "before the disk filled|after");
  stop_node (bob);
  g_autofree char *bob_db = g_build_filename (bob->state_dir, "mailbox.db", NULL);
  assert_database_intact (bob_db);
  g_assert_cmpint (start_user (&net, bob, "Bob", "Bob", NULL, NULL), ==, 0);
  g_autofree char *again = inbox_texts (bob);
  g_assert_cmpstr (again, ==, "before the disk filled|after");
  net_stop (&net);
  unmount_disk (disk);
}

static void
test_server_killed_while_online (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  send_ok (alice, "Bob", "before");
  g_autofree char *config = g_build_filename (net.server->root, "server.conf", NULL);
  g_subprocess_send_signal (net.server->process, SIGKILL);
  g_assert_cmpint (test_node_wait (net.server), ==, 128 + SIGKILL);
  g_assert_true (wait_until (alice, login_state_is, "retrying", 45));
  g_assert_true (wait_until (bob, login_state_is, "retrying", 45));
  g_autofree char *db = g_build_filename (net.server->state_dir, "directory.db", NULL);
  assert_database_intact (db);
  /* the same server comes back on the same port with the same state */
  test_node_start_server (net.server, CHATD_ARGS ("--config", config, "--listen", net.connect));
  g_assert_true (wait_until (alice, login_state_is, "online", 45));
  g_assert_true (wait_until (bob, login_state_is, "online", 45));
  g_assert_true (wait_until (net.server, (gpointer) list_has, "Alice", 5));
  g_assert_true (wait_until (net.server, (gpointer) list_has, "Bob", 5));
  g_assert_true (wait_until (alice, (gpointer) list_has, "Bob", 15));
  send_ok (alice, "Bob", "after, from Alice");
  send_ok (bob, "Alice", "after, from Bob");
  g_autofree char *bob_texts = inbox_texts (bob);
  g_assert_cmpstr (bob_texts, ==, "before|after, from Alice");
  g_autofree char *alice_texts = inbox_texts (alice);
  g_assert_cmpstr (alice_texts, ==, "after, from Bob");
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  /* as root: a mount namespace of our own (before any thread exists), so
   * that the tmpfs disks vanish with this process and the nodes it starts,
   * even when a failing assertion skips the unmount */
  if (geteuid () == 0 && unshare (CLONE_NEWNS) == 0)
    (void) mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/faults/read-only-state", test_read_only_state);
  g_test_add_func ("/integration/faults/full-disk", test_full_disk);
  g_test_add_func ("/integration/faults/server-killed-while-online", test_server_killed_while_online);
  return g_test_run ();
}
