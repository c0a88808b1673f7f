/* daemonize.h: --daemon: fork before anything else is initialised, and let
 * the parent return only when the child reports that the node is usable. */
#pragma once
#include <glib.h>

typedef struct _ChatdDaemon ChatdDaemon;

/* In the parent: waits for the child's report (or wait_seconds) and exits the
 * process: 0 when ready, 1 with the child's error on stderr, 3 on timeout.
 * Returns only in the child (detached: new session, stdin on /dev/null). */
ChatdDaemon *chatd_daemonize (int wait_seconds);
/* Child: from now on stdout and stderr (the log) go to log_path (0600). */
void         chatd_daemon_redirect_output (ChatdDaemon *daemon, const char *log_path);
/* Child: the node is usable. */
void         chatd_daemon_report_ready  (ChatdDaemon *daemon);
/* Child: start-up failed; the parent prints message and exits with status
 * (1: bad set-up, 3: the node could not become usable, e.g. login refused). */
void         chatd_daemon_report_failed (ChatdDaemon *daemon, int status, const char *message);
