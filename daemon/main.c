/* main.c: chatd, the chat node. */
#define G_LOG_DOMAIN "chatd"
#include "chatd-config.h"
#include "chatd-crypto.h"
#include "daemonize.h"
#include "node.h"
#include "node-options.h"

#include <locale.h>
#include <stdio.h>

static int
fail (ChatdDaemon *daemon, const GError *error)
{
  if (daemon != NULL)
    chatd_daemon_report_failed (daemon, 1, error->message);
  else
    fprintf (stderr, "chatd: %s\n", error->message);
  return 1;
}

/* --daemon: the parent returns 0 once the node is usable, 3 if it never
 * will be (login refused: wrong password, changed server key, ...) */
typedef struct {
  ChatdDaemon *daemon;
  ChatdNode   *node;
} Readiness;

static void
on_node_ready (gboolean ok, const char *message, gpointer user_data)
{
  Readiness *readiness = user_data;
  if (readiness->daemon == NULL)
    return;
  if (ok)
    chatd_daemon_report_ready (g_steal_pointer (&readiness->daemon));
  else
    {
      /* nobody is watching a background node that cannot log in: it stops */
      chatd_daemon_report_failed (g_steal_pointer (&readiness->daemon), 3, message);
      chatd_node_request_shutdown (readiness->node);
    }
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  g_autoptr(GError) error = NULL;
  ChatdNodeOptions options = { 0 };
  ChatdOptionsOutcome outcome;

  if (!chatd_node_options_parse (&options, &argc, &argv, &outcome, &error))
    {
      fprintf (stderr, "chatd: %s (see chatd --help)\n", error->message);
      chatd_node_options_clear (&options);
      return 1;
    }
  if (outcome == CHATD_OPTIONS_VERSION)
    {
      printf ("chatd %s (plugin ABI %d)\n", CHATD_VERSION, CHATD_PLUGIN_ABI_VERSION);
      chatd_node_options_clear (&options);
      return 0;
    }

  /* fork before anything else is initialised: no threads, no secure memory yet */
  ChatdDaemon *daemon = options.daemonize ? chatd_daemonize (options.wait_seconds) : NULL;

  int status = 0;
  {
    /* libgcrypt and its secure memory: once, after the fork, before any plugin */
    g_autoptr(ChatdNode) node = chatd_crypto_init (&error) ? chatd_node_new (&options, &error) : NULL;
    if (node != NULL && daemon != NULL)
      {
        g_autofree char *log_path = g_build_filename (node->state_dir, "chatd.log", NULL);
        chatd_daemon_redirect_output (daemon, log_path);
      }
    Readiness readiness = { daemon, node };
    if (node != NULL)
      chatd_node_set_ready_func (node, on_node_ready, &readiness);
    if (node == NULL || !chatd_node_start (node, &error))
      status = fail (g_steal_pointer (&readiness.daemon), error);
    else
      {
        if (node->role == CHATD_ROLE_SERVER)
          chatd_node_report_ready (node, TRUE, "listening");
        chatd_node_run (node);
        g_message ("node '%s' stopped", node->name);
      }
  }
  chatd_node_options_clear (&options);
  return status;
}
