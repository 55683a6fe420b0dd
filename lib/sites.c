/* sites.c: allocation sites, each stack interned once.
 *
 * A site is the stack of an allocation, innermost frame first, starting at
 * the program's own call to malloc (or new, or realloc, ...): memgc's frames
 * are never part of it.  At stack_depth=1 (the default) the site is just the
 * return address of that call and no unwinder runs; deeper stacks come from
 * libunwind's unw_backtrace.
 *
 * Owns the site table: ids 0 (unknown) and 1 (table full) are reserved,
 * entries 2..n-1 are appended under insert_lock and never change after, so
 * the lock-free readers see either no slot or a complete entry:
 *   slots[i] == id  =>  sites[id] is complete and hashes to a probe chain
 *                       through i
 * Each thread keeps a direct-mapped cache from stack hash to id (stats.h).
 */
#include "config.h"
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "internal.h"
#include "stats.h"

struct site {
	uint64_t hash;
	uint32_t depth;
	uint32_t first;       /* index of its first frame in frame_pool */
};

static struct site *sites;
static void **frame_pool;
static size_t pool_cap, pool_used;
static uint32_t *slots;
static size_t slot_mask;
static uint32_t nsites = 2;      /* ids 0 and 1 are reserved */
static uint32_t max_sites;
static pthread_mutex_t insert_lock = PTHREAD_MUTEX_INITIALIZER;
static char exe_path[4096];
static uintptr_t exe_base;       /* load address of the main program */

static int first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size; (void)arg;
	exe_base = (uintptr_t)info->dlpi_addr;
	return 1;   /* the first one is the main program */
}

int mg_sites_init(void)
{
	max_sites = (uint32_t)mg_opt.max_sites;
	size_t nslots = 1;
	while (nslots < (size_t)max_sites * 2)
		nslots <<= 1;
	slot_mask = nslots - 1;
	pool_cap = (size_t)max_sites * (size_t)mg_opt.stack_depth;
	sites = mg_os_map(((size_t)max_sites + 2) * sizeof *sites);   /* ids 0, 1 reserved */
	slots = mg_os_map(nslots * sizeof *slots);
	frame_pool = mg_os_map(pool_cap * sizeof *frame_pool);
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
	exe_path[n > 0 ? n : 0] = '\0';
	dl_iterate_phdr(first_object, NULL);
	return sites && slots && frame_pool ? 0 : -1;
}

/* A bijective 64-bit mix (the splitmix64 finaliser). */
static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static uint64_t hash_frames(void *const *f, int depth)
{
	uint64_t h = (uint64_t)depth;
	for (int i = 0; i < depth; i++)
		h = mix(h ^ (uintptr_t)f[i]);
	return h | 1;
}

static bool same(const struct site *s, uint64_t h, void *const *f, int depth)
{
	return s->hash == h && s->depth == (uint32_t)depth &&
	       !memcmp(frame_pool + s->first, f, (size_t)depth * sizeof *f);
}

static uint32_t find(uint64_t h, void *const *f, int depth, size_t *slot)
{
	for (size_t i = h & slot_mask;; i = (i + 1) & slot_mask) {
		uint32_t id = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
		if (!id) {
			*slot = i;
			return 0;
		}
		if (same(&sites[id], h, f, depth))
			return id;
	}
}

