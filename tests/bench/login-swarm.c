/* login-swarm.c: many simulated user nodes in one process (login-swarm.h).
 *
 * Each simulated user does what daemon/user/user-role.c does: HELLO on a
 * fresh connection, the login client's answers, the protector installed on
 * DONE, a presence request with its address, heartbeats, LOGOUT.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "login-swarm.h"
#include "auth-message.h"
#include "bench-server.h"
#include "chatd-transport.h"
#include "login.h"
#include "login-client.h"
#include "session-protocol.h"
#include "suite-25519.h"

#include <string.h>
#include <sys/resource.h>

#define TICK_MS               100
#define LOGOUT_WAIT_US        (10 * G_USEC_PER_SEC)
#define USERS_PER_SUBNET      200

typedef enum { SIM_IDLE, SIM_LOGGING_IN, SIM_ONLINE, SIM_LOGGING_OUT } SimState;

typedef struct {
  struct _Swarm    *swarm;
  guint             index;
  char             *name;
  char             *password;
  char             *address;        /* what the presence request advertises */
  ChatdTransport   *transport;
  ChatdLoginClient *login;
  ChatdConnection  *connection;
  SimState          state;
  gint64            started_us;
  gint64            next_heartbeat_us;
  guint64           heartbeat_seq;
  guint64           request_id;
} Sim;

struct _Swarm {
  SwarmConfig  config;
  Sim         *sims;
  guint        tick_source;
  /* the running phase */
  SwarmRun    *run;
  guint        next, in_flight;
  gint64       first_us, last_us;
  GArray      *latencies_ms;       /* double */
  guint        n_dropped;
  guint64      n_heartbeats;
};

static void start_more (Swarm *swarm);

static const ChatdSuite *
lookup_suite (gpointer user_data, const char *name)
{
  return g_str_equal (name, chatd_suite_25519.name) ? &chatd_suite_25519 : NULL;
}

/* Closing may call back (CLOSED) from inside: the connection is no longer
 * ours by then, so the callbacks ignore it. */
static void
forget_connection (Sim *sim, const char *close_reason)
{
  g_clear_pointer (&sim->login, chatd_login_client_free);
  ChatdConnection *connection = g_steal_pointer (&sim->connection);
  if (connection == NULL)
    return;
  if (close_reason != NULL)
    chatd_transport_close_connection (sim->transport, connection, 0, close_reason);
  chatd_connection_unref (connection);
}

static void
count_failure (Swarm *swarm, const char *reason)
{
  if (swarm->run == NULL)
    return;
  /* one bucket per kind of reason: cut at the first ':' or '(' */
  g_autofree char *kind = g_strndup (reason, strcspn (reason, ":("));
  g_strstrip (kind);
  gpointer old = g_hash_table_lookup (swarm->run->failures, kind);
  g_hash_table_replace (swarm->run->failures, g_steal_pointer (&kind),
                        GUINT_TO_POINTER (GPOINTER_TO_UINT (old) + 1));
}

/* the end of one attempt, either way */
static void
finish_attempt (Sim *sim, gboolean ok, const char *reason)
{
  Swarm *swarm = sim->swarm;
  gint64 now = g_get_monotonic_time ();
  swarm->in_flight--;
  swarm->last_us = now;
  if (swarm->run != NULL)
    {
      if (ok)
        {
          swarm->run->succeeded++;
          double ms = (now - sim->started_us) / 1000.0;
          g_array_append_val (swarm->latencies_ms, ms);
        }
      else
        {
          swarm->run->failed++;
          count_failure (swarm, reason);
        }
    }
  start_more (swarm);
}

static void
fail_login (Sim *sim, const char *reason)
{
  sim->state = SIM_IDLE;
  forget_connection (sim, "benchmark: login given up");
  finish_attempt (sim, FALSE, reason);
}

static void
send_to_server (Sim *sim, GBytes *message)
{
  if (sim->connection != NULL)
    chatd_transport_send_on (sim->transport, sim->connection, message, NULL, NULL);
}

