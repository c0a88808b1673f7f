/* bench-enet.c: ENet's reliable channel (Debian's libenet-dev).
 *
 * As PLATFORM-NOTES advises: enet_host_service is called with at most a
 * 1 ms timeout (ENet runs its retransmission timers only in there), and a
 * sender keeps at most 256 KiB of unacknowledged packets queued (ENet slows
 * down badly when everything is queued at once).  A packet's free callback
 * runs when its last fragment is acknowledged, which gives the queued amount.
 */
#include "bench.h"

#include <string.h>
#include <netinet/in.h>
#include <enet/enet.h>
#include <gio/gio.h>

#define QUEUE_LIMIT (256 * 1024)

struct _BenchEndpoint {
  ENetHost *host;
  ENetPeer *peer;
  gsize in_flight;
  gboolean connected;
};

static gsize enet_ready;

static gboolean
ensure_enet (GError **error)
{
  if (g_once_init_enter (&enet_ready))
    {
      int r = enet_initialize ();
      g_once_init_leave (&enet_ready, r == 0 ? 1 : 2);
    }
  if (enet_ready != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "enet_initialize failed");
      return FALSE;
    }
  return TRUE;
}

static void
to_enet_address (const struct sockaddr *addr, ENetAddress *ret)
{
  const struct sockaddr_in *in = (const struct sockaddr_in *) addr;
  ret->host = in->sin_addr.s_addr;       /* ENet keeps IPv4 in network order */
  ret->port = ntohs (in->sin_port);
}

static void
enet_free_endpoint (BenchEndpoint *e)
{
  if (e->host != NULL)
    enet_host_destroy (e->host);
  g_free (e);
}

static BenchEndpoint *
enet_listen_endpoint (const struct sockaddr *addr, socklen_t addr_len, guint16 *ret_port, GError **error)
{
  BenchEndpoint *e;
  ENetAddress a, bound;

  if (addr->sa_family != AF_INET)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "ENet 1.3 speaks IPv4 only");
      return NULL;
    }
  if (!ensure_enet (error))
    return NULL;
  e = g_new0 (BenchEndpoint, 1);
  to_enet_address (addr, &a);
  e->host = enet_host_create (&a, 1, 1, 0, 0);
  if (e->host == NULL || enet_socket_get_address (e->host->socket, &bound) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "enet_host_create failed");
      enet_free_endpoint (e);
      return NULL;
    }
  enet_socket_set_option (e->host->socket, ENET_SOCKOPT_RCVBUF, 4 * 1024 * 1024);
  enet_socket_set_option (e->host->socket, ENET_SOCKOPT_SNDBUF, 4 * 1024 * 1024);
  *ret_port = bound.port;
  return e;
}

static void
on_packet_freed (ENetPacket *packet)
{
  BenchEndpoint *e = packet->userData;
  if (e != NULL)
    e->in_flight -= MIN (e->in_flight, packet->dataLength);
}

static BenchEndpoint *
enet_connect_endpoint (const struct sockaddr *addr, socklen_t addr_len, GError **error)
{
  BenchEndpoint *e;
  ENetAddress a;
  ENetEvent event;
  gint64 deadline = bench_now_us () + 10 * G_USEC_PER_SEC;

  if (addr->sa_family != AF_INET)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "ENet 1.3 speaks IPv4 only");
      return NULL;
    }
  if (!ensure_enet (error))
    return NULL;
  e = g_new0 (BenchEndpoint, 1);
  to_enet_address (addr, &a);
  e->host = enet_host_create (NULL, 1, 1, 0, 0);
  if (e->host == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "enet_host_create failed");
      enet_free_endpoint (e);
      return NULL;
    }
  enet_socket_set_option (e->host->socket, ENET_SOCKOPT_RCVBUF, 4 * 1024 * 1024);
  enet_socket_set_option (e->host->socket, ENET_SOCKOPT_SNDBUF, 4 * 1024 * 1024);
  e->peer = enet_host_connect (e->host, &a, 1, 0);
  if (e->peer == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "enet_host_connect failed");
      enet_free_endpoint (e);
      return NULL;
    }
  while (bench_now_us () < deadline)
    if (enet_host_service (e->host, &event, 1) > 0 && event.type == ENET_EVENT_TYPE_CONNECT)
      {
        e->connected = TRUE;
        return e;
      }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "ENet connection timed out");
  enet_free_endpoint (e);
  return NULL;
}

static gboolean
enet_send_message (BenchEndpoint *e, const guint8 *data, gsize len)
{
  ENetPacket *packet;

  if (e->peer == NULL)
    return TRUE;     /* nobody connected yet: dropped */
  if (e->in_flight > QUEUE_LIMIT)
    return FALSE;
  packet = enet_packet_create (data, len, ENET_PACKET_FLAG_RELIABLE);
  if (packet == NULL)
    return FALSE;
  packet->freeCallback = on_packet_freed;
  packet->userData = e;
  e->in_flight += len;
  if (enet_peer_send (e->peer, 0, packet) < 0)
    {
      enet_packet_destroy (packet);
      return FALSE;
    }
  return TRUE;
}

static void
handle_event (BenchEndpoint *e, ENetEvent *event, BenchMessageFunc on_message, gpointer user_data)
{
  switch (event->type)
    {
    case ENET_EVENT_TYPE_CONNECT:
      e->peer = event->peer;
      e->connected = TRUE;
      break;
    case ENET_EVENT_TYPE_RECEIVE:
      on_message (e, event->packet->data, event->packet->dataLength, user_data);
      enet_packet_destroy (event->packet);
      break;
    case ENET_EVENT_TYPE_DISCONNECT:
      if (event->peer == e->peer)
        e->peer = NULL;
      e->connected = FALSE;
      break;
    case ENET_EVENT_TYPE_NONE:
      break;
    }
}

static void
enet_poll_endpoint (BenchEndpoint *e, gint64 timeout_us, BenchMessageFunc on_message, gpointer user_data)
{
  ENetEvent event;
  /* ENet waits in whole milliseconds; never longer than 1 ms, as advised. */
  enet_uint32 ms = timeout_us > 0 ? 1 : 0;
  int r = enet_host_service (e->host, &event, ms);

  for (int round = 0; r > 0 && round < 4096; round++)
    {
      handle_event (e, &event, on_message, user_data);
      r = enet_host_check_events (e->host, &event);
      if (r <= 0)
        r = enet_host_service (e->host, &event, 0);
    }
  enet_host_flush (e->host);
}

static gboolean
enet_idle (BenchEndpoint *e)
{
  return e->in_flight == 0;
}

static guint64
enet_wire_bytes (BenchEndpoint *e)
{
  return (guint64) e->host->totalSentData + (guint64) e->host->totalSentPackets * BENCH_IPV4_UDP_OVERHEAD;
}

const BenchContender bench_contender_enet = {
  .name = "enet",
  .label = "ENet 1.3",
  .reliable = TRUE,
  .over_udp = TRUE,
  .max_message = 32 * 1024 * 1024,
  .transfer_message = 64 * 1024,
  .listen = enet_listen_endpoint,
  .connect = enet_connect_endpoint,
  .send = enet_send_message,
  .poll = enet_poll_endpoint,
  .idle = enet_idle,
  .wire_bytes = enet_wire_bytes,
  .free = enet_free_endpoint,
};
