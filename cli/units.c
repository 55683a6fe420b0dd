/* units.c: sizes for people, and sizes from people.
 *
 * A size on the command line is read exactly as MEMGC_OPTIONS reads one
 * (lib/options.c, linked into the command): digits, then an optional K, M,
 * G or T (powers of 1024), optionally followed by "i" and/or "B"; and
 * written as memgc's text summary writes them (lib/log.c).
 */
#include "config.h"
#include <stdio.h>

#include "cli.h"
#include "internal.h"

const char *mg_units_human(uint64_t b, char *buf, size_t n)
{
	return mg_log_size(b, buf, n);
}

int mg_units_parse(const char *s, uint64_t *out)
{
	return mg_options_size(s, out);
}
