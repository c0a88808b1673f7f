/* test-flood.c: a node's memory stays bounded while a peer floods it (issue
 * 7, part 3).  Real processes: the server and a user node (Alice) each get
 * tens of thousands of garbage datagrams and well-formed transport handshakes
 * (INITIAL packets, the cookie echoed back so that connections are really
 * accepted) from about a thousand source addresses of 127.0.0.0/8.  Their
 * resident memory (VmRSS) must grow by less than the bound justified below,
 * the per-host connection limit must show in the counters, and afterwards
 * both still answer `status`, a new user logs in and messages flow. */
#include "chat-net.h"
#include "chatd-packet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gcrypt.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* source hosts that each complete one handshake, and one host that tries
 * more connections than the per-host limit (256) allows */
#define HANDSHAKE_HOSTS      1000
#define GREEDY_HOST_PORTS    300
#define GARBAGE_DATAGRAMS    20000
#define GARBAGE_SOURCES      200

/* The bound.  What a flooder can make a node hold is: the stateless RETRY
 * queue (64 datagrams), and one connection per accepted handshake until it
 * fails for want of acknowledgements (dead-peer timeout, 10 s).  Accepted
 * connections are capped per host (256), per address (4) and in total
 * (4096).  Here at most HANDSHAKE_HOSTS + 256 = 1256 connections are
 * accepted; an idle connection costs about 5.5 KiB (measured by this test:
 * +6.9 MiB for 1256; its state, hash-table entries, the queued ACCEPT frame
 * and its retransmission record), about 7 MiB in all; garbage leaves
 * nothing behind.  24 MiB leaves room for malloc's arenas and a loaded
 * machine, and is below what a leak of one allocation per datagram would
 * show (20,000 garbage datagrams x 1.4 KiB = 28 MiB, more with the
 * handshakes).  Data sent on accepted connections is a different bound (the
 * receive budget, doc/security.md). */
#define RSS_GROWTH_BOUND_KIB (24 * 1024)

/* AddressSanitizer keeps freed memory in quarantine (256 MiB by default)
 * and shadows every byte: RSS says nothing about the node's own bound there */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static gint64
vm_rss_kib (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  const char *line = strstr (text, "\nVmRSS:");
  g_assert_nonnull (line);
  return g_ascii_strtoll (line + strlen ("\nVmRSS:"), NULL, 10);
}

static struct sockaddr_in
parse_target (const char *host_port)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  const char *colon = strrchr (host_port, ':');
  g_assert_nonnull (colon);
  g_autofree char *host = g_strndup (host_port, colon - host_port);
  g_assert_cmpint (inet_pton (AF_INET, host, &sin.sin_addr), ==, 1);
  sin.sin_port = htons ((guint16) atoi (colon + 1));
  return sin;
}

/* a non-blocking UDP socket bound to 127.a.b.c, any port */
static int
bound_socket (guint8 a, guint8 b, guint8 c)
{
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET };
  sin.sin_addr.s_addr = htonl ((127u << 24) | ((guint32) a << 16) | ((guint32) b << 8) | c);
  g_assert_no_errno (bind (fd, (struct sockaddr *) &sin, sizeof sin));
  return fd;
}

static void
send_to (int fd, const struct sockaddr_in *to, const guint8 *data, gsize len)
{
  /* a full socket buffer: wait a moment and try again, a few times */
  for (int attempt = 0; attempt < 50; attempt++)
    {
      if (sendto (fd, data, len, 0, (const struct sockaddr *) to, sizeof *to) >= 0)
        return;
      g_assert_true (errno == EAGAIN || errno == ENOBUFS || errno == ECONNREFUSED);
      g_usleep (1000);
    }
}

/* an INITIAL padded to the minimum size, with a valid CRC */
static gsize
build_initial (guint8 *buf, guint64 scid, const guint8 *token, gsize token_len)
{
  ChatdPacketHeader h = {
    .type = CHATD_PACKET_INITIAL, .dcid = 0, .pn = 0, .scid = scid,
    .params = { .max_data = 1 << 20, .max_stream_data = 1 << 18, .max_streams = 16 },
    .token = token, .token_len = token_len,
  };
  memset (buf, 0, CHATD_MIN_INITIAL_SIZE);
  gsize hl = chatd_packet_write_header (buf, CHATD_MIN_INITIAL_SIZE, &h);
  g_assert_cmpuint (hl, >, 0);
  gsize len = CHATD_MIN_INITIAL_SIZE - CHATD_CRC_LEN;
  chatd_packet_append_crc (buf, len);
  return CHATD_MIN_INITIAL_SIZE;
}

