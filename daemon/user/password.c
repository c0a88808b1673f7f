/* password.c: the user node's password, into secure memory. */
#define G_LOG_DOMAIN "chatd-user"
#include "password.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

/* reads at most CHATD_PASSWORD_MAX bytes from fd into secure memory; one
 * trailing newline (and carriage return) is not part of the password */
static ChatdSecret *
read_secret (int fd, const char *what, GError **error)
{
  g_autoptr(ChatdSecret) secret = chatd_secret_new (CHATD_PASSWORD_MAX + 1);
  gsize len = 0;
  for (;;)
    {
      ssize_t n = read (fd, secret->data + len, secret->len - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED, "cannot read %s: %s", what, g_strerror (saved));
          return NULL;
        }
      if (n == 0)
        break;
      len += n;
      if (len > CHATD_PASSWORD_MAX)
        {
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                       "%s holds more than %d bytes: not a password", what, CHATD_PASSWORD_MAX);
          return NULL;
        }
      if (memchr (secret->data + len - n, '\n', n) != NULL)
        break;
    }
  guint8 *newline = memchr (secret->data, '\n', len);
  if (newline != NULL)
    len = newline - secret->data;
  if (len > 0 && secret->data[len - 1] == '\r')
    len--;
  if (len == 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "%s holds an empty password", what);
      return NULL;
    }
  chatd_secret_truncate (secret, len);
  return g_steal_pointer (&secret);
}

static ChatdSecret *
from_environment (GError **error)
{
  for (char **e = environ; e != NULL && *e != NULL; e++)
    {
      if (!g_str_has_prefix (*e, "CHATD_PASSWORD="))
        continue;
      char *value = *e + strlen ("CHATD_PASSWORD=");
      gsize len = strlen (value);
      ChatdSecret *secret = NULL;
      if (len == 0 || len > CHATD_PASSWORD_MAX)
        g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                     "CHATD_PASSWORD is empty or longer than %d bytes", CHATD_PASSWORD_MAX);
      else
        secret = chatd_secret_new_from (value, len);
      /* wipe the value where it lives (what /proc/PID/environ shows), then
       * drop the variable */
      chatd_wipe (value, len);
      g_unsetenv ("CHATD_PASSWORD");
      return secret;
    }
  return NULL;
}

static ChatdSecret *
prompt (const char *user, GError **error)
{
  int fd = open ("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "no password: give --password-file FILE, set CHATD_PASSWORD, or run on a terminal");
      return NULL;
    }
  struct termios saved, quiet;
  gboolean echo_off = tcgetattr (fd, &saved) == 0;
  if (echo_off)
    {
      quiet = saved;
      quiet.c_lflag &= ~(ECHO | ECHONL);
      tcsetattr (fd, TCSAFLUSH, &quiet);
    }
  g_autofree char *question = g_strdup_printf ("Password for %s: ", user);
  (void) !write (fd, question, strlen (question));
  ChatdSecret *secret = read_secret (fd, "the terminal", error);
  if (echo_off)
    tcsetattr (fd, TCSAFLUSH, &saved);
  (void) !write (fd, "\n", 1);
  close (fd);
  return secret;
}

ChatdSecret *
chatd_password_obtain (const char *password_file, const char *user, gboolean may_prompt, GError **error)
{
  if (password_file != NULL)
    {
      int fd = open (password_file, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          int saved = errno;
          g_set_error (error, CHATD_ERROR, CHATD_ERROR_FAILED, "cannot open the password file %s: %s",
                       password_file, g_strerror (saved));
          return NULL;
        }
      g_autofree char *what = g_strdup_printf ("the password file %s", password_file);
      ChatdSecret *secret = read_secret (fd, what, error);
      close (fd);
      return secret;
    }
  g_autoptr(GError) env_error = NULL;
  ChatdSecret *secret = from_environment (&env_error);
  if (secret != NULL || env_error != NULL)
    {
      if (env_error != NULL)
        g_propagate_error (error, g_steal_pointer (&env_error));
      return secret;
    }
  if (!may_prompt)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "no password: a --daemon node needs --password-file FILE or CHATD_PASSWORD");
      return NULL;
    }
  return prompt (user, error);
}
