/* bench-netns.c: random loss for kernel TCP, which cannot go through the UDP
 * relay: two network namespaces joined by a veth pair, each dropping N % of
 * the TCP packets it receives with an nftables rule in its input hook.
 * GSO is limited to one segment per packet on the veth pair so that a drop
 * loses one segment, not a 64 KiB train. */
#include "bench-netns.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

static gboolean
run_command (GError **error, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  int status = 0;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) first);
  va_start (ap, first);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_autofree char *cmd = g_strjoinv (" ", (char **) argv->pdata);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", cmd, g_strstrip (err));
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_loss_rule (const char *ns, guint loss_percent, GError **error)
{
  g_autofree char *percent = g_strdup_printf ("%u", loss_percent);

  return run_command (error, "ip", "netns", "exec", ns, "nft", "add", "table", "inet", "bench", NULL) &&
         run_command (error, "ip", "netns", "exec", ns, "nft", "add", "chain", "inet", "bench", "input",
                      "{ type filter hook input priority 0 ; policy accept ; }", NULL) &&
         (loss_percent == 0 ||
          run_command (error, "ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "bench", "input",
                       "meta", "l4proto", "tcp", "numgen", "random", "mod", "100", "<", percent, "drop", NULL));
}

gboolean
bench_netns_create (guint loss_percent, BenchNetns *ret, GError **error)
{
  BenchNetns n = { 0 };
  g_autofree char *veth_s = NULL, *veth_c = NULL;
  guint id = (guint) getpid ();

  n.server_ns = g_strdup_printf ("chatd-bench-%u-s", id);
  n.client_ns = g_strdup_printf ("chatd-bench-%u-c", id);
  n.server_ip = "10.213.0.2";
  veth_s = g_strdup_printf ("cbs%u", id);
  veth_c = g_strdup_printf ("cbc%u", id);

  if (!run_command (error, "ip", "netns", "add", n.server_ns, NULL))
    goto fail;
  n.created = 1;
  if (!run_command (error, "ip", "netns", "add", n.client_ns, NULL))
    goto fail;
  n.created = 2;
  if (!run_command (error, "ip", "link", "add", veth_s, "netns", n.server_ns, "type", "veth",
                    "peer", "name", veth_c, "netns", n.client_ns, NULL) ||
      !run_command (error, "ip", "-n", n.server_ns, "link", "set", veth_s, "gso_max_segs", "1", NULL) ||
      !run_command (error, "ip", "-n", n.client_ns, "link", "set", veth_c, "gso_max_segs", "1", NULL) ||
      !run_command (error, "ip", "-n", n.server_ns, "addr", "add", "10.213.0.2/24", "dev", veth_s, NULL) ||
      !run_command (error, "ip", "-n", n.client_ns, "addr", "add", "10.213.0.1/24", "dev", veth_c, NULL) ||
      !run_command (error, "ip", "-n", n.server_ns, "link", "set", veth_s, "up", NULL) ||
      !run_command (error, "ip", "-n", n.client_ns, "link", "set", veth_c, "up", NULL) ||
      !run_command (error, "ip", "-n", n.server_ns, "link", "set", "lo", "up", NULL) ||
      !run_command (error, "ip", "-n", n.client_ns, "link", "set", "lo", "up", NULL) ||
      !add_loss_rule (n.server_ns, loss_percent, error) ||
      !add_loss_rule (n.client_ns, loss_percent, error))
    goto fail;
  *ret = n;
  return TRUE;

fail:
  bench_netns_destroy (&n);
  return FALSE;
}

void
bench_netns_destroy (BenchNetns *n)
{
  if (n->created >= 2)
    (void) run_command (NULL, "ip", "netns", "del", n->client_ns, NULL);
  if (n->created >= 1)
    (void) run_command (NULL, "ip", "netns", "del", n->server_ns, NULL);
  n->created = 0;
  g_clear_pointer (&n->server_ns, g_free);
  g_clear_pointer (&n->client_ns, g_free);
}

/* Deletes namespaces left behind by a benchmark that was killed: their
 * names carry the pid of a process that no longer exists. */
void
bench_netns_remove_stale (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/var/run/netns", 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      long pid;
      char *end = NULL;
      if (!g_str_has_prefix (name, "chatd-bench-"))
        continue;
      pid = strtol (name + strlen ("chatd-bench-"), &end, 10);
      if (pid <= 0 || end == NULL || *end != '-')
        continue;
      if (kill ((pid_t) pid, 0) < 0 && errno == ESRCH)
        (void) run_command (NULL, "ip", "netns", "del", name, NULL);
    }
}