static void
send_presence (Sim *sim)
{
  guint8 id[8];
  chatd_u64_to_be (++sim->request_id, id);
  ChatdSlice fields[] = { CHATD_SLICE (id, 8), CHATD_SLICE_STR (CHATD_REQUEST_PRESENCE),
                          CHATD_SLICE_STR (sim->address) };
  g_autoptr(GBytes) message = chatd_auth_message_build (CHATD_MSG_REQUEST, fields, G_N_ELEMENTS (fields));
  send_to_server (sim, message);
}

static void
send_heartbeat (Sim *sim)
{
  guint8 seq[8];
  chatd_u64_to_be (++sim->heartbeat_seq, seq);
  ChatdSlice field = CHATD_SLICE (seq, 8);
  g_autoptr(GBytes) message = chatd_auth_message_build (CHATD_MSG_HEARTBEAT, &field, 1);
  send_to_server (sim, message);
  sim->swarm->n_heartbeats++;
}

static void
login_done (Sim *sim)
{
  g_autoptr(GError) error = NULL;
  ChatdChannel *channel = chatd_login_client_take_channel (sim->login);
  ChatdPacketProtector protector = chatd_channel_take_protector (channel);
  if (!chatd_connection_install_protector (sim->connection, &protector, &error))
    {
      protector.free_func (protector.user_data);
      fail_login (sim, error->message);
      return;
    }
  g_clear_pointer (&sim->login, chatd_login_client_free);
  sim->state = SIM_ONLINE;
  /* spread the heartbeats over the interval */
  sim->next_heartbeat_us = g_get_monotonic_time () +
    g_random_int_range (1, CHATD_HEARTBEAT_INTERVAL_S * 1000) * (gint64) 1000;
  if (!sim->swarm->config.no_presence)
    send_presence (sim);
  finish_attempt (sim, TRUE, NULL);
}

static void
handle_login_message (Sim *sim, const ChatdAuthMessage *message, GBytes *bytes)
{
  SwarmRun *run = sim->swarm->run;
  if (run != NULL && message->type == CHATD_MSG_CHALLENGE && message->fields[CH_BITS].len == 1)
    {
      guint bits = ((const guint8 *) message->fields[CH_BITS].data)[0];
      run->bits_min = MIN (run->bits_min, bits);
      run->bits_max = MAX (run->bits_max, bits);
    }
  if (run != NULL && message->type == CHATD_MSG_WELCOME)
    run->welcome_max_bytes = MAX (run->welcome_max_bytes, g_bytes_get_size (bytes));

  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  switch (chatd_login_client_handle (sim->login, message, &reply, &error))
    {
    case CHATD_LOGIN_CLIENT_SEND:
      send_to_server (sim, reply);
      break;
    case CHATD_LOGIN_CLIENT_DONE:
      login_done (sim);
      break;
    case CHATD_LOGIN_CLIENT_FAILED:
      if (reply != NULL)
        send_to_server (sim, reply);
      fail_login (sim, error->message);
      break;
    }
}

static void
on_message (ChatdEndpoint *endpoint, ChatdConnection *connection, const ChatdAddress *from,
            GBytes *bytes, gpointer user_data)
{
  Sim *sim = user_data;
  if (connection != sim->connection)
    return;
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, &error);
  if (message == NULL)
    {
      if (sim->state == SIM_LOGGING_IN)
        fail_login (sim, "malformed message from the server");
      return;
    }
  if (sim->state == SIM_LOGGING_IN && sim->login != NULL)
    handle_login_message (sim, message, bytes);
  /* in a session: RESPONSE to the presence request; REPLACED would be a bug
   * here (every simulated user logs in once at a time) and shows as a drop */
}

static void
on_connection (ChatdEndpoint *endpoint, ChatdConnection *connection, ChatdConnectionEvent event,
               const GError *error, gpointer user_data)
{
  Sim *sim = user_data;
  if (event != CHATD_CONNECTION_EVENT_CLOSED || connection != sim->connection)
    return;
  switch (sim->state)
    {
    case SIM_LOGGING_IN:
      {
        g_autofree char *reason = g_strdup_printf ("connection closed: %s", error ? error->message : "");
        fail_login (sim, reason);
      }
      return;
    case SIM_ONLINE:
      sim->swarm->n_dropped++;
      break;
    case SIM_LOGGING_OUT:
    case SIM_IDLE:
      break;
    }
  forget_connection (sim, NULL);
  sim->state = SIM_IDLE;
}

