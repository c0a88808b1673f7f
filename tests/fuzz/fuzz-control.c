/* fuzz-control.c: the control socket's argument conversion, on both sides,
 * with the real commands: every command of the cmd-* and example plugins,
 * loaded from the build tree's plugin directory through their own
 * chatd_plugin_register with a host that only collects them.
 *
 * Input: byte 0 picks the command, byte 1 the side, the rest is M.
 *   side 0 (daemon, daemon/command-description.c): M is the serialized a{sv}
 *     of a Run request (g_variant_new_from_data, untrusted, as GDBus hands
 *     it over), checked by chatd_command_check_args.  Accepted arguments in
 *     normal form have only known names of the exact type, every required
 *     argument, and a stdin-only secret only with its NAME-stdin flag.
 *   side 1 (chatctl, ctl/argv-parse.c): M is a list of NUL-separated words,
 *     the first being what stdin holds and the rest argv after the command
 *     name, converted by chatctl_parse_args with the command's description
 *     (as ListCommands sends it).  What chatctl builds, the daemon accepts.
 * The seeds (gen-control-corpus DIR: this file built with
 * -DFUZZ_CONTROL_GEN_CORPUS) are a full and a minimal request per command.
 */
#include "argv-parse.h"
#include "command-description.h"

#include <gmodule.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define MAX_WORDS 64

typedef struct {
  const ChatdCommand *command;
  GVariant *description;
} Command;

static GArray *commands;   /* Command */

static gboolean
collect_command (ChatdPlugin *plugin, const ChatdCommand *command, GError **error)
{
  (void) plugin;
  (void) error;
  g_assert_true (chatd_command_description_validate (command, NULL));
  Command c = { command, g_variant_ref_sink (chatd_command_description_new (command, "fuzz")) };
  g_array_append_val (commands, c);
  return TRUE;
}

static gboolean
ignore_suite (ChatdPlugin *plugin, const ChatdSuite *suite, GError **error)
{
  (void) plugin;
  (void) suite;
  (void) error;
  return TRUE;
}

static void
load_commands (void)
{
  static const char *const modules[] = { "cmd-core", "cmd-message", "cmd-session", "cmd-server", "example-hello" };
  static ChatdHost host;
  host.abi_version = CHATD_PLUGIN_ABI_VERSION;
  host.size = sizeof host;
  host.add_command = collect_command;
  host.add_suite = ignore_suite;
  commands = g_array_new (FALSE, FALSE, sizeof (Command));
  const char *dir = g_getenv ("CHATD_FUZZ_PLUGIN_DIR");
  if (dir == NULL)
    dir = FUZZ_PLUGIN_DIR;
  for (guint i = 0; i < G_N_ELEMENTS (modules); i++)
    {
      g_autofree char *so = g_strdup_printf ("%s/%s.so", dir, modules[i]);
      GModule *module = g_module_open (so, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
      if (module == NULL)
        g_error ("cannot load %s: %s", so, g_module_error ());
      gboolean (*reg) (const ChatdHost *, ChatdPlugin *, GError **) = NULL;
      g_assert_true (g_module_symbol (module, "chatd_plugin_register", (gpointer *) &reg));
      g_assert_true (reg (&host, NULL, NULL));
      g_module_make_resident (module);
    }
  g_assert_cmpuint (commands->len, >, 10);
}

static const ChatdOption *
find_option (const ChatdCommand *command, const char *name)
{
  for (const ChatdOption *o = command->options; o != NULL && o->name != NULL; o++)
    if (g_str_equal (o->name, name))
      return o;
  return NULL;
}

static const ChatdArgument *
find_argument (const ChatdCommand *command, const char *name)
{
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    if (g_str_equal (a->name, name))
      return a;
  return NULL;
}

/* what chatd_command_check_args promises the command's run function */
static void
assert_args_fit (const ChatdCommand *command, GVariant *args)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;
  g_variant_iter_init (&iter, args);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      const ChatdOption *o = find_option (command, key);
      const ChatdArgument *a = o ? NULL : find_argument (command, key);
      const char *type = o != NULL ? o->type : a != NULL ? a->type : NULL;
      g_assert_nonnull (type);
      g_assert_cmpstr (g_variant_get_type_string (value), ==, type);
      if (a != NULL && (a->flags & CHATD_ARG_STDIN_ONLY) && (a->flags & CHATD_ARG_OPTIONAL))
        {
          g_autofree char *gate = g_strdup_printf ("%s-stdin", a->name);
          gboolean gated = FALSE;
          g_assert_true (g_variant_lookup (args, gate, "b", &gated) && gated);
        }
      g_variant_unref (value);
    }
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    if (!(a->flags & CHATD_ARG_OPTIONAL))
      {
        g_autoptr(GVariant) v = g_variant_lookup_value (args, a->name, NULL);
        g_assert_nonnull (v);
      }
}

static void
daemon_side (const Command *c, const guint8 *data, gsize len)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);
  g_autoptr(GVariant) args = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
  g_autoptr(GError) error = NULL;
  gboolean normal = g_variant_is_normal_form (args);
  /* GDBus only hands over normal-form values; the check copes with any */
  g_autoptr(GVariant) checked = normal ? g_variant_ref (args) : g_variant_get_normal_form (args);
  if (chatd_command_check_args (c->command, checked, &error))
    {
      g_assert_no_error (error);
      assert_args_fit (c->command, checked);
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_true (error->message[0] != '\0');
    }
}

