/* hello-flood.c: an unauthenticated HELLO flood (hello-flood.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "hello-flood.h"
#include "auth-message.h"
#include "chatd-transport.h"
#include "login.h"
#include "session-protocol.h"

#include <gcrypt.h>
#include <glib-unix.h>
#include <string.h>

#define ANSWER_TIMEOUT_US (2 * G_USEC_PER_SEC)
#define TICK_MS           1

typedef struct _Flood Flood;

typedef struct {
  Flood           *flood;
  ChatdTransport  *transport;
  ChatdConnection *connection;   /* the HELLO in flight, or NULL */
  gint64           sent_us;
} FloodPort;

struct _Flood {
  FloodConfig  config;
  FloodPort   *ports;
  FloodResult *result;
  gint64       start_us;
  gboolean     stop;
  guint        stop_source;
  guint        next_port;
};

static void
port_reset (FloodPort *port, gboolean close)
{
  ChatdConnection *connection = g_steal_pointer (&port->connection);
  if (connection == NULL)
    return;
  if (close)
    chatd_transport_close_connection (port->transport, connection, 0, "flood");
  chatd_connection_unref (connection);
}

static void
on_message (ChatdEndpoint *endpoint, ChatdConnection *connection, const ChatdAddress *from,
            GBytes *bytes, gpointer user_data)
{
  FloodPort *port = user_data;
  if (connection != port->connection)
    return;
  FloodResult *result = port->flood->result;
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, NULL);
  if (message != NULL && message->type == CHATD_MSG_CHALLENGE && message->fields[CH_BITS].len == 1)
    {
      guint bits = ((const guint8 *) message->fields[CH_BITS].data)[0];
      if (result->challenges == 0)
        result->bits_first = bits;
      result->challenges++;
      result->bits_max = MAX (result->bits_max, bits);
      result->bits_last = bits;
    }
  else
    result->refusals++;
  port_reset (port, TRUE);
}

static void
on_connection (ChatdEndpoint *endpoint, ChatdConnection *connection, ChatdConnectionEvent event,
               const GError *error, gpointer user_data)
{
  FloodPort *port = user_data;
  if (event == CHATD_CONNECTION_EVENT_CLOSED && connection == port->connection)
    {
      port->flood->result->timeouts++;
      port_reset (port, FALSE);
    }
}

static GBytes *
random_hello (void)
{
  guint8 nonce[CHATD_LOGIN_NONCE_LEN], share[32];
  gcry_create_nonce (nonce, sizeof nonce);
  gcry_create_nonce (share, sizeof share);
  ChatdSlice fields[] = { CHATD_SLICE (nonce, sizeof nonce), CHATD_SLICE (share, sizeof share),
                          CHATD_SLICE_STR (CHATD_CHANNEL_SUITE) };
  return chatd_auth_message_build (CHATD_MSG_HELLO, fields, G_N_ELEMENTS (fields));
}

static void
port_send (FloodPort *port, gint64 now)
{
  g_autoptr(GBytes) hello = random_hello ();
  chatd_transport_send (port->transport, &port->flood->config.server, hello, NULL, NULL);
  ChatdConnection *connection = chatd_endpoint_lookup (chatd_transport_get_endpoint (port->transport),
                                                       &port->flood->config.server);
  port->connection = connection ? chatd_connection_ref (connection) : NULL;
  port->sent_us = now;
  port->flood->result->hellos_sent++;
}

static gboolean
tick (gpointer user_data)
{
  Flood *flood = user_data;
  gint64 now = g_get_monotonic_time ();
  if (now - flood->start_us >= flood->config.duration_us)
    {
      flood->stop = TRUE;
      return G_SOURCE_CONTINUE;
    }
  guint64 allowed = (guint64) ((now - flood->start_us) / (double) G_USEC_PER_SEC * flood->config.max_rate) + 1;
  for (guint i = 0; i < flood->config.sockets && flood->result->hellos_sent < allowed; i++)
    {
      FloodPort *port = &flood->ports[flood->next_port];
      flood->next_port = (flood->next_port + 1) % flood->config.sockets;
      if (port->connection != NULL && now - port->sent_us > ANSWER_TIMEOUT_US)
        {
          flood->result->timeouts++;
          port_reset (port, TRUE);
        }
      if (port->connection == NULL)
        port_send (port, now);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_stop_fd (gint fd, GIOCondition condition, gpointer user_data)
{
  Flood *flood = user_data;
  flood->stop = TRUE;
  flood->stop_source = 0;
  return G_SOURCE_REMOVE;
}

gboolean
hello_flood_run (const FloodConfig *config, int stop_fd, FloodResult *ret_result, GError **error)
{
  Flood flood = { .config = *config, .result = ret_result };
  memset (ret_result, 0, sizeof *ret_result);
  flood.ports = g_new0 (FloodPort, config->sockets);
  gboolean ok = TRUE;
  guint n_ports = 0;
  for (; n_ports < config->sockets; n_ports++)
    {
      FloodPort *port = &flood.ports[n_ports];
      port->flood = &flood;
      port->transport = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, error);
      if (port->transport == NULL)
        {
          ok = FALSE;
          break;
        }
      chatd_transport_set_message_callback (port->transport, on_message, port);
      chatd_transport_set_connection_callback (port->transport, on_connection, port);
    }
  if (ok)
    {
      if (stop_fd >= 0)
        flood.stop_source = g_unix_fd_add (stop_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stop_fd, &flood);
      flood.start_us = g_get_monotonic_time ();
      guint tick_source = g_timeout_add (TICK_MS, tick, &flood);
      while (!flood.stop)
        g_main_context_iteration (NULL, TRUE);
      ret_result->seconds = (g_get_monotonic_time () - flood.start_us) / (double) G_USEC_PER_SEC;
      g_source_remove (tick_source);
      if (flood.stop_source != 0)
        g_source_remove (flood.stop_source);
    }
  for (guint i = 0; i < n_ports; i++)
    {
      FloodPort *port = &flood.ports[i];
      chatd_transport_set_message_callback (port->transport, NULL, NULL);
      chatd_transport_set_connection_callback (port->transport, NULL, NULL);
      port_reset (port, FALSE);
      chatd_transport_free (port->transport);
    }
  g_free (flood.ports);
  return ok;
}