static void
on_hello_sent (ChatdEndpoint *endpoint, ChatdConnection *connection, const GError *error,
               gpointer user_data)
{
  Sim *sim = user_data;
  if (error != NULL && sim->state == SIM_LOGGING_IN && connection == sim->connection)
    {
      g_autofree char *reason = g_strdup_printf ("hello not delivered: %s", error->message);
      fail_login (sim, reason);
    }
}

static void
start_login (Sim *sim)
{
  Swarm *swarm = sim->swarm;
  /* a fresh connection for every attempt */
  forget_connection (sim, "benchmark: new attempt");
  ChatdLoginClientConfig config = {
    .user = sim->name,
    .password = (const guint8 *) sim->password,
    .password_len = strlen (sim->password),
    .channel_suite = &chatd_suite_25519,
    .suite_lookup = lookup_suite,
    .user_data = sim,
  };
  g_autoptr(GError) error = NULL;
  sim->started_us = g_get_monotonic_time ();
  swarm->in_flight++;
  sim->login = chatd_login_client_new (&config, &error);
  if (sim->login == NULL)
    {
      fail_login (sim, error->message);
      return;
    }
  sim->state = SIM_LOGGING_IN;
  g_autoptr(GBytes) hello = chatd_login_client_hello (sim->login);
  chatd_transport_send (sim->transport, &swarm->config.server, hello, on_hello_sent, sim);
  ChatdConnection *connection = chatd_endpoint_lookup (chatd_transport_get_endpoint (sim->transport),
                                                       &swarm->config.server);
  sim->connection = connection ? chatd_connection_ref (connection) : NULL;
}

static void
start_more (Swarm *swarm)
{
  while (swarm->run != NULL && swarm->in_flight < swarm->config.concurrency &&
         swarm->next < swarm->config.n_users)
    {
      Sim *sim = &swarm->sims[swarm->next++];
      if (sim->state != SIM_IDLE)
        continue;
      swarm->run->attempted++;
      start_login (sim);
    }
}

/* timeouts of logins in flight, and heartbeats */
static gboolean
tick (gpointer user_data)
{
  Swarm *swarm = user_data;
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < swarm->config.n_users; i++)
    {
      Sim *sim = &swarm->sims[i];
      if (sim->state == SIM_LOGGING_IN && now - sim->started_us > swarm->config.login_timeout_us)
        fail_login (sim, "timed out");
      else if (sim->state == SIM_ONLINE && now >= sim->next_heartbeat_us)
        {
          send_heartbeat (sim);
          sim->next_heartbeat_us = now + CHATD_HEARTBEAT_INTERVAL_S * G_USEC_PER_SEC;
        }
    }
  return G_SOURCE_CONTINUE;
}

Swarm *
swarm_new (const SwarmConfig *config, GError **error)
{
  g_autoptr(Swarm) swarm = g_new0 (Swarm, 1);
  swarm->config = *config;
  swarm->sims = g_new0 (Sim, config->n_users);
  for (guint i = 0; i < config->n_users; i++)
    {
      Sim *sim = &swarm->sims[i];
      sim->swarm = swarm;
      sim->index = i;
      sim->name = bench_user_name (config->prefix, i);
      sim->password = bench_user_password (sim->name);
      g_autofree char *ip = g_strdup_printf ("127.1.%u.%u", i / USERS_PER_SUBNET, i % USERS_PER_SUBNET + 1);
      sim->transport = chatd_transport_new (ip, 0, NULL, NULL, error);
      if (sim->transport == NULL)
        {
          g_prefix_error (error, "simulated user %u on %s: ", i, ip);
          return NULL;
        }
      chatd_transport_set_message_callback (sim->transport, on_message, sim);
      chatd_transport_set_connection_callback (sim->transport, on_connection, sim);
      sim->address = chatd_address_to_string (chatd_transport_get_local_address (sim->transport));
    }
  swarm->tick_source = g_timeout_add (TICK_MS, tick, swarm);
  return g_steal_pointer (&swarm);
}