static void
chatctl_side (const Command *c, const guint8 *data, gsize len)
{
  /* words: stdin's content, then argv */
  g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  gsize start = 0;
  for (gsize i = 0; i <= len && words->len < MAX_WORDS; i++)
    if (i == len || data[i] == '\0')
      {
        g_ptr_array_add (words, g_strndup ((const char *) data + start, i - start));
        start = i + 1;
      }
  const char *stdin_text = g_ptr_array_index (words, 0);
  g_autoptr(GInputStream) stdin_stream = g_memory_input_stream_new_from_data (g_strdup (stdin_text),
                                                                              strlen (stdin_text), g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) args = chatctl_parse_args (c->command->name, c->description, (int) words->len - 1,
                                                 (char **) words->pdata + 1, stdin_stream, &error);
  if (args == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == CHATCTL_PARSE_ERROR);
      g_assert_true (error->message[0] != '\0');
      return;
    }
  g_variant_ref_sink (args);
  g_assert_no_error (error);
  /* what chatctl sends, the daemon takes */
  if (!chatd_command_check_args (c->command, args, &error))
    g_error ("chatctl built arguments that %s refuses: %s", c->command->name, error->message);
  assert_args_fit (c->command, args);
  chatctl_request_streams (c->description, args);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (commands == NULL)
    load_commands ();
  if (size < 2)
    return 0;
  const Command *c = &g_array_index (commands, Command, data[0] % commands->len);
  if (data[1] & 1)
    chatctl_side (c, data + 2, size - 2);
  else
    daemon_side (c, data + 2, size - 2);
  return 0;
}

#ifdef FUZZ_CONTROL_GEN_CORPUS
static void
write_seed (const char *dir, guint index, const char *name, guint8 side, const void *bytes, gsize len)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 head[2] = { (guint8) index, side };
  g_byte_array_append (out, head, 2);
  g_byte_array_append (out, bytes, len);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
}

/* a request with every option (full) or only what is required */
static void
write_command_seeds (const char *dir, guint index, const ChatdCommand *command, gboolean full)
{
  g_autoptr(GByteArray) words = g_byte_array_new ();
  g_auto(GVariantBuilder) b = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_byte_array_append (words, (const guint8 *) "secret from stdin", 18);   /* stdin, NUL */
  for (const ChatdOption *o = command->options; full && o != NULL && o->name != NULL; o++)
    {
      g_autofree char *word = g_strdup_printf ("--%s", o->name);
      g_byte_array_append (words, (const guint8 *) word, strlen (word) + 1);
      if (g_str_equal (o->type, "b"))
        g_variant_builder_add (&b, "{sv}", o->name, g_variant_new_boolean (TRUE));
      else if (g_str_equal (o->type, "x"))
        {
          g_byte_array_append (words, (const guint8 *) "3", 2);
          g_variant_builder_add (&b, "{sv}", o->name, g_variant_new_int64 (3));
        }
      else
        {
          g_byte_array_append (words, (const guint8 *) "value", 6);
          g_variant_builder_add (&b, "{sv}", o->name, g_variant_new_string ("value"));
        }
    }
  for (const ChatdArgument *a = command->arguments; a != NULL && a->name != NULL; a++)
    {
      if ((a->flags & CHATD_ARG_OPTIONAL) && !full)
        continue;
      if (a->flags & CHATD_ARG_STDIN_ONLY)
        {
          g_variant_builder_add (&b, "{sv}", a->name, g_variant_new_string ("secret from stdin"));
          continue;
        }
      const char *word = g_str_equal (a->type, "x") ? "7" : (a->flags & CHATD_ARG_REST) ? "two" : "Bob";
      g_byte_array_append (words, (const guint8 *) word, strlen (word) + 1);
      if (a->flags & CHATD_ARG_REST)
        g_byte_array_append (words, (const guint8 *) "words", 6);
      g_variant_builder_add (&b, "{sv}", a->name,
                             g_str_equal (a->type, "x") ? g_variant_new_int64 (7)
                             : g_variant_new_string ((a->flags & CHATD_ARG_REST) ? "two words" : "Bob"));
    }
  g_autoptr(GVariant) args = g_variant_ref_sink (g_variant_builder_end (&b));
  g_autofree char *argv_name = g_strdup_printf ("%s-%s-argv", command->name, full ? "full" : "minimal");
  g_autofree char *args_name = g_strdup_printf ("%s-%s-args", command->name, full ? "full" : "minimal");
  write_seed (dir, index, argv_name, 1, words->data, words->len - 1);   /* no NUL after the last word */
  write_seed (dir, index, args_name, 0, g_variant_get_data (args), g_variant_get_size (args));
}

int
main (int argc, char **argv)
{
  g_assert_cmpint (argc, ==, 2);
  load_commands ();
  for (guint i = 0; i < commands->len; i++)
    {
      const ChatdCommand *command = g_array_index (commands, Command, i).command;
      write_command_seeds (argv[1], i, command, TRUE);
      if (command->options != NULL && command->options[0].name != NULL)
        write_command_seeds (argv[1], i, command, FALSE);
    }
  return 0;
}
#endif
