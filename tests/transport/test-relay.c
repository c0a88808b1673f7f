/* test-relay.c: real sockets through the UDP impairment relay
 * (tests/netsim/netsim-relay) at 5% loss each way.  Skipped when the relay
 * is not built.  The relay path comes from $CHATD_NETSIM_RELAY or the build. */
#include "sim-harness.h"
#include "transfer.h"

#include <gcrypt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *
relay_path (void)
{
  const char *env = g_getenv ("CHATD_NETSIM_RELAY");
  return env ? env : NETSIM_RELAY_PATH;
}

static GSubprocess *
relay_start (guint16 upstream_port, const char *loss, guint16 *ret_port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *upstream = g_strdup_printf ("--upstream=127.0.0.1:%u", upstream_port);
  g_autofree char *loss_arg = g_strdup_printf ("--loss=%s", loss);
  const char *argv[] = { relay_path (), "--listen=127.0.0.1:0", upstream, loss_arg, "--delay=2",
                         "--jitter=1", "--seed=5", "--duration=120", NULL };
  GSubprocess *p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                      &error);
  g_assert_no_error (error);
  g_autoptr(GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_autofree char *line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "LISTEN 127.0.0.1:"));
  *ret_port = (guint16) atoi (strrchr (line, ':') + 1);
  return p;
}

static void
test_relay_loss5 (void)
{
  if (!g_file_test (relay_path (), G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("netsim-relay is not built");
      return;
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdTransport) a = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(ChatdTransport) b = chatd_transport_new ("127.0.0.1", 0, NULL, NULL, &error);
  g_assert_no_error (error);
  guint16 relay_port;
  g_autoptr(GSubprocess) relay = relay_start (chatd_transport_get_port (b), "5", &relay_port);
  ChatdAddress via;
  g_assert_true (chatd_address_parse ("127.0.0.1", relay_port, &via, NULL));

  g_autoptr(GPtrArray) msgs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GRand *r = g_rand_new_with_seed (17);
  guint64 total = 0;
  for (guint i = 0; i < 200 && total < 3 * 1024 * 1024; i++)
    {
      gsize size = i == 0 ? 0 : i == 1 ? 1024 * 1024 : (gsize) floor (pow (2.0, g_rand_double_range (r, 0, 20)));
      g_ptr_array_add (msgs, harness_message (i, size));
      total += size;
    }
  g_rand_free (r);
  TransferResult res;
  transfer_run (a, b, &via, msgs, 60, &res);
  if (res.first_error)
    g_test_message ("error: %s", res.first_error->message);
  g_test_message ("%u messages, %" G_GUINT64_FORMAT " bytes through 5%% loss in %.2f s",
                  msgs->len, total, res.seconds);
  g_assert_false (res.timed_out);
  g_assert_no_error (res.first_error);
  g_assert_cmpuint (res.unexpected, ==, 0);
  g_assert_cmpuint (res.delivered, ==, msgs->len);
  g_assert_cmpuint (res.acknowledged, ==, msgs->len);
  g_assert_cmpuint (chatd_endpoint_get_counter (chatd_transport_get_endpoint (a), "conn.packets_lost"), >, 0);
  transfer_result_clear (&res);
  g_subprocess_send_signal (relay, SIGTERM);
  g_subprocess_wait (relay, NULL, NULL);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/transport/relay/loss-5", test_relay_loss5);
  return g_test_run ();
}
