/* node-lock.c: one live node per control socket. */
#define G_LOG_DOMAIN "chatd-control"
#include "node-lock.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct _ChatdNodeLock {
  char *socket_path;
  char *lock_path;
  int   fd;
};

static char *
read_owner_pid (int fd)
{
  char buf[32] = { 0 };
  ssize_t n = pread (fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return g_strdup ("unknown pid");
  g_strchomp (buf);
  return g_strdup_printf ("pid %s", buf);
}

ChatdNodeLock *
chatd_node_lock_acquire (const char *socket_path, GError **error)
{
  struct sockaddr_un addr;
  if (strlen (socket_path) >= sizeof addr.sun_path)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                   "socket path %s is longer than %zu bytes", socket_path, sizeof addr.sun_path - 1);
      return NULL;
    }
  g_autofree char *lock_path = g_strconcat (socket_path, ".lock", NULL);
  int fd = g_open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot open lock file %s: %s", lock_path, g_strerror (saved));
      return NULL;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int saved = errno;
      g_autofree char *owner = read_owner_pid (fd);
      close (fd);
      if (saved == EWOULDBLOCK)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                     "another chatd (%s) is already running on %s", owner, socket_path);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     "cannot lock %s: %s", lock_path, g_strerror (saved));
      return NULL;
    }
  /* we hold the lock: a socket file left behind is stale unless something
   * unexpected (not a chatd holding the lock) still answers on it */
  if (chatd_unix_socket_answers (socket_path))
    {
      close (fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "something is already answering on %s (not a chatd holding its lock); "
                   "refusing to replace it", socket_path);
      return NULL;
    }
  if (g_unlink (socket_path) == 0)
    g_message ("replaced the stale control socket %s", socket_path);

  char pid[32];
  int len = g_snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
  if (ftruncate (fd, 0) != 0 || pwrite (fd, pid, len, 0) != len)
    g_warning ("cannot write pid to %s: %s", lock_path, g_strerror (errno));

  ChatdNodeLock *lock = g_new0 (ChatdNodeLock, 1);
  lock->socket_path = g_strdup (socket_path);
  lock->lock_path = g_steal_pointer (&lock_path);
  lock->fd = fd;
  return lock;
}

void
chatd_node_lock_release (ChatdNodeLock *lock)
{
  if (lock == NULL)
    return;
  /* the lock file stays: unlinking it would let a starting node lock a new
   * file while a racing one still holds the old inode */
  g_unlink (lock->socket_path);
  close (lock->fd);
  g_free (lock->socket_path);
  g_free (lock->lock_path);
  g_free (lock);
}
