/* bench-netns.h: a pair of network namespaces with nftables random loss,
 * for kernel TCP under loss (needs root, ip and nft). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *server_ns;
  char *client_ns;
  const char *server_ip;
  int created;           /* how many namespaces exist (for cleanup) */
} BenchNetns;

gboolean bench_netns_create (guint loss_percent, BenchNetns *ret, GError **error);
void bench_netns_destroy (BenchNetns *netns);
void bench_netns_remove_stale (void);

G_END_DECLS
