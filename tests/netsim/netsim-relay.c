/* netsim-relay: a UDP impairment relay for tests and benchmarks.
 *
 * Listens on one UDP address and forwards to one upstream address.  Each
 * client address gets its own upstream socket, so the upstream sees one
 * distinct peer per client and its answers go back to the right client.
 * Datagrams are impaired per direction (see netsim-options.c) with a seeded
 * generator; departures are kept in a heap and released by a timerfd, so
 * delays are exact to a few microseconds rather than GLib's milliseconds.
 *
 * First line on stdout: "LISTEN ADDRESS:PORT".  On exit (SIGTERM, SIGINT,
 * --duration, or the parent's death) one summary line per direction and one
 * for CPU use go to stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <netinet/in.h>

#include <glib-unix.h>
#include <gio/gio.h>

#include "netsim-impair.h"
#include "netsim-options.h"
#include "netsim-queue.h"

#define NETSIM_BATCH 64
#define NETSIM_MAX_DATAGRAM 65536
#define NETSIM_MAX_PENDING 262144
#define NETSIM_SOCKET_BUFFER (4 * 1024 * 1024)

typedef struct _NetsimRelay NetsimRelay;
typedef struct _NetsimClient NetsimClient;

typedef struct {
  NetsimClient *client;
  NetsimDirectionId direction;
} NetsimRoute;

struct _NetsimClient {
  NetsimRelay *relay;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  int upstream_fd;
  guint source_id;
  NetsimRoute routes[2];
};

struct _NetsimRelay {
  NetsimOptions *options;
  GMainLoop *loop;
  int listen_fd;
  int timer_fd;
  struct sockaddr_storage upstream;
  socklen_t upstream_len;
  GHashTable *clients;             /* GBytes (address) -> NetsimClient */
  NetsimDirection *directions[2];
  NetsimQueue *queue;
  guint64 start_ns;
  guint64 armed_ns;
  guint64 refused_clients;
  guint8 *buffers;                 /* NETSIM_BATCH * NETSIM_MAX_DATAGRAM */
};

static guint64
monotonic_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (guint64) ts.tv_sec * G_GUINT64_CONSTANT (1000000000) + (guint64) ts.tv_nsec;
}

static guint64
relay_now (NetsimRelay *relay)
{
  return monotonic_ns () - relay->start_ns;
}

static void
set_socket_buffers (int fd)
{
  int size = NETSIM_SOCKET_BUFFER;
  /* Best effort: the kernel caps these at rmem_max / wmem_max. */
  (void) setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  (void) setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

static gboolean
to_native (GInetSocketAddress *address, struct sockaddr_storage *ret, socklen_t *ret_len, GError **error)
{
  gssize len = g_socket_address_get_native_size (G_SOCKET_ADDRESS (address));
  if (len < 0 || (gsize) len > sizeof *ret)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unsupported address");
      return FALSE;
    }
  if (!g_socket_address_to_native (G_SOCKET_ADDRESS (address), ret, sizeof *ret, error))
    return FALSE;
  *ret_len = (socklen_t) len;
  return TRUE;
}

