/* symtab.c: function names from a module's own symbol table.
 *
 * dladdr() sees only the dynamic symbols, so a program's static and
 * non-exported functions come out nameless.  Where the file on disk still
 * has its .symtab (not stripped), this finds the function that contains an
 * address.  Each module is mapped read-only once and kept for the life of
 * the process (reports are rare, and the mapping is clean file pages the
 * kernel can drop).  Never allocates; a file that is not ELF, or has no
 * .symtab, just gives no name.
 */
#include "config.h"
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_MODULES 128

struct module {
	char path[256];
	const unsigned char *map;    /* NULL: no usable symbol table */
	size_t size;
	const Elf64_Sym *syms;
	size_t nsyms;
	const char *strs;
	size_t strs_size;
	bool exec;                   /* ET_EXEC: symbol values are absolute */
};

static struct module modules[MAX_MODULES];
static int nmodules;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

struct map_job {
	const char *path;
	size_t size;
};

/* Maps the file read-only: its address, or MAP_FAILED.  Through
 * mg_os_aside, so that the descriptor is not made in the program's table. */
static long map_file(void *arg)
{
	struct map_job *j = arg;
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return (long)MAP_FAILED;
	if (fstat(fd, &st) || (size_t)st.st_size < sizeof(Elf64_Ehdr)) {
		close(fd);
		return (long)MAP_FAILED;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	j->size = (size_t)st.st_size;
	return (long)p;
}

static void load(struct module *m)
{
	struct map_job j = { m->path, 0 };
	void *p = (void *)mg_os_aside(map_file, &j, false);
	if (p == MAP_FAILED)
		return;
	struct stat st = { .st_size = (off_t)j.size };
	const unsigned char *b = p;
	size_t size = (size_t)st.st_size;
	const Elf64_Ehdr *eh = p;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff == 0 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size)
		goto none;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(b + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		if (sh[i].sh_offset + sh[i].sh_size > size || str->sh_offset + str->sh_size > size)
			goto none;
		m->syms = (const Elf64_Sym *)(b + sh[i].sh_offset);
		m->nsyms = sh[i].sh_size / sizeof(Elf64_Sym);
		m->strs = (const char *)(b + str->sh_offset);
		m->strs_size = str->sh_size;
		m->exec = eh->e_type == ET_EXEC;
		m->map = b;
		m->size = size;
		return;
	}
none:
	munmap(p, size);
}

static struct module *find(const char *path)
{
	for (int i = 0; i < nmodules; i++)
		if (!strcmp(modules[i].path, path))
			return &modules[i];
	if (nmodules == MAX_MODULES || strlen(path) >= sizeof modules[0].path)
		return NULL;
	struct module *m = &modules[nmodules++];
	strcpy(m->path, path);
	load(m);
	return m;
}

bool mg_symtab_lookup(const char *path, uintptr_t ip, uintptr_t base, const char **name,
		      uintptr_t *off)
{
	bool found = false;
	pthread_mutex_lock(&lock);
	struct module *m = find(path);
	if (m && m->map) {
		uintptr_t a = m->exec ? ip : ip - base;
		const Elf64_Sym *best = NULL;
		for (size_t i = 0; i < m->nsyms; i++) {
			const Elf64_Sym *s = &m->syms[i];
			if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF ||
			    s->st_name >= m->strs_size)
				continue;
			if (a >= s->st_value && (a < s->st_value + s->st_size ||
						 (s->st_size == 0 && a == s->st_value)) &&
			    (!best || s->st_value > best->st_value))
				best = s;
		}
		if (best) {
			*name = m->strs + best->st_name;
			*off = a - best->st_value;
			found = true;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}
