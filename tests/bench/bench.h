/* bench.h: what every contender of transport-bench implements.
 *
 * A contender is a message transport seen from one thread: open a server
 * endpoint (bound to an address, port 0), connect a client endpoint to an
 * address, queue messages, and poll for progress, which delivers whole
 * received messages to a callback.  The transfer and echo measurements
 * (bench-run.c) are written once against this interface; each contender is
 * one small file (bench-udp.c, bench-tcp.c, bench-enet.c, bench-chatd.c).
 *
 * Every endpoint is used by exactly one thread, which creates it, polls it
 * and frees it.
 */
#pragma once

#include <sys/socket.h>
#include <glib.h>

G_BEGIN_DECLS

typedef struct _BenchEndpoint BenchEndpoint;

/* Called for each complete message received (data valid during the call). */
typedef void (*BenchMessageFunc) (BenchEndpoint *endpoint, const guint8 *data, gsize len,
                                  gpointer user_data);

typedef struct {
  const char *name;        /* "udp", "tcp", "enet", "chatd" */
  const char *label;       /* for the table */
  gboolean reliable;       /* FALSE: raw UDP, messages may be lost */
  gboolean over_udp;       /* can run through the UDP impairment relay */
  gsize max_message;       /* largest message it takes */
  gsize transfer_message;  /* message size used for bulk transfers */

  BenchEndpoint *(*listen) (const struct sockaddr *addr, socklen_t addr_len, guint16 *ret_port,
                            GError **error);
  BenchEndpoint *(*connect) (const struct sockaddr *addr, socklen_t addr_len, GError **error);
  /* Queues one message; FALSE when the endpoint cannot take more right now
   * (the caller polls and retries). */
  gboolean (*send) (BenchEndpoint *endpoint, const guint8 *data, gsize len);
  /* Waits at most timeout_us for progress (sends what is queued, handles
   * acknowledgements and timers) and calls on_message for what arrived. */
  void (*poll) (BenchEndpoint *endpoint, gint64 timeout_us, BenchMessageFunc on_message,
                gpointer user_data);
  /* TRUE when nothing queued by send is still waiting to go out or be
   * acknowledged (for reliable transports). */
  gboolean (*idle) (BenchEndpoint *endpoint);
  /* Bytes this endpoint put on the wire so far, IP and UDP/TCP headers included. */
  guint64 (*wire_bytes) (BenchEndpoint *endpoint);
  void (*free) (BenchEndpoint *endpoint);
} BenchContender;

extern const BenchContender bench_contender_udp;
extern const BenchContender bench_contender_udp_gro;
extern const BenchContender bench_contender_tcp;
extern const BenchContender bench_contender_enet;
#ifdef HAVE_BENCH_CHATD
extern const BenchContender bench_contender_chatd;
extern const BenchContender bench_contender_chatd_core;
#endif

/* Header bytes per datagram or segment on the wire (IPv4). */
#define BENCH_IPV4_UDP_OVERHEAD 28
#define BENCH_IPV4_TCP_OVERHEAD 52   /* 20 IP + 20 TCP + 12 timestamp option */

/* Helpers shared by contenders (bench-util.c). */
gint64 bench_now_us (void);
double bench_thread_cpu_s (void);
void bench_set_socket_buffers (int fd, int bytes);
gboolean bench_set_error_errno (GError **error, const char *what);

G_END_DECLS