static uint32_t intern(uint64_t h, void *const *f, int depth)
{
	size_t slot;
	uint32_t id = find(h, f, depth, &slot);
	if (id)
		return id;
	pthread_mutex_lock(&insert_lock);
	id = find(h, f, depth, &slot);   /* another thread may have added it */
	if (!id) {
		if (nsites - 2 >= max_sites || pool_used + (size_t)depth > pool_cap) {
			id = MG_SITE_OVERFLOW;
		} else {
			id = nsites;
			sites[id].hash = h;
			sites[id].depth = (uint32_t)depth;
			sites[id].first = (uint32_t)pool_used;
			memcpy(frame_pool + pool_used, f, (size_t)depth * sizeof *f);
			pool_used += (size_t)depth;
			__atomic_store_n(&nsites, nsites + 1, __ATOMIC_RELEASE);
			__atomic_store_n(&slots[slot], id, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&insert_lock);
	return id;
}

uint32_t mg_sites_capture(struct mg_thread *t, void *ra)
{
	void *buf[MG_MAX_DEPTH + 16];
	void *const *f = &ra;
	int depth = 1;
	if (mg_opt.stack_depth > 1) {
		int n = unw_backtrace(buf, mg_opt.stack_depth + 16);
		int i = 0;
		while (i < n && buf[i] != ra)   /* skip memgc's own frames */
			i++;
		if (i < n) {
			f = buf + i;
			depth = n - i < mg_opt.stack_depth ? n - i : mg_opt.stack_depth;
		}
	}
	uint64_t h = hash_frames(f, depth);
	uint64_t key = mg_opt.stack_depth == 1 ? (uint64_t)(uintptr_t)ra : h | MG_SITE_KEY_DEEP;
	unsigned slot = mg_stats_site_slot(key);
	if (t->site_key[slot] == key)
		return t->site_id[slot];
	uint32_t id = intern(h, f, depth);
	if (id != MG_SITE_OVERFLOW) {
		t->site_key[slot] = key;
		t->site_id[slot] = id;
	}
	return id;
}

uint32_t mg_sites_count(void)
{
	return __atomic_load_n(&nsites, __ATOMIC_ACQUIRE) - 2;
}

int mg_sites_frames(uint32_t id, void *const **frames)
{
	if (id < 2 || id >= __atomic_load_n(&nsites, __ATOMIC_ACQUIRE))
		return 0;
	*frames = frame_pool + sites[id].first;
	return (int)sites[id].depth;
}

void mg_sites_resolve(const void *ip, const char **function, uintptr_t *fn_off,
		      const char **module, uintptr_t *mod_off)
{
	Dl_info info;
	*function = "";
	*fn_off = 0;
	*module = "?";
	*mod_off = (uintptr_t)ip;
	/* ip is a return address: look up the call instruction before it. */
	if (!ip || !dladdr((const char *)ip - 1, &info))
		return;
	/* The loader names the main program as it was run ("./prog", or ""):
	 * /proc/self/exe still finds it after a chdir. */
	bool main_program = (uintptr_t)info.dli_fbase == exe_base ||
			    !info.dli_fname || !info.dli_fname[0];
	*module = main_program && exe_path[0] ? exe_path : info.dli_fname;
	*mod_off = (uintptr_t)ip - (uintptr_t)info.dli_fbase;
	/* dladdr's answer is the nearest dynamic symbol, which for a static
	 * function is some other function: the module's own table knows. */
	if (mg_symtab_lookup(*module, (uintptr_t)ip - 1, (uintptr_t)info.dli_fbase, function, fn_off)) {
		(*fn_off)++;
	} else if (info.dli_sname) {
		*function = info.dli_sname;
		*fn_off = (uintptr_t)ip - (uintptr_t)info.dli_saddr;
	}
}

void mg_sites_symbolize(const void *ip, char *buf, size_t n)
{
	const char *fn, *mod;
	uintptr_t fo, mo;
	mg_sites_resolve(ip, &fn, &fo, &mod, &mo);
	if (fn[0])
		snprintf(buf, n, "%s+0x%zx (%s+0x%zx)", fn, (size_t)fo, mod, (size_t)mo);
	else
		snprintf(buf, n, "%s+0x%zx", mod, (size_t)mo);
}

void mg_sites_fork_prepare(void)
{
	pthread_mutex_lock(&insert_lock);
}

void mg_sites_fork_parent(void)
{
	pthread_mutex_unlock(&insert_lock);
}

void mg_sites_fork_child(void)
{
	pthread_mutex_unlock(&insert_lock);
}
