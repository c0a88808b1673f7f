/* paths.c: where a node keeps its state and its control socket. */
#define G_LOG_DOMAIN "chatd"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

char *
chatd_default_state_dir (const char *node)
{
  const char *state_home = g_getenv ("XDG_STATE_HOME");
  if (state_home != NULL && g_path_is_absolute (state_home))
    return g_build_filename (state_home, "chatd", node, NULL);
  return g_build_filename (g_get_home_dir (), ".local", "state", "chatd", node, NULL);
}

char *
chatd_default_socket_dir (void)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  if (runtime != NULL && g_path_is_absolute (runtime))
    return g_build_filename (runtime, "chatd", NULL);
  g_autofree char *name = g_strdup_printf ("chatd-%u", (unsigned) getuid ());
  return g_build_filename (g_get_tmp_dir (), name, NULL);
}

char *
chatd_default_socket_path (const char *node)
{
  g_autofree char *dir = chatd_default_socket_dir ();
  g_autofree char *file = g_strconcat (node, ".sock", NULL);
  return g_build_filename (dir, file, NULL);
}

gboolean
chatd_ensure_private_dir (const char *dir, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  gboolean created = FALSE;
  if (g_mkdir_with_parents (parent, 0700) == 0 && g_mkdir (dir, 0700) == 0)
    created = TRUE;
  else if (errno != EEXIST)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create directory %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  struct stat st;
  if (lstat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                   "%s is not a directory", dir);
      return FALSE;
    }
  if (st.st_uid != getuid ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "directory %s belongs to another user (uid %u)", dir, (unsigned) st.st_uid);
      return FALSE;
    }
  /* a directory we did not create is never changed; one that others may
   * write to is refused (they could replace what we put there) */
  if (!created && (st.st_mode & 0022) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "directory %s is writable by other users (mode %03o): choose a private one",
                   dir, (unsigned) (st.st_mode & 0777));
      return FALSE;
    }
  return TRUE;
}

gboolean
chatd_check_dir_writable (const char *dir, GError **error)
{
  g_autofree char *probe = g_build_filename (dir, ".chatd-write-probe-XXXXXX", NULL);
  int fd = g_mkstemp_full (probe, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "%s is not writable: %s", dir, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  g_unlink (probe);
  return TRUE;
}

gboolean
chatd_unix_socket_answers (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return FALSE;
  strcpy (addr.sun_path, path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  gboolean answers = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  close (fd);
  return answers;
}