static void
flood_garbage (const struct sockaddr_in *target, GRand *rand)
{
  int fds[GARBAGE_SOURCES];
  for (guint i = 0; i < GARBAGE_SOURCES; i++)
    fds[i] = bound_socket (3, i / 200, i % 200 + 1);
  guint8 buf[CHATD_MAX_DATAGRAM_LIMIT + 100];
  for (guint n = 0; n < GARBAGE_DATAGRAMS; n++)
    {
      gsize len = g_rand_int_range (rand, 1, sizeof buf);
      for (gsize i = 0; i < len; i++)
        buf[i] = g_rand_int (rand);
      switch (n % 4)
        {
        case 0:   /* noise */
          break;
        case 1:   /* a DATA packet of no connection, with a valid CRC */
          {
            ChatdPacketHeader h = { .type = CHATD_PACKET_DATA, .dcid = g_rand_int (rand), .pn = n };
            len = MAX (len, 64u) % 1400 + 64;
            chatd_packet_write_header (buf, len, &h);
            chatd_packet_append_crc (buf, len - CHATD_CRC_LEN);
            break;
          }
        case 2:   /* an INITIAL that is too short */
          buf[0] = CHATD_PROTOCOL_VERSION;
          buf[1] = CHATD_PACKET_INITIAL;
          len = MIN (len, (gsize) CHATD_MIN_INITIAL_SIZE - 1);
          break;
        case 3:   /* an INITIAL with a forged cookie */
          {
            guint8 token[24];
            for (guint i = 0; i < sizeof token; i++)
              token[i] = g_rand_int (rand);
            len = build_initial (buf, ((guint64) g_rand_int (rand) << 32) | n, token, sizeof token);
            break;
          }
        }
      send_to (fds[n % GARBAGE_SOURCES], target, buf, len);
      if (n % 256 == 255)
        g_usleep (2000);   /* paced: the node must see them, not the kernel drop them */
    }
  for (guint i = 0; i < GARBAGE_SOURCES; i++)
    close (fds[i]);
}

/* Each socket sends a tokenless INITIAL, reads the RETRY and sends the
 * INITIAL again with the cookie: the node accepts a connection (unless a
 * limit says no).  Returns how many cookies came back. */
static guint
flood_handshakes (const struct sockaddr_in *target, int *fds, guint n, GRand *rand)
{
  guint retries = 0;
  guint8 buf[CHATD_MAX_DATAGRAM_LIMIT];
  for (guint start = 0; start < n; start += 32)
    {
      guint end = MIN (n, start + 32);   /* the node answers at most 64 RETRYs at once */
      guint64 scid[32];
      for (guint i = start; i < end; i++)
        {
          scid[i - start] = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
          gsize len = build_initial (buf, scid[i - start], NULL, 0);
          send_to (fds[i], target, buf, len);
        }
      gint64 deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
      gboolean answered[32] = { FALSE };
      guint left = end - start;
      while (left > 0 && g_get_monotonic_time () < deadline)
        {
          struct pollfd pfds[32];
          for (guint i = start; i < end; i++)
            pfds[i - start] = (struct pollfd) { .fd = fds[i], .events = POLLIN };
          if (poll (pfds, end - start, 100) <= 0)
            continue;
          for (guint i = start; i < end; i++)
            {
              if (!(pfds[i - start].revents & POLLIN))
                continue;
              ssize_t got = recv (fds[i], buf, sizeof buf, 0);
              ChatdPacketHeader h;
              if (got <= 0 || answered[i - start] ||
                  chatd_packet_parse_header (buf, got, &h) != CHATD_PACKET_OK ||
                  h.type != CHATD_PACKET_RETRY || h.dcid != scid[i - start])
                continue;
              guint8 token[CHATD_MAX_TOKEN_LEN];
              gsize token_len = h.token_len;
              memcpy (token, h.token, token_len);
              gsize len = build_initial (buf, scid[i - start], token, token_len);
              send_to (fds[i], target, buf, len);
              answered[i - start] = TRUE;
              retries++;
              left--;
            }
        }
    }
  return retries;
}

