/* chatd-address.h: a UDP peer address (IPv4 or IPv6) as a plain value.
 *
 * The sans-IO core works on this struct instead of GSocketAddress so that
 * receiving a datagram allocates nothing.
 */
#pragma once

#include <gio/gio.h>
#include <netinet/in.h>
#include <sys/socket.h>

G_BEGIN_DECLS

typedef struct
{
  union
  {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    struct sockaddr_storage storage;
  } u;
  socklen_t len;
} ChatdAddress;

/* Fills @ret_addr from a textual IP literal and a port. */
gboolean        chatd_address_parse        (const char *ip, guint16 port, ChatdAddress *ret_addr,
                                            GError **error);
/* Parses "1.2.3.4:5", "[::1]:5" (the form chatd_address_to_string writes). */
gboolean        chatd_address_parse_string (const char *text, ChatdAddress *ret_addr, GError **error);
/* On an IPv6 (dual-stack) socket, IPv4 peers appear as ::ffff:a.b.c.d;
 * returns @addr in that form when @family is AF_INET6, else unchanged. */
void            chatd_address_for_family   (const ChatdAddress *addr, int family,
                                            ChatdAddress *ret_addr);
gboolean        chatd_address_from_gsocket (GSocketAddress *address, ChatdAddress *ret_addr,
                                            GError **error);
GSocketAddress *chatd_address_to_gsocket   (const ChatdAddress *addr);
/* Builds from a struct sockaddr (FALSE if not AF_INET/AF_INET6). */
gboolean        chatd_address_from_native  (const struct sockaddr *sa, socklen_t len,
                                            ChatdAddress *ret_addr);
/* "127.0.0.1:4000" or "[::1]:4000" */
char           *chatd_address_to_string    (const ChatdAddress *addr);
guint16         chatd_address_get_port     (const ChatdAddress *addr);
gboolean        chatd_address_equal        (gconstpointer a, gconstpointer b);
guint           chatd_address_hash         (gconstpointer a);

G_END_DECLS