void
swarm_free (Swarm *swarm)
{
  if (swarm == NULL)
    return;
  if (swarm->tick_source != 0)
    g_source_remove (swarm->tick_source);
  swarm->run = NULL;
  for (guint i = 0; swarm->sims != NULL && i < swarm->config.n_users; i++)
    {
      Sim *sim = &swarm->sims[i];
      if (sim->transport != NULL)
        {
          chatd_transport_set_message_callback (sim->transport, NULL, NULL);
          chatd_transport_set_connection_callback (sim->transport, NULL, NULL);
        }
      forget_connection (sim, NULL);
      g_clear_pointer (&sim->transport, chatd_transport_free);
      g_free (sim->name);
      g_free (sim->password);
      g_free (sim->address);
    }
  g_free (swarm->sims);
  g_free (swarm);
}

static double
cpu_seconds_self (void)
{
  struct rusage usage;
  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
percentile (GArray *sorted, double p)
{
  if (sorted->len == 0)
    return 0;
  guint i = (guint) (p * (sorted->len - 1) + 0.5);
  return g_array_index (sorted, double, i);
}

void
swarm_login_all (Swarm *swarm, SwarmRun *ret_run)
{
  memset (ret_run, 0, sizeof *ret_run);
  ret_run->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  ret_run->bits_min = G_MAXUINT;
  swarm->run = ret_run;
  swarm->next = 0;
  swarm->latencies_ms = g_array_new (FALSE, FALSE, sizeof (double));
  double cpu_before = cpu_seconds_self ();
  swarm->first_us = swarm->last_us = g_get_monotonic_time ();
  gint64 deadline = swarm->first_us + swarm->config.phase_timeout_us;
  start_more (swarm);
  while ((swarm->in_flight > 0 || swarm->next < swarm->config.n_users) &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  /* what is still in flight at the deadline failed; nothing new starts */
  swarm->next = swarm->config.n_users;
  for (guint i = 0; i < swarm->config.n_users; i++)
    if (swarm->sims[i].state == SIM_LOGGING_IN)
      fail_login (&swarm->sims[i], "phase timed out");
  swarm->run = NULL;
  ret_run->client_cpu_s = cpu_seconds_self () - cpu_before;
  ret_run->seconds = (swarm->last_us - swarm->first_us) / (double) G_USEC_PER_SEC;
  ret_run->logins_per_s = ret_run->seconds > 0 ? ret_run->succeeded / ret_run->seconds : 0;
  g_array_sort (swarm->latencies_ms, compare_double);
  ret_run->latency_p50_ms = percentile (swarm->latencies_ms, 0.5);
  ret_run->latency_p99_ms = percentile (swarm->latencies_ms, 0.99);
  if (ret_run->bits_min == G_MAXUINT)
    ret_run->bits_min = 0;
  g_clear_pointer (&swarm->latencies_ms, g_array_unref);
}

void
swarm_hold (Swarm *swarm, double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);   /* the tick wakes us every TICK_MS */
}

void
swarm_logout_all (Swarm *swarm)
{
  g_autoptr(GBytes) logout = chatd_auth_message_build (CHATD_MSG_LOGOUT, NULL, 0);
  for (guint i = 0; i < swarm->config.n_users; i++)
    {
      Sim *sim = &swarm->sims[i];
      if (sim->state != SIM_ONLINE)
        continue;
      send_to_server (sim, logout);
      sim->state = SIM_LOGGING_OUT;
    }
  gint64 deadline = g_get_monotonic_time () + LOGOUT_WAIT_US;
  for (;;)
    {
      guint waiting = 0;
      for (guint i = 0; i < swarm->config.n_users; i++)
        waiting += swarm->sims[i].state == SIM_LOGGING_OUT;
      if (waiting == 0 || g_get_monotonic_time () > deadline)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  for (guint i = 0; i < swarm->config.n_users; i++)
    {
      Sim *sim = &swarm->sims[i];
      if (sim->state != SIM_LOGGING_OUT)
        continue;
      sim->state = SIM_IDLE;
      forget_connection (sim, "benchmark: logged out");
    }
}

guint
swarm_n_online (Swarm *swarm)
{
  guint n = 0;
  for (guint i = 0; i < swarm->config.n_users; i++)
    n += swarm->sims[i].state == SIM_ONLINE;
  return n;
}

guint
swarm_n_dropped (Swarm *swarm)
{
  return swarm->n_dropped;
}

guint64
swarm_n_heartbeats (Swarm *swarm)
{
  return swarm->n_heartbeats;
}