static void
flood (TestNode *node, const char *address, GRand *rand)
{
  pid_t pid = node_pid (node);
  struct sockaddr_in target = parse_target (address);
  gint64 rss_before = vm_rss_kib (pid);
  gint64 received_before = stats_counter (node, "transport.datagrams_received");
  gint64 accepted_before = stats_counter (node, "transport.connections_accepted");
  gint64 t0 = g_get_monotonic_time ();

  flood_garbage (&target, rand);

  int *fds = g_new (int, HANDSHAKE_HOSTS + GREEDY_HOST_PORTS);
  for (guint i = 0; i < HANDSHAKE_HOSTS; i++)
    fds[i] = bound_socket (4 + i / 40000, (i / 200) % 200, i % 200 + 1);
  for (guint i = 0; i < GREEDY_HOST_PORTS; i++)
    fds[HANDSHAKE_HOSTS + i] = bound_socket (5, 0, 1);
  guint cookies = flood_handshakes (&target, fds, HANDSHAKE_HOSTS + GREEDY_HOST_PORTS, rand);
  g_usleep (300000);
  gint64 rss_after = vm_rss_kib (pid);
  for (guint i = 0; i < HANDSHAKE_HOSTS + GREEDY_HOST_PORTS; i++)
    close (fds[i]);
  g_free (fds);

  gint64 received = stats_counter (node, "transport.datagrams_received") - received_before;
  gint64 accepted = stats_counter (node, "transport.connections_accepted") - accepted_before;
  gint64 limited = stats_counter (node, "transport.dropped_connection_limit");
  g_test_message ("%s: %.1f s; %" G_GINT64_FORMAT " datagrams received, %u cookies, %" G_GINT64_FORMAT
                  " connections accepted, %" G_GINT64_FORMAT " refused by the limits; VmRSS %" G_GINT64_FORMAT
                  " -> %" G_GINT64_FORMAT " KiB (+%" G_GINT64_FORMAT ")",
                  address, (g_get_monotonic_time () - t0) / 1e6, received, cookies, accepted, limited,
                  rss_before, rss_after, rss_after - rss_before);
  /* the flood reached the node, the handshakes went through, the per-host
   * limit held */
  g_assert_cmpint (received, >=, GARBAGE_DATAGRAMS / 2);
  g_assert_cmpuint (cookies, >=, (HANDSHAKE_HOSTS + GREEDY_HOST_PORTS) * 9 / 10);
  g_assert_cmpint (accepted, >=, (HANDSHAKE_HOSTS + 256) * 8 / 10);
  g_assert_cmpint (accepted, <=, HANDSHAKE_HOSTS + 256);
  g_assert_cmpint (limited, >=, 1);
  if (!UNDER_ASAN)
    g_assert_cmpint (rss_after - rss_before, <, RSS_GROWTH_BOUND_KIB);
  else
    g_test_message ("AddressSanitizer build: the RSS bound is checked by the gcc build only");
  /* and the node still answers */
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (node, CHATD_ARGS ("status"), &out, NULL), ==, 0);
}

static void
test_flood (void)
{
  Net net = { 0 };
  net_start (&net);
  TestNode *alice = login (&net, "Alice");
  TestNode *bob = login (&net, "Bob");
  g_assert_true (wait_until (alice, reachable, "Bob", 20));
  g_autofree char *out = NULL;
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Bob", "warm-up"), &out, NULL), ==, 0);
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  flood (net.server, net.connect, rand);
  g_autofree char *alice_address = status_field (alice, "advertise");
  flood (alice, alice_address, rand);

  /* a real user still logs in, and messages still flow */
  TestNode *charlie = login (&net, "Charlie");
  g_assert_true (wait_until (charlie, reachable, "Alice", 20));
  g_assert_true (wait_until (alice, reachable, "Bob", 20));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (charlie, CHATD_ARGS ("send", "Alice", "after the flood"), &out, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (test_run_chatctl (alice, CHATD_ARGS ("send", "Bob", "after the flood"), &out, NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "delivered "));
  g_assert_true (login_state_is (bob, "online"));
  net_stop (&net);
}

int
main (int argc, char **argv)
{
  gcry_check_version (NULL);
  gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/integration/flood/memory-bounded", test_flood);
  return g_test_run ();
}
