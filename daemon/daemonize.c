/* daemonize.c: --daemon: fork first, report readiness through a pipe. */
#define G_LOG_DOMAIN "chatd"
#include "daemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct _ChatdDaemon {
  int report_fd;   /* write end of the pipe to the waiting parent */
};

#define REPORT_READY 'R'
#define REPORT_FAILED 'F'
#define REPORT_UNUSABLE 'U'

static G_NORETURN void
parent_wait (int fd, pid_t child, int wait_seconds)
{
  char buf[1024];
  gsize len = 0;
  gint64 deadline = g_get_monotonic_time () + (gint64) wait_seconds * G_USEC_PER_SEC;
  for (;;)
    {
      gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
      if (left_ms <= 0)
        {
          fprintf (stderr, "chatd: the node did not become ready within %d s "
                   "(it keeps running as pid %d; see its log)\n", wait_seconds, (int) child);
          _exit (3);
        }
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      int n = poll (&pfd, 1, (int) MIN (left_ms, 1000));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        continue;
      ssize_t got = read (fd, buf + len, sizeof buf - 1 - len);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        break;
      len += got;
      if (buf[0] == REPORT_READY || len == sizeof buf - 1)
        break;
    }
  buf[len] = '\0';
  if (len > 0 && buf[0] == REPORT_READY)
    _exit (0);
  if (len > 1 && (buf[0] == REPORT_FAILED || buf[0] == REPORT_UNUSABLE))
    {
      fprintf (stderr, "chatd: %s\n", buf + 1);
      _exit (buf[0] == REPORT_UNUSABLE ? 3 : 1);
    }
  /* the child died without a report */
  int status = 0;
  waitpid (child, &status, WNOHANG);
  fprintf (stderr, "chatd: the node exited during start-up\n");
  _exit (1);
}

/* The parent that waits for the node still has $CHATD_PASSWORD in its
 * environment, and /proc/PID/environ (what `ps e` shows) reads the process's
 * initial environment block, not the environ array: unsetenv() alone would
 * leave the text there.  The value is overwritten where it lives (the node,
 * the grandchild, has its own copy from before the fork and does the same
 * once it has read it: daemon/user/password.c). */
static void
forget_password (void)
{
  for (char **e = environ; e != NULL && *e != NULL; e++)
    if (g_str_has_prefix (*e, "CHATD_PASSWORD="))
      {
        char *value = *e + strlen ("CHATD_PASSWORD=");
        explicit_bzero (value, strlen (value));
      }
  unsetenv ("CHATD_PASSWORD");
}

ChatdDaemon *
chatd_daemonize (int wait_seconds)
{
  int fds[2];
  if (pipe2 (fds, O_CLOEXEC) != 0)
    {
      fprintf (stderr, "chatd: --daemon: pipe: %s\n", g_strerror (errno));
      exit (1);
    }
  pid_t pid = fork ();
  if (pid < 0)
    {
      fprintf (stderr, "chatd: --daemon: fork: %s\n", g_strerror (errno));
      exit (1);
    }
  if (pid > 0)
    {
      close (fds[1]);
      forget_password (); /* the parent may wait up to --wait seconds: its copy goes now */
      parent_wait (fds[0], pid, wait_seconds);
    }
  close (fds[0]);
  if (setsid () < 0)
    _exit (1);
  /* second fork: the node is not a session leader, so it never gets a tty */
  pid = fork ();
  if (pid < 0)
    _exit (1);
  if (pid > 0)
    _exit (0);
  int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0)
    {
      dup2 (null_fd, STDIN_FILENO);
      close (null_fd);
    }
  ChatdDaemon *daemon = g_new0 (ChatdDaemon, 1);
  daemon->report_fd = fds[1];
  return daemon;
}

static void
write_all (int fd, const char *data, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      data += n;
      len -= n;
    }
}

void
chatd_daemon_redirect_output (ChatdDaemon *daemon, const char *log_path)
{
  int log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd >= 0)
    {
      dup2 (log_fd, STDOUT_FILENO);
      dup2 (log_fd, STDERR_FILENO);
      close (log_fd);
    }
}

void
chatd_daemon_report_ready (ChatdDaemon *daemon)
{
  char ready = REPORT_READY;
  write_all (daemon->report_fd, &ready, 1);
  close (daemon->report_fd);
  g_free (daemon);
}

void
chatd_daemon_report_failed (ChatdDaemon *daemon, int status, const char *message)
{
  char failed = status == 3 ? REPORT_UNUSABLE : REPORT_FAILED;
  write_all (daemon->report_fd, &failed, 1);
  write_all (daemon->report_fd, message, strlen (message));
  close (daemon->report_fd);
  g_free (daemon);
}