static void
arm_timer (NetsimRelay *relay)
{
  NetsimPending *next = netsim_queue_peek (relay->queue);
  struct itimerspec its = { 0 };
  guint64 at;

  if (next == NULL || next->due_ns == relay->armed_ns)
    return;
  at = relay->start_ns + next->due_ns;
  its.it_value.tv_sec = (time_t) (at / 1000000000u);
  its.it_value.tv_nsec = (long) (at % 1000000000u);
  if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
    its.it_value.tv_nsec = 1;
  timerfd_settime (relay->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
  relay->armed_ns = next->due_ns;
}

static int
route_fd (NetsimRelay *relay, const NetsimRoute *route)
{
  return route->direction == NETSIM_UP ? route->client->upstream_fd : relay->listen_fd;
}

/* Sends a run of due datagrams that leave through the same socket with one
 * sendmmsg (upstream sockets are connected; the listening one is not). */
static void
send_run (NetsimRelay *relay, NetsimPending **run, guint n)
{
  struct mmsghdr msgs[NETSIM_BATCH];
  struct iovec iovs[NETSIM_BATCH];
  NetsimRoute *first = run[0]->route;
  int fd = route_fd (relay, first);
  guint done = 0;

  for (guint i = 0; i < n; i++)
    {
      NetsimRoute *route = run[i]->route;
      iovs[i] = (struct iovec) { run[i]->data, run[i]->len };
      msgs[i].msg_hdr = (struct msghdr) { .msg_iov = &iovs[i], .msg_iovlen = 1 };
      if (route->direction == NETSIM_DOWN)
        {
          msgs[i].msg_hdr.msg_name = &route->client->addr;
          msgs[i].msg_hdr.msg_namelen = route->client->addr_len;
        }
    }
  while (done < n)
    {
      int sent = sendmmsg (fd, msgs + done, n - done, MSG_DONTWAIT);
      NetsimCounters *c;
      if (sent <= 0)
        {
          /* this datagram is lost (full socket buffer, ICMP error...); go on */
          c = netsim_direction_get_counters (relay->directions[((NetsimRoute *) run[done]->route)->direction]);
          c->send_errors++;
          done++;
          continue;
        }
      for (int i = 0; i < sent; i++)
        {
          c = netsim_direction_get_counters (relay->directions[((NetsimRoute *) run[done + i]->route)->direction]);
          c->forwarded++;
          c->bytes_out += run[done + i]->len;
        }
      done += (guint) sent;
    }
}

static void
flush_due (NetsimRelay *relay)
{
  guint64 now = relay_now (relay);
  NetsimPending *run[NETSIM_BATCH];
  guint n = 0;
  NetsimPending *p;

  while ((p = netsim_queue_peek (relay->queue)) != NULL && p->due_ns <= now)
    {
      if (n > 0 && (n == NETSIM_BATCH || route_fd (relay, p->route) != route_fd (relay, run[0]->route)))
        {
          send_run (relay, run, n);
          for (guint i = 0; i < n; i++)
            g_free (run[i]);
          n = 0;
        }
      run[n++] = netsim_queue_pop (relay->queue);
    }
  if (n > 0)
    {
      send_run (relay, run, n);
      for (guint i = 0; i < n; i++)
        g_free (run[i]);
    }
  arm_timer (relay);
}

static void
impair_and_queue (NetsimRelay *relay, NetsimRoute *route, guint8 *data, gsize len)
{
  NetsimDirection *direction = relay->directions[route->direction];
  NetsimFate fate;

  netsim_direction_judge (direction, relay_now (relay), data, len, &fate);
  if (fate.kind != NETSIM_FATE_FORWARD)
    return;
  for (guint i = 0; i < fate.copies; i++)
    {
      if (netsim_queue_length (relay->queue) >= NETSIM_MAX_PENDING)
        {
          netsim_direction_get_counters (direction)->dropped_queue++;
          continue;
        }
      netsim_queue_push (relay->queue, netsim_pending_new (fate.due_ns[i], route, data, len));
    }
}

static gboolean on_upstream_readable (int fd, GIOCondition condition, gpointer user_data);

static NetsimClient *
client_lookup_or_add (NetsimRelay *relay, const struct sockaddr_storage *addr, socklen_t addr_len)
{
  g_autoptr (GBytes) key = g_bytes_new (addr, addr_len);
  NetsimClient *client = g_hash_table_lookup (relay->clients, key);
  int fd;

  if (client != NULL)
    return client;
  if (g_hash_table_size (relay->clients) >= relay->options->max_clients)
    {
      relay->refused_clients++;
      return NULL;
    }
  fd = socket (relay->upstream.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      relay->refused_clients++;
      return NULL;
    }
  set_socket_buffers (fd);
  if (connect (fd, (struct sockaddr *) &relay->upstream, relay->upstream_len) < 0)
    {
      close (fd);
      relay->refused_clients++;
      return NULL;
    }
  client = g_new0 (NetsimClient, 1);
  client->relay = relay;
  memcpy (&client->addr, addr, addr_len);
  client->addr_len = addr_len;
  client->upstream_fd = fd;
  client->routes[NETSIM_UP] = (NetsimRoute) { client, NETSIM_UP };
  client->routes[NETSIM_DOWN] = (NetsimRoute) { client, NETSIM_DOWN };
  client->source_id = g_unix_fd_add (fd, G_IO_IN, on_upstream_readable, client);
  g_hash_table_insert (relay->clients, g_steal_pointer (&key), client);
  return client;
}

static void
client_free (gpointer data)
{
  NetsimClient *client = data;
  g_source_remove (client->source_id);
  close (client->upstream_fd);
  g_free (client);
}

/* Receives up to one batch from fd; calls back per datagram.  Returns the
 * number of datagrams received (0 when the socket is drained). */
static int
receive_batch (NetsimRelay *relay, int fd, struct sockaddr_storage *names,
               struct mmsghdr *msgs, struct iovec *iovs)
{
  for (int i = 0; i < NETSIM_BATCH; i++)
    {
      iovs[i].iov_base = relay->buffers + (gsize) i * NETSIM_MAX_DATAGRAM;
      iovs[i].iov_len = NETSIM_MAX_DATAGRAM;
      msgs[i].msg_hdr = (struct msghdr) {
        .msg_name = names != NULL ? &names[i] : NULL,
        .msg_namelen = names != NULL ? sizeof names[i] : 0,
        .msg_iov = &iovs[i],
        .msg_iovlen = 1,
      };
    }
  int n = recvmmsg (fd, msgs, NETSIM_BATCH, MSG_DONTWAIT, NULL);
  return n < 0 ? 0 : n;
}

static gboolean
on_listen_readable (int fd, GIOCondition condition, gpointer user_data)
{
  NetsimRelay *relay = user_data;
  struct sockaddr_storage names[NETSIM_BATCH];
  struct mmsghdr msgs[NETSIM_BATCH];
  struct iovec iovs[NETSIM_BATCH];
  int n;

  /* Bounded: a few batches per wakeup, so the timer is never starved. */
  for (int round = 0; round < 8 && (n = receive_batch (relay, fd, names, msgs, iovs)) > 0; round++)
    {
      for (int i = 0; i < n; i++)
        {
          NetsimClient *client = client_lookup_or_add (relay, &names[i], msgs[i].msg_hdr.msg_namelen);
          if (client == NULL)
            continue;
          impair_and_queue (relay, &client->routes[NETSIM_UP], iovs[i].iov_base, msgs[i].msg_len);
        }
      flush_due (relay);
      if (n < NETSIM_BATCH)
        break;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_upstream_readable (int fd, GIOCondition condition, gpointer user_data)
{
  NetsimClient *client = user_data;
  NetsimRelay *relay = client->relay;
  struct mmsghdr msgs[NETSIM_BATCH];
  struct iovec iovs[NETSIM_BATCH];
  int n;

  for (int round = 0; round < 8 && (n = receive_batch (relay, fd, NULL, msgs, iovs)) > 0; round++)
    {
      for (int i = 0; i < n; i++)
        impair_and_queue (relay, &client->routes[NETSIM_DOWN], iovs[i].iov_base, msgs[i].msg_len);
      flush_due (relay);
      if (n < NETSIM_BATCH)
        break;
    }
  /* An ICMP error (upstream not listening yet) is reported once by recv. */
  {
    int err = 0;
    socklen_t len = sizeof err;
    (void) getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &len);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_timer (int fd, GIOCondition condition, gpointer user_data)
{
  NetsimRelay *relay = user_data;
  guint64 expirations;

  if (read (fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
    g_warning ("timerfd read: %s", g_strerror (errno));
  relay->armed_ns = G_MAXUINT64;
  flush_due (relay);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_quit (gpointer user_data)
{
  NetsimRelay *relay = user_data;
  g_main_loop_quit (relay->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
relay_open (NetsimRelay *relay, GError **error)
{
  struct sockaddr_storage listen_addr;
  socklen_t listen_len;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *host = NULL;
  guint16 port;

  if (!to_native (relay->options->listen, &listen_addr, &listen_len, error) ||
      !to_native (relay->options->upstream, &relay->upstream, &relay->upstream_len, error))
    return FALSE;

  relay->listen_fd = socket (listen_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (relay->listen_fd < 0 ||
      bind (relay->listen_fd, (struct sockaddr *) &listen_addr, listen_len) < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot listen on %s: %s",
                   g_inet_address_to_string (g_inet_socket_address_get_address (relay->options->listen)),
                   g_strerror (saved));
      return FALSE;
    }
  set_socket_buffers (relay->listen_fd);
  listen_len = sizeof listen_addr;
  if (getsockname (relay->listen_fd, (struct sockaddr *) &listen_addr, &listen_len) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "getsockname: %s", g_strerror (errno));
      return FALSE;
    }
  bound = g_socket_address_new_from_native (&listen_addr, listen_len);
  host = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (bound)));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  relay->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (relay->timer_fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "timerfd: %s", g_strerror (errno));
      return FALSE;
    }
  g_unix_fd_add (relay->listen_fd, G_IO_IN, on_listen_readable, relay);
  g_unix_fd_add (relay->timer_fd, G_IO_IN, on_timer, relay);

  relay->start_ns = monotonic_ns ();
  if (strchr (host, ':') != NULL)
    printf ("LISTEN [%s]:%u\n", host, port);
  else
    printf ("LISTEN %s:%u\n", host, port);
  fflush (stdout);
  return TRUE;
}

static void
print_summary (NetsimRelay *relay)
{
  static const char *const names[2] = { "up", "down" };
  struct rusage usage;
  double wall = (double) relay_now (relay) / 1e9;

  for (int d = 0; d < 2; d++)
    {
      g_autofree char *line = netsim_counters_to_string (netsim_direction_get_counters (relay->directions[d]));
      fprintf (stderr, "netsim-relay: %s %s\n", names[d], line);
    }
  getrusage (RUSAGE_SELF, &usage);
  fprintf (stderr, "netsim-relay: cpu user_s=%.3f sys_s=%.3f wall_s=%.3f clients=%u refused_clients=%"
           G_GUINT64_FORMAT " pending=%u\n",
           (double) usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
           (double) usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6,
           wall, g_hash_table_size (relay->clients), relay->refused_clients,
           netsim_queue_length (relay->queue));
  fflush (stderr);
}

int
main (int argc, char **argv)
{
  NetsimOptions options;
  NetsimRelay relay = { 0 };
  g_autoptr (GError) error = NULL;
  int status = 0;

  /* Never outlive the test or benchmark that started us. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () == 1)
    return 1;

  netsim_options_init (&options);
  if (!netsim_options_parse (&options, &argc, &argv, &error))
    {
      fprintf (stderr, "netsim-relay: %s (see --help)\n", error->message);
      netsim_options_clear (&options);
      return 2;
    }

  relay.options = &options;
  relay.listen_fd = -1;
  relay.timer_fd = -1;
  relay.armed_ns = G_MAXUINT64;
  relay.loop = g_main_loop_new (NULL, FALSE);
  relay.clients = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                         (GDestroyNotify) g_bytes_unref, client_free);
  relay.queue = netsim_queue_new ();
  relay.buffers = g_malloc ((gsize) NETSIM_BATCH * NETSIM_MAX_DATAGRAM);
  relay.directions[NETSIM_UP] = netsim_direction_new (&options.impairment[NETSIM_UP], options.seed * 2);
  relay.directions[NETSIM_DOWN] = netsim_direction_new (&options.impairment[NETSIM_DOWN], options.seed * 2 + 1);

  if (!relay_open (&relay, &error))
    {
      fprintf (stderr, "netsim-relay: %s\n", error->message);
      status = 1;
    }
  else
    {
      g_unix_signal_add (SIGTERM, on_quit, &relay);
      g_unix_signal_add (SIGINT, on_quit, &relay);
      g_timeout_add ((guint) MIN (options.duration_s * 1000.0, (double) G_MAXUINT), on_quit, &relay);
      g_main_loop_run (relay.loop);
      print_summary (&relay);
    }

  g_hash_table_destroy (relay.clients);
  netsim_queue_free (relay.queue);
  netsim_direction_free (relay.directions[NETSIM_UP]);
  netsim_direction_free (relay.directions[NETSIM_DOWN]);
  g_free (relay.buffers);
  if (relay.listen_fd >= 0)
    close (relay.listen_fd);
  if (relay.timer_fd >= 0)
    close (relay.timer_fd);
  g_main_loop_unref (relay.loop);
  netsim_options_clear (&options);
  return status;
}
