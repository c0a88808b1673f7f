/* bench-util.c: small helpers shared by the contenders and the runner. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench.h"

#include <errno.h>
#include <time.h>
#include <sys/resource.h>
#include <gio/gio.h>

gint64
bench_now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* CPU time (user + system) of the calling thread. */
double
bench_thread_cpu_s (void)
{
  struct rusage usage;
  getrusage (RUSAGE_THREAD, &usage);
  return (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

void
bench_set_socket_buffers (int fd, int bytes)
{
  /* Best effort: capped by rmem_max / wmem_max. */
  (void) setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  (void) setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

gboolean
bench_set_error_errno (GError **error, const char *what)
{
  int saved = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", what, g_strerror (saved));
  return FALSE;
}
