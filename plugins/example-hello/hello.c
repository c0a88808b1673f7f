/* hello.c: an example command plugin.  It adds `hello [--greeting TEXT]
 * [--repeat N] NAME` and emits a `hello` event, with no change to chatd or
 * chatctl.  doc/plugins.md walks through it. */
#include <chatd/chatd-plugin.h>
#include <gmodule.h>

#define HELLO_REPEAT_MAX 10

static void
hello_run (const ChatdHost *host, ChatdCall *call, GVariant *args)
{
  const char *name = NULL, *greeting = "Hello";
  gint64 repeat = 1;
  g_variant_lookup (args, "name", "&s", &name);
  g_variant_lookup (args, "greeting", "&s", &greeting);
  g_variant_lookup (args, "repeat", "x", &repeat);
  if (repeat < 1 || repeat > HELLO_REPEAT_MAX)
    {
      g_autoptr(GError) error = g_error_new (CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                                             "--repeat must be 1..%d", HELLO_REPEAT_MAX);
      host->call_fail (call, error);
      return;
    }

  g_autoptr(GString) text = g_string_new (NULL);
  for (gint64 i = 0; i < repeat; i++)
    g_string_append_printf (text, "%s%s, %s!", i ? " " : "", greeting, name);

  g_auto(GVariantBuilder) event = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&event, "{sv}", "name", g_variant_new_string (name));
  host->emit_event (host, "hello", g_variant_builder_end (&event), text->str);

  g_auto(GVariantBuilder) result = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&result, "{sv}", "name", g_variant_new_string (name));
  g_variant_builder_add (&result, "{sv}", "greeting", g_variant_new_string (text->str));
  host->call_return (call, g_variant_builder_end (&result));
}

static char *
hello_render (GVariant *result)
{
  const char *greeting = "";
  g_variant_lookup (result, "greeting", "&s", &greeting);
  return g_strdup (greeting);
}

static const ChatdOption hello_options[] = {
  { "greeting", CHATD_TYPE_STRING, "TEXT", "the greeting to use (default: Hello)" },
  { "repeat", CHATD_TYPE_INT, "N", "say it N times (1..10)" },
  { NULL }
};

static const ChatdArgument hello_arguments[] = {
  { "name", CHATD_TYPE_STRING, "who to greet", CHATD_ARG_REQUIRED },
  { NULL }
};

static const ChatdCommand hello_command = {
  .name = "hello",
  .summary = "Greet someone (the example plugin)",
  .roles = CHATD_ROLE_ANY,
  .options = hello_options,
  .arguments = hello_arguments,
  .run = hello_run,
  .render = hello_render,
};

static gboolean
hello_register (const ChatdHost *host, ChatdPlugin *plugin, GError **error)
{
  return host->add_command (plugin, &hello_command, error);
}

CHATD_PLUGIN_DEFINE (hello_register)
