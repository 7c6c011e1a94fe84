/* kernel/errname.c - error numbers to names and Linux's strerror texts. */
#include "kernel/errname.h"
#include "kernel/printk.h"
/* Headers that define some E* values themselves: a value that differs from
 * kernel/errno.h is a redefinition, which -Werror turns into a build error. */
#include "kernel/fs/fs.h"
#include "mm/mm.h"

const struct errno_entry errno_table[] = {
#define X(e, text) { e, #e, text },
	ERRNO_TABLE(X)
#undef X
};
const size_t nr_errnos = ARRAY_SIZE(errno_table);

static const struct errno_entry *lookup(int err)
{
	long n = err < 0 ? -(long)err : err;
	for (size_t i = 0; i < nr_errnos; i++)
		if (errno_table[i].num == n)
			return &errno_table[i];
	return NULL;
}

const char *errno_name(int err)
{
	const struct errno_entry *e = lookup(err);
	return e ? e->name : NULL;
}

const char *errno_text(int err)
{
	const struct errno_entry *e = lookup(err);
	return e ? e->text : NULL;
}

const char *strerror_r(int err, char *buf, size_t len)
{
	const struct errno_entry *e = lookup(err);
	if (err == 0)
		snprintf(buf, len, "Success");
	else if (e)
		snprintf(buf, len, "%s (%s)", e->text, e->name);
	else
		snprintf(buf, len, "Unknown error %ld", err < 0 ? -(long)err : (long)err);
	return buf;
}
