/* chatd-address.c: UDP peer addresses. */
#include "chatd-address.h"

#include <arpa/inet.h>
#include <string.h>

gboolean
chatd_address_from_native (const struct sockaddr *sa, socklen_t len, ChatdAddress *ret_addr)
{
  ChatdAddress a;
  memset (&a, 0, sizeof a);
  if (sa->sa_family == AF_INET && len >= (socklen_t) sizeof (struct sockaddr_in))
    {
      memcpy (&a.u.in4, sa, sizeof (struct sockaddr_in));
      a.len = sizeof (struct sockaddr_in);
    }
  else if (sa->sa_family == AF_INET6 && len >= (socklen_t) sizeof (struct sockaddr_in6))
    {
      memcpy (&a.u.in6, sa, sizeof (struct sockaddr_in6));
      a.u.in6.sin6_flowinfo = 0;
      a.len = sizeof (struct sockaddr_in6);
    }
  else
    return FALSE;
  *ret_addr = a;
  return TRUE;
}

gboolean
chatd_address_parse (const char *ip, guint16 port, ChatdAddress *ret_addr, GError **error)
{
  ChatdAddress a;
  memset (&a, 0, sizeof a);
  if (inet_pton (AF_INET, ip, &a.u.in4.sin_addr) == 1)
    {
      a.u.in4.sin_family = AF_INET;
      a.u.in4.sin_port = htons (port);
      a.len = sizeof (struct sockaddr_in);
    }
  else if (inet_pton (AF_INET6, ip, &a.u.in6.sin6_addr) == 1)
    {
      a.u.in6.sin6_family = AF_INET6;
      a.u.in6.sin6_port = htons (port);
      a.len = sizeof (struct sockaddr_in6);
    }
  else
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "not an IPv4 or IPv6 address: %s", ip);
      return FALSE;
    }
  *ret_addr = a;
  return TRUE;
}

gboolean
chatd_address_from_gsocket (GSocketAddress *address, ChatdAddress *ret_addr, GError **error)
{
  struct sockaddr_storage ss;
  if (!g_socket_address_to_native (address, &ss, sizeof ss, error))
    return FALSE;
  if (!chatd_address_from_native ((struct sockaddr *) &ss,
                                  (socklen_t) g_socket_address_get_native_size (address),
                                  ret_addr))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "only IPv4 and IPv6 addresses are supported");
      return FALSE;
    }
  return TRUE;
}

GSocketAddress *
chatd_address_to_gsocket (const ChatdAddress *addr)
{
  return g_socket_address_new_from_native ((gpointer) &addr->u.storage, addr->len);
}

guint16
chatd_address_get_port (const ChatdAddress *addr)
{
  if (addr->u.sa.sa_family == AF_INET)
    return ntohs (addr->u.in4.sin_port);
  if (addr->u.sa.sa_family == AF_INET6)
    return ntohs (addr->u.in6.sin6_port);
  return 0;
}

char *
chatd_address_to_string (const ChatdAddress *addr)
{
  char ip[INET6_ADDRSTRLEN] = "?";
  if (addr->u.sa.sa_family == AF_INET)
    {
      inet_ntop (AF_INET, &addr->u.in4.sin_addr, ip, sizeof ip);
      return g_strdup_printf ("%s:%u", ip, chatd_address_get_port (addr));
    }
  if (addr->u.sa.sa_family == AF_INET6)
    {
      inet_ntop (AF_INET6, &addr->u.in6.sin6_addr, ip, sizeof ip);
      return g_strdup_printf ("[%s]:%u", ip, chatd_address_get_port (addr));
    }
  return g_strdup ("(invalid)");
}

gboolean
chatd_address_equal (gconstpointer pa, gconstpointer pb)
{
  const ChatdAddress *a = pa, *b = pb;
  if (a->u.sa.sa_family != b->u.sa.sa_family)
    return FALSE;
  if (a->u.sa.sa_family == AF_INET)
    return a->u.in4.sin_port == b->u.in4.sin_port &&
           a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
  if (a->u.sa.sa_family == AF_INET6)
    return a->u.in6.sin6_port == b->u.in6.sin6_port &&
           a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id &&
           memcmp (&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
  return FALSE;
}

guint
chatd_address_hash (gconstpointer pa)
{
  const ChatdAddress *a = pa;
  guint h = a->u.sa.sa_family;
  const guint8 *p;
  gsize n;
  if (a->u.sa.sa_family == AF_INET)
    {
      h = h * 31 + a->u.in4.sin_port;
      p = (const guint8 *) &a->u.in4.sin_addr;
      n = 4;
    }
  else if (a->u.sa.sa_family == AF_INET6)
    {
      h = h * 31 + a->u.in6.sin6_port;
      p = (const guint8 *) &a->u.in6.sin6_addr;
      n = 16;
    }
  else
    return h;
  for (gsize i = 0; i < n; i++)
    h = h * 31 + p[i];
  return h;
}

gboolean
chatd_address_parse_string (const char *text, ChatdAddress *ret_addr, GError **error)
{
  g_autofree char *host = NULL;
  const char *port_text;
  guint64 port = 0;

  if (text[0] == '[')
    {
      const char *end = strchr (text, ']');
      if (end == NULL || end[1] != ':')
        goto invalid;
      host = g_strndup (text + 1, (gsize) (end - text - 1));
      port_text = end + 2;
    }
  else
    {
      const char *colon = strrchr (text, ':');
      if (colon == NULL || strchr (text, ':') != colon)
        goto invalid;
      host = g_strndup (text, (gsize) (colon - text));
      port_text = colon + 1;
    }
  if (!g_ascii_string_to_unsigned (port_text, 10, 0, 65535, &port, NULL))
    goto invalid;
  return chatd_address_parse (host, (guint16) port, ret_addr, error);

invalid:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "not an address of the form IP:PORT or [IPv6]:PORT: %s", text);
  return FALSE;
}

void
chatd_address_for_family (const ChatdAddress *addr, int family, ChatdAddress *ret_addr)
{
  if (family != AF_INET6 || addr->u.sa.sa_family != AF_INET)
    {
      *ret_addr = *addr;
      return;
    }
  ChatdAddress a;
  memset (&a, 0, sizeof a);
  a.u.in6.sin6_family = AF_INET6;
  a.u.in6.sin6_port = addr->u.in4.sin_port;
  a.u.in6.sin6_addr.s6_addr[10] = 0xff;
  a.u.in6.sin6_addr.s6_addr[11] = 0xff;
  memcpy (&a.u.in6.sin6_addr.s6_addr[12], &addr->u.in4.sin_addr, 4);
  a.len = sizeof (struct sockaddr_in6);
  *ret_addr = a;
}
